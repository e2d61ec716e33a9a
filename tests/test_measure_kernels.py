"""The kernels a measurement runs at every point (cimspice.circuits.measure_math) against
sample-by-sample transcriptions of ngspice 39's rules (com_measure2.c): the one crossing a
TRIG/TARG/WHEN clause picks, a FIND AT value, a window's samples. Bit for bit: the same
arithmetic on the same samples gives the same double."""

from __future__ import annotations

import math

import numpy as np
import pytest

from cimspice.circuits import measure_math as mm


def _crossings(x, y, level) -> list[tuple[float, int]]:
    """Every crossing, walking the samples: the first sets the side (below when y < level);
    a later one at or beyond the level from the side it is on crosses, interpolated linearly."""
    d = [float(y[k]) - (float(level[k]) if np.ndim(level) else level) for k in range(len(y))]
    above, out = d[0] >= 0, []
    for k in range(1, len(d)):
        if not above and d[k] >= 0:
            above, sign = True, 1
        elif above and d[k] <= 0:
            above, sign = False, -1
        else:
            continue
        x0, x1, d0, d1 = float(x[k - 1]), float(x[k]), d[k - 1], d[k]
        out.append((x0 + (0.0 - d0) * (x1 - x0) / (d1 - d0) if d1 != d0 else x1, sign))
    return out


def _pick(found, edge: str, count: int) -> float:
    chosen = [at for at, sign in found if edge == "cross" or sign == (1 if edge == "rise" else -1)]
    if count == -1:
        return chosen[-1] if chosen else math.nan
    return chosen[count - 1] if len(chosen) >= count else math.nan


def _same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or np.float64(a).tobytes() == np.float64(b).tobytes()


def _signals(seed: int):
    """``(x, y, level)``: a rising axis with uneven steps, a noisy wave, and levels (a number
    the signal starts above or below, another signal); signals quantised so that samples
    sit exactly on the level (ties), and one that starts on it."""
    rng = np.random.default_rng(seed)
    x = np.cumsum(rng.uniform(0.5, 2.0, 300))
    y = np.sin(x / 9) + 0.3 * rng.standard_normal(x.size)
    q = np.round(y * 4) / 4
    other = np.cos(x / 13)
    return x, [(y, 0.1), (y, -2.0), (y, other), (q, 0.25), (q, 0.0), (np.r_[0.5, q[1:]], 0.5)]


@pytest.mark.parametrize("seed", range(8))
def test_the_crossing_a_clause_picks_is_ngspices(seed):
    x, cases = _signals(seed)
    for y, level in cases:
        found = _crossings(x, y, level)
        at, sign = mm.crossings(x, y, level)
        assert [(float(a), int(s)) for a, s in zip(at, sign)] == found
        for edge in ("cross", "rise", "fall"):
            for count in (1, 2, 3, 7, -1, len(found), len(found) + 1):
                if count == 0:
                    continue
                assert _same(mm.crossing(x, y, level, edge, count), _pick(found, edge, count)), (edge, count)


def test_a_signal_without_crossings_or_samples_has_none():
    x = np.arange(5.0)
    assert math.isnan(mm.crossing(x, np.full(5, 2.0), 1.0, "cross", 1))
    assert math.isnan(mm.crossing(x, np.full(5, 2.0), 1.0, "rise", -1))
    assert math.isnan(mm.crossing(x[:1], np.ones(1), 0.0, "cross", 1))


def _value_at(x, y, at: float) -> float:
    """ngspice's FIND AT: the first interval that holds the point, interpolated linearly."""
    for k in range(len(x) - 1):
        if x[k] <= at <= x[k + 1]:
            if x[k + 1] == x[k]:
                return float(y[k])
            return float(y[k] + (at - x[k]) * (y[k + 1] - y[k]) / (x[k + 1] - x[k]))
    return math.nan


@pytest.mark.parametrize("seed", range(4))
def test_a_value_at_a_point_of_a_rising_axis_is_ngspices(seed):
    rng = np.random.default_rng(seed)
    x = np.cumsum(rng.choice([0.0, 0.5, 1.0, 1.5], 60))  # repeated samples too
    y = rng.standard_normal(x.size)
    points = [*x[::7], *(x[:-1] + 0.3 * np.diff(x))[::5], x[0] - 1, x[-1] + 1, x[0], x[-1]]
    for at in map(float, points):
        assert _same(mm.value_at_rising(x, y, at), _value_at(x, y, at)), at
    assert math.isnan(mm.value_at_rising(x[:1], y[:1], float(x[0])))


@pytest.mark.parametrize("seed", range(4))
def test_a_window_of_a_rising_axis_holds_the_samples_inside_it(seed):
    rng = np.random.default_rng(seed)
    x = np.cumsum(rng.choice([0.0, 0.5, 1.0], 80))
    edges = [-math.inf, math.inf, float(x[0]) - 1, float(x[-1]) + 1, *map(float, x[::9]), *map(float, x[3::11] + 0.2)]
    for start in edges:
        for stop in edges:
            inside = [k for k in range(x.size) if start <= x[k] <= stop]
            assert np.arange(x.size)[mm.window(x, start, stop)].tolist() == inside, (start, stop)
