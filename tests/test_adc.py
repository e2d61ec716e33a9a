"""Flash, SAR and ramp ADCs at transistor level (3-4 bits), through the engine.

Oracles: an ideal quantiser (NumPy), the ADC's own measured transition levels for new
inputs, ngspice's charge integration of every supply for the energy, the ideal
quantiser's ENOB for the sine test, hand-computed area formulas.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from cimspice.circuits import CircuitError
from cimspice.circuits import adc_metrics as am
from cimspice.circuits.adc_flash import FlashADC
from cimspice.circuits.adc_ramp import RampADC
from cimspice.circuits.adc_sar import SarADC
from cimspice.circuits.area import (
    FLIP_FLOP_AREA,
    MIM_DENSITY,
    capacitor_area,
    logic_area,
    resistor_area,
    transistor_area,
)


@pytest.mark.parametrize("make,match", [
    (lambda: FlashADC(0), "adc_bits"), (lambda: SarADC(2.5), "adc_bits"), (lambda: FlashADC(9), "adc_bits"),
    (lambda: RampADC(3, n_columns=0), "n_columns"), (lambda: FlashADC(3, comparator={"w_in": -1e-6}), "w_in"),
    (lambda: SarADC(3, c_unit=-1e-15), "c_unit"), (lambda: FlashADC(3, corner="sf"), "corner"),
    (lambda: FlashADC(3, r_ladder=0.0), "r_ladder"), (lambda: SarADC(3, mismatch_seed=-1), "mismatch_seed"),
])
def test_impossible_sizes_are_rejected(make, match):
    with pytest.raises(CircuitError, match=match):
        make()


@pytest.mark.parametrize("adc", [FlashADC(3), SarADC(3), RampADC(3)])
@pytest.mark.parametrize("point,match", [
    ({"vdd": 0.5}, "vdd"), ({"v_ref_lo": 0.6, "v_ref_hi": 0.5}, "v_ref_hi"), ({"v_ref_hi": 1.2, "vdd": 1.0}, "vdd"),
    ({"temp": 300.0}, "temp"), ({"bits": 3}, "bits"),
])
def test_bad_points_fail_before_ngspice(adc, point, match):
    with pytest.raises(CircuitError, match=match):
        adc.simulate(None, point)  # engine=None: reaching ngspice would raise AttributeError


def test_bad_inputs_fail_before_ngspice():
    with pytest.raises(CircuitError, match="v_in"):
        FlashADC(3).convert(None, [0.5, float("nan")])
    with pytest.raises(CircuitError, match="v_in"):
        SarADC(3).convert(None, [2.0])


def test_area_estimate_follows_its_stated_formulas():
    assert transistor_area(1e-6, 50e-9) == pytest.approx(2.0 * (1e-6 + 110e-9) * (50e-9 + 210e-9), abs=0)
    assert capacitor_area(2e-15) == pytest.approx(1e-12, abs=0) and MIM_DENSITY == 2e-3
    assert resistor_area(3000.0) == pytest.approx(2.0 * 10 * (0.4e-6) ** 2, abs=0)
    assert logic_area(flip_flops=2) == pytest.approx(2 * FLIP_FLOP_AREA, abs=0)
    flash = [FlashADC(b).area() for b in (3, 4, 5)]
    assert 1.8 < flash[1] / flash[0] < 2.3 and 1.8 < flash[2] / flash[1] < 2.3  # ~2**N comparators
    sar3, sar4 = SarADC(3), SarADC(4)
    caps = 2 * 16 * sar4.c_unit / MIM_DENSITY - 2 * 8 * sar3.c_unit / MIM_DENSITY
    assert sar4.area() - sar3.area() > caps  # the capacitor array doubles, plus switches
    assert RampADC(3).area() < SarADC(3).area() < FlashADC(3).area()


@pytest.mark.slow
def test_flash_codes_match_ideal_quantiser_within_measured_inl(engine):
    adc = FlashADC(3, mismatch_seed=5, samples_per_code=8)
    lo, hi = 0.4, 1.0
    ramp = adc.ramp_inputs(lo, hi)
    conv = adc.convert(engine, ramp)
    levels = am.transition_levels(ramp, conv.codes, 3)
    _, inl = am.dnl_inl(levels, method="absolute", v_lo=lo, v_hi=hi)
    assert np.max(np.abs(inl)) < 0.5  # 3 bits: LSB 75 mV against ~8 mV comparator offsets
    rng = np.random.default_rng(0)
    v = rng.uniform(lo - 0.02, hi + 0.02, 12)
    codes = adc.convert(engine, v).codes
    ideal = am.ideal_quantiser(v, 3, lo, hi)
    assert np.all(np.abs(codes - ideal) <= math.ceil(np.max(np.abs(inl))) + 1)
    # stronger: the measured levels predict the codes, away from each level by a ramp step
    step = ramp[1] - ramp[0]
    clear = np.min(np.abs(v[:, None] - levels[None, :]), axis=1) > step
    assert clear.sum() >= 8
    assert np.array_equal(codes[clear], np.searchsorted(levels, v[clear]))


def test_flash_energy_equals_integral_of_supply_currents(engine):
    adc = FlashADC(3)
    v = np.array([0.45, 0.62, 0.81, 0.97])
    conv = adc.convert(engine, v)
    # ngspice integrates each source's current on a 1 pF capacitor (F sources)
    sources = {"vdd": 1.1, "vref_hi": 1.0, "vref_lo": 0.4}
    extra = [f"f{s} 0 q{s} {s} 1\nc{s} q{s} 0 1p\n.ic v(q{s})=0" for s in sources]
    # the deck the conversion ran (inputs written in), as the engine holds it
    text = engine.netlist.replace(".end", "\n".join(extra) + "\n.end")
    engine.load(text)
    r = engine.tran(1e-10, 4 * 2e-9 + 1e-9, max_step=1e-10, vectors=[f"v(q{s})" for s in sources])
    energy = -sum(volts * r[f"v(q{s})"][-1] * 1e-12 for s, volts in sources.items())
    assert conv.energy == pytest.approx(energy, rel=2e-3, abs=0)  # approx adds abs=1e-12 by default: pJ here
    assert conv.energy_per_conversion == pytest.approx(conv.energy / 4, abs=0)
    assert conv.t_conversion == pytest.approx(2e-9, abs=0)


@pytest.mark.slow
def test_flash_enob_from_a_coherent_sine(engine):
    bits, m = 4, 64
    lo, hi = 0.4, 1.0
    j = am.coherent_cycles(m, 7)
    v = am.sine_input(m, j, lo, hi, amplitude=0.98)
    codes = FlashADC(bits).convert(engine, v).codes
    ideal = am.sine_test(am.ideal_quantiser(v, bits, lo, hi), j).enob
    enob = am.sine_test(codes, j).enob
    assert enob >= 3.5
    assert abs(enob - ideal) < 0.3


@pytest.mark.slow
def test_sar_ramp_test_matches_ideal_quantiser(engine):
    adc = SarADC(3, samples_per_code=2)
    adc.load(engine)
    m = adc.simulate(engine, {"t_clk": 2e-9})
    assert m.values["code_error_max"] == 0 and m.values["missing_codes"] == 0
    assert m.values["inl_max"] < 0.3 and m.values["dnl_max"] < 0.6
    assert m.values["t_conversion"] == pytest.approx(4 * 2e-9, abs=0)
    assert 50e-15 < m.values["energy_per_conversion"] < 2e-12


def test_ramp_adc_codes_match_ideal_quantiser(engine):
    adc = RampADC(3, n_columns=4, samples_per_code=2)
    lo, hi = 0.4, 1.0
    q = (hi - lo) / 8
    # inputs a third of an LSB from any transition, and a count not a multiple of the columns
    v = lo + q * (np.array([0.3, 1.6, 2.4, 3.7, 5.3, 6.6, 7.4]))
    conv = adc.convert(engine, v)
    assert np.array_equal(conv.codes, am.ideal_quantiser(v, 3, lo, hi))
    assert conv.t_conversion == pytest.approx(8 * 2e-9, abs=0)
    m = adc.simulate(engine, {})
    assert m.values["code_error_max"] <= 1 and m.values["missing_codes"] == 0


def test_sar_reference_energy_matches_charge_redistribution_theory(engine):
    # Average energy drawn from v_ref by conventional binary switching, one conversion per
    # code (Ginsburg and Chandrakasan, IEEE JSSC 42(4) 2007; 1363.3 C V^2 at 10 bits in Liu
    # et al., IEEE JSSC 45(4) 2010): sum_i 2**(N+1-2i) (2**i - 1) C_u V_ref^2. The
    # comparator's input and the switches add parasitic capacitance on the top plate, which
    # shrinks its swings: the simulated energy may come out somewhat lower, never higher.
    bits = 3
    adc = SarADC(bits)
    q = 0.8 / 2 ** bits
    conv = adc.convert(engine, (np.arange(2 ** bits) + 0.5) * q)
    assert np.array_equal(conv.codes, np.arange(2 ** bits))
    theory = sum(2 ** (bits + 1 - 2 * i) * (2 ** i - 1) for i in range(1, bits + 1)) * adc.c_unit * 0.8 ** 2
    measured = conv.energy_by_source["vref_hi"] / 2 ** bits
    assert 0.7 * theory < measured < 1.02 * theory
    assert conv.energy_by_source["vref_lo"] == pytest.approx(0.0, abs=1e-18)  # v_ref_lo = 0 V


@pytest.mark.slow
def test_sar_carries_no_memory_between_conversions(engine):
    # Inputs jumping across the range: while sampling, the top plate must return to v_cm.
    # The ramp test cannot see a memory effect (its inputs step by a fraction of an LSB).
    # At a 0.5 ns clock (3/8 ns to sample) a 1 um top-plate switch, the old default, left
    # a 6-bit array 2-5 LSB off after each jump (measured); the scaled default stays
    # within 1 LSB there, and exact at the 2 ns default.
    bits = 6
    q = 0.8 / 2 ** bits
    codes = np.array([3, 60, 5, 58, 1, 62])
    conv = SarADC(bits).convert(engine, (codes + 0.5) * q, {"t_clk": 0.5e-9})
    assert np.max(np.abs(conv.codes - codes)) <= 1
