"""NumPy kernels of the measurements on sampled analysis results: crossings, values at a
point of the axis, windows, integrals, derivatives.

``x`` is an analysis's axis (time in s, frequency in Hz, a dc sweep's source value) as
ngspice sampled it, ``y`` a real signal on it, both 1-D of the same length. The crossing,
AT and window rules are ngspice 39's ``.meas`` rules (``src/frontend/com_measure2.c``), so a
``.meas`` line evaluated here gives the number ngspice prints for it: linear interpolation
between the two samples around a crossing or an AT point, window statistics on the samples
inside the window, and ngspice's mix of Simpson and trapezoid rules for integrals.
"""

from __future__ import annotations

import struct

import numpy as np

#: ngspice's tolerance (units in the last place) when it compares two widths or a window
#: edge with a sample (``AlmostEqualUlps(a, b, 100)``).
ULPS = 100


def almost_equal(a, b, ulps: int = ULPS) -> np.ndarray:
    """ngspice's ``AlmostEqualUlps``: equal, or at most ``ulps`` doubles apart."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    ia, ib = a.view(np.int64), b.view(np.int64)
    if a.size and a.min() >= 0 and b.min() >= 0:  # e.g. a rising axis's widths: no sign to mend
        return np.abs(ia - ib) <= ulps
    lowest = np.iinfo(np.int64).min
    with np.errstate(over="ignore"):
        # negative doubles ordered as two's-complement integers, as ngspice does
        ia = np.where(ia < 0, lowest - ia, ia)
        ib = np.where(ib < 0, lowest - ib, ib)
        return (a == b) | (np.abs(ia - ib) <= ulps)


def almost_equal_number(a: float, b: float, ulps: int = ULPS) -> bool:
    """:func:`almost_equal` of two numbers (a tenth of its time on 0-d arrays)."""
    return a == b or abs(_ordered(a) - _ordered(b)) <= ulps


def _ordered(value: float) -> int:
    bits = struct.unpack("<q", struct.pack("<d", value))[0]
    return -(1 << 63) - bits if bits < 0 else bits


def crossings(x: np.ndarray, y: np.ndarray, level) -> tuple[np.ndarray, np.ndarray]:
    """Every crossing of ``y`` through ``level`` (a number or a second signal, shape of y),
    in order: ``(positions on x, direction +1 rising / -1 falling)``.

    ngspice's rule: the first sample sets the side (below when y < level, else above); a
    later sample at or beyond the level from the side it is on crosses it (so a sample
    exactly on the level is a crossing both ways, alternately). The position is the linear
    interpolation between the two samples around it.
    """
    d = np.asarray(y, dtype=np.float64) - level
    if d.size < 2:
        return np.empty(0), np.empty(0, dtype=np.int8)
    index, above = _crossing_samples(d)
    # each crossing changes the side: they alternate, the first falling if the first sample is above
    sign = np.resize(np.array([-1, 1] if above else [1, -1], dtype=np.int8), index.size)
    x = np.asarray(x, dtype=np.float64)
    x0, x1, d0, d1 = x[index - 1], x[index], d[index - 1], d[index]
    with np.errstate(divide="ignore", invalid="ignore"):
        at = np.where(d1 != d0, x0 + (0.0 - d0) * (x1 - x0) / (d1 - d0), x1)
    return at, sign


def crossing(x: np.ndarray, y: np.ndarray, level, edge: str, count: int) -> float:
    """``pick(*crossings(x, y, level), edge, count)``, the same number, interpolating only
    the crossing it picks (a ``.meas`` clause reads one)."""
    d = np.asarray(y, dtype=np.float64) - level
    if d.size < 2:
        return float("nan")
    index, above = _crossing_samples(d)
    if edge != "cross":  # rises and falls alternate: every other crossing, from the first or the second
        index = index[int((edge == "rise") == above)::2]
    if index.size < max(count, 1):
        return float("nan")
    k = int(index[count - 1 if count > 0 else -1])
    x0, x1, d0, d1 = float(x[k - 1]), float(x[k]), float(d[k - 1]), float(d[k])
    return x0 + (0.0 - d0) * (x1 - x0) / (d1 - d0) if d1 != d0 else x1  # as crossings() computes it


def _crossing_samples(d: np.ndarray) -> tuple[np.ndarray, bool]:
    """``(indices of the samples at which d = y - level crosses zero, whether the first
    sample is above)`` by :func:`crossings`'s rule; ``d`` has two samples or more."""
    above = bool(d[0] >= 0)
    if not d[1:].all():  # a sample exactly on the level
        return _crossings_with_ties(d), above
    side = d > 0
    side[0] = above
    return (side[1:] != side[:-1]).nonzero()[0] + 1, above


def _crossings_with_ties(d: np.ndarray) -> np.ndarray:
    """:func:`_crossing_samples` sample by sample, for signals with samples exactly on the level."""
    above, index = bool(d[0] >= 0), []
    for k in range(1, d.size):
        if (not above and d[k] >= 0) or (above and d[k] <= 0):
            above = not above
            index.append(k)
    return np.asarray(index, dtype=np.intp)


def pick(at: np.ndarray, sign: np.ndarray, edge: str, count: int) -> float:
    """The crossing a ``.meas`` clause asks for: ``edge`` "rise", "fall" or "cross" (either),
    ``count`` the n-th (1-based) or -1 for the last; NaN when there is none."""
    chosen = at if edge == "cross" else at[sign == (1 if edge == "rise" else -1)]
    if count == -1:
        return float(chosen[-1]) if chosen.size else float("nan")
    return float(chosen[count - 1]) if chosen.size >= count else float("nan")


def value_at(x: np.ndarray, y: np.ndarray, at: float) -> float:
    """``y`` linearly interpolated at ``at`` in the first interval of ``x`` that holds it
    (rising, or falling too for a sweep that runs backwards); NaN outside ``x``."""
    lo, hi = x[:-1], x[1:]
    inside = ((lo <= at) & (hi >= at)) | ((lo >= at) & (hi <= at))
    k = np.flatnonzero(inside)
    if k.size == 0:
        return float("nan")
    k = int(k[0])
    if x[k + 1] == x[k]:
        return float(y[k])
    return float(y[k] + (at - x[k]) * (y[k + 1] - y[k]) / (x[k + 1] - x[k]))


def value_at_rising(x: np.ndarray, y: np.ndarray, at: float) -> float:
    """:func:`value_at` for a rising (non-decreasing) ``x``, found by bisection."""
    j = int(np.searchsorted(x, at))  # the first sample at or after ``at``
    if x.size < 2 or j == x.size or (j == 0 and x[0] != at):
        return float("nan")
    k = max(j - 1, 0)  # the first interval that holds ``at``: none before it reaches it
    if x[k + 1] == x[k]:
        return float(y[k])
    return float(y[k] + (at - x[k]) * (y[k + 1] - y[k]) / (x[k + 1] - x[k]))


def derivative_at(x: np.ndarray, y: np.ndarray, at: float) -> float:
    """dy/dx at ``at``: the derivative of the parabola through the three samples around it
    (second-order accurate on a non-uniform axis); NaN outside ``x``."""
    if x.size < 3 or not min(x[0], x[-1]) <= at <= max(x[0], x[-1]):
        return float("nan")
    k = int(np.clip(np.searchsorted(x, at) - 1, 0, x.size - 3))
    x0, x1, x2 = x[k:k + 3]
    y0, y1, y2 = y[k:k + 3]
    # d/dx of the Lagrange parabola through (x0, y0), (x1, y1), (x2, y2)
    return float(y0 * (2 * at - x1 - x2) / ((x0 - x1) * (x0 - x2))
                 + y1 * (2 * at - x0 - x2) / ((x1 - x0) * (x1 - x2))
                 + y2 * (2 * at - x0 - x1) / ((x2 - x0) * (x2 - x1)))


def window(x: np.ndarray, start: float, stop: float) -> slice:
    """The samples with ``start <= x <= stop`` (ngspice's AVG/MIN/MAX/PP window) of a
    rising ``x``, as a slice (views, no copies)."""
    lo = 0 if start == -np.inf else int(np.searchsorted(x, start, "left"))
    hi = x.size if stop == np.inf else int(np.searchsorted(x, stop, "right"))
    return slice(lo, hi)


def average(x: np.ndarray, y: np.ndarray) -> float:
    """Trapezoid mean of the samples (ngspice's AVG: no interpolation at the window's
    edges); NaN for fewer than two samples."""
    if x.size < 2 or x[-1] == x[0]:
        return float("nan")
    return float((0.5 * (y[1:] + y[:-1]) * (x[1:] - x[:-1])).sum() / (x[-1] - x[0]))


def windowed(x: np.ndarray, y: np.ndarray, start: float, stop: float) -> tuple[np.ndarray, np.ndarray]:
    """The samples of ``y`` in ``[start, stop]`` with the signal interpolated at both edges
    unless a sample lies within :data:`ULPS` of it (ngspice's RMS/INTEG window); empty
    when the window misses ``x``. ``x`` rises."""
    if x.size == 0 or start > x[-1] or stop < x[0] or stop < start:
        return np.empty(0), np.empty(0)
    inner = window(x, start, stop)
    xs, ys = x[inner], y[inner]
    if start > x[0] and not (xs.size and almost_equal_number(xs[0], start)):
        xs, ys = np.concatenate([[start], xs]), np.concatenate([[np.interp(start, x, y)], ys])
    if stop < x[-1] and not (xs.size and almost_equal_number(xs[-1], stop)):
        xs, ys = np.concatenate([xs, [stop]]), np.concatenate([ys, [np.interp(stop, x, y)]])
    return xs, ys


def integral(x: np.ndarray, y: np.ndarray) -> float:
    """The integral of samples ``y`` over ``x`` by ngspice's rule (INTEG, RMS): walking the
    intervals, three of (almost) equal width take Simpson's 3/8 rule, two Simpson's 1/3
    rule, one the trapezoid rule. Exact for cubics on a uniform axis."""
    n = x.size - 1
    if n < 1:
        return 0.0
    w = x[1:] - x[:-1]
    if w.min() >= 0:  # a rising axis: two widths are equal when their bits are close (almost_equal's shortcut)
        bits = w.view(np.int64)
        apart = np.abs(bits[:-1] - bits[1:]) > ULPS
        equal_third = np.abs(bits[:-2] - bits[2:]) <= ULPS  # width k against width k + 2
        third_equal = equal_third.take
    else:
        apart = ~almost_equal(w[:-1], w[1:])
        third_equal = lambda k: almost_equal(w[k], w[k + 2])  # noqa: E731
    # Where equal widths come in runs (equality transitive), the walk goes run by run: a run
    # of m intervals takes m // 3 3/8 rules, then a 1/3 rule (m % 3 == 2) or a trapezoid (1).
    edges = np.concatenate([[-1], apart.nonzero()[0], [n - 1]])  # each run's last interval, after -1
    groups, rest = np.divmod(edges[1:] - edges[:-1], 3)
    after = edges[1:] + 1 - rest  # the rest of each run: 0, 1 or 2 intervals from here
    runs = np.cumsum(groups)
    three = np.repeat(after - 3 * runs, groups) + 3 * np.arange(runs[-1])
    two, one = after[rest == 2], after[rest == 1]
    # That tiling is the walk if the walk takes its step at every group's start: a 3/8 rule's
    # first and third widths are equal, a 1/3 rule's first and third (past its run) are not.
    late = two[:-1] if two.size and two[-1] + 3 > n else two  # a 1/3 rule with a third width after it
    if not (third_equal(three).all() and not third_equal(late).any()):
        return _integral_walk(w, y)
    # y[k + j] as y[j:].take(k): a view's gather, no index array to add
    total = (3 * w.take(three) * (y.take(three) + 3 * (y[1:].take(three) + y[2:].take(three))
                                  + y[3:].take(three)) / 8.0).sum()
    total += (w.take(two) * (y.take(two) + 4 * y[1:].take(two) + y[2:].take(two)) / 3.0).sum()
    total += (w.take(one) * (y.take(one) + y[1:].take(one)) / 2).sum()
    return float(total)


def _integral_walk(w: np.ndarray, y: np.ndarray) -> float:
    """:func:`integral` interval by interval (widths that drift within the tolerance, so that
    equal widths do not come in runs)."""
    n = y.size - 1
    wp = np.concatenate([w, [0.0, 0.0]])
    eq1, eq2 = almost_equal(wp[:n], wp[1:n + 1]), almost_equal(wp[:n], wp[2:n + 2])
    k = np.arange(n)
    step = np.where(eq1 & eq2 & (k + 3 <= n), 3, np.where(eq1 & (k + 2 <= n), 2, 1))
    i, total = 0, 0.0
    while i < n:
        if step[i] == 3:
            total += 3 * w[i] * (y[i] + 3 * (y[i + 1] + y[i + 2]) + y[i + 3]) / 8.0
        elif step[i] == 2:
            total += w[i] * (y[i] + 4 * y[i + 1] + y[i + 2]) / 3.0
        else:
            total += w[i] * (y[i] + y[i + 1]) / 2
        i += int(step[i])
    return float(total)


def power_law_integral(f: np.ndarray, s: np.ndarray, start: float, stop: float) -> float:
    """The integral of a spectral density ``s`` (per Hz, >= 0) over ``[start, stop]`` Hz,
    taking ``s`` as a power of ``f`` between samples (exact for 1/f, flat and 1/f^2
    spectra; ngspice's rule for noise totals). Edges inside an interval are interpolated
    the same way."""
    f, s = np.asarray(f, dtype=np.float64), np.asarray(s, dtype=np.float64)
    if not f[0] <= start < stop <= f[-1]:
        raise ValueError(f"band [{start:g}, {stop:g}] Hz outside the analysis's [{f[0]:g}, {f[-1]:g}] Hz")
    inner = (f > start) & (f < stop)
    edges = np.r_[start, f[inner], stop]
    values = np.r_[_power_law_at(f, s, start), s[inner], _power_law_at(f, s, stop)]
    f1, f2, s1, s2 = edges[:-1], edges[1:], values[:-1], values[1:]
    with np.errstate(divide="ignore", invalid="ignore"):
        a = np.log(s2 / s1) / np.log(f2 / f1)
        power = s1 * f1 / (a + 1) * ((f2 / f1) ** (a + 1) - 1)
    log_case = np.abs(a + 1) < 1e-10
    piece = np.where(log_case, s1 * f1 * np.log(f2 / f1), power)
    # a zero or flat-zero density has no power law: the trapezoid is exact enough there
    piece = np.where((s1 > 0) & (s2 > 0) & (f1 > 0), piece, 0.5 * (s1 + s2) * (f2 - f1))
    return float(np.sum(piece))


def _power_law_at(f: np.ndarray, s: np.ndarray, at: float) -> float:
    k = int(np.clip(np.searchsorted(f, at) - 1, 0, f.size - 2))
    f1, f2, s1, s2 = f[k], f[k + 1], s[k], s[k + 1]
    if at == f1:
        return float(s1)
    if s1 <= 0 or s2 <= 0 or f1 <= 0:
        return float(s1 + (s2 - s1) * (at - f1) / (f2 - f1))
    return float(s1 * (at / f1) ** (np.log(s2 / s1) / np.log(f2 / f1)))


def log_crossing(f: np.ndarray, magnitude: np.ndarray, level: float) -> float:
    """The first frequency (Hz) where ``magnitude`` falls through ``level`` (> 0), with
    log|H| interpolated linearly in log f (a power law between samples, so a pole's slope
    is followed exactly); NaN when it never does."""
    below = np.flatnonzero(magnitude < level)
    if below.size == 0 or below[0] == 0:
        return float("nan")
    k = int(below[0])
    lf, lm = np.log(f[k - 1:k + 1]), np.log(magnitude[k - 1:k + 1])
    return float(np.exp(lf[0] + (np.log(level) - lm[0]) * (lf[1] - lf[0]) / (lm[1] - lm[0])))
