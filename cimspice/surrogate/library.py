"""Surrogate library files: HDF5, schema ``cimspice.surrogates`` (docs/surrogate_schema.md).

:func:`fit_library` fits sweep files into one (``cimspice fit``). Writing goes to a
temporary file in the same folder that replaces the target only once complete, so an
existing library is never left half-overwritten. Reading checks the schema and version,
refuses any opaque/object/string dataset and any link anywhere in the file before
interpreting it, and never unpickles or executes anything.
"""

from __future__ import annotations

import datetime as _dt
import logging
import os
import secrets
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from .. import __version__
from ._group import read_plain_attrs, write_plain_attr
from ._hdf5 import check_plain_tree, open_hdf5, plain_attr
from .accuracy import abs_error, eng, validation_text
from .core import SCALES, Surrogate
from .errors import SurrogateError, one_line
from .fit import fit_steps, fit_surrogates, incomplete_notes
from .models import SurrogateModel
from .progress import FitProgress
from .sweep import SweepData, read_sweep

__all__ = [
    "LIBRARY_SCHEMA", "LIBRARY_SCHEMA_VERSION", "fit_library", "inspect_library", "load_blocks", "load_library",
    "save_library", "select_corner", "surrogate_corner",
]

log = logging.getLogger(__name__)

LIBRARY_SCHEMA = "cimspice.surrogates"
#: version written, and the newest one this reader understands
LIBRARY_SCHEMA_VERSION = 1


def _now() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")


def _as_named(surrogates) -> dict[str, Surrogate]:
    if isinstance(surrogates, Surrogate):
        surrogates = [surrogates]
    if isinstance(surrogates, Mapping):
        items = list(surrogates.items())
    else:
        items = [(s.name, s) for s in surrogates]
    out: dict[str, Surrogate] = {}
    for name, s in items:
        if not isinstance(s, Surrogate):
            raise SurrogateError(f"save_library: {name!r} is a {type(s).__name__}, not a Surrogate")
        if not name or "/" in name or name in (".", ".."):
            raise SurrogateError(f"save_library: bad surrogate name {name!r}")
        if name in out:
            raise SurrogateError(f"save_library: surrogate name {name!r} given twice")
        out[name] = s
    return out


def save_library(
    path: str | Path,
    surrogates: Mapping[str, Surrogate] | Iterable[Surrogate] | Surrogate,
    *,
    append: bool = False,
    replace: bool = False,
    remove: Iterable[str] = (),
    blocks: Mapping[str, Mapping[str, Any]] | None = None,
) -> Path:
    """Write surrogates to a library file, atomically.

    Parameters
    ----------
    path : str or Path
    surrogates : mapping name -> Surrogate, iterable of Surrogate (keyed by ``.name``),
        or one Surrogate.
    append : bool
        Keep the surrogates already in ``path`` (the file is validated first, as
        :func:`load_library` does) and add these, e.g. from another sweep. Without it the
        library holds exactly ``surrogates``.
    replace : bool
        With ``append``, let a new surrogate replace an existing one of the same name;
        otherwise a name clash is an error.
    remove : names
        With ``append``, surrogates of the existing file to leave out (e.g. a rebuilt
        block's surrogates that it no longer makes).
    blocks : mapping block name -> {attribute: text or number}, optional
        Records of characterized blocks, written as attributes of ``/blocks/<name>``
        (``cimspice library build``: circuit, area, fingerprint, ...). With ``append`` the
        existing file's records are kept unless replaced here.

    Returns the path written. The new file is assembled in a temporary file next to
    ``path`` and renamed over it, so a crash leaves the old library intact.
    """
    path = Path(path)
    named = _as_named(surrogates)
    for name, s in named.items():
        if not s.is_fitted():
            raise SurrogateError(f"save_library: surrogate {name!r} is not fitted")
    existing: list[str] = []
    records = {name: dict(record) for name, record in (blocks or {}).items()}
    created = _now()
    if append and path.exists():
        existing_lib = load_library(path)  # validates the file we are about to copy from
        clash = sorted(set(existing_lib) & set(named))
        if clash and not replace:
            raise SurrogateError(f"{path}: already holds surrogate(s) {clash}; pass replace=True to overwrite them")
        dropped = set(remove)
        existing = [n for n in existing_lib if n not in named and n not in dropped]
        records = {**load_blocks(path), **records}
        with h5py.File(path, "r") as old:
            created = str(plain_attr(old.attrs.get("created", created), "/created"))
    path.parent.mkdir(parents=True, exist_ok=True)
    # Beside the target (same file system, so the rename is atomic), with the usual
    # permissions; "w-" refuses to reuse a name that somehow exists.
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    try:
        with h5py.File(tmp, "w-") as fh:
            fh.attrs["schema"] = LIBRARY_SCHEMA
            fh.attrs["schema_version"] = np.int64(LIBRARY_SCHEMA_VERSION)
            fh.attrs["cimspice_version"] = __version__
            fh.attrs["created"] = created
            fh.attrs["modified"] = _now()
            group = fh.create_group("surrogates")
            if existing:
                with h5py.File(path, "r") as old:
                    for name in existing:
                        old.copy(old["surrogates"][name], group, name=name)
            for name, s in named.items():
                s.to_hdf5(group.create_group(name))
            fh.attrs["n_surrogates"] = np.int64(len(group))
            _write_blocks(fh, records)
        with open(tmp, "rb+") as fh_raw:
            os.fsync(fh_raw.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    log.info("wrote %d surrogate(s) to %s (%d kept from before)", len(named), path, len(existing))
    return path


def _write_blocks(fh: h5py.File, records: Mapping[str, Mapping[str, Any]]) -> None:
    if not records:
        return
    group = fh.create_group("blocks")
    for name, record in records.items():
        if not name or "/" in name or name in (".", ".."):
            raise SurrogateError(f"save_library: bad block name {name!r}")
        attrs = group.create_group(name).attrs
        for key, value in record.items():
            write_plain_attr(attrs, key, value)


def load_blocks(path: str | Path) -> dict[str, dict[str, Any]]:
    """The block records of a library file (``/blocks/<name>`` attributes, written by
    ``cimspice library build``): ``{block: {attribute: value}}``, empty if it has none.
    The file is checked as :func:`load_library` checks it (schema, plain contents)."""
    path = Path(path)
    fh = open_hdf5(path, "surrogate library")
    try:
        with fh:
            _check_header(fh)
            return read_blocks(fh)
    except SurrogateError as exc:
        raise SurrogateError(f"{path}: {one_line(exc)}") from None
    except (OSError, KeyError, ValueError, TypeError, RuntimeError) as exc:
        raise SurrogateError(f"{path}: corrupt or unreadable library: {one_line(exc)}") from None


def load_library(path: str | Path) -> dict[str, Surrogate]:
    """Read a library file into ``{name: Surrogate}``.

    Example::

        import cimspice
        library = cimspice.load_library("library.h5")
        i_cell = library["cell_1t1r.i_cell"].predict({"g": [1e-5], "v_bl": [0.2], "v_wl": [1.1]})  # (1,) A

    Every problem raises :class:`SurrogateError` with one line naming the file: missing,
    truncated or not HDF5; wrong ``schema``; ``schema_version`` newer than
    :data:`LIBRARY_SCHEMA_VERSION`; any dataset with an opaque (``np.void``), object,
    string or compound dtype, or any soft/external link, anywhere in the file (refused
    before reading: nothing is unpickled or executed); an unknown model kind; missing or
    mis-shaped datasets and attributes.
    """
    path = Path(path)
    fh = open_hdf5(path, "surrogate library")
    try:
        with fh:
            return _load_open(fh)
    except SurrogateError as exc:
        raise SurrogateError(f"{path}: {one_line(exc)}") from None
    except (OSError, KeyError, ValueError, TypeError, RuntimeError, IndexError) as exc:
        raise SurrogateError(f"{path}: corrupt or unreadable library: {one_line(exc)}") from None


def read_blocks(fh: h5py.File) -> dict[str, dict[str, Any]]:
    """The block records of an open library file (:func:`load_blocks`), empty if it has none."""
    blocks = fh.get("blocks")
    if blocks is None:
        return {}
    if not isinstance(blocks, h5py.Group):
        raise SurrogateError("/blocks is not a group")
    return {name: read_plain_attrs(blocks[name]) for name in blocks}


def _check_header(fh: h5py.File) -> None:
    """Schema, version and plain contents of an open library file, or :class:`SurrogateError`."""
    check_schema(fh)
    check_plain_tree(fh)


def check_schema(fh: h5py.File) -> None:
    """The ``schema`` and ``schema_version`` of an open library file, or :class:`SurrogateError`
    (:class:`~.lazy.LazyLibrary` checks the rest table by table)."""
    schema = plain_attr(fh.attrs["schema"], "/schema") if "schema" in fh.attrs else None
    if schema != LIBRARY_SCHEMA:
        raise SurrogateError(f"not a surrogate library (schema {schema!r}, expected {LIBRARY_SCHEMA!r})")
    version = plain_attr(fh.attrs["schema_version"], "/schema_version") if "schema_version" in fh.attrs else None
    if isinstance(version, np.ndarray) and version.size == 1 and version.dtype.kind in "iu":
        version = int(version.ravel()[0])
    if not isinstance(version, int) or isinstance(version, bool):
        raise SurrogateError(f"schema_version {version!r} is missing or not an integer")
    if version > LIBRARY_SCHEMA_VERSION:
        raise SurrogateError(
            f"schema_version {version} is newer than this cimspice ({__version__}) reads "
            f"({LIBRARY_SCHEMA_VERSION}); upgrade cimspice"
        )
    if version < 1:
        raise SurrogateError(f"invalid schema_version {version}")


def _load_open(fh: h5py.File) -> dict[str, Surrogate]:
    _check_header(fh)
    if "surrogates" not in fh or not isinstance(fh["surrogates"], h5py.Group):
        raise SurrogateError("group /surrogates is missing")
    out = {}
    for name in fh["surrogates"]:
        s = Surrogate.from_hdf5(fh["surrogates"][name])
        if s.name != name:
            raise SurrogateError(f"/surrogates/{name}: name attribute {s.name!r} differs from the group name")
        out[name] = s
    return out


def _pct(value) -> str:
    try:
        v = float(np.max(value))
    except (TypeError, ValueError):
        return "-"
    return "-" if not np.isfinite(v) else f"{v:.3g}"


def format_surrogates(surrogates: Mapping[str, Surrogate], title: str = "") -> str:
    """The text table :func:`inspect_library` prints, for surrogates in memory."""
    lines = [title] if title else []
    for name, s in surrogates.items():
        lines.append("")
        lines.append(f"{name}    model: {s.model_label} (kind {s.model_kind})")
        if s.incomplete_sweep:
            lines.append(f"  WARNING: fitted on an incomplete sweep: {s.incomplete_sweep}")
        if s.description:
            lines.append(f"  {s.description}")
        lines.append("  inputs:")
        for j, n in enumerate(s.inputs):
            unit = s.input_units[j] or "-"
            lines.append(
                f"    {n:<16} {'[' + unit + ']':<8} {s.input_scales[j]:<6} "
                f"domain {s.domain_min[j]:.6g} .. {s.domain_max[j]:.6g}"
            )
        lines.append("  outputs:")
        for j, n in enumerate(s.outputs):
            unit = s.output_units[j] or "-"
            val = "not validated"
            if s.validation is not None:
                val = (f"validation {validation_text(s, j)} (full scale {s.validation['full_scale'][j]:.6g} "
                       f"{s.output_units[j]}, {s.validation['n_points']} points)")
            lines.append(f"    {n:<16} {'[' + unit + ']':<8} {s.output_scales[j]:<6} {val}")
        if s.validation is not None and s.validation.get("method"):
            lines.append(f"  validation method: {s.validation['method']}")
        if s.validation is not None and s.validation.get("warning"):
            lines.append(f"  WARNING: {s.validation['warning']}")
        if s.candidates:
            lines += _candidate_lines(s)
        p = s.provenance
        if p:
            src = p.get("source_sweep", "")
            sha = str(p.get("source_sweep_sha256", ""))[:12]
            lines.append(
                f"  provenance: sweep {src or '-'} (sha256 {sha or '-'}...), "
                f"circuit {p.get('source_circuit', '-') or '-'}, "
                f"fitted by cimspice {p.get('cimspice_version', '-')} on {p.get('created', '-')}"
            )
    return "\n".join(lines) + "\n"


def _candidate_lines(s: Surrogate) -> list[str]:
    """Every candidate family's held-out scores, %FS and (one output with a full scale) in
    the output's unit."""
    fs = s.validation["full_scale"][0] if s.validation is not None and s.n_outputs == 1 else np.nan
    unit = s.output_units[0] if s.n_outputs == 1 else ""
    lines = ["  candidates (scored on the same held-out points):",
             f"      {'label':<14} {'status':<8} {'RMS %FS':>9} {'max %FS':>9} {'RMS':>12} {'fit s':>9}  note"]
    for c in s.candidates:
        mark = "*" if c.get("selected") else " "
        fit_s = c.get("fit_time_s")
        fit_txt = f"{fit_s:.3g}" if isinstance(fit_s, (int, float)) else "-"
        rms = abs_error(c.get("rms_pct"), fs)
        note = c.get("reason", "") or c.get("warnings", "")
        lines.append(
            f"    {mark} {str(c.get('label', '?')):<14} {str(c.get('status', '?')):<8} "
            f"{_pct(c.get('rms_pct')):>9} {_pct(c.get('max_pct')):>9} "
            f"{eng(rms, unit) if np.isfinite(rms) else '-':>12} {fit_txt:>9}  {note}"
        )
    return lines


def inspect_library(path: str | Path) -> str:
    """Human-readable description of every surrogate in a library file: inputs with
    units and training domain, outputs and units, chosen model, validation RMS/max
    error (in the output's unit and % of full scale, and against the output's declared
    tolerance) and every candidate's score. Validates the file first."""
    path = Path(path)
    surrogates = load_library(path)
    with h5py.File(path, "r") as fh:
        version = plain_attr(fh.attrs["schema_version"], "/schema_version")
        made_by = plain_attr(fh.attrs.get("cimspice_version", "?"), "/cimspice_version")
        modified = plain_attr(fh.attrs.get("modified", "?"), "/modified")
    title = (
        f"Surrogate library {path} (schema {LIBRARY_SCHEMA} v{version}, written by cimspice {made_by}, "
        f"{modified}): {len(surrogates)} surrogate(s)"
    )
    return format_surrogates(surrogates, title)


def surrogate_corner(surrogate: Surrogate) -> str:
    """The process corner a surrogate was fitted at (``""`` if its sweep swept no corners)."""
    return str(surrogate.provenance.get("corner", "") or "")


def select_corner(surrogates: Mapping[str, Surrogate], corner: str) -> dict[str, Surrogate]:
    """The surrogates of one process corner, keyed by their name without ``@<corner>``.

    ``select_corner(load_library(path), "ss")["strongarm.delay"]`` is the table of
    ``strongarm.delay@ss``; surrogates fitted without corners are left out. Raises
    :class:`SurrogateError` if no surrogate is at ``corner`` (naming the corners there are).
    """
    out: dict[str, Surrogate] = {}
    for name, s in surrogates.items():
        c = surrogate_corner(s)
        if c and c == corner:
            suffix = f"@{corner}"
            out[name[: -len(suffix)] if name.endswith(suffix) else name] = s
    if not out:
        have = sorted({surrogate_corner(s) for s in surrogates.values()} - {""})
        raise SurrogateError(f"no surrogate at corner {corner!r} (corners in the library: {have or 'none'})")
    return out


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
    progress: bool | None = None,
    report: str | Path | None = None,
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
    ``progress``: one tqdm bar over every candidate fit of every sweep, naming the
    surrogate and family being fitted (default: only on a terminal). ``report``: a folder
    for :func:`~cimspice.surrogate.report.write_report` of the surrogates fitted here
    (``report.md``, a parity plot and an error histogram per surrogate: on the validation
    sweep, else on the held-out points that chose each family), written after the library.
    Returns :func:`~cimspice.surrogate.library.inspect_library` of the result.
    """
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
    if report is not None and Path(report).exists() and not Path(report).is_dir():
        raise SurrogateError(f"{report}: the report folder is a file")
    models = list(models) if models is not None else None
    these = [[o for o in wanted if o in sweep.outputs] if wanted else None for sweep in read]
    fitted: dict[str, Surrogate] = {}
    steps = sum(fit_steps(sweep, vsweep, outs, models) for sweep, outs in zip(read, these) if outs != [])
    with FitProgress(steps, progress) as bar:
        for path, sweep, outs in zip(paths, read, these):
            if outs == []:
                log.warning("%s: none of the outputs %s; skipped", path, wanted)
                continue
            found.update(outs or sweep.output_names)
            surrogates = fit_surrogates(sweep, outputs=outs, models=models, holdout=holdout,
                                        validation_sweep_path=vsweep, tolerance_pct=tolerance_pct,
                                        name_template=name_template, input_scales=_scales_of(sweep, input_scales),
                                        progress=bar)
            clash = sorted(set(fitted) & set(surrogates))
            if clash and not replace:
                raise SurrogateError(f"surrogate(s) {clash} come from two of the sweeps {[str(p) for p in paths]}")
            fitted.update(surrogates)
    if wanted:
        absent = [o for o in wanted if o not in found]
        if absent:
            raise SurrogateError(f"output(s) {absent} are in none of the sweeps {[str(p) for p in paths]}")
    save_library(library, fitted, append=True, replace=replace)
    if report is not None:
        from .report import write_report  # matplotlib only when asked

        write_report(fitted, vsweep, report, title=f"the surrogates fitted into `{library}` by this run")
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
