"""The zoo's trained networks and the analog path.

Oracles: PyTorch's own logits stored at training time (float64, same weights), the float
metric PyTorch computed, scikit-learn's digits loader, an independent quantised reference
(x_q @ W_q written out here), the crossbar solver's exact nonlinear solve, and a hand
computation of the array energy.
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from cimspice.sim.backend import AnalogBackend
from cimspice.sim.errors import SimError
from cimspice.sim.graph import Graph
from cimspice.sim.graph_layers import Binary
from cimspice.sim.layers import Conv2d, Dense
from cimspice.sim.network import Sequential
from cimspice.sim.spec import parse_system_spec
from cimspice.sim.zoo import list_networks, load_dataset, load_network, read_network_file

# Held-out accuracy / perplexity each shipped network is stated to reach (docs/system.md).
STATED = {"mlp": ("accuracy", 0.95), "cnn": ("accuracy", 0.95), "lstm": ("accuracy", 0.95),
          "resnet": ("accuracy", 0.97), "gpt": ("perplexity", 9.0)}

IDEAL = {"array": {"cell_bits": None}, "inputs": {"encoding": "dac", "bits": None},
         "adc": {"bits": None, "partial_sum_bits": None}}


def test_zoo_ships_the_five_networks_small():
    from cimspice.sim.zoo import ZOO_DIR

    assert list_networks() == ["cnn", "gpt", "lstm", "mlp", "resnet"]
    assert sum(p.stat().st_size for p in ZOO_DIR.glob("*.h5")) < 1.5e6


def test_resnet_is_a_graph_with_identity_and_projection_shortcuts():
    net = load_network("resnet")
    assert type(net) is Graph and net.metric == "accuracy"
    adds = [n for n in net.nodes if isinstance(n.layer, Binary)]
    assert len(adds) == 3 and all(n.layer.op == "add" and len(set(n.inputs)) == 2 for n in adds)
    convs = {n.outputs[0]: n for n in net.nodes if isinstance(n.layer, Conv2d)}
    shortcuts = [a.inputs[1] for a in adds]          # what each residual adds to its block's output
    assert [s in convs for s in shortcuts] == [False, True, False]   # identity, projection, identity
    down = convs[shortcuts[1]].layer
    assert down.kernel.shape[2:] == (1, 1) and down.stride == 2
    assert any(c.layer.stride == 2 and c.layer.kernel.shape[2:] == (3, 3) for c in convs.values())


@pytest.mark.parametrize("name", ["mlp", "cnn", "lstm", "resnet", "gpt"])
def test_numpy_network_reproduces_the_trainer(name):
    net = load_network(name)
    attrs, _, _, ref = read_network_file(net.info["path"])
    np.testing.assert_allclose(net.forward(ref["inputs"]), ref["logits"], rtol=1e-9, atol=1e-9)
    x, y = load_dataset(name, "test")
    score = net.score(x, y)
    assert score == pytest.approx(attrs["float_metric"], rel=1e-9)
    metric, bound = STATED[name]
    assert net.metric == metric
    assert score >= bound if metric == "accuracy" else score <= bound


def test_digits_reader_matches_scikit_learn():
    from sklearn.datasets import load_digits

    from cimspice.sim.zoo.store import digits

    X, y = digits()
    ref = load_digits()
    np.testing.assert_array_equal(X, ref.data)
    np.testing.assert_array_equal(y, ref.target)
    x_test, _ = load_dataset("cnn", "test")
    x_train, _ = load_dataset("cnn", "train")
    assert x_test.shape == (359, 1, 8, 8) and len(x_train) + len(x_test) == 1797
    X[:], y[:] = -1, -1                      # the parsed table is kept per process: not these
    X, y = digits()
    np.testing.assert_array_equal(X, ref.data)
    np.testing.assert_array_equal(y, ref.target)


@pytest.mark.parametrize("name, n", [("mlp", 100), ("cnn", 60), ("lstm", 60), ("resnet", 60), ("gpt", 4)])
def test_ideal_analog_equals_float(name, n):
    """Every non-ideality off, ideal peripherals: analog == float to rounding, with layers
    split over several arrays (32x32 arrays: partial sums) and signed inputs in two phases."""
    net = load_network(name)
    x, _ = load_dataset(name, "test", n=n)
    x_cal, _ = load_dataset(name, "train", n=32 if name != "gpt" else 4)
    backend = AnalogBackend(parse_system_spec({**IDEAL, "array": {"rows": 32, "cols": 32, "cell_bits": None}}))
    backend.calibrate(net, x_cal)
    analog, ref = net.forward(x, backend), net.forward(x)
    assert np.abs(analog - ref).max() <= 1e-10 * np.abs(ref).max()


def _quantised_reference(W, x, x_max, weight_bits, offset, in_bits):
    """x_q @ W_q written out from the definitions (no simulator code)."""
    w_max = np.abs(W).max()
    top = 2 ** (weight_bits - 1) - 1 if offset else 2 ** weight_bits - 1
    W_q = np.round(W / w_max * top) * w_max / top
    levels = 2 ** in_bits - 1
    x_q = np.sign(x) * np.round(np.minimum(np.abs(x) / x_max, 1) * levels) / levels * x_max
    return x_q @ W_q


@pytest.mark.parametrize("weights, encoding, signed", [("differential", "bit_serial", False),
                                                        ("offset", "bit_serial", "two_phase"),
                                                        ("differential", "dac", "two_phase"),
                                                        ("differential", "bit_serial", "bipolar"),
                                                        ("offset", "dac", "bipolar")])
def test_bit_sliced_bit_serial_analog_is_exact(weights, encoding, signed):
    """2-bit cells x 3 slices, 6-bit inputs, layer split over 3 row tiles; with ADCs wide
    enough the analog result equals the quantised product exactly, and a narrow ADC does not."""
    rng = np.random.default_rng(1)
    W = rng.normal(size=(40, 5))
    x = rng.uniform(-1 if signed else 0, 1, size=(30, 40))
    net = Sequential("q", [Dense("d", W, np.zeros(5))])
    spec = {"array": {"rows": 16, "cols": 16, "cell_bits": 2}, "mapping": {"weights": weights, "slices": 3},
            "inputs": {"encoding": encoding, "bits": 6, "signed": signed or "two_phase"},
            "adc": {"bits": 16, "partial_sum_bits": 16, "range": "full"}}
    backend = AnalogBackend(parse_system_spec(spec))
    backend.calibrate(net, x)
    ref = _quantised_reference(W, x, np.abs(x).max(), 6, weights == "offset", 6)
    out = net.forward(x, backend)
    assert len(backend.matrices["d"].tiles) == 3
    assert np.abs(out - ref).max() <= 1e-12 * np.abs(ref).max()
    narrow = AnalogBackend(parse_system_spec({**spec, "adc": {"bits": 4, "partial_sum_bits": 4, "range": "full"}}))
    narrow.calibrate(net, x)
    assert np.abs(net.forward(x, narrow) - ref).max() > 1e-3 * np.abs(ref).max()


def test_ir_drop_surrogate_against_exact_solver():
    """Linear cells: the transfer-matrix IR drop is exact; sinh cells: first-order, within 0.5 %."""
    rng = np.random.default_rng(2)
    W, x = rng.normal(size=(16, 8)), rng.uniform(0, 1, size=(20, 16))
    net = Sequential("ir", [Dense("d", W, np.zeros(8))])
    out = {}
    for cell in ("linear", "sinh"):
        for solver in ("surrogate", "exact"):
            spec = parse_system_spec({"array": {"rows": 16, "cols": 32, "cell": cell}, "inputs": {"bits": 6},
                                      "adc": {"bits": None},
                                      "nonidealities": {"ir_drop": True, "r_wire": 2.0, "cell_nonlinearity": True,
                                                        "solver": solver}})
            backend = AnalogBackend(spec)
            backend.calibrate(net, x)
            out[cell, solver] = net.forward(x, backend)
    ref = np.abs(out["linear", "exact"]).max()
    assert np.abs(out["linear", "surrogate"] - out["linear", "exact"]).max() < 1e-9 * ref
    err = np.abs(out["sinh", "surrogate"] - out["sinh", "exact"]).max() / np.abs(out["sinh", "exact"]).max()
    assert 1e-6 < err < 5e-3
    # and the IR drop is really there: without it the sinh outputs move
    assert np.abs(out["sinh", "exact"] - out["linear", "exact"]).max() > 1e-2 * ref


def test_array_energy_by_hand():
    """One 3x1 layer, 2-bit cells, differential, 2-bit serial inputs, linear cells: energy is
    t_read * v_read**2 * sum over pulses and driven rows of (G+ + G-)."""
    W = np.array([[1.0], [-1 / 3], [2 / 3]])
    x = np.array([[1.0, 2 / 3, 1 / 3]])          # codes 3, 2, 1: bit0 = 1 0 1, bit1 = 1 1 0
    g_on, g_off, v, t = 100e-6, 1e-6, 0.2, 100e-9
    spec = parse_system_spec({"array": {"rows": 8, "cols": 8, "cell_bits": 2, "g_on": g_on, "g_off": g_off,
                                        "v_read": v, "t_read": t}, "mapping": {"slices": 1},
                              "inputs": {"encoding": "bit_serial", "bits": 2},
                              "adc": {"bits": None}})
    net = Sequential("e", [Dense("d", W, np.zeros(1))])
    backend = AnalogBackend(spec)
    backend.calibrate(net, x)
    np.testing.assert_allclose(net.forward(x, backend), x @ W, rtol=1e-12)
    step = (g_on - g_off) / 3
    g_pair = np.array([g_off + 3 * step + g_off, g_off + g_off + step, g_off + 2 * step + g_off])
    pulses_per_row = np.array([2, 1, 1])
    counts = backend.ledger.counts["d"]
    assert counts["array_energy"] == pytest.approx(t * v ** 2 * pulses_per_row @ g_pair, rel=1e-12, abs=0)
    assert counts["driver_pulses"] == 4 and counts["adc:8"] == 0 and counts["adc:None"] == 2


def test_nonidealities_seeded_and_visible():
    net = load_network("cnn")
    x, y = load_dataset("cnn", "test", n=80)
    x_cal, _ = load_dataset("cnn", "train", n=64)
    spec = {"array": {"cell": "sinh"}, "mapping": {"slices": 2}, "adc": {"bits": 6, "partial_sum_bits": 10},
            "nonidealities": {"ir_drop": True, "cell_nonlinearity": True, "programming_sigma": 0.05,
                              "read_noise_sigma": 0.02}}
    runs = []
    for seed in (0, 0, 1):
        backend = AnalogBackend(parse_system_spec({**spec, "seed": seed}))
        backend.calibrate(net, x_cal)
        runs.append(net.forward(x, backend))
    np.testing.assert_array_equal(runs[0], runs[1])
    assert not np.array_equal(runs[0], runs[2])
    ref = net.forward(x)
    assert np.abs(runs[0] - ref).max() > 1e-3 * np.abs(ref).max()
    assert np.mean(runs[0].argmax(1) == y) > 0.85


def test_uncalibrated_matrix_refuses():
    backend = AnalogBackend(parse_system_spec({}))
    m = backend.matvec("d", np.ones((4, 2)))
    with pytest.raises(SimError, match="d: not calibrated"):
        m(np.ones((1, 4)))


def test_simulate_table_and_plots(tmp_path):
    from cimspice.sim.plots import plot_energy_breakdown, plot_sweep
    from cimspice.sim.simulate import simulate, sweep, sweep_table

    res = simulate({"name": "ideal", **IDEAL}, "mlp", n_samples=60, seeds=2)
    assert res.analog_metrics == [res.float_metric] * 2 and res.analog_ci == 0.0
    table = res.to_table()
    for word in ("float", "analog", "arrays", "adc", "latency", "area", "fc0"):
        assert word in table
    assert res.costs.total_energy > 0 and res.costs.latency > 0 and res.costs.arrays == 4
    assert plot_energy_breakdown(res, tmp_path / "energy.png").stat().st_size > 1000
    rows = sweep({"name": "s"}, "mlp", adc_bits=[3, 8], splits=["partial_sums", "input_splitting"],
                 array_sizes=[32], n_samples=40)
    assert len(rows) == 4 and "input_splitting" in sweep_table(rows)
    assert {r["adc_bits"] for r in rows} == {3, 8}
    # input splitting replaces the 12-bit partial-sum ADCs by the array's own low-resolution ones
    e = {(r["split"], r["adc_bits"]): r["adc_energy"] for r in rows}
    assert e["input_splitting", 3] < e["partial_sums", 3]
    assert plot_sweep(rows, tmp_path / "acc.png").stat().st_size > 1000


def test_simulator_never_imports_torch_or_pyspice():
    code = """
import sys
sys.modules["PySpice"] = None  # any import of PySpice now fails
import cimspice.sim
import cimspice
r = cimspice.simulate({"adc": {"bits": 6}}, "lstm", n_samples=20)
cimspice.load_library, cimspice.run_study  # surrogate evaluation and the studies' front door
print(r.analog_metric)
# torch and scikit-learn are installed here: had anything imported them, they would be loaded
loaded = [m for m in sys.modules if m.split(".")[0] in ("torch", "sklearn")
          or m.startswith(("cimspice.spice", "cimspice.circuits", "cimspice.characterize"))]
assert not loaded, loaded
"""
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert 0.5 < float(run.stdout) <= 1.0


class _SaturatingCell:
    """A stand-in for a fitted 1T1R surrogate (same interface), not separable in (g, v)."""

    name = "fake_i_cell"
    inputs = ["g", "v_bl", "v_wl"]
    domain = {"g": (1e-7, 1e-3), "v_bl": (0.0, 0.3), "v_wl": (0.5, 1.2)}

    @staticmethod
    def law(g, v, wl):
        return g * v * (wl - 0.4) / (1 + 2e4 * g * v)

    def predict(self, X, out_of_domain="error"):
        X = np.asarray(X, float)
        return self.law(X[:, 0], X[:, 1], X[:, 2])


def _saturating_layer_outputs(encoding, solver):
    """Outputs (25, 6) of a 12x6 dense layer on 16x32 arrays of :class:`_SaturatingCell`,
    with ideal ADCs and no wire resistance: the cell law is the only analog effect."""
    rng = np.random.default_rng(3)
    W, x = rng.normal(size=(12, 6)), rng.uniform(0, 1, size=(25, 12))
    net = Sequential("s", [Dense("d", W, np.zeros(6))])
    spec = parse_system_spec({"array": {"rows": 16, "cols": 32, "cell": "surrogate", "surrogate": "fake",
                                        "fixed": {"v_wl": 1.1}},
                              "mapping": {"slices": 2}, "inputs": {"encoding": encoding, "bits": 6},
                              "adc": {"bits": None, "partial_sum_bits": None},
                              "nonidealities": {"cell_nonlinearity": True, "programming_sigma": 0.1,
                                                "solver": solver},
                              "library": "lib.h5"})
    backend = AnalogBackend(spec, library={"fake": _SaturatingCell()})
    backend.calibrate(net, x)
    return net.forward(x, backend), x @ W


@pytest.mark.parametrize("encoding", ["bit_serial", "dac"])
def test_tabulated_cell_surrogate_matches_per_cell_sum(encoding):
    """A non-separable cell surrogate, factored by SVD over its levels (``solver:
    surrogate``), gives the layer outputs of the cell-by-cell sum of its law (``solver:
    exact`` with no wire resistance: every cell evaluated at its row voltage)."""
    from cimspice.sim.crossbar import CrossbarSolver, SurrogateCell

    # the exact solver without wires is the cell-by-cell sum, computed here from the law
    rng = np.random.default_rng(4)
    G, V = rng.uniform(1e-6, 1e-4, (16, 8)), rng.uniform(0.0, 0.3, (5, 16))
    per_cell = _SaturatingCell.law(G[None], V[:, :, None], 1.1).sum(axis=1)
    exact = CrossbarSolver(16, 8, r_wire=0.0, cell=SurrogateCell(_SaturatingCell(), fixed={"v_wl": 1.1}))
    np.testing.assert_allclose(exact.column_currents(G, V), per_cell, rtol=1e-12)

    factored, linear = _saturating_layer_outputs(encoding, "surrogate")
    summed, _ = _saturating_layer_outputs(encoding, "exact")
    # two levels (bit-serial) factor exactly; DAC levels keep singular values above 1e-9
    assert np.abs(factored - summed).max() < 1e-8 * np.abs(summed).max()
    # the law is far from linear here: a linear-cell tile would be off by percents
    assert np.abs(summed - linear).max() > 1e-2 * np.abs(linear).max()


def test_surrogate_cell_partials_for_the_solver():
    from cimspice.sim.crossbar import SurrogateCell

    cell = SurrogateCell(_SaturatingCell(), fixed={"v_wl": 1.1})
    assert not cell.two_terminal  # the gate drive moves with the column voltage
    g, vt, vb = 5e-5, 0.2, 0.03
    i, d_top, d_bottom = cell.current(np.array([vt]), np.array([vb]), np.array([g]))
    law = _SaturatingCell.law
    assert i[0] == pytest.approx(law(g, vt - vb, 1.1 - vb), rel=1e-12, abs=0)
    h = 1e-7
    assert d_top[0] == pytest.approx((law(g, vt - vb + h, 1.1 - vb) - law(g, vt - vb - h, 1.1 - vb)) / (2 * h),
                                     rel=1e-6)
    assert d_bottom[0] == pytest.approx((law(g, vt - vb - h, 1.1 - vb - h) - law(g, vt - vb + h, 1.1 - vb + h))
                                        / (2 * h), rel=1e-6)


def test_residual_cnn_scored_on_the_baseline_system():
    """A graph with branches on the held-out digits with every non-ideality on: accuracy, not
    only equivalence; the 1x1 projection shortcut is on arrays, the residual adds digital."""
    from cimspice.sim.simulate import simulate

    result = simulate("baseline", "resnet", n_samples=60, calibration_samples=64)
    assert result.metric == "accuracy" and result.float_metric >= 0.95
    assert result.analog_metric >= result.float_metric - 0.05
    assert result.costs.energy_by_layer["block2.down"]["arrays"] > 0
    assert result.costs.energy_by_layer["block2.add"]["digital"] > 0
    assert "accuracy" in result.to_table() and "block2.down: 16x32" in result.to_table()


def test_each_column_array_drives_its_own_word_lines():
    """An input row of a layer wider than one array is a word line in each column array,
    each with its driver (the area counts one per array row): the same pulses as the
    one-array layer, made once per array. 3 inputs x 6 outputs, differential on 8 columns:
    4 outputs per array, 2 arrays."""
    x = np.array([[1.0, 2 / 3, 1 / 3]])          # the pulses of test_array_energy_by_hand: 4
    base = {"array": {"rows": 8, "cols": 8, "cell_bits": 2}, "mapping": {"slices": 1},
            "inputs": {"encoding": "bit_serial", "bits": 2}, "adc": {"bits": None}}
    pulses = {}
    for n_out in (4, 6):
        W = np.linspace(-1, 1, 3 * n_out).reshape(3, n_out)
        net = Sequential("e", [Dense("d", W, np.zeros(n_out))])
        backend = AnalogBackend(parse_system_spec(base))
        assert [p.arrays for p in backend.prepare(net)] == [1 if n_out == 4 else 2]
        backend.calibrate(net, x)
        net.forward(x, backend)
        pulses[n_out] = backend.ledger.counts["d"]["driver_pulses"]
    assert pulses == {4: 4, 6: 8}
