"""Candidate surrogate models: made by label (:func:`make_model`), scored on held-out points
(:func:`holdout_split`, :func:`score_candidates`, :func:`score_pct`), and one chosen
(:func:`select_candidate`). :func:`cimspice.surrogate.fit.fit_surrogates` runs these steps."""

from __future__ import annotations

import json
import logging
import re
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .core import Surrogate
from .errors import SurrogateError, one_line
from .models import MLP, GaussianProcess, GridInterpolator, PolynomialRidge, SurrogateModel
from .progress import FitProgress

__all__ = ["DEFAULT_HOLDOUT_FRACTION", "FIT_ERRORS", "Split", "holdout_split", "make_model", "score_candidates",
           "score_pct", "select_candidate"]

log = logging.getLogger(__name__)

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


#: what a candidate's fit or prediction may raise: the candidate fails, the others go on
FIT_ERRORS = (SurrogateError, ValueError, ArithmeticError, np.linalg.LinAlgError, MemoryError)


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
    names: Sequence[str] | None = None,
    groups: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, str]:
    """Boolean masks ``(train, validate)`` over the rows of ``X: (n, n_inputs)`` and a
    one-line description of the split (see the module docstring).

    ``names`` (one per column) name the inputs in messages. ``groups: (n,)`` int, the Monte
    Carlo sample (device instance) of each row: a fraction of whole samples is held out
    (:func:`_sample_split`) instead of a fraction of points."""
    n, d = X.shape
    names = list(names) if names is not None else [f"input {j}" for j in range(d)]
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
            raise SurrogateError(f"holdout='planes': {_no_interior_point(X, names, True)}")
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
    rng = np.random.default_rng(random_state)
    if groups is not None:
        return _sample_split(X, frac, np.asarray(groups), rng)
    extreme = np.any((X == X.min(axis=0)) | (X == X.max(axis=0)), axis=1)
    pool = np.flatnonzero(~extreme)
    n_val = min(int(round(frac * n)), pool.size)
    if n_val < 1:
        raise SurrogateError(_no_interior_point(X, names, grid is not None))
    validate = np.zeros(n, dtype=bool)
    validate[rng.choice(pool, size=n_val, replace=False)] = True
    text = (
        f"random hold-out: {n_val} interior points ({frac:.0%}) scored, candidates fitted on the other "
        f"{n - n_val}; the chosen model is then refitted on all points"
    )
    return ~validate, validate, text


def _no_interior_point(X: np.ndarray, names: list[str], is_grid: bool) -> str:
    """Why no point of ``X`` can be held out, in plain words, and what to do: each point
    lies at the minimum or maximum of some input, so leaving it out would shrink the
    domain the candidates are fitted on."""
    counts = [int(np.unique(X[:, j]).size) for j in range(X.shape[1])]
    few = [(name, k) for name, k in zip(names, counts) if k < 3]
    what = ("grid axis", "grid axes") if is_grid else ("input", "inputs")
    if len(few) == 1:
        which = f"{what[0]} {few[0][0]} has {few[0][1]} value{'s' * (few[0][1] != 1)}"
    else:
        which = f"{what[1]} " + ", ".join(f"{name} ({k} values)" for name, k in few) + " have fewer than 3 values"
    if few:
        return (f"no point can be held out to score the candidates: {which}, so every point lies at an end of "
                f"the swept range; holding points out needs a {what[0]} with >= 3 values: sweep one with "
                "num >= 3, fix an input that need not vary (a constant input is left out of the surrogate), or "
                "score on a separate off-grid sweep (--validation)")
    return (f"no point can be held out to score the candidates: each of the {X.shape[0]} points lies at the "
            "minimum or maximum of some input: sweep more points, or score on a separate off-grid sweep "
            "(--validation)")


def _sample_split(X: np.ndarray, frac: float, groups: np.ndarray,
                  rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, str]:
    """Hold out a fraction ``frac`` of whole Monte Carlo samples (``groups: (n,)``, the
    sample of each row of ``X``): the candidates are scored on device instances they never
    saw, at every condition of the grid. A sample holding the smallest or largest draw of
    some parameter stays in training (the draws bound the surrogate's domain)."""
    labels, which = np.unique(groups, return_inverse=True)
    lo = np.full((labels.size, X.shape[1]), np.inf)
    hi = np.full((labels.size, X.shape[1]), -np.inf)
    np.minimum.at(lo, which, X)
    np.maximum.at(hi, which, X)
    drawn = np.all(lo == hi, axis=0)  # a draw is constant within a sample; a condition varies
    edge = np.any((lo[:, drawn] == X[:, drawn].min(axis=0)) | (hi[:, drawn] == X[:, drawn].max(axis=0)), axis=1)
    pool = np.flatnonzero(~edge)
    n_val = min(int(round(frac * labels.size)), pool.size)
    if n_val < 1:
        raise SurrogateError(
            f"Monte Carlo sweep of {labels.size} samples: no sample can be held out to score the candidates "
            f"({labels.size - pool.size} hold the smallest or largest draw of a parameter and bound the domain): "
            "run more samples, or score on a separate Monte Carlo sweep (--validation)")
    validate = np.isin(which, rng.choice(pool, size=n_val, replace=False))
    # a failed point may leave a held-out one outside the training points' box: not scorable
    validate &= np.all((X >= X[~validate].min(axis=0)) & (X <= X[~validate].max(axis=0)), axis=1)
    text = (f"held-out Monte Carlo samples: candidates fitted on {labels.size - n_val} of {labels.size} device "
            f"instances ({int((~validate).sum())} points) and scored on the other {n_val} at every condition "
            f"({int(validate.sum())} points); the chosen model is then refitted on all points")
    return ~validate, validate, text


@dataclass
class Split:
    """The points of one output that fit (``X_train`` (n, n_inputs), ``y_train`` (n,)) and
    score (``X_val``, ``y_val``) the candidates, physical units; ``method`` describes the
    split in one line; ``refit``: the chosen candidate is then fitted again on all points."""

    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    method: str
    refit: bool


def score_candidates(specs: Sequence, new_surrogate: Callable[[Any], Surrogate], split: Split,
                     full_scale: float, name: str,
                     progress: FitProgress | None = None) -> tuple[list[dict[str, Any]], list[Surrogate | None]]:
    """Fit every candidate (``new_surrogate(spec)`` for each label or model of ``specs``) on
    the training points and score it on the held-out ones: RMS and max error in % of
    ``full_scale`` (output units), fit time and prediction rate.

    Returns one record per candidate (``label``, ``kind``, ``params``, ``n_train``,
    ``n_validation``, ``status`` "ok" or "failed" with a ``reason``, ``rms_pct``,
    ``max_pct``, ``fit_time_s``, ``predict_rate_per_s``, ``warnings``) and the fitted
    surrogates (None where the candidate failed). ``progress`` shows each family as it is
    fitted, one step per candidate."""
    candidates: list[dict[str, Any]] = []
    fitted: list[Surrogate | None] = []
    for spec in specs:
        surrogate = new_surrogate(spec)
        if progress is not None:
            progress.start(name, surrogate.model.label)
        record, ok = _score(surrogate, split, full_scale, name)
        if progress is not None:
            progress.done()
        candidates.append(record)
        fitted.append(surrogate if ok else None)
    return candidates, fitted


def _score(surrogate: Surrogate, split: Split, full_scale: float, name: str) -> tuple[dict[str, Any], bool]:
    """One candidate of :func:`score_candidates`: its record, and whether it scored."""
    model = surrogate.model
    record: dict[str, Any] = {"label": model.label, "kind": model.kind, "params": json.dumps(model.get_params()),
                              "n_train": int(split.y_train.size), "n_validation": int(split.y_val.size)}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        t0 = time.perf_counter()
        try:
            surrogate.fit(split.X_train, split.y_train)
            record["fit_time_s"] = time.perf_counter() - t0
            t1 = time.perf_counter()
            pred = surrogate.predict(split.X_val, out_of_domain="error")
            elapsed = time.perf_counter() - t1
        except FIT_ERRORS as exc:
            record.update(status="failed", reason=f"{type(exc).__name__}: {one_line(exc)}"[:300])
            record.setdefault("fit_time_s", time.perf_counter() - t0)
            log.info("%s: %-12s failed: %s", name, model.label, record["reason"])
            return record, False
    if caught:
        record["warnings"] = f"{len(caught)} warning(s), first: {one_line(caught[0].message)}"[:300]
    rms, mx = score_pct(pred, split.y_val, full_scale)
    if not (np.isfinite(rms) and np.isfinite(mx)):
        record.update(status="failed", reason="non-finite predictions on the held-out points")
        return record, False
    record.update(status="ok", rms_pct=rms, max_pct=mx, predict_rate_per_s=split.y_val.size / max(elapsed, 1e-9))
    log.info("%s: %-12s RMS %.4g %%FS, max %.4g %%FS, fit %.3g s", name, model.label, rms, mx, record["fit_time_s"])
    return record, True


def select_candidate(candidates: list[dict[str, Any]], fitted: list[Surrogate | None], tolerance_pct: float | None,
                     name: str) -> tuple[int, str]:
    """The index of the chosen candidate and why (one line): the lowest held-out RMS error
    (ties: the lower max error), or with ``tolerance_pct`` the cheapest to evaluate whose
    held-out max error is within it (if none is, the lowest RMS, with a log warning). Marks
    each record ``selected``. At least one candidate has status "ok"."""
    ok_idx = [i for i, c in enumerate(candidates) if c["status"] == "ok"]
    best = min(ok_idx, key=lambda i: (candidates[i]["rms_pct"], candidates[i]["max_pct"]))
    selection = "lowest held-out RMS error"
    if tolerance_pct is not None:
        within = [i for i in ok_idx if candidates[i]["max_pct"] <= tolerance_pct]
        if within:
            best = min(within, key=lambda i: (_cost_rank(fitted[i].model), candidates[i]["rms_pct"]))
            selection = f"cheapest to evaluate with held-out max error <= {tolerance_pct:g} %FS"
        else:
            selection = f"lowest held-out RMS error (no candidate within max {tolerance_pct:g} %FS)"
            log.warning("%s: no candidate has max error <= %g %%FS; choosing the lowest RMS", name, tolerance_pct)
    for i, c in enumerate(candidates):
        c["selected"] = i == best
    log.info("%s: chose %s (%s)", name, candidates[best]["label"], selection)
    return best, selection
