"""The HDF5 sweep file (schema ``cimspice.sweep`` v2, see docs/sweep_schema.md).

Every dataset is created at full length when the sweep starts, with ``status`` = -1
(pending). While the sweep runs the file is never written in place: results go to the
journal beside it (:mod:`.journal`), and every checkpoint folds the journal into a copy
that atomically replaces the file (``os.replace`` after ``fsync``). The file on disk is
therefore always a complete, readable HDF5 file, at worst one checkpoint behind, and
``complete`` turns true only in the fold that leaves no point pending.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import shutil
import uuid
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import h5py
import numpy as np

from .. import __version__
from .errors import SweepFileError
from .journal import Journal, Record
from .points import grid_axes
from .worker import AIDED, FAILED, OK, PENDING

SCHEMA = "cimspice.sweep"
#: 2: each input's ``scale`` is the scale its axis was spaced in (v1 wrote the circuit's declared one)
SCHEMA_VERSION = 2
STATUS_CODES = {"pending": PENDING, "ok": OK, "aided": AIDED, "failed": FAILED}


def _pyspice_version() -> str:
    try:
        return version("PySpice")
    except PackageNotFoundError:
        return "not installed"


def _now() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")


def _runs(index: np.ndarray):
    """``(start, stop, lo, hi)``: contiguous runs of a sorted index array, as file slices
    ``[start:stop]`` and positions ``[lo:hi]`` in the array (slices write far faster than
    h5py's point selections)."""
    breaks = np.flatnonzero(np.diff(index) != 1) + 1
    edges = np.concatenate([[0], breaks, [len(index)]])
    for lo, hi in zip(edges[:-1], edges[1:]):
        yield int(index[lo]), int(index[hi - 1]) + 1, int(lo), int(hi)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class SweepStore:
    """A sweep file being written: created new, replaced (``overwrite``) or resumed.

    Parameters
    ----------
    path : the ``.h5`` sweep file.
    spec : the validated :class:`~cimspice.characterize.spec.SweepSpec`.
    points : name -> (n_points,) inputs, as from :func:`~cimspice.characterize.points.sweep_points`.
    resume : continue an existing file of the same spec (refused if its spec differs);
        a missing file is simply started.
    overwrite : replace an existing file.
    """

    def __init__(self, path, spec, points: dict[str, np.ndarray], *, resume: bool = False,
                 overwrite: bool = False):
        self.path = Path(path)
        self.spec = spec
        self.n_points = len(next(iter(points.values())))
        if not self.path.parent.is_dir():
            raise SweepFileError(f"{self.path}: folder {self.path.parent} does not exist")
        exists = self.path.exists()
        if exists and not (resume or overwrite):
            raise SweepFileError(f"{self.path}: exists; use --resume to continue it or --force to replace it")
        if exists and resume:
            self.sweep_id = self._check_existing(points)  # read-only: a refused file is not touched
        self.created = False  # True when this object made the file (not resumed)
        journal_path = self.path.with_name(self.path.name + ".journal")
        journal_existed = journal_path.exists()
        self.journal = Journal(journal_path, owner=self.path)
        self.ngspice_version = ""
        try:
            for stale in self.path.parent.glob(f".{self.path.name}.*.tmp"):
                stale.unlink(missing_ok=True)  # a copy a killed writer left; we hold the lock
            if exists and resume:
                records = self.journal.read()
                if records is None or self.journal.sweep_id != self.sweep_id:
                    self.journal.start(self.sweep_id)  # no journal, or one of an older file
                elif records:
                    self.fold(records)
            else:
                self.sweep_id = uuid.uuid4().hex
                self._create(points)
                self.journal.start(self.sweep_id)
                self.created = True
        except BaseException:
            self.journal.close(remove=not journal_existed)
            raise
        self._since_fold = 0

    # ------------------------------------------------------------------ creating, checking
    def _check_existing(self, points) -> str:
        try:
            f = h5py.File(self.path, "r")
        except OSError as error:
            raise SweepFileError(f"{self.path}: not a readable HDF5 sweep file ({error}); "
                                 f"use another output or --force to replace it") from None
        with f:
            schema, ver = f.attrs.get("schema"), f.attrs.get("schema_version")
            if schema != SCHEMA:
                raise SweepFileError(f"{self.path}: not a cimspice sweep file (schema {schema!r})")
            if ver is None or int(ver) > SCHEMA_VERSION:
                raise SweepFileError(f"{self.path}: sweep schema_version {ver} is newer than this cimspice writes")
            old = str(f.attrs.get("spec_sha256", ""))
            if old != self.spec.sha256 or "sweep_id" not in f.attrs:
                raise SweepFileError(f"{self.path}: written by a different sweep spec (hash {old[:12]}, this spec "
                                     f"{self.spec.sha256[:12]}); use another output or --force to replace it")
            if int(f.attrs["n_points"]) != self.n_points or any(
                    name not in f["inputs"] or not np.array_equal(f["inputs"][name][...], values)
                    for name, values in points.items()):
                raise SweepFileError(f"{self.path}: its points differ from this spec's (another version of "
                                     f"the point generator?); use another output or --force")
            return str(f.attrs["sweep_id"])

    def _create(self, points: dict[str, np.ndarray]) -> None:
        spec, n = self.spec, self.n_points
        circuit = spec.circuit
        # Build the empty file beside the target and rename it into place, so an existing
        # file is never half-replaced and a failed start leaves nothing behind.
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        try:
            with h5py.File(tmp, "w") as f:
                netlist = circuit.netlist()
                f.attrs.update({
                    "schema": SCHEMA, "schema_version": SCHEMA_VERSION,
                    "cimspice_version": __version__, "pyspice_version": _pyspice_version(),
                    "ngspice_version": "unknown", "created": _now(), "updated": _now(),
                    "circuit": circuit.name, "netlist": netlist,
                    "netlist_sha256": hashlib.sha256(netlist.encode()).hexdigest(),
                    "spec": spec.text, "spec_sha256": spec.sha256,
                    "spec_normalized": json.dumps(spec.normalized(), sort_keys=True),
                    "sweep_id": self.sweep_id, "design": spec.design, "n_points": n, "complete": False,
                })
                if spec.corners:
                    f.attrs["corners"] = list(spec.corners)
                    f.attrs["corner_netlists"] = json.dumps(
                        {c: x.netlist() for c, x in zip(spec.corners, spec.circuits)})
                if spec.design == "montecarlo":
                    f.attrs.update(samples=spec.samples, seed=spec.seed, montecarlo=json.dumps(
                        {v.name: {"mean": v.mean, "sigma": v.sigma} for v in spec.variations}))
                elif spec.design in ("lhs", "random"):
                    f.attrs.update(samples=spec.samples, seed=spec.seed)
                chunk = (max(1, min(n, 16384)),)
                inputs = f.create_group("inputs")
                for name, values in points.items():
                    if name == "corner":
                        self._corner_dataset(inputs, values, chunk)
                        continue
                    p = circuit.parameter(name)
                    d = inputs.create_dataset(name, data=values, chunks=chunk)
                    d.attrs.update(units=p.unit, description=p.description, scale=spec.scale(name))
                outputs = f.create_group("outputs")
                for name in spec.outputs:
                    m = circuit.measurement(name)
                    d = outputs.create_dataset(name, shape=(n,), dtype="f8", fillvalue=np.nan, chunks=chunk)
                    d.attrs.update(units=m.unit, description=m.description)
                status = f.create_dataset("status", shape=(n,), dtype="i1", fillvalue=PENDING, chunks=chunk)
                status.attrs["codes"] = json.dumps(STATUS_CODES)
                f.create_dataset("message", shape=(n,), dtype=h5py.string_dtype(), chunks=chunk)
                if spec.design == "montecarlo":
                    d = f.create_dataset("mc_sample", data=np.arange(n, dtype=np.int32) % spec.samples, chunks=chunk)
                    d.attrs["description"] = "Monte Carlo sample (device instance) of each point"
                axes = grid_axes(spec)
                if axes is not None:
                    grid = f.create_group("grid")
                    for name, values in axes.items():
                        grid.create_dataset(name, data=values)
                    f.attrs["grid_order"] = list(axes)
            _fsync(tmp)
            os.replace(tmp, self.path)
        except OSError as error:
            tmp.unlink(missing_ok=True)
            raise SweepFileError(f"{self.path}: cannot write: {error.strerror or error}") from None

    def _corner_dataset(self, inputs: h5py.Group, codes: np.ndarray, chunk) -> None:
        labels = list(self.spec.corners)
        dtype = h5py.enum_dtype({c: k for k, c in enumerate(labels)}, basetype="i1")
        d = inputs.create_dataset("corner", data=codes.astype(np.int8), dtype=dtype, chunks=chunk)
        d.attrs.update(units="", scale="linear", labels=json.dumps(labels),
                       description="process corner: " + ", ".join(f"{k}={c}" for k, c in enumerate(labels)))

    # ------------------------------------------------------------------ state
    def status(self) -> np.ndarray:
        with h5py.File(self.path, "r") as f:
            return f["status"][...]

    def pending(self) -> np.ndarray:
        """Indices of the points without a final status, ascending."""
        return np.flatnonzero(self.status() == PENDING)

    def counts(self, status: np.ndarray | None = None) -> dict[str, int]:
        status = self.status() if status is None else status
        return {k: int(np.sum(status == v)) for k, v in STATUS_CODES.items()}

    # ------------------------------------------------------------------ writing
    def append(self, record: Record) -> None:
        """Store results: one journal record, on disk before this returns."""
        self.journal.append(record)
        self._since_fold += 1
        if record.ngspice_version:
            self.ngspice_version = record.ngspice_version

    def journal_bytes(self) -> int:
        return self.journal.size()

    def fold(self, records: list[Record] | None = None) -> dict[str, int]:
        """Checkpoint: write the journal's records into a copy of the file, replace the file
        with it atomically, empty the journal. Returns the status counts."""
        records = self.journal.read() if records is None else records
        if not records:
            return self.counts()  # nothing new: the file already says all there is
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        try:
            shutil.copyfile(self.path, tmp)
            with h5py.File(tmp, "r+") as f:
                if int(f.attrs["schema_version"]) < SCHEMA_VERSION:
                    self._upgrade(f)
                for record in records:
                    self._write(f, record)
                    if record.ngspice_version:
                        self.ngspice_version = record.ngspice_version
                status = f["status"][...]
                counts = self.counts(status)
                f.attrs["complete"] = counts["pending"] == 0
                f.attrs["updated"] = _now()
                if self.ngspice_version:
                    f.attrs["ngspice_version"] = self.ngspice_version
            _fsync(tmp)
            os.replace(tmp, self.path)
            _fsync(self.path.parent)
        except OSError as error:
            tmp.unlink(missing_ok=True)
            raise SweepFileError(f"{self.path}: cannot update: {error.strerror or error}") from None
        self.journal.start(self.sweep_id)
        self._since_fold = 0
        return counts

    def _upgrade(self, f: h5py.File) -> None:
        """Bring a resumed v1 file to this schema: its inputs' ``scale`` becomes the spec's
        (the spec hash matched, so its axes are the file's)."""
        for name, d in f["inputs"].items():
            if name != "corner":
                d.attrs["scale"] = self.spec.scale(name)
        f.attrs["schema_version"] = SCHEMA_VERSION

    @staticmethod
    def _write(f: h5py.File, record: Record) -> None:
        index = np.asarray(record.index)
        positions = sorted(record.messages)
        for start, stop, lo, hi in _runs(index):
            for name, values in record.outputs.items():
                f["outputs"][name][start:stop] = values[lo:hi]
            if positions and positions[-1] >= lo and any(lo <= p < hi for p in positions):
                f["message"][start:stop] = [record.messages.get(p, "") for p in range(lo, hi)]
            f["status"][start:stop] = record.status[lo:hi]

    def discard(self) -> None:
        """Remove a file this object created and no result reached (a sweep that never started)."""
        if self.journal._fd is not None:
            self.journal.close(remove=True)
            self.path.unlink(missing_ok=True)

    def close(self) -> None:
        """Fold what the journal holds and release the file (the journal goes with it)."""
        if self.journal._fd is None:
            return
        folded = False
        try:
            if self._since_fold:
                self.fold()
            folded = True
        finally:
            self.journal.close(remove=folded)  # a journal that could not be folded is kept for --resume
