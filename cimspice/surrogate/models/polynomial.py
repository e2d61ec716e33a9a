"""Polynomial ridge regression in scaled inputs."""

from __future__ import annotations

import h5py
import numpy as np

from ...validate import require_int, require_nonnegative
from .._hdf5 import read_attr, read_dataset, write_dataset
from ..errors import SurrogateError
from .base import SurrogateModel, _as_x, _expect_shape, _span_scaler


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
        self.degree = require_int(degree, "PolynomialRidge: degree", SurrogateError, lo=1)
        self.alpha = require_nonnegative(alpha, "PolynomialRidge: alpha", SurrogateError)

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
    def _read(cls, group: h5py.Group) -> PolynomialRidge:
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
