"""What the layers run on: one interface for float and analog execution.

A layer never multiplies a weight matrix itself. It asks its backend for a :class:`MatVec`
(``y = x @ W`` on some hardware) and for a :class:`Nonlinearity` (``relu``, ``softmax``...)
by name, and reports the digital element-wise work it does. :class:`FloatBackend` is the
reference: float64 NumPy, nothing counted. The analog backend
(:class:`cimspice.sim.backend.AnalogBackend`) answers the same calls with crossbar tiles,
ADCs and cost counters, so a network runs unchanged on either.

Products of two activations (attention's ``Q K^T`` and ``softmax(.) V``) are not weight
matrices stored in arrays: they go through :meth:`Backend.act_matmul`, which the analog
backend runs digitally and counts as multiply-accumulates (see docs/system.md).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, runtime_checkable

import numpy as np
from scipy.special import erf, expit

from .errors import SimError

__all__ = ["NONLINEARITIES", "Backend", "FloatBackend", "FloatMatVec", "FloatNonlinearity", "MatVec",
           "Nonlinearity"]


@runtime_checkable
class MatVec(Protocol):
    """A weight matrix ``W`` (n_in, n_out) programmed somewhere: ``x`` (n, n_in) -> (n, n_out)."""

    n_in: int
    n_out: int

    def __call__(self, x: np.ndarray) -> np.ndarray: ...


@runtime_checkable
class Nonlinearity(Protocol):
    """An element-wise function (or ``softmax`` over the last axis) of a given ``kind``."""

    kind: str

    def __call__(self, x: np.ndarray) -> np.ndarray: ...


def _softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - np.max(x, axis=-1, keepdims=True))
    return e / np.sum(e, axis=-1, keepdims=True)


# The exact functions: the float reference, and what a digital nonlinear unit computes.
# gelu is the erf form (PyTorch's default nn.GELU), the one the zoo's GPT was trained with.
NONLINEARITIES: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "relu": lambda x: np.maximum(x, 0.0),
    "sigmoid": expit,
    "tanh": np.tanh,
    "gelu": lambda x: 0.5 * x * (1.0 + erf(x / np.sqrt(2.0))),
    "exp": np.exp,
    "softmax": _softmax,
}


class FloatMatVec:
    """``x @ W`` in float64."""

    def __init__(self, W: np.ndarray):
        W = np.asarray(W, dtype=float)
        if W.ndim != 2:
            raise SimError(f"MatVec: W must be (n_in, n_out), got shape {W.shape}")
        self.W = W
        self.n_in, self.n_out = W.shape

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(x, dtype=float) @ self.W


class FloatNonlinearity:
    """The exact function of ``kind`` (one of :data:`NONLINEARITIES`)."""

    def __init__(self, kind: str):
        if kind not in NONLINEARITIES:
            raise SimError(f"nonlinearity: unknown kind {kind!r}; known: {sorted(NONLINEARITIES)}")
        self.kind = kind
        self._f = NONLINEARITIES[kind]

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return self._f(np.asarray(x, dtype=float))


def pool_windows(name: str, x: np.ndarray, k: int) -> np.ndarray:
    """The ``k`` x ``k`` windows of ``x`` (N, C, H, W) with stride ``k`` as a view
    (N, C, H/k, k, W/k, k)."""
    N, C, H, W = x.shape
    if H % k or W % k:
        raise SimError(f"{name}: {k}x{k} pooling needs H and W divisible by {k}, got {H}x{W}")
    return x.reshape(N, C, H // k, k, W // k, k)


class Backend:
    """Base class of what layers call. Subclasses override the factories and counters.

    Every method takes the ``name`` of the layer (or weight) asking, so a backend can keep
    per-layer state (programmed arrays, cost ledgers) and report per layer.
    """

    def __init__(self):
        self._matvecs: dict[str, MatVec] = {}
        self._nonlinearities: dict[str, Nonlinearity] = {}
        self.batch = 1

    def begin(self, batch: int) -> None:
        """A forward pass over ``batch`` network inputs starts (costs are per inference)."""
        self.batch = int(batch)

    def matvec(self, name: str, W: np.ndarray) -> MatVec:
        """The :class:`MatVec` of weight matrix ``name``, created on first use."""
        m = self._matvecs.get(name)
        if m is None:
            m = self._matvecs[name] = self.make_matvec(name, np.asarray(W, dtype=float))
        elif (m.n_in, m.n_out) != np.shape(W):
            raise SimError(f"{name}: weight shape {np.shape(W)} differs from the programmed ({m.n_in}, {m.n_out})")
        return m

    def nonlinearity(self, name: str, kind: str) -> Nonlinearity:
        key = f"{name}:{kind}"
        f = self._nonlinearities.get(key)
        if f is None:
            f = self._nonlinearities[key] = self.make_nonlinearity(name, kind)
        return f

    def make_matvec(self, name: str, W: np.ndarray) -> MatVec:
        raise NotImplementedError

    def make_nonlinearity(self, name: str, kind: str) -> Nonlinearity:
        raise NotImplementedError

    def act_matmul(self, name: str, A: np.ndarray, B: np.ndarray) -> np.ndarray:
        """``A @ B`` for two activations (batched over leading axes)."""
        return np.matmul(A, B)

    def digital(self, name: str, op: str, count: int) -> None:
        """``count`` digital element-wise operations of kind ``op`` ("add", "mul", "max",
        "norm", "lookup") done by layer ``name``; the float backend ignores them."""

    def pool(self, name: str, kind: str, x: np.ndarray, k: int) -> np.ndarray:
        """``k`` x ``k`` pooling of ``x`` (N, C, H, W); ``kind`` "max" or "avg"."""
        v = pool_windows(name, x, k)
        return v.max(axis=(3, 5)) if kind == "max" else v.mean(axis=(3, 5))


class FloatBackend(Backend):
    """The float64 NumPy reference every analog result is compared with. Stateless: one
    instance serves any number of networks."""

    def matvec(self, name, W):
        return FloatMatVec(W)

    def make_matvec(self, name, W):
        return FloatMatVec(W)

    def make_nonlinearity(self, name, kind):
        return FloatNonlinearity(kind)
