"""ONNX op converters for :mod:`.onnx_import`: element-wise arithmetic, quantization pairs
and data movement (reshape, transpose, concatenation, split, slice).

:class:`TensorOps` is a mixin of the importer, like :class:`.onnx_ops.MatrixOps`. The batch
axis stays first: an op that would move, split or merge it is refused.
"""

from __future__ import annotations

import numpy as np

from .graph_layers import Binary, Clip, Concat, FakeQuant, Mask, Reshape, Sign, Slice, Split, Transpose
from .layers import Conv2d, Dense, Flatten

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
            self.emit(node, Binary(self.lname(node, i), op), [a, b])
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
        if c.ndim > self.rank(x) or c.ndim == self.rank(x) and c.shape[0] != 1:
            self.fail(node, f"{node.op_type} {what} of shape {c.shape} unsupported (it would broadcast across the "
                            f"batch axis)")

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

    # ------------------------------------------------------------------ shapes
    def _reshape_to(self, node, i, x: str, shape) -> None:
        """``x`` to one sample's ``shape``: a Flatten layer to (N, F), nothing when unchanged,
        else a Reshape layer."""
        shape = tuple(int(d) for d in shape)
        if len(shape) == 1:
            self.emit(node, Flatten(self.lname(node, i)), [x])
        elif shape == self.tensors[x].probe.shape[1:]:
            self.same(node.output[0], x)
        else:
            self.emit(node, Reshape(self.lname(node, i), shape), [x])

    def _onnx_shape(self, x: str, B: int) -> tuple:
        """The ONNX shape of tensor ``x`` at batch ``B`` (its layout ``mode`` applied)."""
        s, mode = self.tensors[x].probe.shape[1:], self.tensors[x].mode
        if mode == "time":
            return (s[0], B, *s[1:])
        if mode:
            return (1, B, *s) if mode[1] == 0 else (B, 1, *s)
        return (B, *s)

    def op_Flatten(self, node, i):
        x = node.input[0]
        axis, mode = self._attrs(node).get("axis", 1), self.tensors[x].mode
        rank = len(self._onnx_shape(x, 1))
        if axis % rank != 1 or mode == "time" or (mode and mode[1] != 1):
            self.fail(node, f"Flatten axis={axis} unsupported here (only to (batch, features))")
        self.emit(node, Flatten(self.lname(node, i)), [x])

    def op_Reshape(self, node, i):
        x = node.input[0]
        target = self.const(node, 1).astype(int).tolist()
        zero = self._attrs(node).get("allowzero", 0)
        if self.tensors[x].mode is not None:        # an LSTM's Y_h: only to (batch, hidden)
            flat = int(np.prod(self.tensors[x].probe.shape[1:]))
            for B in ((2, 3) if self.batch is None else (self.batch,)):
                src = self._onnx_shape(x, B)
                out = [src[k] if d == 0 and not zero else d for k, d in enumerate(target)]
                if out.count(-1) == 1:
                    out[out.index(-1)] = int(np.prod(src)) // max(1, -int(np.prod(out)))
                if out != [B, flat]:
                    self.fail(node, f"Reshape to {target} unsupported (only to (batch, features))")
            self.emit(node, Flatten(self.lname(node, i)), [x])
            return
        src = self.tensors[x].probe.shape
        if not target or target[0] not in (0, -1, self.batch) or target[0] == -1 and -1 in target[1:]:
            self.fail(node, f"Reshape to {target} unsupported (the batch axis must stay first: 0, -1 or the "
                            f"file's batch size, the rest given)")
        rest = [src[k] if d == 0 and not zero and k < len(src) else d for k, d in enumerate(target)][1:]
        per = int(np.prod(src[1:]))
        if rest.count(-1) == 1:
            rest[rest.index(-1)] = per // max(1, -int(np.prod(rest)))
        if rest.count(-1) or int(np.prod(rest)) != per or min(rest, default=1) < 0:
            self.fail(node, f"Reshape to {target} unsupported: one sample of shape {src[1:]} does not become "
                            f"{rest} (the batch axis would merge or split)")
        self._reshape_to(node, i, x, rest)

    def _axes(self, node, k: int) -> list | None:
        """A Squeeze/Unsqueeze's axes: the attribute (before opset 13) or input ``k``."""
        axes = self._attrs(node).get("axes")
        if axes is None and len(node.input) > k and node.input[k]:
            axes = self.const(node, k).astype(int).tolist()
        return None if axes is None else list(axes)

    def op_Squeeze(self, node, i):
        x = node.input[0]
        axes, mode = self._axes(node, 1), self.tensors[x].mode
        if isinstance(mode, tuple) and mode[0] == "dir":   # an LSTM's Y_h: drop the direction axis
            if [int(a) % 3 for a in (axes or [])] != [mode[1]]:
                self.fail(node, "Squeeze of an LSTM's Y_h is supported only on its direction axis")
            self.same(node.output[0], x)
            return
        self._plain(node, x)
        if axes is None:
            self.fail(node, "Squeeze without axes unsupported (it would drop a batch axis of 1: give axes)")
        shape = self.tensors[x].probe.shape
        drop = {self.axis(node, a, len(shape), "Squeeze") for a in axes}
        if any(shape[a] != 1 for a in drop):
            self.fail(node, f"Squeeze of axes {axes} of shape {shape[1:]} (one sample): not all of size 1")
        self._reshape_to(node, i, x, [d for k, d in enumerate(shape) if k and k not in drop])

    def op_Unsqueeze(self, node, i):
        x = node.input[0]
        axes = self._axes(node, 1)
        if axes is None:
            self.fail(node, "Unsqueeze without axes")
        shape = list(self.tensors[x].probe.shape)
        rank = len(shape) + len(axes)
        for a in sorted(self.axis(node, a, rank, "Unsqueeze") for a in axes):
            shape.insert(a, 1)
        self._reshape_to(node, i, x, shape[1:])

    def op_Transpose(self, node, i):
        x = node.input[0]
        rank, mode = self.rank(x), self.tensors[x].mode
        perm = list(self._attrs(node).get("perm", range(rank)[::-1]))
        if perm == [1, 0, 2] and rank == 3 and mode in (None, "time"):  # into / out of a layout-0 LSTM
            self.same(node.output[0], x, None if mode == "time" else "time")
            return
        self._plain(node, x)
        if sorted(perm) != list(range(rank)) or perm[0] != 0:
            self.fail(node, f"Transpose perm={perm} unsupported (it moves the batch axis; only (N, T, F) <-> "
                            f"(T, N, F) around an LSTM)")
        if perm == sorted(perm):
            self.same(node.output[0], x)
        else:
            self.emit(node, Transpose(self.lname(node, i), perm), [x])

    # ------------------------------------------------------------------ joining and cutting
    def op_Concat(self, node, i):
        if any(x in self.consts for x in node.input if x):
            self.fail(node, "Concat of a constant unsupported (every input must be an activation)")
        xs = [x for x in node.input if x]
        axis = self.axis(node, self._attrs(node)["axis"], self.rank(xs[0]), "Concat")
        self.emit(node, Concat(self.lname(node, i), axis), xs)

    def op_Split(self, node, i):
        x, a = node.input[0], self._attrs(node)
        axis = self.axis(node, a.get("axis", 0), self.rank(x), "Split")
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
            a = int(axis) + len(shape) if int(axis) < 0 else int(axis)
            if a == 0 and not (start == 0 and end >= np.iinfo(np.int32).max and step == 1):
                self.fail(node, "Slice along axis 0, the batch axis, unsupported")
            if a:
                index[a] = _onnx_slice(int(start), int(end), int(step), shape[self.axis(node, a, len(shape), "Slice")])
        self.emit(node, Slice(self.lname(node, i), index), [x])

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
