"""Injected failures: points that do not converge, a point past its time limit, workers that
die mid-chunk (exit, SIGKILL). Each is recorded with its reason; every other point completes."""

from __future__ import annotations

import dataclasses
import os
import signal
import time

import h5py
import numpy as np
import pytest
from scipy.optimize import brentq

from cimspice.characterize import parse_sweep_spec, run_sweep
from cimspice.circuits.user import NetlistCircuit

# B1 pushes k exp(v/50 mV) into a 1 kohm load: a solution exists for small k only (k = 1e-3
# has none: the exponential outruns the resistor). The pulse train of period `per` forces
# one time step per edge: per = 1 ns over 100 us is 200,000 edges, far past a 1 s limit.
NETLIST = """injected failures
.param k=1e-9 per=1e-4 crash=0
R1 out 0 1k
B1 0 out I = {k}*exp(v(out)/0.05)
V1 in 0 dc 0 pulse(0 1 0 {per/10} {per/10} {per/3} {per})
R2 in x 1k
C2 x 0 1n
.end
"""


class CrashingNetlist(NetlistCircuit):
    """TEST ONLY, never registered: the worker process running a point with crash=1 exits
    with code 3; with crash=2 it sends itself SIGKILL (as the out-of-memory killer would)."""

    def simulate(self, engine, point):
        if point.get("crash") == 1:
            os._exit(3)
        if point.get("crash") == 2:
            os.kill(os.getpid(), signal.SIGKILL)
        return super().simulate(engine, point)


#            0     1     2     3     4     5     6     7     8     9     10    11
K = [1e-9, 2e-9, 1e-3, 1e-9, 3e-9, 1e-9, 1e-9, 1e-9, 4e-9, 1e-9, 1e-3, 5e-9]
PER = [1e-4, 1e-4, 1e-4, 1e-9, 1e-4, 1e-4, 1e-4, 1e-4, 1e-4, 1e-4, 1e-4, 1e-4]
CRASH = [0, 0, 0, 0, 0, 1, 0, 2, 0, 0, 0, 0]
EXPECTED = {2: "did not converge|timestep too small", 3: "timeout after 1 s",
            5: "worker process exited with code 3", 7: "worker process died of SIGKILL",
            10: "did not converge|timestep too small"}


def injected_spec(tmp_path):
    (tmp_path / "bad.cir").write_text(NETLIST)
    outputs = {"v_out": {"vector": "v(out)", "unit": "V"}}
    spec = parse_sweep_spec({"netlist": "bad.cir", "design": "list", "analysis": {"tran": {"step": 1e-6, "stop": 1e-4}},
                             "parameters": {"k": {"values": K}, "per": {"values": PER}, "crash": {"values": CRASH}},
                             "outputs": outputs}, source=str(tmp_path / "spec.yaml"))
    return dataclasses.replace(spec, circuits=(CrashingNetlist(tmp_path / "bad.cir", outputs, spec.analysis),))


def v_out(k: float) -> float:
    """Oracle: v / 1 kohm = k exp(v / 50 mV), the smaller root, solved by bisection."""
    return brentq(lambda v: v / 1e3 - k * np.exp(v / 0.05), 0.0, 0.05, xtol=1e-15)


@pytest.mark.slow
def test_injected_failures_are_recorded_and_the_rest_completes(tmp_path):
    out = tmp_path / "inj.h5"
    summary = run_sweep(injected_spec(tmp_path), out, workers=2, chunk_size=4, timeout=1.0, progress=False)
    assert summary.counts == {"pending": 0, "ok": 7, "aided": 0, "failed": 5}
    # timeout once, exit and SIGKILL twice each (the second try alone, so those two always
    # replace the pool on their own; first-round deaths of the two workers may share one)
    assert summary.restarts >= 3
    with h5py.File(out, "r") as f:
        assert bool(f.attrs["complete"])
        status, messages = f["status"][...], [m.decode() for m in f["message"][...]]
        values = f["outputs/v_out"][...]
    for k in range(12):
        if k in EXPECTED:
            assert status[k] == 2, (k, messages[k])
            assert np.isnan(values[k])
            assert any(word.lower() in messages[k].lower() for word in EXPECTED[k].split("|")), messages[k]
        else:
            assert status[k] == 0 and messages[k] == "", (k, messages[k])
            assert values[k] == pytest.approx(v_out(K[k]), rel=1e-6)
    # ngspice's reason and log excerpt, and the retry with aids, are in the message.
    assert "retried with convergence aids" in messages[2] and len(messages[2].splitlines()) > 3
    for k in (5, 7):
        assert "twice: also when retried alone with convergence aids" in messages[k]
    assert messages[3] == "timeout after 1 s"  # not retried: aids fix convergence, not duration
    assert {reason.split(":")[0] for reason, _ in summary.reasons} >= {"TimestepTooSmallError"}


class NappingNetlist(NetlistCircuit):
    """TEST ONLY: sleeps ``nap`` seconds before each point, except when retried with relaxed
    tolerances (as a retry may get through on a machine that is less loaded by then)."""

    def simulate(self, engine, point):
        if "itl1" not in engine._options:
            time.sleep(point["nap"])
        return super().simulate(engine, point)


def test_a_point_past_its_time_limit_fails_as_a_timeout_however_short_the_limit(tmp_path):
    """40 ms is below the watchdog's 50 ms poll: points of 80 ms used to come out ok (done
    before the next poll) or, once killed, re-run with relaxed tolerances and "aided"."""
    (tmp_path / "nap.cir").write_text("naps\n.param nap=0\nV1 a 0 dc 1\nR1 a 0 {1k + nap}\n.end\n")
    outputs = {"i": {"vector": "i(v1)", "unit": "A"}}
    naps = [0.0, 0.08, 0.08, 2.0, 0.0]
    spec = parse_sweep_spec({"netlist": "nap.cir", "design": "list", "parameters": {"nap": naps}, "outputs": outputs},
                      source=str(tmp_path / "spec.yaml"))
    spec = dataclasses.replace(spec, circuits=(NappingNetlist(tmp_path / "nap.cir", outputs, None),))
    summary = run_sweep(spec, tmp_path / "nap.h5", timeout=0.04, progress=False)
    with h5py.File(tmp_path / "nap.h5", "r") as f:
        status, messages = list(f["status"][...]), [m.decode() for m in f["message"][...]]
    assert status == [0, 2, 2, 2, 0], messages
    assert messages[1:4] == ["timeout after 0.04 s"] * 3
    assert summary.counts == {"pending": 0, "ok": 2, "aided": 0, "failed": 3}


class HaltedNetlist(NetlistCircuit):
    """TEST ONLY: runs its transient with the engine's own time limit (ngspice halted)."""

    def simulate(self, engine, point):
        engine.tran(1e-9, 1.0, vectors=["v(out)"], timeout=0.2)
        raise AssertionError("a 1 s transient in 1 ns steps finished within 0.2 s")


def test_a_halted_analysis_is_not_retried_with_convergence_aids(tmp_path):
    spec = injected_spec(tmp_path)
    axes = tuple(dataclasses.replace(a, values=a.values[:1]) for a in spec.axes)
    halted = HaltedNetlist(spec.circuit.path, {"v_out": {"vector": "v(out)"}}, spec.analysis)
    spec = dataclasses.replace(spec, axes=axes, circuits=(halted,))
    started = time.monotonic()
    summary = run_sweep(spec, tmp_path / "h.h5", executor="inline", progress=False)
    with h5py.File(tmp_path / "h.h5", "r") as f:
        message = f["message"][0].decode()
    assert summary.counts["failed"] == 1
    assert message.startswith("SimulationTimeout: ") and "exceeded its time limit of 0.2 s" in message
    assert "retried" not in message and time.monotonic() - started < 5.0
