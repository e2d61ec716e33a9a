"""The shipped GPT as an ONNX transformer, so it runs through ONNX import like any other.

::

    from cimspice.sim.zoo.export import gpt_to_onnx
    gpt_to_onnx("gpt.onnx")                          # from the zoo's gpt.h5
    net = load_onnx("gpt.onnx")                      # a Graph: token ids (N, 64) -> logits (N, 64, 96)

The graph is written with ``onnx.helper`` from the network file's weights (not from the
Python-built :class:`~cimspice.sim.network.GPT`), op for op as PyTorch exports such a model
at opset 17: a ``Gather`` token embedding plus a constant position table, per block
``LayerNormalization``, a fused QKV ``MatMul`` + ``Add`` then ``Split``, ``Reshape`` /
``Transpose`` into heads, ``MatMul`` of activations, ``Div`` by sqrt(d_head), the causal mask
as PyTorch's ``masked_fill`` writes it (``Where(above_diagonal, -inf, scores)``),
``Softmax``, the erf GELU spelt out (``Div`` sqrt 2, ``Erf``, ``Add`` 1, ``Mul``, ``Mul`` 0.5),
residual ``Add``s; then the final ``LayerNormalization`` and the head. Weights are the
file's float32 arrays (so the import holds exactly the zoo's numbers); the two scalars
sqrt(d_head) and sqrt 2 are float32 as in any export, the only difference from the Python
GPT (about 1e-8 relative in the logits). Nodes are named after the Python GPT's layers
(``block0.attn.qkv``, ``block0.mlp.fc``, ``head``...), so the imported matrices carry the
same names and draw the same device variation on an analog system.

The sequence length is fixed at the network's context (the importer needs static sizes):
the zoo's windows are exactly that long.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .store import ZOO_DIR, _path, read_network_file

__all__ = ["gpt_to_onnx"]

ONNX_OPSET = 17       # LayerNormalization is one op from opset 17 on
ONNX_IR_VERSION = 9   # what onnxruntime 1.16+ and onnx 1.15+ read


class _Builder:
    """Nodes and initializers of one ONNX graph."""

    def __init__(self, onnx):
        self.onnx, self.nodes, self.inits, self.k = onnx, [], [], 0

    def w(self, name: str, array, dtype=np.float32) -> str:
        self.inits.append(self.onnx.numpy_helper.from_array(np.asarray(array).astype(dtype), name))
        return name

    def op(self, op_type: str, inputs, name: str, n_out: int = 1, **attrs):
        outs = [f"{name}:{j}" for j in range(n_out)]
        self.nodes.append(self.onnx.helper.make_node(op_type, list(inputs), outs, name=name, **attrs))
        return outs[0] if n_out == 1 else outs

    def linear(self, x: str, w: dict, name: str) -> str:
        """PyTorch's Linear on a sequence: MatMul by ``name.W`` then Add of ``name.b``."""
        y = self.op("MatMul", [x, self.w(f"{name}.W", w[f"{name}.W"])], name)
        return self.op("Add", [y, self.w(f"{name}.b", w[f"{name}.b"])], f"{name}.bias")

    def layer_norm(self, x: str, w: dict, name: str) -> str:
        return self.op("LayerNormalization", [x, self.w(f"{name}.gamma", w[f"{name}.gamma"]),
                                              self.w(f"{name}.beta", w[f"{name}.beta"])], name, axis=-1, epsilon=1e-5)


def _attention(b: _Builder, x: str, w: dict, p: str, d: int, heads: int) -> str:
    """Causal multi-head self-attention of ``x`` (N, T, d), block prefix ``p``."""
    dh = d // heads
    q, k, v = b.op("Split", [b.linear(x, w, f"{p}.attn.qkv"), b.w(f"{p}.attn.split", [d, d, d], np.int64)],
                   f"{p}.attn.split", n_out=3, axis=-1)
    heads_shape = b.w(f"{p}.attn.heads", [0, 0, heads, dh], np.int64)
    split = lambda t, perm, n: b.op("Transpose", [b.op("Reshape", [t, heads_shape], f"{p}.attn.{n}.reshape")],  # noqa
                                    f"{p}.attn.{n}.transpose", perm=perm)
    q, kt, v = split(q, [0, 2, 1, 3], "q"), split(k, [0, 2, 3, 1], "k"), split(v, [0, 2, 1, 3], "v")
    scores = b.op("MatMul", [q, kt], f"{p}.attn.scores")                        # (N, h, T, T)
    scores = b.op("Div", [scores, b.w(f"{p}.attn.scale", np.sqrt(dh))], f"{p}.attn.scale")
    scores = b.op("Where", ["causal_mask", "mask_fill", scores], f"{p}.attn.mask")
    mixed = b.op("MatMul", [b.op("Softmax", [scores], f"{p}.attn.softmax", axis=-1), v], f"{p}.attn.mix")
    y = b.op("Transpose", [mixed], f"{p}.attn.merge", perm=[0, 2, 1, 3])
    y = b.op("Reshape", [y, b.w(f"{p}.attn.model", [0, 0, d], np.int64)], f"{p}.attn.merge.reshape")
    return b.linear(y, w, f"{p}.attn.proj")


def _gelu(b: _Builder, x: str, name: str) -> str:
    """PyTorch's erf GELU export: x * (erf(x / sqrt 2) + 1) * 0.5."""
    e = b.op("Erf", [b.op("Div", [x, b.w(f"{name}.sqrt2", np.sqrt(2.0))], f"{name}.div")], f"{name}.erf")
    h = b.op("Mul", [x, b.op("Add", [e, b.w(f"{name}.one", 1.0)], f"{name}.add")], f"{name}.mul")
    return b.op("Mul", [h, b.w(f"{name}.half", 0.5)], name)


def _graph(onnx, config: dict, w: dict):
    """The GPT of ``config`` (vocab, d_model, n_heads, n_layers, context) with weights ``w``."""
    d, heads, T = int(config["d_model"]), int(config["n_heads"]), int(config["context"])
    b = _Builder(onnx)
    b.w("causal_mask", ~np.tril(np.ones((T, T), dtype=bool)), bool)     # True above the diagonal
    b.w("mask_fill", -np.inf)
    x = b.op("Gather", [b.w("tok.table", w["tok.table"]), "ids"], "tok", axis=0)
    x = b.op("Add", [x, b.w("pos.table", w["pos.table"][:T])], "pos")
    for i in range(int(config["n_layers"])):
        p = f"block{i}"
        x = b.op("Add", [x, _attention(b, b.layer_norm(x, w, f"{p}.ln1"), w, p, d, heads)], f"{p}.add1")
        h = _gelu(b, b.linear(b.layer_norm(x, w, f"{p}.ln2"), w, f"{p}.mlp.fc"), f"{p}.mlp.gelu")
        x = b.op("Add", [x, b.linear(h, w, f"{p}.mlp.out")], f"{p}.add2")
    logits = b.linear(b.layer_norm(x, w, "ln_f"), w, "head")
    tensor = onnx.helper.make_tensor_value_info
    return onnx.helper.make_graph(b.nodes, "gpt", [tensor("ids", onnx.TensorProto.INT64, ["N", T])],
                                  [tensor(logits, onnx.TensorProto.FLOAT, ["N", T, int(config["vocab"])])], b.inits)


def gpt_to_onnx(path, network="gpt") -> Path:
    """Write the zoo GPT ``network`` (name or network file of kind ``gpt``) as ONNX to ``path``
    (written to a temporary file, then renamed); returns ``path``. Input ``ids`` int64
    (N, context), output logits (N, context, vocab). Needs the ``onnx`` package."""
    from ..errors import SimError
    from ..onnx_import import _onnx

    onnx = _onnx()
    source = _path(network)
    attrs, weights, _, _ = read_network_file(source)
    if attrs.get("kind") != "gpt":
        raise SimError(f"{source}: a network of kind {attrs.get('kind')!r}, not a GPT")
    model = onnx.helper.make_model(_graph(onnx, attrs["config"], weights), producer_name="cimspice",
                                   opset_imports=[onnx.helper.make_opsetid("", ONNX_OPSET)])
    model.ir_version = ONNX_IR_VERSION
    # scored by perplexity; a shipped GPT on its held-out text (read by load_onnx, docs/onnx.md)
    shipped = source.resolve().parent == ZOO_DIR
    onnx.helper.set_model_props(model, {"cimspice.metric": "perplexity",
                                        **({"cimspice.zoo_data": source.stem} if shipped else {})})
    onnx.checker.check_model(model)
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        onnx.save(model, str(tmp))
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path
