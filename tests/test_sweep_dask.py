"""The same sweep on the local process pool and on a Dask LocalCluster over loopback."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
from dataclasses import replace

import h5py
import numpy as np
import pytest
from test_sweep_failures import CrashingNetlist, injected_spec

from cimspice.characterize import parse_sweep_spec, run_sweep


def contents(path) -> dict:
    with h5py.File(path, "r") as f:
        return {name: f[name][...] for name in ("status", "message", "outputs/i_cell", "inputs/g", "inputs/v_bl",
                                                "inputs/v_wl", "inputs/corner")}


@pytest.mark.slow
def test_local_pool_and_dask_localcluster_give_identical_files(tmp_path):
    spec = parse_sweep_spec({"circuit": "cell_1t1r", "corners": ["tt", "ss"],
                             "parameters": {"g": {"start": 1e-6, "stop": 1e-4, "num": 3, "scale": "log"},
                                            "v_bl": {"values": [0.05, 0.15, 0.3]}, "v_wl": {"values": [0.7, 1.1]}}})
    local = run_sweep(spec, tmp_path / "local.h5", workers=2, chunk_size=5, progress=False)
    dask = run_sweep(spec, tmp_path / "dask.h5", workers=2, chunk_size=5, executor="dask", progress=False)
    assert local.executor == "local" and dask.executor == "dask" and dask.workers == 2
    assert local.counts == dask.counts == {"pending": 0, "ok": 36, "aided": 0, "failed": 0}
    a, b = contents(tmp_path / "local.h5"), contents(tmp_path / "dask.h5")
    for name in a:
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)
    assert np.all(a["outputs/i_cell"] > 0)


@pytest.mark.slow
def test_dask_isolates_the_point_that_kills_its_workers(tmp_path):
    """Dask re-runs a task whose worker died and then fails it (KilledWorker); the runner
    bisects the chunk and convicts a point only once it kills workers running alone."""
    spec = injected_spec(tmp_path)
    keep = [4, 5, 6, 8]  # ok, exit(3), ok, ok
    cols = {a.name: a.values for a in spec.axes}
    axes = tuple(replace(a, values=tuple(cols[a.name][k] for k in keep)) for a in spec.axes)
    spec = replace(spec, axes=axes, circuits=(CrashingNetlist(spec.circuit.path, {"v_out": {"vector": "v(out)"}},
                                                              spec.analysis),))
    summary = run_sweep(spec, tmp_path / "d.h5", workers=2, chunk_size=2, executor="dask", timeout=5.0,
                        progress=False)
    assert summary.counts == {"pending": 0, "ok": 3, "aided": 0, "failed": 1}
    with h5py.File(tmp_path / "d.h5", "r") as f:
        status, message = f["status"][...], f["message"][1].decode()
    assert list(status) == [0, 2, 0, 0]
    assert "worker processes died on this point 2 times while it ran alone" in message


@pytest.fixture
def port_8787_taken():
    """Dask's default HTTP port held, as by another cluster or a notebook's dashboard."""
    with socket.socket() as held:
        try:
            held.bind(("127.0.0.1", 8787))
            held.listen()
        except OSError:
            pass  # already taken by someone else: the same situation
        yield


@pytest.mark.slow
def test_dask_localcluster_runs_print_nothing_but_the_summary(tmp_path, port_8787_taken):
    """Shutdown of a LocalCluster used to print a CommClosedError traceback about one run in
    four (distributed logs it at INFO), every run an INFO line about jupyter-server-proxy,
    and a port-in-use warning while 8787 was taken."""
    (tmp_path / "spec.yaml").write_text("circuit: cell_1t1r\nparameters:\n  g: [1.0e-6, 1.0e-5]\n"
                                        "  v_bl: [0.1, 0.2]\noutputs: [i_cell]\n")
    for run in range(4):
        done = subprocess.run([sys.executable, "-m", "cimspice.cli", "sweep", str(tmp_path / "spec.yaml"), "-o",
                               str(tmp_path / "out.h5"), "--force", "--executor", "dask", "--workers", "2",
                               "--no-progress"], capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
        assert "4 ok, 0 converged with aids, 0 failed, 0 pending of 4 points" in done.stdout
        assert "Traceback" not in done.stderr and not re.search(r"^INFO", done.stderr, re.M), done.stderr
        assert done.stderr == "", f"run {run}: {done.stderr}"
