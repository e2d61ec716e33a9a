"""The HDF5 sweep file (schema ``cimspice.sweep`` v1, see docs/sweep_schema.md).

Every dataset is created at full length when the sweep starts, with ``status`` = -1
(pending), and filled in place as chunks of results arrive; ``complete`` is set last. A
sweep that dies therefore leaves a file that says which points are missing, never one that
reads as complete.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import h5py
import numpy as np

from .. import CimspiceError, __version__

SCHEMA = "cimspice.sweep"
SCHEMA_VERSION = 1
PENDING, OK, AIDED, FAILED = -1, 0, 1, 2
STATUS_CODES = {"pending": PENDING, "ok": OK, "aided": AIDED, "failed": FAILED}


class SweepFileError(CimspiceError):
    """A sweep file that cannot be created, resumed or read."""


def _pyspice_version() -> str:
    try:
        return version("PySpice")
    except PackageNotFoundError:
        return "not installed"


def spec_sha256(spec_text: str) -> str:
    return hashlib.sha256(spec_text.encode()).hexdigest()


class SweepWriter:
    """Creates a sweep file and fills it chunk by chunk.

    Parameters
    ----------
    path : path of the ``.h5`` file to create (refused if it exists, unless ``overwrite``).
    spec : the validated :class:`~cimspice.characterize.spec.SweepSpec`.
    points : name -> (n_points,) input values, as from :func:`sweep_points`.
    """

    def __init__(self, path, spec, points: dict[str, np.ndarray], *, overwrite: bool = False):
        self.path = Path(path)
        if self.path.exists() and not overwrite:
            raise SweepFileError(f"{self.path}: exists; choose another output or resume it")
        if not self.path.parent.is_dir():
            raise SweepFileError(f"{self.path}: folder {self.path.parent} does not exist")
        n = len(next(iter(points.values())))
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
                    "ngspice_version": "unknown",
                    "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
                    "circuit": circuit.name, "netlist": netlist,
                    "netlist_sha256": hashlib.sha256(netlist.encode()).hexdigest(),
                    "spec": spec.text, "spec_sha256": spec_sha256(spec.text),
                    "design": spec.design, "n_points": n, "complete": False,
                })
                chunk = (min(n, 4096),)
                inputs = f.create_group("inputs")
                for name, values in points.items():
                    p = circuit.parameter(name)
                    d = inputs.create_dataset(name, data=values, chunks=chunk)
                    d.attrs.update(units=p.unit, description=p.description, scale=p.scale)
                outputs = f.create_group("outputs")
                for name in spec.outputs:
                    m = circuit.measurement(name)
                    d = outputs.create_dataset(name, shape=(n,), dtype="f8", fillvalue=np.nan, chunks=chunk)
                    d.attrs.update(units=m.unit, description=m.description)
                status = f.create_dataset("status", shape=(n,), dtype="i1", fillvalue=PENDING, chunks=chunk)
                status.attrs["codes"] = json.dumps(STATUS_CODES)
                f.create_dataset("message", shape=(n,), dtype=h5py.string_dtype(), chunks=chunk)
                if spec.design == "grid":
                    grid = f.create_group("grid")
                    for axis in spec.axes:
                        grid.create_dataset(axis.name, data=np.array(axis.values))
                    f.attrs["grid_order"] = [a.name for a in spec.axes]
            os.replace(tmp, self.path)
        except OSError as error:
            tmp.unlink(missing_ok=True)
            raise SweepFileError(f"{self.path}: cannot write: {error.strerror or error}") from None
        self._file = h5py.File(self.path, "r+")
        self.n_points = n

    def write(self, index: np.ndarray, outputs: dict[str, np.ndarray], status: np.ndarray,
              messages: list[str]) -> None:
        """Store the results of the points ``index`` (sorted, unique) and flush to disk."""
        f = self._file
        index = np.asarray(index)
        for name, values in outputs.items():
            f["outputs"][name][index] = values
        f["message"][index] = messages
        f["status"][index] = status  # last: a point counts as done only once all is written
        f.flush()

    def set_attrs(self, **attrs) -> None:
        self._file.attrs.update(attrs)

    def finish(self) -> dict[str, int]:
        """Mark the file complete when no point is pending; return the status counts."""
        status = self._file["status"][...]
        counts = {k: int(np.sum(status == v)) for k, v in STATUS_CODES.items()}
        if counts["pending"] == 0:
            self._file.attrs["complete"] = True
        self._file.flush()
        return counts

    def close(self) -> None:
        if self._file:
            self._file.close()
            self._file = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
