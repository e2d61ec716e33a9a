"""ONNX graphs (residuals, attention, any DAG) imported as `cimspice.sim.graph.Graph`: every
op kind on a tiny model, a ResNet-18 in CIFAR and ImageNet shape and a transformer encoder
on the `ideal` system, and `simulate` on a graph.

Oracle: onnxruntime's CPU inference of the same file (float32), which shares no code with
the importer. Models are built with `onnx.helper` and seeded weights (tests/onnx_models.py).
"""

from __future__ import annotations

import time

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")
from onnx_models import ModelBuilder, assert_rel, encoder, gemm, ideal_logits, ort_run, rel_error, resnet18  # noqa: E402

from cimspice.sim.backend import AnalogBackend  # noqa: E402
from cimspice.sim.errors import SimError  # noqa: E402
from cimspice.sim.graph import Graph  # noqa: E402
from cimspice.sim.graph_layers import ActMatMul, Binary, ChannelAffine, FakeQuant, Mask, Pool2d  # noqa: E402
from cimspice.sim.layers import Conv2d, Dense, Embedding  # noqa: E402
from cimspice.sim.network import Sequential  # noqa: E402
from cimspice.sim.onnx_import import load_onnx  # noqa: E402
from cimspice.sim.simulate import simulate  # noqa: E402

rng = np.random.default_rng(11)
W = lambda *shape: rng.normal(size=shape)  # noqa: E731


# ---------------------------------------------------------------------------- one model per op kind
def _elementwise(g):
    a, b = g.op("Relu", ["x"]), g.op("Sigmoid", ["x"])
    h = g.op("Mul", [g.op("Sub", [g.op("Add", [a, b], name="add"), "x"]), a])
    h = g.op("Div", [h, g.op("Add", [b, g.w(np.array(1.0))])])                 # activation / activation
    h = g.op("Sub", [g.w(W(5)), g.op("Mul", [h, g.w(W(4, 5))])])               # constants either side
    return g.op("Add", [g.op("Div", [h, g.w(np.array(3.0))]), g.w(W(1, 4, 5))])


def _data_movement(g):
    a, b = g.op("Split", ["x", g.w(np.array([2, 4]))], n_out=2, axis=1)        # (N, 6, 4) -> 2 + 4 rows
    h = g.op("Concat", [b, g.op("Relu", [a]), b], axis=-2)                    # (N, 10, 4)
    h = g.op("Slice", [h, *(g.w(np.array(v)) for v in ([1, 3], [9, 0], [1, 2], [2, -1]))])  # rows 1:9:2, cols 3:0:-1
    h = g.op("Transpose", [g.op("Unsqueeze", [h, g.w(np.array([1]))])], perm=[0, 3, 1, 2])   # (N, 3, 1, 4)
    h = g.op("Reshape", [g.op("Squeeze", [h, g.w(np.array([2]))]), g.w(np.array([0, 2, -1]))])  # (N, 2, 6)
    h = g.op("Gather", [h, g.w(np.array([5, 0, -1]))], axis=2)                 # (N, 2, 3)
    return g.op("Add", [g.op("Flatten", [h]), g.op("Gather", [g.op("Flatten", [h]), g.w(np.array([2, 1, 0, 5, 4, 3]))],
                                                         axis=1)])


def _attention_ops(g):
    kt = g.op("Transpose", ["x"], perm=[0, 1, 3, 2])
    s = g.op("Softmax", [g.op("MatMul", ["x", kt], name="qk")], axis=2)        # over a middle axis
    return g.op("LayerNormalization", [g.op("Add", [g.op("MatMul", [s, "x"]), "x"]), g.w(W(5)), g.w(W(5))], axis=-1)


def _conv_variants(g):
    h = g.op("Conv", ["x", g.w(W(6, 4, 3, 3)), g.w(W(6))], strides=[2, 1], pads=[1, 0, 2, 1], dilations=[1, 2])
    h = g.op("Conv", [g.op("Relu", [h]), g.w(W(6, 3, 2, 2))], group=2, auto_pad="SAME_UPPER")
    return g.op("Conv", [h, g.w(W(6, 1, 3, 3)), g.w(W(6))], group=6, pads=[1, 1, 1, 1], name="depthwise")


def _pool_variants(g):
    m = g.op("MaxPool", ["x"], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])
    a = g.op("AveragePool", ["x"], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])
    b = g.op("AveragePool", ["x"], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1], count_include_pad=1)
    h = g.op("Concat", [m, a, b], axis=1)                                      # (N, 6, 4, 5)
    bn = g.op("BatchNormalization", [g.op("Relu", [h]), *(g.w(v) for v in (W(6), W(6), W(6), rng.uniform(1, 2, 6)))])
    return g.op("Add", [g.op("Flatten", [g.op("GlobalAveragePool", [bn])]),   # non-square: 4 x 5
                        g.op("Flatten", [g.op("GlobalMaxPool", [h])])])


def _gemm_variants(g):
    h = g.op("Gemm", ["x", g.w(W(7, 6)), g.w(W(1, 7))], transB=1, alpha=0.7, beta=1.3)
    return g.op("Add", [g.op("Gemm", [h, g.w(W(7, 3)), g.w(W(3))], alpha=-2.0), g.op("MatMul", [h, g.w(W(7, 3))])])


def _binarized(g):
    """A binarized MLP: weights binarized in the graph (Sign of real weights, folded at import),
    hard-tanh (Clip) then Sign activations."""
    h = g.op("Clip", [g.op("MatMul", ["x", g.op("Sign", [g.w(W(6, 8))])]), g.w(np.array(-1.0)), g.w(np.array(1.0))])
    h = g.op("MatMul", [g.op("Sign", [h]), g.op("Sign", [g.w(W(8, 4))])])
    return g.op("Add", [g.op("Clip", [h, "", g.w(np.array(2.0))]), g.op("Clip", [h, g.w(np.array(-1.0))])])


def _qdq(g):
    """Weights stored int8 with per-channel scales (DequantizeLinear folded into floats) and
    activations through QuantizeLinear -> DequantizeLinear pairs (uint8 and int8)."""
    scale = rng.uniform(0.01, 0.03, 5).astype(np.float32)
    Wq = g.op("DequantizeLinear", [g.w(rng.integers(-127, 128, (5, 3, 3, 3)), dtype=np.int8), g.w(scale),
                                   g.w(np.zeros(5), dtype=np.int8)], axis=0)
    s, z = g.w(np.array(0.05)), g.w(np.array(128), dtype=np.uint8)
    h = g.op("DequantizeLinear", [g.op("QuantizeLinear", ["x", s, z]), s, z])
    h = g.op("Relu", [g.op("Conv", [h, Wq], pads=[1, 1, 1, 1])])
    s8, z8 = g.w(np.array(0.02)), g.w(np.array(-3), dtype=np.int8)
    return g.op("DequantizeLinear", [g.op("QuantizeLinear", [h, s8, z8]), s8, z8])


def _causal_masks(g):
    """Scores (N, 2, 4, 4) masked three ways: PyTorch's masked_fill (``Where(above, -inf, s)``),
    a finite fill (``Where(keep, s, -1e9)``), and an additive mask built on constants
    (``Trilu``, ``Cast``, ``Where(lower, 0, -inf)``: folded at import) then ``Add``."""
    above = ~np.tril(np.ones((4, 4), dtype=bool))
    s1 = g.op("Where", [g.w(above, dtype=np.bool_), g.w(np.array(-np.inf)), "x"])
    s2 = g.op("Where", [g.w(~above, dtype=np.bool_), "x", g.w(np.array(-1e9))])
    lower = g.op("Cast", [g.op("Trilu", [g.w(np.ones((4, 4)))], upper=0)], to=onnx.TensorProto.BOOL)
    s3 = g.op("Add", ["x", g.op("Where", [lower, g.w(np.array(0.0)), g.w(np.array(-np.inf))])])
    soft = lambda s: g.op("Softmax", [s], axis=-1)  # noqa: E731
    return g.op("Add", [g.op("Add", [soft(s1), g.op("Mul", [soft(s2), g.w(np.array(2.0))])]), soft(s3)])


# (builder, input shape without the batch axis, a layer type the import must make)
OPS = {"add_sub_mul_div": (_elementwise, (4, 5), Binary),
       "concat_split_slice_transpose_reshape_squeeze_unsqueeze_gather_flatten": (_data_movement, (6, 4), Binary),
       "matmul_of_activations_softmax_layernorm": (_attention_ops, (2, 3, 5), ActMatMul),
       "conv_stride_pads_dilation_groups_depthwise": (_conv_variants, (4, 9, 8), Conv2d),
       "pools_batchnorm_global_pools": (_pool_variants, (2, 7, 9), ChannelAffine),
       "gemm_transb_alpha_beta": (_gemm_variants, (6,), Dense),
       "sign_clip_binarized": (_binarized, (6,), Dense),
       "quantize_dequantize": (_qdq, (3, 6, 6), FakeQuant),
       "where_masks_with_minus_inf_trilu_additive": (_causal_masks, (2, 4, 4), Mask)}


@pytest.mark.parametrize("case", OPS)
def test_each_op_kind_matches_onnxruntime(case, tmp_path):
    build, shape, kind = OPS[case]
    g = ModelBuilder()
    out = build(g)
    path = g.save(tmp_path / f"{case}.onnx", ["N", *shape], out, None)
    net = load_onnx(path)
    assert any(isinstance(layer, kind) for layer in net.layers)
    x = rng.normal(size=(5, *shape))
    ours, theirs = net.forward(x), ort_run(path, x)
    assert_rel(ours, theirs, 1e-6)
    ideal, _ = ideal_logits(net, x, rng.normal(size=(8, *shape)))
    assert_rel(ideal, ours, 1e-9)


def test_depthwise_groups_are_one_matrix_each_and_pools_with_padding_are_digital(tmp_path):
    g = ModelBuilder()
    path = g.save(tmp_path / "m.onnx", ["N", 4, 9, 8], _conv_variants(g), None)
    net = load_onnx(path)
    assert list(net.matrices())[-6:] == [f"depthwise.g{k}" for k in range(6)]
    assert all(W.shape == (9, 1) for W in list(net.matrices().values())[-6:])
    g = ModelBuilder()
    path = g.save(tmp_path / "p.onnx", ["N", 2, 7, 9], _pool_variants(g), None)
    assert [type(a) for a in load_onnx(path).layers][:3] == [Pool2d] * 3


def test_graph_digital_work_is_counted_one_op_per_element(tmp_path):
    """Add of two activations: one add per output element; MatMul of two activations: one
    multiply-accumulate per product term (backend.act_matmul), nothing on arrays."""
    g = ModelBuilder()
    res = g.op("Add", ["x", g.op("Relu", ["x"])], name="res")
    out = g.op("MatMul", [res, g.op("Transpose", ["x"], perm=[0, 2, 1])], name="scores")
    net = load_onnx(g.save(tmp_path / "m.onnx", ["N", 3, 4], out, None))
    x = rng.normal(size=(6, 3, 4))
    _, backend = ideal_logits(net, x, x)
    counts = backend.ledger.counts
    assert counts["res"]["digital:add"] == x.size
    assert counts["scores"]["digital:mac"] == 6 * 3 * 3 * 4
    assert net.matrices() == {}


# ---------------------------------------------------------------------------- chains stay Sequential
def test_chain_imports_as_sequential_and_branches_as_graph(tmp_path):
    g = ModelBuilder()
    h = g.op("Relu", [gemm(g, "x", W(4, 6), W(6))])
    chain = g.save(tmp_path / "chain.onnx", ["N", 4], gemm(g, h, W(6, 3), W(3)), ["N", 3])
    out = g.op("Add", [h, gemm(g, h, W(6, 6), W(6))])
    branched = g.save(tmp_path / "res.onnx", ["N", 4], out, ["N", 6])
    assert type(load_onnx(chain)) is Sequential
    net = load_onnx(branched)
    assert type(net) is Graph and net.info["input_shape"] == (4,)
    x = rng.normal(size=(7, 4))
    assert_rel(net.forward(x), ort_run(branched, x), 1e-6)


def test_a_chain_as_graph_runs_exactly_as_the_sequential(tmp_path):
    """The same layers in the same order: with device variation and read noise, the same logits
    and the same ledger, event by event."""
    from cimspice.sim.graph import Node

    g = ModelBuilder()
    h = g.op("Relu", [g.op("Conv", ["x", g.w(W(4, 2, 3, 3)), g.w(W(4))], pads=[1, 1, 1, 1])])
    out = gemm(g, g.op("Flatten", [g.op("MaxPool", [h], kernel_shape=[2, 2], strides=[2, 2])]), W(64, 3), W(3))
    seq = load_onnx(g.save(tmp_path / "c.onnx", ["N", 2, 8, 8], out, ["N", 3]))
    names = [f"t{k}" for k in range(len(seq.layers) + 1)]
    graph = Graph("c", [Node(layer, [a], [b]) for layer, a, b in zip(seq.layers, names, names[1:])], names[0],
                  names[-1])
    spec = {"name": "noisy", "array": {"rows": 32, "cols": 32, "cell": "linear"},
            "nonidealities": {"ir_drop": True, "programming_sigma": 0.05, "read_noise_sigma": 0.02}}
    x = rng.normal(size=(5, 2, 8, 8))
    runs = []
    for net in (seq, graph):
        backend = AnalogBackend(spec)
        backend.calibrate(net, x)
        runs.append((net.forward(x, backend), {k: dict(v) for k, v in backend.ledger.counts.items()}))
    np.testing.assert_array_equal(runs[0][0], runs[1][0])
    assert runs[0][1] == runs[1][1]


# ---------------------------------------------------------------------------- refusals
@pytest.mark.parametrize("build, shape, message", [
    (lambda g: g.op("Mul", ["x", g.op("HardSigmoid", [g.op("Add", ["x", g.op("Relu", ["x"])])], name="gate")]),
     (4,), r"node 'gate' \(HardSigmoid\): unsupported op"),
    (lambda g: g.op("Reshape", ["x", g.w(np.array([-1, 4]))], name="merge"), (3, 4),
     r"'merge' \(Reshape\): writes the graph output 't\d+_0' of shape \(N\*3, 4\): the output must be batch-first"),
    (lambda g: g.op("Concat", ["x", g.op("Relu", ["x"])], axis=0, name="cat"), (4,),
     r"'cat' \(Concat\): Concat along axis 0, the batch axis, unsupported"),
    (lambda g: g.op("Slice", ["x", g.w(np.array([1])), g.w(np.array([3])), g.w(np.array([0]))]), (4,),
     r"Slice along axis 0, the batch axis, unsupported"),
    (lambda g: g.op("Squeeze", ["x"]), (1, 4), r"Squeeze without axes unsupported"),
    (lambda g: g.op("MatMul", ["x", g.op("Relu", ["x"])]), (4,), r"MatMul of two activations of ranks 2 and 2 "
     r"unsupported"),
    (lambda g: g.op("Add", ["x", g.op("Flatten", [g.op("Relu", ["x"])])]), (2, 3),
     r"Add of activations of ranks 3 and 2 unsupported"),
    (lambda g: g.op("Relu", [g.op("QuantizeLinear", ["x", g.w(np.array(0.1))])], name="r"), (4,),
     r"QuantizeLinear of an activation is supported only in a QuantizeLinear -> DequantizeLinear pair"),
    (lambda g: g.op("Mul", ["x", g.w(np.ones((3, 4)))]), (4,), r"Mul of a constant of shape \(3, 4\) unsupported"),
    (lambda g: g.op("Where", [g.w(np.ones(4), dtype=np.bool_), "x", g.op("Relu", ["x"])]), (4,),
     r"Where of two activations unsupported"),
    (lambda g: g.op("Where", [g.w(np.ones((2, 4)), dtype=np.bool_), "x", g.w(np.array(0.0))]), (4,),
     r"Where condition of shape \(2, 4\) unsupported \(it would broadcast across the batch axis\)"),
    # -inf passes only as a mask; NaN and +inf never
    (lambda g: g.op("Where", [g.w(np.ones(4), dtype=np.bool_), "x", g.w(np.array(np.inf), "fill")]), (4,),
     r"initializer 'fill': 1 of 1 entries are not finite"),
    (lambda g: g.op("Add", ["x", g.w(np.array([0, np.nan, -np.inf, 0]), "mask")]), (4,),
     r"initializer 'mask': 1 of 4 entries are not finite"),
    (lambda g: g.op("MatMul", ["x", g.w(np.array([[0.0], [-np.inf], [1], [2]]), "W")]), (4,),
     r"initializer 'W': 1 of 4 entries are not finite"),
])
def test_unsupported_graph_ops_name_file_node_and_op(tmp_path, build, shape, message):
    g = ModelBuilder()
    path = g.save(tmp_path / "bad.onnx", ["N", *shape], build(g), ["N"], opset=17)
    with pytest.raises(SimError, match=message) as info:
        load_onnx(path)
    assert str(info.value).startswith(f"{path}: ") and "\n" not in str(info.value)


# ---------------------------------------------------------------------------- whole networks
def _network_on_ideal(path, x, x_cal, oracle_x=None):
    """(our ideal-system logits, onnxruntime's, seconds for import + calibration + run)."""
    t0 = time.perf_counter()
    net = load_onnx(path)
    ours, _ = ideal_logits(net, x, x_cal)
    seconds = time.perf_counter() - t0
    return net, ours, ort_run(path, x if oracle_x is None else oracle_x), seconds


def test_resnet18_cifar_shape_imports_as_a_graph_equal_to_onnxruntime(tmp_path):
    """The structure and the float forward pass (fast); the ideal system below (slow)."""
    path = resnet18(tmp_path / "r.onnx", imagenet=False, classes=10)
    net = load_onnx(path)
    assert type(net) is Graph
    assert len(net.matrices()) == 21                      # 17 3x3 convs + 3 shortcuts 1x1 + fc
    assert not any(isinstance(a, ChannelAffine) for a in net.layers)   # every BN folded into its conv
    assert sum(isinstance(a, Binary) and a.op == "add" for a in net.layers) == 8   # one residual per block
    x = np.random.default_rng(1).normal(size=(2, 3, 32, 32))
    assert_rel(net.forward(x), ort_run(path, x), 1e-6)


@pytest.mark.slow
@pytest.mark.parametrize("shape", ["cifar", "imagenet"])
def test_resnet18_on_the_ideal_system_equals_onnxruntime(tmp_path, shape):
    """CIFAR shape: 2 images, 14-26 s; ImageNet shape: 1 image, 3x3/2 stem max pool, 22-39 s
    (5,458 and 5,710 arrays of 64x64 programmed; a shared 2-core machine, quiet to busy)."""
    imagenet = shape == "imagenet"
    size, classes = (224, 1000) if imagenet else (32, 10)
    x = np.random.default_rng(2).normal(size=(1 if imagenet else 2, 3, size, size))
    path = resnet18(tmp_path / "r.onnx", imagenet=imagenet, classes=classes)
    net, ours, theirs, seconds = _network_on_ideal(path, x, x)
    assert ours.shape == (len(x), classes)
    assert any(isinstance(a, Pool2d) for a in net.layers) == imagenet
    print(f"ResNet-18 {shape}: rel error {rel_error(ours, theirs):.2e}, {seconds:.1f} s")
    assert_rel(ours, theirs, 1e-6)


def test_transformer_encoder_on_the_ideal_system_equals_onnxruntime(tmp_path):
    r = np.random.default_rng(3)
    ids, cal = r.integers(0, 50, size=(6, 12)), r.integers(0, 50, size=(16, 12))
    net, ours, theirs, _ = _network_on_ideal(encoder(tmp_path / "e.onnx"), ids, cal)
    kinds = {type(a) for a in net.layers}
    assert {Embedding, ActMatMul, Dense} <= kinds
    assert sorted(a.kind for a in net.layers if getattr(a, "kind", None) in ("gelu", "softmax")) == \
        ["gelu", "gelu", "softmax", "softmax"]
    print(f"encoder: rel error {rel_error(ours, theirs):.2e}")
    assert_rel(ours, theirs, 1e-6)


def test_simulate_a_graph_with_explicit_data(tmp_path):
    """A small residual CNN through simulate(): the ideal system's accuracy is the float one,
    and every conv and the Gemm is on arrays with its energy and read time counted."""
    g = ModelBuilder()
    r = np.random.default_rng(4)
    stem = g.op("Relu", [g.op("Conv", ["x", g.w(r.normal(size=(4, 1, 3, 3))), g.w(r.normal(size=4))], name="stem",
                              pads=[1, 1, 1, 1])])
    h = g.op("Conv", [stem, g.w(r.normal(size=(4, 4, 3, 3)))], name="body", pads=[1, 1, 1, 1])
    h = g.op("BatchNormalization", [h, *(g.w(v) for v in (r.uniform(0.5, 1, 4), r.normal(size=4), r.normal(size=4),
                                                          r.uniform(0.5, 2, 4)))])
    h = g.op("Relu", [g.op("Add", [h, stem], name="skip")])
    out = gemm(g, g.op("Flatten", [g.op("GlobalAveragePool", [h])]), r.normal(size=(4, 3)), r.normal(size=3), "fc")
    net = load_onnx(g.save(tmp_path / "res.onnx", ["N", 1, 8, 8], out, ["N", 3]))
    x, x_cal = r.normal(size=(40, 1, 8, 8)), r.normal(size=(16, 1, 8, 8))
    y = np.argmax(ort_run(tmp_path / "res.onnx", x), axis=1)
    result = simulate("ideal", net, (x, y, x_cal))
    assert result.float_metric == result.analog_metric == 1.0
    costs = result.costs
    assert set(net.matrices()) == {"stem", "body", "fc"}
    for name in net.matrices():
        assert costs.energy_by_layer[name]["arrays"] > 0 and costs.energy_by_layer[name]["drivers"] > 0
    assert costs.energy_by_layer["skip"]["digital"] > 0
    assert all(costs.energy[c] > 0 for c in ("arrays", "drivers", "digital", "buffers"))
    assert costs.latency_parts["arrays"] > 0 and costs.latency > 0 and costs.arrays == 3
    assert "stem" in result.to_table() and "fc" in result.to_table()
