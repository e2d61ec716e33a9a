"""NaN and inf from a user are refused where they enter, with one line naming the array and
how many entries are bad: data files, calibration data, surrogate libraries (the stored model
arrays), and the arrays passed to the crossbar reads, the crossbar solver and ``predict``.
Before, they gave wrong answers with exit status 0 (issue 15)."""

from __future__ import annotations

import re
import subprocess
import sys

import h5py
import numpy as np
import pytest

from cimspice.circuits.base import CircuitError
from cimspice.circuits.crossbar import Crossbar
from cimspice.cli import main
from cimspice.sim.crossbar import CrossbarSolver, SolverError
from cimspice.sim.errors import SimError
from cimspice.sim.simulate import simulate
from cimspice.sim.zoo import load_dataset
from cimspice.surrogate import (
    GaussianProcess,
    GridInterpolator,
    PolynomialRidge,
    Surrogate,
    SurrogateError,
    load_library,
    save_library,
)

BAD = "entries are not finite (NaN or inf)"


def one_line(text: str) -> str:
    lines = text.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in text, text
    return lines[0]


# ------------------------------------------------------------------ data files and calibration
def test_cli_refuses_a_data_file_of_nan(tmp_path):
    x, y = load_dataset("mlp", "test", n=10)  # 10 x 64 pixels
    np.savez(tmp_path / "nan.npz", x=np.full_like(x, np.nan), y=y)
    run = subprocess.run([sys.executable, "-m", "cimspice.cli", "simulate", "baseline", "--network", "mlp",
                          "--data", "nan.npz", "--samples", "20", "--adc-bits", "-o", "out"],
                         capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert run.returncode != 0
    assert one_line(run.stderr) == f"cimspice: nan.npz: x: 640 of 640 {BAD}"
    assert not (tmp_path / "out").exists()


def test_simulate_refuses_one_inf_in_x_calibration_or_x():
    x, y = load_dataset("mlp", "test", n=50)
    x_cal, _ = load_dataset("mlp", "train", n=64)
    x_cal[3, 5] = np.inf  # once set the input range to inf: every input read as 0 (accuracy 4 %)
    with pytest.raises(SimError, match="^" + re.escape(f"x_calibration: 1 of {x_cal.size} {BAD}") + "$"):
        simulate("ideal", "mlp", data=(x, y, x_cal))
    x[0, 0] = np.nan
    with pytest.raises(SimError, match=rf"^data: x: 1 of {x.size} entries are not finite"):
        simulate("ideal", "mlp", data=(x, y, x_cal))


# ------------------------------------------------------------------ surrogate libraries
def _library(path):
    """A library with a polynomial and a grid surrogate of y = 1 + a + 2 b on [0, 1]^2."""
    a, b = np.meshgrid(np.linspace(0, 1, 5), np.linspace(0, 1, 4), indexing="ij")
    X = np.column_stack([a.ravel(), b.ravel()])
    y = 1 + X[:, 0] + 2 * X[:, 1]
    poly = Surrogate(PolynomialRidge(degree=2), ["a", "b"], "y", name="poly.y").fit(X, y)
    grid = Surrogate(GridInterpolator(), ["a", "b"], "y", name="grid.y").fit(X, y)
    return save_library(path, [poly, grid])


@pytest.mark.parametrize("dataset", ["poly.y/model/coef", "grid.y/model/values", "grid.y/domain_max"])
def test_a_library_with_one_nan_in_a_model_array_is_refused(tmp_path, capsys, dataset):
    path = _library(tmp_path / "lib.h5")
    with h5py.File(path, "r+") as f:
        data = f["surrogates"][dataset]
        values = data[()]
        values.flat[0] = np.nan
        data[...] = values
        size = values.size
    message = f"{path}: dataset /surrogates/{dataset}: 1 of {size} {BAD}"
    assert main(["inspect", str(path)]) != 0
    assert one_line(capsys.readouterr().err) == f"cimspice: {message}"
    with pytest.raises(SurrogateError) as info:
        load_library(path)
    assert str(info.value) == message


def test_a_library_with_a_nan_float_attribute_in_a_model_is_refused(tmp_path):
    a = np.linspace(0, 1, 12)[:, None]
    y = np.sin(3 * a[:, 0]) + 1e-3 * np.random.default_rng(0).normal(size=12)  # noisy: the fit converges
    gp = Surrogate(GaussianProcess(), ["a"], "y", name="gp.y").fit(a, y)
    path = save_library(tmp_path / "lib.h5", gp)
    with h5py.File(path, "r+") as f:  # the kernel's amplitude: every prediction was NaN
        f["surrogates/gp.y/model"].attrs["constant_value"] = np.nan
    with pytest.raises(SurrogateError,
                       match=r"attribute /surrogates/gp.y/model/constant_value: 1 of 1 entries are not finite"):
        load_library(path)


def test_predict_refuses_nan_inputs_naming_the_input(tmp_path):
    s = load_library(_library(tmp_path / "lib.h5"))["poly.y"]
    X = np.array([[0.5, 0.5], [0.2, np.nan], [np.inf, 0.1]])
    with pytest.raises(SurrogateError, match=r"^surrogate 'poly.y': X: 2 of 6 entries are not finite \(NaN or inf\) "
                                             r"in a \(1\), b \(1\)$"):
        s.predict(X, out_of_domain="clip")
    with pytest.raises(SurrogateError, match=r"^X: 2 of 6 entries are not finite"):
        s.model.predict(X)


# ------------------------------------------------------------------ crossbar reads and solver
class NoEngine:
    """Any use is a failure: non-finite input must be refused before ngspice is touched."""

    def __getattr__(self, name):
        raise AssertionError(f"engine.{name} used on non-finite input")


def test_crossbar_column_currents_refuse_nan_before_ngspice():
    G, V = np.full((3, 2), 1e-5), np.array([0.1, 0.2, 0.0])
    xb = Crossbar(3, 2)
    G[1, 1] = np.nan
    with pytest.raises(CircuitError, match=r"^crossbar: G: 1 of 6 entries are not finite"):
        xb.column_currents(G, V, engine=NoEngine())
    V = np.array([[0.1, np.nan, np.inf], [0.0, 0.1, np.nan]])
    with pytest.raises(CircuitError, match=r"^crossbar: V: 3 of 6 entries are not finite"):
        xb.column_currents(np.full((3, 2), 1e-5), V, engine=NoEngine())


def test_crossbar_solver_refuses_nan_conductances_and_voltages():
    solver = CrossbarSolver(3, 4, r_wire=1.0)
    G, V = np.full((3, 4), 1e-5), np.ones(3)
    G[0, 2] = np.nan
    for call in (lambda: solver.column_currents(G, V), lambda: solver.solve(G, V),
                 lambda: solver.transfer_matrix(G)):
        with pytest.raises(SolverError, match=r"^G: 1 of 12 entries are not finite"):
            call()
    with pytest.raises(SolverError, match=r"^V: 2 of 6 entries are not finite"):
        solver.column_currents(np.full((3, 4), 1e-5), np.array([[0.1, -np.inf, 0.2], [np.nan, 0.0, 0.0]]))


def test_network_files_with_nan_weights_are_refused(tmp_path):
    """A user's network (cimspice HDF5 or ONNX) is data from outside: NaN weights are refused at load."""
    from cimspice.sim.zoo import load_network
    from cimspice.sim.zoo.store import ZOO_DIR

    bad = tmp_path / "mlp_nan.h5"
    bad.write_bytes((ZOO_DIR / "mlp.h5").read_bytes())
    with h5py.File(bad, "r+") as f:
        name = sorted(f["weights"])[0]
        values = f["weights"][name][()]
        values.flat[0] = np.nan
        f["weights"][name][...] = values
    with pytest.raises(SimError, match=rf"mlp_nan.h5: weights/{re.escape(name)}: 1 of \d+ entries are not finite"):
        load_network(bad)

    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper, numpy_helper

    w = np.ones((4, 3), dtype=np.float32)
    w[1, 2] = np.inf
    graph = helper.make_graph([helper.make_node("MatMul", ["x", "w"], ["y"])], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3])],
                              [numpy_helper.from_array(w, "w")])
    path = tmp_path / "inf.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    with pytest.raises(SimError, match="inf.onnx: initializer 'w': 1 of 12 entries are not finite"):
        load_network(path)
