"""Tests of cimspice.surrogate: estimators, Surrogate, sweep reading, fitting/selection,
the HDF5 library (including hostile files) and the report.

Oracles that share no code with what they check: analytic functions (multilinear and
tricubic polynomials are reproduced exactly by linear and cubic grid interpolation),
SciPy's own cubic splines, scikit-learn's own ``predict``.
"""

from __future__ import annotations

import json
import os
import pickle
import warnings
from pathlib import Path

import h5py
import numpy as np
import pytest

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
    file_sha256,
    fit_surrogates,
    holdout_split,
    inspect_library,
    load_library,
    read_sweep,
    save_library,
    write_report,
)
from cimspice.surrogate.models import model_from_hdf5


# ----------------------------------------------------------------------------- helpers
def cell_current(R, v_wl, v_bl, v0=0.25):
    """A smooth 1T1R-like cell current (A): G * v0 * sinh(V_BL / v0) * tanh(...)."""
    return (1.0 / R) * v0 * np.sinh(v_bl / v0) * np.tanh((v_wl - 0.2) / 0.3)


def write_sweep(path, inputs, outputs, design, *, grid=None, scales=None, units=None, status=None, version=1,
                circuit="cell_1t1r"):
    """A sweep file following docs/sweep_schema.md."""
    n = len(next(iter(inputs.values())))
    with h5py.File(path, "w") as f:
        f.attrs["schema"] = "cimspice.sweep"
        f.attrs["schema_version"] = version
        f.attrs["cimspice_version"] = "0.1.0"
        f.attrs["circuit"] = circuit
        f.attrs["netlist"] = "* test netlist"
        f.attrs["netlist_sha256"] = "ab" * 32
        f.attrs["spec"] = "design: test"
        f.attrs["design"] = design
        f.attrs["n_points"] = n
        f.attrs["created"] = "2024-01-01T00:00:00+00:00"
        for name, values in inputs.items():
            ds = f.create_dataset(f"inputs/{name}", data=np.asarray(values, dtype=np.float64))
            ds.attrs["units"] = (units or {}).get(name, "V")
            ds.attrs["description"] = f"input {name}"
            ds.attrs["scale"] = (scales or {}).get(name, "linear")
        for name, values in outputs.items():
            ds = f.create_dataset(f"outputs/{name}", data=np.asarray(values, dtype=np.float64))
            ds.attrs["units"] = "A"
            ds.attrs["description"] = f"output {name}"
        st = np.zeros(n, np.int8) if status is None else np.asarray(status, np.int8)
        ds = f.create_dataset("status", data=st)
        ds.attrs["codes"] = json.dumps({"-1": "pending", "0": "ok", "1": "ok after aids", "2": "failed"})
        f.create_dataset("message", data=np.array([""] * n, dtype=h5py.string_dtype()))
        if grid is not None:
            for name, axis in grid.items():
                f.create_dataset(f"grid/{name}", data=np.asarray(axis, dtype=np.float64))
            f.attrs["grid_order"] = np.array(list(grid), dtype=h5py.string_dtype())
        f.attrs["complete"] = True
    return Path(path)


R_AXIS = np.logspace(3, 6, 13)  # ohm
WL_AXIS = np.linspace(0.4, 1.2, 9)  # V
BL_AXIS = np.linspace(0.0, 0.3, 9)  # V


def cell_grid_sweep(path, status=None, extra_outputs=None):
    G = np.meshgrid(R_AXIS, WL_AXIS, BL_AXIS, indexing="ij")
    R, W, B = (g.ravel() for g in G)
    outputs = {"I_cell": cell_current(R, W, B)}
    outputs.update(extra_outputs or {})
    return write_sweep(
        path,
        {"R": R, "V_WL": W, "V_BL": B},
        outputs,
        "grid",
        grid={"R": R_AXIS, "V_WL": WL_AXIS, "V_BL": BL_AXIS},
        scales={"R": "log"},
        units={"R": "ohm"},
        status=status,
    )


def cell_lhs_sweep(path, n=200, seed=3, **kw):
    rng = np.random.default_rng(seed)
    R = 10 ** rng.uniform(3, 6, n)
    W = rng.uniform(0.4, 1.2, n)
    B = rng.uniform(0.0, 0.3, n)
    return write_sweep(path, {"R": R, "V_WL": W, "V_BL": B}, {"I_cell": cell_current(R, W, B)}, "lhs",
                       scales={"R": "log"}, units={"R": "ohm"}, **kw)


#: small, fast candidates for tests
FAST_MODELS = ["grid-linear", "grid-cubic", "poly-4", GaussianProcess(max_points=120),
               MLP((16, 16), max_iter=300, max_points=300)]


def smooth3(X):
    return np.sinh(X[:, 0]) * np.tanh(X[:, 1] + 0.3) + 0.5 * X[:, 2] ** 2


@pytest.fixture(scope="module")
def xy_data():
    rng = np.random.default_rng(0)
    X = rng.uniform([-1, 0, 0.5], [1, 2, 1.5], size=(150, 3))
    Q = rng.uniform([-1, 0, 0.5], [1, 2, 1.5], size=(400, 3))
    return X, smooth3(X), Q


def fitted_surrogate(model=None, name="toy.y"):
    rng = np.random.default_rng(1)
    X = np.column_stack([10 ** rng.uniform(3, 6, 200), rng.uniform(0.4, 1.2, 200), rng.uniform(0, 0.3, 200)])
    s = Surrogate(
        model or PolynomialRidge(degree=3),
        ["R", "V_WL", "V_BL"],
        "I_cell",
        input_units=["ohm", "V", "V"],
        output_units=["A"],
        input_scales={"R": "log"},
        name=name,
    )
    return s.fit(X, cell_current(*X.T))


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


# ------------------------------------------------------------------------------- sweeps
def test_read_sweep_keeps_usable_points_and_checks_schema(tmp_path):
    n = R_AXIS.size * WL_AXIS.size * BL_AXIS.size
    status = np.zeros(n, np.int8)
    status[[3, 10]] = 2
    status[11] = 1
    status[12] = -1
    path = cell_grid_sweep(tmp_path / "g.h5", status=status)
    data = read_sweep(path)
    assert data.n_points == n - 3 and data.n_failed == 2 and data.n_pending == 1
    assert data.input_names == ["R", "V_WL", "V_BL"]
    assert data.input_units["R"] == "ohm" and data.input_scales == {"R": "log", "V_WL": "linear", "V_BL": "linear"}
    assert data.design == "grid" and list(data.grid) == ["R", "V_WL", "V_BL"]
    assert 11 in data.point_index and 3 not in data.point_index and 12 not in data.point_index
    assert data.sha256 == file_sha256(path) and data.attrs["circuit"] == "cell_1t1r"

    write_sweep(tmp_path / "v3.h5", {"a": [1.0]}, {"b": [1.0]}, "list", version=3)
    with pytest.raises(SurrogateError, match=r"v3\.h5: sweep schema_version 3 is newer"):
        read_sweep(tmp_path / "v3.h5")
    with h5py.File(tmp_path / "nostatus.h5", "w") as f:
        f.attrs.update(schema="cimspice.sweep", schema_version=1, design="list")
        f.create_dataset("inputs/a", data=[1.0])
        f.create_dataset("outputs/b", data=[1.0])
    with pytest.raises(SurrogateError, match=r"nostatus\.h5: dataset /status is missing"):
        read_sweep(tmp_path / "nostatus.h5")
    with h5py.File(tmp_path / "other.h5", "w") as f:
        f.attrs["schema"] = "something.else"
    with pytest.raises(SurrogateError, match="not a cimspice sweep file"):
        read_sweep(tmp_path / "other.h5")
    with h5py.File(path, "a") as f:
        del f["grid/V_BL"]
    with pytest.raises(SurrogateError, match="/grid/V_BL is missing"):
        read_sweep(path)


# ------------------------------------------------------------------- fitting/selection
@pytest.fixture(scope="module")
def grid_fit(tmp_path_factory):
    folder = tmp_path_factory.mktemp("gridfit")
    path = cell_grid_sweep(folder / "cell_grid.h5")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        surrogates = fit_surrogates(path, models=FAST_MODELS)
    return path, surrogates


def test_holdout_planes_are_off_the_training_grid():
    G = np.meshgrid(R_AXIS, WL_AXIS, [0.0, 1.0], indexing="ij")
    X = np.column_stack([g.ravel() for g in G])
    train, validate, text = holdout_split(X, "planes", grid=[R_AXIS, WL_AXIS, np.array([0.0, 1.0])])
    assert not np.any(train & validate) and np.all(train | validate)
    for j, axis in enumerate((R_AXIS, WL_AXIS)):
        kept = np.unique(X[train, j])
        assert kept[0] == axis[0] and kept[-1] == axis[-1] and kept.size == (axis.size + 1) // 2
    # every held-out point lies strictly between training planes along some axis
    for x in X[validate]:
        assert x[0] not in X[train, 0] or x[1] not in X[train, 1]
    assert "coarse grid" in text


def test_fit_surrogates_grid_selects_best_and_records_candidates(grid_fit):
    path, surrogates = grid_fit
    assert list(surrogates) == ["cell_1t1r.I_cell"]
    s = surrogates["cell_1t1r.I_cell"]
    labels = [c["label"] for c in s.candidates]
    assert labels == ["grid-linear", "grid-cubic", "poly-4", "gp-matern2.5", "mlp-16x16"]
    ok = [c for c in s.candidates if c["status"] == "ok"]
    assert len(ok) == 5
    best = min(ok, key=lambda c: c["rms_pct"])
    assert [c["label"] for c in s.candidates if c["selected"]] == [best["label"]] == [s.model_label]
    # on this smooth function the cubic spline beats linear interpolation by far
    rms = {c["label"]: c["rms_pct"] for c in ok}
    assert rms["grid-cubic"] < rms["grid-linear"] / 3
    assert s.validation["rms_pct"][0] == best["rms_pct"] < 0.5
    sizes = [a.size for a in (R_AXIS, WL_AXIS, BL_AXIS)]  # odd: every other plane keeps both ends
    assert s.validation["n_points"] == np.prod(sizes) - np.prod([(n + 1) // 2 for n in sizes])
    # refitted on all points: full domain, and a grid model reproduces every node
    data = read_sweep(path)
    np.testing.assert_array_equal(s.domain_min, [R_AXIS[0], WL_AXIS[0], BL_AXIS[0]])
    if s.model_kind == "grid":
        np.testing.assert_allclose(s.predict(data.X()), data.outputs["I_cell"],
                                   rtol=0, atol=1e-12 * np.ptp(data.outputs["I_cell"]))
    assert s.input_scales == ["log", "linear", "linear"] and s.input_units == ["ohm", "V", "V"]
    assert s.output_units == ["A"]
    assert s.provenance["source_sweep_sha256"] == file_sha256(path)
    assert s.provenance["source_circuit"] == "cell_1t1r"


def test_fit_surrogates_with_validation_sweep_and_off_grid_accuracy(grid_fit, tmp_path):
    path, _ = grid_fit
    lhs = cell_lhs_sweep(tmp_path / "lhs.h5")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = fit_surrogates(path, models=["grid-linear", "grid-cubic", "poly-4"], validation_sweep_path=lhs,
                             name_template="{output}")
    s = out["I_cell"]
    assert s.validation["n_points"] == 200 and "validation sweep lhs.h5" in s.validation["method"]
    assert s.provenance["validation_sweep_sha256"] == file_sha256(lhs)
    # independent check at the off-grid points against the analytic function
    data = read_sweep(lhs)
    rms_pct = (100 * np.sqrt(np.mean((s.predict(data.inputs) - data.outputs["I_cell"]) ** 2))
               / np.ptp(read_sweep(path).outputs["I_cell"]))
    assert rms_pct == pytest.approx(s.validation["rms_pct"][0], rel=1e-9)
    assert s.model_label == "grid-cubic" and rms_pct < 0.2


def test_fit_surrogates_random_design_failed_points_and_tolerance(tmp_path):
    n = 160
    status = np.zeros(n, np.int8)
    status[:7] = 2
    rng = np.random.default_rng(9)
    x = rng.uniform(-1, 1, (n, 2))
    y = 0.2 + x[:, 0] - 0.5 * x[:, 1] ** 2 + 0.1 * x[:, 0] * x[:, 1]
    y[:7] = np.nan
    y2 = y.copy()
    y2[20] = np.nan  # a missing measurement at an otherwise ok point
    path = write_sweep(tmp_path / "rand.h5", {"a": x[:, 0], "b": x[:, 1], "T": np.full(n, 27.0)}, {"y": y, "y2": y2},
                       "random", status=status)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = fit_surrogates(path, models=["grid-linear", "poly-2", "poly-4", MLP((8,), max_iter=200)], holdout=0.25,
                             tolerance_pct=1.0)
    s = out["cell_1t1r.y"]
    status_by = {c["label"]: c["status"] for c in s.candidates}
    assert status_by["grid-linear"] == "failed" and "full grid" in s.candidates[0]["reason"]
    assert status_by["poly-2"] == status_by["poly-4"] == "ok"
    assert s.model_label == "poly-2"  # exact, and cheaper than poly-4
    assert "cheapest" in s.provenance["selection"]
    assert s.inputs == ["a", "b"] and json.loads(s.provenance["fixed_inputs"]) == {"T": [27.0, "V"]}
    assert s.candidates[1]["n_train"] + s.candidates[1]["n_validation"] == n - 7
    assert out["cell_1t1r.y2"].candidates[1]["n_train"] + out["cell_1t1r.y2"].candidates[1]["n_validation"] == n - 8
    with pytest.raises(SurrogateError, match="unknown model"):
        fit_surrogates(path, models=["spline-9"])
    with pytest.raises(SurrogateError, match="no output"):
        fit_surrogates(path, outputs=["nope"])


def test_fit_library_collects_several_sweeps_and_refits_in_place(tmp_path):
    from cimspice.surrogate import fit_library

    grid = cell_grid_sweep(tmp_path / "grid.h5")
    rng = np.random.default_rng(2)
    x = rng.uniform(0, 1, (60, 2))
    other = write_sweep(tmp_path / "other.h5", {"a": x[:, 0], "b": x[:, 1]}, {"q": 1 + x[:, 0] * x[:, 1]}, "random",
                        circuit="sense_amp")
    lib = tmp_path / "lib.h5"
    text = fit_library([grid, other], lib, models=["grid-linear", "poly-2"])
    assert sorted(load_library(lib)) == ["cell_1t1r.I_cell", "sense_amp.q"]
    assert "sense_amp.q" in text and "cell_1t1r.I_cell" in text
    fit_library([other], lib, models=["poly-3"])  # same sweep again: replaced, the other kept
    loaded = load_library(lib)
    assert sorted(loaded) == ["cell_1t1r.I_cell", "sense_amp.q"] and loaded["sense_amp.q"].model_label == "poly-3"
    with pytest.raises(SurrogateError, match="in none of the sweeps"):
        fit_library([other], lib, outputs=["I_cell", "nope"])


# ------------------------------------------------------------------------------ library
def test_library_roundtrip_append_and_inspect(grid_fit, tmp_path):
    path, surrogates = grid_fit
    lib = tmp_path / "lib.h5"
    save_library(lib, surrogates)
    loaded = load_library(lib)
    s, t = surrogates["cell_1t1r.I_cell"], loaded["cell_1t1r.I_cell"]
    Q = {"R": np.logspace(3.1, 5.9, 50), "V_WL": np.linspace(0.45, 1.1, 50), "V_BL": np.linspace(0.01, 0.29, 50)}
    np.testing.assert_array_equal(t.predict(Q), s.predict(Q))
    assert ((t.inputs, t.input_units, t.input_scales, t.outputs, t.output_units)
            == (s.inputs, s.input_units, s.input_scales, s.outputs, s.output_units))
    np.testing.assert_array_equal(t.domain_max, s.domain_max)
    assert [c["label"] for c in t.candidates] == [c["label"] for c in s.candidates]
    assert t.candidates[1]["rms_pct"] == s.candidates[1]["rms_pct"]
    assert t.provenance["source_sweep_sha256"] == file_sha256(path)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        other = fitted_surrogate(MLP((6,), max_iter=50), name="other.I")
    save_library(lib, [other], append=True)
    assert sorted(load_library(lib)) == ["cell_1t1r.I_cell", "other.I"]
    with pytest.raises(SurrogateError, match="already holds"):
        save_library(lib, [other], append=True)
    save_library(lib, {"other.I": fitted_surrogate(PolynomialRidge(2), name="other.I")}, append=True, replace=True)
    assert load_library(lib)["other.I"].model_label == "poly-2"
    text = inspect_library(lib)
    for needle in ("cell_1t1r.I_cell", "other.I", "ohm", "log", "grid-cubic", "poly-4", "mlp-16x16", "%FS",
                   "1000 .. 1e+06"):
        assert needle in text, needle
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_multi_output_surrogate_roundtrip(tmp_path):
    axes = [np.linspace(0.0, 1.0, 5), np.logspace(-6, -4, 6)]
    G = np.meshgrid(*axes, indexing="ij")
    X = np.column_stack([g.ravel() for g in G])
    Y = {"i": X[:, 0] * X[:, 1], "p": X[:, 0] ** 2 * X[:, 1]}  # compared at the grid nodes
    s = Surrogate(GridInterpolator("linear"), ["v", "g"], ["i", "p"], input_units=["V", "S"], output_units=["A", "W"],
                  input_scales=["linear", "log"]).fit(X, Y)
    lib = save_library(tmp_path / "multi.h5", [s])
    t = load_library(lib)["i+p"]
    assert t.outputs == ["i", "p"] and t.output_units == ["A", "W"] and not t.single_output
    out = t.predict(X)
    assert out.shape == (len(X), 2)
    np.testing.assert_allclose(out, np.column_stack([Y["i"], Y["p"]]), rtol=1e-12)
    np.testing.assert_array_equal(out, s.predict(X))


def test_save_is_atomic_when_writing_fails(tmp_path, monkeypatch):
    lib = tmp_path / "lib.h5"
    save_library(lib, [fitted_surrogate(name="a")])
    before = lib.read_bytes()
    bad = fitted_surrogate(name="b")

    def boom(group):
        group.create_dataset("partial", data=[1.0])
        raise RuntimeError("disk full")

    monkeypatch.setattr(bad, "to_hdf5", boom)
    with pytest.raises(RuntimeError, match="disk full"):
        save_library(lib, [bad], append=True)
    assert lib.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lib.h5"]


class _Marker:
    """Unpickling this creates ``path`` (a harmless stand-in for arbitrary code)."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (Path.touch, (Path(self.path),))


@pytest.mark.parametrize("how", ["void_dataset", "bytes_dataset", "uint8_instead_of_float", "void_attribute",
                                 "vlen_bytes_dataset"])
def test_pickled_blob_is_refused_and_never_unpickled(tmp_path, how):
    # the blob is live: unpickling it does create its marker file
    probe = tmp_path / "probe-marker"
    pickle.loads(pickle.dumps(_Marker(probe)))  # noqa: S301 - our own object, to show the payload is live
    assert probe.exists()

    marker = tmp_path / "marker"
    blob = pickle.dumps(_Marker(marker))
    lib = tmp_path / "lib.h5"
    save_library(lib, [fitted_surrogate(name="s")])
    with h5py.File(lib, "a") as f:
        model = f["surrogates/s/model"]
        if how == "void_dataset":
            model.create_dataset("payload", data=np.void(blob))
        elif how == "bytes_dataset":
            del model["coef"]
            model.create_dataset("coef", data=np.bytes_(blob))
        elif how == "uint8_instead_of_float":
            del model["coef"]
            model.create_dataset("coef", data=np.frombuffer(blob, dtype=np.uint8))
        elif how == "void_attribute":
            model.attrs["payload"] = np.void(blob)
        else:
            ds = model.create_dataset("payload", (1,), dtype=h5py.vlen_dtype(np.uint8))  # ragged bytes
            ds[0] = np.frombuffer(blob, dtype=np.uint8)
    with pytest.raises(SurrogateError) as info:
        load_library(lib)
    message = str(info.value)
    assert str(lib) in message and "\n" not in message
    assert ("refused" in message) or ("dtype" in message)
    assert not marker.exists()


def _corrupt(lib: Path, edit):
    with h5py.File(lib, "a") as f:
        edit(f)


def test_bad_library_files_give_clear_one_line_errors(tmp_path):
    good = tmp_path / "good.h5"
    save_library(good, [fitted_surrogate(name="s")])

    def variant(name, edit):
        path = tmp_path / name
        path.write_bytes(good.read_bytes())
        _corrupt(path, edit)
        return path

    cases = [
        (variant("kind.h5", lambda f: f["surrogates/s/model"].attrs.__setitem__("kind", "xgboost")),
         r"unknown model kind 'xgboost'"),
        (variant("missing.h5", lambda f: f["surrogates/s/model"].__delitem__("coef")),
         r"dataset /surrogates/s/model/coef is missing"),
        (variant("future.h5", lambda f: f.attrs.__setitem__("schema_version", 99)),
         r"schema_version 99 is newer .* upgrade cimspice"),
        (variant("schema.h5", lambda f: f.attrs.__setitem__("schema", "cimspice.sweep")), r"not a surrogate library"),
        (variant("shape.h5", lambda f: (f["surrogates/s"].__delitem__("domain_min"),
                                        f["surrogates/s"].create_dataset("domain_min", data=[1.0]))),
         r"domain_min: shape"),
        (variant("extlink.h5", lambda f: f["surrogates/s"].__setitem__("evil", h5py.ExternalLink("other.h5", "/x"))),
         r"ExternalLink refused"),
        (variant("noattr.h5", lambda f: f["surrogates/s"].attrs.__delitem__("input_names")), r"input_names is missing"),
    ]
    for path, pattern in cases:
        with pytest.raises(SurrogateError, match=pattern) as info:
            load_library(path)
        assert str(path) in str(info.value) and "\n" not in str(info.value)

    truncated = tmp_path / "truncated.h5"
    data = good.read_bytes()
    truncated.write_bytes(data[: len(data) // 2])
    with pytest.raises(SurrogateError, match=r"truncated\.h5: .*(truncated|corrupt)") as info:
        load_library(truncated)
    assert "\n" not in str(info.value)
    garbage = tmp_path / "garbage.h5"
    garbage.write_bytes(os.urandom(4096))
    with pytest.raises(SurrogateError, match="cannot open as HDF5"):
        load_library(garbage)
    with pytest.raises(SurrogateError, match="no such surrogate library"):
        load_library(tmp_path / "absent.h5")


# ------------------------------------------------------------------------------- report
def test_write_report_tables_and_plots(grid_fit, tmp_path):
    path, surrogates = grid_fit
    lib = save_library(tmp_path / "lib.h5", surrogates)
    lhs = cell_lhs_sweep(tmp_path / "lhs.h5", n=80)
    report = write_report(lib, lhs, tmp_path / "report")
    text = report.read_text()
    assert "| cell_1t1r.I_cell | I_cell [A] |" in text
    for label in ("grid-linear", "grid-cubic", "poly-4", "gp-matern2.5", "mlp-16x16"):
        assert label in text
    pngs = sorted(p.name for p in (tmp_path / "report").glob("*.png"))
    assert pngs == ["cell_1t1r.I_cell__I_cell_error_hist.png", "cell_1t1r.I_cell__I_cell_parity.png"]
    for p in pngs:
        assert (tmp_path / "report" / p).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "in-sample" not in text
    in_sample = write_report(surrogates, path, tmp_path / "report2").read_text()
    assert "in-sample" in in_sample
    assert "no plots" in write_report(lib, None, tmp_path / "report3").read_text()
