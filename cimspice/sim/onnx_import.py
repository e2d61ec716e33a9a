"""Networks from ONNX files: ``load_onnx(path)`` -> a :class:`~cimspice.sim.network.Sequential`.

::

    from cimspice.sim.onnx_import import load_onnx
    net = load_onnx("my_cnn.onnx")            # layers of cimspice.sim.layers, float64 weights
    net.info["input_shape"]                   # (1, 8, 8): one sample, without the batch axis

The graph must be a chain (every node takes the previous node's output and constants) of
the ops in docs/onnx.md: Gemm/MatMul(+Add), Conv(+BatchNormalization), pooling, Flatten/
Reshape, Relu/Sigmoid/Tanh/Gelu/Softmax, LayerNormalization, LSTM (gates converted from
ONNX's i, o, f, c to PyTorch's i, f, c, o). Anything else raises :class:`SimError` naming
the file, the node and the reason. ONNX is protobuf (reading it runs no code); external
weights are read only from the model's folder; ``onnx`` is imported only here.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path

import numpy as np

from ..validate import require_finite
from .errors import SimError
from .layers import LSTM, Activation, AvgPool2d, Conv2d, Dense, Flatten, Layer, LayerNorm, MaxPool2d
from .network import Sequential

__all__ = ["DIGITS_FORMATS", "load_onnx"]

log = logging.getLogger(__name__)

#: Input shapes (without the batch axis) in which the shipped digits can be fed, and the
#: ``input_format`` of the zoo network whose data set (held-out split) they are.
DIGITS_FORMATS = {(64,): "flat", (1, 8, 8): "image", (8, 8): "rows"}
_ACTIVATIONS = {"Relu": "relu", "Sigmoid": "sigmoid", "Tanh": "tanh", "Gelu": "gelu"}


def _onnx():
    try:
        import onnx
    except ImportError:
        raise SimError("reading ONNX files needs the onnx package: pip install onnx "
                       "(or pip install 'cimspice[onnx]')") from None
    return onnx


def _external(onnx, model, path: Path) -> None:
    """Read external tensor data, refusing locations outside the model's folder."""
    folder = path.parent.resolve()
    tensors = list(model.graph.initializer)
    for node in model.graph.node:
        for a in node.attribute:
            tensors += ([a.t] if a.HasField("t") else []) + list(a.tensors)
    for t in tensors:
        if t.data_location != onnx.TensorProto.EXTERNAL:
            continue
        info = {e.key: e.value for e in t.external_data}
        loc = info.get("location", "")
        target = (folder / loc).resolve()
        if not loc or Path(loc).is_absolute() or not target.is_relative_to(folder):
            raise SimError(f"{path}: tensor {t.name!r}: external data {loc!r} is outside the model's folder "
                           f"{folder}; refused")
        if not target.is_file():
            raise SimError(f"{path}: tensor {t.name!r}: external data file {loc!r} does not exist")
        offset, length = int(info.get("offset", 0)), info.get("length")
        with open(target, "rb") as f:
            f.seek(offset)
            raw = f.read() if length is None else f.read(int(length))
        if length is not None and len(raw) != int(length):
            raise SimError(f"{path}: tensor {t.name!r}: external data file {loc!r} is truncated")
        t.raw_data = raw
        del t.external_data[:]
        t.data_location = onnx.TensorProto.DEFAULT


def _read_model(path: Path):
    onnx = _onnx()
    if not path.is_file():
        raise SimError(f"{path}: no such ONNX file")
    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as error:  # noqa: BLE001 - protobuf's DecodeError and friends: truncated or not ONNX
        raise SimError(f"{path}: not a readable ONNX file ({type(error).__name__}: {error})".splitlines()[0]) \
            from None
    _external(onnx, model, path)
    try:
        onnx.checker.check_model(model)
    except Exception as error:  # noqa: BLE001 - onnx.checker.ValidationError, or a protobuf error
        first = next((s for s in str(error).splitlines() if s.strip()), type(error).__name__)
        raise SimError(f"{path}: not a valid ONNX model: {first}") from None
    if not model.graph.node:
        raise SimError(f"{path}: not a valid ONNX model: the graph has no nodes")
    return onnx, model


class _Importer:
    """Walks the nodes (topologically ordered, as ONNX requires) along the one activation
    tensor ``cur``, building layers and running each on a probe input to follow shapes.

    ``mode`` records where the ONNX layout differs from cimspice's batch-first tensor:
    ``"time"`` (time-major (T, N, F) before a layout-0 LSTM) or ``("dir", axis)`` (an LSTM's
    Y_h with its singleton direction axis, removed by a following Squeeze/Flatten/Reshape).
    """

    def __init__(self, onnx, model, path: Path):
        self.onnx, self.path, self.graph = onnx, path, model.graph
        g = model.graph
        if g.sparse_initializer:
            raise SimError(f"{path}: sparse initializers are unsupported")
        self.consts = {t.name: require_finite(onnx.numpy_helper.to_array(t), f"{path}: initializer {t.name!r}",
                                              SimError) for t in g.initializer}
        self.nodes = []
        for node in g.node:  # Constant nodes have no inputs: hoisted, so patterns see the layers only
            if node.op_type == "Constant" and node.domain in ("", "ai.onnx"):
                value = self._attrs(node).get("value")
                if value is None:
                    self.fail(node, "only tensor 'value' constants are supported")
                self.consts[node.output[0]] = require_finite(onnx.numpy_helper.to_array(value),
                                                             f"{path}: constant {node.output[0]!r}", SimError)
            else:
                self.nodes.append(node)
        inputs = [i for i in g.input if i.name not in self.consts]
        if len(inputs) != 1 or len(g.output) != 1:
            raise SimError(f"{path}: needs exactly one input and one output tensor, has {len(inputs)} and "
                           f"{len(g.output)}")
        inp = inputs[0]
        dims = [d.dim_value if d.HasField("dim_value") else None for d in inp.type.tensor_type.shape.dim]
        if inp.type.tensor_type.elem_type not in (onnx.TensorProto.FLOAT, onnx.TensorProto.DOUBLE,
                                                  onnx.TensorProto.FLOAT16):
            raise SimError(f"{path}: input {inp.name!r} is not a float tensor")
        self.input_name = inp.name
        first = next((n for n in self.nodes if inp.name in n.input), None)
        self.mode = None
        if first is not None and first.op_type == "LSTM" and self._attrs(first).get("layout", 0) == 0:
            self.mode, dims = "time", [dims[1], dims[0], *dims[2:]] if len(dims) == 3 else dims
        if len(dims) < 2 or any(not d or d < 1 for d in dims[1:]):
            raise SimError(f"{path}: input {inp.name!r} has shape {dims}: needs a batch axis and static "
                           f"sizes for the others")
        self.batch = dims[0]              # None: dynamic batch
        self.input_shape = tuple(int(d) for d in dims[1:])
        self.probe = np.zeros((1, *self.input_shape))
        self.cur, self.layers, self.names = inp.name, [], set()
        self.used = {x for n in self.nodes for x in n.input} | {o.name for o in g.output}
        self.onnx_opset = max((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), default=1)

    # ------------------------------------------------------------------ helpers
    def _attrs(self, node) -> dict:
        get = self.onnx.helper.get_attribute_value
        return {a.name: v.decode() if isinstance(v := get(a), bytes) else v for a in node.attribute}

    def fail(self, node, why: str):  # -> NoReturn
        raise SimError(f"{self.path}: node {node.name or '(unnamed)'!r} ({node.op_type}): {why}")

    def const(self, node, k: int, required: bool = True):
        name = node.input[k] if len(node.input) > k else ""
        if not name:
            if required:
                self.fail(node, f"input {k} is missing")
            return None
        if name not in self.consts:
            self.fail(node, f"input {k} ({name!r}) must be a constant (an initializer)")
        value = np.asarray(self.consts[name])
        if value.dtype.kind not in "biuf":
            self.fail(node, f"input {k} ({name!r}) is not numeric ({value.dtype})")
        return value.astype(float)

    def push(self, node, layer: Layer) -> None:
        try:
            self.probe = layer(self.probe)
        except SimError as error:
            self.fail(node, str(error))
        self.layers.append(layer)

    def lname(self, node, i: int) -> str:
        base = (node.name or "").strip("/").replace("/", ".") or f"{node.op_type.lower()}{i}"
        name, k = base, 1
        while name in self.names:
            name, k = f"{base}_{k}", k + 1
        self.names.add(name)
        return name

    def onnx_shape(self, B: int) -> tuple:
        s = self.probe.shape[1:]
        if self.mode == "time":
            return (s[0], B, *s[1:])
        if self.mode:
            return (1, B, *s) if self.mode[1] == 0 else (B, 1, *s)
        return (B, *s)

    # ------------------------------------------------------------------ walk
    def run(self) -> list[Layer]:
        nodes, i = self.nodes, 0
        while i < len(nodes):
            node = nodes[i]
            if node.domain not in ("", "ai.onnx"):
                self.fail(node, f"unsupported op (domain {node.domain!r})")
            dyn = [x for x in node.input if x and x not in self.consts]
            if not dyn:
                self.fail(node, "computes from constants only (export with constant folding)")
            if dyn != [self.cur]:
                self.fail(node, f"takes {dyn}, not only the previous output {self.cur!r}: branching graphs "
                                f"are unsupported (only a chain of layers)")
            if self._gelu(nodes, i):
                i += 5
                continue
            handler = getattr(self, f"op_{node.op_type}", None)
            if handler is None:
                self.fail(node, "unsupported op")
            try:
                out = handler(node, i)
            except (ValueError, TypeError, IndexError, KeyError) as error:  # malformed attributes or weights
                self.fail(node, f"cannot convert ({type(error).__name__}: {error})")
            extra = [o for o in node.output[1:] if o and o in self.used and o != out]
            if extra:
                self.fail(node, f"output(s) {extra} are used; only the first output is supported")
            self.cur = out or node.output[0]
            i += 1
        why = (f"the graph output {self.graph.output[0].name!r} is not the end of the chain ({self.cur!r})"
               if self.cur != self.graph.output[0].name else
               f"the output keeps an LSTM's ONNX layout {self.mode}: end with a Squeeze" if self.mode else
               "the graph has no layers cimspice can simulate" if not self.layers else None)
        if why:
            raise SimError(f"{self.path}: {why}")
        return self.layers

    def _gelu(self, nodes, i) -> bool:
        """PyTorch's erf GELU: Div(x, sqrt 2) -> Erf -> Add 1 -> Mul x -> Mul 0.5."""
        seq = nodes[i:i + 5]
        if [n.op_type for n in seq] != ["Div", "Erf", "Add", "Mul", "Mul"]:
            return False
        x = self.cur

        def other(n, name):  # the scalar constant operand of a binary node whose other input is ``name``
            c = [v for v in n.input if v != name]
            ok = len(n.input) == 2 and name in n.input and len(c) == 1 and np.size(self.consts.get(c[0], ())) == 1
            return float(np.ravel(self.consts[c[0]])[0]) if ok else None

        d, e, a, m, h = seq
        ok = (d.input[0] == x and math.isclose(other(d, x) or 0.0, math.sqrt(2), rel_tol=1e-6)
              and list(e.input) == [d.output[0]] and other(a, e.output[0]) == 1.0
              and sorted(m.input) == sorted([x, a.output[0]]) and other(h, m.output[0]) == 0.5)
        if ok:
            self.push(h, Activation(self.lname(h, i), "gelu"))
            self.cur = h.output[0]
        return ok

    # ------------------------------------------------------------------ ops
    def _dense(self, node, i, W, b):
        if self.mode:
            self.fail(node, f"a matrix product on an ONNX layout cimspice does not use ({self.mode})")
        self.push(node, Dense(self.lname(node, i), W, b))

    def op_Gemm(self, node, i):
        a = self._attrs(node)
        if a.get("transA", 0):
            self.fail(node, "Gemm with transA=1 unsupported")
        if node.input[0] != self.cur or self.probe.ndim != 2:
            self.fail(node, "Gemm needs the activation (batch, features) as input A")
        B = self.const(node, 1)
        W = a.get("alpha", 1.0) * (B.T if a.get("transB", 0) else B)
        C = self.const(node, 2, required=False)
        b = np.zeros(W.shape[1]) if C is None else a.get("beta", 1.0) * C
        if b.size not in (1, W.shape[1]) or b.ndim > 2 or (b.ndim == 2 and b.shape[0] != 1):
            self.fail(node, f"Gemm bias of shape {b.shape} unsupported (one bias per output)")
        self._dense(node, i, W, np.broadcast_to(b.ravel(), (W.shape[1],)))

    def op_MatMul(self, node, i):
        if node.input[0] != self.cur:
            self.fail(node, "MatMul needs the activation on the left (x @ W)")
        W = self.const(node, 1)
        if W.ndim != 2:
            self.fail(node, f"MatMul weight of shape {W.shape} unsupported (2-D only)")
        self._dense(node, i, W, None)

    def op_Add(self, node, i):
        last = self.layers[-1] if self.layers else None
        c = self.const(node, 1 if node.input[0] == self.cur else 0)
        if isinstance(last, Dense) and c.size == last.W.shape[1] and c.shape[-1] == c.size:
            last.b, self.probe = last.b + c.ravel(), self.probe + c.ravel()
        elif isinstance(last, Conv2d) and c.size == len(last.b) and c.shape[-3:] == (c.size, 1, 1):
            last.b, self.probe = last.b + c.ravel(), self.probe + c.reshape(-1, 1, 1)
        else:
            self.fail(node, "Add of a constant is supported only as the bias of the MatMul/Gemm/Conv before it")

    def op_Conv(self, node, i):
        a = self._attrs(node)
        Wk = self.const(node, 1)
        if Wk.ndim != 4:
            self.fail(node, f"{Wk.ndim - 2}-D Conv unsupported (2-D only)")
        if a.get("group", 1) != 1:
            self.fail(node, f"Conv with group={a['group']} unsupported")
        if any(d != 1 for d in a.get("dilations", [1, 1])):
            self.fail(node, f"dilations {a['dilations']} unsupported")
        if a.get("auto_pad", "NOTSET") not in ("NOTSET", "VALID"):
            self.fail(node, f"auto_pad={a['auto_pad']} unsupported (give explicit pads)")
        pads, strides = a.get("pads", [0] * 4), a.get("strides", [1, 1])
        if len(set(pads)) != 1:
            self.fail(node, f"pads {pads} unsupported (one padding on every side)")
        if len(set(strides)) != 1:
            self.fail(node, f"strides {strides} unsupported (one stride for both axes)")
        self.push(node, Conv2d(self.lname(node, i), Wk, self.const(node, 2, required=False),
                               stride=strides[0], padding=pads[0]))

    def op_BatchNormalization(self, node, i):
        last = self.layers[-1] if self.layers else None
        if not isinstance(last, Conv2d) or len(node.output) > 1 and any(o in self.used for o in node.output[1:]):
            self.fail(node, "BatchNormalization is supported only right after a Conv (folded into it)")
        gamma, beta, mean, var = (self.const(node, k) for k in (1, 2, 3, 4))
        s = gamma / np.sqrt(var + self._attrs(node).get("epsilon", 1e-5))
        self.layers[-1] = Conv2d(last.name, last.kernel * s[:, None, None, None], (last.b - mean) * s + beta,
                                 stride=last.stride, padding=last.padding)
        self.probe = (self.probe - mean[:, None, None]) * s[:, None, None] + beta[:, None, None]

    def _pool(self, node, i, cls):
        a = self._attrs(node)
        k = a["kernel_shape"]
        if len(k) != 2 or k[0] != k[1]:
            self.fail(node, f"kernel_shape {k} unsupported (square 2-D only)")
        if list(a.get("strides", [1, 1])) != list(k):
            self.fail(node, f"strides {a.get('strides', [1, 1])} unsupported (non-overlapping: stride = kernel)")
        if any(a.get("pads", [0])) or a.get("ceil_mode", 0) or any(d != 1 for d in a.get("dilations", [1])) \
                or a.get("auto_pad", "NOTSET") not in ("NOTSET", "VALID") or a.get("storage_order", 0):
            self.fail(node, "pads, ceil_mode, dilations, auto_pad and storage_order unsupported")
        self.push(node, cls(self.lname(node, i), k[0]))

    def op_MaxPool(self, node, i):
        self._pool(node, i, MaxPool2d)

    def op_AveragePool(self, node, i):
        self._pool(node, i, AvgPool2d)

    def op_GlobalAveragePool(self, node, i):
        if self.probe.ndim != 4 or self.probe.shape[2] != self.probe.shape[3]:
            self.fail(node, f"GlobalAveragePool needs square (N, C, H, H) input, got {self.probe.shape}")
        self.push(node, AvgPool2d(self.lname(node, i), self.probe.shape[2]))

    def op_Flatten(self, node, i):
        axis = self._attrs(node).get("axis", 1)
        rank = len(self.onnx_shape(1))
        if axis % rank != 1 or self.mode == "time" or (self.mode and self.mode[1] != 1):
            self.fail(node, f"Flatten axis={axis} unsupported here (only to (batch, features))")
        self.mode = None
        self.push(node, Flatten(self.lname(node, i)))

    def op_Reshape(self, node, i):
        target = self.const(node, 1).astype(int).tolist()
        zero = self._attrs(node).get("allowzero", 0)
        flat = int(np.prod(self.probe.shape[1:]))
        for B in ((2, 3) if self.batch is None else (self.batch,)):
            src = self.onnx_shape(B)
            out = [src[k] if d == 0 and not zero else d for k, d in enumerate(target)]
            if out.count(-1) == 1:
                out[out.index(-1)] = int(np.prod(src)) // max(1, -int(np.prod(out)))
            if out != [B, flat]:
                self.fail(node, f"Reshape to {target} unsupported (only to (batch, features))")
        self.mode = None
        self.push(node, Flatten(self.lname(node, i)))

    def op_Squeeze(self, node, i):
        axes = self._attrs(node).get("axes")
        if axes is None and len(node.input) > 1:
            axes = self.const(node, 1).astype(int).tolist()
        if not isinstance(self.mode, tuple) or [int(a) % 3 for a in (axes or [])] != [self.mode[1]]:
            self.fail(node, "Squeeze is supported only to drop an LSTM's direction axis")
        self.mode = None

    def op_Gather(self, node, i):  # PyTorch's h_n[-1]: the last (only) direction of Y_h
        idx = self.const(node, 1)
        if not isinstance(self.mode, tuple) or self._attrs(node).get("axis", 0) % 3 != self.mode[1] \
                or idx.shape != () or int(idx) not in (0, -1):
            self.fail(node, "Gather is supported only to pick an LSTM's one direction from Y_h")
        self.mode = None

    def op_Transpose(self, node, i):
        perm = list(self._attrs(node).get("perm", []))
        if perm != [1, 0, 2] or self.probe.ndim != 3 or isinstance(self.mode, tuple):
            self.fail(node, f"Transpose perm={perm} unsupported (only (N, T, F) <-> (T, N, F) around an LSTM)")
        self.mode = None if self.mode == "time" else "time"

    def op_Relu(self, node, i):  # also Sigmoid, Tanh, Gelu (the erf form, as cimspice's gelu)
        if self._attrs(node).get("approximate", "none") != "none":
            self.fail(node, "Gelu approximate='tanh' unsupported (cimspice's gelu is the erf form)")
        self.push(node, Activation(self.lname(node, i), _ACTIVATIONS[node.op_type]))

    op_Sigmoid = op_Tanh = op_Gelu = op_Relu

    def op_Softmax(self, node, i):
        rank = len(self.onnx_shape(1))
        axis = self._attrs(node).get("axis", -1 if self.onnx_opset >= 13 else 1)
        if axis % rank != rank - 1:
            self.fail(node, f"Softmax over axis {axis} unsupported (last axis only)")
        self.push(node, Activation(self.lname(node, i), "softmax"))

    def op_LayerNormalization(self, node, i):
        a = self._attrs(node)
        if a.get("axis", -1) % len(self.onnx_shape(1)) != len(self.onnx_shape(1)) - 1:
            self.fail(node, f"LayerNormalization over axis {a['axis']} unsupported (last axis only)")
        gamma = self.const(node, 1)
        beta = self.const(node, 2, required=False)
        self.push(node, LayerNorm(self.lname(node, i), gamma.ravel(),
                                  np.zeros(gamma.size) if beta is None else beta.ravel(), a.get("epsilon", 1e-5)))

    def op_Identity(self, node, i):
        return None

    def op_Dropout(self, node, i):
        if len(node.input) > 2 and node.input[2] and self.const(node, 2).any():
            self.fail(node, "Dropout with training_mode=true unsupported")

    def op_LSTM(self, node, i):
        a = self._attrs(node)
        layout = a.get("layout", 0)
        if a.get("direction", "forward") != "forward":
            self.fail(node, f"direction={a['direction']} unsupported (forward only)")
        acts = [s.decode() if isinstance(s, bytes) else s for s in a.get("activations", [])]
        if acts and acts != ["Sigmoid", "Tanh", "Tanh"] or "clip" in a or a.get("input_forget", 0):
            self.fail(node, "activations other than (Sigmoid, Tanh, Tanh), clip and input_forget unsupported")
        if (layout == 0) != (self.mode == "time") or self.probe.ndim != 3:
            self.fail(node, "LSTM input must be (T, N, F) with layout=0 or (N, T, F) with layout=1")
        for k, what in ((4, "sequence_lens"), (7, "peepholes P")):
            if len(node.input) > k and node.input[k]:
                self.fail(node, f"{what} unsupported")
        for k in (5, 6):  # initial_h, initial_c: only zeros (cimspice starts every sequence from zero)
            init = self.const(node, k, required=False)
            if init is not None and init.any():
                self.fail(node, "non-zero initial_h / initial_c unsupported")
        W, R = self.const(node, 1), self.const(node, 2)
        H = int(a.get("hidden_size", R.shape[-1]))
        B = self.const(node, 3, required=False)
        B = np.zeros((1, 8 * H)) if B is None else B
        order = lambda m: np.concatenate([np.split(m, 4)[j] for j in (0, 2, 3, 1)])  # ONNX iofc -> ifco # noqa
        if W.shape[:2] != (1, 4 * H) or R.shape != (1, 4 * H, H) or B.shape != (1, 8 * H):
            self.fail(node, f"W {W.shape}, R {R.shape}, B {B.shape} do not fit hidden_size {H}")
        if node.output[0] in self.used or len(node.output) > 2 and node.output[2] in self.used:
            self.fail(node, "only the last hidden state Y_h is supported (Y and Y_c must be unused)")
        if len(node.output) < 2 or not node.output[1]:
            self.fail(node, "output Y_h is missing")
        self.push(node, LSTM(self.lname(node, i), order(W[0]).T, order(R[0]).T, order(B[0, :4 * H] + B[0, 4 * H:])))
        self.mode = ("dir", 0 if layout == 0 else 1)
        return node.output[1]


def load_onnx(path) -> Sequential:
    """The network in ONNX file ``path`` as a :class:`Sequential` (float64 weights).

    ``info`` holds ``path``, ``input_shape`` (one sample, without the batch axis),
    ``input_format`` ("flat", "image", "rows" when the shape is one the shipped digits come
    in, else None), ``producer`` and ``opset``. Raises :class:`SimError` (file, node, reason)
    for files that are unreadable, unsafe or use anything unsupported.
    """
    path = Path(path)
    onnx, model = _read_model(path)
    importer = _Importer(onnx, model, path)
    layers = importer.run()
    info = {"path": str(path), "source": "onnx", "producer": model.producer_name, "opset": importer.onnx_opset,
            "input_shape": importer.input_shape, "input_format": DIGITS_FORMATS.get(importer.input_shape),
            "input_name": importer.input_name}
    log.info("%s: %d layers from %d ONNX nodes", path, len(layers), len(model.graph.node))
    return Sequential(path.stem, layers, info)
