"""Sweep data out: a sweep file as an ``xarray.Dataset`` or as a CSV table, for a designer's
own notebooks and spreadsheets (``cimspice export``; docs/sweep_schema.md).

Both read the file through :func:`~.sweep.read_sweep` (``all_points=True``: failed and
pending points too, their outputs NaN). NumPy and h5py only; xarray, an optional
dependency (``pip install 'cimspice[xarray]'``), is imported inside
:func:`open_sweep_dataset`.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import IO, Any

import h5py
import numpy as np

from ._hdf5 import plain_attr
from .errors import SurrogateError
from .sweep import SweepData, read_sweep

__all__ = ["STATUS_MEANINGS", "export_csv", "open_sweep_dataset"]

#: the sweep file's status codes (its /status attribute ``codes``)
STATUS_MEANINGS = {-1: "pending", 0: "ok", 1: "ok after convergence aids", 2: "failed"}


def _xarray():
    try:
        import xarray
    except ImportError:
        raise SurrogateError("open_sweep_dataset needs xarray, an optional dependency: "
                             "pip install 'cimspice[xarray]'") from None
    return xarray


def open_sweep_dataset(path: str | Path):
    """A sweep file as an ``xarray.Dataset``, every point of it.

    A grid sweep has one dimension per grid axis with more than one value, in the file's
    ``grid_order`` (``corner`` first, labelled by name, when corners were swept; then
    ``temp``, then the parameters), each with its values as the coordinate; an axis of one
    value (a fixed parameter) is a scalar coordinate. Any other design (lhs, random, list,
    montecarlo) has one dimension ``point`` (the point's index in the file), with the
    inputs, the ``corner`` and, for Monte Carlo, the ``mc_sample`` as coordinates along it.
    Outputs are data variables on those dimensions, NaN where a point failed or is pending;
    ``status`` (int8, codes in its ``flag_values`` / ``flag_meanings``) says which. Every
    variable and coordinate has a ``units`` attribute (SI as in the file, "" for none), the
    inputs also ``scale`` and ``description``; the Dataset's attributes are the file's root
    attributes (its provenance: spec, netlist, versions, ...; true/false as 1/0) plus
    ``source_file`` and ``source_sha256``.

    Raises :class:`SurrogateError` (one line) for an unreadable sweep file, and when xarray
    is not installed.
    """
    xr = _xarray()
    data = read_sweep(path, all_points=True)
    dims, shape, coords = _grid_layout(data) if data.design == "grid" else _point_layout(data)
    variables = {name: (dims, values.reshape(shape), {"units": data.output_units.get(name, ""),
                                                       "description": data.output_descriptions.get(name, "")})
                 for name, values in data.outputs.items()}
    variables["status"] = (dims, data.status.astype(np.int8).reshape(shape), _status_attrs())
    attrs = {**_root_attrs(data.path), "source_file": str(data.path), "source_sha256": data.sha256}
    return xr.Dataset(variables, coords=coords, attrs=attrs)


def _input_attrs(data: SweepData, name: str) -> dict[str, str]:
    return {"units": data.input_units.get(name, ""), "scale": data.input_scales.get(name, "linear"),
            "description": data.input_descriptions.get(name, "")}


def _corner_attrs() -> dict[str, str]:
    return {"units": "", "description": "process corner"}


def _status_attrs() -> dict[str, Any]:
    codes = sorted(STATUS_MEANINGS)
    return {"units": "", "flag_values": np.array(codes, dtype=np.int8),
            "flag_meanings": " ".join(STATUS_MEANINGS[c].replace(" ", "_") for c in codes),
            "description": "-1 pending, 0 ok, 1 ok after convergence aids, 2 failed (reason in the file's /message)"}


def _grid_layout(data: SweepData) -> tuple[list[str], list[int], dict[str, Any]]:
    """Dimensions, shape and coordinates of a grid sweep: point k of the file is the
    C-order index k over the axes (corner first when swept, then the ``grid_order`` of
    :func:`read_sweep`), checked against every point's inputs."""
    axes = [(name, axis) for name, axis in data.grid.items()]
    if data.corner is not None:
        axes.insert(0, ("corner", np.array(data.corner_labels, dtype=str)))
    sizes = [len(axis) for _, axis in axes]
    index = np.unravel_index(np.arange(data.n_points), sizes)
    for (name, axis), k in zip(axes, index):
        found, expected = (data.corner, k) if name == "corner" else (data.inputs[name], axis[k])
        if not np.array_equal(found, expected):
            raise SurrogateError(f"{data.label}: /inputs/{name} does not follow the C order of grid_order "
                                 "(docs/sweep_schema.md); cannot shape the points on the grid")
    dims = [name for (name, _), size in zip(axes, sizes) if size > 1]
    coords = {}
    for name, axis in axes:
        attrs = _corner_attrs() if name == "corner" else _input_attrs(data, name)
        coords[name] = ((name,), axis, attrs) if len(axis) > 1 else ((), axis[0], attrs)
    return dims, [size for size in sizes if size > 1], coords


def _point_layout(data: SweepData) -> tuple[list[str], list[int], dict[str, Any]]:
    """Dimension ``point`` (the file's point index) with the inputs, corner and Monte Carlo
    sample as coordinates along it."""
    n = data.n_points
    coords: dict[str, Any] = {"point": (("point",), np.arange(n), {"units": "", "description": "point in the file"})}
    if data.corner is not None:
        coords["corner"] = (("point",), np.array(data.corner_labels, dtype=str)[data.corner], _corner_attrs())
    for name, values in data.inputs.items():
        coords[name] = (("point",), values, _input_attrs(data, name))
    if data.mc_sample is not None:
        coords["mc_sample"] = (("point",), data.mc_sample, {"units": "", "description": "Monte Carlo sample "
                                                            "(device instance): its points share their draws"})
    return ["point"], [n], coords


def _root_attrs(path: Path) -> dict[str, Any]:
    """The sweep file's root attributes as plain values (true/false as 1/0, which every
    netCDF writer takes; string arrays as lists)."""
    attrs = {}
    with h5py.File(path, "r") as fh:
        for key, value in fh.attrs.items():
            value = plain_attr(value, f"/{key}")
            if isinstance(value, bool):
                value = int(value)
            elif isinstance(value, np.ndarray) and value.dtype == object:
                value = [str(v) for v in value.ravel()]
            attrs[key] = value
    return attrs


def export_csv(path: str | Path, csv_path: str | Path | IO[str]) -> Path | None:
    """Write every point of a sweep file as one CSV row: the inputs (``corner`` first when
    swept; grid order for a grid), ``mc_sample`` for Monte Carlo, the outputs, ``status``.

    The first line is a comment starting with ``#``: the source file, circuit, design, each
    column's unit and the status codes (``pandas.read_csv(f, comment="#")`` reads the rest;
    a units row would make every numeric column text). Then a header row of plain names.
    Numbers are written as Python's shortest round-trip text (``float(text)`` gives the
    stored value back); a missing output (a failed or pending point, or a measurement that
    failed) is an empty field. ``csv_path`` may be an open text file (e.g. ``sys.stdout``);
    a path is written through a temporary file, so a failure leaves no partial table.
    Returns the path written (None for a file object).
    """
    data = read_sweep(path, all_points=True)
    if not isinstance(csv_path, (str, Path)):
        _write_csv(data, csv_path)
        return None
    out = Path(csv_path)
    if out.exists() and out.resolve() == Path(path).resolve():
        raise SurrogateError(f"{out}: is the sweep file itself; write the CSV elsewhere")
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "w", newline="", encoding="utf-8") as fh:
            _write_csv(data, fh)
        os.replace(tmp, out)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise SurrogateError(f"{out}: cannot write the CSV: {exc.strerror or exc}") from None
    return out


def _csv_columns(data: SweepData) -> list[tuple[str, str, list[str]]]:
    """(name, unit, text of every point) of each column, in order."""
    columns = []
    if data.corner is not None:
        columns.append(("corner", "", [data.corner_labels[k] for k in data.corner]))
    columns += [(n, data.input_units.get(n, ""), _texts(v)) for n, v in data.inputs.items()]
    if data.mc_sample is not None:
        columns.append(("mc_sample", "", [str(k) for k in data.mc_sample.tolist()]))
    columns += [(n, data.output_units.get(n, ""), _texts(v)) for n, v in data.outputs.items()]
    columns.append(("status", "", [str(k) for k in data.status.tolist()]))
    return columns


def _texts(values: np.ndarray) -> list[str]:
    """Shortest round-trip text of each float; "" for NaN."""
    return ["" if v != v else repr(v) for v in values.tolist()]


def _write_csv(data: SweepData, fh: IO[str]) -> None:
    columns = _csv_columns(data)
    units = ", ".join(f"{name} [{unit}]" for name, unit, _ in columns if unit)
    codes = ", ".join(f"{k} {meaning}" for k, meaning in sorted(STATUS_MEANINGS.items()))
    fh.write(f"# cimspice sweep {data.path.name if data.path else ''}: circuit {data.attrs.get('circuit', '-')}, "
             f"design {data.design or '-'}, {data.n_points} points; units: {units or 'none'}; status: {codes} "
             "(empty output: no value)\n")
    writer = csv.writer(fh, lineterminator="\n")
    writer.writerow([name for name, _, _ in columns])
    writer.writerows(zip(*(texts for _, _, texts in columns)))
