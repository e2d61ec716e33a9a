"""Candidate surrogate models by label and their held-out scoring (split from :mod:`.fit`,
which selects among them): :func:`make_model`, :func:`holdout_split`, :func:`score_pct`."""

from __future__ import annotations

import re
from typing import Sequence

import numpy as np

from .errors import SurrogateError
from .models import MLP, GaussianProcess, GridInterpolator, PolynomialRidge, SurrogateModel

__all__ = ["DEFAULT_HOLDOUT_FRACTION", "holdout_split", "make_model", "score_pct"]

#: fraction of points held out for non-grid sweeps with ``holdout="auto"``
DEFAULT_HOLDOUT_FRACTION = 0.2


def make_model(spec: str | SurrogateModel) -> SurrogateModel:
    """An unfitted model from a label, or a fresh clone of a model instance.

    Labels: ``"grid-linear"``, ``"grid-cubic"``, ``"poly-<degree>"`` (ridge alpha 1e-8),
    ``"gp"`` / ``"gp-matern"`` (Matern 5/2, <= 800 points), ``"gp-rbf"``, ``"mlp"``
    (32x32 tanh, L-BFGS, <= 2000 points) or ``"mlp-<n1>x<n2>..."``.
    """
    if isinstance(spec, SurrogateModel):
        return spec.clone()
    if not isinstance(spec, str):
        raise SurrogateError(f"model spec must be a label or a model instance, got {type(spec).__name__}")
    label = spec.strip().lower()
    if label in ("grid-linear", "grid-cubic"):
        return GridInterpolator(method=label.split("-")[1])
    if m := re.fullmatch(r"poly-(\d+)", label):
        return PolynomialRidge(degree=int(m.group(1)))
    if label in ("gp", "gp-matern", "gp-matern2.5"):
        return GaussianProcess()
    if label == "gp-rbf":
        return GaussianProcess(kernel="rbf")
    if label == "mlp":
        return MLP()
    if m := re.fullmatch(r"mlp-(\d+(?:x\d+)*)", label):
        return MLP(hidden_layer_sizes=tuple(int(s) for s in m.group(1).split("x")))
    raise SurrogateError(
        f"unknown model {spec!r}: use grid-linear, grid-cubic, poly-<degree>, gp, gp-rbf, mlp or mlp-<n>x<n>"
    )


def _cost_rank(model: SurrogateModel) -> tuple:
    """Evaluation cost order used with ``tolerance_pct`` (cheapest first)."""
    if isinstance(model, GridInterpolator):
        return (0, 0) if model.method == "linear" else (2, 0)
    if isinstance(model, PolynomialRidge):
        return (1, model.degree)
    if isinstance(model, MLP):
        return (3, sum(model.hidden_layer_sizes))
    return (4, 0)


def score_pct(pred: np.ndarray, truth: np.ndarray, full_scale: float) -> tuple[float, float]:
    """(RMS, max) of ``|pred - truth|`` as % of ``full_scale``."""
    err = np.abs(np.asarray(pred, dtype=np.float64) - np.asarray(truth, dtype=np.float64))
    return float(100 * np.sqrt(np.mean(err**2)) / full_scale), float(100 * np.max(err) / full_scale)


def _full_scale(y: np.ndarray) -> float:
    span = float(np.max(y) - np.min(y))
    if span > 0:
        return span
    peak = float(np.max(np.abs(y)))
    return peak if peak > 0 else 1.0


def holdout_split(
    X: np.ndarray,
    holdout: str | float = "auto",
    *,
    grid: Sequence[np.ndarray] | None = None,
    random_state: int = 0,
) -> tuple[np.ndarray, np.ndarray, str]:
    """Boolean masks ``(train, validate)`` over the rows of ``X: (n, n_inputs)`` and a
    one-line description of the split (see the module docstring)."""
    n, d = X.shape
    if holdout == "auto":
        planes_possible = grid is not None and any(np.asarray(a).size >= 3 for a in grid)
        holdout = "planes" if planes_possible else DEFAULT_HOLDOUT_FRACTION
    if holdout == "planes":
        if grid is None:
            raise SurrogateError("holdout='planes' needs a grid sweep")
        keep_axes = []
        train = np.ones(n, dtype=bool)
        shape = []
        for j, axis in enumerate(grid):
            axis = np.sort(np.asarray(axis, dtype=np.float64))
            hi = np.clip(np.searchsorted(axis, X[:, j]), 1, axis.size - 1) if axis.size > 1 else np.zeros(n, int)
            lo = np.maximum(hi - 1, 0)
            idx = np.where(np.abs(axis[lo] - X[:, j]) <= np.abs(axis[hi] - X[:, j]), lo, hi)  # nearest node
            tol = 1e-9 * (float(np.min(np.diff(axis))) if axis.size > 1 else max(abs(float(axis[0])), 1.0))
            if np.any(np.abs(axis[idx] - X[:, j]) > tol):
                raise SurrogateError(f"input {j}: points lie off the grid axis; cannot hold out grid planes")
            keep = np.zeros(axis.size, dtype=bool)
            if axis.size >= 3:
                keep[::2] = True
                keep[-1] = True
            else:
                keep[:] = True
            keep_axes.append(keep)
            shape.append(f"{int(keep.sum())}/{axis.size}")
            train &= keep[idx]
        validate = ~train
        if not validate.any():
            raise SurrogateError("holdout='planes': no axis has 3 or more values, nothing to hold out")
        text = (
            f"held-out grid planes: candidates fitted on the coarse grid ({' x '.join(shape)} planes kept, "
            f"{int(train.sum())} points) and scored on the {int(validate.sum())} points between its planes; "
            "the chosen model is then refitted on all points (its error on a twice finer grid is lower)"
        )
        return train, validate, text
    try:
        frac = float(holdout)
    except (TypeError, ValueError):
        raise SurrogateError(f"holdout must be 'auto', 'planes' or a fraction in (0, 1), got {holdout!r}") from None
    if not 0 < frac < 1:
        raise SurrogateError(f"holdout fraction must be in (0, 1), got {frac}")
    extreme = np.any((X == X.min(axis=0)) | (X == X.max(axis=0)), axis=1)
    pool = np.flatnonzero(~extreme)
    n_val = min(int(round(frac * n)), pool.size)
    if n_val < 1:
        raise SurrogateError(f"holdout {frac}: too few interior points ({pool.size}) to hold any out")
    rng = np.random.default_rng(random_state)
    validate = np.zeros(n, dtype=bool)
    validate[rng.choice(pool, size=n_val, replace=False)] = True
    text = (
        f"random hold-out: {n_val} interior points ({frac:.0%}) scored, candidates fitted on the other "
        f"{n - n_val}; the chosen model is then refitted on all points"
    )
    return ~validate, validate, text
