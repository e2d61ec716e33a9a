"""ONNX op converters for :mod:`.onnx_import`: matrix products, convolution, normalisation,
pooling, reductions, nonlinearities, LSTM and Gather.

:class:`MatrixOps` is a mixin of the importer: each ``op_<OpType>(node, i)`` checks the node's
attributes and constants and adds layers through the importer's helpers (``emit``, ``same``,
``const``, ``fail``...). An ONNX axis is the same axis of the cimspice tensor, whose batch
is where ``Tensor.place`` says (:mod:`.onnx_batch`; convolutions and pooling need it
first, an LSTM where its layout puts it), except where ``Tensor.mode`` says otherwise
(around an LSTM).
"""

from __future__ import annotations

import numpy as np

from .graph_layers import ActMatMul, ChannelAffine, Pool2d, Reduce, Softmax, Take, Transpose
from .layers import LSTM, Activation, AvgPool2d, Conv2d, Dense, Embedding, Flatten, LayerNorm, MaxPool2d
from .onnx_batch import Place

__all__ = ["MatrixOps"]

_ACTIVATIONS = {"Relu": "relu", "Sigmoid": "sigmoid", "Tanh": "tanh", "Gelu": "gelu"}


def _uniform(values):
    """One int when every entry is equal (how a layer config reads best), else the tuple."""
    values = tuple(int(v) for v in values)
    return values[0] if len(set(values)) == 1 else values


class MatrixOps:
    """Converters of the ops that make :mod:`.layers` layers."""

    def axis(self, node, axis: int, rank: int, what: str, x: str | None = None) -> int:
        """``axis`` of a rank-``rank`` tensor made non-negative; the batch axis of tensor ``x``
        (when given) is refused."""
        a = int(axis) + rank if int(axis) < 0 else int(axis)
        if not 0 <= a < rank:
            self.fail(node, f"{what} axis {axis} is out of range for rank {rank}")
        if x is not None and a == self.place(x).axis:
            self.misplaced(node, f"{what} along axis {axis}, the batch axis, unsupported (shape {self.shown(x)})",
                           self.place(x))
        return a

    def rank(self, name: str) -> int:
        return self.tensors[name].probe.ndim

    def _not_last(self, node, x: str, what: str) -> None:
        """Refuse ``what`` over the last axis of ``x`` when the batch is in it."""
        if self.place(x).axis == self.rank(x) - 1:
            self.misplaced(node, f"{what} over the last axis of {self.shown(x)}, which holds the batch", self.place(x))

    # ------------------------------------------------------------------ matrix products
    def op_Gemm(self, node, i):
        a = self._attrs(node)
        if a.get("transA", 0):
            self.fail(node, "Gemm with transA=1 unsupported")
        x = node.input[0]
        if x in self.consts or self.rank(x) != 2:
            self.fail(node, "Gemm needs the activation (batch, features) as input A")
        if self.place(x).axis != 0:
            self.misplaced(node, f"Gemm of {self.shown(x)}: the batch is in the features", self.place(x))
        B = self.const(node, 1)
        W = a.get("alpha", 1.0) * (B.T if a.get("transB", 0) else B)
        C = self.const(node, 2, required=False)
        b = np.zeros(W.shape[1]) if C is None else a.get("beta", 1.0) * C
        if b.size not in (1, W.shape[1]) or b.ndim > 2 or (b.ndim == 2 and b.shape[0] != 1):
            self.fail(node, f"Gemm bias of shape {b.shape} unsupported (one bias per output)")
        self.emit(node, Dense(self.lname(node, i), W, np.broadcast_to(b.ravel(), (W.shape[1],))), [x])

    def op_MatMul(self, node, i):
        a, b = node.input[0], node.input[1]
        if a in self.consts:
            self.fail(node, "MatMul of a constant by an activation (W @ x) unsupported: only x @ W")
        if b not in self.consts:                  # attention: two activations, digital
            ra, rb = self.rank(a), self.rank(b)
            if ra != rb or ra < 3:
                self.fail(node, f"MatMul of two activations of ranks {ra} and {rb} unsupported (both (N, ..., m, k) "
                                f"of one rank >= 3, so the batch axes pair up)")
            place = self.same_place(node, [a, b], "MatMul")
            if place.axis >= ra - 2:
                self.misplaced(node, f"MatMul of {self.shown(a)} and {self.shown(b)}: the batch is in a matrix axis, "
                                     f"not a leading one", place)
            self.emit(node, ActMatMul(self.lname(node, i)), [a, b], place=place)
            return
        W = self.const(node, 1)
        if W.ndim != 2:
            self.fail(node, f"MatMul weight of shape {W.shape} unsupported (2-D only)")
        self._not_last(node, a, "MatMul by a weight")
        self.emit(node, Dense(self.lname(node, i), W, None), [a])

    # ------------------------------------------------------------------ convolution
    def _pads(self, node, a, hw, kernel, strides, dilations) -> list[int]:
        """ONNX ``pads`` (top, left, bottom, right), computed for ``auto_pad`` SAME_UPPER/LOWER."""
        auto = a.get("auto_pad", "NOTSET")
        if auto in ("NOTSET", "VALID"):
            pads = list(a.get("pads", [0] * 4)) if auto == "NOTSET" else [0] * 4
            if len(pads) != 4:
                self.fail(node, f"pads {pads} unsupported (2-D: top, left, bottom, right)")
            return pads
        if auto not in ("SAME_UPPER", "SAME_LOWER"):
            self.fail(node, f"auto_pad={auto} unsupported")
        begin, end = [], []
        for n, k, s, d in zip(hw, kernel, strides, dilations):
            total = max((-(-n // s) - 1) * s + d * (k - 1) + 1 - n, 0)
            small, large = total // 2, total - total // 2
            begin.append(small if auto == "SAME_UPPER" else large)
            end.append(large if auto == "SAME_UPPER" else small)
        return begin + end

    def op_Conv(self, node, i):
        a = self._attrs(node)
        Wk = self.const(node, 1)
        if Wk.ndim != 4:
            self.fail(node, f"{Wk.ndim - 2}-D Conv unsupported (2-D only)")
        x = node.input[0]
        strides, dilations = list(a.get("strides", [1, 1])), list(a.get("dilations", [1, 1]))
        pads = self._pads(node, a, self.tensors[x].probe.shape[2:], Wk.shape[2:], strides, dilations)
        self.emit(node, Conv2d(self.lname(node, i), Wk, self.const(node, 2, required=False),
                               stride=_uniform(strides), padding=_uniform(pads), dilation=_uniform(dilations),
                               groups=a.get("group", 1)), [x])

    def op_BatchNormalization(self, node, i):
        a = self._attrs(node)
        if a.get("training_mode", 0) or any(self.uses.get(o) for o in node.output[1:] if o):
            self.fail(node, "BatchNormalization in training mode (running statistics as outputs) unsupported")
        gamma, beta, mean, var = (self.const(node, k).ravel() for k in (1, 2, 3, 4))
        s = gamma / np.sqrt(var + a.get("epsilon", 1e-5))
        x = node.input[0]
        conv = self.foldable(x, Conv2d)
        if conv is None:                             # stand-alone: a digital per-channel affine map
            self.emit(node, ChannelAffine(self.lname(node, i), s, beta - mean * s), [x])
            return
        self.refold(x, Conv2d(conv.name, conv.kernel * s[:, None, None, None], (conv.b - mean) * s + beta,
                                    stride=conv.stride, padding=conv.padding, dilation=conv.dilation,
                                    groups=conv.groups))
        self.same(node.output[0], x)

    # ------------------------------------------------------------------ pooling
    def _pool(self, node, i, kind):
        a = self._attrs(node)
        k = list(a["kernel_shape"])
        x = node.input[0]
        if len(k) != 2 or self.rank(x) != 4:
            self.fail(node, f"kernel_shape {k} unsupported (2-D pooling of (N, C, H, W) only)")
        if a.get("ceil_mode", 0) or any(d != 1 for d in a.get("dilations", [1])) or a.get("storage_order", 0):
            self.fail(node, "ceil_mode, dilations and storage_order unsupported")
        strides = list(a.get("strides", [1, 1]))
        hw = self.tensors[x].probe.shape[2:]
        pads = self._pads(node, a, hw, k, strides, [1, 1])
        if k[0] == k[1] and strides == k and not any(pads) and hw[0] % k[0] == 0 and hw[1] % k[0] == 0:
            # non-overlapping k x k windows: on the pooling circuits the spec chooses
            self.emit(node, (MaxPool2d if kind == "max" else AvgPool2d)(self.lname(node, i), k[0]), [x])
        else:
            self.emit(node, Pool2d(self.lname(node, i), kind, k, strides, pads, a.get("count_include_pad", 0)), [x])

    def op_MaxPool(self, node, i):
        self._pool(node, i, "max")

    def op_AveragePool(self, node, i):
        self._pool(node, i, "avg")

    def _global_pool(self, node, i, kind, out: str | None = None):
        """Pool all of H and W of (N, C, H, W) into tensor ``out`` (default the node's output)."""
        x = node.input[0]
        if self.rank(x) != 4:
            self.fail(node, f"{node.op_type} needs (N, C, H, W) input, got rank {self.rank(x)}")
        h, w = self.tensors[x].probe.shape[2:]
        if h == w:
            layer = (MaxPool2d if kind == "max" else AvgPool2d)(self.lname(node, i), h)
        else:
            layer = Pool2d(self.lname(node, i), kind, (h, w), (h, w))
        self.emit(node, layer, [x], [out] if out else None)

    def op_GlobalAveragePool(self, node, i):
        self._global_pool(node, i, "avg")

    def op_GlobalMaxPool(self, node, i):
        self._global_pool(node, i, "max")

    # ------------------------------------------------------------------ reductions
    def op_ReduceMean(self, node, i):  # also ReduceSum, ReduceMax
        """Over axes that are not the batch's: the mean or max over H and W of (N, C, H, W) is
        a global pool (exactly GlobalAveragePool's / GlobalMaxPool's layers, as the legacy
        PyTorch exporter writes ``AdaptiveAvgPool2d(1)``); anything else a digital ``Reduce``."""
        x, a = node.input[0], self._attrs(node)
        kind, rank = node.op_type[len("Reduce"):].lower(), self.rank(x)
        axes = self._axes(node, 1)
        if not axes:
            if a.get("noop_with_empty_axes", 0):
                self.same(node.output[0], x)
                return
            axes = list(range(rank))
        axes = sorted({self.axis(node, k, rank, node.op_type, x) for k in axes})
        keep = bool(a.get("keepdims", 1))
        if kind in ("mean", "max") and axes == [2, 3] and rank == 4 and self.place(x).first:
            if keep:
                self._global_pool(node, i, "avg" if kind == "mean" else "max")
                return
            pooled = f"{node.output[0]}.pooled"
            self._global_pool(node, i, "avg" if kind == "mean" else "max", pooled)
            self.emit(node, Flatten(self.lname(node, i)), [pooled])
            return
        p = self.place(x)
        place = p if keep else p.at(p.axis - sum(k < p.axis for k in axes))
        self.emit(node, Reduce(self.lname(node, i), kind, axes, keep), [x], place=place)

    op_ReduceSum = op_ReduceMax = op_ReduceMean

    # ------------------------------------------------------------------ nonlinearities and norms
    def op_Relu(self, node, i):  # also Sigmoid, Tanh, Gelu (the erf form, as cimspice's gelu)
        if self._attrs(node).get("approximate", "none") != "none":
            self.fail(node, "Gelu approximate='tanh' unsupported (cimspice's gelu is the erf form)")
        self.emit(node, Activation(self.lname(node, i), _ACTIVATIONS[node.op_type]), [node.input[0]])

    op_Sigmoid = op_Tanh = op_Gelu = op_Relu

    def op_Softmax(self, node, i):
        x = node.input[0]
        rank = self.rank(x)
        axis = self.axis(node, self._attrs(node).get("axis", -1 if self.onnx_opset >= 13 else 1), rank, "Softmax", x)
        if axis == rank - 1:
            self.emit(node, Activation(self.lname(node, i), "softmax"), [x])
        elif self.onnx_opset < 13:
            self.fail(node, f"Softmax over axis {axis} before opset 13 (over the flattened trailing axes) unsupported")
        else:
            self.emit(node, Softmax(self.lname(node, i), axis), [x])

    def op_LayerNormalization(self, node, i):
        a = self._attrs(node)
        x = node.input[0]
        if a.get("axis", -1) % self.rank(x) != self.rank(x) - 1:
            self.fail(node, f"LayerNormalization over axis {a['axis']} unsupported (last axis only)")
        self._not_last(node, x, "LayerNormalization")
        gamma = self.const(node, 1)
        beta = self.const(node, 2, required=False)
        self.emit(node, LayerNorm(self.lname(node, i), gamma.ravel(),
                                  np.zeros(gamma.size) if beta is None else beta.ravel(), a.get("epsilon", 1e-5)), [x])

    # ------------------------------------------------------------------ LSTM and Gather
    def op_LSTM(self, node, i):
        a = self._attrs(node)
        layout = a.get("layout", 0)
        x = node.input[0]
        if a.get("direction", "forward") != "forward":
            self.fail(node, f"direction={a['direction']} unsupported (forward only)")
        acts = [s.decode() if isinstance(s, bytes) else s for s in a.get("activations", [])]
        if acts and acts != ["Sigmoid", "Tanh", "Tanh"] or "clip" in a or a.get("input_forget", 0):
            self.fail(node, "activations other than (Sigmoid, Tanh, Tanh), clip and input_forget unsupported")
        mode, p = self.tensors[x].mode, self.place(x)
        if mode not in (None, "time"):
            self._plain(node, x)                # an LSTM's Y_h or a QuantizeLinear's output: refused
        # layout 0: (T, N, F), held batch-first ("time") or in the file's layout with the batch at axis 1
        time_major = mode == "time" or mode is None and p.key == (1, 1, 1)
        if self.rank(x) != 3 or not (time_major if layout == 0 else mode is None and p.first):
            shape = "(N, T, F) held from the file's (T, N, F)" if mode == "time" else self.shown(x)
            self.misplaced(node, f"LSTM input must be (T, N, F) with layout=0 or (N, T, F) with layout=1, got "
                                 f"{shape}", p)
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
        if self.uses.get(node.output[0]) or len(node.output) > 2 and self.uses.get(node.output[2]):
            self.fail(node, "only the last hidden state Y_h is supported (Y and Y_c must be unused)")
        if len(node.output) < 2 or not node.output[1]:
            self.fail(node, "output Y_h is missing")
        layer = LSTM(self.lname(node, i), order(W[0]).T, order(R[0]).T, order(B[0, :4 * H] + B[0, 4 * H:]))
        if layout == 0 and mode is None:        # cimspice's LSTM takes (N, T, F)
            xt = self.fresh(f"{node.output[1]}.input")
            self.emit(node, Transpose(self.layer_name(f"{layer.name}.batch_first"), [1, 0, 2]), [x], [xt], Place())
            x = xt
        self.emit(node, layer, [x], [node.output[1]])
        self.tensors[node.output[1]].mode = ("dir", 0 if layout == 0 else 1)

    def op_Gather(self, node, i):
        data, idx = node.input[0], node.input[1]
        axis = self._attrs(node).get("axis", 0)
        if data in self.consts:                     # an embedding table read at token ids
            table = self.const(node, 0)
            if table.ndim != 2 or axis != 0:
                self.fail(node, "Gather of a constant is supported only as an embedding (2-D table, axis 0)")
            self.emit(node, Embedding(self.lname(node, i), table), [idx])
            return
        index = self.const(node, 1, raw=True)
        if index.dtype.kind not in "iu":
            self.fail(node, f"Gather indices must be integers, got {index.dtype}")
        mode = self.tensors[data].mode
        if isinstance(mode, tuple) and mode[0] == "dir":  # PyTorch's h_n[-1]: the one direction of Y_h
            if axis % 3 != mode[1] or index.shape != () or int(index) not in (0, -1):
                self.fail(node, "Gather on an LSTM's Y_h is supported only to pick its one direction")
            self.same(node.output[0], data)
            return
        self._plain(node, data)
        rank, p = self.rank(data), self.place(data)
        a = self.axis(node, axis, rank, "Gather", data)
        place = p if a > p.axis else p.at(p.axis + index.ndim - 1)    # the indices' axes replace axis a
        self.emit(node, Take(self.lname(node, i), index, a), [data], place=place)
