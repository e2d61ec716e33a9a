"""The local worker process: one thread only, so that libngspice's allocations take glibc's
single-threaded path (a second thread made transients about 20 % slower; worker.py); its
time limit is tested in test_sweep_failures.py."""

from __future__ import annotations

import dataclasses
import os
import sys

import h5py
import pytest

from cimspice.characterize import parse_sweep_spec, run_sweep
from cimspice.circuits.base import Measured
from cimspice.circuits.user import NetlistCircuit

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/task")


class ThreadCountingNetlist(NetlistCircuit):
    """TEST ONLY: records, as output ``threads``, how many threads the process running the
    point has (after running the point, so ngspice's own would count too)."""

    def simulate(self, engine, point):
        measured = super().simulate(engine, point)
        return Measured({**measured.values, "threads": float(len(os.listdir("/proc/self/task")))})


def test_a_local_worker_runs_its_points_on_its_only_thread(tmp_path):
    (tmp_path / "rc.cir").write_text("rc\n.param r=1k\nV1 in 0 dc 0 pulse(0 1 1n 0.1n 0.1n 2n 5n)\n"
                                     "R1 in out {r}\nC1 out 0 1p\n.end\n")
    outputs = {"threads": {"vector": "v(out)"}}
    spec = parse_sweep_spec({"netlist": "rc.cir", "analysis": {"tran": {"step": "10p", "stop": "4n"}},
                             "parameters": {"r": [1e3, 2e3, 3e3]}, "outputs": outputs},
                            source=str(tmp_path / "spec.yaml"))
    counting = ThreadCountingNetlist(tmp_path / "rc.cir", outputs, spec.analysis)
    spec = dataclasses.replace(spec, circuits=(counting,))
    summary = run_sweep(spec, tmp_path / "t.h5", workers=1, timeout=30.0, progress=False)
    assert summary.counts["ok"] == 3
    with h5py.File(tmp_path / "t.h5", "r") as f:
        assert list(f["outputs/threads"][...]) == [1.0, 1.0, 1.0]
