"""NumPy layers whose weight products and nonlinearities go through a backend.

Shapes follow PyTorch, so trained weights load without reordering: images are
``(N, C, H, W)``, sequences ``(N, T, features)``. Weight matrices are stored the way they
are multiplied, ``W: (n_in, n_out)`` with ``y = x @ W + b``; a convolution kernel is
``(out_ch, in_ch, kh, kw)`` and runs as im2col rows ``(N*Ho*Wo, in_ch*kh*kw)`` times the
kernel matrix ``(in_ch*kh*kw, out_ch)``. Biases are added digitally on every backend.

Each layer is called as ``layer(x, backend)``; :meth:`Layer.matrices` lists the weight
matrices it puts on arrays (name -> ``(n_in, n_out)``), which is what the tiling plan maps.
"""

from __future__ import annotations

import numpy as np

from .errors import SimError
from .execution import Backend, FloatBackend

__all__ = ["LSTM", "AvgPool2d", "CausalSelfAttention", "Conv2d", "Dense", "Flatten", "GPTBlock", "Layer",
           "LayerNorm", "MLPBlock", "MaxPool2d", "Activation", "Embedding", "im2col"]

FLOAT = FloatBackend()


def _array(name: str, value, ndim: int) -> np.ndarray:
    a = np.asarray(value, dtype=float)
    if a.ndim != ndim:
        raise SimError(f"{name}: expected a {ndim}-D array, got shape {a.shape}")
    return a


class Layer:
    """Base class: a named step of a network."""

    name: str = ""

    def __call__(self, x: np.ndarray, backend: Backend = FLOAT) -> np.ndarray:
        raise NotImplementedError

    def matrices(self) -> dict[str, np.ndarray]:
        """Weight matrices this layer puts on arrays, name -> (n_in, n_out)."""
        return {}

    def kinds(self) -> set[str]:
        """Nonlinearity kinds this layer itself evaluates (children report their own)."""
        return set()


class Dense(Layer):
    """``y = x @ W + b`` over the last axis; ``W: (n_in, n_out)``, ``b: (n_out,)``."""

    def __init__(self, name: str, W, b=None):
        self.name = name
        self.W = _array(f"{name}.W", W, 2)
        self.b = np.zeros(self.W.shape[1]) if b is None else _array(f"{name}.b", b, 1)
        if self.b.shape != (self.W.shape[1],):
            raise SimError(f"{name}: bias shape {self.b.shape} does not match W {self.W.shape}")

    def __call__(self, x, backend=FLOAT):
        x = np.asarray(x, dtype=float)
        if x.shape[-1] != self.W.shape[0]:
            raise SimError(f"{self.name}: input has {x.shape[-1]} features, W has {self.W.shape[0]} rows")
        lead = x.shape[:-1]
        y = backend.matvec(self.name, self.W)(x.reshape(-1, self.W.shape[0]))
        backend.digital(self.name, "add", y.size)
        return (y + self.b).reshape(*lead, self.W.shape[1])

    def matrices(self):
        return {self.name: self.W}


def _pair(name: str, value, what: str) -> tuple[int, int]:
    """``value`` (an int, or one per spatial axis) as ``(along H, along W)``."""
    v = tuple(int(a) for a in np.ravel(value))
    if len(v) == 1:
        v = v * 2
    if len(v) != 2:
        raise SimError(f"{name}: {what} must be one int or two (H, W), got {value!r}")
    return v


def _pads(name: str, value) -> tuple[int, int, int, int]:
    """``value`` (one int, or ONNX's ``(top, left, bottom, right)``) as that 4-tuple."""
    v = tuple(int(a) for a in np.ravel(value))
    if len(v) == 1:
        v = v * 4
    if len(v) != 4 or min(v) < 0:
        raise SimError(f"{name}: padding must be one int or (top, left, bottom, right) >= 0, got {value!r}")
    return v


def im2col(x: np.ndarray, kh: int, kw: int, stride=1, padding=0, dilation=1) -> tuple[np.ndarray, int, int]:
    """``x`` (N, C, H, W) -> rows (N*Ho*Wo, C*kh*kw) ordered (c, i, j), and Ho, Wo.

    ``stride`` and ``dilation``: an int or ``(along H, along W)``; ``padding``: an int or
    ``(top, left, bottom, right)`` zeros (ONNX's ``pads`` order)."""
    (sh, sw), (dh, dw) = _pair("im2col", stride, "stride"), _pair("im2col", dilation, "dilation")
    top, left, bottom, right = _pads("im2col", padding)
    if top or left or bottom or right:
        x = np.pad(x, ((0, 0), (0, 0), (top, bottom), (left, right)))
    N, C, H, W = x.shape
    eh, ew = dh * (kh - 1) + 1, dw * (kw - 1) + 1       # the dilated kernel's extent
    if H < eh or W < ew:
        raise SimError(f"im2col: a {kh}x{kw} kernel (dilation {dh}x{dw}) does not fit a padded {H}x{W} input")
    win = np.lib.stride_tricks.sliding_window_view(x, (eh, ew), axis=(2, 3))[:, :, ::sh, ::sw, ::dh, ::dw]
    Ho, Wo = win.shape[2], win.shape[3]
    return win.transpose(0, 2, 3, 1, 4, 5).reshape(N * Ho * Wo, C * kh * kw), Ho, Wo


class Conv2d(Layer):
    """2-D convolution (cross-correlation, as in PyTorch) by im2col onto weight matrices.

    ``kernel: (out_ch, in_ch / groups, kh, kw)``, ``b: (out_ch,)``; input (N, in_ch, H, W) ->
    (N, out_ch, Ho, Wo). ``stride``, ``dilation``: an int or (H, W); ``padding``: an int or
    (top, left, bottom, right). With ``groups`` g > 1 (g = in_ch: depthwise) each group's
    kernel is its own matrix ``name.g{k}`` ((in_ch/g)*kh*kw, out_ch/g), on its own arrays:
    groups share no inputs, and packing several into one array is not modelled.
    """

    def __init__(self, name: str, kernel, b=None, *, stride=1, padding=0, dilation=1, groups: int = 1):
        self.name = name
        self.kernel = _array(f"{name}.kernel", kernel, 4)
        out_ch = self.kernel.shape[0]
        self.b = np.zeros(out_ch) if b is None else _array(f"{name}.b", b, 1)
        if self.b.shape != (out_ch,):
            raise SimError(f"{name}: bias shape {self.b.shape} does not match {out_ch} output channels")
        if int(groups) < 1 or out_ch % int(groups):
            raise SimError(f"{name}: groups must be >= 1 and divide the {out_ch} output channels, got {groups}")
        strides, dilations = _pair(name, stride, "stride"), _pair(name, dilation, "dilation")
        if min(strides) < 1 or min(dilations) < 1:
            raise SimError(f"{name}: stride and dilation must be >= 1, got {stride}, {dilation}")
        _pads(name, padding)
        # as given (an int for one stride / padding on all sides), so a config round-trips
        self.stride, self.padding, self.dilation, self.groups = stride, padding, dilation, int(groups)
        per = out_ch // self.groups
        self.group_W = [self.kernel[g * per:(g + 1) * per].reshape(per, -1).T for g in range(self.groups)]
        self.W = self.group_W[0] if self.groups == 1 else None   # (in_ch*kh*kw, out_ch) with one group

    def _matrix_names(self) -> list[str]:
        return [self.name] if self.groups == 1 else [f"{self.name}.g{g}" for g in range(self.groups)]

    def __call__(self, x, backend=FLOAT):
        x = np.asarray(x, dtype=float)
        cin = self.kernel.shape[1] * self.groups
        if x.ndim != 4 or x.shape[1] != cin:
            raise SimError(f"{self.name}: expected input (N, {cin}, H, W), got {x.shape}")
        cg, ys = self.kernel.shape[1], []
        for g, (mname, W) in enumerate(zip(self._matrix_names(), self.group_W)):
            cols, Ho, Wo = im2col(x[:, g * cg:(g + 1) * cg], *self.kernel.shape[2:], self.stride, self.padding,
                                  self.dilation)
            ys.append(backend.matvec(mname, W)(cols))
        y = ys[0] if len(ys) == 1 else np.concatenate(ys, axis=1)
        backend.digital(self.name, "add", y.size)
        return (y + self.b).reshape(x.shape[0], Ho, Wo, -1).transpose(0, 3, 1, 2)

    def matrices(self):
        return dict(zip(self._matrix_names(), self.group_W))


class _Pool(Layer):
    kind = ""

    def __init__(self, name: str, k: int):
        if int(k) < 1:
            raise SimError(f"{name}: pool size must be >= 1, got {k}")
        self.name, self.k = name, int(k)

    def __call__(self, x, backend=FLOAT):
        x = np.asarray(x, dtype=float)
        if x.ndim != 4:
            raise SimError(f"{self.name}: expected input (N, C, H, W), got shape {x.shape}")
        return backend.pool(self.name, self.kind, x, self.k)


class MaxPool2d(_Pool):
    """``k`` x ``k`` max pooling with stride ``k`` (N, C, H, W) -> (N, C, H/k, W/k)."""

    kind = "max"


class AvgPool2d(_Pool):
    """``k`` x ``k`` average pooling with stride ``k``."""

    kind = "avg"


class Flatten(Layer):
    """(N, ...) -> (N, prod(...)) in C order (PyTorch's ``flatten(1)``)."""

    def __init__(self, name: str = "flatten"):
        self.name = name

    def __call__(self, x, backend=FLOAT):
        x = np.asarray(x)
        return x.reshape(x.shape[0], -1)


class Activation(Layer):
    """An element-wise nonlinearity of ``kind`` (see :data:`cimspice.sim.execution.NONLINEARITIES`)."""

    def __init__(self, name: str, kind: str):
        self.name, self.kind = name, kind

    def __call__(self, x, backend=FLOAT):
        return backend.nonlinearity(self.name, self.kind)(x)

    def kinds(self):
        return {self.kind}


class LayerNorm(Layer):
    """Layer normalisation over the last axis (digital): ``(x - mean) / sqrt(var + eps) * gamma + beta``."""

    def __init__(self, name: str, gamma, beta, eps: float = 1e-5):
        self.name = name
        self.gamma, self.beta = _array(f"{name}.gamma", gamma, 1), _array(f"{name}.beta", beta, 1)
        if self.gamma.shape != self.beta.shape:
            raise SimError(f"{name}: gamma {self.gamma.shape} and beta {self.beta.shape} differ")
        self.eps = float(eps)

    def __call__(self, x, backend=FLOAT):
        x = np.asarray(x, dtype=float)
        mu = x.mean(axis=-1, keepdims=True)
        var = ((x - mu) ** 2).mean(axis=-1, keepdims=True)
        # mean, centring, square, variance, scale, shift: ~6 digital operations per element
        backend.digital(self.name, "norm", x.size)
        return (x - mu) / np.sqrt(var + self.eps) * self.gamma + self.beta


class Embedding(Layer):
    """Token-id lookup: ``ids`` (N, T) ints -> (N, T, d); a digital memory read."""

    def __init__(self, name: str, table):
        self.name = name
        self.table = _array(f"{name}.table", table, 2)

    def __call__(self, ids, backend=FLOAT):
        ids = np.asarray(ids)
        if ids.size and (ids.min() < 0 or ids.max() >= len(self.table)):
            raise SimError(f"{self.name}: token ids must lie in [0, {len(self.table)}), got "
                           f"[{ids.min()}, {ids.max()}]")
        backend.digital(self.name, "lookup", ids.size * self.table.shape[1])
        return self.table[ids]


class LSTM(Layer):
    """One LSTM layer over a sequence, PyTorch gate order (input, forget, cell, output).

    ``W_ih: (in, 4H)``, ``W_hh: (H, 4H)`` (PyTorch's ``weight_ih_l0.T``...), ``b: (4H,)``
    (``b_ih + b_hh``). Both products run as one matrix on ``[x_t, h_{t-1}]`` (in+H, 4H);
    sigmoid and tanh go through the backend's nonlinearities, the gating products are
    digital. Input (N, T, in) -> last hidden state (N, H), or all states with
    ``return_sequences``.
    """

    def __init__(self, name: str, W_ih, W_hh, b, *, return_sequences: bool = False):
        self.name = name
        W_ih, W_hh = _array(f"{name}.W_ih", W_ih, 2), _array(f"{name}.W_hh", W_hh, 2)
        H = W_hh.shape[0]
        if W_hh.shape != (H, 4 * H) or W_ih.shape[1] != 4 * H:
            raise SimError(f"{name}: W_ih {W_ih.shape} and W_hh {W_hh.shape} are not (in, 4H) and (H, 4H)")
        self.W = np.vstack([W_ih, W_hh])
        self.b = _array(f"{name}.b", b, 1)
        if self.b.shape != (4 * H,):
            raise SimError(f"{name}: bias shape {self.b.shape}, expected ({4 * H},)")
        self.hidden, self.n_in = H, W_ih.shape[0]
        self.return_sequences = return_sequences

    def __call__(self, x, backend=FLOAT):
        x = np.asarray(x, dtype=float)
        if x.ndim != 3 or x.shape[2] != self.n_in:
            raise SimError(f"{self.name}: expected input (N, T, {self.n_in}), got shape {x.shape}")
        N, T, _ = x.shape
        H = self.hidden
        h, c = np.zeros((N, H)), np.zeros((N, H))
        gates = backend.matvec(self.name, self.W)
        sigmoid = backend.nonlinearity(self.name, "sigmoid")
        tanh = backend.nonlinearity(self.name, "tanh")
        states = []
        for t in range(T):
            z = gates(np.hstack([x[:, t], h])) + self.b
            i, f, o = sigmoid(z[:, :H]), sigmoid(z[:, H:2 * H]), sigmoid(z[:, 3 * H:])
            g = tanh(z[:, 2 * H:3 * H])
            c = f * c + i * g
            h = o * tanh(c)
            backend.digital(self.name, "add", z.size + N * H)   # bias, cell update
            backend.digital(self.name, "mul", 3 * N * H)        # f*c, i*g, o*tanh(c)
            states.append(h)
        return np.stack(states, axis=1) if self.return_sequences else h

    def kinds(self):
        return {"sigmoid", "tanh"}

    def matrices(self):
        return {self.name: self.W}


class CausalSelfAttention(Layer):
    """Multi-head causal self-attention: ``W_qkv: (d, 3d)`` (q, k, v in that order),
    ``W_o: (d, d)``. The projections are weight matrices on arrays; ``Q K^T`` and the
    attention-weighted sum of ``V`` are activation products (:meth:`Backend.act_matmul`)."""

    def __init__(self, name: str, W_qkv, b_qkv, W_o, b_o, n_heads: int):
        self.name = name
        self.qkv = Dense(f"{name}.qkv", W_qkv, b_qkv)
        self.proj = Dense(f"{name}.proj", W_o, b_o)
        d = self.proj.W.shape[0]
        if self.qkv.W.shape != (d, 3 * d) or self.proj.W.shape != (d, d):
            raise SimError(f"{name}: W_qkv {self.qkv.W.shape} / W_o {self.proj.W.shape} are not (d, 3d) / (d, d)")
        if n_heads < 1 or d % n_heads:
            raise SimError(f"{name}: d_model {d} is not divisible by n_heads {n_heads}")
        self.d, self.n_heads = d, int(n_heads)

    def __call__(self, x, backend=FLOAT):
        N, T, d = x.shape
        nh, dh = self.n_heads, d // self.n_heads
        q, k, v = np.split(self.qkv(x, backend), 3, axis=-1)
        q, k, v = (a.reshape(N, T, nh, dh).transpose(0, 2, 1, 3) for a in (q, k, v))  # (N, nh, T, dh)
        scores = backend.act_matmul(f"{self.name}.scores", q, k.transpose(0, 1, 3, 2)) / np.sqrt(dh)
        backend.digital(self.name, "mul", scores.size)
        scores = np.where(np.tril(np.ones((T, T), dtype=bool)), scores, -np.inf)
        p = backend.nonlinearity(self.name, "softmax")(scores)
        y = backend.act_matmul(f"{self.name}.mix", p, v).transpose(0, 2, 1, 3).reshape(N, T, d)
        return self.proj(y, backend)

    def kinds(self):
        return {"softmax"}

    def matrices(self):
        return {**self.qkv.matrices(), **self.proj.matrices()}


class MLPBlock(Layer):
    """``Dense -> GELU -> Dense``, the feed-forward half of a transformer block."""

    def __init__(self, name: str, W1, b1, W2, b2):
        self.name = name
        self.fc = Dense(f"{name}.fc", W1, b1)
        self.out = Dense(f"{name}.out", W2, b2)
        self.act = Activation(f"{name}.gelu", "gelu")

    def __call__(self, x, backend=FLOAT):
        return self.out(self.act(self.fc(x, backend), backend), backend)

    def matrices(self):
        return {**self.fc.matrices(), **self.out.matrices()}


class GPTBlock(Layer):
    """Pre-norm transformer block: ``x + attn(ln1(x))``, then ``x + mlp(ln2(x))``."""

    def __init__(self, name: str, ln1: LayerNorm, attn: CausalSelfAttention, ln2: LayerNorm, mlp: MLPBlock):
        self.name, self.ln1, self.attn, self.ln2, self.mlp = name, ln1, attn, ln2, mlp

    def __call__(self, x, backend=FLOAT):
        x = x + self.attn(self.ln1(x, backend), backend)
        x = x + self.mlp(self.ln2(x, backend), backend)
        backend.digital(self.name, "add", 2 * x.size)
        return x

    def matrices(self):
        return {**self.attn.matrices(), **self.mlp.matrices()}
