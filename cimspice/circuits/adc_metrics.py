"""ADC static and dynamic metrics in NumPy: the standard definitions (IEEE Std 1241-2010).

Codes are integers ``0 .. 2**adc_bits - 1``; voltages in V; DNL and INL in LSB.

* :func:`ideal_quantiser` -- the reference transfer ``floor((v - v_lo) / LSB)``, with
  ``LSB = (v_hi - v_lo) / 2**adc_bits``: code transitions at ``v_lo + k LSB``, k = 1 .. 2**N-1;
* :func:`transition_levels` -- transition levels ``T[k]`` from a uniformly spaced ramp test;
* :func:`dnl_inl` -- DNL and INL from transition levels (endpoint, best-fit or absolute);
* :func:`code_density` -- DNL and INL from a histogram of codes (ramp or sine input);
* :func:`sine_test` -- SINAD, SNR-like figures and ENOB from a coherently sampled sine.

No ngspice here: these run on codes from any source (simulation, measurement, a model).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..validate import require_int
from .base import CircuitError


def _bits(adc_bits) -> int:
    return require_int(adc_bits, "adc metrics: adc_bits", CircuitError, lo=1, hi=24)


def _codes(codes, adc_bits: int) -> np.ndarray:
    c = np.asarray(codes)
    if c.ndim != 1 or c.size == 0:
        raise CircuitError(f"adc metrics: codes must be a non-empty 1-D array, got shape {c.shape}")
    if c.dtype.kind == "f":
        if not np.all(np.isfinite(c)) or np.any(c != np.round(c)):
            raise CircuitError("adc metrics: codes must be whole numbers (a NaN means a failed conversion)")
    elif c.dtype.kind not in "iu":
        raise CircuitError(f"adc metrics: codes must be integers, got dtype {c.dtype}")
    c = c.astype(np.int64)
    if c.min() < 0 or c.max() >= 2 ** adc_bits:
        raise CircuitError(f"adc metrics: codes outside 0..{2 ** adc_bits - 1}")
    return c


def lsb(adc_bits: int, v_lo: float, v_hi: float) -> float:
    """Ideal code width (V)."""
    if not v_hi > v_lo:
        raise CircuitError(f"adc metrics: need v_hi > v_lo, got {v_lo!r}, {v_hi!r}")
    return (v_hi - v_lo) / 2 ** _bits(adc_bits)


def ideal_quantiser(v, adc_bits: int, v_lo: float, v_hi: float) -> np.ndarray:
    """Codes of an ideal ``adc_bits`` quantiser over ``[v_lo, v_hi]`` (mid-tread at the
    bottom: code k for ``v_lo + k LSB <= v < v_lo + (k+1) LSB``), clipped to the code range."""
    n = _bits(adc_bits)
    q = lsb(n, v_lo, v_hi)
    # the small slack keeps an input exactly on a transition from rounding down a code
    k = np.floor((np.asarray(v, dtype=np.float64) - v_lo) / q + 1e-9)
    return np.clip(k, 0, 2 ** n - 1).astype(np.int64)


def ideal_levels(adc_bits: int, v_lo: float, v_hi: float) -> np.ndarray:
    """Ideal transition levels (V), shape (2**adc_bits - 1,): ``T[k-1] = v_lo + k LSB``."""
    n = _bits(adc_bits)
    return v_lo + lsb(n, v_lo, v_hi) * np.arange(1, 2 ** n)


def transition_levels(v_in, codes, adc_bits: int) -> np.ndarray:
    """Transition levels (V), shape (2**adc_bits - 1,), from a uniformly spaced ramp test.

    ``v_in``: (n,) increasing, equally spaced inputs; ``codes``: (n,) the codes for them.
    Each input stands for an interval of one spacing ``d`` around it, and ``T[k-1]`` (the
    input where the output first reaches code k) is the ramp's start plus ``d`` times the
    number of samples with a code below k: the cumulative-histogram estimate, which also
    handles a non-monotonic transfer. Its resolution is ``d``. Levels outside the tested
    range come out at its ends.
    """
    n = _bits(adc_bits)
    v = np.asarray(v_in, dtype=np.float64)
    c = _codes(codes, n)
    if v.shape != c.shape or v.size < 2:
        raise CircuitError(f"adc metrics: v_in {v.shape} and codes {c.shape} must match, >= 2 samples")
    d = np.diff(v)
    if np.any(d <= 0) or np.ptp(d) > 1e-6 * abs(d.mean()) + 1e-15:
        raise CircuitError("adc metrics: a ramp test needs increasing, equally spaced inputs")
    step = float(d.mean())
    below = np.array([np.count_nonzero(c < k) for k in range(1, 2 ** n)])
    return v[0] - step / 2 + step * below


def dnl_inl(levels, *, method: str = "endpoint", v_lo: float | None = None,
            v_hi: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """DNL (2**N - 2,) of codes 1 .. 2**N - 2 and INL (2**N - 1,) at each transition, in LSB.

    ``method``:
      * ``"endpoint"`` -- the line through the first and last transitions: INL is 0 at both
        ends and ``INL[k] = sum(DNL[:k])`` exactly;
      * ``"best_fit"`` -- the least-squares line through all transitions;
      * ``"absolute"`` -- the ideal levels of :func:`ideal_levels` (needs ``v_lo``, ``v_hi``):
        INL then includes offset and gain errors.
    DNL is always code width over the reference LSB minus 1 (a missing code gives -1).
    """
    t = np.asarray(levels, dtype=np.float64)
    n_levels = t.size
    if t.ndim != 1 or n_levels < 3 or (n_levels + 1) & n_levels:
        raise CircuitError(f"adc metrics: expected 2**N - 1 >= 3 transition levels, got shape {t.shape}")
    k = np.arange(1, n_levels + 1, dtype=np.float64)
    if method == "endpoint":
        step = (t[-1] - t[0]) / (n_levels - 1)
        line = t[0] + step * (k - 1)
    elif method == "best_fit":
        step, offset = np.polyfit(k, t, 1)
        line = offset + step * k
    elif method == "absolute":
        if v_lo is None or v_hi is None:
            raise CircuitError("adc metrics: method 'absolute' needs v_lo and v_hi")
        bits = int(round(math.log2(n_levels + 1)))
        step = lsb(bits, v_lo, v_hi)
        line = ideal_levels(bits, v_lo, v_hi)
    else:
        raise CircuitError(f"adc metrics: method {method!r} is not endpoint, best_fit or absolute")
    if not step > 0:
        raise CircuitError("adc metrics: transition levels do not increase: no LSB can be defined")
    dnl = np.diff(t) / step - 1.0
    inl = (t - line) / step
    return dnl, inl


def code_density(codes, adc_bits: int, *, sine: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """DNL (2**N - 2,) and endpoint INL (2**N - 1,) in LSB from a histogram of codes.

    ``sine=False``: a uniform (ramp or triangle) input covering every code; the end codes
    absorb the over-range and are left out. ``sine=True``: a sine slightly overdriving both
    ends, corrected by its arcsine density (IEEE 1241, 6.4.4): transition levels
    ``T[k] = -cos(pi * CH[k] / S)`` up to offset and scale, with ``CH`` the cumulative
    histogram and ``S`` the number of samples.
    """
    n = _bits(adc_bits)
    c = _codes(codes, n)
    h = np.bincount(c, minlength=2 ** n).astype(np.float64)
    if sine:
        cumulative = np.cumsum(h)[:-1]  # samples below each transition
        t = -np.cos(np.pi * cumulative / c.size)
        return dnl_inl(t, method="endpoint")
    inner = h[1:-1]
    if inner.sum() == 0:
        raise CircuitError("adc metrics: no codes between the end codes: the input did not sweep the range")
    dnl = inner / inner.mean() - 1.0
    inl = np.concatenate([[0.0], np.cumsum(dnl)])
    return dnl, inl


@dataclass(frozen=True)
class SineTest:
    """Result of :func:`sine_test`: powers in dB, ENOB in bits."""

    sinad: float       # dB, signal to noise and distortion
    enob: float        # bits, (SINAD - 1.76) / 6.02
    sfdr: float        # dB, signal to the largest other bin
    signal_bin: int
    amplitude: float   # codes (peak), from the signal bin


def coherent_cycles(n_samples: int, cycles_hint: float) -> int:
    """The number of sine cycles nearest ``cycles_hint`` that is odd and coprime with
    ``n_samples``, so every sample lands on a different phase (coherent sampling)."""
    if n_samples < 8:
        raise CircuitError(f"adc metrics: a sine test needs >= 8 samples, got {n_samples}")
    best = None
    for j in range(1, n_samples // 2):
        if j % 2 and math.gcd(j, n_samples) == 1 and (best is None or abs(j - cycles_hint) < abs(best - cycles_hint)):
            best = j
    return int(best)


def sine_input(n_samples: int, n_cycles: int, v_lo: float, v_hi: float, *, amplitude: float = 0.99,
               phase: float = 0.3) -> np.ndarray:
    """(n_samples,) sine samples, ``n_cycles`` periods, centred on the range with a peak of
    ``amplitude`` times half the range (V)."""
    m = np.arange(int(n_samples))
    centre, half = 0.5 * (v_lo + v_hi), 0.5 * (v_hi - v_lo)
    return centre + amplitude * half * np.sin(2 * np.pi * n_cycles * m / n_samples + phase)


def sine_test(codes, n_cycles: int) -> SineTest:
    """SINAD and ENOB of coherently sampled output ``codes`` (n,) of a sine of ``n_cycles``.

    No window: with coherent sampling the sine falls in bin ``n_cycles`` alone. Noise and
    distortion are every other bin but DC, so SINAD = 10 log10(P_signal / P_rest).
    """
    x = np.asarray(codes, dtype=np.float64)
    if x.ndim != 1 or x.size < 8 or not np.all(np.isfinite(x)):
        raise CircuitError("adc metrics: sine test needs >= 8 finite codes")
    n = x.size
    if not 0 < n_cycles < n / 2:
        raise CircuitError(f"adc metrics: n_cycles={n_cycles} must lie in (0, n/2)")
    spectrum = np.abs(np.fft.rfft(x - x.mean())) ** 2
    power = spectrum.copy()
    if n % 2 == 0:
        power[-1] /= 2  # the Nyquist bin has no mirror image
    signal = power[n_cycles]
    rest = np.delete(power[1:], n_cycles - 1)
    if signal <= 0:
        raise CircuitError("adc metrics: no signal in the sine bin")
    noise = rest.sum()
    sinad = float("inf") if noise == 0 else 10 * math.log10(signal / noise)
    sfdr = float("inf") if rest.max() == 0 else 10 * math.log10(signal / rest.max())
    amplitude = 2 * math.sqrt(spectrum[n_cycles]) / n
    return SineTest(sinad, (sinad - 1.76) / 6.02, sfdr, int(n_cycles), amplitude)
