"""Resumable sweeps: SIGKILL at random moments, torn journal records, one writer at a time."""

from __future__ import annotations

import hashlib
import random
import signal
import subprocess
import sys
import time

import h5py
import numpy as np
import psutil
import pytest

from cimspice.characterize import SweepFileError, SweepStore, load_sweep_spec, run_sweep, sweep_points
from cimspice.characterize.journal import Record

DIVIDER = "divider\n.param r2=1k vin=1\nV1 a 0 dc {vin}\nR1 a b 1k\nR2 b 0 {r2}\n.end\n"
SPEC = """netlist: div.cir
design: grid
parameters:
  r2: {{start: 1000.0, stop: 5000.0, num: {n_r2}}}
  vin: {{start: 0.0, stop: 2.0, num: 100}}
outputs:
  v_out: {{vector: "v(b)", unit: "V"}}
"""


def write_bench(folder, n_r2=60):
    (folder / "div.cir").write_text(DIVIDER)
    (folder / "spec.yaml").write_text(SPEC.format(n_r2=n_r2))
    return folder / "spec.yaml"


def sweep_cmd(spec, out, *extra):
    return [sys.executable, "-m", "cimspice.cli", "sweep", str(spec), "-o", str(out), "--no-progress",
            "--workers", "2", "--chunk-size", "16", "--checkpoint", "0.05", *extra]


def file_sha256(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def contents(path) -> dict:
    with h5py.File(path, "r") as f:
        out = {name: f[name][...] for name in ("status", "message", "outputs/v_out", "inputs/r2", "inputs/vin")}
        out["complete"] = bool(f.attrs["complete"])
    return out


@pytest.mark.slow
def test_sigkill_at_random_moments_then_resume_equals_an_uninterrupted_run(tmp_path):
    spec = write_bench(tmp_path, n_r2=400)
    reference = tmp_path / "reference.h5"
    started = time.monotonic()
    subprocess.run(sweep_cmd(spec, reference), check=True, capture_output=True, timeout=300)
    duration = time.monotonic() - started  # start-up included: kills land before, during and after it
    ref = contents(reference)
    assert ref["complete"] and np.all(ref["status"] == 0)

    out, rng, kills, workers = tmp_path / "killed.h5", random.Random(20261122), 0, []
    for _attempt in range(12):
        run = subprocess.Popen(sweep_cmd(spec, out, "--resume"), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            run.wait(timeout=rng.uniform(0.1, 0.3) * duration if kills < 6 else 300)
            break  # finished before the kill
        except subprocess.TimeoutExpired:
            workers += psutil.Process(run.pid).children(recursive=True)
            run.send_signal(signal.SIGKILL)
            run.wait()
            kills += 1
        if not out.exists():
            continue  # killed before the file was created
        # Whatever moment it died at, the file reads, says it is complete only if no point is
        # pending, and holds only finished points, each equal to the uninterrupted run's.
        now = contents(out)
        done = now["status"] >= 0
        assert now["complete"] == bool(np.all(done))
        np.testing.assert_array_equal(now["inputs/r2"], ref["inputs/r2"])
        np.testing.assert_array_equal(now["outputs/v_out"][done], ref["outputs/v_out"][done])
        assert np.all(np.isnan(now["outputs/v_out"][~done]))
    assert kills >= 5, "the sweep finished too fast to be killed several times"
    assert run.returncode == 0, run.stderr.read()
    final = contents(out)
    for name, values in ref.items():
        np.testing.assert_array_equal(final[name], values, err_msg=name)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["div.cir", "killed.h5", "reference.h5", "spec.yaml"]
    # Workers orphaned by the kills end themselves (their watchdog sees the parent gone).
    deadline = time.monotonic() + 10
    while any(w.is_running() and w.status() != psutil.STATUS_ZOMBIE for w in workers) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not [w.pid for w in workers if w.is_running() and w.status() != psutil.STATUS_ZOMBIE]


def divider_spec(tmp_path, n_r2=3):
    write_bench(tmp_path, n_r2)
    return load_sweep_spec(tmp_path / "spec.yaml")


def test_a_torn_journal_record_is_cut_and_replay_is_idempotent(tmp_path):
    spec = divider_spec(tmp_path)
    points = sweep_points(spec)
    out = tmp_path / "out.h5"
    store = SweepStore(out, spec, points)

    def record(index):
        index = np.asarray(index)
        return Record(index, np.zeros(len(index), np.int8), {"v_out": points["vin"][index] * 0.5}, {}, "39")

    store.append(record([0, 1, 2]))
    store.append(record([0, 1, 2]))  # the same results twice, as after a kill between fold and truncate
    store.append(record([10, 11]))
    with open(store.journal.path, "ab") as fh:
        fh.write(record([20, 21]).encode()[:-5])  # killed in the middle of an append
    store.journal.close()  # the process dies: its lock goes, the HDF5 file was never written
    (tmp_path / ".out.h5.99999.tmp").write_bytes(b"half a copy")  # killed while checkpointing
    assert contents(out)["status"].max() == -1

    resumed = SweepStore(out, spec, points, resume=True)
    assert not (tmp_path / ".out.h5.99999.tmp").exists()
    status = contents(out)["status"]
    assert list(np.flatnonzero(status >= 0)) == [0, 1, 2, 10, 11]
    assert len(resumed.pending()) == len(status) - 5
    resumed.close()
    summary = run_sweep(spec, out, resume=True, executor="inline", progress=False)
    assert summary.ran == len(status) - 5 and summary.complete
    v = contents(out)["outputs/v_out"]
    np.testing.assert_allclose(v[[0, 1, 2, 10, 11]], points["vin"][[0, 1, 2, 10, 11]] * 0.5)
    r2, vin = points["r2"], points["vin"]
    rest = np.setdiff1d(np.arange(len(v)), [0, 1, 2, 10, 11])
    np.testing.assert_allclose(v[rest], (vin * r2 / (1e3 + r2))[rest], rtol=1e-9, atol=1e-15)


def test_one_writer_at_a_time_and_a_finished_file_is_left_alone(tmp_path):
    spec = divider_spec(tmp_path)
    out = tmp_path / "out.h5"
    holder = SweepStore(out, spec, sweep_points(spec))
    with pytest.raises(SweepFileError, match="out.h5: another cimspice sweep is writing it"):
        run_sweep(spec, out, resume=True, executor="inline", progress=False)
    holder.close()
    assert run_sweep(spec, out, resume=True, executor="inline", progress=False).complete
    digest = file_sha256(out)
    again = run_sweep(spec, out, resume=True, executor="inline", progress=False)
    assert again.ran == 0 and again.complete and file_sha256(out) == digest
    assert sorted(p.name for p in tmp_path.iterdir()) == ["div.cir", "out.h5", "spec.yaml"]
