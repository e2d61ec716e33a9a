"""Gaussian-process regression with an anisotropic kernel, evaluated in NumPy."""

from __future__ import annotations

import math

import h5py
import numpy as np

from ...validate import require_int
from .._hdf5 import read_attr, read_dataset, write_dataset
from ..errors import SurrogateError
from .base import SurrogateModel, _as_x, _expect_shape, _maxmin_subsample, _span_scaler


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
        self.max_points = require_int(max_points, "GaussianProcess: max_points", SurrogateError, lo=2)
        self.n_restarts_optimizer = require_int(n_restarts_optimizer, "GaussianProcess: n_restarts_optimizer",
                                                SurrogateError, lo=0)
        self.random_state = require_int(random_state, "GaussianProcess: random_state", SurrogateError, lo=0)

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
    def _read(cls, group: h5py.Group) -> GaussianProcess:
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
