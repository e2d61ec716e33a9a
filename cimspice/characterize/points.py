"""Turning a sweep spec into its points: grids in C order, Latin hypercube, random, lists,
Monte Carlo samples, crossed with process corners and temperatures.

Point order (slowest first): corner, temperature, then the design's own points. For a
Monte Carlo design those are the grid of the other swept parameters, and within each grid
point the samples: point ``k`` of a Monte Carlo sweep is sample ``k % samples``.
"""

from __future__ import annotations

import numpy as np

from .spec import SweepSpec, montecarlo_draws


def _grid(axes) -> dict[str, np.ndarray]:
    if not axes:
        return {}
    mesh = np.meshgrid(*[np.array(a.values, dtype=float) for a in axes], indexing="ij")
    return {a.name: m.ravel() for a, m in zip(axes, mesh)}


def _unit_samples(spec: SweepSpec) -> np.ndarray:
    d = len(spec.axes)
    if spec.design == "lhs":
        from scipy.stats import qmc  # scipy.stats costs ~60 MB of imports: only when asked

        return qmc.LatinHypercube(d=d, seed=spec.seed).random(spec.samples)
    return np.random.default_rng(spec.seed).random((spec.samples, d))


def design_points(spec: SweepSpec) -> dict[str, np.ndarray]:
    """The design's own points (``name -> (n,)``), before corners and temperatures."""
    if spec.design == "grid":
        return _grid(spec.axes)
    if spec.design == "list":
        return {a.name: np.array(a.values, dtype=float) for a in spec.axes}
    if spec.design == "montecarlo":
        conditions = _grid(spec.axes)
        n_cond = len(next(iter(conditions.values()))) if conditions else 1
        points = {name: np.repeat(v, spec.samples) for name, v in conditions.items()}
        points.update({name: np.tile(v, n_cond) for name, v in montecarlo_draws(spec).items()})
        return points
    unit = _unit_samples(spec)
    points = {}
    for k, axis in enumerate(spec.axes):
        lo, hi = axis.bounds
        if axis.scale == "log":
            points[axis.name] = np.exp(np.log(lo) + unit[:, k] * (np.log(hi) - np.log(lo)))
        else:
            points[axis.name] = lo + unit[:, k] * (hi - lo)
    return points


def outer_factors(spec: SweepSpec) -> list[tuple[str, np.ndarray]]:
    """The factors crossed with the design's points, slowest first: ``corner`` (codes into
    ``spec.corners``) and ``temp`` (degC)."""
    factors = []
    if spec.corners:
        factors.append(("corner", np.arange(len(spec.corners), dtype=np.int8)))
    if spec.temperatures:
        factors.append(("temp", np.array(spec.temperatures, dtype=float)))
    return factors


def sweep_points(spec: SweepSpec) -> dict[str, np.ndarray]:
    """Every point of the sweep as ``name -> (n_points,)`` arrays: float64 for parameters
    (fixed ones included), int8 corner codes under ``"corner"`` when corners are swept.

    Deterministic: the same spec (and seed) gives the same points in the same order, which
    is what makes a sweep resumable.
    """
    base = design_points(spec)
    n_base = len(next(iter(base.values()))) if base else 1
    factors = outer_factors(spec)
    sizes = [len(v) for _, v in factors]
    n_outer = int(np.prod(sizes)) if sizes else 1
    points = {}
    for j, (name, values) in enumerate(factors):
        inner = int(np.prod(sizes[j + 1:])) * n_base
        points[name] = np.repeat(np.tile(values, int(np.prod(sizes[:j]))), inner)
    for name, values in base.items():
        points[name] = np.tile(values, n_outer)
    n = n_outer * n_base
    for name, value in spec.fixed.items():
        points[name] = np.full(n, value)
    return points


def grid_axes(spec: SweepSpec) -> dict[str, np.ndarray] | None:
    """For a grid design, the axes in point order (C order, slowest first), fixed parameters
    last as one-value axes (so that the axes name every input), else None."""
    if spec.design != "grid":
        return None
    return {**dict(outer_factors(spec)), **{a.name: np.array(a.values, dtype=float) for a in spec.axes},
            **{name: np.array([value]) for name, value in spec.fixed.items()}}
