"""Reading sweep files (``cimspice.sweep`` schema, see docs/sweep_schema.md)."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from ..validate import require_finite
from ._hdf5 import open_hdf5, plain_attr
from .errors import SurrogateError, one_line

__all__ = ["CORNER_INPUT", "SWEEP_SCHEMA", "SWEEP_SCHEMA_VERSION", "SweepData", "file_sha256", "read_sweep"]

log = logging.getLogger(__name__)

SWEEP_SCHEMA = "cimspice.sweep"
#: newest sweep schema version this reader understands
SWEEP_SCHEMA_VERSION = 2
#: status codes of usable points (0 ok, 1 ok after convergence aids)
OK_STATUS = (0, 1)
#: the categorical input of a sweep over process corners (an HDF5 enum, docs/sweep_schema.md)
CORNER_INPUT = "corner"


def file_sha256(path: str | Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass
class SweepData:
    """The usable points of a sweep (status 0 or 1), as NumPy arrays.

    Attributes
    ----------
    inputs : dict name -> ndarray (n,)
        Input values, units in ``input_units``; ordered as ``grid_order`` for a grid,
        else alphabetically (HDF5's order): select columns by name, e.g. ``X(names)``.
    outputs : dict name -> ndarray (n,)
        Output values; NaN where a measurement is missing at an otherwise usable point.
    input_units, output_units, input_scales : dict name -> str
        ``input_scales`` is the file's ``scale`` attribute ("linear" or "log"): from schema
        version 2 the scale each axis was spaced in; a version 1 file without it reads as
        "linear" (its attribute, when present, is the circuit's declared scale).
    design : str
        "grid", "lhs", "random", "list", "montecarlo", "corners" (or "" if unknown).
    grid : dict name -> ndarray or None
        The grid axes when ``design == "grid"``.
    point_index : ndarray (n,) of int
        Index of each kept point in the file.
    n_planned, n_failed, n_pending : int
    complete : bool
        The file's ``complete`` attribute (False for an interrupted sweep).
    attrs : dict
        Other root attributes (circuit, netlist_sha256, cimspice_version, ...).
    path : Path or None, sha256 : str
    corner : ndarray (n,) of int or None
        Process-corner code of each kept point when the sweep ran several corners
        (``/inputs/corner``); code k is ``corner_labels[k]``. The corner is categorical: it
        is not one of ``inputs`` (a surrogate interpolates between numbers, not between
        ``ff`` and ``ss``); :meth:`select_corner` gives the points of one corner.
    corner_labels : list of str
        The corners of the sweep (``[]`` when it did not sweep corners).
    mc_sample : ndarray (n,) of int or None
        Monte Carlo sample (device instance) of each kept point (``/mc_sample``, design
        "montecarlo" only): the points of one sample share their drawn parameters.
    status : ndarray (n,) of int or None
        Status code of each kept point (0 ok, 1 ok after convergence aids; with
        ``read_sweep(..., all_points=True)`` also 2 failed and -1 pending).
    """

    inputs: dict[str, np.ndarray]
    outputs: dict[str, np.ndarray]
    input_units: dict[str, str] = field(default_factory=dict)
    output_units: dict[str, str] = field(default_factory=dict)
    input_scales: dict[str, str] = field(default_factory=dict)
    input_descriptions: dict[str, str] = field(default_factory=dict)
    output_descriptions: dict[str, str] = field(default_factory=dict)
    design: str = ""
    grid: dict[str, np.ndarray] | None = None
    point_index: np.ndarray | None = None
    n_planned: int = 0
    n_failed: int = 0
    n_pending: int = 0
    complete: bool = True
    attrs: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None
    sha256: str = ""
    corner: np.ndarray | None = None
    corner_labels: list[str] = field(default_factory=list)
    mc_sample: np.ndarray | None = None
    status: np.ndarray | None = None

    @property
    def corners(self) -> list[str]:
        """Corners that have usable points, in the sweep's order (``[]`` without corners)."""
        if self.corner is None:
            return []
        present = set(np.unique(self.corner).tolist())
        return [c for k, c in enumerate(self.corner_labels) if k in present]

    def select_corner(self, corner: str) -> SweepData:
        """The usable points of one process corner, as a sweep without corners.

        A grid sweep stays a grid (the corner axis is dropped). ``attrs["corner"]`` names
        the corner; ``n_planned`` is per corner, ``n_failed`` and ``n_pending`` stay the
        whole file's. Raises :class:`SurrogateError` for a corner the sweep did not run or
        that has no usable point.
        """
        if self.corner is None:
            raise SurrogateError(f"{self.label}: the sweep has no corners (asked for corner {corner!r})")
        if corner not in self.corner_labels:
            raise SurrogateError(f"{self.label}: no corner {corner!r} (the sweep ran {self.corner_labels})")
        mask = self.corner == self.corner_labels.index(corner)
        if not mask.any():
            raise SurrogateError(f"{self.label}: no usable point at corner {corner!r}")
        return SweepData(
            inputs={k: v[mask] for k, v in self.inputs.items()},
            outputs={k: v[mask] for k, v in self.outputs.items()},
            input_units=dict(self.input_units),
            output_units=dict(self.output_units),
            input_scales=dict(self.input_scales),
            input_descriptions=dict(self.input_descriptions),
            output_descriptions=dict(self.output_descriptions),
            design=self.design,
            grid=None if self.grid is None else dict(self.grid),
            point_index=None if self.point_index is None else self.point_index[mask],
            n_planned=int(self.n_planned // max(len(self.corner_labels), 1)),
            n_failed=self.n_failed,  # whole-file counts: failed points are not kept, so not split by corner
            n_pending=self.n_pending,
            complete=self.complete,
            attrs={**self.attrs, "corner": corner},
            path=self.path,
            sha256=self.sha256,
            mc_sample=None if self.mc_sample is None else self.mc_sample[mask],
            status=None if self.status is None else self.status[mask],
        )

    @property
    def input_names(self) -> list[str]:
        return list(self.inputs)

    @property
    def output_names(self) -> list[str]:
        return list(self.outputs)

    @property
    def n_points(self) -> int:
        """Number of usable points held."""
        return int(next(iter(self.inputs.values())).size) if self.inputs else 0

    def X(self, names=None) -> np.ndarray:
        """Inputs as ``(n, len(names))`` (all inputs, in order, by default)."""
        names = self.input_names if names is None else list(names)
        return np.stack([self.inputs[n] for n in names], axis=1)

    @property
    def label(self) -> str:
        return str(self.path) if self.path is not None else "<in-memory sweep>"

    @classmethod
    def from_arrays(
        cls,
        inputs: Mapping[str, Any],
        outputs: Mapping[str, Any],
        *,
        input_units: Mapping[str, str] | None = None,
        output_units: Mapping[str, str] | None = None,
        input_scales: Mapping[str, str] | None = None,
        design: str = "list",
        grid: Mapping[str, Any] | None = None,
        circuit: str = "",
    ) -> SweepData:
        """Build from in-memory arrays (all of the same length ``n``)."""
        ins = {k: np.asarray(v, dtype=np.float64).reshape(-1) for k, v in inputs.items()}
        outs = {k: np.asarray(v, dtype=np.float64).reshape(-1) for k, v in outputs.items()}
        sizes = {a.size for a in (*ins.values(), *outs.values())}
        if len(sizes) != 1:
            raise SurrogateError(f"SweepData.from_arrays: arrays of different lengths {sorted(sizes)}")
        n = sizes.pop()
        return cls(
            inputs=ins,
            outputs=outs,
            input_units={k: (input_units or {}).get(k, "") for k in ins},
            output_units={k: (output_units or {}).get(k, "") for k in outs},
            input_scales={k: (input_scales or {}).get(k, "linear") for k in ins},
            design=design,
            grid=None if grid is None else {k: np.asarray(v, dtype=np.float64) for k, v in grid.items()},
            point_index=np.arange(n),
            n_planned=n,
            attrs={"circuit": circuit} if circuit else {},
        )


def _attr(obj: h5py.HLObject, key: str, default: Any = None) -> Any:
    if key not in obj.attrs:
        return default
    return plain_attr(obj.attrs[key], f"{obj.name}/{key}".replace("//", "/"))


def _str_list(value: Any) -> list[str]:
    """A list of names stored as a string array, a JSON list or a comma/space-separated str."""
    if isinstance(value, np.ndarray):
        return [str(v) for v in value.ravel()]
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            try:
                parsed = json.loads(text)
            except json.JSONDecodeError as exc:
                raise SurrogateError(f"grid_order: not a JSON list: {exc}") from None
            return [str(v) for v in parsed]
        return [v for v in text.replace(",", " ").split()]
    raise SurrogateError(f"grid_order: unreadable value {value!r:.60}")


def _read_column(group: h5py.Group, name: str, n: int) -> np.ndarray:
    ds = group[name]
    where = f"{group.name}/{name}"
    if not isinstance(ds, h5py.Dataset):
        raise SurrogateError(f"{where} is not a dataset")
    if ds.dtype.kind not in "fiu" or ds.dtype.names is not None:
        raise SurrogateError(f"{where}: dtype {ds.dtype.str!r}, expected numeric")
    if ds.shape != (n,):
        raise SurrogateError(f"{where}: shape {ds.shape}, expected ({n},) like /status")
    return np.asarray(ds[()], dtype=np.float64)


def read_sweep(path: str | Path, *, all_points: bool = False) -> SweepData:
    """Read the usable points (status 0 or 1) of a sweep file; with ``all_points``, every
    point, failed and pending ones included (their outputs NaN, ``status`` says which),
    e.g. to export the file (:mod:`.export`).

    Raises :class:`SurrogateError` naming the file for: a missing or unreadable file, a
    wrong ``schema``, a ``schema_version`` newer than :data:`SWEEP_SCHEMA_VERSION`,
    missing ``/inputs``, ``/outputs``, ``/status`` or grid datasets, inconsistent lengths,
    or no usable point. An incomplete sweep (``complete`` false) is read as it is (``complete``,
    ``n_pending``): what to do with it is the caller's decision.
    """
    path = Path(path)
    fh = open_hdf5(path, "sweep file")
    try:
        with fh:
            data = _read_open_sweep(fh, all_points)
    except SurrogateError as exc:
        raise SurrogateError(f"{path}: {exc}") from None
    except (OSError, KeyError, ValueError, TypeError, RuntimeError) as exc:
        raise SurrogateError(f"{path}: corrupt or unreadable sweep file: {one_line(exc)}") from None
    data.path = path
    data.sha256 = file_sha256(path)
    return data


def _read_open_sweep(fh: h5py.File, all_points: bool = False) -> SweepData:
    schema = _attr(fh, "schema")
    if schema != SWEEP_SCHEMA:
        raise SurrogateError(f"not a cimspice sweep file (schema {schema!r}, expected {SWEEP_SCHEMA!r})")
    version = _attr(fh, "schema_version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise SurrogateError(f"schema_version {version!r} is not an integer")
    if version > SWEEP_SCHEMA_VERSION:
        raise SurrogateError(
            f"sweep schema_version {version} is newer than this cimspice reads ({SWEEP_SCHEMA_VERSION}); "
            "upgrade cimspice"
        )
    if version < 1:
        raise SurrogateError(f"invalid sweep schema_version {version}")
    for name in ("inputs", "outputs"):
        if name not in fh or not isinstance(fh[name], h5py.Group):
            raise SurrogateError(f"group /{name} is missing")
    if "status" not in fh:
        raise SurrogateError("dataset /status is missing")
    status_ds = fh["status"]
    if not isinstance(status_ds, h5py.Dataset) or status_ds.ndim != 1 or status_ds.dtype.kind not in "iu":
        raise SurrogateError("/status must be a 1-D integer dataset")
    status = np.asarray(status_ds[()], dtype=np.int64)
    n = status.size
    design = str(_attr(fh, "design", ""))
    names = list(fh["inputs"])
    if not names:
        raise SurrogateError("/inputs holds no dataset")
    corner_codes, corner_labels = None, []
    if CORNER_INPUT in names:
        corner_codes, corner_labels = _read_corners(fh, n)
        names = [x for x in names if x != CORNER_INPUT]
    grid = None
    if design == "grid":
        listed = names + ([CORNER_INPUT] if corner_codes is not None else [])
        order = _str_list(_attr(fh, "grid_order", "")) if "grid_order" in fh.attrs else listed
        if sorted(order) != sorted(listed):
            raise SurrogateError(f"grid_order {order} does not list the inputs {listed}")
        if "grid" not in fh:
            raise SurrogateError("design is 'grid' but group /grid is missing")
        grid = {}
        order = [x for x in order if x != CORNER_INPUT]  # categorical: not an axis to interpolate
        for name in order:
            if name not in fh["grid"]:
                raise SurrogateError(f"dataset /grid/{name} is missing")
            axis = np.asarray(fh["grid"][name][()], dtype=np.float64).reshape(-1)
            grid[name] = axis
        names = order
        n_corners = len(corner_labels) if corner_codes is not None else 1
        if int(np.prod([a.size for a in grid.values()])) * n_corners != n:
            sizes = [str(a.size) for a in grid.values()] + ([str(n_corners)] if corner_codes is not None else [])
            raise SurrogateError(f"grid axes {'x'.join(sizes)} do not match the {n} points of /status")
    keep = np.isin(status, OK_STATUS) | all_points
    if not keep.any():
        raise SurrogateError(f"no usable point (status 0 or 1) among {n}")
    inputs, input_units, input_scales, input_desc = {}, {}, {}, {}
    for name in names:
        inputs[name] = _read_column(fh["inputs"], name, n)[keep]
        ds = fh["inputs"][name]
        input_units[name] = str(_attr(ds, "units", ""))
        input_desc[name] = str(_attr(ds, "description", ""))
        input_scales[name] = _input_scale(ds, version)
        require_finite(inputs[name], f"/inputs/{name} (usable points)", SurrogateError)
    outputs, output_units, output_desc = {}, {}, {}
    for name in fh["outputs"]:
        outputs[name] = _read_column(fh["outputs"], name, n)[keep]
        ds = fh["outputs"][name]
        output_units[name] = str(_attr(ds, "units", ""))
        output_desc[name] = str(_attr(ds, "description", ""))
    if not outputs:
        raise SurrogateError("/outputs holds no dataset")
    complete = bool(_attr(fh, "complete", False))
    n_pending = int(np.sum(status == -1))
    if not complete or n_pending:  # the fit refuses it, or warns and records it (surrogate.fit)
        log.info("sweep is incomplete: %d of %d points pending, %d usable", n_pending, n,
                 int(np.isin(status, OK_STATUS).sum()))
    attrs = {}
    for key in ("circuit", "netlist_sha256", "cimspice_version", "pyspice_version", "ngspice_version", "created"):
        if key in fh.attrs:
            attrs[key] = _attr(fh, key)
    return SweepData(
        inputs=inputs,
        outputs=outputs,
        input_units=input_units,
        output_units=output_units,
        input_scales=input_scales,
        input_descriptions=input_desc,
        output_descriptions=output_desc,
        design=design,
        grid=grid,
        point_index=np.flatnonzero(keep),
        n_planned=n,
        n_failed=int(np.sum(status == 2)),
        n_pending=n_pending,
        complete=complete,
        attrs=attrs,
        corner=None if corner_codes is None else corner_codes[keep],
        corner_labels=corner_labels,
        mc_sample=_read_mc_sample(fh, n, keep),
        status=status[keep],
    )


def _read_mc_sample(fh: h5py.File, n: int, keep: np.ndarray) -> np.ndarray | None:
    """``/mc_sample`` (design "montecarlo") at the kept points, or None without it."""
    if "mc_sample" not in fh:
        return None
    ds = fh["mc_sample"]
    if not isinstance(ds, h5py.Dataset) or ds.dtype.kind not in "iu" or ds.shape != (n,):
        raise SurrogateError(f"/mc_sample: expected an integer dataset of shape ({n},) like /status")
    return np.asarray(ds[()], dtype=np.int64)[keep]


def _input_scale(ds: h5py.Dataset, version: int) -> str:
    """An input's ``scale``: required from schema version 2 (the scale its axis was spaced
    in), "linear" when a version 1 file lacks it."""
    if "scale" not in ds.attrs and version >= 2:
        raise SurrogateError(f"{ds.name}: no 'scale' attribute (required from sweep schema_version 2)")
    scale = str(_attr(ds, "scale", "linear"))
    if scale not in ("linear", "log"):
        raise SurrogateError(f"{ds.name}: scale {scale!r} is neither 'linear' nor 'log'")
    return scale


def _read_corners(fh: h5py.File, n: int) -> tuple[np.ndarray, list[str]]:
    """Codes (n,) and labels of ``/inputs/corner``: an HDF5 enum {label: code}, else its
    ``labels`` attribute (JSON list), else the root ``corners`` attribute."""
    ds = fh["inputs"][CORNER_INPUT]
    where = f"/inputs/{CORNER_INPUT}"
    if not isinstance(ds, h5py.Dataset) or ds.dtype.kind not in "iu" or ds.shape != (n,):
        raise SurrogateError(f"{where}: expected an integer (enum) dataset of shape ({n},) like /status")
    mapping = h5py.check_enum_dtype(ds.dtype)
    if mapping:
        by_code = {int(code): str(label) for label, code in mapping.items()}
        if sorted(by_code) != list(range(len(by_code))):
            raise SurrogateError(f"{where}: enum codes {sorted(by_code)} are not 0..{len(by_code) - 1}")
        labels = [by_code[k] for k in range(len(by_code))]
    elif "labels" in ds.attrs:
        labels = _str_list(_attr(ds, "labels"))
    elif "corners" in fh.attrs:
        labels = _str_list(_attr(fh, "corners"))
    else:
        raise SurrogateError(f"{where}: no corner names (neither an enum type nor a 'labels' attribute)")
    if len(set(labels)) != len(labels) or not all(labels):
        raise SurrogateError(f"{where}: corner names {labels} are empty or repeated")
    codes = np.asarray(ds[()]).astype(np.int64)
    if codes.size and (codes.min() < 0 or codes.max() >= len(labels)):
        raise SurrogateError(f"{where}: codes outside 0..{len(labels) - 1} ({labels})")
    return codes, labels
