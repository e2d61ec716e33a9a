"""Regression models for surrogates, scikit-learn style, evaluated in NumPy.

Every estimator here has ``fit(X, y)`` and ``predict(X)`` with

* ``X``: float array ``(n_points, n_inputs)`` in the units the caller fits in (a
  :class:`~cimspice.surrogate.core.Surrogate` passes log10 of log-scaled inputs);
* ``y``: ``(n_points,)`` for one output or ``(n_points, n_outputs)``; ``predict``
  returns the same rank it was fitted with.

Fitting may use scikit-learn (imported only then); ``predict`` uses NumPy alone (plus
``scipy.special.expit`` for a logistic MLP), so a fitted model reloaded from HDF5 runs
without scikit-learn. After ``fit``, ``sklearn_model_`` holds the fitted scikit-learn
object (where one is used) and ``predict_sklearn(X)`` evaluates it: the NumPy path
reproduces it to floating-point precision (tested).

``to_hdf5(group)`` writes numeric datasets and plain attributes only; ``from_hdf5(group)``
reads them back with dtype and shape checks. :func:`model_from_hdf5` dispatches on the
group's ``kind`` attribute through :data:`MODEL_KINDS` (a fixed table: nothing in a file
names code to run).
"""

from __future__ import annotations

import itertools
import math
from typing import Any, ClassVar, Sequence

import h5py
import numpy as np

from ._hdf5 import read_attr, read_dataset, write_dataset
from .errors import SurrogateError

__all__ = [
    "GaussianProcess",
    "GridInterpolator",
    "MLP",
    "MODEL_KINDS",
    "PolynomialRidge",
    "SurrogateModel",
    "model_from_hdf5",
]


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
    if not np.all(np.isfinite(X)):
        raise SurrogateError(f"{name} contains NaN or infinite values")
    return np.ascontiguousarray(X)


def _as_y(y, n_points: int) -> tuple[np.ndarray, int]:
    """``y`` as float64 ``(n, n_outputs)`` and its original rank (1 or 2)."""
    y = np.asarray(y, dtype=np.float64)
    if y.ndim not in (1, 2):
        raise SurrogateError(f"y must be 1-D or 2-D, got shape {y.shape}")
    if y.shape[0] != n_points:
        raise SurrogateError(f"y has {y.shape[0]} rows, X has {n_points}")
    if not np.all(np.isfinite(y)):
        raise SurrogateError("y contains NaN or infinite values (drop failed points first)")
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


def _check_positive_int(value, name: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise SurrogateError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _check_nonneg_float(value, name: str) -> float:
    try:
        value = float(value)
    except (TypeError, ValueError) as exc:
        raise SurrogateError(f"{name} must be a number, got {value!r}") from exc
    if not (value >= 0 and math.isfinite(value)):
        raise SurrogateError(f"{name} must be finite and >= 0, got {value!r}")
    return value


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

    def set_params(self, **params) -> "SurrogateModel":
        """Set constructor parameters (validated again) and return ``self``."""
        current = self.get_params()
        unknown = set(params) - set(current)
        if unknown:
            raise SurrogateError(f"{type(self).__name__}: unknown parameter(s) {sorted(unknown)}")
        current.update(params)
        self.__init__(**current)
        return self

    def clone(self) -> "SurrogateModel":
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
    def fit(self, X, y) -> "SurrogateModel":
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
    def from_hdf5(cls, group: h5py.Group) -> "SurrogateModel":
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
    def _read(cls, group: h5py.Group) -> "SurrogateModel":  # pragma: no cover - abstract
        raise NotImplementedError

    def _validate_loaded(self, group: h5py.Group) -> None:
        """Check loaded array shapes against ``n_inputs_``/``n_outputs_``."""


def _expect_shape(group: h5py.Group, name: str, array: np.ndarray, shape: tuple) -> None:
    if array.shape != tuple(shape):
        raise SurrogateError(f"{group.name}/{name}: shape {array.shape}, expected {tuple(shape)}")


# ------------------------------------------------------------------- grid interpolation
def _cubic_cell_matrix(x: np.ndarray) -> np.ndarray:
    """Per-cell power coefficients of the not-a-knot cubic spline through ``(x, y)`` as a
    linear map of ``y``: ``M: (n-1, 4, n)`` so that on cell ``i`` with ``t = (u - x[i]) /
    (x[i+1] - x[i])`` the spline is ``sum_p (M[i, p] @ y) t**p``.

    The same spline as ``scipy.interpolate.CubicSpline(x, y, bc_type="not-a-knot")`` (and
    ``RegularGridInterpolator(method="cubic")`` per axis): 2 points give a line, 3 points
    the parabola, 4 or more reproduce any cubic exactly.
    """
    n = x.size
    h = np.diff(x)
    eye = np.eye(n)
    delta = (eye[1:] - eye[:-1]) / h[:, None]  # (n-1, n): slopes of the data as maps of y
    A = np.zeros((n, n))
    B = np.zeros((n, n))
    if n == 2:
        A[:] = np.eye(2)
        B[0] = B[1] = delta[0]
    elif n == 3:
        A[0, :2] = 1.0
        B[0] = 2 * delta[0]
        A[1] = [h[1], 2 * (h[0] + h[1]), h[0]]
        B[1] = 3 * (h[1] * delta[0] + h[0] * delta[1])
        A[2, 1:] = 1.0
        B[2] = 2 * delta[1]
    else:
        for i in range(1, n - 1):
            A[i, i - 1], A[i, i], A[i, i + 1] = h[i], 2 * (h[i - 1] + h[i]), h[i - 1]
            B[i] = 3 * (h[i] * delta[i - 1] + h[i - 1] * delta[i])
        d = x[2] - x[0]
        A[0, 0], A[0, 1] = h[1], d
        B[0] = ((h[0] + 2 * d) * h[1] * delta[0] + h[0] ** 2 * delta[1]) / d
        d = x[-1] - x[-3]
        A[-1, -2], A[-1, -1] = d, h[-2]
        B[-1] = (h[-1] ** 2 * delta[-2] + (2 * d + h[-1]) * h[-2] * delta[-1]) / d
    S = np.linalg.solve(A, B)  # slopes m = S @ y
    M = np.empty((n - 1, 4, n))
    hS0, hS1 = h[:, None] * S[:-1], h[:, None] * S[1:]
    M[:, 0] = eye[:-1]
    M[:, 1] = hS0
    M[:, 2] = 3 * (eye[1:] - eye[:-1]) - 2 * hS0 - hS1
    M[:, 3] = 2 * (eye[:-1] - eye[1:]) + hS0 + hS1
    return M


class GridInterpolator(SurrogateModel):
    """Tensor-product interpolation on a full rectilinear grid (the NLDM-table idea).

    Parameters
    ----------
    method : {"linear", "cubic"}
        ``"linear"``: multilinear, exact for functions linear in each input.
        ``"cubic"``: tensor-product not-a-knot cubic spline (the same spline as SciPy's
        ``RegularGridInterpolator(method="cubic")``), exact for polynomials of degree <= 3
        in each input when every axis has >= 4 points. Its per-cell coefficients
        (``4**n_inputs`` per cell) are computed from the grid values at fit/load time.

    ``fit(X, y)`` accepts the grid as scattered points (every node exactly once, any
    order; the axes are the sorted unique values of each column) and ``fit_grid(axes,
    values)`` accepts it directly. Outside the grid the end cells' polynomials are
    extended: the :class:`~cimspice.surrogate.core.Surrogate` wrapper is what stops
    extrapolation.

    Fitted attributes: ``axes_`` (list of ``(n_j,)`` arrays), ``values_`` (``(n_0, ...,
    n_{d-1}, n_outputs)``).
    """

    kind = "grid"
    _param_names = ("method",)
    chunk_size = 8192
    #: refuse cubic coefficient tables larger than this many float64 numbers (~400 MB)
    max_cubic_coefficients: ClassVar[int] = 50_000_000

    def __init__(self, method: str = "linear"):
        if method not in ("linear", "cubic"):
            raise SurrogateError(f"GridInterpolator: method must be 'linear' or 'cubic', got {method!r}")
        self.method = method

    @property
    def label(self) -> str:
        return f"grid-{self.method}"

    # -- fitting
    def _fit(self, X: np.ndarray, Y: np.ndarray) -> None:
        axes = [np.unique(X[:, j]) for j in range(X.shape[1])]
        shape = tuple(a.size for a in axes)
        n_nodes = math.prod(shape)
        if X.shape[0] != n_nodes:
            raise SurrogateError(
                f"GridInterpolator: {X.shape[0]} points do not fill a full grid "
                f"({'x'.join(map(str, shape))} = {n_nodes} nodes)"
            )
        index = tuple(np.searchsorted(a, X[:, j]) for j, a in enumerate(axes))
        flat = np.ravel_multi_index(index, shape)
        if np.unique(flat).size != n_nodes:
            raise SurrogateError("GridInterpolator: points do not fill a full grid (repeated nodes)")
        values = np.empty((n_nodes, Y.shape[1]))
        values[flat] = Y
        self._set_grid(axes, values.reshape(shape + (Y.shape[1],)))

    def fit_grid(self, axes: Sequence, values) -> "GridInterpolator":
        """Fit from the grid itself.

        ``axes``: one strictly increasing 1-D array per input, ``(n_j,)``; ``values``:
        ``(n_0, ..., n_{d-1})`` for one output or ``(n_0, ..., n_{d-1}, n_outputs)``.
        """
        axes = [np.asarray(a, dtype=np.float64) for a in axes]
        values = np.asarray(values, dtype=np.float64)
        shape = tuple(a.size for a in axes)
        if values.shape == shape:
            ndim, values = 1, values[..., None]
        elif values.ndim == len(shape) + 1 and values.shape[:-1] == shape:
            ndim = 2
        else:
            raise SurrogateError(f"GridInterpolator: values shape {values.shape} does not match axes {shape}")
        if not np.all(np.isfinite(values)):
            raise SurrogateError("GridInterpolator: values contain NaN or infinite entries")
        self._set_grid(axes, values)
        self.n_inputs_, self.n_outputs_, self.y_ndim_ = len(axes), values.shape[-1], ndim
        return self

    def _set_grid(self, axes: list[np.ndarray], values: np.ndarray) -> None:
        for j, a in enumerate(axes):
            if a.ndim != 1 or a.size < 2:
                raise SurrogateError(f"GridInterpolator: axis {j} needs at least 2 points, has {a.size}")
            if not (np.all(np.isfinite(a)) and np.all(np.diff(a) > 0)):
                raise SurrogateError(f"GridInterpolator: axis {j} must be finite and strictly increasing")
        self.axes_ = [np.ascontiguousarray(a) for a in axes]
        self.values_ = np.ascontiguousarray(values)
        d, k = len(axes), values.shape[-1]
        self._strides = np.array([math.prod(values.shape[j + 1 : d]) for j in range(d)], dtype=np.int64)
        self._flat_values = values.reshape(-1, k)
        self._h = [np.diff(a) for a in self.axes_]
        if self.method == "cubic":
            cells = tuple(a.size - 1 for a in axes)
            n_coef = math.prod(cells) * 4**d * k
            if n_coef > self.max_cubic_coefficients:
                raise SurrogateError(
                    f"GridInterpolator: cubic table would hold {n_coef:.3g} numbers "
                    f"(> {self.max_cubic_coefficients:.3g}); use method='linear' or a coarser grid"
                )
            T = values
            for a in self.axes_:  # contract the leading raw axis each time
                T = np.tensordot(T, _cubic_cell_matrix(a), axes=([0], [2]))
            # T axes: (k, c0, p0, c1, p1, ...) -> (c0, c1, ..., k, p0, p1, ...): one
            # contiguous row of k * 4**d coefficients per cell
            order = [1 + 2 * j for j in range(d)] + [0] + [2 + 2 * j for j in range(d)]
            C = np.ascontiguousarray(np.transpose(T, order)).reshape(math.prod(cells), k * 4**d)
            self._coef = C
            self._cell_strides = np.array([math.prod(cells[j + 1 :]) for j in range(d)], dtype=np.int64)

    # -- evaluation
    def _locate(self, X: np.ndarray) -> tuple[list[np.ndarray], list[np.ndarray]]:
        idx, t = [], []
        for j, a in enumerate(self.axes_):
            x = X[:, j]
            i = np.searchsorted(a, x, side="right") - 1
            np.clip(i, 0, a.size - 2, out=i)
            idx.append(i)
            t.append((x - a[i]) / self._h[j][i])
        return idx, t

    def _predict_chunk(self, X: np.ndarray) -> np.ndarray:
        idx, t = self._locate(X)
        d = len(idx)
        if self.method == "linear":
            base = idx[0] * self._strides[0]
            for j in range(1, d):
                base = base + idx[j] * self._strides[j]
            out = np.zeros((X.shape[0], self._flat_values.shape[1]))
            for corner in itertools.product((0, 1), repeat=d):
                w = t[0] if corner[0] else 1.0 - t[0]
                offset = corner[0] * self._strides[0]
                for j in range(1, d):
                    w = w * (t[j] if corner[j] else 1.0 - t[j])
                    offset += corner[j] * self._strides[j]
                out += w[:, None] * self._flat_values[base + offset]
            return out
        cell = idx[0] * self._cell_strides[0]
        for j in range(1, d):
            cell = cell + idx[j] * self._cell_strides[j]
        m = X.shape[0]
        R = self._coef[cell].reshape(m, -1, 4)  # (m, k * 4**(d-1), 4): last axis = power of t[d-1]
        for j in reversed(range(d)):  # Horner along one axis at a time
            a = t[j][:, None]
            r = R[:, :, 3] * a
            r += R[:, :, 2]
            r *= a
            r += R[:, :, 1]
            r *= a
            r += R[:, :, 0]
            R = r.reshape(m, -1, 4) if j > 0 else r
        return R  # (m, k)

    # -- HDF5
    def _write(self, group: h5py.Group) -> None:
        group.attrs["method"] = self.method
        for j, a in enumerate(self.axes_):
            write_dataset(group, f"axis_{j}", a)
        write_dataset(group, "values", self.values_)

    @classmethod
    def _read(cls, group: h5py.Group) -> "GridInterpolator":
        obj = cls(method=read_attr(group, "method", "str"))
        d = read_attr(group, "n_inputs", "int")
        if d < 1:
            raise SurrogateError(f"{group.name}: n_inputs must be >= 1")
        axes = [read_dataset(group, f"axis_{j}", "f", ndim=1) for j in range(d)]
        values = read_dataset(group, "values", "f", ndim=d + 1)
        if values.shape[:-1] != tuple(a.size for a in axes):
            raise SurrogateError(f"{group.name}/values: shape {values.shape} does not match the axes")
        try:
            obj._set_grid(axes, values)
        except SurrogateError as exc:
            raise SurrogateError(f"{group.name}: {exc}") from None
        return obj

    def _validate_loaded(self, group: h5py.Group) -> None:
        if self.values_.shape[-1] != self.n_outputs_:
            raise SurrogateError(f"{group.name}/values: last dimension != n_outputs")


# --------------------------------------------------------------------- polynomial ridge
def _canonical_powers(n_inputs: int, degree: int) -> tuple[np.ndarray, list[tuple[int, int, int]]]:
    """Exponents of scikit-learn's ``PolynomialFeatures(degree, include_bias=False)`` and
    the recipe building them: a list of ``(dest_start, src_start, src_end, input)``
    meaning ``F[dest_start : dest_start + src_end - src_start] = F[src_start:src_end] *
    x[input]`` (the same multiplications scikit-learn performs)."""
    index = list(range(n_inputs)) + [n_inputs]
    current = n_inputs
    recipe = []
    powers = list(np.eye(n_inputs, dtype=np.int64))
    for _ in range(2, degree + 1):
        new_index = []
        end = index[-1]
        for j in range(n_inputs):
            start = index[j]
            new_index.append(current)
            nxt = current + end - start
            if nxt <= current:
                break
            recipe.append((current, start, end, j))
            for r in range(start, end):
                p = powers[r].copy()
                p[j] += 1
                powers.append(p)
            current = nxt
        new_index.append(current)
        index = new_index
    return np.array(powers, dtype=np.int64).reshape(-1, n_inputs), recipe


class PolynomialRidge(SurrogateModel):
    """Polynomial of total degree ``degree`` fitted by ridge regression.

    Inputs are mapped onto [-1, 1] with the training minimum and maximum before the
    monomials are formed (``x_offset``, ``x_scale``). Fitted with scikit-learn's
    ``PolynomialFeatures(include_bias=False)`` + ``Ridge(alpha, solver="svd")``; evaluated
    in NumPy from the exponent matrix ``powers_: (n_terms, n_inputs)``, ``coef_:
    (n_outputs, n_terms)`` and ``intercept_: (n_outputs,)``.

    Parameters
    ----------
    degree : int >= 1
    alpha : float >= 0
        Ridge penalty on the coefficients of the scaled monomials (dimensionless).
    """

    kind = "poly_ridge"
    _param_names = ("degree", "alpha")
    chunk_size = 8192

    def __init__(self, degree: int = 4, alpha: float = 1e-8):
        self.degree = _check_positive_int(degree, "PolynomialRidge: degree")
        self.alpha = _check_nonneg_float(alpha, "PolynomialRidge: alpha")

    @property
    def label(self) -> str:
        return f"poly-{self.degree}"

    def _fit(self, X: np.ndarray, Y: np.ndarray) -> None:
        from sklearn.linear_model import Ridge
        from sklearn.preprocessing import PolynomialFeatures

        self.x_offset_, self.x_scale_ = _span_scaler(X, center=True)
        Z = (X - self.x_offset_) / self.x_scale_
        features = PolynomialFeatures(degree=self.degree, include_bias=False)
        F = features.fit_transform(Z)
        if X.shape[0] <= F.shape[1]:
            raise SurrogateError(
                f"PolynomialRidge: degree {self.degree} has {F.shape[1] + 1} coefficients, "
                f"more than the {X.shape[0]} training points"
            )
        ridge = Ridge(alpha=self.alpha, fit_intercept=True, solver="svd")
        ridge.fit(F, Y if Y.shape[1] > 1 else Y[:, 0])
        self.sklearn_model_ = (features, ridge)
        self.powers_ = np.asarray(features.powers_, dtype=np.int64)
        self.coef_ = np.atleast_2d(np.asarray(ridge.coef_, dtype=np.float64))
        self.intercept_ = np.atleast_1d(np.asarray(ridge.intercept_, dtype=np.float64))
        self._prepare()

    def _prepare(self) -> None:
        canonical, recipe = _canonical_powers(self.powers_.shape[1], int(self.powers_.sum(axis=1).max()))
        self._recipe = recipe if np.array_equal(canonical, self.powers_) else None
        self._coef_t = np.ascontiguousarray(self.coef_.T)

    def predict_sklearn(self, X) -> np.ndarray:
        self._check_fitted()
        if not hasattr(self, "sklearn_model_"):
            raise SurrogateError("predict_sklearn: only available right after fit")
        X = _as_x(X, self.n_inputs_)
        features, ridge = self.sklearn_model_
        return self._shape_out(ridge.predict(features.transform((X - self.x_offset_) / self.x_scale_)))

    def _features(self, Z: np.ndarray) -> np.ndarray:
        """Monomials ``(n_terms, m)`` of the scaled inputs ``Z: (m, n_inputs)``."""
        n_terms, d = self.powers_.shape
        Zt = np.ascontiguousarray(Z.T)
        F = np.empty((n_terms, Z.shape[0]))
        if self._recipe is not None:  # scikit-learn's own product order: 1 multiply per term
            F[:d] = Zt
            for dest, start, end, j in self._recipe:
                np.multiply(F[start:end], Zt[j], out=F[dest : dest + end - start])
            return F
        max_p = int(self.powers_.max())
        P = np.empty((d, max_p + 1, Z.shape[0]))
        P[:, 0] = 1.0
        for p in range(1, max_p + 1):
            P[:, p] = P[:, p - 1] * Zt
        F[:] = P[0, self.powers_[:, 0]]
        for j in range(1, d):
            F *= P[j, self.powers_[:, j]]
        return F

    def _predict_chunk(self, X: np.ndarray) -> np.ndarray:
        F = self._features((X - self.x_offset_) / self.x_scale_)
        return F.T @ self._coef_t + self.intercept_

    def _write(self, group: h5py.Group) -> None:
        group.attrs["degree"] = self.degree
        group.attrs["alpha"] = self.alpha
        write_dataset(group, "x_offset", self.x_offset_)
        write_dataset(group, "x_scale", self.x_scale_)
        write_dataset(group, "powers", self.powers_, dtype=np.int64)
        write_dataset(group, "coef", self.coef_)
        write_dataset(group, "intercept", self.intercept_)

    @classmethod
    def _read(cls, group: h5py.Group) -> "PolynomialRidge":
        try:
            obj = cls(degree=read_attr(group, "degree", "int"), alpha=read_attr(group, "alpha", "float"))
        except SurrogateError as exc:
            raise SurrogateError(f"{group.name}: {exc}") from None
        obj.x_offset_ = read_dataset(group, "x_offset", "f", ndim=1)
        obj.x_scale_ = read_dataset(group, "x_scale", "f", ndim=1)
        obj.powers_ = read_dataset(group, "powers", "iu", ndim=2)
        obj.coef_ = read_dataset(group, "coef", "f", ndim=2)
        obj.intercept_ = read_dataset(group, "intercept", "f", ndim=1)
        return obj

    def _validate_loaded(self, group: h5py.Group) -> None:
        d, k = self.n_inputs_, self.n_outputs_
        _expect_shape(group, "x_offset", self.x_offset_, (d,))
        _expect_shape(group, "x_scale", self.x_scale_, (d,))
        n_terms = self.powers_.shape[0]
        _expect_shape(group, "powers", self.powers_, (n_terms, d))
        _expect_shape(group, "coef", self.coef_, (k, n_terms))
        _expect_shape(group, "intercept", self.intercept_, (k,))
        if n_terms == 0 or self.powers_.min() < 0 or self.powers_.sum(axis=1).max() > self.degree:
            raise SurrogateError(f"{group.name}/powers: exponents inconsistent with degree {self.degree}")
        if np.any(self.x_scale_ == 0):
            raise SurrogateError(f"{group.name}/x_scale: zero scale")
        self._prepare()


# --------------------------------------------------------------------- Gaussian process
class GaussianProcess(SurrogateModel):
    """Gaussian-process regression (posterior mean) for small data sets.

    Inputs are mapped onto [0, 1]; the kernel is ``ConstantKernel * Matern(nu)`` (or
    ``* RBF``) with one length scale per input, plus a ``WhiteKernel`` for simulator noise;
    ``y`` is normalised (scikit-learn ``normalize_y=True``). When there are more than
    ``max_points`` training points, a space-filling subset of ``max_points`` is used
    (greedy max-min distance in the scaled inputs, seeded by ``random_state``).

    Exported for NumPy evaluation: ``x_train`` (scaled, ``(n_train, n_inputs)``),
    ``alpha`` (``(n_train, n_outputs)``), ``length_scale`` (``(n_inputs,)``),
    ``constant_value``, ``y_mean``/``y_std`` (``(n_outputs,)``). The white-noise level is
    recorded but does not enter the posterior mean at new points.

    Parameters
    ----------
    kernel : {"matern", "rbf"}
    nu : {0.5, 1.5, 2.5}
        Matern smoothness (ignored for "rbf").
    max_points : int
        Largest training set used (fit cost grows as its cube).
    n_restarts_optimizer : int >= 0
    random_state : int
    """

    kind = "gp"
    _param_names = ("kernel", "nu", "max_points", "n_restarts_optimizer", "random_state")
    chunk_size = 2048

    def __init__(
        self,
        kernel: str = "matern",
        nu: float = 2.5,
        max_points: int = 800,
        n_restarts_optimizer: int = 0,
        random_state: int = 0,
    ):
        if kernel not in ("matern", "rbf"):
            raise SurrogateError(f"GaussianProcess: kernel must be 'matern' or 'rbf', got {kernel!r}")
        if float(nu) not in (0.5, 1.5, 2.5):
            raise SurrogateError(f"GaussianProcess: nu must be 0.5, 1.5 or 2.5, got {nu!r}")
        self.kernel = kernel
        self.nu = float(nu)
        self.max_points = _check_positive_int(max_points, "GaussianProcess: max_points", 2)
        self.n_restarts_optimizer = _check_positive_int(n_restarts_optimizer, "GaussianProcess: n_restarts_optimizer", 0)
        self.random_state = _check_positive_int(random_state, "GaussianProcess: random_state", 0)

    @property
    def label(self) -> str:
        return "gp-rbf" if self.kernel == "rbf" else f"gp-matern{self.nu:g}"

    def _fit(self, X: np.ndarray, Y: np.ndarray) -> None:
        from sklearn.gaussian_process import GaussianProcessRegressor
        from sklearn.gaussian_process.kernels import RBF, ConstantKernel, Matern, WhiteKernel

        self.x_offset_, self.x_scale_ = _span_scaler(X, center=False)
        Z = (X - self.x_offset_) / self.x_scale_
        if Z.shape[0] > self.max_points:
            keep = _maxmin_subsample(Z, self.max_points, self.random_state)
            Z, Y = Z[keep], Y[keep]
        d = X.shape[1]
        if self.kernel == "rbf":
            base = RBF(length_scale=np.full(d, 0.5), length_scale_bounds=(1e-3, 1e3))
        else:
            base = Matern(length_scale=np.full(d, 0.5), length_scale_bounds=(1e-3, 1e3), nu=self.nu)
        kernel = ConstantKernel(1.0, (1e-4, 1e6)) * base + WhiteKernel(1e-6, (1e-12, 1e-1))
        gpr = GaussianProcessRegressor(
            kernel=kernel,
            normalize_y=True,
            n_restarts_optimizer=self.n_restarts_optimizer,
            random_state=self.random_state,
        )
        gpr.fit(Z, Y if Y.shape[1] > 1 else Y[:, 0])
        self.sklearn_model_ = gpr
        k = gpr.kernel_
        self.constant_value_ = float(k.k1.k1.constant_value)
        self.length_scale_ = np.broadcast_to(np.asarray(k.k1.k2.length_scale, dtype=np.float64), (d,)).copy()
        self.noise_level_ = float(k.k2.noise_level)
        self.x_train_ = np.ascontiguousarray(gpr.X_train_, dtype=np.float64)
        self.alpha_ = np.asarray(gpr.alpha_, dtype=np.float64).reshape(self.x_train_.shape[0], -1)
        self.y_mean_ = np.atleast_1d(np.asarray(gpr._y_train_mean, dtype=np.float64)).copy()
        self.y_std_ = np.atleast_1d(np.asarray(gpr._y_train_std, dtype=np.float64)).copy()
        self._prepare()

    def _prepare(self) -> None:
        self._train_scaled = np.ascontiguousarray(self.x_train_ / self.length_scale_)

    def predict_sklearn(self, X) -> np.ndarray:
        self._check_fitted()
        if not hasattr(self, "sklearn_model_"):
            raise SurrogateError("predict_sklearn: only available right after fit")
        X = _as_x(X, self.n_inputs_)
        return self._shape_out(self.sklearn_model_.predict((X - self.x_offset_) / self.x_scale_))

    def _predict_chunk(self, X: np.ndarray) -> np.ndarray:
        A = ((X - self.x_offset_) / self.x_scale_) / self.length_scale_
        B = self._train_scaled
        d2 = np.zeros((A.shape[0], B.shape[0]))
        for j in range(A.shape[1]):  # same summation order as scipy's cdist
            diff = A[:, j, None] - B[None, :, j]
            d2 += diff * diff
        if self.kernel == "rbf":
            K = np.exp(-0.5 * d2)
        else:
            r = np.sqrt(d2)
            if self.nu == 0.5:
                K = np.exp(-r)
            elif self.nu == 1.5:
                r *= math.sqrt(3)
                K = (1.0 + r) * np.exp(-r)
            else:
                r *= math.sqrt(5)
                K = (1.0 + r + r**2 / 3.0) * np.exp(-r)
        K = self.constant_value_ * K
        if self.alpha_.shape[1] == 1:  # matrix-vector product, as scikit-learn does
            mean = (K @ self.alpha_[:, 0])[:, None]
        else:
            mean = K @ self.alpha_
        return self.y_std_ * mean + self.y_mean_

    def _write(self, group: h5py.Group) -> None:
        group.attrs["kernel"] = self.kernel
        group.attrs["nu"] = self.nu
        group.attrs["max_points"] = self.max_points
        group.attrs["n_restarts_optimizer"] = self.n_restarts_optimizer
        group.attrs["random_state"] = self.random_state
        group.attrs["constant_value"] = self.constant_value_
        group.attrs["noise_level"] = self.noise_level_
        write_dataset(group, "x_offset", self.x_offset_)
        write_dataset(group, "x_scale", self.x_scale_)
        write_dataset(group, "x_train", self.x_train_)
        write_dataset(group, "alpha", self.alpha_)
        write_dataset(group, "length_scale", self.length_scale_)
        write_dataset(group, "y_mean", self.y_mean_)
        write_dataset(group, "y_std", self.y_std_)

    @classmethod
    def _read(cls, group: h5py.Group) -> "GaussianProcess":
        try:
            obj = cls(
                kernel=read_attr(group, "kernel", "str"),
                nu=read_attr(group, "nu", "float"),
                max_points=read_attr(group, "max_points", "int"),
                n_restarts_optimizer=read_attr(group, "n_restarts_optimizer", "int"),
                random_state=read_attr(group, "random_state", "int"),
            )
        except SurrogateError as exc:
            raise SurrogateError(f"{group.name}: {exc}") from None
        obj.constant_value_ = read_attr(group, "constant_value", "float")
        obj.noise_level_ = read_attr(group, "noise_level", "float")
        obj.x_offset_ = read_dataset(group, "x_offset", "f", ndim=1)
        obj.x_scale_ = read_dataset(group, "x_scale", "f", ndim=1)
        obj.x_train_ = read_dataset(group, "x_train", "f", ndim=2)
        obj.alpha_ = read_dataset(group, "alpha", "f", ndim=2)
        obj.length_scale_ = read_dataset(group, "length_scale", "f", ndim=1)
        obj.y_mean_ = read_dataset(group, "y_mean", "f", ndim=1)
        obj.y_std_ = read_dataset(group, "y_std", "f", ndim=1)
        return obj

    def _validate_loaded(self, group: h5py.Group) -> None:
        d, k = self.n_inputs_, self.n_outputs_
        n = self.x_train_.shape[0]
        for name, arr, shape in (
            ("x_offset", self.x_offset_, (d,)),
            ("x_scale", self.x_scale_, (d,)),
            ("x_train", self.x_train_, (n, d)),
            ("alpha", self.alpha_, (n, k)),
            ("length_scale", self.length_scale_, (d,)),
            ("y_mean", self.y_mean_, (k,)),
            ("y_std", self.y_std_, (k,)),
        ):
            _expect_shape(group, name, arr, shape)
        if np.any(self.length_scale_ <= 0) or np.any(self.x_scale_ == 0):
            raise SurrogateError(f"{group.name}: length_scale and x_scale must be positive")
        self._prepare()


# ------------------------------------------------------------------------------- MLP
_ACTIVATIONS = ("tanh", "relu", "logistic", "identity")


def _activate(A: np.ndarray, activation: str) -> None:
    """In-place hidden-layer activation, the same NumPy/SciPy calls scikit-learn makes."""
    if activation == "tanh":
        np.tanh(A, out=A)
    elif activation == "relu":
        np.maximum(A, 0, out=A)
    elif activation == "logistic":
        from scipy.special import expit

        expit(A, out=A)


class MLP(SurrogateModel):
    """Multi-layer perceptron (scikit-learn ``MLPRegressor``) on standardised inputs and
    outputs, evaluated by a NumPy forward pass.

    Exported: ``x_offset``/``x_scale`` (``(n_inputs,)``), ``y_offset``/``y_scale``
    (``(n_outputs,)``), ``weights_<i>`` (``(fan_in, fan_out)``) and ``biases_<i>``
    (``(fan_out,)``) for each layer, the hidden ``activation`` (output layer linear).

    Parameters
    ----------
    hidden_layer_sizes : tuple of int
    activation : {"tanh", "relu", "logistic", "identity"}
    solver : {"lbfgs", "adam"}
        "lbfgs" suits the small, noiseless data sets of a characterisation sweep.
    alpha : float >= 0
        L2 penalty.
    max_iter : int
    tol : float >= 0
    max_points : int
        Largest training set used: a random subset (seeded by ``random_state``) of that
        size is drawn from larger ones. Full-batch L-BFGS costs time linear in it: on the
        reference 2-core machine 32x32 tanh, 2000 points, 1000 iterations took ~8 s
        (64x64: ~30 s) and reached 0.07 % FS RMS on a smooth 3-input cell current.
    random_state : int
    """

    kind = "mlp"
    _param_names = ("hidden_layer_sizes", "activation", "solver", "alpha", "max_iter", "tol", "max_points", "random_state")
    chunk_size = 4096

    def __init__(
        self,
        hidden_layer_sizes: Sequence[int] = (32, 32),
        activation: str = "tanh",
        solver: str = "lbfgs",
        alpha: float = 1e-6,
        max_iter: int = 1000,
        tol: float = 1e-9,
        max_points: int = 2000,
        random_state: int = 0,
    ):
        sizes = tuple(hidden_layer_sizes) if not isinstance(hidden_layer_sizes, (int, np.integer)) else (hidden_layer_sizes,)
        if not sizes:
            raise SurrogateError("MLP: hidden_layer_sizes must not be empty")
        self.hidden_layer_sizes = tuple(_check_positive_int(s, "MLP: hidden layer size") for s in sizes)
        if activation not in _ACTIVATIONS:
            raise SurrogateError(f"MLP: activation must be one of {_ACTIVATIONS}, got {activation!r}")
        if solver not in ("lbfgs", "adam"):
            raise SurrogateError(f"MLP: solver must be 'lbfgs' or 'adam', got {solver!r}")
        self.activation = activation
        self.solver = solver
        self.alpha = _check_nonneg_float(alpha, "MLP: alpha")
        self.max_iter = _check_positive_int(max_iter, "MLP: max_iter")
        self.tol = _check_nonneg_float(tol, "MLP: tol")
        self.max_points = _check_positive_int(max_points, "MLP: max_points", 2)
        self.random_state = _check_positive_int(random_state, "MLP: random_state", 0)

    @property
    def label(self) -> str:
        return "mlp-" + "x".join(map(str, self.hidden_layer_sizes))

    def _fit(self, X: np.ndarray, Y: np.ndarray) -> None:
        from sklearn.neural_network import MLPRegressor

        if X.shape[0] > self.max_points:
            keep = np.sort(np.random.default_rng(self.random_state).choice(X.shape[0], self.max_points, replace=False))
            X, Y = X[keep], Y[keep]
        self.x_offset_, self.x_scale_ = _std_scaler(X)
        self.y_offset_, self.y_scale_ = _std_scaler(Y)
        Z = (X - self.x_offset_) / self.x_scale_
        T = (Y - self.y_offset_) / self.y_scale_
        mlp = MLPRegressor(
            hidden_layer_sizes=self.hidden_layer_sizes,
            activation=self.activation,
            solver=self.solver,
            alpha=self.alpha,
            max_iter=self.max_iter,
            tol=self.tol,
            random_state=self.random_state,
            **({"max_fun": 4 * self.max_iter} if self.solver == "lbfgs" else {}),
        )
        mlp.fit(Z, T if T.shape[1] > 1 else T[:, 0])
        self.sklearn_model_ = mlp
        self.weights_ = [np.ascontiguousarray(w, dtype=np.float64) for w in mlp.coefs_]
        self.biases_ = [np.ascontiguousarray(b, dtype=np.float64) for b in mlp.intercepts_]

    def predict_sklearn(self, X) -> np.ndarray:
        self._check_fitted()
        if not hasattr(self, "sklearn_model_"):
            raise SurrogateError("predict_sklearn: only available right after fit")
        X = _as_x(X, self.n_inputs_)
        out = self.sklearn_model_.predict((X - self.x_offset_) / self.x_scale_)
        return self._shape_out(out.reshape(X.shape[0], -1) * self.y_scale_ + self.y_offset_)

    def _predict_chunk(self, X: np.ndarray) -> np.ndarray:
        A = (X - self.x_offset_) / self.x_scale_
        last = len(self.weights_) - 1
        for i, (W, b) in enumerate(zip(self.weights_, self.biases_)):
            A = A @ W
            A += b
            if i != last:
                _activate(A, self.activation)
        return A * self.y_scale_ + self.y_offset_

    def _write(self, group: h5py.Group) -> None:
        group.attrs["hidden_layer_sizes"] = np.array(self.hidden_layer_sizes, dtype=np.int64)
        group.attrs["activation"] = self.activation
        group.attrs["output_activation"] = "identity"
        group.attrs["solver"] = self.solver
        group.attrs["alpha"] = self.alpha
        group.attrs["max_iter"] = self.max_iter
        group.attrs["tol"] = self.tol
        group.attrs["max_points"] = self.max_points
        group.attrs["random_state"] = self.random_state
        group.attrs["n_layers"] = len(self.weights_)
        write_dataset(group, "x_offset", self.x_offset_)
        write_dataset(group, "x_scale", self.x_scale_)
        write_dataset(group, "y_offset", self.y_offset_)
        write_dataset(group, "y_scale", self.y_scale_)
        for i, (W, b) in enumerate(zip(self.weights_, self.biases_)):
            write_dataset(group, f"weights_{i}", W)
            write_dataset(group, f"biases_{i}", b)

    @classmethod
    def _read(cls, group: h5py.Group) -> "MLP":
        sizes = read_attr(group, "hidden_layer_sizes", "float_array")
        if sizes.ndim != 1 or sizes.size == 0 or np.any(sizes != np.round(sizes)):
            raise SurrogateError(f"{group.name}: bad hidden_layer_sizes attribute")
        try:
            obj = cls(
                hidden_layer_sizes=tuple(int(s) for s in sizes),
                activation=read_attr(group, "activation", "str"),
                solver=read_attr(group, "solver", "str"),
                alpha=read_attr(group, "alpha", "float"),
                max_iter=read_attr(group, "max_iter", "int"),
                tol=read_attr(group, "tol", "float"),
                max_points=read_attr(group, "max_points", "int"),
                random_state=read_attr(group, "random_state", "int"),
            )
        except SurrogateError as exc:
            raise SurrogateError(f"{group.name}: {exc}") from None
        if read_attr(group, "output_activation", "str") != "identity":
            raise SurrogateError(f"{group.name}: only an identity output activation is supported")
        n_layers = read_attr(group, "n_layers", "int")
        if n_layers != len(obj.hidden_layer_sizes) + 1:
            raise SurrogateError(f"{group.name}: n_layers {n_layers} inconsistent with hidden_layer_sizes")
        obj.x_offset_ = read_dataset(group, "x_offset", "f", ndim=1)
        obj.x_scale_ = read_dataset(group, "x_scale", "f", ndim=1)
        obj.y_offset_ = read_dataset(group, "y_offset", "f", ndim=1)
        obj.y_scale_ = read_dataset(group, "y_scale", "f", ndim=1)
        obj.weights_ = [read_dataset(group, f"weights_{i}", "f", ndim=2) for i in range(n_layers)]
        obj.biases_ = [read_dataset(group, f"biases_{i}", "f", ndim=1) for i in range(n_layers)]
        return obj

    def _validate_loaded(self, group: h5py.Group) -> None:
        d, k = self.n_inputs_, self.n_outputs_
        _expect_shape(group, "x_offset", self.x_offset_, (d,))
        _expect_shape(group, "x_scale", self.x_scale_, (d,))
        _expect_shape(group, "y_offset", self.y_offset_, (k,))
        _expect_shape(group, "y_scale", self.y_scale_, (k,))
        sizes = (d,) + self.hidden_layer_sizes + (k,)
        for i, (W, b) in enumerate(zip(self.weights_, self.biases_)):
            _expect_shape(group, f"weights_{i}", W, (sizes[i], sizes[i + 1]))
            _expect_shape(group, f"biases_{i}", b, (sizes[i + 1],))


# ------------------------------------------------------------------------------ registry
#: HDF5 ``kind`` attribute -> estimator class. A fixed table: loading never imports or
#: runs anything a file names.
MODEL_KINDS: dict[str, type[SurrogateModel]] = {
    cls.kind: cls for cls in (GridInterpolator, PolynomialRidge, GaussianProcess, MLP)
}


def model_from_hdf5(group: h5py.Group) -> SurrogateModel:
    """Load whichever model ``group`` holds, dispatching on its ``kind`` attribute."""
    kind = read_attr(group, "kind", "str")
    cls = MODEL_KINDS.get(kind)
    if cls is None:
        raise SurrogateError(f"{group.name}: unknown model kind {kind!r} (known: {', '.join(sorted(MODEL_KINDS))})")
    return cls.from_hdf5(group)
