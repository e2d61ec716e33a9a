"""Sweep specs, point generation, the HDF5 sweep file, and a real sweep of the 1T1R cell."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from cimspice.characterize import SpecError, SweepFileError, load_spec, parse_spec, run_sweep, sweep_points
from cimspice.circuits import get_circuit
from cimspice.circuits.devices import RERAM

GRID = {
    "circuit": "cell_1t1r",
    "parameters": {
        "g": {"start": 1e-6, "stop": 1e-4, "num": 3, "scale": "log"},
        "v_bl": {"values": [0.05, 0.1, 0.2, 0.25]},
        "v_wl": {"start": 0.6, "stop": 1.2, "num": 2},
        "temp": 27,
    },
    "outputs": ["i_cell"],
}


def test_grid_points_are_c_order_over_the_axes():
    spec = parse_spec(GRID)
    points = sweep_points(spec)
    assert len(points["g"]) == 3 * 4 * 2
    axes = [np.array(a.values) for a in spec.axes]
    for k in (0, 5, 17, 23):
        i, j, m = np.unravel_index(k, (3, 4, 2))
        assert (points["g"][k], points["v_bl"][k], points["v_wl"][k]) == (axes[0][i], axes[1][j], axes[2][m])
    assert np.all(points["temp"] == 27)
    np.testing.assert_allclose(axes[0], [1e-6, 1e-5, 1e-4])


def test_lhs_points_are_stratified_in_each_dimension():
    spec = parse_spec({**GRID, "design": "lhs", "samples": 50, "seed": 3,
                       "parameters": {"g": {"start": 1e-6, "stop": 1e-4, "scale": "log"},
                                      "v_bl": {"start": 0.0, "stop": 0.3}}})
    points = sweep_points(spec)
    u = np.log(points["g"] / 1e-6) / np.log(100)
    assert sorted(np.floor(u * 50).astype(int)) == list(range(50))
    assert sorted(np.floor(points["v_bl"] / 0.3 * 50).astype(int)) == list(range(50))
    again = sweep_points(spec)
    np.testing.assert_array_equal(points["g"], again["g"])


@pytest.mark.parametrize("change, message", [
    ({"circuit": "nosuch"}, "unknown circuit 'nosuch'"),
    ({"design": "sobolish"}, "design: 'sobolish'"),
    ({"parameters": {"v_xx": {"values": [1.0]}}}, "unknown parameter 'v_xx'"),
    ({"parameters": {"v_bl": {"values": [0.1, 5.0]}}}, "v_bl: 5 V outside the circuit's bounds"),
    ({"parameters": {"g": {"values": ["10u"]}}}, "not a number"),
    ({"parameters": {"v_bl": {"start": 0.0, "stop": 0.3, "num": 0}}}, "num: expected a positive integer"),
    ({"parameters": {"v_bl": {"values": [0.1], "unit": "mV"}}}, "unit: 'mV' but cell_1t1r.v_bl is in 'V'"),
    ({"outputs": ["i_nope"]}, "unknown measurement 'i_nope'"),
    ({"frobnicate": 1}, "unknown field"),
])
def test_bad_specs_name_the_field(change, message):
    with pytest.raises(SpecError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_spec({**GRID, **change}, source="spec.yaml")


def test_malformed_yaml_names_the_file_and_line(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("circuit: cell_1t1r\nparameters:\n  g: [1, 2\n")
    with pytest.raises(SpecError, match=r"bad.yaml: malformed YAML at line \d+"):
        load_spec(path)
    with pytest.raises(SpecError, match="missing.yaml: cannot read spec"):
        load_spec(tmp_path / "missing.yaml")


def test_cell_sweep_file_schema_and_values(tmp_path, batch):
    spec = parse_spec(GRID)
    out = tmp_path / "cell.h5"
    counts = run_sweep(spec, out, progress=False)
    assert counts == {"pending": 0, "ok": 24, "aided": 0, "failed": 0}
    with h5py.File(out, "r") as f:
        assert f.attrs["schema"] == "cimspice.sweep" and f.attrs["schema_version"] == 1
        assert bool(f.attrs["complete"]) and f.attrs["ngspice_version"] == "39"
        assert f["inputs/g"].attrs["units"] == "S" and f["inputs/g"].attrs["scale"] == "log"
        assert f["outputs/i_cell"].attrs["units"] == "A"
        assert list(f.attrs["grid_order"]) == ["g", "v_bl", "v_wl"]
        g, v_bl, v_wl = (f["inputs"][n][...] for n in ("g", "v_bl", "v_wl"))
        current = f["outputs/i_cell"][...]
    # An independent ngspice -b process on the same netlist, at three of the points.
    netlist = get_circuit("cell_1t1r").netlist()
    for k in (0, 11, 23):
        gk, vb, vw = float(g[k]), float(v_bl[k]), float(v_wl[k])
        deck = (netlist.replace(f".param g={RERAM.g_ref!r}", f".param g={gk!r}")
                .replace("vbl bl 0 dc 0.2", f"vbl bl 0 dc {vb!r}")
                .replace("vwl wl 0 dc 1.1", f"vwl wl 0 dc {vw!r}"))
        assert deck.count(f"g={gk!r}") == 1
        assert current[k] == pytest.approx(batch(deck, ["i(vsl)"])["i(vsl)"], rel=1e-6)
    # Physics: at a fixed state the current grows with both voltages.
    cube = current.reshape(3, 4, 2)
    assert np.all(np.diff(cube, axis=1) > 0) and np.all(np.diff(cube, axis=2) > 0)
    # The access transistor only ever takes voltage away from the ReRAM: within gate
    # leakage (< 1 nA at 45 nm), the cell carries no more than the ReRAM alone at v_bl.
    reram_alone = g * RERAM.v0 * np.sinh(v_bl / RERAM.v0)
    assert np.all(current <= reram_alone + 1e-9)


def test_existing_sweep_file_is_not_touched(tmp_path):
    out = tmp_path / "keep.h5"
    out.write_bytes(b"precious")
    with pytest.raises(SweepFileError, match="keep.h5: exists"):
        run_sweep(parse_spec(GRID), out, progress=False)
    assert out.read_bytes() == b"precious"
    with pytest.raises(SweepFileError, match="does not exist"):
        run_sweep(parse_spec(GRID), tmp_path / "no" / "dir.h5", progress=False)


@pytest.mark.slow
def test_two_workers_give_the_same_file_as_one(tmp_path):
    spec = parse_spec(GRID)
    run_sweep(spec, tmp_path / "one.h5", progress=False)
    run_sweep(spec, tmp_path / "two.h5", workers=2, chunk_size=5, progress=False)
    with h5py.File(tmp_path / "one.h5", "r") as a, h5py.File(tmp_path / "two.h5", "r") as b:
        np.testing.assert_array_equal(a["outputs/i_cell"][...], b["outputs/i_cell"][...])
        np.testing.assert_array_equal(a["status"][...], b["status"][...])
