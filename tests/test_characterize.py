"""Sweep specs, point generation, the HDF5 sweep file, and a real sweep of the 1T1R cell."""

from __future__ import annotations

import subprocess
import sys

import h5py
import numpy as np
import pytest

from cimspice.characterize import SpecError, SweepFileError, load_sweep_spec, parse_sweep_spec, run_sweep, sweep_points
from cimspice.circuits import get_circuit
from cimspice.circuits.devices import RERAM
from cimspice.paths import netlist_path
from cimspice.surrogate.sweep import read_sweep

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
    spec = parse_sweep_spec(GRID)
    points = sweep_points(spec)
    assert len(points["g"]) == 3 * 4 * 2
    axes = [np.array(a.values) for a in spec.axes]
    for k in (0, 5, 17, 23):
        i, j, m = np.unravel_index(k, (3, 4, 2))
        assert (points["g"][k], points["v_bl"][k], points["v_wl"][k]) == (axes[0][i], axes[1][j], axes[2][m])
    assert np.all(points["temp"] == 27)
    np.testing.assert_allclose(axes[0], [1e-6, 1e-5, 1e-4])


def test_lhs_points_are_stratified_in_each_dimension():
    spec = parse_sweep_spec({**GRID, "design": "lhs", "samples": 50, "seed": 3,
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
    ({"parameters": {"g": {"values": ["10u5"]}}}, "g.values: expected a number in S (e.g. 0.6, 600m"),
    ({"parameters": {"v_bl": {"start": 0.0, "stop": 0.3, "num": 0}}}, "num: expected a positive integer"),
    ({"parameters": {"v_bl": {"values": [0.1], "unit": "mV"}}}, "unit: 'mV' but cell_1t1r.v_bl is in 'V'"),
    ({"outputs": ["i_nope"]}, "unknown measurement 'i_nope'"),
    ({"frobnicate": 1}, "unknown field"),
    ({"design": "lhs", "samples": 4, "parameters": {"v_bl": {"values": [0.0, 0.3], "scale": "log"}}},
     "v_bl: a log scale needs positive values"),  # was accepted: every point NaN
    ({"parameters": {"v_bl": {"start": 0.0, "stop": 0.3, "num": 10**9}}},
     "num: 1,000,000,000 values, more than max_points"),
    ({"parameters": {"g": 1e-5, "v_bl": {"start": 0.0, "stop": 0.3, "num": 5000},
                     "v_wl": {"start": 0.6, "stop": 1.2, "num": 5000}}},
     "the sweep has 25,000,000 points, more than max_points (10,000,000)"),
])
def test_bad_specs_name_the_field(change, message):
    with pytest.raises(SpecError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_sweep_spec({**GRID, **change}, source="spec.yaml")


def test_malformed_yaml_names_the_file_and_line(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("circuit: cell_1t1r\nparameters:\n  g: [1, 2\n")
    with pytest.raises(SpecError, match=r"bad.yaml: malformed YAML at line \d+"):
        load_sweep_spec(path)
    with pytest.raises(SpecError, match="missing.yaml: cannot read spec"):
        load_sweep_spec(tmp_path / "missing.yaml")


def test_cell_sweep_file_schema_and_values(tmp_path, batch):
    spec = parse_sweep_spec(GRID)
    out = tmp_path / "cell.h5"
    counts = run_sweep(spec, out, executor="inline", progress=False).counts
    assert counts == {"pending": 0, "ok": 24, "aided": 0, "failed": 0}
    with h5py.File(out, "r") as f:
        assert f.attrs["schema"] == "cimspice.sweep" and f.attrs["schema_version"] == 2
        assert bool(f.attrs["complete"]) and f.attrs["ngspice_version"] == "39"
        assert f["inputs/g"].attrs["units"] == "S" and f["inputs/g"].attrs["scale"] == "log"
        assert f["outputs/i_cell"].attrs["units"] == "A"
        assert list(f.attrs["grid_order"]) == ["g", "v_bl", "v_wl", "temp"]  # fixed: one-value axis
        assert list(f["grid/temp"][...]) == [27.0]
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
        assert current[k] == pytest.approx(batch(deck, ["i(vsl)"])["i(vsl)"], rel=1e-6, abs=0)
    # Physics: at a fixed state the current grows with both voltages.
    cube = current.reshape(3, 4, 2)
    assert np.all(np.diff(cube, axis=1) > 0) and np.all(np.diff(cube, axis=2) > 0)
    # The access transistor only ever takes voltage away from the ReRAM: within gate
    # leakage, the cell carries no more than the ReRAM alone at v_bl. The 450 nm access
    # device leaks 2.8 nA from a 1.2 V word line at v_bl = 0 (1.1 nA at 180 nm): 4 nA bound.
    reram_alone = g * RERAM.v0 * np.sinh(v_bl / RERAM.v0)
    assert np.all(current <= reram_alone + 4e-9)


def test_existing_sweep_file_is_not_touched(tmp_path):
    out = tmp_path / "keep.h5"
    out.write_bytes(b"precious")
    with pytest.raises(SweepFileError, match="keep.h5: exists"):
        run_sweep(parse_sweep_spec(GRID), out, progress=False)
    assert out.read_bytes() == b"precious"
    with pytest.raises(SweepFileError, match="does not exist"):
        run_sweep(parse_sweep_spec(GRID), tmp_path / "no" / "dir.h5", progress=False)


def test_sweep_processes_do_not_import_scipy():
    """SciPy's import is ~50 MB of resident memory in every process: a 100,000-point sweep
    with 2 workers peaked at 322 MB (benchmarks/sweep.py) because each worker and the parent
    imported scipy.optimize through the circuit registry, which no sweep of theirs uses."""
    code = ("import sys, cimspice.characterize.worker as w; "
            "from cimspice.characterize import runner, spec, store; "
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'scipy', 'sklearn', 'matplotlib'}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.slow
def test_two_recycled_workers_give_the_same_file_as_one(tmp_path):
    spec = parse_sweep_spec(GRID)
    run_sweep(spec, tmp_path / "one.h5", progress=False)
    two = run_sweep(spec, tmp_path / "two.h5", workers=2, chunk_size=2, recycle_after=2, progress=False)
    assert two.recycles >= 2 and two.restarts == 0  # a fresh pool after every 2 points per worker
    with h5py.File(tmp_path / "one.h5", "r") as a, h5py.File(tmp_path / "two.h5", "r") as b:
        np.testing.assert_array_equal(a["outputs/i_cell"][...], b["outputs/i_cell"][...])
        np.testing.assert_array_equal(a["status"][...], b["status"][...])


def test_montecarlo_sweep_of_a_reram_follows_its_read_law(tmp_path):
    """Monte Carlo over the ReRAM's log-conductance offset d_lng (the shipped model inside a
    user netlist): every sample obeys I = g exp(d_lng) v0 sinh(V/v0) (docs/devices.md)."""
    (tmp_path / "cell.cir").write_text(
        f"reram read\n.include \"{netlist_path('reram.lib')}\"\n.param g=1e-5 d_lng=0 v=0.1\n"
        "V1 a 0 dc {v}\nxr a 0 reram g={g*exp(d_lng)}\n.end\n")
    spec = parse_sweep_spec({"netlist": "cell.cir", "design": "montecarlo", "samples": 12, "seed": 3,
                             "parameters": {"d_lng": {"sigma": 0.2}, "v": {"values": [0.1, 0.3]}},
                             "outputs": {"i": {"vector": "i(v1)", "unit": "A"}}}, source=str(tmp_path / "spec.yaml"))
    summary = run_sweep(spec, tmp_path / "mc.h5", executor="inline", progress=False)
    assert summary.counts == {"pending": 0, "ok": 24, "aided": 0, "failed": 0}
    with h5py.File(tmp_path / "mc.h5", "r") as f:
        d, v, i = f["inputs/d_lng"][...], f["inputs/v"][...], -f["outputs/i"][...]
        assert f.attrs["design"] == "montecarlo" and f.attrs["samples"] == 12 and f.attrs["seed"] == 3
        np.testing.assert_array_equal(f["mc_sample"][...], np.tile(np.arange(12), 2))
    np.testing.assert_allclose(i, 1e-5 * np.exp(d) * RERAM.v0 * np.sinh(v / RERAM.v0), rtol=1e-6)
    np.testing.assert_array_equal(d[:12], d[12:])  # the same 12 devices at both read voltages
    assert read_sweep(tmp_path / "mc.h5").design == "montecarlo"


def test_corners_and_temperatures_of_the_cell_against_ngspice_batch(tmp_path, batch):
    spec = parse_sweep_spec({"circuit": "cell_1t1r", "corners": ["ss", "ff"], "temperatures": [-40, 125],
                             "parameters": {"g": 1e-4, "v_bl": 0.3, "v_wl": 0.6}})
    summary = run_sweep(spec, tmp_path / "pvt.h5", executor="inline", progress=False)
    assert summary.counts["ok"] == 4
    with h5py.File(tmp_path / "pvt.h5", "r") as f:
        corner = f["inputs/corner"]
        assert h5py.check_enum_dtype(corner.dtype) == {"ss": 0, "ff": 1}
        assert list(corner[...]) == [0, 0, 1, 1] and list(f["inputs/temp"][...]) == [-40, 125, -40, 125]
        assert list(f.attrs["corners"]) == ["ss", "ff"] and list(f.attrs["grid_order"])[:2] == ["corner", "temp"]
        current = f["outputs/i_cell"][...]
    # An independent ngspice -b run of each corner's netlist at each temperature.
    for k, (c, temp) in enumerate([("ss", -40), ("ss", 125), ("ff", -40), ("ff", 125)]):
        deck = (get_circuit("cell_1t1r", corner=c).netlist().replace(f".param g={RERAM.g_ref!r}", ".param g=1e-4")
                .replace("vbl bl 0 dc 0.2", "vbl bl 0 dc 0.3").replace("vwl wl 0 dc 1.1", "vwl wl 0 dc 0.6")
                .replace(".end", f".options temp={temp}\n.end"))
        assert ".lib" in deck and f" {c}\n" in deck
        assert current[k] == pytest.approx(batch(deck, ["i(vsl)"])["i(vsl)"], rel=1e-6)
    # A weak gate (0.6 V) makes the transistor limit the current: the fast corner passes more.
    assert current[2] > current[0] and current[3] > current[1]
    data = read_sweep(tmp_path / "pvt.h5")  # the surrogate layer's reader takes the file
    # the corner is categorical for the surrogate layer: not a grid axis, one table per corner
    assert data.n_points == 4 and list(data.grid) == ["temp", "g", "v_bl", "v_wl"]
    assert data.corner_labels == ["ss", "ff"] and list(data.corner) == [0, 0, 1, 1]
    np.testing.assert_array_equal(data.select_corner("ff").outputs["i_cell"], current[2:])


def test_user_netlist_transient_and_temperature(tmp_path, engine, monkeypatch):
    """A tran analysis (final value of an RC step: 1 - exp(-t/RC)) and a temperature sweep
    of a resistor with tc1 (R = r (1 + tc1 (T - 27))). A parameter that is one device's whole
    value changes in place (``alter``), the others through ``alterparam`` + ``reset``."""
    sent = []  # every command the sweep sends to ngspice, through the engine's public command()
    command = engine.command
    monkeypatch.setattr(engine, "command", lambda text: sent.append(text) or command(text))
    (tmp_path / "rc.cir").write_text("rc step\n.param vin=1 r=1k\nV1 in 0 dc 0 pulse(0 {vin} 0 1p 1p 1 2)\n"
                                     "R1 in out {r}\nC1 out 0 1n\n.end\n")
    spec = parse_sweep_spec({"netlist": "rc.cir", "analysis": {"tran": {"step": 2e-8, "stop": 2e-6, "max_step": 1e-8}},
                             "parameters": {"vin": {"values": [0.5, 1.0]}, "r": {"values": [500.0, 1000.0]}},
                             "outputs": {"v_out": {"vector": "v(out)", "unit": "V"}}}, source=str(tmp_path / "s.yaml"))
    run_sweep(spec, tmp_path / "rc.h5", executor="inline", progress=False)
    # r (R1's value) never re-elaborates the circuit; vin (inside a pulse) does, once per value
    assert [c for c in sent if c.startswith("alterparam")] == ["alterparam vin=0.5", "alterparam vin=1.0"]
    assert sent.count("reset") == 2 and {"alter r1 = 500.0", "alter r1 = 1000.0"} <= set(sent)
    with h5py.File(tmp_path / "rc.h5", "r") as f:
        vin, r, v = f["inputs/vin"][...], f["inputs/r"][...], f["outputs/v_out"][...]
        assert f["outputs/v_out"].attrs["description"] == "final value of tran vector v(out)"
    np.testing.assert_allclose(v, vin * (1 - np.exp(-2e-6 / (r * 1e-9))), rtol=2e-3)

    (tmp_path / "tc.cir").write_text("tc\n.param r=1k\nV1 a 0 dc 1\nR1 a 0 {r} tc1=4m\n.end\n")
    spec = parse_sweep_spec({"netlist": "tc.cir", "temperatures": [-40, 27, 125],
                             "parameters": {"r": {"values": [1e3, 2e3]}},
                             "outputs": {"i": {"vector": "i(v1)", "unit": "A"}}}, source=str(tmp_path / "s.yaml"))
    run_sweep(spec, tmp_path / "tc.h5", executor="inline", progress=False)
    with h5py.File(tmp_path / "tc.h5", "r") as f:
        temp, r, i = f["inputs/temp"][...], f["inputs/r"][...], -f["outputs/i"][...]
        assert f["inputs/temp"].attrs["units"] == "degC"
    np.testing.assert_allclose(i, 1 / (r * (1 + 4e-3 * (temp - 27))), rtol=1e-9)
