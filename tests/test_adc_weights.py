"""The SAR's weight test (cimspice.circuits.adc_sar_weights) against the ramp test and bisection.

Oracles: a fresh ngspice ramp test of the same converter (2 samples per code: every
transition to half an LSB) and every transition bisected through whole conversions.
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
    assert CATALOGUE["adc_sar_3b"].circuit_args["bench"] == "weights"
    assert "weight_err_8" in CATALOGUE["adc_sar_8b"].outputs and "bench" not in CATALOGUE["adc_sar_2b"].circuit_args
    assert "decision_offset" in CATALOGUE["adc_sar_6b"].outputs
    spec = load_system_spec("baseline").updated({"adc": {"bits": 8, "partial_sum_bits": 8}})
    keys = dict(spec.library_keys())
    assert keys["adc.circuit.8.weight_err_8"] == "adc_sar_8b.weight_err_8"
    assert keys["adc.circuit.8.decision_offset"] == "adc_sar_8b.decision_offset"
    flash = dict(spec.updated({"adc": {"circuit": "adc_flash", "bits": 4, "partial_sum_bits": 4}}).library_keys())
    assert "adc.circuit.4.inl_15" in flash and not any("weight_err" in f for f in flash)
    assert not any(".inl_" in f for f in keys)
    from cimspice.circuits import adc_sar_bow
    from cimspice.sim.spec import BOW_BITS, BOW_DEGREE

    assert (BOW_BITS, BOW_DEGREE) == (adc_sar_bow.BOW_BITS, adc_sar_bow.BOW_DEGREE)
    assert keys["adc.circuit.8.bow_p9"] == "adc_sar_8b.bow_p9" and "adc.circuit.8.bow_p10" not in keys
    assert "bow_p2" in CATALOGUE["adc_sar_7b"].outputs and "bow_p2" not in CATALOGUE["adc_sar_6b"].outputs
    six = dict(spec.updated({"adc": {"bits": 6, "partial_sum_bits": 6}}).library_keys())
    assert not any(".bow_" in f for f in six)


@pytest.mark.slow
def test_absolute_transitions_agree_with_bisected_conversions_at_4_bits(engine):
    """The weight test's absolute transitions (offset + decision_offset + the bit weights)
    against every one of the 15 transitions bisected through whole conversions in ngspice
    (layer_bench.flash_transitions, to 1/128 LSB): within 0.02 LSB, where the residues
    alone sit 0.08 LSB high (the decision the residue read before the edge cannot see)."""
    from cimspice.circuits.layer_bench import flash_transitions

    bits, point = 4, {"vdd": 1.1}
    w = SarADC(bits, bench="weights")
    w.load(engine)
    v = w.simulate(engine, point).values
    e = [v[f"weight_err_{j}"] for j in range(1, bits + 1)]
    ramp = SarADC(bits)
    p = ramp._point(point)
    lsb = (p["v_ref_hi"] - p["v_ref_lo"]) / 2 ** bits
    bisected = (flash_transitions(ramp, engine, point, steps=6, bracket=0.25) - p["v_ref_lo"]) / lsb
    absolute = superposed_levels(e, v["offset"] + v["decision_offset"])
    assert np.max(np.abs(absolute - bisected)) < 0.02, (absolute - bisected).round(4).tolist()
    assert np.max(np.abs(superposed_levels(e, v["offset"]) - bisected)) > 0.05


def test_bow_fit_recovers_weights_and_a_smooth_input_error():
    """Transitions made of known bit weights, an offset and a smooth bow (a degree-9
    polynomial, as fitted) are recovered from the residue codes the test measures: weights
    and offset and the bow's coefficients exactly. Superposition from the N + 1 key codes
    alone, what the test did before, misses by the bow's size."""
    from cimspice.circuits import adc_sar_bow as bow
    from cimspice.circuits.adc_sar_weights import residue_codes, solve_weights

    rng = np.random.default_rng(3)
    bits = 10
    e, c = rng.normal(0, 0.02, bits), -0.4
    u = np.arange(1, 2 ** bits) / 2 ** bits
    a = rng.normal(0, 0.05, bow.BOW_DEGREE - 1)
    truth = superposed_levels(e, c) + bow._bow_terms(u) @ a               # (1023,)
    measured = {k: truth[k - 1] for k in residue_codes(bits)}
    c_fit, e_fit, a_fit, misfit = bow.fit(measured, bits)
    assert abs(c_fit - c) < 1e-9 and np.max(np.abs(e_fit - e)) < 1e-9 and np.max(np.abs(a_fit - a)) < 1e-9
    assert misfit < 1e-9
    composed = superposed_levels(e_fit, c_fit, a_fit)
    assert np.max(np.abs(composed - truth)) < 1e-9
    c0, e0 = solve_weights({k: measured[k] for k in residue_codes(bits)[:bits + 1]}, bits)
    assert np.max(np.abs(superposed_levels(e0, c0) - truth)) > 10 * np.max(np.abs(composed - truth))


def test_the_simulator_composes_the_bow_as_the_weight_test_does():
    """cimspice.sim keeps its own composition (it does not import the circuits): the same
    transfer from the same weights, offset and bow."""
    from cimspice.sim.peripherals import superposed_errors

    rng = np.random.default_rng(4)
    for bits in (7, 10):
        e, a = rng.normal(0, 0.03, bits), rng.normal(0, 0.1, 8)
        levels = superposed_levels(e, 0.25, a)
        assert np.allclose(superposed_errors(e, 0.25, a), levels - np.arange(1, 2 ** bits), atol=1e-12)
        assert np.ptp(levels - superposed_levels(e, 0.25)) > 0.05
    assert np.allclose(superposed_errors(e, 0.25), superposed_levels(e, 0.25) - np.arange(1, 2 ** bits), atol=1e-12)


@pytest.mark.slow
def test_composed_transfer_with_its_bow_agrees_with_bisected_conversions_at_8_bits(engine):
    """From 7 bits the weight test fits the transfer's bow beside the bit weights. Oracle: 11
    transitions of the 8-bit SAR bisected through whole conversions in ngspice (8 halvings of
    +-0.75 LSB: 0.006 LSB), none of them a code the test reads. The composed absolute levels
    (offset, decision offset, weights and bow) sit within 0.02 LSB of every one; the same
    weights composed without the bow miss some by more than 0.05 (by superposition from the
    key codes alone, as the test did before, up to 0.10 LSB at 1.2 V)."""
    from cimspice.circuits.adc_sar_bow import scan_codes
    from cimspice.circuits.adc_sar_weights import key_codes
    from cimspice.library.blocks import sar_references

    bits, point = 8, {"vdd": 1.2, **sar_references(8)}
    w = SarADC(bits, bench="weights")
    w.load(engine)
    v = w.simulate(engine, point).values
    e = [v[f"weight_err_{j}"] for j in range(1, bits + 1)]
    bow = [v[f"bow_p{p}"] for p in range(2, 10)]
    shift = v["offset"] + v["decision_offset"]
    codes = np.array([3, 37, 68, 100, 127, 129, 152, 172, 200, 228, 253])
    assert not set(codes.tolist()) & set(key_codes(bits) + scan_codes(bits))
    p = w._point(point)
    lsb = (p["v_ref_hi"] - p["v_ref_lo"]) / 2 ** bits
    level = w.bisect_levels(engine, codes, p["v_ref_lo"] + (codes - 0.75) * lsb, p["v_ref_lo"] + (codes + 0.75) * lsb,
                            p, 8)
    bisected = (level - p["v_ref_lo"]) / lsb
    composed = superposed_levels(e, shift, bow)[codes - 1]
    assert np.max(np.abs(composed - bisected)) < 0.02, (composed - bisected).round(4).tolist()
    assert np.max(np.abs(superposed_levels(e, shift)[codes - 1] - bisected)) > 0.05
    assert v["bow_misfit"] < 0.01 and v["code_slack"] < 0.05
