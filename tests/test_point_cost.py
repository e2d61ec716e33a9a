"""A design point's work, estimated before it runs (sim/point_cost.py), against what the
simulator then does: its own ledger's ADC conversions and the IR-drop condensations its
crossbar solver performs. The order it gives a parallel sweep (sim/explore.py)."""

from __future__ import annotations

import time

import numpy as np
import pytest

from cimspice.sim import explore as explore_module
from cimspice.sim.backend import AnalogBackend
from cimspice.sim.crossbar import solver as solver_module
from cimspice.sim.explore import design_points, explore, longest_first
from cimspice.sim.network import Sequential
from cimspice.sim.point_cost import point_costs, point_work, vectors_per_sample
from cimspice.sim.simulate import _data, _network

SMALL = {"name": "small", "array": {"rows": 32, "cols": 32, "cell": "linear"},
         "mapping": {"weights": "differential", "slices": 2},
         "inputs": {"encoding": "dac", "bits": 6}, "adc": {"bits": 5, "partial_sum_bits": 8},
         "nonidealities": {"ir_drop": True, "r_wire": 2.0, "read_noise_sigma": 0.02}}


def _shapes(net) -> dict:
    return {name: W.shape for name, W in net.matrices().items()}


@pytest.mark.parametrize("network", ["mlp", "cnn", "lstm"])
def test_conversions_per_sample_are_the_simulators_own(network):
    """Input vectors per sample counted through the float network (a convolution's output
    positions, an LSTM's time steps, signed inputs read in two phases) times the columns
    and pulses of each spec: the ADC conversions the analog backend books, per sample."""
    net, _ = _network(network)
    x, _, x_cal = _data(net, network, None, 3, 16)
    vectors = vectors_per_sample(net, x[:1])
    sweeps = [("inputs.encoding", ["dac", "bit_serial"]), ("array.rows", [16, 64]),
              ("mapping.weights", ["differential", "offset"])]
    for knobs, spec in design_points("baseline", sweeps):
        backend = AnalogBackend(spec)
        backend.calibrate(net, x_cal)
        backend.ledger.counts.clear()
        net.forward(x, backend)
        booked = sum(count for events in backend.ledger.counts.values() for event, count in events.items()
                     if event.startswith("adc:"))
        assert point_work(spec, _shapes(net), vectors)[2] * len(x) == booked, knobs


def test_cells_and_arrays_are_the_condensations_the_solver_performs(monkeypatch):
    """Every array's IR-drop transfer is condensed once over the cells it uses (a row tile's
    rows, an output group's columns with offset mapping's reference columns): the count and
    the cells of the condensations a programmed network's solver runs."""
    condensed = []
    real = solver_module.condensed_transfer

    def spy(G, *args):
        condensed.append(G.size)
        return real(G, *args)

    monkeypatch.setattr(solver_module, "condensed_transfer", spy)
    for network in ("mlp", "cnn"):
        net, _ = _network(network)
        x, _, x_cal = _data(net, network, None, 2, 8)
        vectors = vectors_per_sample(net, x[:1])
        sweeps = [("array.rows", [32, 64]), ("mapping.weights", ["differential", "offset"]), ("mapping.slices", [1, 2]),
                  ("nonidealities.ir_drop", [True, False])]
        for knobs, spec in design_points("baseline", sweeps):
            condensed.clear()
            AnalogBackend(spec).calibrate(net, x_cal)
            cells, arrays, _ = point_work(spec, _shapes(net), vectors)
            assert cells == sum(condensed), (network, knobs)
            if spec.nonidealities.ir_drop:
                assert arrays == len(condensed), (network, knobs)


def test_costs_grow_with_the_work_and_the_samples():
    net, _ = _network("mlp")
    x, _, _ = _data(net, "mlp", None, 4, 8)
    vectors = vectors_per_sample(net, x[:1])
    points = design_points("baseline", [("mapping.slices", [1, 2]), ("inputs.encoding", ["dac", "bit_serial"])])
    specs = [spec for _, spec in points]
    costs = point_costs(specs, net, vectors, 200)
    assert costs.shape == (4,) and np.all(costs > 0)
    assert costs[1] > costs[0] and costs[3] > costs[2] and costs[2] > costs[0]    # slices, pulses
    np.testing.assert_allclose(point_costs(specs, net, vectors, 200, seeds=3), 3 * costs)
    assert np.all(point_costs(specs, net, vectors, 2000) > costs)


def test_longest_first_orders_by_the_estimate_and_falls_back_to_the_list():
    net, _ = _network("mlp")
    data = _data(net, "mlp", None, 20, 8)
    points = design_points("baseline", [("mapping.slices", [1, 2]), ("array.rows", [64, 32])])
    specs = [spec for _, spec in points]
    costs = point_costs(specs, net, vectors_per_sample(net, data[0][:1]), 20)
    order = longest_first(specs, net, data, {})
    assert sorted(order) == [0, 1, 2, 3] and list(costs[order]) == sorted(costs, reverse=True)
    broken = Sequential.from_config("broken", [{"type": "dense", "name": "fc"}],
                                    {"fc.W": np.ones((3, 2)), "fc.b": np.zeros(2)}, {})
    assert longest_first(specs, broken, (np.ones((2, 5)),), {}) == [0, 1, 2, 3]   # 5 inputs on a 3-row layer


def test_a_parallel_sweep_takes_its_points_in_the_given_order(monkeypatch):
    """Each process starts its points in the order's sequence (whichever is free takes the
    next), the first point started is the order's first, and the results come back in the
    list's order, equal to a serial run's."""
    rng = np.random.default_rng(0)
    W = rng.normal(size=(24, 5))
    net = Sequential.from_config("one", [{"type": "dense", "name": "fc"}], {"fc.W": W, "fc.b": np.zeros(5)}, {})
    x = rng.uniform(0, 1, size=(40, 24))
    data = (x, np.argmax(x @ W, axis=1), x)
    points = design_points(SMALL, [("adc.bits", [3, 4, 5, 6]), ("array.rows", [16, 32])])
    given = [5, 2, 7, 0, 3, 6, 1, 4]
    monkeypatch.setattr(explore_module, "longest_first", lambda *args: list(given))
    run_point = explore_module._run_point

    def stamped(*args):
        import os

        start = time.monotonic()
        result = run_point(*args)
        result.started = (os.getpid(), start)
        return result

    monkeypatch.setattr(explore_module, "_run_point", stamped)
    parallel = explore(points, net, data, workers=2)
    serial = explore(points, net, data)
    assert [r.analog_metric for r in parallel] == [r.analog_metric for r in serial]
    assert [r.design for r in parallel] == [k for k, _ in points]
    assert min(range(len(points)), key=lambda i: parallel[i].started[1]) == given[0]
    for pid in {r.started[0] for r in parallel}:
        mine = sorted((r.started[1], given.index(i)) for i, r in enumerate(parallel) if r.started[0] == pid)
        assert [position for _, position in mine] == sorted(position for _, position in mine)
