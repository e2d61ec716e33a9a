"""``cimspice library build``: the catalogue's blocks through ngspice into one surrogate library.

For each block: its training grid and its off-grid validation sweep run through the sweep
engine (:func:`~cimspice.characterize.run_sweep`: parallel, local or Dask, resumable)
into ``WORK/<block>/{train,validation}.h5`` (``WORK/<block>@tt-ff-ss/`` for a corner
build; their YAML specs beside them, so ``cimspice sweep`` reruns one);
:func:`~cimspice.surrogate.fit_surrogates` fits every candidate family on the grid and
scores it on the validation points, which it never trains on; the surrogates, with their
provenance, and the block's record (``/blocks/<block>``: circuit, area, fingerprint, sweep
hashes, times) go into the library.
A build with ``corners`` writes ``{block}.{output}@{corner}`` and one record per corner,
``/blocks/<block>@<corner>``, beside the nominal ones: adding corners to a library keeps
the tables a system without a corner reads.

Incremental: a block whose fingerprint (:mod:`.provenance`) is the one the library
records, with all of its surrogates there, is left alone ("unchanged"); a block whose
sweep files hold complete sweeps of the same specs is refitted without ngspice
("refit"); an interrupted sweep is resumed. The library is rewritten after each block,
atomically (:func:`~cimspice.surrogate.save_library`), so an interrupted build keeps the
blocks it finished.
"""

from __future__ import annotations

import datetime as _dt
import json
import logging
import os
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import h5py
import yaml

from .. import CimspiceError
from ..characterize import parse_sweep_spec, run_sweep
from ..characterize.spec import SweepSpec
from ..circuits.base import CircuitError
from ..circuits.devices import check_corner
from ..surrogate import file_sha256, fit_surrogates, load_blocks, save_library
from ..surrogate.accuracy import error_text
from ..surrogate.errors import one_line
from ..surrogate.fit import CORNER_SEPARATOR
from .blocks import CATALOGUE, Block, select
from .errors import LibraryError
from .provenance import block_fingerprint, block_record, circuit_provenance, temperatures

__all__ = ["BlockResult", "build_library", "record_names"]

log = logging.getLogger(__name__)

KINDS = ("train", "validation")
#: grid nodes an axis needs for the grid-cubic candidate (scipy's cubic spline interpolation)
CUBIC_NODES = 4


@dataclass
class BlockResult:
    """What the build did with one block: ``status`` is "built" (ngspice ran), "refit"
    (complete sweep files reused), "unchanged" (skipped) or "failed" (``detail`` says why)."""

    name: str
    status: str
    seconds: float = 0.0
    surrogates: list[str] = field(default_factory=list)
    detail: str = ""

    def __str__(self) -> str:
        if self.status == "unchanged":
            return f"{self.name}: unchanged ({len(self.surrogates)} surrogates kept)"
        if self.status == "failed":
            return f"{self.name}: FAILED: {self.detail}"
        return f"{self.name}: {self.status} in {self.seconds:.1f} s, {len(self.surrogates)} surrogates ({self.detail})"


@dataclass
class _Sweep:
    """One of a block's two sweeps: the validated spec, its YAML text and its files."""

    spec: SweepSpec
    text: str
    yaml: Path
    h5: Path


@dataclass
class _Build:
    """The options of one build, shared by its blocks."""

    path: Path
    work: Path
    quick: bool
    corners: tuple[str, ...]
    temps: tuple[float, ...]
    force: bool
    run: dict  # run_sweep keyword arguments: workers, executor, scheduler, progress
    present: set[str] = field(default_factory=set)  # surrogate names in the library
    records: dict = field(default_factory=dict)     # its block records


def build_library(path: str | Path, *, only: Iterable[str] | None = None, quick: bool = False,
                  corners: Iterable[str] = (), temps: Iterable[float] = (), workers: int = 1,
                  executor: str = "local", scheduler: str | None = None, work: str | Path | None = None,
                  force: bool = False, catalogue: Mapping[str, Block] | None = None,
                  progress: bool | None = None, echo: Callable[[str], None] | None = None) -> list[BlockResult]:
    """Characterize blocks into the surrogate library ``path`` (``cimspice library build``).

    Example::

        from cimspice.library import build_library
        for result in build_library("library.h5", only=["tia", "sense_amp"], quick=True):
            print(result)

    Parameters
    ----------
    only : block or circuit names (default: every block of a full, or ``quick``, build;
        see :func:`~cimspice.library.blocks.select`)
    quick : small grids (:attr:`Block.quick_ranges`) and the ``--quick`` set of blocks
    corners : process corners (e.g. ``("tt", "ff", "ss")``): one surrogate per corner,
        ``{block}.{output}@{corner}``; default none (the circuits' own corner, tt)
    temps : temperatures (degC) swept as the ``temp`` input; default none (27 degC)
    workers, executor, scheduler : the sweep engine's (``"local"`` or ``"dask"``)
    work : folder of the sweep files (default ``<path>.d``)
    force : simulate and fit the selected blocks again whatever their fingerprints
    catalogue : block name -> :class:`Block` (default :data:`~.blocks.CATALOGUE`)
    progress : the sweep engine's progress bars (default: on a terminal)
    echo : called with one line per block as it finishes (default: the log)

    Returns one :class:`BlockResult` per block, in build order. A block that fails (a
    sweep or fit error) is reported and the build goes on; the caller decides (the CLI
    exits non-zero).
    """
    path = Path(path)
    blocks = select(CATALOGUE if catalogue is None else catalogue, only, quick=quick)
    options = _Build(path, Path(work) if work else path.with_name(path.name + ".d"), quick,
                     _corners(corners), tuple(float(t) for t in temps), force,
                     dict(workers=workers, executor=executor, scheduler=scheduler, progress=progress))
    if 1 < len(options.temps) < CUBIC_NODES:
        log.warning("library build: --temps %s: %d temperatures; the grid-cubic candidate needs %d nodes on "
                    "every axis, so grid blocks fall back to linear interpolation in every input",
                    ",".join(f"{t:g}" for t in options.temps), len(options.temps), CUBIC_NODES)
    options.work.mkdir(parents=True, exist_ok=True)
    options.present, options.records = _library_state(path)  # read once, then kept up to date
    echo = echo or log.info
    results = []
    for k, block in enumerate(blocks, 1):
        result = _build_block(options, block)
        results.append(result)
        echo(f"[{k}/{len(blocks)}] {result}")
    return results


def _corners(corners: Iterable[str]) -> tuple[str, ...]:
    corners = tuple(corners)
    try:
        for corner in corners:
            check_corner(corner, "library build: --corners")
    except CircuitError as error:
        raise LibraryError(str(error)) from None
    if len(set(corners)) != len(corners):
        raise LibraryError(f"library build: --corners {','.join(corners)}: a corner is named twice")
    return corners


def _build_block(options: _Build, block: Block) -> BlockResult:
    """One block: skipped if its fingerprint is recorded, else swept (or its complete
    sweep files reused), fitted and written into the library; errors become "failed"."""
    started = time.monotonic()
    try:
        sweeps = _sweeps(options, block)
        fingerprint = block_fingerprint(block, {kind: s.spec for kind, s in sweeps.items()})
        names = record_names(block.name, options.corners if block.corners else ())
        olds = [options.records.get(name, {}) for name in names]
        kept = [s for old in olds for s in old.get("surrogates", [])]
        if (not options.force and kept and set(kept) <= options.present
                and all(old.get("fingerprint") == fingerprint and old.get("surrogates") for old in olds)):
            return BlockResult(block.name, "unchanged", surrogates=kept)
        ran = [_run(options, sweep) for sweep in sweeps.values()]
        fit_started = time.monotonic()
        fitted = _fit(block, sweeps, fingerprint)
        # the build's options beside what its sweeps ran: the block's specs are
        # block.sweep_specs(quick, corners, build_temps), so its fingerprint can be recomputed
        common = dict(quick=options.quick, build_temps=json.dumps(list(options.temps)),
                      fit_seconds=time.monotonic() - fit_started, **_sweep_records(options.path, sweeps))
        records = {name: block_record(block, sweeps["train"].spec, fingerprint,
                                      surrogates=sorted(n for n in fitted if _corner_of(n) == corner),
                                      **({"corner": corner} if corner else {}), **common)
                   for name, corner in ((name, _corner_of(name)) for name in names)}
        # a corner build replaces the tables of its corners only: the nominal ones (and
        # other corners') stay, so a system without a corner still reads them
        mine = {_corner_of(n) for n in fitted}
        stale = [n for n in options.present
                 if n.startswith(block.name + ".") and _corner_of(n) in mine and n not in fitted]
        save_library(options.path, fitted, append=True, replace=True, remove=stale, blocks=records)
        options.present = (options.present - set(stale)) | set(fitted)
        options.records.update(records)
    except CimspiceError as error:
        return BlockResult(block.name, "failed", time.monotonic() - started, detail=one_line(error))
    worst = max(fitted.values(), key=lambda s: float(s.validation["max_pct"][0]))
    error = error_text("max error", worst.validation["max_pct"][0], worst.validation["full_scale"][0],
                       worst.output_units[0])
    points = "+".join(str(s.spec.n_points) for s in sweeps.values())
    return BlockResult(block.name, "built" if any(ran) else "refit", time.monotonic() - started, sorted(fitted),
                       f"{points} points, worst validation {error} in {worst.name}")


def record_names(block: str, corners: Iterable[str]) -> list[str]:
    """The ``/blocks`` records of a build of ``block``: one per corner (``block@corner``),
    or ``block`` itself for a build without corners."""
    return [f"{block}{CORNER_SEPARATOR}{c}" for c in corners] or [block]


def _corner_of(name: str) -> str:
    """The corner a library or record name belongs to ("" for a nominal one)."""
    return name.partition(CORNER_SEPARATOR)[2]


def _sweeps(options: _Build, block: Block) -> dict[str, _Sweep]:
    """The block's two sweeps, validated (a spec error names the block)."""
    corners = options.corners if block.corners else ()
    # one folder per corner set: a corner build must not overwrite the nominal sweeps
    # that the nominal records point to (and the other way round)
    folder = options.work / (f"{block.name}{CORNER_SEPARATOR}{'-'.join(corners)}" if corners else block.name)
    specs = block.sweep_specs(quick=options.quick, corners=options.corners, temps=options.temps)
    out = {}
    for kind in KINDS:
        text = yaml.safe_dump(specs[kind], sort_keys=False)
        yml = folder / f"{kind}.yaml"
        spec = parse_sweep_spec(specs[kind], source=str(yml), text=text)
        out[kind] = _Sweep(spec, text, yml, folder / f"{kind}.h5")
    return out


def _library_state(path: Path) -> tuple[set[str], dict[str, dict]]:
    """Names of the surrogates in the library and its block records (none if no file)."""
    if not path.exists():
        return set(), {}
    records = load_blocks(path)  # checks the file first
    with h5py.File(path, "r") as fh:
        return set(fh["surrogates"]), records


def _sweep_state(sweep: _Sweep) -> str:
    """"complete" or "partial" (a sweep file of this spec), else "new"."""
    try:
        with h5py.File(sweep.h5, "r") as fh:
            if str(fh.attrs.get("spec_sha256", "")) != sweep.spec.sha256:
                return "new"
            return "complete" if bool(fh.attrs.get("complete", False)) else "partial"
    except OSError:  # missing, or not a readable HDF5 file: replaced
        return "new"


def _run(options: _Build, sweep: _Sweep) -> bool:
    """Make ``sweep.h5`` a complete sweep of its spec; whether ngspice ran."""
    sweep.yaml.parent.mkdir(parents=True, exist_ok=True)
    if not sweep.yaml.exists() or sweep.yaml.read_text() != sweep.text:
        sweep.yaml.write_text(sweep.text)
    state = "new" if options.force else _sweep_state(sweep)
    if state == "complete":
        return False
    summary = run_sweep(sweep.spec, sweep.h5, resume=state == "partial", overwrite=state == "new", **options.run)
    if not summary.complete:
        raise LibraryError(f"{sweep.h5}: sweep stopped with {summary.counts['pending']} points pending; "
                           "run the build again to resume it")
    return True


def _fit(block: Block, sweeps: Mapping[str, _Sweep], fingerprint: str) -> dict:
    """The block's surrogates, scored on the validation sweep, with their provenance."""
    train, validation = sweeps["train"], sweeps["validation"]
    fitted = fit_surrogates(train.h5, outputs=list(block.outputs), validation_sweep_path=validation.h5,
                            models=list(block.models) if block.models else None,
                            output_scales=dict(block.output_scales), abs_tolerance=dict(block.tolerances),
                            name_template=f"{block.name}.{{output}}")
    spec = train.spec
    instances = dict(zip(spec.corners, spec.circuits)) if spec.corners else {"": spec.circuit}
    for s in fitted.values():
        p = s.provenance
        p.update(circuit_provenance(instances[str(p.get("corner", ""))]))
        p.update(library_block=block.name, block_fingerprint=fingerprint, block_circuit=block.circuit,
                 block_circuit_args=json.dumps(dict(spec.circuit_args), sort_keys=True),
                 temperatures=json.dumps(temperatures(spec)), ngspice_version=p.get("source_ngspice_version", ""),
                 training_sweep_sha256=p["source_sweep_sha256"], training_spec_sha256=spec.sha256,
                 validation_spec_sha256=validation.spec.sha256)
    return fitted


def _sweep_records(library: Path, sweeps: Mapping[str, _Sweep]) -> dict:
    """Per sweep: its file (relative to the library's folder), SHA-256, points, failed
    points and the seconds ngspice took (the file's ``updated`` - ``created``)."""
    out = {}
    for kind, sweep in sweeps.items():
        with h5py.File(sweep.h5, "r") as fh:
            attrs = dict(fh.attrs)
            failed = int((fh["status"][...] == 2).sum())
        seconds = (_dt.datetime.fromisoformat(str(attrs["updated"]))
                   - _dt.datetime.fromisoformat(str(attrs["created"]))).total_seconds()
        out.update({f"{kind}_sweep": os.path.relpath(sweep.h5, library.parent),
                    f"{kind}_sweep_sha256": file_sha256(sweep.h5), f"{kind}_points": int(sweep.spec.n_points),
                    f"{kind}_failed_points": failed, f"{kind}_seconds": seconds})
        out["ngspice_version"] = str(attrs.get("ngspice_version", ""))
    return out
