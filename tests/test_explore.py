"""Design-space exploration (--set, --sweep, results.csv, Pareto) and the per-layer diagnosis."""

from __future__ import annotations

import csv
import json
import multiprocessing
import pickle
import time

import numpy as np
import pytest

from cimspice.cli import main
from cimspice.sim import explore as explore_module
from cimspice.sim.errors import SimError
from cimspice.sim.explore import (
    apply_settings,
    design_points,
    explore,
    pareto_front,
    parse_setting,
    parse_sweep,
    write_exploration,
)
from cimspice.sim.network import Sequential
from cimspice.sim.simulate import simulate
from cimspice.sim.spec import load_system_spec

SYSTEM = {"name": "small", "array": {"rows": 32, "cols": 32, "cell": "linear"},
          "mapping": {"weights": "differential", "slices": 2},
          "inputs": {"encoding": "dac", "bits": 6}, "adc": {"bits": 5, "partial_sum_bits": 8},
          "nonidealities": {"ir_drop": True, "r_wire": 2.0, "read_noise_sigma": 0.02}}


def _one_layer(n_in=24, n_out=5, n=40, seed=0):
    rng = np.random.default_rng(seed)
    W = rng.normal(size=(n_in, n_out))
    net = Sequential.from_config("one", [{"type": "dense", "name": "fc"}], {"fc.W": W, "fc.b": np.zeros(n_out)}, {})
    x = rng.uniform(0, 1, size=(n, n_in))
    return net, W, x, np.argmax(x @ W, axis=1)


def test_settings_parse_as_yaml_and_errors_name_the_flag():
    assert parse_setting("adc.bits=5") == ("adc.bits", 5)
    assert parse_setting("array.fixed={v_wl: 1.0}") == ("array.fixed", {"v_wl": 1.0})
    assert parse_setting("adc.bits=null") == ("adc.bits", None)
    assert parse_sweep("adc.bits=3,4,5") == ("adc.bits", [3, 4, 5])
    assert parse_sweep("tiling.split=[partial_sums, none]") == ("tiling.split", ["partial_sums", "none"])
    spec = load_system_spec(SYSTEM)
    with pytest.raises(SimError, match=r"^--set adc.bits=1: adc.bits: must be >= 2, got 1$"):
        apply_settings(spec, [parse_setting("adc.bits=1")])
    with pytest.raises(SimError, match=r"--set 'adc.bits': expected FIELD=VALUE"):
        parse_setting("adc.bits")
    with pytest.raises(SimError, match=r"--sweep adc.bits=4: adc.bits.*got 1|--sweep adc.bits=1"):
        design_points(spec, [parse_sweep("adc.bits=4,1")])
    with pytest.raises(SimError, match="swept twice"):
        design_points(spec, [("adc.bits", [4]), ("adc.bits", [5])])


def test_set_is_the_same_as_editing_the_spec():
    net, W, x, y = _one_layer()
    by_flag = simulate(apply_settings(load_system_spec(SYSTEM), [("adc.bits", 4), ("array.rows", 16)]), net,
                       (x, y, x))
    edited = dict(SYSTEM, adc={"bits": 4, "partial_sum_bits": 8}, array={**SYSTEM["array"], "rows": 16})
    by_yaml = simulate(edited, net, (x, y, x))
    assert by_flag.analog_metric == by_yaml.analog_metric
    assert by_flag.costs.total_energy == by_yaml.costs.total_energy


START_METHODS = [m for m in ("fork", "spawn") if m in multiprocessing.get_all_start_methods()]


@pytest.mark.parametrize("start_method", START_METHODS)
@pytest.mark.parametrize("parent_runs_points", [True, False])
def test_sweep_in_parallel_equals_serial(tmp_path, monkeypatch, parent_runs_points, start_method):
    """The points run by this process and started workers (by started workers alone; forked
    with the network, data and tables in memory, or spawned and sent them once) equal the
    serial run's."""
    monkeypatch.setattr(explore_module, "PARENT_RUNS_POINTS", parent_runs_points)
    monkeypatch.setattr(explore_module, "START_METHOD", start_method)
    net, W, x, y = _one_layer()
    points = design_points(SYSTEM, [("adc.bits", [3, 6]), ("array.rows", [16, 32])])
    assert [p[0] for p in points] == [{"adc.bits": 3, "array.rows": 16}, {"adc.bits": 3, "array.rows": 32},
                                      {"adc.bits": 6, "array.rows": 16}, {"adc.bits": 6, "array.rows": 32}]
    serial = explore(points, net, (x, y, x), seeds=2)
    parallel = explore(points, net, (x, y, x), seeds=2, workers=2)
    assert len(parallel) == len(points)
    for a, b in zip(serial, parallel):
        assert a.design == b.design
        assert a.analog_metrics == b.analog_metrics and a.energy_per_seed == b.energy_per_seed
    files = write_exploration(serial, tmp_path)
    rows = list(csv.DictReader(open(tmp_path / "results.csv")))
    assert [(int(r["adc.bits"]), int(r["array.rows"])) for r in rows] == [(3, 16), (3, 32), (6, 16), (6, 32)]
    assert float(rows[0]["energy_j"]) == pytest.approx(serial[0].costs.total_energy, rel=1e-12, abs=0)
    doc = json.loads((tmp_path / "results.json").read_text())
    assert [p["design"] for p in doc["points"]] == [p[0] for p in points]
    assert all(f.is_file() for f in files)


@pytest.mark.parametrize("start_method", START_METHODS)
@pytest.mark.parametrize("parent_runs_points", [True, False])
def test_a_point_failing_on_a_worker_fails_the_sweep(monkeypatch, parent_runs_points, start_method):
    """A point's error reaches the caller, whichever process ran it, and the sweep stops
    (no worker left waiting)."""
    monkeypatch.setattr(explore_module, "PARENT_RUNS_POINTS", parent_runs_points)
    monkeypatch.setattr(explore_module, "START_METHOD", start_method)
    net, W, x, y = _one_layer()
    points = design_points(SYSTEM, [("library", [None, "/nonexistent/lib.h5"]), ("adc.bits", [3, 4])])
    with pytest.raises(SimError, match="no such surrogate library"):
        explore(points, net, (x, y, x), workers=2)


def test_a_sweep_whose_network_cannot_be_sent_to_spawned_workers_fails_at_once(monkeypatch):
    """Nothing to send to spawned workers (a network that cannot be pickled): the error, and
    no worker left waiting for its message."""
    monkeypatch.setattr(explore_module, "START_METHOD", "spawn")
    net, W, x, y = _one_layer()
    net.info["hook"] = lambda: None
    points = design_points(SYSTEM, [("adc.bits", [3, 4])])
    with pytest.raises((AttributeError, TypeError, pickle.PicklingError), match="pickle"):
        explore(points, net, (x, y, x), workers=2)


@pytest.mark.skipif("fork" not in START_METHODS, reason="no fork on this platform")
def test_forked_workers_need_not_pickle_the_network(monkeypatch):
    """A forked worker starts with the network in memory: one that cannot be pickled runs,
    with the serial run's results, and the parent lets go of it afterwards."""
    monkeypatch.setattr(explore_module, "START_METHOD", "fork")
    monkeypatch.setattr(explore_module, "PARENT_RUNS_POINTS", False)
    net, W, x, y = _one_layer()
    net.info["hook"] = lambda: None
    points = design_points(SYSTEM, [("adc.bits", [3, 4])])
    serial = explore(points, net, (x, y, x))
    parallel = explore(points, net, (x, y, x), workers=2)
    assert [r.analog_metrics for r in parallel] == [r.analog_metrics for r in serial]
    assert explore_module._SHARED == ()


def _new_threads_outside_python(before: set) -> int:
    """This process's threads that Python did not start (OpenBLAS's pool) and that were not
    among the thread ids ``before`` (another library's, started earlier in the test session).

    A Python thread leaves ``threading.enumerate()`` a moment before its OS thread exits (the
    sweep's feeder threads end while this process runs its last points), so a thread counts
    only if it is still there 0.5 s later: OpenBLAS's threads live until the process ends."""
    import os
    import threading

    def outside() -> set:
        tasks = {int(t) for t in os.listdir("/proc/self/task")}
        return tasks - before - {t.native_id for t in threading.enumerate()}

    new = outside()
    deadline = time.monotonic() + 0.5
    while new and time.monotonic() < deadline:
        time.sleep(0.02)
        new &= outside()
    return len(new)


@pytest.mark.skipif("fork" not in START_METHODS or not __import__("os").path.isdir("/proc/self/task"),
                    reason="no fork or /proc on this platform")
def test_forked_processes_do_not_restart_blas_threads(monkeypatch):
    """OpenBLAS takes its thread pool down before a fork and makes it anew at the next limit
    set, whose threads then spin against the other process: neither this process nor a
    forked worker may start BLAS threads while it runs its points (it ran each one's first
    point at 2-3x its serial time; the count here was 2 in every point before the fix)."""
    import os

    monkeypatch.setattr(explore_module, "START_METHOD", "fork")
    run_point = explore_module._run_point
    net, W, x, y = _one_layer()
    points = design_points(SYSTEM, [("adc.bits", [3, 4, 5, 6])])
    explore(points, net, (x, y, x))                          # BLAS's pool running, as a user's session
    before = {int(t) for t in os.listdir("/proc/self/task")}

    def counted(*args):
        result = run_point(*args)
        result.blas_threads = _new_threads_outside_python(before)
        return result

    monkeypatch.setattr(explore_module, "_run_point", counted)
    parallel = explore(points, net, (x, y, x), workers=2)
    assert [r.blas_threads for r in parallel] == [0] * len(points)


@pytest.mark.parametrize("start_method", START_METHODS)
def test_a_parallel_sweep_shows_the_points_done_by_every_process(monkeypatch, capsys, start_method):
    """The bar of a parallel sweep counts the points every process has done, to the last."""
    monkeypatch.setattr(explore_module, "START_METHOD", start_method)
    net, W, x, y = _one_layer()
    points = design_points(SYSTEM, [("adc.bits", [3, 4, 5, 6]), ("array.rows", [16, 32])])
    explore(points, net, (x, y, x), workers=2, progress=True)
    bar = capsys.readouterr().err
    assert "design points" in bar and "8/8" in bar


def test_a_sweep_on_a_dask_scheduler_equals_serial(capsys):
    """Points sent to a Dask scheduler's worker processes, longest first: the serial run's
    results in the list's order, and a bar of the points done."""
    from dask.distributed import LocalCluster

    net, W, x, y = _one_layer()
    points = design_points(SYSTEM, [("adc.bits", [3, 6]), ("array.rows", [16, 32])])
    serial = explore(points, net, (x, y, x))
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        remote = explore(points, net, (x, y, x), scheduler=cluster.scheduler_address, progress=True)
    assert [r.design for r in remote] == [k for k, _ in points]
    assert [r.analog_metrics for r in remote] == [r.analog_metrics for r in serial]
    assert [r.energy_per_seed for r in remote] == [r.energy_per_seed for r in serial]
    assert "4/4" in capsys.readouterr().err


def test_a_point_the_network_does_not_fit_is_refused_before_any_point_runs(monkeypatch):
    """Arrays too small for a layer with tiling.split 'none': refused up front, naming the
    design point, not after the points before it have run."""
    ran = []
    monkeypatch.setattr(explore_module, "_run_point", lambda *args: ran.append(args))
    net, W, x, y = _one_layer()
    spec = apply_settings(load_system_spec(SYSTEM), [("tiling.split", "none")])
    points = design_points(spec, [("array.rows", [32, 16])])
    with pytest.raises(SimError, match=r"^design point array.rows=16: .*array.rows: fc needs 24 rows"):
        explore(points, net, (x, y, x), workers=2)
    assert ran == []


def _no_worker(*args):
    raise RuntimeError("this worker cannot start")


@pytest.mark.skipif("fork" not in START_METHODS, reason="no fork on this platform")
def test_a_worker_that_cannot_start_leaves_its_points_to_this_process(monkeypatch):
    """A worker whose start fails takes no point: this process runs them all, with the serial
    run's results; with no process of the caller's running points, the failure is the error."""
    from concurrent.futures.process import BrokenProcessPool

    monkeypatch.setattr(explore_module, "START_METHOD", "fork")
    monkeypatch.setattr(explore_module, "init_worker", _no_worker)
    net, W, x, y = _one_layer()
    points = design_points(SYSTEM, [("adc.bits", [3, 4, 5])])
    serial = explore(points, net, (x, y, x))
    parallel = explore(points, net, (x, y, x), workers=2)
    assert [r.analog_metrics for r in parallel] == [r.analog_metrics for r in serial]
    monkeypatch.setattr(explore_module, "PARENT_RUNS_POINTS", False)
    with pytest.raises(BrokenProcessPool):
        explore(points, net, (x, y, x), workers=2)


@pytest.mark.skipif("fork" not in START_METHODS, reason="no fork on this platform")
def test_workers_are_spawned_while_an_hdf5_file_is_open(tmp_path, monkeypatch):
    """With an HDF5 file open in this process (whose state a forked child would share), the
    workers are spawned: a network that cannot be pickled then fails, as with spawn."""
    import h5py

    monkeypatch.setattr(explore_module, "START_METHOD", "fork")
    net, W, x, y = _one_layer()
    net.info["hook"] = lambda: None
    points = design_points(SYSTEM, [("adc.bits", [3, 4])])
    with h5py.File(tmp_path / "open.h5", "w"):
        with pytest.raises((AttributeError, TypeError, pickle.PicklingError), match="pickle"):
            explore(points, net, (x, y, x), workers=2)
    assert len(explore(points, net, (x, y, x), workers=2)) == 2    # closed: forked again


class _R:
    def __init__(self, e, m, metric="accuracy"):
        self.metric, self.analog_metric = metric, m
        self.costs = type("C", (), {"total_energy": e})()


def test_pareto_front_by_hand():
    pts = [_R(1.0, 0.5), _R(2.0, 0.7), _R(3.0, 0.6), _R(0.5, 0.2), _R(4.0, 0.9)]
    assert pareto_front(pts) == [3, 0, 1, 4]
    ppl = [_R(1.0, 9.0, "perplexity"), _R(2.0, 5.0, "perplexity"), _R(3.0, 6.0, "perplexity")]
    assert pareto_front(ppl) == [0, 1]


def test_per_layer_error_is_the_layers_own_output_error():
    """One dense layer, no bias: its diagnosed relative RMS equals the network's output
    against x @ W, computed here from the outputs."""
    from cimspice.sim.backend import AnalogBackend

    net, W, x, y = _one_layer(n=64)
    backend = AnalogBackend(SYSTEM)
    backend.calibrate(net, x)
    out = net.forward(x, backend)
    ref = x @ W
    expected = np.sqrt(np.sum((out - ref) ** 2) / np.sum(ref ** 2))
    result = simulate(SYSTEM, net, (x, y, x))
    row = next(r for r in result.layers if r["layer"] == "fc")
    assert row["rel_rms"] == pytest.approx(expected, rel=1e-9)
    assert row["snr_db"] == pytest.approx(-20 * np.log10(expected), rel=1e-9)
    assert 0.9 < row["ir_attenuation"] < 1.0           # r_wire 2 ohm: a few % lost
    assert row["energy_share"] == pytest.approx(1.0, abs=1e-9) and 0 <= row["clip_rate"] <= 1


def test_a_long_call_is_diagnosed_on_strided_vectors():
    """A call of more than DIAGNOSIS_VECTORS input vectors is compared with the float product
    at an even stride: the sums are exactly those of the strided vectors, and their RMS ratio
    is within a few % of the whole call's."""
    from cimspice.sim.backend import AnalogBackend
    from cimspice.sim.tile import DIAGNOSIS_VECTORS

    n = 3 * DIAGNOSIS_VECTORS - 5
    net, W, x, y = _one_layer(n=n)
    backend = AnalogBackend(SYSTEM)
    backend.calibrate(net, x)
    backend.ledger.clear()
    out = net.forward(x, backend)
    d = backend.ledger.diagnosis["fc"]
    ref = x[::3] @ W
    assert d["error_sq"] == pytest.approx(np.sum((out[::3] - ref) ** 2), rel=1e-9)
    assert d["reference_sq"] == pytest.approx(np.sum(ref ** 2), rel=1e-9)
    whole = np.sqrt(np.sum((out - x @ W) ** 2) / np.sum((x @ W) ** 2))
    assert np.sqrt(d["error_sq"] / d["reference_sq"]) == pytest.approx(whole, rel=0.03)


def test_per_layer_diagnosis_sees_clipping_and_ideal_limit(tmp_path):
    net, W, x, y = _one_layer(n=64)
    ideal = dict(SYSTEM, inputs={"encoding": "dac", "bits": None}, adc={"bits": None, "partial_sum_bits": None},
                 mapping={"weights": "differential", "slices": 1}, array={"rows": 32, "cols": 32, "cell_bits": None},
                 nonidealities={"ir_drop": False, "read_noise_sigma": 0.0, "programming_sigma": 0.0,
                                "cell_nonlinearity": False})
    row = simulate(ideal, net, (x, y, x)).layers[0]
    assert row["rel_rms"] < 1e-9 and row["clip_rate"] == 0.0 and row["ir_attenuation"] == 1.0
    # calibrated on small inputs (the first eight rows), run on all: the ADC ranges are too
    # small and clip far more often than with ranges calibrated on the data themselves
    proper = simulate(SYSTEM, net, (x, y, x)).layers[0]["clip_rate"]
    short = simulate(SYSTEM, net, (x, y, x[np.argsort(x.sum(axis=1))[:8]])).layers[0]["clip_rate"]
    assert 0 < proper < 0.02 and short > 10 * proper


def test_cli_sweep_and_set(tmp_path, capsys):
    spec = tmp_path / "sys.yaml"
    import yaml

    spec.write_text(yaml.safe_dump(dict(SYSTEM, array={**SYSTEM["array"], "rows": 64, "cols": 64})))
    out = tmp_path / "run"
    assert main(["simulate", str(spec), "--network", "mlp", "--samples", "30", "--sweep", "adc.bits=3,5",
                 "--set", "mapping.slices=1", "-o", str(out)]) == 0
    text = capsys.readouterr().out
    assert "2 design points" in text and (out / "pareto.png").is_file() and (out / "results.csv").is_file()
    rows = [line.split() for line in text.splitlines() if line.split()[:1] in (["3"], ["5"])]
    assert [row[3] for row in rows] == ["-", "-"]                 # one seed: no interval, not 0.00 %
    assert main(["simulate", str(spec), "--network", "mlp", "--samples", "30", "--sweep", "adc.bits=3,5",
                 "--seeds", "2", "-o", str(tmp_path / "two")]) == 0
    rows = [line.split() for line in capsys.readouterr().out.splitlines() if line.split()[:1] in (["3"], ["5"])]
    assert len(rows) == 2 and all(row[3].endswith("%") for row in rows)
    assert main(["simulate", str(spec), "--network", "mlp", "--samples", "30", "--set", "adc.bits=1"]) == 1
    assert "--set adc.bits=1: adc.bits: must be >= 2" in capsys.readouterr().err
    assert main(["simulate", str(spec), "--network", "mlp", "--samples", "30", "--per-layer", "--adc-bits",
                 "-o", str(tmp_path / "one")]) == 0
    text = capsys.readouterr().out
    assert "per layer" in text and "SNR dB" in text
    assert json.loads((tmp_path / "one" / "results.json").read_text())["layers"][0]["layer"]


def test_out_of_domain_is_a_spec_field():
    spec = load_system_spec({"array": {"out_of_domain": "clip"}})
    assert spec.array.out_of_domain == "clip"
    with pytest.raises(SimError, match="array.out_of_domain"):
        load_system_spec({"array": {"out_of_domain": "warn"}})


def test_float_reference_off_leaves_the_error_columns_empty_and_the_outputs_unchanged():
    """The diagnosis's float product is optional (benchmarks time the simulator without it);
    the analog outputs and the other columns do not depend on it."""
    from cimspice.sim.backend import AnalogBackend

    net, W, x, y = _one_layer(n=64)
    logits, rows = [], []
    for reference in (True, False):
        backend = AnalogBackend(SYSTEM, float_reference=reference)
        backend.calibrate(net, x)
        logits.append(net.forward(x, backend))
        rows.append(dict(backend.ledger.diagnosis["fc"]))
    np.testing.assert_array_equal(logits[0], logits[1])
    assert rows[0]["error_sq"] > 0 and "error_sq" not in rows[1] and "reference_sq" not in rows[1]
    assert rows[1] == {k: v for k, v in rows[0].items() if k not in ("error_sq", "reference_sq")}


def test_per_layer_table_keeps_names_that_differ_only_at_the_end():
    """PyTorch's exporter names layers by their module path; cut to a fixed width, two
    convolutions of one block would read the same."""
    from cimspice.sim.diagnosis import format_layers

    base = dict(rel_rms=0.01, snr_db=40.0, clip_rate=0.0, ir_attenuation=1.0, energy_j=1e-12, energy_share=0.5,
                latency_s=1e-9, latency_share=0.5)
    names = ["/layer1/layer1.0/conv1/Conv", "/layer1/layer1.0/conv2/Conv"]
    lines = format_layers([dict(base, layer=n) for n in names])
    assert all(n in line for n, line in zip(names, lines[1:]))
    assert len({line.index("%") for line in lines[1:]}) == 1          # the columns still line up
