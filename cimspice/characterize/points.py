"""Turning a sweep spec into its points: grids in C order, Latin hypercube, random, lists."""

from __future__ import annotations

import numpy as np
from scipy.stats import qmc

from .spec import SweepSpec


def sweep_points(spec: SweepSpec) -> dict[str, np.ndarray]:
    """Every point of the sweep as ``name -> (n_points,)`` float64 arrays, fixed parameters
    included. Deterministic: the same spec (and seed) gives the same points in the same
    order, which is what makes a sweep resumable."""
    if spec.design == "grid":
        mesh = np.meshgrid(*[np.array(a.values) for a in spec.axes], indexing="ij")
        points = {a.name: m.ravel() for a, m in zip(spec.axes, mesh)}
    elif spec.design == "list":
        points = {a.name: np.array(a.values, dtype=float) for a in spec.axes}
    else:
        d = len(spec.axes)
        if spec.design == "lhs":
            unit = qmc.LatinHypercube(d=d, seed=spec.seed).random(spec.samples)
        else:
            unit = np.random.default_rng(spec.seed).random((spec.samples, d))
        points = {}
        for k, axis in enumerate(spec.axes):
            lo, hi = axis.bounds
            if axis.scale == "log":
                points[axis.name] = np.exp(np.log(lo) + unit[:, k] * (np.log(hi) - np.log(lo)))
            else:
                points[axis.name] = lo + unit[:, k] * (hi - lo)
    n = len(next(iter(points.values())))
    for name, value in spec.fixed.items():
        points[name] = np.full(n, value)
    return points
