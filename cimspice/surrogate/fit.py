"""Sweep file -> fitted, validated surrogates, with automatic model selection.

For every output, each candidate model family is fitted on a training subset and scored
on held-out points that are *off* the training points' grid:

* a grid sweep (``holdout="auto"`` or ``"planes"``): along every axis with >= 3 values,
  every other grid plane is held out (the first and last planes are always kept, so the
  held-out points lie inside the training domain). Candidates are fitted on the coarser
  grid that remains and scored on all other points, which lie between its planes. This
  is conservative for the final model, refitted on the full (twice finer) grid;
* a Monte Carlo sweep (``holdout="auto"`` or a fraction): a random fraction of its samples
  (device instances, drawn parameters as inputs) is held out, each at every condition, but
  none holding a smallest or largest draw (docs/surrogates.md, "Monte Carlo sweeps");
* any other design (``holdout="auto"`` or a fraction such as ``0.2``): a random fraction
  of the points not at an input's minimum or maximum is held out;
* ``validation_sweep_path``: a separate sweep (e.g. ``design="lhs"`` points run for
  validation) scores models fitted on all points of the main sweep; validation points
  outside the training domain are left out (and counted).

Scores are the RMS and maximum absolute error as a percentage of the output's full scale
(max - min of the output over the training sweep's usable points). The best candidate
(lowest RMS; or, with ``tolerance_pct``, the cheapest to evaluate whose max error is
within it) is refitted on all points; every candidate's score is kept in the surrogate.

:func:`fit_surrogates` runs named steps: :func:`_resolve_inputs` (the request against the
sweep) and :func:`_resolve_output` (one output's points and name), then for each output
(:func:`_fit_output`) :func:`_split`, :func:`~.selection.score_candidates` and
:func:`~.selection.select_candidate` (in :mod:`.selection`, with the candidates by label and
the held-out split), and :func:`_refit`.
"""

from __future__ import annotations

import datetime as _dt
import json
import logging
import warnings
from collections.abc import Iterable, Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .. import __version__
from .accuracy import ACCURACY_WARNING_PCT, accuracy_warning, check_tolerances
from .core import SCALES, Surrogate
from .errors import SurrogateError, one_line
from .models import SurrogateModel
from .progress import FitProgress
from .selection import (
    FIT_ERRORS,
    Split,
    _full_scale,
    holdout_split,
    make_model,
    score_candidates,
    score_pct,
    select_candidate,
)
from .sweep import SweepData, read_sweep

__all__ = ["ACCURACY_WARNING_PCT", "CORNER_SEPARATOR", "DEFAULT_MODELS", "FIT_VERSION", "fit_surrogates",
           "holdout_split", "fit_steps", "incomplete_notes", "make_model", "score_pct"]

log = logging.getLogger(__name__)

#: candidate families tried by default (see :func:`make_model` for the labels)
DEFAULT_MODELS = ("grid-linear", "grid-cubic", "poly-4", "poly-6", "gp", "mlp")
#: joins a surrogate's name and its process corner: ``strongarm.delay@ss``
CORNER_SEPARATOR = "@"
#: version of what :func:`fit_surrogates` makes of a given sweep: raise it with any change
#: that fits, scores or selects differently (families, their settings, full scale, the
#: selection rule), so that ``cimspice library build`` refits every block (its fingerprint
#: includes this number)
FIT_VERSION = 1


def _resolve_scales(sweep: SweepData, names: list[str], override, what: str, from_file: bool) -> dict[str, str]:
    override = dict(override or {})
    unknown = set(override) - set(names)
    if unknown and what == "input_scales":
        raise SurrogateError(f"{what}: unknown name(s) {sorted(unknown)} (known: {names})")
    scales = {}
    for n in names:
        scale = override.get(n, sweep.input_scales.get(n, "linear") if from_file else "linear")
        if scale not in SCALES:
            raise SurrogateError(f"{what}[{n!r}]: scale must be one of {SCALES}, got {scale!r}")
        scales[n] = scale
    return scales


def _check_log_inputs(sweep: SweepData, scales: dict[str, str]) -> None:
    """Refuse a log scale on an input with values <= 0 (its log10 does not exist)."""
    for n, scale in scales.items():
        low = float(np.min(sweep.inputs[n]))
        if scale == "log" and low <= 0:
            raise SurrogateError(f"{sweep.label}: input {n!r} has values down to {low:g} and cannot be log-scaled "
                                 f"(fit it linear: --input-scale {n}=linear)")


def fit_surrogates(
    sweep_path: str | Path | SweepData,
    outputs: str | Sequence[str] | None = None,
    models: Iterable[str | SurrogateModel] | None = None,
    holdout: str | float = "auto",
    *,
    validation_sweep_path: str | Path | SweepData | None = None,
    input_scales: dict[str, str] | None = None,
    output_scales: dict[str, str] | None = None,
    tolerance_pct: float | None = None,
    abs_tolerance: Mapping[str, float] | None = None,
    random_state: int = 0,
    name_template: str = "{circuit}.{output}",
    progress: bool | None | FitProgress = False,
) -> dict[str, Surrogate]:
    """Fit, score and select one surrogate per output of a sweep.

    Parameters
    ----------
    sweep_path : path of a ``cimspice.sweep`` file (or a :class:`SweepData`)
    outputs : output name(s); all outputs of the sweep by default
    models : candidate labels (see :func:`make_model`) or model instances;
        :data:`DEFAULT_MODELS` by default
    holdout : "auto", "planes" or a fraction in (0, 1); see the module docstring.
        Ignored when ``validation_sweep_path`` is given.
    validation_sweep_path : optional separate sweep whose points score the candidates
    input_scales : name -> "linear" | "log"; defaults to each input's ``scale`` attribute
    output_scales : name -> "linear" | "log"; default "linear" ("log" needs values > 0)
    tolerance_pct : if given, choose the cheapest-to-evaluate candidate (grid-linear,
        polynomial, grid-cubic, MLP, GP, in that order) whose held-out max error is
        <= this % of full scale; if none is, the lowest-RMS one (with a log warning)
    abs_tolerance : output name -> an absolute error (in the output's unit) that does not
        matter where the output is used: its surrogate is flagged (``validation["warning"]``)
        only when its held-out RMS error is above both :data:`ACCURACY_WARNING_PCT` and
        this, and records it (``provenance["abs_tolerance"]``). It changes no fit or choice.
    random_state : seed for hold-out sampling and the stochastic models
    name_template : surrogate name, formatted with ``circuit``, ``output`` and ``corner``;
        without ``{corner}`` a corner sweep's names get ``@<corner>`` appended
    progress : a tqdm bar on stderr, one step per candidate fitted (and per refit), naming
        the surrogate and family being fitted: True, False (default), None (only on a
        terminal), or a :class:`~.progress.FitProgress` shared by several calls

    A sweep over process corners (``/inputs/corner``) gives one surrogate per output and
    corner, ``{circuit}.{output}@{corner}`` (e.g. ``strongarm.delay@ss``), each fitted,
    scored and selected on that corner's points only; a validation sweep must then run the
    same corners. The corner is recorded in ``provenance["corner"]``.

    An interrupted sweep (``complete`` false, or points pending) is fitted on the points it
    has, with a log warning, and every surrogate records it in ``incomplete_sweep``
    (:func:`fit_library`, and so ``cimspice fit``, refuses it unless told otherwise).

    Returns
    -------
    dict name -> Surrogate, each with ``validation``, ``candidates`` and ``provenance``.
    Inputs that take a single value in the sweep are left out of the surrogates (and
    listed in ``provenance["fixed_inputs"]``).
    """
    sweep = sweep_path if isinstance(sweep_path, SweepData) else read_sweep(sweep_path)
    vsweep = None
    if validation_sweep_path is not None:
        vsweep = (validation_sweep_path if isinstance(validation_sweep_path, SweepData)
                  else read_sweep(validation_sweep_path))
    unfinished = incomplete_notes(sweep, validation=vsweep)
    if unfinished and not sweep.attrs.get("corner"):  # once per file, not again for each of its corners
        log.warning("fitting on an incomplete sweep: %s", unfinished)
    if models is not None:
        models = list(models)  # an iterator would be spent on the first output
    with (nullcontext(progress) if isinstance(progress, FitProgress)
          else FitProgress(fit_steps(sweep, vsweep, outputs, models), progress)) as bar:
        if sweep.corner is not None or (vsweep is not None and vsweep.corner is not None):
            return _fit_per_corner(
                sweep, vsweep, outputs=outputs, models=models, holdout=holdout, input_scales=input_scales,
                output_scales=output_scales, tolerance_pct=tolerance_pct, abs_tolerance=abs_tolerance,
                random_state=random_state, name_template=name_template, progress=bar,
            )
        request = _resolve_inputs(sweep, vsweep, outputs, models, tolerance_pct, input_scales, output_scales,
                                  abs_tolerance)
        X_all = sweep.X(request.inputs)
        result: dict[str, Surrogate] = {}
        for output in request.outputs:
            target = _resolve_output(sweep, request, output, X_all, name_template)
            result[target.name] = _fit_output(sweep, vsweep, request, target, holdout=holdout,
                                              tolerance_pct=tolerance_pct, random_state=random_state, progress=bar)
            result[target.name].incomplete_sweep = unfinished
        return result


def fit_steps(sweep: SweepData, vsweep: SweepData | None, outputs, models) -> int:
    """The progress steps of :func:`fit_surrogates` on ``sweep``: one per candidate family
    per output and corner, and one more for the refit when there is no validation sweep."""
    n_outputs = 1 if isinstance(outputs, str) else len(outputs if outputs is not None else sweep.output_names)
    n_models = len(models if models is not None else DEFAULT_MODELS)
    return n_outputs * max(1, len(sweep.corners)) * (n_models + (vsweep is None))


def _fit_output(sweep: SweepData, vsweep: SweepData | None, request: _Request, target: _Target, *, holdout,
                tolerance_pct: float | None, random_state: int, progress: FitProgress) -> Surrogate:
    """One output's surrogate through the steps after :func:`_resolve_output`: split, score
    the candidates, select one, refit it, and record how it was chosen."""
    split = _split(sweep, vsweep, request, target, holdout, random_state)
    log.info("%s: %s", target.name, split.method)
    candidates, fitted = score_candidates(request.specs, lambda spec: target.new_surrogate(spec, random_state), split,
                                          target.full_scale, target.name, progress)
    if not any(c["status"] == "ok" for c in candidates):
        reasons = "; ".join(f"{c['label']}: {c.get('reason', '')}" for c in candidates)
        raise SurrogateError(f"{sweep.label}: no candidate model could be fitted for {target.output!r} ({reasons})")
    best, selection = select_candidate(candidates, fitted, tolerance_pct, target.name)
    final = fitted[best]
    if split.refit:
        progress.start(target.name, f"refit {candidates[best]['label']}")
        final = _refit(sweep, target, request.specs[best], candidates[best]["label"], random_state)
        progress.done()
    _record(final, target, split, candidates, best, request.in_scales)
    final.heldout = {"truth": split.y_val, "pred": fitted[best].predict(split.X_val, out_of_domain="error"),
                     "method": split.method}
    final.provenance = _provenance(sweep, vsweep, request.fixed, selection, int(target.y.size))
    if target.corner:
        final.provenance["corner"] = target.corner
    if target.tolerance is not None:
        final.provenance["abs_tolerance"] = target.tolerance
    return final


@dataclass
class _Request:
    """What the fits of every output of one sweep share (:func:`_resolve_inputs`)."""

    specs: list                  # candidate labels or model instances
    outputs: list[str]
    inputs: list[str]            # the inputs that vary: the surrogates' inputs, in column order
    fixed: dict[str, float]      # inputs constant in the sweep -> their value (left out of the surrogates)
    in_scales: dict[str, str]    # input -> "linear" | "log"
    out_scales: dict[str, str]   # output -> "linear" | "log"
    tolerances: dict[str, float]  # output -> absolute tolerance, output units (``abs_tolerance``)


def _resolve_inputs(sweep: SweepData, vsweep: SweepData | None, outputs, models, tolerance_pct, input_scales,
                    output_scales, abs_tolerance=None) -> _Request:
    """Step 1: the request checked against the sweep (and the validation sweep) before any
    fit: candidate labels, output names, ``tolerance_pct``, ``abs_tolerance``, the inputs that
    vary (constant ones are left out), each input's and output's scale (a log scale needs values > 0),
    and the validation sweep's inputs (present, same units, fixed where the sweep's are).
    Every problem raises :class:`SurrogateError`."""
    specs = list(models) if models is not None else list(DEFAULT_MODELS)
    if not specs:
        raise SurrogateError("fit_surrogates: no candidate models")
    for spec in specs:
        make_model(spec)  # fail early on a bad label
    if outputs is None:
        outputs = sweep.output_names
    elif isinstance(outputs, str):
        outputs = [outputs]
    missing = [o for o in outputs if o not in sweep.outputs]
    if missing:
        raise SurrogateError(f"{sweep.label}: no output(s) {missing} (has {sweep.output_names})")
    if tolerance_pct is not None and not tolerance_pct > 0:
        raise SurrogateError(f"tolerance_pct must be > 0, got {tolerance_pct!r}")
    tolerances = check_tolerances(sweep.label, sweep.output_names, abs_tolerance)

    # Inputs that never vary are constants of this sweep, not inputs of a surrogate.
    fixed = {n: float(sweep.inputs[n][0]) for n in sweep.input_names if np.unique(sweep.inputs[n]).size == 1}
    inputs = [n for n in sweep.input_names if n not in fixed]
    if not inputs:
        raise SurrogateError(f"{sweep.label}: every input is constant; nothing to model")
    if fixed:
        log.info("inputs constant in the sweep, left out of the surrogates: %s", fixed)
    in_scales = _resolve_scales(sweep, inputs, {k: v for k, v in (input_scales or {}).items() if k not in fixed},
                                "input_scales", True)
    out_scales = _resolve_scales(sweep, list(outputs), output_scales, "output_scales", False)
    _check_log_inputs(sweep, in_scales)
    if vsweep is not None:
        _check_validation_inputs(sweep, vsweep, inputs, fixed)
    return _Request(specs, list(outputs), inputs, fixed, in_scales, out_scales, tolerances)


def _check_validation_inputs(sweep: SweepData, vsweep: SweepData, inputs: list[str], fixed: dict) -> None:
    """The validation sweep has every input the surrogates take, in the same units, and
    holds the training sweep's constant inputs at the same values."""
    vmissing = [n for n in inputs if n not in vsweep.inputs]
    if vmissing:
        raise SurrogateError(f"{vsweep.label}: validation sweep lacks input(s) {vmissing}")
    for n in inputs:
        if vsweep.input_units.get(n, "") != sweep.input_units.get(n, ""):
            raise SurrogateError(f"{vsweep.label}: input {n!r} in {vsweep.input_units.get(n)!r}, training sweep in "
                                 f"{sweep.input_units.get(n)!r}")
    for n, value in fixed.items():
        if n in vsweep.inputs and not np.allclose(vsweep.inputs[n], value):
            raise SurrogateError(f"{vsweep.label}: input {n!r} varies, but is fixed at {value} in the training sweep")


@dataclass
class _Target:
    """One output to model (:func:`_resolve_output`)."""

    output: str
    name: str                # library key
    corner: str              # process corner of the sweep, "" for none
    X: np.ndarray            # (n, n_inputs) the points with a finite output, physical units
    y: np.ndarray            # (n,) the output there, output units
    full_scale: float        # output units: the denominator of every %FS score
    inputs: list[str]
    args: dict               # the Surrogate's keyword arguments: units, scales, name, description
    groups: np.ndarray | None = None  # (n,) Monte Carlo sample of each point, None for other designs
    tolerance: float | None = None    # output units: an error that does not matter (``abs_tolerance``)

    def new_surrogate(self, spec, random_state: int) -> Surrogate:
        """An unfitted surrogate of this output on the model ``spec`` (a label, or a model
        instance cloned); a labelled stochastic model gets ``random_state``."""
        model = make_model(spec)
        if hasattr(model, "random_state") and not isinstance(spec, SurrogateModel):
            model.set_params(random_state=random_state)
        return Surrogate(model, self.inputs, self.output, **self.args)


def _resolve_output(sweep: SweepData, request: _Request, output: str, X_all: np.ndarray,
                    name_template: str) -> _Target:
    """Step 1, per output: the points where ``output`` is finite (at least 4; all > 0 for a
    log scale), its full scale, and the surrogate's name from ``name_template``."""
    y_all = sweep.outputs[output]
    ok = np.isfinite(y_all)
    if ok.sum() < 4:
        raise SurrogateError(f"{sweep.label}: output {output!r} has only {int(ok.sum())} finite values")
    X, y = X_all[ok], y_all[ok]
    if request.out_scales[output] == "log" and np.any(y <= 0):
        raise SurrogateError(f"{sweep.label}: output {output!r} has values <= 0 and cannot be log-scaled")
    corner = str(sweep.attrs.get("corner", "") or "")
    name = _surrogate_name(name_template, str(sweep.attrs.get("circuit", "") or ""), output, corner)
    args = dict(
        input_units=[sweep.input_units.get(n, "") for n in request.inputs],
        output_units=[sweep.output_units.get(output, "")],
        input_scales=[request.in_scales[n] for n in request.inputs],
        output_scales=[request.out_scales[output]],
        name=name,
        description=sweep.output_descriptions.get(output, ""),
    )
    groups = sweep.mc_sample[ok] if sweep.design == "montecarlo" and sweep.mc_sample is not None else None
    return _Target(output, name, corner, X, y, _full_scale(y), request.inputs, args, groups,
                   request.tolerances.get(output))


def _surrogate_name(name_template: str, circuit: str, output: str, corner: str) -> str:
    """``name_template`` filled with ``circuit``, ``output`` and ``corner``; without
    ``{corner}`` in it, a corner sweep's name gets ``@<corner>``."""
    try:
        name = name_template.format(circuit=circuit or "sweep", output=output, corner=corner).replace("/", "_")
    except (KeyError, IndexError, ValueError) as exc:
        raise SurrogateError(
            f"name_template {name_template!r}: use only {{circuit}}, {{output}} and {{corner}} ({exc})"
        ) from None
    if name.startswith("."):
        name = name.lstrip(".") or output
    if corner and "{corner}" not in name_template:
        name = f"{name}{CORNER_SEPARATOR}{corner}"
    return name


def _split(sweep: SweepData, vsweep: SweepData | None, request: _Request, target: _Target, holdout,
           random_state: int) -> Split:
    """Step 2: the points that fit the candidates and those that score them. With a
    validation sweep: all of the sweep's points, scored on the validation points inside
    their domain (no refit); else :func:`~.selection.holdout_split` of the sweep's points
    (grid planes or a random fraction), and the chosen candidate refitted on all of them."""
    X, y = target.X, target.y
    if vsweep is None:
        grid = [sweep.grid[n] for n in request.inputs] if sweep.design == "grid" and sweep.grid is not None else None
        try:
            train, validate, method = holdout_split(X, holdout, grid=grid, random_state=random_state,
                                                    names=request.inputs, groups=target.groups)
        except SurrogateError as exc:
            raise SurrogateError(f"{sweep.label}: {target.output}: {exc}") from None
        return Split(X[train], y[train], X[validate], y[validate], method, refit=True)
    if target.output not in vsweep.outputs:
        raise SurrogateError(f"{vsweep.label}: validation sweep lacks output {target.output!r}")
    Xv_all, yv_all = vsweep.X(request.inputs), vsweep.outputs[target.output]
    keep = np.isfinite(yv_all)
    inside = np.all((Xv_all >= X.min(axis=0)) & (Xv_all <= X.max(axis=0)), axis=1)
    n_outside = int((keep & ~inside).sum())
    X_val, y_val = Xv_all[keep & inside], yv_all[keep & inside]
    if y_val.size == 0:
        raise SurrogateError(f"{vsweep.label}: no validation point of {target.output!r} inside the training domain")
    method = (
        f"validation sweep {vsweep.path.name if vsweep.path else '<in-memory>'}: candidates fitted on all "
        f"{y.size} training points, scored on {y_val.size} validation points"
        + (f" ({n_outside} outside the training domain left out)" if n_outside else "")
    )
    return Split(X, y, X_val, y_val, method, refit=False)


def _refit(sweep: SweepData, target: _Target, spec, label: str, random_state: int) -> Surrogate:
    """Step 5: the chosen candidate (``spec``, shown as ``label``) fitted again on all of the
    output's points."""
    final = target.new_surrogate(spec, random_state)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            final.fit(target.X, target.y)
        except FIT_ERRORS as exc:
            raise SurrogateError(
                f"{sweep.label}: refitting {label} for {target.output!r} on all points failed: {one_line(exc)}"
            ) from None
    return final


def _record(final: Surrogate, target: _Target, split: Split, candidates: list[dict], best: int,
            in_scales: dict[str, str]) -> None:
    """What the surrogate keeps of its selection: the chosen candidate's held-out scores (and
    a warning when they are too large to trust) and every candidate's record."""
    chosen = candidates[best]
    final.validation = {
        "rms_pct": np.array([chosen["rms_pct"]]),
        "max_pct": np.array([chosen["max_pct"]]),
        "full_scale": np.array([target.full_scale]),
        "n_points": int(split.y_val.size),
        "method": split.method,
    }
    warning = accuracy_warning(chosen, in_scales, target.full_scale, target.args["output_units"][0],
                               target.tolerance, target.name)
    if warning:
        final.validation["warning"] = warning
        log.warning("%s: %s", target.name, warning)
    final.candidates = candidates


def _fit_per_corner(sweep: SweepData, vsweep: SweepData | None, **kwargs) -> dict[str, Surrogate]:
    """One surrogate per output *and corner*: the NLDM-table convention (one table per
    process corner; voltages and temperature are the table's axes). A corner is a
    category, not a number between ``ff`` and ``ss``, so it is never an input."""
    if sweep.corner is None:
        raise SurrogateError(
            f"{vsweep.label}: the validation sweep ran corners {vsweep.corner_labels} but the training sweep "
            f"{sweep.label} did not; give both sweeps the same 'corners:'"
        )
    if vsweep is not None and vsweep.corner is None:
        raise SurrogateError(
            f"{vsweep.label}: the validation sweep has no corners but the training sweep {sweep.label} ran "
            f"{sweep.corner_labels}; run the validation sweep with the same 'corners:' so each corner's "
            "surrogate is scored on its own corner's points"
        )
    missing = [c for c in sweep.corner_labels if c not in sweep.corners]
    if missing:
        log.warning("%s: no usable point at corner(s) %s; no surrogate for them", sweep.label, missing)
    result: dict[str, Surrogate] = {}
    for corner in sweep.corners:
        vsub = None if vsweep is None else vsweep.select_corner(corner)
        log.info("%s: fitting corner %s", sweep.label, corner)
        fitted = fit_surrogates(sweep.select_corner(corner), validation_sweep_path=vsub, **kwargs)
        for name, s in fitted.items():
            s.provenance["corners"] = json.dumps(sweep.corner_labels)
            s.incomplete_sweep = incomplete_notes(sweep, validation=vsweep)  # the whole file's counts, not one corner's
            result[name] = s
    return result


def _unfinished(data: SweepData, what: str = "sweep") -> str:
    if data.complete and data.n_pending == 0:
        return ""
    n, pending = data.n_planned, data.n_pending
    return f"{data.label}: interrupted {what}, {n - pending} of {n} points run ({pending} pending)"


def incomplete_notes(*sweeps: SweepData, validation: SweepData | None = None) -> str:
    """``""`` when every sweep (and the validation sweep) finished; else the unfinished
    ones, each naming its file and counts (``a.h5: interrupted sweep, 100 of 400 points run
    (300 pending)``), joined by "; "."""
    notes = [_unfinished(data) for data in sweeps]
    if validation is not None:
        notes.append(_unfinished(validation, "validation sweep"))
    return "; ".join(note for note in notes if note)


def _provenance(sweep: SweepData, vsweep: SweepData | None, fixed: dict, selection: str, n_used: int) -> dict[str, Any]:
    import sklearn

    p: dict[str, Any] = {
        "source_sweep": sweep.path.name if sweep.path else "<in-memory>",
        "source_sweep_path": str(sweep.path) if sweep.path else "",
        "source_sweep_sha256": sweep.sha256,
        "source_design": sweep.design,
        "source_points_used": n_used,
        "source_points_planned": int(sweep.n_planned),
        "source_complete": bool(sweep.complete),
        "selection": selection,
        "cimspice_version": __version__,
        "sklearn_version": sklearn.__version__,
        "numpy_version": np.__version__,
        "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "fixed_inputs": json.dumps({n: [v, sweep.input_units.get(n, "")] for n, v in fixed.items()}),
    }
    for key in ("circuit", "netlist_sha256", "cimspice_version", "ngspice_version", "pyspice_version", "created"):
        if key in sweep.attrs:
            p[f"source_{key}"] = str(sweep.attrs[key])
    if vsweep is not None:
        p["validation_sweep"] = vsweep.path.name if vsweep.path else "<in-memory>"
        p["validation_sweep_sha256"] = vsweep.sha256
    return p
