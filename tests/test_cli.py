"""The command line: one clear line and a non-zero exit for every bad input, no traceback."""

from __future__ import annotations

import subprocess
import sys

import h5py
import numpy as np
import pytest


def cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "cimspice.cli", *map(str, args)], capture_output=True,
                          text=True, cwd=cwd, timeout=300)


def assert_one_line_error(run, *fragments):
    assert run.returncode != 0
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1, run.stderr
    assert "Traceback" not in run.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


DIVIDER = "divider\n.param r2=1k vin=1\nV1 a 0 dc {vin}\nR1 a b 1k\nR2 b 0 {r2}\n.end\n"
SPEC = """netlist: {netlist}
design: grid
parameters:
  r2: {{values: [1000.0, 3000.0]}}
  vin: {{start: 0.0, stop: 2.0, num: 3}}
outputs:
  v_out: {{vector: "v(b)", unit: "V"}}
"""


def test_user_netlist_sweep_matches_divider_formula(tmp_path):
    (tmp_path / "div.cir").write_text(DIVIDER)
    (tmp_path / "spec.yaml").write_text(SPEC.format(netlist="div.cir"))
    run = cli("sweep", tmp_path / "spec.yaml", "-o", tmp_path / "out.h5", "--no-progress")
    assert run.returncode == 0, run.stderr
    with h5py.File(tmp_path / "out.h5", "r") as f:
        r2, vin, vout = f["inputs/r2"][...], f["inputs/vin"][...], f["outputs/v_out"][...]
        assert f["outputs/v_out"].attrs["units"] == "V"
    np.testing.assert_allclose(vout, vin * r2 / (1e3 + r2), rtol=1e-9, atol=1e-15)


@pytest.mark.parametrize("netlist, message", [
    (None, "no such netlist file"),
    ("divider\n.param r2=1k vin=1\nV1 a 0 dc {vin}\nR1 a b\nQ1 a b c nomodel\nR2 b 0 {r2}\n.end\n",
     "could not parse"),
    ("divider\n.param r2=1k vin=1\nV1 a 0 dc {vin}\nR2 a 0 {r2}\n.control\nshell touch /tmp/pwned\n.endc\n.end\n",
     ".control blocks are not allowed"),
])
def test_bad_netlists(tmp_path, netlist, message):
    if netlist is not None:
        (tmp_path / "div.cir").write_text(netlist)
    (tmp_path / "spec.yaml").write_text(SPEC.format(netlist="div.cir"))
    run = cli("sweep", tmp_path / "spec.yaml", "-o", tmp_path / "out.h5")
    assert_one_line_error(run, "div.cir", message)
    assert not (tmp_path / "out.h5").exists()


@pytest.mark.parametrize("edit, fragments", [
    (("r2: {values: [1000.0, 3000.0]}", "r9: {values: [1000.0]}"), ("unknown parameter 'r9'", "spec.yaml")),
    (("[1000.0, 3000.0]", "[1k, 3k5]"), ("expected a number", "spec.yaml", "r2", "3k5")),
    (("r2: {values", "r2: {valuez"), ("unknown key(s) valuez", "spec.yaml")),
    (("design: grid", "design: [grid"), ("malformed YAML", "spec.yaml")),
])
def test_bad_specs(tmp_path, edit, fragments):
    (tmp_path / "div.cir").write_text(DIVIDER)
    (tmp_path / "spec.yaml").write_text(SPEC.format(netlist="div.cir").replace(*edit))
    assert_one_line_error(cli("sweep", tmp_path / "spec.yaml", "-o", tmp_path / "out.h5"), *fragments)


def test_out_of_bounds_value_for_a_shipped_circuit(tmp_path):
    (tmp_path / "spec.yaml").write_text("circuit: cell_1t1r\nparameters:\n  v_bl: {values: [0.1, 7.0]}\n")
    assert_one_line_error(cli("sweep", tmp_path / "spec.yaml", "-o", tmp_path / "o.h5"),
                          "v_bl: 7 V outside the circuit's bounds")


def test_debug_shows_the_traceback(tmp_path):
    run = cli("--debug", "sweep", tmp_path / "nope.yaml", "-o", tmp_path / "o.h5")
    assert run.returncode != 0 and "Traceback" in run.stderr


def test_fit_with_an_off_grid_validation_sweep(tmp_path):
    """`cimspice fit --validation`: candidates scored on the off-grid sweep's points."""
    import h5py

    from cimspice.characterize import parse_sweep_spec, run_sweep

    grid = parse_sweep_spec({"circuit": "cell_1t1r", "design": "grid", "outputs": ["i_cell"],
                             "parameters": {"g": {"start": 1e-6, "stop": 1e-4, "num": 9, "scale": "log"},
                                            "v_bl": {"start": 0.0, "stop": 0.3, "num": 7}}})
    lhs = parse_sweep_spec({"circuit": "cell_1t1r", "design": "lhs", "samples": 12, "seed": 3, "outputs": ["i_cell"],
                            "parameters": {"g": {"start": 1.2e-6, "stop": 9e-5, "scale": "log"},
                                           "v_bl": {"start": 0.01, "stop": 0.29}}})
    run_sweep(grid, tmp_path / "grid.h5", executor="inline", progress=False)
    run_sweep(lhs, tmp_path / "lhs.h5", executor="inline", progress=False)
    run = subprocess.run([sys.executable, "-m", "cimspice.cli", "fit", str(tmp_path / "grid.h5"), "--validation",
                          str(tmp_path / "lhs.h5"), "--models", "grid-linear", "grid-cubic", "-o",
                          str(tmp_path / "lib.h5")], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    with h5py.File(tmp_path / "lib.h5", "r") as f:
        s = f["surrogates"]["cell_1t1r.i_cell"]
        assert s["provenance"].attrs["validation_sweep"] == "lhs.h5"   # recorded in the provenance
        assert s["validation"].attrs["n_points"] == 12                 # and scored on its 12 points
