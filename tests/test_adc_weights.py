"""The wide SAR's weight test (cimspice.circuits.adc_sar_weights) against the ramp test.

Oracles: a fresh ngspice ramp test of the same converter (2 samples per code: every
transition to half an LSB) and the shipped library's ramp-tested 6-bit block.
"""

from __future__ import annotations

import numpy as np
import pytest

from cimspice.circuits import CircuitError
from cimspice.circuits import adc_metrics as am
from cimspice.circuits.adc_sar import SarADC
from cimspice.circuits.adc_sar_weights import energy_codes, superposed_levels

#: the ramp test resolves a transition to half an LSB at 2 samples per code
RAMP_RESOLUTION = 0.5


def _composed_inl(m, bits: int) -> np.ndarray:
    e = [m.values[f"weight_err_{j}"] for j in range(1, bits + 1)]
    return am.dnl_inl(superposed_levels(e, m.values["offset"]), method="endpoint")[1]


def test_weight_test_refuses_a_supply_below_the_top_plate_swing():
    with pytest.raises(CircuitError, match=r"vdd >= v_cm \+ \(v_ref_hi - v_ref_lo\)/2 = 1.1 V"):
        SarADC(8, bench="weights").simulate(None, {"vdd": 1.0})  # engine None: ngspice never reached
    with pytest.raises(CircuitError, match="bench"):
        SarADC(8, bench="sine")


def test_energy_codes_balance_every_low_bit():
    for bits in (7, 10):
        codes = np.array(energy_codes(bits))
        assert sorted(codes >> (bits - 3)) == list(range(8))           # one per eighth of the range
        low = (codes[:, None] >> np.arange(bits - 3)) & 1
        assert np.all(low.sum(axis=0) == 4)                             # each low bit 1 in half of them


@pytest.mark.slow
def test_weight_test_agrees_with_a_fresh_ramp_test_at_5_bits(engine):
    bits, vdd = 5, 1.1
    ramp = SarADC(bits, samples_per_code=2)
    ramp.load(engine)
    r = ramp.simulate(engine, {"vdd": vdd}).values
    w = SarADC(bits, bench="weights")
    w.load(engine)
    m = w.simulate(engine, {"vdd": vdd})
    inl_ramp = np.array([r[f"inl_{k}"] for k in range(1, 2 ** bits)])
    assert np.max(np.abs(_composed_inl(m, bits) - inl_ramp)) <= RAMP_RESOLUTION
    assert abs(m.values["inl_max"] - r["inl_max"]) <= RAMP_RESOLUTION
    # the uniform-input mean energy from 8 conversions against 64 (measured: 0.5 %)
    assert m.values["energy_per_conversion"] == pytest.approx(r["energy_per_conversion"], rel=0.01)
    assert m.values["t_conversion"] == pytest.approx(r["t_conversion"], rel=1e-12)


@pytest.mark.slow
def test_weight_test_agrees_with_the_shipped_6_bit_ramp_test(engine):
    """At the shipped block's grid node vdd = 1.3 V (its surrogates pass through the node)."""
    import cimspice
    from cimspice.paths import default_library_path

    bits, vdd = 6, 1.3
    lib = cimspice.load_library(default_library_path())
    shipped = {k: float(np.ravel(lib[f"adc_sar_6b.{k}"].predict({"vdd": [vdd]}))[0])
               for k in ["energy_per_conversion", *(f"inl_{i}" for i in range(1, 2 ** bits))]}
    w = SarADC(bits, bench="weights")
    w.load(engine)
    m = w.simulate(engine, {"vdd": vdd})
    inl_ramp = np.array([shipped[f"inl_{k}"] for k in range(1, 2 ** bits)])
    assert np.max(np.abs(_composed_inl(m, bits) - inl_ramp)) <= RAMP_RESOLUTION
    assert m.values["energy_per_conversion"] == pytest.approx(shipped["energy_per_conversion"], rel=0.01)


@pytest.mark.slow
def test_weight_test_refuses_a_clock_its_comparator_cannot_follow(engine):
    """At a 0.6 ns clock the 5-bit ramp test finds every even transition 1 LSB low (measured:
    INL alternating 0 / -1, DNL 1) while the residues read before each decision are exact:
    the codes of the conversions off the transitions give it away."""
    w = SarADC(5, bench="weights")
    w.load(engine)
    with pytest.raises(CircuitError, match="comparator does not decide as its input says"):
        w.simulate(engine, {"vdd": 1.1, "t_clk": 0.6e-9})


def test_the_spec_lists_bit_weights_where_the_catalogue_has_them():
    from cimspice.library.blocks import CATALOGUE, SAR_WEIGHT_BITS
    from cimspice.sim.spec import WEIGHT_TEST_BITS, load_system_spec

    assert WEIGHT_TEST_BITS == SAR_WEIGHT_BITS
    assert CATALOGUE["adc_sar_8b"].circuit_args["bench"] == "weights"
    assert "weight_err_8" in CATALOGUE["adc_sar_8b"].outputs and "bench" not in CATALOGUE["adc_sar_6b"].circuit_args
    spec = load_system_spec("baseline").updated({"adc": {"bits": 8, "partial_sum_bits": 8}})
    keys = dict(spec.library_keys())
    assert keys["adc.circuit.8.weight_err_8"] == "adc_sar_8b.weight_err_8"
