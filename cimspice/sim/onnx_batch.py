"""Where the batch axis is in a tensor while an ONNX file is imported (:mod:`.onnx_import`).

cimspice runs a network on a batch of any size N. PyTorch's usual export fixes the batch at 1
and lays some tensors out with the batch elsewhere than first: ``nn.MultiheadAttention``
works on ``(T, N, E)``, merges the batch with the heads into ``(T, N*h, d_h)`` and the
sequence into ``(T*N, E)``. The importer therefore follows, per tensor, a :class:`Place`:
which axis of the file's tensor holds the batch and, after a Reshape merged it with
neighbours, its place inside that axis (``outer`` x N x ``inner`` entries). Layers then run
on the file's layout with N samples in that spot, and a Reshape's target gets the run-time
batch factor in its axis.

A file at batch 1 does not say where a Reshape puts the batch when the cut between the
entries before and after it falls on an axis boundary (``(T, N, E) -> [8, 4, 8]`` is
``(T, N*h, d_h)`` or ``(T*N, h, d_h)``: the same numbers at N = 1). :func:`reshape_places`
lists every place that fits, most likely first; the importer tries them in that order and,
when a later node refuses the placement (:class:`Misplaced`, naming the choices it follows
from), imports again with the next one (:func:`next_plan`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np

from .errors import SimError

__all__ = ["Misplaced", "Place", "Tensor", "grown", "next_plan", "reshape_places"]

#: a batch size no export uses: a Reshape whose target follows the batch (0 or -1) is
#: resolved at 1 and at this size to see where the batch went
PROBE_BATCH = 7


@dataclass(frozen=True)
class Place:
    """The batch in a tensor: axis ``axis`` holds ``outer`` x N x ``inner`` entries (row-major:
    ``outer`` slowest). ``deps``: the ambiguous Reshapes (ONNX node indices) it follows from."""

    axis: int = 0
    outer: int = 1
    inner: int = 1
    deps: frozenset = field(default=frozenset(), compare=False)

    @property
    def key(self) -> tuple:
        return self.axis, self.outer, self.inner

    @property
    def first(self) -> bool:
        """The batch is axis 0, alone: cimspice's own (N, ...)."""
        return self.key == (0, 1, 1)

    def at(self, axis: int) -> Place:
        return replace(self, axis=int(axis))

    def show(self, shape) -> str:
        """The shape at batch 1 written with the batch: ``(8, N*4, 8)``."""
        dims = [str(d) for d in shape]
        if 0 <= self.axis < len(dims):
            factors = [str(self.outer)] * (self.outer > 1) + ["N"] + [str(self.inner)] * (self.inner > 1)
            dims[self.axis] = "*".join(factors)
        return f"({', '.join(dims)}{',' if len(dims) == 1 else ''})"


@dataclass
class Tensor:
    """An activation while importing: ``probe``, its value for a batch of one zero input (only
    its shape is used: a bias folded later does not update it); ``place``, where its batch is
    (:class:`Place`; the probe is the file's tensor at batch 1, laid out as the layers run it);
    ``writer``, the ONNX node that wrote it (for messages); and ``mode``: None, or where the
    file's layout differs from the probe's batch-first one: ``"time"`` (time-major (T, N, F)
    held batch-first for a layout-0 LSTM), ``("dir", axis)`` (an LSTM's Y_h with its singleton
    direction axis, removed by a following Squeeze/Gather/Flatten/Reshape) or ``("quant",
    ...)`` (a QuantizeLinear's output, which only a DequantizeLinear takes)."""

    probe: np.ndarray
    mode: object = None
    place: Place = Place()
    writer: object = None


class Misplaced(SimError):
    """A refusal caused by where the batch is; ``deps``: the ambiguous Reshapes whose choice
    led there (another choice may avoid it)."""

    def __init__(self, message: str, deps=frozenset()):
        super().__init__(message)
        self.deps = frozenset(deps)


def grown(shape, place: Place, n: int) -> tuple:
    """``shape`` (at batch 1) with ``n`` samples in the batch's spot."""
    shape = list(shape)
    shape[place.axis] = place.outer * n * place.inner
    return tuple(shape)


def _prod(values) -> int:
    return math.prod(int(v) for v in values)


def reshape_places(src, place: Place, out) -> list[Place]:
    """Every place of the batch in ``out`` (a Reshape's target, at batch 1) that keeps the
    entries before and after it in ``src`` (the input's shape, batch at ``place``) together;
    most likely first. Empty: the reshape would split the batch."""
    before = _prod(src[:place.axis]) * place.outer
    after = place.inner * _prod(src[place.axis + 1:])
    found = []
    for k, d in enumerate(out):
        pre = _prod(out[:k])
        if before % pre or d % (before // pre):
            continue
        o = before // pre
        if d // o * _prod(out[k + 1:]) == after:
            found.append(Place(k, o, d // o, place.deps))
    alone = [p for p in found if p.outer == p.inner == 1]
    alone.sort(key=lambda p: p.axis != place.axis)            # a batch axis of its own, where it was
    preceding = [p for p in found if p.outer > 1 and p.inner == 1]
    following = [p for p in found if p.inner > 1]
    # The batch merges with the axis before it, (T, N, h, d) -> (T*N, E), unless the target splits
    # the axis after it and the batch goes with the first piece: (T, N, E) -> (T, N*h, d_h).
    nxt = place.inner if place.inner > 1 else next((d for d in src[place.axis + 1:] if d > 1), 0)
    split = [p for p in following if p.outer == 1 and nxt % p.inner == 0 and p.inner < nxt]
    return alone + (split + preceding + [p for p in following if p not in split] if split else
                    preceding + following)


def next_plan(plan: dict, counts: dict, deps) -> dict | None:
    """The next choices to import with after a refusal that follows from choices ``deps``: the
    latest of them with an alternative left takes it, later choices start again from their
    first (the plans grow in lexicographic order, so the search ends); None when none is left.
    ``plan``: node index -> candidate tried; ``counts``: node index -> candidates it had."""
    for k in sorted(deps, reverse=True):
        if plan.get(k, 0) + 1 < counts.get(k, 0):
            return {**{j: v for j, v in plan.items() if j < k}, k: plan.get(k, 0) + 1}
    return None
