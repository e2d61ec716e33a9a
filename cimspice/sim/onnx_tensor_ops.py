"""ONNX op converters for :mod:`.onnx_import`: element-wise arithmetic, quantization pairs
and data movement (concatenation, split, slice; reshapes are in :mod:`.onnx_shape_ops`).

:class:`TensorOps` is a mixin of the importer, like :class:`.onnx_ops.MatrixOps`. The batch
may be anywhere in a tensor (:mod:`.onnx_batch`), but these ops never work along it: two
activations combined must have it in the same place, a constant must not broadcast across
it, and concatenating, splitting or slicing along it is refused.
"""

from __future__ import annotations

import numpy as np

from .graph_layers import Binary, Clip, Concat, FakeQuant, Mask, Sign, Slice, Split
from .layers import Conv2d, Dense

__all__ = ["TensorOps"]


def _onnx_slice(start: int, end: int, step: int, dim: int) -> slice:
    """ONNX Slice's clamping of ``start``/``end`` on an axis of ``dim`` entries, as a slice."""
    start, end = (v + dim if v < 0 else v for v in (start, end))
    if step > 0:
        return slice(min(max(start, 0), dim), min(max(end, 0), dim), step)
    start, end = min(max(start, 0), dim - 1), min(max(end, -1), dim - 1)
    return slice(start, None if end < 0 else end, step)


class TensorOps:
    """Converters of the ops that make :mod:`.graph_layers` layers (or no layer at all)."""

    # ------------------------------------------------------------------ element-wise
    def op_Add(self, node, i):  # also Sub, Mul, Div
        op = node.op_type.lower()
        a, b = node.input[0], node.input[1]
        if a not in self.consts and b not in self.consts:
            ra, rb = self.rank(a), self.rank(b)
            if ra != rb:
                self.fail(node, f"{node.op_type} of activations of ranks {ra} and {rb} unsupported (it would "
                                f"broadcast across the batch axis)")
            place = self.same_place(node, [a, b], node.op_type)
            self.emit(node, Binary(self.lname(node, i), op), [a, b], place=place)
            return
        first = a in self.consts
        x, c = (b, self.const(node, 0)) if first else (a, self.const(node, 1))
        if op == "add" and self._bias(node, x, c):
            return
        self._no_batch_broadcast(node, c, x, "of a constant")
        self.emit(node, Binary(self.lname(node, i), op, c, const_first=first), [x])

    op_Sub = op_Mul = op_Div = op_Add

    def _bias(self, node, x: str, c: np.ndarray) -> bool:
        """Fold ``x + c`` into the bias of the Dense / Conv2d writing ``x`` when it fits one."""
        dense, conv = self.foldable(x, Dense), self.foldable(x, Conv2d)
        if dense is not None and c.size == dense.W.shape[1] and c.shape[-1] == c.size:
            self.refold(x, Dense(dense.name, dense.W, dense.b + c.ravel()))
        elif conv is not None and c.size == len(conv.b) and c.shape[-3:] == (c.size, 1, 1):
            self.refold(x, Conv2d(conv.name, conv.kernel, conv.b + c.ravel(), stride=conv.stride,
                                        padding=conv.padding, dilation=conv.dilation, groups=conv.groups))
        else:
            return False
        self.same(node.output[0], x)
        return True

    def _no_batch_broadcast(self, node, c: np.ndarray, x: str, what: str) -> None:
        """Refuse a constant ``c`` combined with activation ``x`` that is not 1 (or absent)
        along ``x``'s batch axis."""
        k = self.place(x).axis - (self.rank(x) - c.ndim)       # the batch axis among c's (broadcast) axes
        if c.ndim > self.rank(x) or k >= 0 and c.shape[k] != 1:
            self.misplaced(node, f"{node.op_type} {what} of shape {c.shape} unsupported (it would broadcast across "
                                 f"the batch axis); the activation is {self.shown(x)}", self.place(x))

    def op_Where(self, node, i):
        """A constant condition choosing between an activation and a constant: a mask."""
        dyn = [k for k in (1, 2) if node.input[k] not in self.consts]
        if len(dyn) != 1:
            self.fail(node, "Where of two activations unsupported (an activation and a constant: a mask)")
        k = dyn[0]
        keep = self.const(node, 0, raw=True).astype(bool)      # the condition: a constant (or refused)
        keep, fill = (keep if k == 1 else ~keep), self.const(node, 3 - k)
        self._no_batch_broadcast(node, keep, node.input[k], "condition")
        self._no_batch_broadcast(node, fill, node.input[k], "constant")
        self.emit(node, Mask(self.lname(node, i), keep, fill), [node.input[k]])

    def op_Sign(self, node, i):
        self.emit(node, Sign(self.lname(node, i)), [node.input[0]])

    def op_Clip(self, node, i):
        a = self._attrs(node)
        if self.onnx_opset < 11:
            lo, hi = a.get("min"), a.get("max")
        else:
            lo, hi = (self.const(node, k, required=False) for k in (1, 2))
        self.emit(node, Clip(self.lname(node, i), lo, hi), [node.input[0]])

    def op_QuantizeLinear(self, node, i):
        a = self._attrs(node)
        if a.get("block_size", 0) or "output_dtype" in a:
            self.fail(node, "QuantizeLinear with block_size or output_dtype unsupported")
        users = [self.onnx_nodes[k].op_type for k in self.consumers.get(node.output[0], [])]
        if not users or set(users) != {"DequantizeLinear"} or self.uses.get(node.output[0]) != len(users):
            self.fail(node, "QuantizeLinear of an activation is supported only in a QuantizeLinear -> "
                            "DequantizeLinear pair (its output read by DequantizeLinear only)")
        zero = self.const(node, 2, required=False, raw=True)
        dtype = np.dtype(np.uint8) if zero is None else zero.dtype
        if dtype.kind not in "iu":
            self.fail(node, f"QuantizeLinear to {dtype} unsupported (integer types only)")
        x = node.input[0]
        if np.size(self.const(node, 1)) > 1 and a.get("axis", 1) % self.rank(x) == self.place(x).axis:
            self.misplaced(node, "QuantizeLinear per channel along the batch axis unsupported", self.place(x))
        info = np.iinfo(dtype)
        zero = np.zeros(()) if zero is None else zero.astype(float)
        self.same(node.output[0], x, ("quant", self.const(node, 1), zero, a.get("axis", 1), info.min, info.max))

    def op_DequantizeLinear(self, node, i):
        x = node.input[0]
        mode = self.tensors[x].mode
        if not (isinstance(mode, tuple) and mode[0] == "quant"):
            self.fail(node, "DequantizeLinear of an activation is supported only after a QuantizeLinear (a QDQ pair)")
        if self._attrs(node).get("axis", 1) != mode[3] or self._attrs(node).get("block_size", 0):
            self.fail(node, "DequantizeLinear must use the axis of its QuantizeLinear (and no block_size)")
        _, s_q, z_q, axis, q_min, q_max = mode
        zero = self.const(node, 2, required=False)
        layer = FakeQuant(self.lname(node, i), s_q, z_q, self.const(node, 1), np.zeros(()) if zero is None else zero,
                          q_min, q_max, axis)
        self.emit(node, layer, [x])

    # ------------------------------------------------------------------ joining and cutting
    def op_Concat(self, node, i):
        if any(x in self.consts for x in node.input if x):
            self.fail(node, "Concat of a constant unsupported (every input must be an activation)")
        xs = [x for x in node.input if x]
        place = self.same_place(node, xs, "Concat")
        axis = self.axis(node, self._attrs(node)["axis"], self.rank(xs[0]), "Concat", xs[0])
        self.emit(node, Concat(self.lname(node, i), axis), xs, place=place)

    def op_Split(self, node, i):
        x, a = node.input[0], self._attrs(node)
        axis = self.axis(node, a.get("axis", 0), self.rank(x), "Split", x)
        dim, n = self.tensors[x].probe.shape[axis], len(node.output)
        sizes = self.const(node, 1, required=False)
        if sizes is None:
            sizes = a.get("split")
        if sizes is None:
            n = a.get("num_outputs", n)
            part = -(-dim // n)
            sizes = [part] * (n - 1) + [dim - part * (n - 1)]
        self.emit(node, Split(self.lname(node, i), axis, np.asarray(sizes, int).ravel()), [x], list(node.output))

    def op_Slice(self, node, i):
        x = node.input[0]
        shape = self.tensors[x].probe.shape
        if self.onnx_opset < 10:
            a = self._attrs(node)
            starts, ends, axes, steps = a["starts"], a["ends"], a.get("axes"), None
        else:
            starts, ends, axes, steps = (None if v is None else v.astype(np.int64).tolist()
                                         for v in (self.const(node, k, required=k < 3, raw=True) for k in (1, 2, 3, 4)))
        axes = list(range(len(starts))) if axes is None else axes
        steps = [1] * len(starts) if steps is None else steps
        index = [slice(None)] * len(shape)
        for axis, start, end, step in zip(axes, starts, ends, steps):
            a = self.axis(node, axis, len(shape), "Slice")
            if a != self.place(x).axis:
                index[a] = _onnx_slice(int(start), int(end), int(step), shape[a])
            elif not (start == 0 and step == 1 and end >= self._whole(x)):           # all of it: nothing
                self.axis(node, axis, len(shape), "Slice", x)
        self.emit(node, Slice(self.lname(node, i), index), [x])

    def _whole(self, x: str) -> int:
        """The least Slice end that takes all of ``x``'s batch axis: any (int32 max) in a file of
        any batch, the file's size in one at batch 1 when the batch is an axis of its own."""
        alone = self.place(x).outer == self.place(x).inner == 1
        return 1 if self.batch == 1 and alone else np.iinfo(np.int32).max

    # ------------------------------------------------------------------ pass-through
    def op_Identity(self, node, i):
        x = node.input[0]
        if isinstance(self.tensors[x].mode, tuple) and self.tensors[x].mode[0] == "quant":
            self._plain(node, x)
        self.same(node.output[0], x, self.tensors[x].mode)

    def op_Dropout(self, node, i):
        if len(node.input) > 2 and node.input[2] and self.const(node, 2).any():
            self.fail(node, "Dropout with training_mode=true unsupported")
        self.op_Identity(node, i)
