"""Sweep data out: a real ngspice sweep file as an xarray.Dataset (named grid dimensions,
units, provenance, failed points NaN) and as CSV (`cimspice export`), checked against the
file read with plain h5py."""

from __future__ import annotations

import csv
import subprocess
import sys

import h5py
import numpy as np
import pytest
from small_sweeps import K_VALUES, cell_corners, failing_grid, reram_montecarlo

from cimspice.surrogate import file_sha256, open_sweep_dataset, read_sweep


@pytest.fixture(scope="module")
def sweeps(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sweeps")
    return {"pvt": cell_corners(folder), "exp": failing_grid(folder), "mc": reram_montecarlo(folder)}


def raw(path) -> dict:
    """Every dataset and root attribute of a sweep file, with plain h5py."""
    with h5py.File(path, "r") as f:
        arrays = {f"{g}/{n}": f[g][n][...] for g in ("inputs", "outputs") for n in f[g]}
        arrays["status"] = f["status"][...]
        return {**arrays, "attrs": dict(f.attrs)}


def test_grid_sweep_is_a_dataset_on_named_dimensions(sweeps):
    path = sweeps["pvt"]
    ds = open_sweep_dataset(path)
    assert ds["i_cell"].dims == ("corner", "g", "v_bl")  # grid order; temp and v_wl have one value
    assert list(ds["corner"].values) == ["ss", "ff"]
    np.testing.assert_array_equal(ds["g"], [1e-5, 1e-4])
    np.testing.assert_array_equal(ds["v_bl"], [0.1, 0.2, 0.3])
    assert ds["temp"].ndim == 0 and float(ds["temp"]) == 27 and float(ds["v_wl"]) == 1.1
    units = {name: ds[name].attrs["units"] for name in ds.variables}
    assert units == {"i_cell": "A", "status": "", "corner": "", "g": "S", "v_bl": "V", "v_wl": "V", "temp": "degC"}
    assert ds["g"].attrs["scale"] == "log"
    data = read_sweep(path)  # every point, by its own coordinates
    for k in range(data.n_points):
        at = {"corner": data.corner_labels[data.corner[k]], "g": data.inputs["g"][k], "v_bl": data.inputs["v_bl"][k]}
        assert float(ds["i_cell"].sel(at)) == data.outputs["i_cell"][k]
    f = raw(path)
    assert ds.attrs["spec"] == f["attrs"]["spec"] and ds.attrs["netlist_sha256"] == f["attrs"]["netlist_sha256"]
    assert ds.attrs["source_sha256"] == file_sha256(path) and ds.attrs["complete"] == 1
    assert ds.attrs["corners"] == ["ss", "ff"]


def test_failed_points_are_nan_on_the_grid(sweeps):
    ds = open_sweep_dataset(sweeps["exp"])
    f = raw(sweeps["exp"])
    assert ds["v_out"].dims == ("temp", "k", "r") and ds["v_out"].shape == (2, 3, 2)
    np.testing.assert_array_equal(ds["k"], K_VALUES)  # the file's order, not sorted
    status = f["status"].reshape(2, 3, 2)  # C order of grid_order (docs/sweep_schema.md)
    assert (status[:, 1, :] == 2).all() and (np.delete(status, 1, axis=1) == 0).all()
    np.testing.assert_array_equal(ds["status"], status)
    np.testing.assert_array_equal(np.isnan(ds["v_out"]), status == 2)
    np.testing.assert_array_equal(ds["v_out"].values.ravel(), f["outputs/v_out"])
    assert ds["v_out"].attrs["units"] == "V" and ds["temp"].attrs["units"] == "degC"


def test_montecarlo_sweep_is_a_dataset_of_points(sweeps):
    ds = open_sweep_dataset(sweeps["mc"])
    f = raw(sweeps["mc"])
    assert ds["i"].dims == ("point",) and ds.sizes["point"] == 24
    for name in ("d_lng", "v"):
        assert ds[name].dims == ("point",)
        np.testing.assert_array_equal(ds[name], f[f"inputs/{name}"])
    np.testing.assert_array_equal(ds["mc_sample"], np.tile(np.arange(12), 2))
    np.testing.assert_array_equal(ds["i"], f["outputs/i"])
    assert ds["i"].attrs["units"] == "A" and ds.attrs["design"] == "montecarlo"
    # one device instance at both read voltages: the same draw
    assert ds["d_lng"].where(ds["mc_sample"] == 4, drop=True).values.tolist() == [f["inputs/d_lng"][4]] * 2


def test_csv_round_trips_every_point(sweeps, tmp_path):
    path = sweeps["exp"]
    run = subprocess.run([sys.executable, "-m", "cimspice.cli", "export", str(path), "-o", str(tmp_path / "exp.csv")],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == f"wrote {tmp_path / 'exp.csv'}"
    lines = (tmp_path / "exp.csv").read_text().splitlines()
    assert lines[0].startswith("# cimspice sweep exp.h5: circuit exp, design grid, 12 points; units: temp [degC], ")
    assert "v_out [V]" in lines[0] and "2 failed" in lines[0]
    rows = list(csv.reader(lines[1:]))
    assert rows[0] == ["temp", "k", "r", "v_out", "status"] and len(rows) == 13
    f = raw(path)
    columns = list(zip(*rows[1:]))
    for name, texts in zip(rows[0], columns):
        stored = f["status"] if name == "status" else f[f"outputs/{name}" if name == "v_out" else f"inputs/{name}"]
        values = np.array([float(t) if t else np.nan for t in texts])
        np.testing.assert_array_equal(values, stored)  # bit for bit; NaN where empty
    assert [t == "" for t in columns[3]] == list(f["status"] == 2)


def test_csv_reads_back_in_pandas(sweeps, tmp_path):
    import pandas

    from cimspice.surrogate import export_csv

    export_csv(sweeps["pvt"], tmp_path / "pvt.csv")
    table = pandas.read_csv(tmp_path / "pvt.csv", comment="#")
    assert list(table.columns) == ["corner", "temp", "g", "v_bl", "v_wl", "i_cell", "status"]
    assert list(table["corner"]) == ["ss"] * 6 + ["ff"] * 6
    np.testing.assert_array_equal(table["i_cell"], raw(sweeps["pvt"])["outputs/i_cell"])


def test_without_xarray_the_error_names_the_extra(sweeps):
    code = ("import sys; sys.modules['xarray'] = None\n"  # as if it were not installed
            "from cimspice.surrogate import open_sweep_dataset\n"
            f"open_sweep_dataset({str(sweeps['mc'])!r})\n")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert run.returncode != 0
    assert run.stderr.strip().splitlines()[-1] == ("cimspice.surrogate.errors.SurrogateError: open_sweep_dataset "
                                                   "needs xarray, an optional dependency: pip install "
                                                   "'cimspice[xarray]'")
