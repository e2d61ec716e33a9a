"""The estimator base class of the surrogate models and their shared input checks."""

from __future__ import annotations

from typing import Any, ClassVar

import h5py
import numpy as np

from ...validate import require_finite
from .._hdf5 import read_attr
from ..errors import SurrogateError


# ----------------------------------------------------------------------------- helpers
def _as_x(X, n_inputs: int | None = None, name: str = "X") -> np.ndarray:
    """``X`` as a C-contiguous float64 ``(n, n_inputs)`` array of finite values."""
    try:
        X = np.asarray(X, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise SurrogateError(f"{name} must be numeric: {exc}") from exc
    if X.ndim != 2:
        raise SurrogateError(f"{name} must be 2-D (n_points, n_inputs), got shape {X.shape}")
    if n_inputs is not None and X.shape[1] != n_inputs:
        raise SurrogateError(f"{name} has {X.shape[1]} columns, the model has {n_inputs} inputs")
    return np.ascontiguousarray(require_finite(X, name, SurrogateError))


def _as_y(y, n_points: int) -> tuple[np.ndarray, int]:
    """``y`` as float64 ``(n, n_outputs)`` and its original rank (1 or 2)."""
    y = np.asarray(y, dtype=np.float64)
    if y.ndim not in (1, 2):
        raise SurrogateError(f"y must be 1-D or 2-D, got shape {y.shape}")
    if y.shape[0] != n_points:
        raise SurrogateError(f"y has {y.shape[0]} rows, X has {n_points}")
    require_finite(y, "y (drop failed points first)", SurrogateError)
    ndim = y.ndim
    return np.ascontiguousarray(y.reshape(n_points, -1)), ndim


def _span_scaler(X: np.ndarray, center: bool) -> tuple[np.ndarray, np.ndarray]:
    """Offset and scale mapping the columns of ``X`` onto [-1, 1] (``center``) or [0, 1].

    A constant column gets scale 1 so that it maps to 0 instead of dividing by zero.
    """
    lo, hi = X.min(axis=0), X.max(axis=0)
    span = hi - lo
    if center:
        offset, scale = (lo + hi) / 2.0, span / 2.0
    else:
        offset, scale = lo.copy(), span.copy()
    scale[span == 0] = 1.0
    return offset, scale


def _std_scaler(A: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviation of the columns of ``A`` (std 1 where constant)."""
    offset = A.mean(axis=0)
    scale = A.std(axis=0)
    scale[scale == 0] = 1.0
    return offset, scale


def _maxmin_subsample(Z: np.ndarray, k: int, seed: int) -> np.ndarray:
    """Indices of ``k`` rows of ``Z`` chosen greedily far from each other (max-min
    distance, "farthest point sampling"): a space-filling subset. Sorted."""
    n = Z.shape[0]
    rng = np.random.default_rng(seed)
    chosen = np.empty(k, dtype=np.int64)
    chosen[0] = int(rng.integers(n))
    d2 = np.sum((Z - Z[chosen[0]]) ** 2, axis=1)
    for i in range(1, k):
        j = int(np.argmax(d2))
        chosen[i] = j
        np.minimum(d2, np.sum((Z - Z[j]) ** 2, axis=1), out=d2)
    return np.sort(chosen)


# -------------------------------------------------------------------------- base class
class SurrogateModel:
    """Common behaviour: parameter handling, chunked prediction, HDF5 framing.

    Subclasses set ``kind`` (the HDF5 ``kind`` attribute), ``_param_names`` and
    implement ``_fit``, ``_predict_chunk``, ``_write`` and ``_read``.
    """

    kind: ClassVar[str] = ""
    _param_names: ClassVar[tuple[str, ...]] = ()
    #: points evaluated per block in ``predict`` (keeps temporaries in cache)
    chunk_size: ClassVar[int] = 16384

    # -- scikit-learn protocol
    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """Constructor parameters, as scikit-learn's ``get_params``."""
        return {name: getattr(self, name) for name in self._param_names}

    def set_params(self, **params) -> SurrogateModel:
        """Set constructor parameters (validated again) and return ``self``."""
        current = self.get_params()
        unknown = set(params) - set(current)
        if unknown:
            raise SurrogateError(f"{type(self).__name__}: unknown parameter(s) {sorted(unknown)}")
        current.update(params)
        self.__init__(**current)
        return self

    def clone(self) -> SurrogateModel:
        """An unfitted copy with the same parameters."""
        return type(self)(**self.get_params())

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"

    @property
    def label(self) -> str:
        """Short human-readable name, e.g. ``"poly-6"``."""
        return self.kind

    def is_fitted(self) -> bool:
        return hasattr(self, "n_inputs_")

    def _check_fitted(self) -> None:
        if not self.is_fitted():
            raise SurrogateError(f"{type(self).__name__} is not fitted")

    # -- fit / predict
    def fit(self, X, y) -> SurrogateModel:
        """Fit to ``X: (n_points, n_inputs)``, ``y: (n_points,)`` or ``(n_points, n_outputs)``."""
        X = _as_x(X)
        Y, ndim = _as_y(y, X.shape[0])
        self._fit(X, Y)
        self.n_inputs_, self.n_outputs_, self.y_ndim_ = X.shape[1], Y.shape[1], ndim
        return self

    def predict(self, X) -> np.ndarray:
        """Evaluate at ``X: (n_points, n_inputs)``; returns ``(n_points,)`` if fitted on
        1-D ``y``, else ``(n_points, n_outputs)``. NumPy only."""
        self._check_fitted()
        X = _as_x(X, self.n_inputs_)
        n = X.shape[0]
        out = np.empty((n, self.n_outputs_))
        step = self.chunk_size
        for start in range(0, n, step):
            out[start : start + step] = self._predict_chunk(X[start : start + step])
        return out[:, 0] if self.y_ndim_ == 1 else out

    def predict_sklearn(self, X) -> np.ndarray:
        """Evaluate the fitted scikit-learn model (only after ``fit`` in this process)."""
        raise SurrogateError(f"{type(self).__name__} has no scikit-learn counterpart")

    def _shape_out(self, Y: np.ndarray) -> np.ndarray:
        Y = np.asarray(Y).reshape(Y.shape[0], -1)
        return Y[:, 0] if self.y_ndim_ == 1 else Y

    # -- HDF5
    def to_hdf5(self, group: h5py.Group) -> None:
        """Write the fitted model into an (empty) HDF5 group: arrays and attributes only."""
        self._check_fitted()
        group.attrs["kind"] = self.kind
        group.attrs["n_inputs"] = int(self.n_inputs_)
        group.attrs["n_outputs"] = int(self.n_outputs_)
        group.attrs["y_ndim"] = int(self.y_ndim_)
        self._write(group)

    @classmethod
    def from_hdf5(cls, group: h5py.Group) -> SurrogateModel:
        """Rebuild a fitted model written by :meth:`to_hdf5`. Raises :class:`SurrogateError`
        on a wrong kind, missing or mistyped datasets and inconsistent shapes."""
        kind = read_attr(group, "kind", "str")
        if kind != cls.kind:
            raise SurrogateError(f"{group.name}: model kind {kind!r}, expected {cls.kind!r}")
        obj = cls._read(group)
        obj.n_inputs_ = read_attr(group, "n_inputs", "int")
        obj.n_outputs_ = read_attr(group, "n_outputs", "int")
        obj.y_ndim_ = read_attr(group, "y_ndim", "int")
        if obj.n_inputs_ < 1 or obj.n_outputs_ < 1 or obj.y_ndim_ not in (1, 2):
            raise SurrogateError(f"{group.name}: bad n_inputs/n_outputs/y_ndim attributes")
        if obj.y_ndim_ == 1 and obj.n_outputs_ != 1:
            raise SurrogateError(f"{group.name}: y_ndim 1 with {obj.n_outputs_} outputs")
        obj._validate_loaded(group)
        return obj

    # -- subclass hooks
    def _fit(self, X: np.ndarray, Y: np.ndarray) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _predict_chunk(self, X: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def _write(self, group: h5py.Group) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    @classmethod
    def _read(cls, group: h5py.Group) -> SurrogateModel:  # pragma: no cover - abstract
        raise NotImplementedError

    def _validate_loaded(self, group: h5py.Group) -> None:
        """Check loaded array shapes against ``n_inputs_``/``n_outputs_``."""


def _expect_shape(group: h5py.Group, name: str, array: np.ndarray, shape: tuple) -> None:
    if array.shape != tuple(shape):
        raise SurrogateError(f"{group.name}/{name}: shape {array.shape}, expected {tuple(shape)}")


# ------------------------------------------------------------------- grid interpolation
