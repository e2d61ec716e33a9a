"""Element-wise and data-movement layers of graph networks (:mod:`.graph`).

None of these puts a matrix on arrays. Arithmetic is digital and counted through
``backend.digital`` (one operation per output element and step: ``add`` for sums and
differences, ``mul`` for products and quotients, ``max`` for compares); products of two
activations go through ``backend.act_matmul``; reshaping, transposing, slicing and
concatenating move data and count nothing. Axes are those of the full tensor, whose batch
need not be axis 0: a network imported from ONNX keeps the file's layout, e.g. attention's
(T, N, E) (:mod:`.onnx_batch`); the importer never has these layers work along the batch.

A layer with several inputs takes them as one tuple ``x`` (see :mod:`.graph`).
"""

from __future__ import annotations

import numpy as np

from .errors import SimError
from .layers import FLOAT, Layer

__all__ = ["ActMatMul", "Binary", "ChannelAffine", "Clip", "Concat", "FakeQuant", "Mask", "Pool2d", "Reduce", "Reshape",
           "Sign", "Slice", "Softmax", "Split", "Take", "Transpose"]

_BINARY = {"add": (np.add, "add"), "sub": (np.subtract, "add"), "mul": (np.multiply, "mul"),
           "div": (np.divide, "mul")}


def _two(name: str, x) -> tuple:
    if not isinstance(x, tuple) or len(x) != 2:
        raise SimError(f"{name}: expected two input tensors")
    return x


class Binary(Layer):
    """``a op b`` element-wise with NumPy (= ONNX) broadcasting, ``op`` one of add, sub, mul,
    div: of two activations (``x = (a, b)``), or of one activation and a constant ``const``
    (``a op const``, or ``const op a`` with ``const_first``). One digital operation per output
    element (a division counts as a ``mul``)."""

    def __init__(self, name: str, op: str, const=None, const_first: bool = False):
        if op not in _BINARY:
            raise SimError(f"{name}: unknown element-wise op {op!r}; known: {sorted(_BINARY)}")
        self.name, self.op, self.const_first = name, op, bool(const_first)
        self.const = None if const is None else np.asarray(const, dtype=float)

    def __call__(self, x, backend=FLOAT):
        f, kind = _BINARY[self.op]
        if self.const is None:
            a, b = _two(self.name, x)
        else:
            a, b = (self.const, x) if self.const_first else (x, self.const)
        y = f(np.asarray(a, dtype=float), np.asarray(b, dtype=float))
        backend.digital(self.name, kind, y.size)
        return y


class Mask(Layer):
    """``x`` where the constant ``keep`` is true, else the constant ``fill`` (ONNX ``Where``
    with a constant condition; NumPy broadcasting, never across the batch axis): attention's
    causal mask, -inf above the diagonal, which softmax weighs zero. Counted as nothing:
    which positions are masked is fixed when the network is mapped, so masked scores are
    simply not sent on (as :class:`~cimspice.sim.layers.CausalSelfAttention` counts it)."""

    def __init__(self, name: str, keep, fill):
        self.name, self.keep, self.fill = name, np.asarray(keep, dtype=bool), np.asarray(fill, dtype=float)

    def __call__(self, x, backend=FLOAT):
        return np.where(self.keep, np.asarray(x, dtype=float), self.fill)


class ActMatMul(Layer):
    """``a @ b`` of two activations (batched over leading axes): attention's ``Q K^T`` and
    ``P V``, digital, counted by the backend as multiply-accumulates."""

    def __init__(self, name: str):
        self.name = name

    def __call__(self, x, backend=FLOAT):
        a, b = _two(self.name, x)
        return backend.act_matmul(self.name, np.asarray(a, dtype=float), np.asarray(b, dtype=float))


class Sign(Layer):
    """``sign(x)`` (-1, 0, 1): a binarized network's activation; one compare per element."""

    def __init__(self, name: str):
        self.name = name

    def __call__(self, x, backend=FLOAT):
        backend.digital(self.name, "max", np.size(x))
        return np.sign(np.asarray(x, dtype=float))


class Clip(Layer):
    """``x`` clipped to ``[lo, hi]`` (either None: unbounded); one compare per element and bound."""

    def __init__(self, name: str, lo=None, hi=None):
        self.name = name
        self.lo, self.hi = (None if v is None else float(v) for v in (lo, hi))

    def __call__(self, x, backend=FLOAT):
        x = np.asarray(x, dtype=float)
        backend.digital(self.name, "max", x.size * ((self.lo is not None) + (self.hi is not None)))
        return np.clip(x, self.lo, self.hi)


class FakeQuant(Layer):
    """A QuantizeLinear -> DequantizeLinear pair on an activation, in float:
    ``(clip(round(x / s_q) + z_q, q_min, q_max) - z_d) * s_d`` (round half to even, as ONNX).
    Scales and zero points are scalars or per-channel along ``axis``. Counted as two ``mul``
    (scale, rescale) and two ``add`` (zero points) per element, plus two compares (saturation)."""

    def __init__(self, name: str, scale_q, zero_q, scale_d, zero_d, q_min: int, q_max: int, axis: int = 1):
        self.name, self.axis = name, int(axis)
        self.params = [np.asarray(v, dtype=float) for v in (scale_q, zero_q, scale_d, zero_d)]
        self.q_min, self.q_max = float(q_min), float(q_max)

    def _shaped(self, v, ndim):
        if v.ndim == 0:
            return v
        shape = [1] * ndim
        shape[self.axis % ndim] = v.size
        return v.reshape(shape)

    def __call__(self, x, backend=FLOAT):
        x = np.asarray(x, dtype=float)
        s_q, z_q, s_d, z_d = (self._shaped(v, x.ndim) for v in self.params)
        q = np.clip(np.round(x / s_q) + z_q, self.q_min, self.q_max)
        backend.digital(self.name, "mul", 2 * x.size)
        backend.digital(self.name, "add", 2 * x.size)
        backend.digital(self.name, "max", 2 * x.size)
        return (q - z_d) * s_d


class ChannelAffine(Layer):
    """``x * scale + shift`` per channel (axis 1) of (N, C, ...): a stand-alone
    BatchNormalization in inference; one ``mul`` and one ``add`` per element."""

    def __init__(self, name: str, scale, shift):
        self.name = name
        self.scale, self.shift = np.ravel(np.asarray(scale, float)), np.ravel(np.asarray(shift, float))
        if self.scale.shape != self.shift.shape:
            raise SimError(f"{name}: scale {self.scale.shape} and shift {self.shift.shape} differ")

    def __call__(self, x, backend=FLOAT):
        x = np.asarray(x, dtype=float)
        if x.ndim < 2 or x.shape[1] != self.scale.size:
            raise SimError(f"{self.name}: expected input (N, {self.scale.size}, ...), got shape {x.shape}")
        shape = (1, -1) + (1,) * (x.ndim - 2)
        backend.digital(self.name, "mul", x.size)
        backend.digital(self.name, "add", x.size)
        return x * self.scale.reshape(shape) + self.shift.reshape(shape)


class Softmax(Layer):
    """Softmax over ``axis`` (not the batch axis) through the backend's ``softmax``
    nonlinearity, which works on the last axis: moved there and back."""

    def __init__(self, name: str, axis: int):
        self.name, self.axis = name, int(axis)

    def __call__(self, x, backend=FLOAT):
        x = np.moveaxis(np.asarray(x, dtype=float), self.axis, -1)
        return np.moveaxis(backend.nonlinearity(self.name, "softmax")(x), -1, self.axis)

    def kinds(self):
        return {"softmax"}


class Reduce(Layer):
    """The ``kind`` ("sum", "mean" or "max") over ``axes`` (never the batch's), kept as size-1
    axes if ``keepdims``. Digital: an add (a compare for max) per input element and, for a
    mean, a mul per output (the division by the count), as pooling counts its windows."""

    def __init__(self, name: str, kind: str, axes, keepdims: bool = True):
        if kind not in ("sum", "mean", "max"):
            raise SimError(f"{name}: reduction must be 'sum', 'mean' or 'max', got {kind!r}")
        self.name, self.kind, self.axes, self.keepdims = name, kind, tuple(int(a) for a in axes), bool(keepdims)

    def __call__(self, x, backend=FLOAT):
        x = np.asarray(x, dtype=float)
        y = getattr(np, self.kind)(x, axis=self.axes, keepdims=self.keepdims)
        backend.digital(self.name, "max" if self.kind == "max" else "add", x.size)
        if self.kind == "mean":
            backend.digital(self.name, "mul", y.size)
        return y


class Pool2d(Layer):
    """Max or average pooling of (N, C, H, W) with any window: ``kernel`` (kh, kw),
    ``strides`` (sh, sw), ``pads`` (top, left, bottom, right); padded cells never win a max
    and, unless ``count_include_pad``, do not count in an average (ONNX's defaults). Digital:
    one compare (max) or add (average) per window element. (Windows of k x k with stride k and
    no padding run as :class:`~cimspice.sim.layers.MaxPool2d` / ``AvgPool2d``, on the pooling
    circuits the spec chooses.)"""

    def __init__(self, name: str, kind: str, kernel, strides, pads=(0, 0, 0, 0), count_include_pad: bool = False):
        if kind not in ("max", "avg"):
            raise SimError(f"{name}: pooling kind must be 'max' or 'avg', got {kind!r}")
        self.name, self.kind = name, kind
        self.kernel, self.strides = tuple(int(k) for k in kernel), tuple(int(s) for s in strides)
        self.pads, self.count_include_pad = tuple(int(p) for p in pads), bool(count_include_pad)

    def _windows(self, x, fill):
        t, l, b, r = self.pads
        x = np.pad(x, ((0, 0), (0, 0), (t, b), (l, r)), constant_values=fill)
        if x.shape[2] < self.kernel[0] or x.shape[3] < self.kernel[1]:
            raise SimError(f"{self.name}: a {self.kernel} window does not fit a padded {x.shape[2:]} input")
        win = np.lib.stride_tricks.sliding_window_view(x, self.kernel, axis=(2, 3))
        return win[:, :, ::self.strides[0], ::self.strides[1]]

    def __call__(self, x, backend=FLOAT):
        x = np.asarray(x, dtype=float)
        if x.ndim != 4:
            raise SimError(f"{self.name}: expected input (N, C, H, W), got shape {x.shape}")
        window = self.kernel[0] * self.kernel[1]
        if self.kind == "max":
            y = self._windows(x, -np.inf).max(axis=(4, 5))
            backend.digital(self.name, "max", y.size * (window - 1))
            return y
        y = self._windows(x, 0.0).sum(axis=(4, 5))
        n = window if self.count_include_pad else self._windows(np.ones((1, 1, *x.shape[2:])), 0.0).sum(axis=(4, 5))
        backend.digital(self.name, "add", y.size * window)
        return y / n


class Reshape(Layer):
    """To ``shape``, the shape at a batch of one, with the batch's N multiplied into axis
    ``axis`` (which may hold other factors: ``(8, 4, 8)`` with ``axis=1`` is (8, N*4, 8) or
    (8, 4*N, 8), as the input's row-major order has it). ``Reshape(name, (1, C, 4), 0)``:
    (N, ...) -> (N, C, 4)."""

    def __init__(self, name: str, shape, axis: int = 0):
        self.name, self.shape, self.axis = name, tuple(int(d) for d in shape), int(axis)
        if not 0 <= self.axis < len(self.shape):
            raise SimError(f"{name}: batch axis {axis} is outside shape {self.shape}")

    def __call__(self, x, backend=FLOAT):
        x = np.asarray(x)
        n, rest = divmod(x.size, max(1, int(np.prod(self.shape))))
        if rest:
            raise SimError(f"{self.name}: an input of {x.size} entries is not a batch of shape {self.shape}")
        shape = list(self.shape)
        shape[self.axis] *= n
        return x.reshape(shape)


class Transpose(Layer):
    """Axes permuted by ``perm`` (the batch's too: the layers after take it where it lands)."""

    def __init__(self, name: str, perm):
        self.name, self.perm = name, tuple(int(p) for p in perm)
        if sorted(self.perm) != list(range(len(self.perm))):
            raise SimError(f"{name}: perm {list(self.perm)} is not a permutation")

    def __call__(self, x, backend=FLOAT):
        return np.transpose(x, self.perm)


class Concat(Layer):
    """The input tensors (a tuple) joined along ``axis`` (not the batch axis)."""

    def __init__(self, name: str, axis: int):
        self.name, self.axis = name, int(axis)

    def __call__(self, x, backend=FLOAT):
        return np.concatenate(x if isinstance(x, tuple) else (x,), axis=self.axis)


class Split(Layer):
    """One tensor cut along ``axis`` into pieces of ``sizes``; returns their tuple."""

    def __init__(self, name: str, axis: int, sizes):
        self.name, self.axis, self.sizes = name, int(axis), [int(s) for s in sizes]

    def __call__(self, x, backend=FLOAT):
        x = np.asarray(x)
        if x.shape[self.axis] != sum(self.sizes):
            raise SimError(f"{self.name}: axis {self.axis} has {x.shape[self.axis]} entries, split into {self.sizes}")
        return tuple(np.split(x, np.cumsum(self.sizes)[:-1], axis=self.axis))


class Slice(Layer):
    """``x[index]`` for a tuple of slices ``index`` (the batch axis's whole)."""

    def __init__(self, name: str, index):
        self.name, self.index = name, tuple(index)

    def __call__(self, x, backend=FLOAT):
        return np.asarray(x)[self.index]


class Take(Layer):
    """ONNX Gather of an activation: the entries ``indices`` (constant ints) along ``axis``."""

    def __init__(self, name: str, indices, axis: int):
        self.name, self.indices, self.axis = name, np.asarray(indices, dtype=np.int64), int(axis)

    def __call__(self, x, backend=FLOAT):
        return np.take(np.asarray(x), self.indices, axis=self.axis)
