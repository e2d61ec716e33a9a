"""ONNX import (`cimspice.sim.onnx_import`): models built here with onnx.helper, and the zoo's
networks exported to ONNX here, read back as cimspice networks.

Oracles: onnxruntime's own inference on the same file (CPU provider, float32), which shares
no code with the importer; the zoo networks' NumPy forward pass and the trainer's (PyTorch's)
logits stored in the zoo files.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")
from onnx import TensorProto  # noqa: E402
from onnx_models import ModelBuilder as Graph  # noqa: E402
from onnx_models import assert_rel, gemm, ort_run  # noqa: E402

from cimspice.cli import main  # noqa: E402
from cimspice.sim.backend import AnalogBackend  # noqa: E402
from cimspice.sim.data_file import read_data_file  # noqa: E402
from cimspice.sim.errors import SimError  # noqa: E402
from cimspice.sim.layers import LSTM, Activation, AvgPool2d, Conv2d, Dense, Flatten, LayerNorm, MaxPool2d  # noqa
from cimspice.sim.onnx_import import load_onnx  # noqa: E402
from cimspice.sim.spec import parse_system_spec  # noqa: E402
from cimspice.sim.zoo import load_dataset, load_network, read_network_file  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
IDEAL = {"array": {"rows": 32, "cols": 32, "cell_bits": None}, "inputs": {"encoding": "dac", "bits": None},
         "adc": {"bits": None, "partial_sum_bits": None}}


def _export_layer(g, spec, w, x):
    """One zoo layer description (``spec``) applied to tensor ``x`` as ONNX node(s)."""
    t, n = spec["type"], spec.get("name")
    if t == "dense":
        return gemm(g, x, w[f"{n}.W"], w[f"{n}.b"], name=n)
    if t == "conv2d":
        p, k = spec.get("padding", 0), list(w[f"{n}.kernel"].shape[2:])
        return g.op("Conv", [x, g.w(w[f"{n}.kernel"]), g.w(w[f"{n}.b"])], name=n, kernel_shape=k,
                    pads=[p] * 4, strides=[spec.get("stride", 1)] * 2)
    if t == "activation":
        return g.op(spec["kind"].capitalize(), [x], name=n)
    if t in ("avgpool", "maxpool"):
        k = spec["k"]
        return g.op("AveragePool" if t == "avgpool" else "MaxPool", [x], name=n, kernel_shape=[k, k], strides=[k, k])
    if t == "flatten":
        return g.op("Flatten", [x], name=n, axis=1)
    if t == "binary":
        return g.op(spec["op"].capitalize(), list(x), name=n)
    assert t == "lstm", t  # PyTorch batch_first export: Transpose -> LSTM (T, N, F) -> Y_h -> Squeeze
    H = w[f"{n}.W_hh"].shape[0]
    iofc = lambda m: np.concatenate([np.split(m.T, 4)[j] for j in (0, 3, 1, 2)])  # ifgo -> iofc # noqa
    B = np.concatenate([iofc(w[f"{n}.b"][None, :]).ravel(), np.zeros(4 * H)])[None]
    x = g.op("Transpose", [x], perm=[1, 0, 2])
    _, yh, _ = g.op("LSTM", [x, g.w(iofc(w[f"{n}.W_ih"])[None]), g.w(iofc(w[f"{n}.W_hh"])[None]), g.w(B)],
                    n_out=3, name=n, hidden_size=H)
    return g.op("Squeeze", [yh, g.w(np.array([0]))])


def export_zoo(name, path):
    """The zoo network ``name`` written as ONNX, from its stored weights (no cimspice code):
    a layer list in order, or a graph's nodes over named tensors."""
    attrs, w, _, _ = read_network_file(os.path.join(REPO, "cimspice", "sim", "zoo", f"{name}.h5"))
    g, config = Graph(), attrs["config"]
    if attrs["kind"] == "graph":
        env = {config["input"]: "x"}
        for spec in config["nodes"]:
            ins = [env[t] for t in spec["inputs"]]
            env[spec["outputs"][0]] = _export_layer(g, spec, w, ins[0] if len(ins) == 1 else ins)
        x = env[config["output"]]
    else:
        x = "x"
        for spec in config["layers"]:
            x = _export_layer(g, spec, w, x)
    fmt = {"flat": [None, 64], "image": [None, 1, 8, 8], "rows": [None, 8, 8]}[attrs["input_format"]]
    return g.save(path, ["N", *fmt[1:]], x, ["N", 10])


# ---------------------------------------------------------------------------- the zoo, round trip
@pytest.mark.parametrize("name", ["mlp", "cnn", "lstm", "resnet"])
def test_zoo_networks_round_trip_through_onnx(name, tmp_path):
    path = export_zoo(name, tmp_path / f"{name}.onnx")
    net, zoo = load_onnx(path), load_network(name)
    assert [(type(a), a.name) for a in net.layers] == [(type(b), b.name) for b in zoo.layers]
    x, y = load_dataset(name, "test")
    ours, theirs = net.forward(x), zoo.forward(x)
    assert_rel(ours, theirs, 1e-6)
    assert net.score(x, y) == zoo.score(x, y) == pytest.approx(read_network_file(zoo.info["path"])[0]["float_metric"])
    # independent oracles: onnxruntime on the same file, and the trainer's stored logits
    assert_rel(ours, ort_run(path, x), 1e-5)
    ref = read_network_file(zoo.info["path"])[3]
    assert_rel(net.forward(ref["inputs"]), ref["logits"], 1e-6)
    # the digits' shape is recognised, so the held-out set comes with the file
    assert net.info["input_format"] == zoo.info["input_format"]
    xo, yo = load_dataset(str(path), "test", n=20)
    np.testing.assert_array_equal(xo, x[:20])
    np.testing.assert_array_equal(yo, y[:20])


def test_imported_cnn_on_the_baseline_system_is_the_zoo_cnn(tmp_path):
    """Same layer names, so the same device-variation draws: every analog figure agrees."""
    from cimspice.sim.simulate import simulate

    path = export_zoo("cnn", tmp_path / "cnn.onnx")
    ours, zoo = (simulate("baseline", n, n_samples=60, calibration_samples=64) for n in (str(path), "cnn"))
    assert ours.float_metric == zoo.float_metric and ours.analog_metric == zoo.analog_metric
    assert ours.costs.total_energy == pytest.approx(zoo.costs.total_energy, rel=1e-12, abs=0)
    assert ours.costs.latency == zoo.costs.latency and ours.costs.total_area == zoo.costs.total_area


def test_exported_resnet_on_the_ideal_system_is_the_zoo_resnet(tmp_path):
    """The residual CNN through ONNX (a graph with branches): on the ideal system the import
    gives the zoo object's logits there (both equal to float), and the same accuracy."""
    net, zoo = load_onnx(export_zoo("resnet", tmp_path / "resnet.onnx")), load_network("resnet")
    assert type(net) is type(zoo) and set(net.matrices()) == set(zoo.matrices())
    x, y = load_dataset("resnet", "test", n=100)
    x_cal = load_dataset("resnet", "train", n=32)[0]
    logits = []
    for model in (net, zoo):
        backend = AnalogBackend(parse_system_spec(IDEAL))
        backend.calibrate(model, x_cal)
        logits.append(model.forward(x, backend))
    assert_rel(logits[0], logits[1], 1e-6)
    assert_rel(logits[1], zoo.forward(x), 1e-10)
    assert np.mean(logits[0].argmax(1) == y) == np.mean(logits[1].argmax(1) == y) == zoo.score(x, y)


def test_imported_cnn_runs_on_ideal_arrays_as_float(tmp_path):
    net = load_onnx(export_zoo("cnn", tmp_path / "cnn.onnx"))
    x, _ = load_dataset("cnn", "test", n=40)
    backend = AnalogBackend(parse_system_spec(IDEAL))
    backend.calibrate(net, load_dataset("cnn", "train", n=32)[0])
    assert_rel(net.forward(x, backend), net.forward(x), 1e-10)


# ---------------------------------------------------------------------------- hand-built models
def test_mlp_gemm_relu_matches_onnxruntime(tmp_path):
    rng = np.random.default_rng(0)
    g = Graph()
    h = g.op("Relu", [gemm(g, "x", rng.normal(size=(20, 16)), rng.normal(size=16))])
    h = g.op("Dropout", [g.op("Identity", [h])])
    # MatMul + Add bias, Gemm with alpha/beta and a non-transposed weight
    h = g.op("Sigmoid", [g.op("Add", [g.op("MatMul", [h, g.w(rng.normal(size=(16, 12)))]), g.w(rng.normal(size=12))])])
    out = g.op("Tanh", [g.op("Gemm", [h, g.w(rng.normal(size=(12, 5))), g.w(rng.normal(size=(1, 5)))],
                             alpha=0.5, beta=2.0)])
    path = g.save(tmp_path / "mlp.onnx", ["N", 20], out, ["N", 5])
    net = load_onnx(path)
    assert [type(a) for a in net.layers] == [Dense, Activation, Dense, Activation, Dense, Activation]
    assert net.info["input_shape"] == (20,) and net.info["input_format"] is None
    x = rng.normal(size=(50, 20))
    assert_rel(net.forward(x), ort_run(path, x), 1e-5)


def test_cnn_matches_onnxruntime(tmp_path):
    rng = np.random.default_rng(1)
    g = Graph()
    h = g.op("Conv", ["x", g.w(rng.normal(size=(4, 2, 3, 3))), g.w(rng.normal(size=4))], kernel_shape=[3, 3],
             pads=[1, 1, 1, 1])
    h = g.op("MaxPool", [g.op("Relu", [h])], kernel_shape=[2, 2], strides=[2, 2])           # 16 -> 8
    h = g.op("Conv", [h, g.w(rng.normal(size=(6, 4, 3, 3)))], kernel_shape=[3, 3], pads=[1, 1, 1, 1],
             strides=[2, 2])                                                                  # 8 -> 4
    h = g.op("Add", [h, g.w(rng.normal(size=(6, 1, 1)))])                                     # bias as an Add
    h = g.op("BatchNormalization", [h, *(g.w(v) for v in (rng.uniform(0.5, 2, 6), rng.normal(size=6),
                                                          rng.normal(size=6), rng.uniform(0.5, 2, 6)))])
    h = g.op("AveragePool", [g.op("Relu", [h])], kernel_shape=[2, 2], strides=[2, 2])        # 4 -> 2
    h = g.op("Reshape", [h, g.w(np.array([-1, 24]))])
    out = g.op("Softmax", [gemm(g, h, rng.normal(size=(24, 5)), rng.normal(size=5))], axis=-1)
    path = g.save(tmp_path / "cnn.onnx", ["N", 2, 16, 16], out, ["N", 5])
    net = load_onnx(path)
    assert [type(a) for a in net.layers] == [Conv2d, Activation, MaxPool2d, Conv2d, Activation, AvgPool2d,
                                             Flatten, Dense, Activation]
    assert net.layers[3].stride == 2 and net.layers[3].padding == 1
    x = rng.normal(size=(30, 2, 16, 16))
    assert_rel(net.forward(x), ort_run(path, x), 1e-5)


@pytest.mark.parametrize("flatten", [[], [0, -1], [4, 3], [4, -1]])
def test_global_average_pool_and_flatten(tmp_path, flatten):
    rng = np.random.default_rng(2)
    g = Graph()
    h = g.op("GlobalAveragePool", [g.op("Conv", ["x", g.w(rng.normal(size=(3, 1, 2, 2)))], kernel_shape=[2, 2])])
    out = g.op("Reshape", [h, g.w(np.array(flatten))]) if flatten else g.op("Flatten", [h])
    path = g.save(tmp_path / "gap.onnx", [4, 1, 6, 6], out, [4, 3])     # a static batch of 4
    x = rng.normal(size=(4, 1, 6, 6))
    assert_rel(load_onnx(path).forward(x), ort_run(path, x), 1e-5)


def _lstm_graph(rng, layout, tail="squeeze", F=3, H=6, C=4):
    g = Graph()
    W, R, B = rng.normal(size=(1, 4 * H, F)), rng.normal(size=(1, 4 * H, H)), rng.normal(size=(1, 8 * H))
    zeros = g.w(np.zeros((1, 2, H))) if layout == 0 else ""  # explicit zero states (batch 2), as PyTorch writes
    _, yh, _ = g.op("LSTM", ["x", g.w(W), g.w(R), g.w(B), "", zeros, zeros], n_out=3, hidden_size=H, layout=layout)
    h = {"squeeze": lambda: g.op("Squeeze", [yh, g.w(np.array([0]))]),
         "gather": lambda: g.op("Gather", [yh, g.w(np.array(-1))], axis=0),   # PyTorch's h_n[-1]
         "flatten": lambda: g.op("Flatten", [yh])}[tail]()
    return g, g.op("Add", [g.op("MatMul", [h, g.w(rng.normal(size=(H, C)))]), g.w(rng.normal(size=C))])


def test_lstm_classifier_batch_first_matches_onnxruntime(tmp_path):
    rng = np.random.default_rng(3)
    g, out = _lstm_graph(rng, layout=1, tail="flatten")
    path = g.save(tmp_path / "lstm.onnx", ["N", 5, 3], out, ["N", 4])
    net = load_onnx(path)
    assert [type(a) for a in net.layers] == [LSTM, Flatten, Dense]
    x = rng.normal(size=(20, 5, 3))
    assert_rel(net.forward(x), ort_run(path, x), 1e-5)


@pytest.mark.parametrize("tail", ["squeeze", "gather"])
def test_lstm_time_major_input_is_taken_batch_first(tmp_path, tail):
    rng = np.random.default_rng(4)
    g, out = _lstm_graph(rng, layout=0, tail=tail)
    path = g.save(tmp_path / "lstm0.onnx", [5, 2, 3], out, [2, 4])
    net = load_onnx(path)
    assert net.info["input_shape"] == (5, 3)
    x = rng.normal(size=(2, 5, 3))                       # cimspice: (N, T, F); the file: (T, N, F)
    assert_rel(net.forward(x), ort_run(path, x.transpose(1, 0, 2)), 1e-5)


def test_layernorm_gelu_softmax_block_matches_onnxruntime(tmp_path):
    """A transformer-style MLP on a sequence: MatMul on (N, T, d), LayerNormalization, the
    Erf GELU pattern of PyTorch's export and the Gelu op, softmax over the last axis."""
    rng = np.random.default_rng(5)
    g = Graph()
    h = g.op("LayerNormalization", ["x", g.w(rng.uniform(0.5, 2, 8)), g.w(rng.normal(size=8))], axis=-1,
             epsilon=1e-5)
    h = g.op("Add", [g.op("MatMul", [h, g.w(rng.normal(size=(8, 16)))]), g.w(rng.normal(size=16))])
    e = g.op("Erf", [g.op("Div", [h, g.c(np.sqrt(2.0))])])
    h = g.op("Mul", [g.op("Mul", [h, g.op("Add", [e, g.c(1.0)])]), g.c(0.5)])
    h = g.op("Gelu", [g.op("MatMul", [h, g.w(rng.normal(size=(16, 8)))])])
    out = g.op("Softmax", [g.op("MatMul", [h, g.w(rng.normal(size=(8, 6)))])], axis=-1)
    path = g.save(tmp_path / "block.onnx", ["N", 7, 8], out, ["N", 7, 6], opset=20)
    net = load_onnx(path)
    assert [type(a) for a in net.layers] == [LayerNorm, Dense, Activation, Dense, Activation, Dense, Activation]
    assert [a.kind for a in net.layers if isinstance(a, Activation)] == ["gelu", "gelu", "softmax"]
    x = rng.normal(size=(10, 7, 8))
    assert_rel(net.forward(x), ort_run(path, x), 1e-5)


def test_external_weights_inside_the_folder_load(tmp_path):
    g = Graph()
    out = gemm(g, "x", np.arange(64 * 10.0).reshape(64, 10) / 640, np.ones(10))
    path = g.save(tmp_path / "ext.onnx", ["N", 64], out, ["N", 10])
    model = onnx.load(str(path))
    onnx.save_model(model, str(path), save_as_external_data=True, location="ext.bin", size_threshold=0)
    assert (tmp_path / "ext.bin").is_file()
    x = np.random.default_rng(6).uniform(size=(5, 64))
    assert_rel(load_onnx(path).forward(x), ort_run(path, x), 1e-6)


# ---------------------------------------------------------------------------- bad inputs
def _bad(tmp_path, build, x_shape=("N", 4), opset=17):
    g = Graph()
    out = build(g)
    return g.save(tmp_path / "bad.onnx", list(x_shape), out, ["N"], opset)


@pytest.mark.parametrize("build, x_shape, message", [
    (lambda g: g.op("LeakyRelu", ["x"], name="leaky"), ("N", 4), r"'leaky' \(LeakyRelu\): unsupported op"),
    (lambda g: g.op("Conv", ["x", g.w(np.ones((3, 1, 3, 3)))], name="c", kernel_shape=[3, 3], group=2),
     ("N", 2, 8, 8), r"'c' \(Conv\): c: groups must be >= 1 and divide the 3 output channels, got 2"),
    (lambda g: g.op("Conv", ["x", g.w(np.ones((4, 1, 3, 3, 3)))], kernel_shape=[3, 3, 3]),
     ("N", 1, 8, 8, 8), r"3-D Conv unsupported \(2-D only\)"),
    (lambda g: g.op("MaxPool", ["x"], kernel_shape=[3, 3], strides=[2, 2], ceil_mode=1), ("N", 1, 8, 8),
     r"ceil_mode, dilations and storage_order unsupported"),
    (lambda g: g.op("LeakyRelu", [g.op("Add", ["x", g.op("Relu", ["x"])], name="residual")], name="leaky"),
     ("N", 4), r"'leaky' \(LeakyRelu\): unsupported op"),
    (lambda g: g.op("Reshape", ["x", g.w(np.array([2, -1]))], name="rs"), ("N", 4, 4),
     r"'rs' \(Reshape\): Reshape to \[2, -1\] unsupported"),
    (lambda g: g.op("Gemm", ["x", g.w(np.ones((5, 4)))], name="fc"), ("N", 4), r"'fc'.*4 features, W has 5"),
    (lambda g: g.op("Softmax", ["x"], axis=0), ("N", 3, 4), r"Softmax along axis 0, the batch axis, unsupported"),
    (lambda g: g.op("Transpose", ["x"], perm=[1, 0], name="t"), ("N", 4),
     r"'t' \(Transpose\): writes the graph output 't\d+_0' of shape \(4, N\): the output must be batch-first"),
    (lambda g: g.op("Relu", [g.op("Gelu", ["x"], approximate="tanh")]), ("N", 4), r"approximate='tanh'"),
    (lambda g: g.op("LSTM", ["x", g.w(np.ones((1, 8, 3))), g.w(np.ones((1, 8, 2)))], n_out=3, hidden_size=2,
                    layout=1, name="rnn")[0], ("N", 5, 3), r"'rnn' \(LSTM\): only the last hidden state Y_h"),
    (lambda g: g.op("LSTM", ["x", g.w(np.ones((1, 8, 3))), g.w(np.ones((1, 8, 2))), "", "", g.w(np.ones((1, 1, 2)))],
                    n_out=3, hidden_size=2, layout=1)[1], ("N", 5, 3), r"non-zero initial_h / initial_c unsupported"),
    (lambda g: g.op("Gemm", ["x", g.w(np.ones((4, 3)))], transA=1), (4, 4), r"transA=1 unsupported"),
])
def test_unsupported_graphs_name_file_node_and_reason(tmp_path, build, x_shape, message):
    path = _bad(tmp_path, build, x_shape, opset=20)
    with pytest.raises(SimError, match=message) as info:
        load_onnx(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_bidirectional_lstm_is_refused(tmp_path):
    g = Graph()
    yh = g.op("LSTM", ["x", g.w(np.ones((2, 8, 3))), g.w(np.ones((2, 8, 2)))], n_out=3, hidden_size=2,
              direction="bidirectional", layout=1, name="rnn")[1]
    path = g.save(tmp_path / "bi.onnx", ["N", 5, 3], yh, ["N"])
    with pytest.raises(SimError, match=r"'rnn' \(LSTM\): direction=bidirectional unsupported"):
        load_onnx(path)


def test_corrupt_missing_and_foreign_files(tmp_path):
    good = export_zoo("mlp", tmp_path / "good.onnx").read_bytes()
    (tmp_path / "cut.onnx").write_bytes(good[: len(good) // 2])
    (tmp_path / "text.onnx").write_text("this is not an ONNX model\n")
    (tmp_path / "empty.onnx").write_bytes(b"")
    for name in ("cut.onnx", "text.onnx", "empty.onnx"):
        with pytest.raises(SimError, match=rf"{name}: not a (readable|valid) ONNX") as info:
            load_onnx(tmp_path / name)
        assert "\n" not in str(info.value)
    with pytest.raises(SimError, match=r"nothere.onnx: no such ONNX file"):
        load_onnx(tmp_path / "nothere.onnx")


def test_external_data_outside_the_folder_is_refused(tmp_path):
    secret = tmp_path / "secret.bin"
    secret.write_bytes(np.ones(40, np.float32).tobytes())
    (tmp_path / "model").mkdir()
    os.symlink(secret, tmp_path / "model" / "link.bin")
    for loc in ("../secret.bin", str(secret), "link.bin"):
        g = Graph()
        out = g.op("MatMul", ["x", "W"])
        path = g.save(tmp_path / "model" / "m.onnx", ["N", 4], out, ["N", 10])
        model = onnx.load(str(path))
        t = TensorProto(name="W", data_type=TensorProto.FLOAT, dims=[4, 10])
        t.data_location = TensorProto.EXTERNAL
        t.external_data.add(key="location", value=loc)
        model.graph.initializer.append(t)
        onnx.save(model, str(path))
        with pytest.raises(SimError, match=r"m.onnx: tensor 'W': external data .* outside the model's folder"):
            load_onnx(path)


def test_missing_onnx_package_says_how_to_install(tmp_path, monkeypatch):
    path = export_zoo("mlp", tmp_path / "m.onnx")
    monkeypatch.setitem(sys.modules, "onnx", None)  # what an environment without onnx raises: ImportError
    with pytest.raises(SimError, match=r"pip install onnx"):
        load_onnx(path)


def test_data_file_is_checked(tmp_path):
    np.savez(tmp_path / "ok.npz", x=np.ones((6, 4)), y=np.arange(6))
    x, y, x_cal = read_data_file(tmp_path / "ok.npz", n=4)
    assert x.shape == (4, 4) and y.tolist() == [0, 1, 2, 3] and x_cal.shape == (6, 4)
    np.savez(tmp_path / "obj.npz", x=np.array([object(), 1], dtype=object), y=np.arange(2))
    with pytest.raises(SimError, match=r"obj.npz: not a readable .npz file"):
        read_data_file(tmp_path / "obj.npz")
    np.savez(tmp_path / "noy.npz", x=np.ones((3, 2)))
    with pytest.raises(SimError, match=r"noy.npz: array\(s\) \['y'\] missing"):
        read_data_file(tmp_path / "noy.npz")
    np.savez(tmp_path / "fy.npz", x=np.ones((3, 2)), y=np.ones(3))
    with pytest.raises(SimError, match=r"fy.npz: y must be integer labels"):
        read_data_file(tmp_path / "fy.npz")


# ---------------------------------------------------------------------------- the command line
def test_cli_simulates_an_exported_model(tmp_path):
    path = export_zoo("mlp", tmp_path / "model.onnx")
    run = subprocess.run([sys.executable, "-m", "cimspice.cli", "simulate", "ideal", "--network", str(path),
                          "--samples", "60", "--adc-bits", "-o", str(tmp_path / "out")],
                         capture_output=True, text=True, timeout=300, cwd=REPO)
    assert run.returncode == 0, run.stderr
    float_acc, analog_acc = re.search(r"accuracy\s+float ([\d.]+)%\s+analog ([\d.]+)%", run.stdout).groups()
    x, y = load_dataset("mlp", "test", n=60)
    assert float_acc == analog_acc == f"{100 * load_network('mlp').score(x, y):.2f}"
    assert "model.onnx" in run.stdout and "60 held-out samples" in run.stdout


def test_cli_needs_data_for_other_shapes(tmp_path, capsys):
    rng = np.random.default_rng(7)
    g = Graph()
    out = gemm(g, g.op("Relu", [gemm(g, "x", rng.normal(size=(20, 16)), rng.normal(size=16))]),
               rng.normal(size=(16, 3)), rng.normal(size=3))
    path = g.save(tmp_path / "user.onnx", ["N", 20], out, ["N", 3])
    args = ["simulate", "ideal", "--network", str(path), "--adc-bits", "-o"]
    assert main([*args, str(tmp_path / "a")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "user.onnx: input shape (20,)" in err and "--data" in err
    x = rng.normal(size=(40, 20))
    np.savez(tmp_path / "d.npz", x=x, y=np.argmax(ort_run(path, x), axis=1), x_calibration=rng.normal(size=(16, 20)))
    assert main([*args, str(tmp_path / "b"), "--data", str(tmp_path / "d.npz"), "--samples", "30"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"accuracy\s+float 100.00%\s+analog 100.00%", out) and "30 held-out samples" in out
