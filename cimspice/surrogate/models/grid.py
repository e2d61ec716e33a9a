"""Tensor-grid interpolation (multilinear or cubic) of sweep results on a full grid."""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from typing import ClassVar

import h5py
import numpy as np

from ...validate import require_finite
from .._hdf5 import read_attr, read_dataset, write_dataset
from ..errors import SurrogateError
from .base import SurrogateModel


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

    def fit_grid(self, axes: Sequence, values) -> GridInterpolator:
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
        require_finite(values, "GridInterpolator: values", SurrogateError)
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
    def _read(cls, group: h5py.Group) -> GridInterpolator:
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
