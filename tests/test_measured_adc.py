"""The ADC's measured static transfer (INL at every transition) in the simulator."""

from __future__ import annotations

import numpy as np
import pytest

from cimspice.sim.errors import SimError
from cimspice.sim.peripherals import IdealAdc, MeasuredAdc


def test_zero_inl_is_the_ideal_quantiser():
    rng = np.random.default_rng(0)
    lsb = np.array([0.5, 1.0, 2.0])
    x = rng.uniform(-40, 40, size=(1000, 3))
    x = x[np.all(np.abs(np.abs(x / lsb) % 1 - 0.5) > 1e-9, axis=1)]   # no input exactly on a transition
    for bits in (3, 5, 6):
        np.testing.assert_array_equal(MeasuredAdc(bits, np.zeros(2 ** bits - 1)).convert(x, lsb),
                                      IdealAdc(bits).convert(x.copy(), lsb))


def test_a_shifted_transition_moves_exactly_its_codes():
    """3 bits: code_max 3, unsigned transitions at 1..7 on u = x/lsb + 3.5. Moving transition 4
    (ideally at x = 0.5 LSB, between codes 0 and 1) up by 0.3 LSB turns inputs in
    [0.5, 0.8) LSB from code 1 into code 0 and leaves every other input alone."""
    inl = np.zeros(7)
    inl[3] = 0.3
    adc, ideal = MeasuredAdc(3, inl), IdealAdc(3)
    x = np.linspace(-4, 4, 8001)
    x = x[(np.abs(np.abs(x) % 1 - 0.5) > 1e-9) & (np.abs(x - 0.8) > 1e-9)]   # none on a transition
    got, want = adc.convert(x, 1.0), ideal.convert(x.copy(), 1.0)
    moved = (x > 0.5) & (x < 0.8)
    assert np.all(got[moved] == 0) and np.all(want[moved] == 1)
    np.testing.assert_array_equal(got[~moved], want[~moved])


def test_bad_transfers_are_refused():
    with pytest.raises(SimError, match="needs 7 finite INL values"):
        MeasuredAdc(3, np.zeros(6))
    with pytest.raises(SimError, match="do not increase"):
        MeasuredAdc(3, np.array([0, 0, 1.5, 0, 0, 0, 0.0]))


def test_spec_measured_transfer_needs_the_adc_family():
    from cimspice.sim.spec import load_system_spec

    with pytest.raises(SimError, match="adc.transfer: a measured transfer is read from the library's ADC blocks"):
        load_system_spec({"adc": {"transfer": "measured"}})


@pytest.mark.parametrize("spread", [0.49, 0.9])
def test_codes_count_the_transitions_at_or_below_the_input(spread):
    """Each code is the number of transitions at or below ``u = x/lsb + code_max + 1/2``,
    counted here one by one, on inputs exactly on, just beside and between every transition
    (|INL| below 1/2 LSB takes the one-lookup path, 0.9 LSB the search)."""
    rng = np.random.default_rng(2)
    bits = 5
    adc = MeasuredAdc(bits, rng.uniform(-spread, spread, 2 ** bits - 1) * np.sort(rng.random(2 ** bits - 1)))
    t = adc.transitions
    u = np.concatenate([t, np.nextafter(t, -np.inf), np.nextafter(t, np.inf), rng.uniform(-3, 2 ** bits + 3, 5000)])
    x = u - (adc.code_max + 0.5)
    u = x + (adc.code_max + 0.5)           # what the converter sees (x - 15.5 + 15.5 may round)
    counted = np.array([np.count_nonzero(t <= v) for v in u]) - adc.code_max
    np.testing.assert_array_equal(adc.convert(x, 1.0), np.clip(counted, -adc.code_max, adc.code_max))


def test_zero_weight_error_is_the_ideal_quantiser():
    rng = np.random.default_rng(1)
    for bits in (3, 8, 10):
        lsb = np.array([0.5, 1.0])
        x = rng.uniform(-(2 ** (bits - 1)), 2 ** (bits - 1), size=(2000, 2)) * lsb
        x = x[np.all(np.abs(np.abs(x / lsb) % 1 - 0.5) > 1e-9, axis=1)]
        np.testing.assert_array_equal(MeasuredAdc.from_weights(np.zeros(bits)).convert(x, lsb),
                                      IdealAdc(bits).convert(x.copy(), lsb))


def test_a_weight_error_moves_exactly_the_codes_superposition_says():
    """3 bits, bit 1 (weight 2) 0.4 LSB heavy: transitions T_k = sum of k's bit weights,
    1, 2.4, 3.4, 4, 5, 6.4, 7.4; on the endpoint line (T_1 = 1, T_7 = 7.4, LSB 6.4/6) they
    sit at 1 + (T_k - 1) * 6/6.4 = 1, 2.3125, 3.25, 3.8125, 4.75, 6.0625, 7 (worked by hand).
    Inputs between an ideal transition and its moved one change code by one; no other does."""
    moved_to = np.array([1, 2.3125, 3.25, 3.8125, 4.75, 6.0625, 7])
    adc, ideal = MeasuredAdc.from_weights([0.0, 0.4, 0.0]), IdealAdc(3)
    np.testing.assert_allclose(adc.transitions, moved_to, rtol=0, atol=1e-12)
    u = np.linspace(0.01, 7.99, 7981)                       # unsigned scale, u = x / lsb + 3.5
    u = u[np.min(np.abs(u[:, None] - np.concatenate([moved_to, np.arange(1, 8)])[None]), axis=1) > 1e-6]
    x = u - 3.5
    got, want = adc.convert(x, 1.0), ideal.convert(x.copy(), 1.0)
    # between ideal k and its moved level: one code lower where it moved up, higher where down
    expect = want - np.sum((u[:, None] >= np.arange(1, 8)) & (u[:, None] < moved_to), axis=1) \
        + np.sum((u[:, None] >= moved_to) & (u[:, None] < np.arange(1, 8)), axis=1)
    np.testing.assert_array_equal(got, expect)
    assert np.count_nonzero(got != want) > 100


def test_superposed_inl_agrees_with_the_circuit_side_composition():
    """Two implementations of T_k = sum_j b_j(k) (2**j + e_j): the simulator's (code by code)
    and the weight test's (a bit matrix), through adc_metrics' endpoint INL."""
    from cimspice.circuits import adc_metrics
    from cimspice.circuits.adc_sar_weights import superposed_levels
    from cimspice.sim.peripherals import superposed_inl

    e = np.random.default_rng(2).normal(0, 0.3, 10)
    _, inl = adc_metrics.dnl_inl(superposed_levels(e, offset=0.7), method="endpoint")
    np.testing.assert_allclose(superposed_inl(e), inl, rtol=0, atol=1e-9)
    with pytest.raises(SimError, match="bit-weight errors"):
        superposed_inl([0.0, np.nan])


def _sar_trials(u, weights, threshold):
    """Successive approximation by hand: from the MSB, keep bit j when the input reaches the
    threshold plus the weights of the bits kept so far and bit j (the comparator's decision)."""
    code = np.zeros(u.shape, dtype=int)
    total = np.zeros(u.shape)
    for j in reversed(range(len(weights))):
        keep = u >= threshold + total + weights[j]
        code += keep * (1 << j)
        total += keep * weights[j]
    return code


def test_absolute_transitions_convert_as_the_sar_trials_do():
    """superposed_errors' transitions against an independent SAR: bisection trials on the
    bit weights with a shifted threshold (offset and gain kept, nothing removed)."""
    from cimspice.sim.peripherals import superposed_errors

    rng = np.random.default_rng(5)
    for bits, offset in ((4, -0.09), (6, 0.31), (8, -1.7)):
        e = rng.normal(0, 0.2, bits)
        adc = MeasuredAdc(bits, superposed_errors(e, offset))
        u = rng.uniform(-2, 2 ** bits + 2, 20000)
        want = np.clip(_sar_trials(u, 2.0 ** np.arange(bits) + e, offset), 0, 2 ** bits - 1) - adc.code_max
        got = adc.convert(u - (adc.code_max + 0.5), 1.0)
        np.testing.assert_array_equal(got, np.clip(want, -adc.code_max, adc.code_max))
        # the endpoint INL of the same converter forgets the offset: it converts otherwise
        assert np.any(MeasuredAdc.from_weights(e).convert(u - (adc.code_max + 0.5), 1.0) != got)
    with pytest.raises(SimError, match="offset must be finite"):
        superposed_errors([0.0, 0.1], np.nan)
