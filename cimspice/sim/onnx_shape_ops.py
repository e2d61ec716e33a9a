"""ONNX op converters for :mod:`.onnx_import` that reshape without computing: Reshape, Flatten,
Squeeze, Unsqueeze, Transpose, and Shape (a constant at import).

:class:`ShapeOps` is a mixin of the importer, like :class:`.onnx_ops.MatrixOps`. Each follows
where the batch goes (:mod:`.onnx_batch`): a Transpose moves it, a Reshape may merge it with
neighbouring axes (``(T, N, E) -> (T, N*h, d_h)``) or set it apart again, and the layers made
here give the run-time batch its place. A reshape that would cut a sample apart is refused.
"""

from __future__ import annotations

import math

import numpy as np

from .graph_layers import Reshape, Transpose
from .layers import Flatten
from .onnx_batch import PROBE_BATCH, Place, grown, reshape_places

__all__ = ["ShapeOps"]


def _resolve(target, src, allowzero) -> list[int] | None:
    """ONNX Reshape's output shape for an input of shape ``src``: a 0 copies the input's
    size there (unless ``allowzero``), one -1 takes what is left; None when it does not fit."""
    out = [int(src[k]) if d == 0 and not allowzero and k < len(src) else int(d) for k, d in enumerate(target)]
    if out.count(-1) > 1:
        return None
    known, total = math.prod(d for d in out if d != -1), math.prod(int(d) for d in src)
    if -1 in out:
        if known <= 0 or total % known:
            return None
        out[out.index(-1)] = total // known
    return out if min(out, default=1) >= 1 and math.prod(out) == total else None


class ShapeOps:
    """Converters of the ops that only give a tensor another shape."""

    def _onnx_shape(self, x: str, B: int) -> tuple:
        """The ONNX shape of tensor ``x`` at batch ``B`` (an LSTM layout ``mode`` applied)."""
        t = self.tensors[x]
        s, mode = t.probe.shape, t.mode
        if mode == "time":
            return (s[1], B, *s[2:])
        if isinstance(mode, tuple) and mode[0] == "dir":
            return (1, B, *s[1:]) if mode[1] == 0 else (B, 1, *s[1:])
        return grown(s, t.place, B)

    def _reshape_to(self, node, i, x: str, out, place: Place) -> None:
        """``x`` to ``out`` (the file's shape at batch 1) with the batch at ``place``: nothing
        when that changes nothing, a Flatten layer from (N, ...) to (N, F), else a Reshape."""
        out, src = tuple(int(d) for d in out), self.place(x)
        if out == self.tensors[x].probe.shape and place.key == src.key:
            self.same(node.output[0], x, place=place)
        elif len(out) == 2 and place.first and src.first:
            self.emit(node, Flatten(self.lname(node, i)), [x], place=place)
        else:
            self.emit(node, Reshape(self.lname(node, i), out, place.axis), [x], place=place)

    def _placed_reshape(self, node, i, x: str, resolve, exact: bool, what: str) -> None:
        """Reshape ``x`` to ``resolve(shape)``. ``exact``: the target follows the batch as ONNX
        says (0 copies, -1 infers), so resolving it at another batch size shows where the batch
        went; else (a file at batch 1) every place that keeps the samples apart is a candidate."""
        src, p = self.tensors[x].probe.shape, self.place(x)
        out = resolve(src)
        if out is None:
            self.fail(node, f"{what} unsupported: it does not fit a tensor of shape {self.shown(x)}")
        places = reshape_places(src, p, out)
        if exact:
            want = resolve(grown(src, p, PROBE_BATCH))
            places = [q for q in places if want is not None and grown(out, q, PROBE_BATCH) == tuple(want)]
        if not places:
            self.misplaced(node, f"{what} unsupported: a tensor of shape {self.shown(x)} does not become "
                                 f"{tuple(out)} with each sample's entries kept together (the batch would split)", p)
        self._reshape_to(node, i, x, out, self.choose(i, places))

    def op_Reshape(self, node, i):
        x = node.input[0]
        target = self.const(node, 1).astype(int).tolist()
        zero = self._attrs(node).get("allowzero", 0)
        if self.tensors[x].mode is not None:        # an LSTM's Y_h: only to (batch, hidden)
            flat = int(np.prod(self.tensors[x].probe.shape[1:]))
            for B in ((2, 3) if self.batch is None else (self.batch,)):
                out = _resolve(target, self._onnx_shape(x, B), zero)
                if out != [B, flat]:
                    self.fail(node, f"Reshape to {target} unsupported (only to (batch, features))")
            self.emit(node, Flatten(self.lname(node, i)), [x])
            return
        what, resolve = f"Reshape to {target}", None
        if self.batch not in (None, 1):           # a file at a static batch B: the batch stays first
            if not (self.place(x).first and target and target[0] in (0, -1, self.batch)
                    and not (target[0] == -1 and -1 in target[1:])):
                self.fail(node, f"{what} unsupported (in a file at batch {self.batch}, the batch axis must stay "
                                f"first: 0, -1 or {self.batch}, the rest given)")
            target, zero = [0, *target[1:]], 0
        resolve = lambda s: _resolve(target, s, zero)  # noqa: E731
        # a file at batch 1 writes its targets for one sample; a dynamic one's follow the batch,
        # unless computed from Shape (folded at batch 1)
        exact = self.batch != 1 and node.input[1] not in self.shape_derived
        self._placed_reshape(node, i, x, resolve, exact, what)

    def op_Flatten(self, node, i):
        x = node.input[0]
        axis, mode = self._attrs(node).get("axis", 1), self.tensors[x].mode
        if mode is not None:                        # an LSTM's Y_h: only to (batch, hidden)
            rank = len(self._onnx_shape(x, 1))
            if axis % rank != 1 or mode == "time" or mode[1] != 1:
                self.fail(node, f"Flatten axis={axis} unsupported here (only to (batch, features))")
            self.emit(node, Flatten(self.lname(node, i)), [x])
            return
        a = axis + self.rank(x) if axis < 0 else axis
        if not 0 <= a <= self.rank(x):
            self.fail(node, f"Flatten axis {axis} is out of range for rank {self.rank(x)}")
        self._placed_reshape(node, i, x, lambda s: [math.prod(s[:a]), math.prod(s[a:])], True,
                             f"Flatten axis={axis}")

    def _axes(self, node, k: int) -> list | None:
        """A Squeeze/Unsqueeze/Reduce's axes: the attribute (older opsets) or input ``k``."""
        axes = self._attrs(node).get("axes")
        if axes is None and len(node.input) > k and node.input[k]:
            axes = self.const(node, k).astype(int).tolist()
        return None if axes is None else [int(a) for a in np.ravel(axes)]

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
        shape, p = self.tensors[x].probe.shape, self.place(x)
        drop = {self.axis(node, a, len(shape), "Squeeze", x) for a in axes}
        if any(shape[a] != 1 for a in drop):
            self.fail(node, f"Squeeze of axes {axes} of shape {self.shown(x)}: not all of size 1")
        self._reshape_to(node, i, x, [d for k, d in enumerate(shape) if k not in drop],
                         p.at(p.axis - sum(a < p.axis for a in drop)))

    def op_Unsqueeze(self, node, i):
        x = node.input[0]
        axes = self._axes(node, 1)
        if axes is None:
            self.fail(node, "Unsqueeze without axes")
        shape, axis_of = list(self.tensors[x].probe.shape), list(range(self.rank(x)))
        rank = len(shape) + len(axes)
        for a in sorted(self.axis(node, a, rank, "Unsqueeze") for a in axes):
            shape.insert(a, 1)
            axis_of.insert(a, None)
        self._reshape_to(node, i, x, shape, self.place(x).at(axis_of.index(self.place(x).axis)))

    def _into_lstm(self, node) -> bool:
        """Every node reading ``node``'s output is a time-major (layout 0) LSTM."""
        users = [self.onnx_nodes[k] for k in self.consumers.get(node.output[0], [])]
        return bool(users) and all(u.op_type == "LSTM" and self._attrs(u).get("layout", 0) == 0 for u in users)

    def op_Transpose(self, node, i):
        x = node.input[0]
        rank, mode = self.rank(x), self.tensors[x].mode
        perm = [int(p) for p in self._attrs(node).get("perm", range(rank)[::-1])]
        if perm == [1, 0, 2] and rank == 3:         # into / out of a layout-0 LSTM's time-major input
            if mode == "time":
                self.same(node.output[0], x, None)
                return
            if mode is None and self.place(x).first and self._into_lstm(node):
                self.same(node.output[0], x, "time")
                return
        self._plain(node, x)
        if sorted(perm) != list(range(rank)):
            self.fail(node, f"Transpose perm={perm} is not a permutation of the {rank} axes")
        place = self.place(x).at(perm.index(self.place(x).axis))
        if perm == sorted(perm):
            self.same(node.output[0], x)
        else:
            self.emit(node, Transpose(self.lname(node, i), perm), [x], place=place)

    def op_Shape(self, node, i):
        """The shape of an activation, a constant: the file's (the batch at the file's size, 1
        when dynamic); what is computed from it (a reshape target) is folded at import."""
        x, a = node.input[0], self._attrs(node)
        shape = np.asarray(self._onnx_shape(x, self.batch or 1), np.int64)
        self.consts[node.output[0]] = shape[a.get("start", 0):a.get("end")]
        self.shape_derived.add(node.output[0])
        self.uses[self.ref(x)] -= 1            # reading a shape does not keep the tensor
