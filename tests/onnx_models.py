"""ONNX test models built with ``onnx.helper`` and seeded weights (no downloads), and
onnxruntime, the oracle the imported networks are compared with.

- :class:`ModelBuilder`: nodes and float32 initializers, saved as one model file;
- :func:`resnet18`: ResNet-18 (basic blocks, strided 1x1 downsample shortcuts, separate
  BatchNormalization nodes, GlobalAveragePool, Gemm) in ImageNet shape (7x7/2 stem and a
  3x3/2 max pool) or CIFAR shape (3x3 stem);
- :func:`encoder`: a small transformer encoder on token ids (Gather embedding, fused QKV
  MatMul then Split, multi-head attention with MatMul of activations and Softmax, residual
  Adds, LayerNormalization, an erf-GELU MLP, first-token Slice, Gemm head).
"""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

__all__ = ["ModelBuilder", "assert_rel", "encoder", "gemm", "ideal_logits", "ort_each", "ort_run", "rel_error",
           "resnet18"]


class ModelBuilder:
    """Collects nodes and float32 initializers; ``save`` writes an opset-``opset`` model (the
    output's shape inferred by onnx when ``out_shape`` is None)."""

    def __init__(self):
        self.nodes, self.inits, self.k = [], [], 0

    def w(self, array, name=None, dtype=None) -> str:
        """An initializer: float32, int64 for integers, or ``dtype`` (int8 zero points...)."""
        self.k += 1
        name = name or f"w{self.k}"
        a = np.asarray(array)
        dtype = dtype or (np.int64 if a.dtype.kind == "i" else np.float32)
        self.inits.append(numpy_helper.from_array(a.astype(dtype), name))
        return name

    def c(self, value) -> str:
        """A Constant node (how PyTorch writes scalars such as GELU's sqrt 2)."""
        return self.op("Constant", [], value=numpy_helper.from_array(np.asarray(value, np.float32)))

    def op(self, op_type, inputs, n_out=1, name=None, **attrs) -> str | list[str]:
        self.k += 1
        outs = [f"t{self.k}_{j}" for j in range(n_out)]
        self.nodes.append(helper.make_node(op_type, inputs, outs, name=name or f"{op_type.lower()}{self.k}", **attrs))
        return outs[0] if n_out == 1 else outs

    def save(self, path, x_shape, out, out_shape=None, opset=17, x_type=TensorProto.FLOAT):
        graph = helper.make_graph(self.nodes, "g", [helper.make_tensor_value_info("x", x_type, x_shape)],
                                  [helper.make_tensor_value_info(out, TensorProto.FLOAT, out_shape)], self.inits)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], producer_name="test")
        model.ir_version = 9  # what onnxruntime reads
        if out_shape is None:  # the output's shape as onnx infers it
            model = onnx.shape_inference.infer_shapes(model)
        onnx.save(model, str(path))
        return path


def ort_run(path, x):
    """onnxruntime's output for input ``x`` (float32, or int64 token ids); its CPU LSTM has no
    layout=1 (batch-first) kernel, so those files go through onnx's reference evaluator (also
    independent of us)."""
    model = onnx.load(str(path))
    ints = model.graph.input[0].type.tensor_type.elem_type == TensorProto.INT64
    x = np.asarray(x, np.int64 if ints else np.float32)
    if any(n.op_type == "LSTM" and any(a.name == "layout" and a.i == 1 for a in n.attribute) for n in model.graph.node):
        from onnx.reference import ReferenceEvaluator

        return ReferenceEvaluator(model).run(None, {model.graph.input[0].name: x})[0]
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return sess.run(None, {sess.get_inputs()[0].name: x})[0]


def ort_each(path, x):
    """onnxruntime's outputs for the samples of ``x`` one at a time, stacked: the oracle for a
    file exported at a static batch of one, which onnxruntime runs at that batch only."""
    return np.concatenate([ort_run(path, x[k:k + 1]) for k in range(len(x))])


def ideal_logits(net, x, x_cal):
    """(logits on the shipped `ideal` system, every non-ideality off, calibrated on ``x_cal``;
    the backend, whose ledger holds the counts)."""
    from cimspice.sim.backend import AnalogBackend

    backend = AnalogBackend("ideal")
    backend.calibrate(net, x_cal)
    return net.forward(x, backend), backend


def rel_error(a, b) -> float:
    """max |a - b| / max |b|."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    assert a.shape == b.shape, (a.shape, b.shape)
    return float(np.abs(a - b).max() / np.abs(b).max())


def assert_rel(a, b, tol):
    err = rel_error(a, b)
    assert err <= tol, err


def gemm(g, x, W, b, name=None):
    """PyTorch's Linear export: Gemm with the (out, in) weight and transB=1."""
    return g.op("Gemm", [x, g.w(np.asarray(W).T), g.w(b)], name=name, transB=1)


# ---------------------------------------------------------------------------- ResNet-18
def _conv_bn(g, rng, x, c_in, c_out, k, stride, name):
    """Conv (He-initialised, no bias) then a separate BatchNormalization, as PyTorch exports
    with ``do_constant_folding=False``."""
    kernel = rng.normal(0.0, np.sqrt(2.0 / (c_in * k * k)), size=(c_out, c_in, k, k))
    h = g.op("Conv", [x, g.w(kernel)], name=f"{name}.conv", kernel_shape=[k, k], strides=[stride] * 2,
             pads=[k // 2] * 4)
    bn = [rng.uniform(0.5, 1.0, c_out), rng.normal(0, 0.1, c_out), rng.normal(0, 0.1, c_out),
          rng.uniform(0.5, 1.5, c_out)]
    return g.op("BatchNormalization", [h, *(g.w(v) for v in bn)], name=f"{name}.bn", epsilon=1e-5)


def _basic_block(g, rng, x, c_in, c_out, stride, name):
    h = g.op("Relu", [_conv_bn(g, rng, x, c_in, c_out, 3, stride, f"{name}.1")])
    h = _conv_bn(g, rng, h, c_out, c_out, 3, 1, f"{name}.2")
    skip = x if stride == 1 and c_in == c_out else _conv_bn(g, rng, x, c_in, c_out, 1, stride, f"{name}.down")
    return g.op("Relu", [g.op("Add", [h, skip], name=f"{name}.add")])


def resnet18(path, *, imagenet: bool, classes: int, seed: int = 0):
    """ResNet-18 written to ``path``: input (N, 3, 224, 224) (ImageNet: 7x7/2 conv, 3x3/2 max
    pool) or (N, 3, 32, 32) (CIFAR: 3x3 conv, no pool); 4 stages of 2 basic blocks (64, 128,
    256, 512 channels), global average pooling, a Gemm to ``classes`` logits."""
    rng, g = np.random.default_rng(seed), ModelBuilder()
    if imagenet:
        h = g.op("Relu", [_conv_bn(g, rng, "x", 3, 64, 7, 2, "stem")])
        h = g.op("MaxPool", [h], name="stem.pool", kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])
    else:
        h = g.op("Relu", [_conv_bn(g, rng, "x", 3, 64, 3, 1, "stem")])
    c_in = 64
    for s, c_out in enumerate((64, 128, 256, 512)):
        for b in range(2):
            h = _basic_block(g, rng, h, c_in, c_out, 2 if b == 0 and s > 0 else 1, f"layer{s + 1}.{b}")
            c_in = c_out
    h = g.op("Flatten", [g.op("GlobalAveragePool", [h], name="gap")], axis=1)
    out = gemm(g, h, rng.normal(0, 1 / np.sqrt(512), size=(512, classes)), rng.normal(0, 0.1, classes), name="fc")
    size = 224 if imagenet else 32
    return g.save(path, ["N", 3, size, size], out, ["N", classes])


# ---------------------------------------------------------------------------- transformer encoder
def _linear(g, rng, x, d_in, d_out):
    """MatMul by a constant then Add of a bias (PyTorch's Linear on a sequence)."""
    W, b = rng.normal(0, 1 / np.sqrt(d_in), size=(d_in, d_out)), rng.normal(0, 0.1, d_out)
    return g.op("Add", [g.op("MatMul", [x, g.w(W)]), g.w(b)])


def _layer_norm(g, rng, x, d):
    return g.op("LayerNormalization", [x, g.w(rng.uniform(0.8, 1.2, d)), g.w(rng.normal(0, 0.1, d))], axis=-1,
                epsilon=1e-5)


def _gelu(g, x):
    """PyTorch's erf GELU export."""
    e = g.op("Erf", [g.op("Div", [x, g.c(np.sqrt(2.0))])])
    return g.op("Mul", [g.op("Mul", [x, g.op("Add", [e, g.c(1.0)])]), g.c(0.5)])


def _attention(g, rng, x, d, heads):
    """Multi-head self-attention of x (N, T, d), without mask."""
    dh = d // heads
    q, k, v = g.op("Split", [_linear(g, rng, x, d, 3 * d), g.w(np.array([d, d, d]))], n_out=3, axis=-1)
    split = lambda t, perm: g.op("Transpose", [g.op("Reshape", [t, g.w(np.array([0, 0, heads, dh]))])],  # noqa
                                 perm=perm)
    q, kt, v = split(q, [0, 2, 1, 3]), split(k, [0, 2, 3, 1]), split(v, [0, 2, 1, 3])     # kt: (N, h, dh, T)
    scores = g.op("Div", [g.op("MatMul", [q, kt]), g.w(np.array(np.sqrt(dh)))])
    mixed = g.op("MatMul", [g.op("Softmax", [scores], axis=-1), v])                      # (N, h, T, dh)
    y = g.op("Reshape", [g.op("Transpose", [mixed], perm=[0, 2, 1, 3]), g.w(np.array([0, 0, d]))])
    return _linear(g, rng, y, d, d)


def encoder(path, *, vocab=50, T=12, d=32, heads=4, layers=2, classes=5, seed=0):
    """A post-norm transformer encoder classifier written to ``path``: token ids (N, T) ->
    Gather embedding + learned positions -> ``layers`` x (attention, Add, LayerNorm, GELU MLP,
    Add, LayerNorm) -> the first token's vector (Slice, Squeeze) -> Gemm -> (N, classes)."""
    rng, g = np.random.default_rng(seed), ModelBuilder()
    h = g.op("Add", [g.op("Gather", [g.w(rng.normal(size=(vocab, d))), "x"], axis=0), g.w(rng.normal(0, 0.1, (T, d)))])
    for _ in range(layers):
        h = _layer_norm(g, rng, g.op("Add", [h, _attention(g, rng, h, d, heads)]), d)
        mlp = _linear(g, rng, _gelu(g, _linear(g, rng, h, d, 4 * d)), 4 * d, d)
        h = _layer_norm(g, rng, g.op("Add", [h, mlp]), d)
    first = g.op("Slice", [h, *(g.w(np.array([v])) for v in (0, 1, 1))])                  # (N, 1, d)
    out = gemm(g, g.op("Squeeze", [first, g.w(np.array([1]))]), rng.normal(0, 1 / np.sqrt(d), (d, classes)),
               rng.normal(0, 0.1, classes), name="head")
    return g.save(path, ["N", T], out, ["N", classes], x_type=TensorProto.INT64)
