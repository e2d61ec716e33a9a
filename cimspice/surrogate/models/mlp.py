"""Multilayer-perceptron regression, trained by scikit-learn, evaluated in NumPy."""

from __future__ import annotations

from collections.abc import Sequence

import h5py
import numpy as np

from ...validate import require_int, require_nonnegative
from .._hdf5 import read_attr, read_dataset, write_dataset
from ..errors import SurrogateError
from .base import SurrogateModel, _as_x, _expect_shape, _std_scaler

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
    _param_names = (
        "hidden_layer_sizes", "activation", "solver", "alpha", "max_iter", "tol", "max_points", "random_state"
    )
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
        sizes = (
            tuple(hidden_layer_sizes)
            if not isinstance(hidden_layer_sizes, (int, np.integer))
            else (hidden_layer_sizes,)
        )
        if not sizes:
            raise SurrogateError("MLP: hidden_layer_sizes must not be empty")
        self.hidden_layer_sizes = tuple(require_int(s, "MLP: hidden layer size", SurrogateError, lo=1) for s in sizes)
        if activation not in _ACTIVATIONS:
            raise SurrogateError(f"MLP: activation must be one of {_ACTIVATIONS}, got {activation!r}")
        if solver not in ("lbfgs", "adam"):
            raise SurrogateError(f"MLP: solver must be 'lbfgs' or 'adam', got {solver!r}")
        self.activation = activation
        self.solver = solver
        self.alpha = require_nonnegative(alpha, "MLP: alpha", SurrogateError)
        self.max_iter = require_int(max_iter, "MLP: max_iter", SurrogateError, lo=1)
        self.tol = require_nonnegative(tol, "MLP: tol", SurrogateError)
        self.max_points = require_int(max_points, "MLP: max_points", SurrogateError, lo=2)
        self.random_state = require_int(random_state, "MLP: random_state", SurrogateError, lo=0)

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
    def _read(cls, group: h5py.Group) -> MLP:
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
