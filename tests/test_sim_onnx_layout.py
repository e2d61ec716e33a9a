"""ONNX models whose input is time-major, (T, N, F): the batch axis of the graph input, found
in the file (its one dynamic axis) or given (``load_onnx(..., batch_axis=)``, ``cimspice
simulate --onnx-batch-axis``), while the imported network takes batch-first (N, T, F).

Models built here with onnx.helper and seeded weights: an attention-free sequence classifier
(MatMul, Add, Relu, Softmax over T as attention pooling, ReduceMean over T, Gemm), a
single-head self-attention block, a Linear before a time-major LSTM, token ids (T, N), and a
time-major output; and PyTorch's own ``nn.TransformerEncoder(..., batch_first=False)`` as
its legacy and dynamo exporters write it (tests/onnx_torch/export_time_major.py; the tests
need no torch). Oracle: onnxruntime on the same file fed the time-major tensor (CPU, float32; one
sample at a time for a file at a static batch of 1), within 1e-6 relative.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")
from onnx import TensorProto  # noqa: E402
from onnx_models import ModelBuilder, assert_rel, gemm, ort_run  # noqa: E402

from cimspice.cli import main  # noqa: E402
from cimspice.sim.errors import SimError  # noqa: E402
from cimspice.sim.graph_layers import Transpose  # noqa: E402
from cimspice.sim.layers import LSTM, Activation, Dense  # noqa: E402
from cimspice.sim.onnx_import import load_onnx  # noqa: E402

T, F, E, C = 5, 3, 8, 4
TORCH = Path(__file__).parent / "onnx_torch"


def _w(rng, *shape):
    return rng.normal(0.0, 1.0 / np.sqrt(shape[0]), size=shape)


def _classifier(g, rng, x):
    """(T, N, F) -> (N, C): a per-step MatMul + Add + Relu, attention pooling over T (a score
    per step, Softmax over axis 0, the weighted sum) plus the mean over T, a Gemm head."""
    h = g.op("Relu", [g.op("Add", [g.op("MatMul", [x, g.w(_w(rng, F, E))]), g.w(_w(rng, E))])])
    weights = g.op("Softmax", [g.op("MatMul", [h, g.w(_w(rng, E, 1))])], axis=0)
    pooled = g.op("ReduceSum", [g.op("Mul", [h, weights]), g.w(np.array([0]))], keepdims=0)
    mean = g.op("ReduceMean", [h], axes=[0], keepdims=0)
    return gemm(g, g.op("Add", [pooled, mean]), _w(rng, E, C), _w(rng, C))


def _attention(g, rng, x):
    """(T, N, F) -> (T, N, E): one head of self-attention as a time-major model writes it
    (batch moved first for the scores, back after), a residual Add and LayerNormalization."""
    h = g.op("MatMul", [x, g.w(_w(rng, F, E))])
    q, k, v = (g.op("Transpose", [g.op("MatMul", [h, g.w(_w(rng, E, E))])], perm=[1, 0, 2]) for _ in range(3))
    scores = g.op("Mul", [g.op("MatMul", [q, g.op("Transpose", [k], perm=[0, 2, 1])]), g.w(np.array(E ** -0.5))])
    ctx = g.op("Transpose", [g.op("MatMul", [g.op("Softmax", [scores], axis=-1), v])], perm=[1, 0, 2])
    out = g.op("Add", [h, g.op("MatMul", [ctx, g.w(_w(rng, E, E))])])
    return g.op("LayerNormalization", [out, g.w(1 + 0.1 * rng.normal(size=E)), g.w(0.1 * rng.normal(size=E))],
                axis=-1)


def _attention_classifier(g, rng, x):
    return gemm(g, g.op("ReduceMean", [_attention(g, rng, x)], axes=[0], keepdims=0), _w(rng, E, C), _w(rng, C))


MODELS = {"classifier": _classifier, "attention": _attention_classifier}


def _save(tmp_path, build, x_shape, seed=0, name="m"):
    g = ModelBuilder()
    out = build(g, np.random.default_rng(seed), "x")
    return g.save(tmp_path / f"{name}.onnx", x_shape, out)


def _time_major(x):
    """cimspice's batch-first (N, T, ...) as the file's (T, N, ...)."""
    return np.swapaxes(x, 0, 1)


def _ort_static(path, x):
    """onnxruntime on a file at a static batch of 1 at axis 1: one sample at a time."""
    return np.concatenate([ort_run(path, _time_major(x[k:k + 1])) for k in range(len(x))])


def _float32(x):
    """``x`` as onnxruntime is fed it (float32), so both sides see the same input."""
    return np.asarray(x, np.float32).astype(float)


# ---------------------------------------------------------------------------- the batch from the file
@pytest.mark.parametrize("model", sorted(MODELS))
@pytest.mark.parametrize("batch", [1, 3])
def test_named_dynamic_batch_at_axis_1_is_the_batch(tmp_path, model, batch):
    path = _save(tmp_path, MODELS[model], [T, "N", F])
    net = load_onnx(path)
    assert net.info["batch_axis"] == 1 and net.info["input_shape"] == (T, F)
    assert isinstance(net.layers[0], Transpose) and net.layers[0].perm == (1, 0, 2)
    x = _float32(np.random.default_rng(batch).normal(size=(batch, T, F)))
    y = net.forward(x)
    assert y.shape == (batch, C)
    assert_rel(y, ort_run(path, _time_major(x)), 1e-6)


def test_samples_stay_apart(tmp_path):
    """Sample k's output depends on sample k alone: the batch is not mixed with time."""
    net = load_onnx(_save(tmp_path, _attention_classifier, [T, "N", F]))
    x = np.random.default_rng(5).normal(size=(3, T, F))
    np.testing.assert_allclose(net.forward(x)[1:2], net.forward(x[1:2]), rtol=1e-12)


def test_unnamed_dynamic_axis_is_the_batch(tmp_path):
    path = _save(tmp_path, _classifier, [T, None, F])
    net = load_onnx(path)
    assert net.info["batch_axis"] == 1
    x = _float32(np.random.default_rng(2).normal(size=(3, T, F)))
    assert_rel(net.forward(x), ort_run(path, _time_major(x)), 1e-6)


# ---------------------------------------------------------------------------- the batch given
@pytest.mark.parametrize("model", sorted(MODELS))
@pytest.mark.parametrize("batch", [1, 3])
def test_static_batch_1_with_batch_axis_1(tmp_path, model, batch):
    path = _save(tmp_path, MODELS[model], [T, 1, F])
    net = load_onnx(path, batch_axis=1)
    assert net.info["batch_axis"] == 1 and net.info["input_shape"] == (T, F)
    x = _float32(np.random.default_rng(10 + batch).normal(size=(batch, T, F)))
    assert_rel(net.forward(x), _ort_static(path, x), 1e-6)
    assert_rel(load_onnx(path, batch_axis=-2).forward(x), _ort_static(path, x), 1e-6)


def test_static_batch_1_without_batch_axis_reads_axis_0_and_refuses(tmp_path):
    """All static: the batch is axis 0 unless told, so T is taken for it, and the Softmax
    over T is then over the batch: refused, not a wrong answer."""
    path = _save(tmp_path, _classifier, [T, 1, F])
    with pytest.raises(SimError, match=r"Softmax along axis 0, the batch axis, unsupported .* \(input 'x' "
                                       r"\(5, 1, 3\) is all static, its batch taken as axis 0: if it is time-major, "
                                       r"\(T, N, F\), give batch_axis=1, --onnx-batch-axis 1\)$") as info:
        load_onnx(path)
    assert "\n" not in str(info.value)


def test_batch_axis_given_where_the_file_agrees(tmp_path):
    path = _save(tmp_path, _classifier, [T, "N", F])
    x = _float32(np.random.default_rng(3).normal(size=(2, T, F)))
    assert_rel(load_onnx(path, batch_axis=1).forward(x), ort_run(path, _time_major(x)), 1e-6)


def test_several_dynamic_axes_take_the_given_one(tmp_path):
    """Two dynamic axes: the file does not say which is the batch; the other must be static,
    so a file with a dynamic T is refused whichever axis is given."""
    path = _save(tmp_path, _classifier, ["T", "N", F])
    with pytest.raises(SimError, match=r"input 'x' has shape \(T, N, 3\): needs a batch axis and static sizes"):
        load_onnx(path, batch_axis=1)


# ---------------------------------------------------------------------------- PyTorch's export
@pytest.mark.parametrize("name, given", [("transformer_tm_static", 1), ("transformer_tm_dynamic", None),
                                         ("transformer_tm_dynamo", None)])
@pytest.mark.parametrize("batch", [1, 3])
def test_pytorch_time_major_transformer(name, given, batch):
    """PyTorch's nn.TransformerEncoder with batch_first=False fed (T, N, E)
    (tests/onnx_torch/export_time_major.py): legacy exporter at its static batch 1 with
    batch_axis=1, and with the batch named dynamic at axis 1, found in the file; the dynamo
    exporter (PyTorch's default) with the batch dynamic at axis 1, weights in .onnx.data."""
    path = TORCH / f"{name}.onnx"
    net = load_onnx(path, batch_axis=given)
    assert net.info["batch_axis"] == 1 and net.info["input_shape"] == (8, 8)
    x = _float32(np.random.default_rng(20 + batch).random((batch, 8, 8)))
    theirs = _ort_static(path, x) if given else ort_run(path, _time_major(x))
    assert_rel(net.forward(x), theirs, 1e-6)


def test_pytorch_time_major_transformer_at_batch_1_needs_the_axis():
    with pytest.raises(SimError, match=r"give batch_axis=1, --onnx-batch-axis 1\)$"):
        load_onnx(TORCH / "transformer_tm_static.onnx")


# ---------------------------------------------------------------------------- refusals
@pytest.mark.parametrize("x_shape, axis, message", [
    ([T, "N", F], 3, r"input 'x': batch_axis 3 is out of range for its 3 axes \(5, N, 3\)"),
    ([T, 1, F], -4, r"input 'x': batch_axis -4 is out of range for its 3 axes \(5, 1, 3\)"),
    ([T, "N", F], 0, r"input 'x': batch_axis 0 contradicts the file, whose one dynamic axis \(the batch\) is "
                     r"axis 1 of \(5, N, 3\)"),
    ([T, 1, F], "1", r"input 'x': batch_axis must be an integer axis, got '1'"),
])
def test_bad_batch_axis_is_refused_naming_file_input_and_reason(tmp_path, x_shape, axis, message):
    path = _save(tmp_path, _classifier, x_shape)
    with pytest.raises(SimError, match=message) as info:
        load_onnx(path, batch_axis=axis)
    assert str(info.value).startswith(f"{path}: ") and "\n" not in str(info.value)


def test_output_with_the_batch_elsewhere_is_refused(tmp_path):
    """(T, N, E) -> (E, T, N): the batch neither first nor where the input has it."""
    def build(g, rng, x):
        return g.op("Transpose", [g.op("MatMul", [x, g.w(_w(rng, F, E))])], perm=[2, 0, 1], name="t")

    path = _save(tmp_path, build, [T, "N", F])
    with pytest.raises(SimError, match=r"'t' \(Transpose\): writes the graph output 't\d+_0' of shape \(8, 5, N\): "
                                       r"the output must be batch-first, \(N, \.\.\.\), or with it alone on axis 1"):
        load_onnx(path)


# ---------------------------------------------------------------------------- what else the input feeds
def test_time_major_output_comes_back_batch_first(tmp_path):
    path = _save(tmp_path, _attention, [T, "N", F])
    net = load_onnx(path)
    assert isinstance(net.layers[-1], Transpose) and net.layers[-1].perm == (1, 0, 2)
    x = _float32(np.random.default_rng(6).normal(size=(3, T, F)))
    y = net.forward(x)
    assert y.shape == (3, T, E)
    assert_rel(y, _time_major(ort_run(path, _time_major(x))), 1e-6)


def test_rank_2_features_by_batch(tmp_path):
    """(F, N): a Transpose to (N, F), then a Gemm."""
    def build(g, rng, x):
        return gemm(g, g.op("Transpose", [x], perm=[1, 0]), _w(rng, F, C), _w(rng, C))

    path = _save(tmp_path, build, [F, "N"])
    net = load_onnx(path)
    assert net.info["input_shape"] == (F,)
    x = _float32(np.random.default_rng(8).normal(size=(4, F)))
    assert_rel(net.forward(x), ort_run(path, x.T), 1e-6)


def test_time_major_token_ids(tmp_path):
    """(T, N) token ids: a Gather of an embedding table, the mean over T, a Gemm."""
    rng = np.random.default_rng(9)
    g = ModelBuilder()
    h = g.op("Gather", [g.w(rng.normal(size=(11, E))), "x"])
    out = gemm(g, g.op("ReduceMean", [h], axes=[0], keepdims=0), _w(rng, E, C), _w(rng, C))
    path = g.save(tmp_path / "tokens.onnx", [T, "N"], out, x_type=TensorProto.INT64)
    net = load_onnx(path)
    ids = rng.integers(0, 11, size=(3, T))
    assert net.info["input_shape"] == (T,)
    assert_rel(net.forward(ids), ort_run(path, ids.T), 1e-6)


def _lstm(g, rng, x, F_in, H=6, layout=0):
    W, R, B = _w(rng, 4 * H, F_in)[None], _w(rng, 4 * H, H)[None], 0.1 * rng.normal(size=(1, 8 * H))
    _, yh, _ = g.op("LSTM", [x, g.w(W), g.w(R), g.w(B)], n_out=3, hidden_size=H, layout=layout)
    return gemm(g, g.op("Squeeze", [yh, g.w(np.array([0 if layout == 0 else 1]))]), _w(rng, H, C), _w(rng, C))


def test_linear_before_a_time_major_lstm(tmp_path):
    """(T, N, F) -> MatMul -> Tanh -> LSTM layout 0: the LSTM takes the time-major tensor
    (moved batch-first for cimspice's LSTM), no longer the bare input only."""
    def build(g, rng, x):
        return _lstm(g, rng, g.op("Tanh", [g.op("MatMul", [x, g.w(_w(rng, F, E))])]), E)

    path = _save(tmp_path, build, [T, "N", F])
    net = load_onnx(path)
    assert [type(a) for a in net.layers] == [Transpose, Dense, Activation, Transpose, LSTM, Dense]
    x = _float32(np.random.default_rng(12).normal(size=(3, T, F)))
    assert_rel(net.forward(x), ort_run(path, _time_major(x)), 1e-6)


# ---------------------------------------------------------------------------- as before
@pytest.mark.parametrize("x_shape", [[T, 2, F], [T, "N", F], [T, 1, F]])
def test_input_of_a_layout_0_lstm_is_held_batch_first_without_a_layer(tmp_path, x_shape):
    """A layout-0 LSTM's (T, N, F) input, static or named: batch axis 1 (from the file, or
    the LSTM's layout when every axis is static), no Transpose (cimspice's LSTM takes
    (N, T, F)), as before this option existed."""
    path = _save(tmp_path, lambda g, rng, x: _lstm(g, rng, x, F), x_shape, seed=4)
    net = load_onnx(path)
    assert [type(a) for a in net.layers] == [LSTM, Dense]
    assert net.info["batch_axis"] == 1 and net.info["input_shape"] == (T, F)
    batch = x_shape[1] if isinstance(x_shape[1], int) else 3
    x = _float32(np.random.default_rng(13).normal(size=(batch, T, F)))
    want = _ort_static(path, x) if batch == 1 else ort_run(path, _time_major(x))
    assert_rel(net.forward(x), want, 1e-6)


def test_batch_first_input_has_no_transpose(tmp_path):
    """(N, T, F) with the batch named at axis 0: imported as before, no layer added."""
    def build(g, rng, x):
        h = g.op("Relu", [g.op("MatMul", [x, g.w(_w(rng, F, E))])])
        return gemm(g, g.op("ReduceMean", [h], axes=[1], keepdims=0), _w(rng, E, C), _w(rng, C))

    path = _save(tmp_path, build, ["N", T, F])
    net = load_onnx(path)
    assert net.info["batch_axis"] == 0 and not any(isinstance(a, Transpose) for a in net.layers)
    x = _float32(np.random.default_rng(14).normal(size=(3, T, F)))
    assert_rel(net.forward(x), ort_run(path, x), 1e-6)


# ---------------------------------------------------------------------------- the command line
def test_cli_onnx_batch_axis(tmp_path, capsys):
    rng = np.random.default_rng(15)
    path = _save(tmp_path, _classifier, [T, 1, F], name="seq")
    x = rng.normal(size=(24, T, F))
    np.savez(tmp_path / "d.npz", x=x, y=np.argmax(_ort_static(path, x), axis=1),
             x_calibration=rng.normal(size=(8, T, F)))
    args = ["simulate", "ideal", "--network", str(path), "--data", str(tmp_path / "d.npz"), "-o"]
    assert main([*args, str(tmp_path / "a"), "--onnx-batch-axis", "1"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"accuracy\s+float 100.00%", out) and "seq.onnx" in out and "24 held-out samples" in out
    assert main([*args, str(tmp_path / "b"), "--onnx-batch-axis", "3"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"{path}: input 'x': batch_axis 3 is out of range" in err
    assert main(["simulate", "ideal", "--network", "mlp", "--onnx-batch-axis", "1"]) == 1
    assert "--onnx-batch-axis applies to an ONNX network" in capsys.readouterr().err


def test_load_dataset_of_a_time_major_file_at_a_static_batch(tmp_path):
    """The shipped data for an ONNX file whose input is (T, 1, F) at a static batch: found
    only with the batch axis given, as load_onnx takes it; then the LSTM's digit rows."""
    from cimspice.sim.zoo import load_dataset

    def rows_classifier(g, rng, x):
        h = g.op("Relu", [g.op("MatMul", [x, g.w(_w(rng, 8, E))])])
        return gemm(g, g.op("ReduceMean", [h], axes=[0], keepdims=0), _w(rng, E, C), _w(rng, C))

    path = _save(tmp_path, rows_classifier, [8, 1, 8])
    with pytest.raises(SimError, match=r"give batch_axis=1, --onnx-batch-axis 1\)$"):
        load_dataset(path, n=4)
    x, y = load_dataset(path, n=4, batch_axis=1)
    x_rows, y_rows = load_dataset("lstm", n=4)
    assert x.shape == (4, 8, 8) and np.array_equal(x, x_rows) and np.array_equal(y, y_rows)
