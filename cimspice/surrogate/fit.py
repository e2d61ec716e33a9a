"""Sweep file -> fitted, validated surrogates, with automatic model selection.

For every output, each candidate model family is fitted on a training subset and scored
on held-out points that are *off* the training points' grid:

* a grid sweep (``holdout="auto"`` or ``"planes"``): along every axis with >= 3 values,
  every other grid plane is held out (the first and last planes are always kept, so the
  held-out points lie inside the training domain). Candidates are fitted on the coarser
  grid that remains and scored on all other points, which lie between its planes. This
  is conservative for the final model, refitted on the full (twice finer) grid;
* any other design (``holdout="auto"`` or a fraction such as ``0.2``): a random fraction
  of the points not at an input's minimum or maximum is held out;
* ``validation_sweep_path``: a separate sweep (e.g. ``design="lhs"`` points run for
  validation) scores models fitted on all points of the main sweep; validation points
  outside the training domain are left out (and counted).

Scores are the RMS and maximum absolute error as a percentage of the output's full scale
(max - min of the output over the training sweep's usable points). The best candidate
(lowest RMS; or, with ``tolerance_pct``, the cheapest to evaluate whose max error is
within it) is refitted on all points; every candidate's score is kept in the surrogate.
The candidates by label and the held-out split live in :mod:`.selection`.
"""

from __future__ import annotations

import datetime as _dt
import json
import logging
import time
import warnings
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from .. import __version__
from .core import SCALES, Surrogate
from .errors import SurrogateError, one_line
from .models import SurrogateModel
from .selection import _cost_rank, _full_scale, holdout_split, make_model, score_pct
from .sweep import SweepData, read_sweep

__all__ = ["CORNER_SEPARATOR", "DEFAULT_MODELS", "fit_library", "fit_surrogates", "holdout_split", "incomplete_notes",
           "make_model", "score_pct"]

log = logging.getLogger(__name__)

#: candidate families tried by default (see :func:`make_model` for the labels)
DEFAULT_MODELS = ("grid-linear", "grid-cubic", "poly-4", "poly-6", "gp", "mlp")
#: joins a surrogate's name and its process corner: ``strongarm.delay@ss``
CORNER_SEPARATOR = "@"
#: held-out RMS error (%FS) above which a fit is flagged: the target for the read-out
#: circuits' figures of merit (docs/surrogates.md, issue 7), which every family tried there
#: meets; a log axis fitted as linear was at 5-290 % (issue 15)
ACCURACY_WARNING_PCT = 1.0


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


def _accuracy_warning(candidate: dict[str, Any], scales: dict[str, str]) -> str:
    """The warning stored with a surrogate whose held-out RMS error is above
    :data:`ACCURACY_WARNING_PCT` ("" when it is not)."""
    if not candidate["rms_pct"] > ACCURACY_WARNING_PCT:
        return ""
    fitted_as = ", ".join(f"{n} {s}" for n, s in scales.items())
    return (f"held-out RMS error {candidate['rms_pct']:.3g} %FS (max {candidate['max_pct']:.3g} %FS) of "
            f"{candidate['label']} is above {ACCURACY_WARNING_PCT:g} %FS; inputs fitted as: {fitted_as}; an input "
            f"spanning decades may need --input-scale NAME=log, or the sweep more points")


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
    random_state: int = 0,
    name_template: str = "{circuit}.{output}",
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
    random_state : seed for hold-out sampling and the stochastic models
    name_template : surrogate name, formatted with ``circuit``, ``output`` and ``corner``;
        without ``{corner}`` a corner sweep's names get ``@<corner>`` appended

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
        vsweep = validation_sweep_path if isinstance(validation_sweep_path, SweepData) else read_sweep(validation_sweep_path)
    unfinished = incomplete_notes(sweep, validation=vsweep)
    if unfinished and not sweep.attrs.get("corner"):  # once per file, not again for each of its corners
        log.warning("fitting on an incomplete sweep: %s", unfinished)
    if sweep.corner is not None or (vsweep is not None and vsweep.corner is not None):
        return _fit_per_corner(
            sweep, vsweep, outputs=outputs, models=models, holdout=holdout, input_scales=input_scales,
            output_scales=output_scales, tolerance_pct=tolerance_pct, random_state=random_state,
            name_template=name_template,
        )
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

    # Inputs that never vary are constants of this sweep, not inputs of a surrogate.
    all_inputs = sweep.input_names
    fixed = {n: float(sweep.inputs[n][0]) for n in all_inputs if np.unique(sweep.inputs[n]).size == 1}
    inputs = [n for n in all_inputs if n not in fixed]
    if not inputs:
        raise SurrogateError(f"{sweep.label}: every input is constant; nothing to model")
    if fixed:
        log.info("inputs constant in the sweep, left out of the surrogates: %s", fixed)
    in_scales = _resolve_scales(sweep, inputs, {k: v for k, v in (input_scales or {}).items() if k not in fixed}, "input_scales", True)
    out_scales = _resolve_scales(sweep, list(outputs), output_scales, "output_scales", False)
    _check_log_inputs(sweep, in_scales)
    if vsweep is not None:
        vmissing = [n for n in inputs if n not in vsweep.inputs]
        if vmissing:
            raise SurrogateError(f"{vsweep.label}: validation sweep lacks input(s) {vmissing}")
        for n in inputs:
            if vsweep.input_units.get(n, "") != sweep.input_units.get(n, ""):
                raise SurrogateError(
                    f"{vsweep.label}: input {n!r} in {vsweep.input_units.get(n)!r}, training sweep in {sweep.input_units.get(n)!r}"
                )
        for n, value in fixed.items():
            if n in vsweep.inputs and not np.allclose(vsweep.inputs[n], value):
                raise SurrogateError(f"{vsweep.label}: input {n!r} varies, but is fixed at {value} in the training sweep")

    X_all = sweep.X(inputs)
    grid = None
    if sweep.design == "grid" and sweep.grid is not None:
        grid = [sweep.grid[n] for n in inputs]
    circuit = str(sweep.attrs.get("circuit", "") or "")
    result: dict[str, Surrogate] = {}
    for output in outputs:
        y_all = sweep.outputs[output]
        ok = np.isfinite(y_all)
        if ok.sum() < 4:
            raise SurrogateError(f"{sweep.label}: output {output!r} has only {int(ok.sum())} finite values")
        X, y = X_all[ok], y_all[ok]
        if out_scales[output] == "log" and np.any(y <= 0):
            raise SurrogateError(f"{sweep.label}: output {output!r} has values <= 0 and cannot be log-scaled")
        full_scale = _full_scale(y)
        corner = str(sweep.attrs.get("corner", "") or "")
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
        kwargs = dict(
            input_units=[sweep.input_units.get(n, "") for n in inputs],
            output_units=[sweep.output_units.get(output, "")],
            input_scales=[in_scales[n] for n in inputs],
            output_scales=[out_scales[output]],
            name=name,
            description=sweep.output_descriptions.get(output, ""),
        )

        # --- the split
        if vsweep is not None:
            if output not in vsweep.outputs:
                raise SurrogateError(f"{vsweep.label}: validation sweep lacks output {output!r}")
            X_train, y_train = X, y
            Xv_all, yv_all = vsweep.X(inputs), vsweep.outputs[output]
            keep = np.isfinite(yv_all)
            lo, hi = X.min(axis=0), X.max(axis=0)
            inside = np.all((Xv_all >= lo) & (Xv_all <= hi), axis=1)
            n_outside = int((keep & ~inside).sum())
            X_val, y_val = Xv_all[keep & inside], yv_all[keep & inside]
            if y_val.size == 0:
                raise SurrogateError(f"{vsweep.label}: no validation point of {output!r} inside the training domain")
            method = (
                f"validation sweep {vsweep.path.name if vsweep.path else '<in-memory>'}: candidates fitted on all "
                f"{y.size} training points, scored on {y_val.size} validation points"
                + (f" ({n_outside} outside the training domain left out)" if n_outside else "")
            )
            refit = False
        else:
            train, validate, method = holdout_split(X, holdout, grid=grid, random_state=random_state)
            X_train, y_train, X_val, y_val = X[train], y[train], X[validate], y[validate]
            refit = True
        log.info("%s: %s", name, method)

        # --- candidates
        candidates: list[dict[str, Any]] = []
        fitted: list[Surrogate | None] = []
        for spec in specs:
            model = make_model(spec)
            if hasattr(model, "random_state") and not isinstance(spec, SurrogateModel):
                model.set_params(random_state=random_state)
            record: dict[str, Any] = {
                "label": model.label,
                "kind": model.kind,
                "params": json.dumps(model.get_params()),
                "n_train": int(y_train.size),
                "n_validation": int(y_val.size),
            }
            surrogate = Surrogate(model, inputs, output, **kwargs)
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                t0 = time.perf_counter()
                try:
                    surrogate.fit(X_train, y_train)
                    record["fit_time_s"] = time.perf_counter() - t0
                    t1 = time.perf_counter()
                    pred = surrogate.predict(X_val, out_of_domain="error")
                    elapsed = time.perf_counter() - t1
                except (SurrogateError, ValueError, ArithmeticError, np.linalg.LinAlgError, MemoryError) as exc:
                    record.update(status="failed", reason=f"{type(exc).__name__}: {one_line(exc)}"[:300])
                    record.setdefault("fit_time_s", time.perf_counter() - t0)
                    log.info("%s: %-12s failed: %s", name, model.label, record["reason"])
                    candidates.append(record)
                    fitted.append(None)
                    continue
            if caught:
                record["warnings"] = f"{len(caught)} warning(s), first: {one_line(caught[0].message)}"[:300]
            rms, mx = score_pct(pred, y_val, full_scale)
            if not (np.isfinite(rms) and np.isfinite(mx)):
                record.update(status="failed", reason="non-finite predictions on the held-out points")
                candidates.append(record)
                fitted.append(None)
                continue
            record.update(status="ok", rms_pct=rms, max_pct=mx, predict_rate_per_s=y_val.size / max(elapsed, 1e-9))
            log.info(
                "%s: %-12s RMS %.4g %%FS, max %.4g %%FS, fit %.3g s",
                name, model.label, rms, mx, record["fit_time_s"],
            )
            candidates.append(record)
            fitted.append(surrogate)

        # --- selection
        ok_idx = [i for i, c in enumerate(candidates) if c["status"] == "ok"]
        if not ok_idx:
            reasons = "; ".join(f"{c['label']}: {c.get('reason', '')}" for c in candidates)
            raise SurrogateError(f"{sweep.label}: no candidate model could be fitted for {output!r} ({reasons})")
        by_rms = sorted(ok_idx, key=lambda i: (candidates[i]["rms_pct"], candidates[i]["max_pct"]))
        selection = "lowest held-out RMS error"
        best = by_rms[0]
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
        chosen = fitted[best]
        log.info("%s: chose %s (%s)", name, candidates[best]["label"], selection)

        if refit:
            model = make_model(specs[best])
            if hasattr(model, "random_state") and not isinstance(specs[best], SurrogateModel):
                model.set_params(random_state=random_state)
            final = Surrogate(model, inputs, output, **kwargs)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                try:
                    final.fit(X, y)
                except (SurrogateError, ValueError, ArithmeticError, np.linalg.LinAlgError, MemoryError) as exc:
                    raise SurrogateError(
                        f"{sweep.label}: refitting {candidates[best]['label']} for {output!r} on all points failed: {one_line(exc)}"
                    ) from None
        else:
            final = chosen
        final.validation = {
            "rms_pct": np.array([candidates[best]["rms_pct"]]),
            "max_pct": np.array([candidates[best]["max_pct"]]),
            "full_scale": np.array([full_scale]),
            "n_points": int(y_val.size),
            "method": method,
        }
        warning = _accuracy_warning(candidates[best], in_scales)
        if warning:
            final.validation["warning"] = warning
            log.warning("%s: %s", name, warning)
        final.candidates = candidates
        final.provenance = _provenance(sweep, vsweep, fixed, selection, int(y.size))
        final.incomplete_sweep = unfinished
        if corner:
            final.provenance["corner"] = corner
        result[name] = final
    return result


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
    if kwargs.get("models") is not None:
        kwargs["models"] = list(kwargs["models"])  # an iterator would be spent on the first corner
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
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "fixed_inputs": json.dumps({n: [v, sweep.input_units.get(n, "")] for n, v in fixed.items()}),
    }
    for key in ("circuit", "netlist_sha256", "cimspice_version", "ngspice_version", "pyspice_version", "created"):
        if key in sweep.attrs:
            p[f"source_{key}"] = str(sweep.attrs[key])
    if vsweep is not None:
        p["validation_sweep"] = vsweep.path.name if vsweep.path else "<in-memory>"
        p["validation_sweep_sha256"] = vsweep.sha256
    return p


def fit_library(
    sweeps: str | Path | Sequence[str | Path],
    library: str | Path,
    outputs: Sequence[str] | None = None,
    models: Iterable[str | SurrogateModel] | None = None,
    *,
    validation_sweep_path: str | Path | None = None,
    holdout: str | float = "auto",
    tolerance_pct: float | None = None,
    replace: bool = True,
    name_template: str = "{circuit}.{output}",
    input_scales: Mapping[str, str] | None = None,
    allow_incomplete: bool = False,
) -> str:
    """Fit every sweep file into one library (created or extended) and describe it
    (``cimspice fit``).

    Example::

        import cimspice
        print(cimspice.fit_library("cell.h5", "library.h5", validation_sweep_path="cell_lhs.h5"))

    For each sweep, :func:`fit_surrogates` fits the requested ``outputs`` it has (all of
    its outputs by default); ``name_template`` names them (``{circuit}``, ``{output}``,
    ``{corner}``; e.g. ``pwl_tanh.{output}`` to keep a reprogrammed circuit's functions
    apart). Every sweep is read and checked before any fit, and the library is written
    once, when every sweep is fitted, by :func:`~cimspice.surrogate.library.save_library`
    (``append=True``: the surrogates already there are kept; with ``replace`` one of the
    same name, e.g. from an earlier run on the same sweep, is replaced) through a
    temporary file: a run that fails leaves ``library`` as it was, byte for byte.

    An interrupted sweep (``complete`` false or points pending; the validation sweep too)
    is refused with one line naming it and its counts, unless ``allow_incomplete``: its
    surrogates then record it (``incomplete_sweep``, shown by ``cimspice inspect``).
    ``input_scales`` (name -> "linear" | "log") overrides the scales the sweep files record,
    for the sweeps that have that input; a name in none of them is refused.
    Returns :func:`~cimspice.surrogate.library.inspect_library` of the result.
    """
    from .library import inspect_library, save_library

    paths = [sweeps] if isinstance(sweeps, (str, Path)) else list(sweeps)
    if not paths:
        raise SurrogateError("fit_library: no sweep files")
    read = [read_sweep(path) for path in paths]  # a bad file fails now, not after minutes of fitting
    vsweep = None if validation_sweep_path is None else read_sweep(validation_sweep_path)
    unfinished = incomplete_notes(*read, validation=vsweep)
    if unfinished and not allow_incomplete:
        raise SurrogateError(f"{unfinished}: finish it with `cimspice sweep --resume`, or fit it anyway "
                             "with --allow-incomplete")
    wanted = list(outputs) if outputs else None
    found: set[str] = set()
    _check_scaled(input_scales, read)  # before anything is written
    fitted: dict[str, Surrogate] = {}
    for path, sweep in zip(paths, read):
        these = [o for o in wanted if o in sweep.outputs] if wanted else None
        if wanted and not these:
            log.warning("%s: none of the outputs %s; skipped", path, wanted)
            continue
        found.update(these or sweep.output_names)
        surrogates = fit_surrogates(
            sweep,
            outputs=these,
            models=list(models) if models is not None else None,
            holdout=holdout,
            validation_sweep_path=vsweep,
            tolerance_pct=tolerance_pct,
            name_template=name_template,
            input_scales=_scales_of(sweep, input_scales),
        )
        clash = sorted(set(fitted) & set(surrogates))
        if clash and not replace:
            raise SurrogateError(f"surrogate(s) {clash} come from two of the sweeps {[str(p) for p in paths]}")
        fitted.update(surrogates)
    if wanted:
        absent = [o for o in wanted if o not in found]
        if absent:
            raise SurrogateError(f"output(s) {absent} are in none of the sweeps {[str(p) for p in paths]}")
    save_library(library, fitted, append=True, replace=replace)
    return inspect_library(library)


def _scales_of(sweep: SweepData, input_scales: Mapping[str, str] | None) -> dict[str, str]:
    """The overrides of ``input_scales`` for the inputs this sweep has."""
    return {n: s for n, s in (input_scales or {}).items() if n in sweep.inputs}


def _check_scaled(input_scales: Mapping[str, str] | None, sweeps: list[SweepData]) -> None:
    """Refuse a scale other than "linear" or "log", and one for an input none of the sweeps
    has (a typo would otherwise go unnoticed)."""
    for n, scale in (input_scales or {}).items():
        if scale not in SCALES:
            raise SurrogateError(f"input scale {n}={scale}: the scale must be one of {', '.join(SCALES)}")
    absent = sorted(set(input_scales or ()) - set().union(*(sweep.inputs for sweep in sweeps)))
    if absent:
        raise SurrogateError(f"input scale(s) given for {absent}, an input of none of the sweeps "
                             f"{[sweep.label for sweep in sweeps]}")
