"""ADC metrics (NumPy only) against analytic cases: ideal quantisers, a known widened code,
a missing code, DNL/INL consistency, and ENOB with known added noise."""

from __future__ import annotations

import math

import numpy as np
import pytest

from cimspice.circuits import CircuitError
from cimspice.circuits import adc_metrics as am

LO, HI = 0.2, 1.0


def ramp(n_codes: int, per_code: int, lo=LO, hi=HI) -> np.ndarray:
    n = n_codes * per_code
    return lo + (np.arange(n) + 0.5) * (hi - lo) / n


def quantise_with_levels(v, levels) -> np.ndarray:
    """A quantiser written from its transition levels: code = number of levels at or below v."""
    return np.searchsorted(np.asarray(levels), np.asarray(v), side="right")


@pytest.mark.parametrize("bits", [3, 4, 6])
def test_ideal_quantiser_has_zero_dnl_and_inl(bits):
    v = ramp(2 ** bits, 16)
    codes = am.ideal_quantiser(v, bits, LO, HI)
    q = (HI - LO) / 2 ** bits
    # hand-written oracle: every ideal level k * LSB, codes counted as levels below
    assert np.array_equal(codes, quantise_with_levels(v, LO + q * np.arange(1, 2 ** bits)))
    levels = am.transition_levels(v, codes, bits)
    assert np.allclose(levels, am.ideal_levels(bits, LO, HI), atol=1e-12)
    for method in ("endpoint", "best_fit"):
        dnl, inl = am.dnl_inl(levels, method=method)
        assert dnl.shape == (2 ** bits - 2,) and inl.shape == (2 ** bits - 1,)
        assert np.max(np.abs(dnl)) < 1e-9 and np.max(np.abs(inl)) < 1e-9
    dnl, inl = am.dnl_inl(levels, method="absolute", v_lo=LO, v_hi=HI)
    assert np.max(np.abs(inl)) < 1e-9
    dnl, inl = am.code_density(codes, bits)
    assert np.max(np.abs(dnl)) < 1e-12 and np.max(np.abs(inl)) < 1e-12


def test_widened_code_gives_known_dnl_and_inl():
    bits, k, extra = 4, 6, 0.5  # code 6 is 1.5 LSB wide; everything above shifts up 0.5 LSB
    q = (HI - LO) / 2 ** bits
    true = LO + q * (np.arange(1, 2 ** bits) + extra * (np.arange(1, 2 ** bits) > k))
    v = ramp(2 ** bits, 64)
    codes = quantise_with_levels(v, true)
    levels = am.transition_levels(v, codes, bits)
    assert np.max(np.abs(levels - true)) <= (HI - LO) / v.size / 2 + 1e-12
    # against the ideal LSB the widened code is exactly +0.5 and the rest 0
    dnl, inl = am.dnl_inl(true, method="absolute", v_lo=LO, v_hi=HI)
    expected = np.zeros(2 ** bits - 2)
    expected[k - 1] = extra  # DNL[j] is code j + 1
    assert np.allclose(dnl, expected, atol=1e-12)
    assert np.allclose(inl, extra * (np.arange(1, 2 ** bits) > k), atol=1e-12)
    # endpoint: the span grows by 0.5 LSB over 14 code widths
    lsb_ep = q * (2 ** bits - 2 + extra) / (2 ** bits - 2)
    dnl, inl = am.dnl_inl(true, method="endpoint")
    expected = q / lsb_ep - 1 + (np.arange(1, 2 ** bits - 1) == k) * extra * q / lsb_ep
    assert np.allclose(dnl, expected, atol=1e-12)
    # the histogram test sees the same code widths
    dnl_h, _ = am.code_density(codes, bits)
    widths = np.diff(true) / np.mean(np.diff(true))
    assert np.allclose(dnl_h, widths - 1, atol=0.02)


def test_sum_of_dnl_equals_endpoint_inl_at_every_code():
    rng = np.random.default_rng(3)
    bits = 5
    q = (HI - LO) / 2 ** bits
    levels = np.sort(LO + q * np.arange(1, 2 ** bits) + rng.normal(0, 0.2 * q, 2 ** bits - 1))
    dnl, inl = am.dnl_inl(levels, method="endpoint")
    assert inl[0] == pytest.approx(0, abs=1e-12) and inl[-1] == pytest.approx(0, abs=1e-12)
    assert np.allclose(np.cumsum(dnl), inl[1:], atol=1e-12)
    # and the histogram route: INL is the running sum of DNL by construction, checked
    # against levels recovered from the same codes
    v = ramp(2 ** bits, 200)
    codes = quantise_with_levels(v, levels)
    dnl_h, inl_h = am.code_density(codes, bits)
    assert np.allclose(np.cumsum(dnl_h), inl_h[1:])
    assert np.allclose(dnl_h, dnl, atol=0.03)


def test_missing_code_reads_dnl_minus_one():
    bits = 3
    q = (HI - LO) / 8
    levels = LO + q * np.array([1, 2, 3, 4, 4, 6, 7], dtype=float)  # code 4 never appears
    codes = quantise_with_levels(ramp(8, 32), levels)
    assert 4 not in codes
    dnl, _ = am.dnl_inl(am.transition_levels(ramp(8, 32), codes, bits), method="absolute", v_lo=LO, v_hi=HI)
    assert dnl[3] == pytest.approx(-1.0)


def test_sine_histogram_of_ideal_quantiser_is_flat():
    bits, m = 5, 200_000
    j = am.coherent_cycles(m, 997)
    v = am.sine_input(m, j, LO, HI, amplitude=1.05)  # overdrives both ends, as IEEE 1241 asks
    dnl, inl = am.code_density(am.ideal_quantiser(v, bits, LO, HI), bits, sine=True)
    assert np.max(np.abs(dnl)) < 0.05 and np.max(np.abs(inl)) < 0.05


@pytest.mark.parametrize("bits,m", [(4, 1024), (6, 1024), (8, 4096)])
def test_enob_of_ideal_quantiser_is_n(bits, m):
    j = am.coherent_cycles(m, m / 9.7)
    assert math.gcd(j, m) == 1 and j % 2 == 1
    codes = am.ideal_quantiser(am.sine_input(m, j, LO, HI), bits, LO, HI)
    result = am.sine_test(codes, j)
    assert abs(result.enob - bits) < 0.1
    assert result.amplitude == pytest.approx(0.99 * 2 ** bits / 2, rel=0.02)


def test_enob_with_added_noise_matches_analytic_sinad():
    # white noise sigma on top of quantisation: SINAD = P_sig / (sigma^2 + LSB^2/12)
    bits, m = 6, 8192
    q = (HI - LO) / 2 ** bits
    j = am.coherent_cycles(m, 811)
    rng = np.random.default_rng(11)
    sigma = 1.5 * q
    v = am.sine_input(m, j, LO, HI, amplitude=0.9) + rng.normal(0, sigma, m)
    codes = am.ideal_quantiser(v, bits, LO, HI)
    amplitude_codes = 0.9 * (HI - LO) / 2 / q
    expected = 10 * math.log10((amplitude_codes ** 2 / 2) / ((sigma / q) ** 2 + 1 / 12))
    assert am.sine_test(codes, j).sinad == pytest.approx(expected, abs=0.3)


def test_bad_inputs_are_rejected():
    with pytest.raises(CircuitError, match="adc_bits"):
        am.ideal_quantiser([0.5], 0, LO, HI)
    with pytest.raises(CircuitError, match="v_hi > v_lo"):
        am.ideal_quantiser([0.5], 4, HI, LO)
    with pytest.raises(CircuitError, match="equally spaced"):
        am.transition_levels([0.1, 0.3, 0.2], [0, 1, 2], 2)
    with pytest.raises(CircuitError, match="outside"):
        am.code_density([0, 9], 3)
    with pytest.raises(CircuitError, match="whole numbers"):
        am.code_density([0.5, 1.0], 3)
    with pytest.raises(CircuitError, match="method"):
        am.dnl_inl(np.arange(1.0, 8.0), method="typo")
    with pytest.raises(CircuitError, match="do not increase"):
        am.dnl_inl(np.ones(7))
