"""The quantities designers ask for that ``.meas`` makes awkward, in NumPy on analysis
results: energy per operation, settling, 10-90 % edges, amplifier gain, bandwidth, unity-gain
frequency and phase margin, integrated noise.

Each returns a float in SI units, NaN when the waveform or response does not have it (no
edge, never settles, never falls through unity gain); the caller says why.
"""

from __future__ import annotations

import numpy as np

from . import measure_math as mm
from .waveforms import settling_time


def energy(t: np.ndarray, power: np.ndarray, start: float, stop: float) -> float:
    """Energy (J) of ``power`` (W) over ``[start, stop]`` s: ngspice's INTEG rule on the
    simulator's own time points, the power interpolated at the window's edges."""
    ts, ps = mm.windowed(t, power, start, stop)
    return mm.integral(ts, ps) if ts.size > 1 else float("nan")


def settling(t: np.ndarray, y: np.ndarray, tolerance: float, start: float, stop: float = np.inf, *,
             relative: bool, final: float | None = None) -> float:
    """Time (s) from ``start`` until ``y`` enters and stays, until ``stop``, within
    ``final +- band``.

    ``final`` defaults to the signal at ``stop`` (the last sample). The band is ``tolerance``
    in the signal's unit, or with ``relative`` that fraction of the step from the signal at
    ``start`` to ``final``. NaN when the signal is outside the band at ``stop``.
    """
    t, y = mm.windowed(t, y, t[0], stop)
    final = float(y[-1]) if final is None else float(final)
    band = tolerance * abs(final - float(np.interp(start, t, y))) if relative else tolerance
    if band <= 0:
        return float("nan")
    return settling_time(t, y, final=final, tolerance=band, start=start)


def edge_time(t: np.ndarray, y: np.ndarray, direction: str, start: float, stop: float,
              low: float = 0.1, high: float = 0.9) -> float:
    """10-90 % rise (``direction="rise"``) or fall time (s) of the first such edge at or
    after ``start``.

    The levels are ``low`` and ``high`` of the way from the signal's minimum to its
    maximum over ``[start, stop]``. A rise is the first rising crossing of the low level
    and the first rising crossing of the high level after it (a fall: high level falling,
    then low level), each interpolated between samples; the same crossings as ngspice's
    ``TRIG v VAL=lo RISE=1 TARG v VAL=hi RISE=1`` with ``TD=start``.
    """
    keep = mm.window(t, start, stop)
    ts, ys = t[keep], y[keep]
    if ts.size < 2:
        return float("nan")
    bottom, top = ys.min(), ys.max()
    if top == bottom:
        return float("nan")
    lo, hi = bottom + low * (top - bottom), bottom + high * (top - bottom)
    first, second, sign = (lo, hi, 1) if direction == "rise" else (hi, lo, -1)
    begin = mm.crossing(ts, ys, first, direction, 1)
    if np.isnan(begin):
        return float("nan")
    at, signs = mm.crossings(ts, ys, second)
    end = at[(signs == sign) & (at >= begin)]
    return float(end[0] - begin) if end.size else float("nan")


def _phase_at(f: np.ndarray, phase: np.ndarray, at: float) -> float:
    """Unwrapped phase interpolated in log f (the sweep is logarithmic as a rule)."""
    return float(np.interp(np.log(at), np.log(f), phase))


def ac_metric(kind: str, f: np.ndarray, h: np.ndarray) -> float:
    """One figure of a complex transfer function ``h`` sampled at rising ``f`` (Hz, from
    below its first pole):

    * ``dc_gain``: ``|h|`` at the first frequency;
    * ``bandwidth``: where ``|h|`` first falls 3 dB (by 1/sqrt(2)) below that (Hz);
    * ``unity_gain``: where ``|h|`` first falls through 1 (Hz);
    * ``phase_margin``: 180 deg minus the phase lag from the first frequency to the
      unity-gain one (deg), the lag counted from the nearest multiple of 180 deg at the
      first frequency, so an inverting and a non-inverting gain read the same.

    Crossings interpolate log|h| linearly in log f (exact on a single pole's slope).
    """
    magnitude = np.abs(h)
    if kind == "dc_gain":
        return float(magnitude[0])
    if kind == "bandwidth":
        return mm.log_crossing(f, magnitude, magnitude[0] / np.sqrt(2.0))
    f_u = mm.log_crossing(f, magnitude, 1.0)
    if kind == "unity_gain" or np.isnan(f_u):
        return f_u
    phase = np.unwrap(np.angle(h))
    reference = np.pi * np.round(phase[0] / np.pi)
    return float(180.0 + np.degrees(_phase_at(f, phase, f_u) - reference))


def noise_rms(f: np.ndarray, density: np.ndarray, start: float, stop: float) -> float:
    """Root of the integral of ``density**2`` (``density`` per sqrt(Hz), as ngspice's
    ``inoise_spectrum`` and ``onoise_spectrum``) over ``[start, stop]`` Hz, each interval
    taken as a power law; NaN when the band is outside the analysis's."""
    if not f[0] <= start < stop <= f[-1]:
        return float("nan")
    return float(np.sqrt(mm.power_law_integral(f, np.asarray(density) ** 2, start, stop)))
