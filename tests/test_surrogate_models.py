"""cimspice.surrogate's estimators (grid interpolation, polynomial ridge, Gaussian process,
MLP) and Surrogate (scales, domain policies), against oracles that share no code with them:
analytic functions (multilinear and tricubic polynomials are reproduced exactly by linear
and cubic grid interpolation), SciPy's own cubic splines, scikit-learn's own ``predict``."""

from __future__ import annotations

import warnings

import h5py
import numpy as np
import pytest
from surrogate_data import (
    fitted_surrogate,
)

from cimspice import CimspiceError
from cimspice.surrogate import (
    MLP,
    GaussianProcess,
    GridInterpolator,
    PolynomialRidge,
    Surrogate,
    SurrogateDomainError,
    SurrogateDomainWarning,
    SurrogateError,
)
from cimspice.surrogate.models import model_from_hdf5


def smooth3(X):
    return np.sinh(X[:, 0]) * np.tanh(X[:, 1] + 0.3) + 0.5 * X[:, 2] ** 2


@pytest.fixture(scope="module")
def xy_data():
    rng = np.random.default_rng(0)
    X = rng.uniform([-1, 0, 0.5], [1, 2, 1.5], size=(150, 3))
    Q = rng.uniform([-1, 0, 0.5], [1, 2, 1.5], size=(400, 3))
    return X, smooth3(X), Q


# --------------------------------------------------------------------------- estimators
def test_grid_linear_is_exact_on_multilinear_function():
    rng = np.random.default_rng(2)
    axes = [np.sort(rng.uniform(-1, 2, 5)), np.array([0.0, 0.1, 0.5, 2.0]), np.linspace(-3, 3, 6)]

    def f(x, y, z):
        return 1 + 2 * x - y + 3 * z + x * y - 0.5 * x * z + 0.25 * x * y * z

    G = np.meshgrid(*axes, indexing="ij")
    X = np.column_stack([g.ravel() for g in G])
    perm = rng.permutation(len(X))  # scattered, any order
    model = GridInterpolator("linear").fit(X[perm], f(*X[perm].T))
    Q = np.column_stack([rng.uniform(a[0], a[-1], 2000) for a in axes])
    np.testing.assert_allclose(model.predict(Q), f(*Q.T), rtol=0, atol=1e-12 * 20)
    # at the nodes it returns the data
    np.testing.assert_allclose(model.predict(X), f(*X.T), rtol=0, atol=1e-13 * 20)


def test_grid_cubic_reproduces_tricubic_and_matches_scipy_spline():
    from scipy.interpolate import RegularGridInterpolator
    from scipy.sparse.linalg import spsolve

    rng = np.random.default_rng(3)
    axes = [np.sort(rng.uniform(0, 2, 6)), np.linspace(0, 1, 5), np.array([0, 0.3, 0.5, 0.9, 1.4, 2.0])]

    def cubic(x, y, z):
        return 1 + x - 2 * y + 3 * z + x * y - 2 * x * y * z + x**3 * y**2 - z**3 * x + y**3 + (x * y * z) ** 3

    G = np.meshgrid(*axes, indexing="ij")
    model = GridInterpolator("cubic").fit_grid(axes, cubic(*G))
    Q = np.column_stack([rng.uniform(a[0], a[-1], 2000) for a in axes])
    scale = np.abs(cubic(*G)).max()
    np.testing.assert_allclose(model.predict(Q), cubic(*Q.T), rtol=0, atol=1e-12 * scale)

    smooth = np.sin(2 * G[0]) * np.exp(G[1]) * np.cos(G[2])
    model = GridInterpolator("cubic").fit_grid(axes, smooth)
    oracle = RegularGridInterpolator(axes, smooth, method="cubic", solver=spsolve)  # exact solve
    np.testing.assert_allclose(model.predict(Q), oracle(Q), rtol=0, atol=1e-11)


@pytest.mark.parametrize("n", [2, 3, 4, 7])
def test_grid_cubic_short_axes_match_scipy_cubicspline(n):
    from scipy.interpolate import CubicSpline

    x = np.sort(np.random.default_rng(n).uniform(0, 3, n))
    y = np.cos(x) + x
    q = np.linspace(x[0], x[-1], 101)
    model = GridInterpolator("cubic").fit_grid([x], y)
    np.testing.assert_allclose(model.predict(q[:, None]), CubicSpline(x, y, bc_type="not-a-knot")(q),
                               rtol=0, atol=1e-12)


def test_grid_multi_output_and_bad_grids():
    axes = [np.linspace(0, 1, 4), np.linspace(0, 2, 3)]
    G = np.meshgrid(*axes, indexing="ij")
    values = np.stack([G[0] + G[1], G[0] * G[1]], axis=-1)
    model = GridInterpolator("linear").fit_grid(axes, values)
    assert model.predict(np.array([[0.5, 1.0]])).shape == (1, 2)
    np.testing.assert_allclose(model.predict(np.array([[0.5, 1.0]])), [[1.5, 0.5]], atol=1e-14)
    X = np.column_stack([g.ravel() for g in G])
    with pytest.raises(SurrogateError, match="full grid"):
        GridInterpolator().fit(X[:-1], X[:-1, 0])  # one node missing
    with pytest.raises(SurrogateError, match="full grid"):
        GridInterpolator().fit(np.vstack([X, X[:1]]), np.r_[X[:, 0], 0.0])
    with pytest.raises(SurrogateError, match="method"):
        GridInterpolator("quadratic")


@pytest.mark.parametrize(
    "model",
    [
        PolynomialRidge(degree=4, alpha=1e-8),
        PolynomialRidge(degree=7, alpha=1e-10),
        GaussianProcess(max_points=100),
        GaussianProcess(kernel="rbf", max_points=100),
        GaussianProcess(nu=1.5, max_points=100),
        MLP((16, 16), activation="tanh", max_iter=200),
        MLP((12, 8, 6), activation="relu", max_iter=200),
        MLP((10,), activation="logistic", max_iter=200),
    ],
    ids=lambda m: repr(m)[:40],
)
def test_numpy_predict_reproduces_sklearn(model, xy_data):
    X, y, Q = xy_data
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(X, y)
    ours, theirs = model.predict(Q), model.predict_sklearn(Q)
    assert ours.shape == theirs.shape == (len(Q),)
    assert np.max(np.abs(ours - theirs)) <= 1e-12 * np.max(np.abs(theirs))


@pytest.mark.parametrize(
    "model", [PolynomialRidge(degree=3), GaussianProcess(max_points=80), MLP((8, 8), max_iter=100)],
    ids=lambda m: m.kind,
)
def test_multi_output_models_and_hdf5_roundtrip_is_bitwise(model, xy_data, tmp_path):
    X, y, Q = xy_data
    Y = np.column_stack([y, np.cos(X[:, 0]) + X[:, 2]])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(X, Y)
    ours, theirs = model.predict(Q), model.predict_sklearn(Q)
    assert ours.shape == (len(Q), 2)
    assert np.max(np.abs(ours - theirs)) <= 1e-12 * np.max(np.abs(theirs))
    with h5py.File(tmp_path / "m.h5", "w") as f:
        model.to_hdf5(f.create_group("model"))
    with h5py.File(tmp_path / "m.h5", "r") as f:
        loaded = model_from_hdf5(f["model"])
    assert type(loaded) is type(model) and loaded.get_params() == model.get_params()
    np.testing.assert_array_equal(loaded.predict(Q), ours)


def test_polynomial_generic_evaluation_path(xy_data, tmp_path):
    """A stored polynomial whose exponent rows (and their coefficients) are in another order
    than scikit-learn's, as another tool may write them, predicts what scikit-learn does."""
    X, y, Q = xy_data
    model = PolynomialRidge(degree=5, alpha=1e-9).fit(X, y)
    reference = model.predict_sklearn(Q)
    with h5py.File(tmp_path / "m.h5", "w") as f:
        model.to_hdf5(f.create_group("model"))
        perm = np.random.default_rng(0).permutation(f["model/powers"].shape[0])
        for name, rows in (("powers", perm), ("coef", (slice(None), perm))):
            permuted = f[f"model/{name}"][...][rows]
            del f[f"model/{name}"]
            f["model"].create_dataset(name, data=permuted)
    with h5py.File(tmp_path / "m.h5", "r") as f:
        loaded = model_from_hdf5(f["model"])
    assert not np.array_equal(loaded.powers_, model.powers_)
    assert np.max(np.abs(loaded.predict(Q) - reference)) <= 1e-12 * np.max(np.abs(reference))


def test_estimator_parameter_validation():
    for bad in (
        lambda: PolynomialRidge(degree=0),
        lambda: PolynomialRidge(alpha=-1),
        lambda: GaussianProcess(kernel="periodic"),
        lambda: GaussianProcess(nu=3),
        lambda: MLP(activation="softmax"),
        lambda: MLP(hidden_layer_sizes=()),
        lambda: MLP(solver="sgd"),
    ):
        with pytest.raises(SurrogateError):
            bad()
    with pytest.raises(SurrogateError, match="not fitted"):
        PolynomialRidge().predict(np.zeros((1, 2)))
    with pytest.raises(SurrogateError, match="more than"):
        PolynomialRidge(degree=6).fit(np.random.default_rng(0).random((20, 3)), np.zeros(20))
    assert issubclass(SurrogateError, CimspiceError)


# ---------------------------------------------------------------------------- Surrogate
def test_surrogate_predict_dict_array_and_log_scales():
    rng = np.random.default_rng(4)
    X = np.column_stack([10 ** rng.uniform(3, 6, 300), rng.uniform(0.4, 1.2, 300)])
    y = 1e-3 / X[:, 0] * X[:, 1] ** 2  # spans decades: log10 y = -3 - log10 R + 2 log10 V
    s = Surrogate(
        PolynomialRidge(degree=1, alpha=0.0),
        ["R", "V"],
        "I",
        input_units=["ohm", "V"],
        output_units=["A"],
        input_scales={"R": "log", "V": "log"},
        output_scales={"I": "log"},
    ).fit(X, y)
    # linear in the log quantities, so exact only if all three transforms are applied
    Q = np.column_stack([10 ** rng.uniform(3, 6, 50), rng.uniform(0.4, 1.2, 50)])
    a = s.predict(Q)
    d = s.predict({"R": Q[:, 0], "V": Q[:, 1]})
    np.testing.assert_array_equal(a, d)
    assert a.shape == (50,)
    np.testing.assert_allclose(a, 1e-3 / Q[:, 0] * Q[:, 1] ** 2, rtol=1e-11)
    assert s.input_scales == ["log", "log"] and s.output_scales == ["log"]
    assert s.predict({"R": 1e4, "V": 0.8}).shape == (1,)  # scalars broadcast
    with pytest.raises(SurrogateError, match="keys"):
        s.predict({"R": [1e4], "V_WL": [0.8]})
    with pytest.raises(SurrogateError, match="shape"):
        s.predict(np.ones((3, 3)))
    with pytest.raises(SurrogateError, match="log-scaled output"):
        Surrogate(PolynomialRidge(1), ["R", "V"], "I", output_scales=["log"]).fit(X, y - 1)


def test_domain_policies_and_nan():
    s = fitted_surrogate()
    lo, hi = s.domain_min, s.domain_max
    inside = np.array([[1e4, 0.8, 0.1]])
    outside = np.array([[1e4, 0.8, 0.1], [hi[0] * 3, 0.8, hi[2] + 0.05]])
    with pytest.raises(SurrogateDomainError, match=r"1 of 2 points outside.*R up to .* > max.*V_BL"):
        s.predict(outside)
    clipped = s.predict(outside, out_of_domain="clip")
    np.testing.assert_allclose(clipped[1], s.predict(np.array([[hi[0], 0.8, hi[2]]]))[0], rtol=1e-14)
    with pytest.warns(SurrogateDomainWarning, match="extrapolating"):
        extrapolated = s.predict(outside, out_of_domain="warn")
    assert extrapolated[1] != clipped[1]
    # the in-domain point is untouched by either policy (equal to round-off: BLAS may
    # block a batch of 2 differently from a batch of 1)
    np.testing.assert_allclose([extrapolated[0], clipped[0]], s.predict(inside)[0], rtol=1e-13)
    # exactly on the bounds, and within round-off of them, is inside
    s.predict(np.array([lo, hi]))
    s.predict(np.array([hi * (1 + 1e-13)]))
    for bad in (np.nan, np.inf):
        X = inside.copy()
        X[0, 1] = bad
        for policy in ("error", "clip", "warn"):
            with pytest.raises(SurrogateError, match=r"X: 1 of 3 entries are not finite \(NaN or inf\) in V_WL \(1\)$"):
                s.predict(X, out_of_domain=policy)
    with pytest.raises(SurrogateError, match="out_of_domain"):
        s.predict(inside, out_of_domain="extrapolate")
    with pytest.raises(SurrogateError, match="must be > 0"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            s.predict(np.array([[-5.0, 0.8, 0.1]]), out_of_domain="warn")
    assert s.in_domain(outside).tolist() == [True, False]


