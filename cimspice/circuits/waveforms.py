"""Standard measurements on transient waveforms, in NumPy, on ngspice's non-uniform time axis.

Every circuit that reports a delay, a settling time or an energy measures it with these, so
the definitions are the same everywhere:

* :func:`crossing_time` -- when a signal first crosses a level (linear interpolation between
  the samples that bracket it, as ngspice's own ``meas ... when`` does);
* :func:`settling_time` -- when a signal last leaves a tolerance band around its final value;
* :func:`supply_energy` -- the energy a supply delivers, the time integral of ``v * i``.
"""

from __future__ import annotations

import numpy as np

from ..validate import require_positive
from .base import CircuitError


def _checked(time, *signals):
    t = np.asarray(time, dtype=np.float64)
    if t.ndim != 1 or t.size < 2:
        raise CircuitError(f"waveform: time must be 1-D with at least 2 samples, got shape {t.shape}")
    if np.any(np.diff(t) < 0):
        raise CircuitError("waveform: time must be non-decreasing")
    out = []
    for s in signals:
        s = np.broadcast_to(np.asarray(s, dtype=np.float64), t.shape)
        out.append(s)
    return (t, *out)


def crossing_time(time, signal, level: float, *, direction: str = "either", after: float | None = None) -> float:
    """First time (s) at or after ``after`` where ``signal`` crosses ``level``.

    ``direction`` is ``"rising"``, ``"falling"`` or ``"either"``. Returns NaN when the signal
    never crosses. A sample exactly at ``level`` counts as the crossing.
    """
    if direction not in ("rising", "falling", "either"):
        raise CircuitError(f"waveform: direction {direction!r} is not rising, falling or either")
    t, y = _checked(time, signal)
    start = 0 if after is None else int(np.searchsorted(t, after, side="left"))
    if start > 0 and after is not None:
        start -= 1  # keep the interval that contains `after`
    d = y[start:] - level
    t = t[start:]
    lo, hi = d[:-1], d[1:]
    if direction == "rising":
        hit = (lo < 0) & (hi >= 0)
    elif direction == "falling":
        hit = (lo > 0) & (hi <= 0)
    else:
        hit = ((lo < 0) & (hi >= 0)) | ((lo > 0) & (hi <= 0))
    hit |= (lo == 0) & (direction == "either")
    k = np.flatnonzero(hit)
    if after is not None:
        # an interval straddling `after` only counts from `after` on
        while k.size:
            tk = _interp_crossing(t, lo, hi, k[0])
            if tk >= after:
                return tk
            k = k[1:]
        return float("nan")
    return _interp_crossing(t, lo, hi, k[0]) if k.size else float("nan")


def _interp_crossing(t, lo, hi, k) -> float:
    if lo[k] == hi[k]:
        return float(t[k])
    return float(t[k] + (t[k + 1] - t[k]) * (-lo[k]) / (hi[k] - lo[k]))


def settling_time(time, signal, *, final: float | None = None, tolerance: float, start: float = 0.0) -> float:
    """Time (s) from ``start`` until ``signal`` enters and stays within ``final +- tolerance``.

    ``final`` defaults to the last sample. Returns 0 when the signal is inside the band from
    ``start`` on, NaN when it has not settled by the end (its last sample is outside).
    """
    tolerance = require_positive(tolerance, "waveform: tolerance", CircuitError)
    t, y = _checked(time, signal)
    final = float(y[-1]) if final is None else float(final)
    inside = np.abs(y - final) <= tolerance
    window = t >= start
    if not inside[-1]:
        return float("nan")
    outside = np.flatnonzero(window & ~inside)
    if outside.size == 0:
        return 0.0
    k = outside[-1]  # last sample outside the band; it re-enters between k and k+1
    edge = final + np.sign(y[k] - final) * tolerance
    # it re-enters the band between samples k and k+1, where it crosses the band's edge
    tk = float(t[k] + (t[k + 1] - t[k]) * (y[k] - edge) / (y[k] - y[k + 1]))
    return max(tk - start, 0.0)


def supply_energy(time, voltage, current, *, start: float | None = None, stop: float | None = None) -> float:
    """Energy (J) delivered by a supply between ``start`` and ``stop``: the integral of v*i dt.

    ``current`` is the current the supply *delivers* into the circuit (A). ngspice reports
    a voltage source's current flowing into its positive terminal, so pass ``-i(vdd)``.
    ``voltage`` may be a scalar (an ideal supply) or the sampled supply voltage (V).
    Samples are integrated by the trapezoid rule on the simulator's own time points, with
    the waveform interpolated linearly at ``start`` and ``stop``.
    """
    t, v, i = _checked(time, voltage, current)
    p = v * i
    lo = t[0] if start is None else float(start)
    hi = t[-1] if stop is None else float(stop)
    if not t[0] <= lo <= hi <= t[-1]:
        raise CircuitError(f"waveform: energy window [{lo:g}, {hi:g}] s outside the simulated "
                           f"[{t[0]:g}, {t[-1]:g}] s")
    inner = (t > lo) & (t < hi)
    tt = np.concatenate([[lo], t[inner], [hi]])
    pp = np.concatenate([[np.interp(lo, t, p)], p[inner], [np.interp(hi, t, p)]])
    return float(np.trapezoid(pp, tt))
