"""Networks as PyTorch exports them, and the batch followed through the layouts they use.

The files in tests/onnx_torch/ were written by tests/onnx_torch/export.py (torch 2.13, seeded
weights; the tests need no torch): a residual CNN through the default (dynamo) exporter,
whose ``AdaptiveAvgPool2d(1)`` is a ``ReduceMean`` and whose weights are an external
``.onnx.data`` file, and PyTorch's own ``nn.TransformerEncoder`` through both exporters (its
attention works on (T, N, E) and (T, N*h, d_h); the legacy one computes reshape targets with
``Shape``/``Gather``/``Concat``). All are exported at a batch of 1 and run here at 1 and at 4.

Oracle: onnxruntime on the same file, one sample at a time (the file's static batch), within
1e-6 relative, on the float pass and on the shipped `ideal` system (every non-ideality off).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")
from onnx_models import ModelBuilder, assert_rel, ideal_logits, ort_each, ort_run  # noqa: E402

from cimspice.sim.errors import SimError  # noqa: E402
from cimspice.sim.graph_layers import Reduce, Reshape, Transpose  # noqa: E402
from cimspice.sim.layers import AvgPool2d, MaxPool2d  # noqa: E402
from cimspice.sim.onnx_import import load_onnx  # noqa: E402

DATA = Path(__file__).parent / "onnx_torch"
rng = np.random.default_rng(19)


# ---------------------------------------------------------------------------- PyTorch's exports
@pytest.mark.parametrize("name", ["resnet_dynamo", "transformer_dynamo", "transformer_legacy"])
@pytest.mark.parametrize("batch", [1, 4])
def test_pytorch_exports_equal_onnxruntime_float_and_ideal(name, batch):
    path = DATA / f"{name}.onnx"
    net = load_onnx(path)
    x = rng.random((batch, *net.info["input_shape"]))
    theirs = ort_each(path, x)
    assert_rel(net.forward(x), theirs, 1e-6)
    ideal, _ = ideal_logits(net, x, rng.random((8, *net.info["input_shape"])))
    assert_rel(ideal, theirs, 1e-6)


def test_dynamo_resnet_reduce_mean_is_the_global_average_pool():
    """``ReduceMean`` over H and W (keepdims) becomes GlobalAveragePool's layer, so both
    exporters give one network: same pooling circuit, same costs."""
    net = load_onnx(DATA / "resnet_dynamo.onnx")
    assert net.info["input_shape"] == (1, 8, 8) and len(net.matrices()) == 6     # 5 convs + fc on arrays
    assert sum(isinstance(a, AvgPool2d) and a.k == 8 for a in net.layers) == 1
    assert not any(isinstance(a, Reduce) for a in net.layers)


@pytest.mark.parametrize("name", ["transformer_dynamo", "transformer_legacy"])
def test_multihead_attention_layouts_carry_the_batch_inside_axes(name):
    """nn.MultiheadAttention's (T, N*h, d_h) and (T*N, E): Reshapes with the batch in axis 1
    and 0 merged with other factors, Transposes that move it; x.mean(1) a digital Reduce."""
    net = load_onnx(DATA / f"{name}.onnx")
    reshapes = [a for a in net.layers if isinstance(a, Reshape)]
    assert {(a.shape, a.axis) for a in reshapes} >= {((8, 4, 4), 1), ((8, 16), 0), ((8, 1, 16), 1)}
    assert any(isinstance(a, Transpose) and a.perm == (1, 0, 2) for a in net.layers)
    assert [(a.kind, a.axes, a.keepdims) for a in net.layers if isinstance(a, Reduce)] == [("mean", (1,), False)]
    assert len(net.matrices()) == 2 + 2 * 4                     # embedding, head; per layer qkv, out, mlp x 2


def test_reduce_is_counted_an_add_per_input_and_a_mul_per_output():
    net = load_onnx(DATA / "transformer_dynamo.onnx")
    x = rng.random((3, 8, 8))
    _, backend = ideal_logits(net, x, x)
    name = next(a.name for a in net.layers if isinstance(a, Reduce))
    assert backend.ledger.counts[name] == {"digital:add": 3 * 8 * 16, "digital:mul": 3 * 16}


# ---------------------------------------------------------------------------- reductions
def _reductions(g, opset):
    """ReduceSum/Mean/Max over (N, 3, 4, 4) with axes as an attribute (opset 13, ReduceSum's
    an input already) or an input (18), keepdims 0 and 1, an empty axes input as a no-op."""
    def reduce(op, x, axes, **attrs):
        if op == "ReduceSum" or opset >= 18:
            return g.op(op, [x, g.w(np.array(axes, np.int64))], **attrs)
        return g.op(op, [x], axes=axes, **attrs)

    s = reduce("ReduceSum", "x", [-1], keepdims=0)                                  # (N, 3, 4)
    m = reduce("ReduceMean", "x", [2, 3], keepdims=0)                               # (N, 3): a pool
    k = reduce("ReduceMax", "x", [3, 2])                                            # (N, 3, 1, 1): a pool
    a = reduce("ReduceSum", reduce("ReduceMean", s, [1]), [], noop_with_empty_axes=1)   # (N, 1, 4)
    total = g.op("Add", [g.op("Flatten", [a]), reduce("ReduceMax", s, [1], keepdims=0)])  # (N, 4)
    return g.op("Concat", [total, m, g.op("Flatten", [k])], axis=1)


@pytest.mark.parametrize("opset", [13, 18])
def test_reductions_match_onnxruntime(tmp_path, opset):
    g = ModelBuilder()
    path = g.save(tmp_path / "r.onnx", ["N", 3, 4, 4], _reductions(g, opset), None, opset=opset)
    net = load_onnx(path)
    assert [type(a) for a in net.layers if isinstance(a, (Reduce, AvgPool2d, MaxPool2d))] == \
        [Reduce, AvgPool2d, MaxPool2d, Reduce, Reduce]
    x = rng.normal(size=(5, 3, 4, 4))
    assert_rel(net.forward(x), ort_run(path, x), 1e-6)


# ---------------------------------------------------------------------------- the batch moved and merged
def _moved(g):
    """(1, 8, 16) -> (8, N, 16) -> (8, ?, 4, 4): the batch goes with the heads (8, N*4, 4) or
    with time (8*N, 4, 4); only the second lets the softmax over axis 1 keep samples apart."""
    t = g.op("Transpose", ["x"], perm=[1, 0, 2])
    s = g.op("Softmax", [g.op("Reshape", [t, g.w(np.array([8, 4, 4]))], name="heads")], axis=1)
    h = g.op("Reshape", [g.op("Mul", [s, g.w(np.array(2.0))]), g.w(np.array([8, 1, 16]))])
    return g.op("Transpose", [h], perm=[1, 0, 2])


def test_an_ambiguous_reshape_is_placed_where_later_nodes_accept_it(tmp_path):
    g = ModelBuilder()
    path = g.save(tmp_path / "m.onnx", [1, 8, 16], _moved(g), None)
    net = load_onnx(path)
    assert [(a.shape, a.axis) for a in net.layers if isinstance(a, Reshape)][0] == ((8, 4, 4), 0)
    x = rng.normal(size=(3, 8, 16))
    assert_rel(net.forward(x), ort_each(path, x), 1e-6)


def _t(g):
    """The input (1, T, F) as (T, N, F)."""
    return g.op("Transpose", ["x"], perm=[1, 0, 2])


@pytest.mark.parametrize("build, message", [
    (lambda g: g.op("Softmax", [_t(g)], axis=1, name="sm"),
     r"'sm' \(Softmax\): Softmax along axis 1, the batch axis, unsupported \(shape \(6, N, 4\)\)"),
    # neither place of the batch in (6, ?, 2, 2) suits both softmaxes: the first try's refusal
    (lambda g: g.op("Softmax", [g.op("Softmax", [g.op("Reshape", [_t(g), g.w(np.array([6, 2, 2]))])], axis=1)], axis=0),
     r"Softmax along axis 1, the batch axis, unsupported \(shape \(6, N\*2, 2\)\)"),
    (lambda g: g.op("ReduceMean", [_t(g)], axes=[0, 1], name="rm"),
     r"'rm' \(ReduceMean\): ReduceMean along axis 1, the batch axis, unsupported"),
    (lambda g: g.op("Reshape", [_t(g), g.w(np.array([4, 6]))], name="cut"),      # 6 x N x 4 entries in rows of 6
     r"'cut' \(Reshape\): Reshape to \[4, 6\] unsupported: a tensor of shape \(6, N, 4\) does not become \(4, 6\) "
     r"with each sample's entries kept together \(the batch would split\)"),
    (lambda g: g.op("MatMul", [_t(g), g.w(np.ones((4, 3)))], name="fc"),
     r"'fc' \(MatMul\): writes the graph output '\w+' of shape \(6, N, 3\): the output must be batch-first"),
    (lambda g: g.op("Conv", [g.op("Unsqueeze", [_t(g), g.w(np.array([0]))]), g.w(np.ones((2, 1, 3, 3)))],
                    name="conv"),
     r"'conv' \(Conv\): takes '\w+' of shape \(1, 6, N, 4\): Conv needs the batch first"),
    (lambda g: g.op("Add", [_t(g), g.op("Relu", ["x"])], name="add"),
     r"'add' \(Add\): Add of tensors with the batch in different places \(\(6, N, 4\), \(N, 6, 4\)\)"),
])
def test_what_the_batch_cannot_follow_is_refused_naming_the_node(tmp_path, build, message):
    g = ModelBuilder()
    path = g.save(tmp_path / "bad.onnx", [1, 6, 4], build(g), ["N"])
    with pytest.raises(SimError, match=message) as info:
        load_onnx(path)
    assert str(info.value).startswith(f"{path}: ") and "\n" not in str(info.value)
