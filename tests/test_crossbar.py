"""Crossbar netlists in ngspice against independent oracles, and the fast solver against them.

* ``cell="R"`` against a textbook dense nodal solve written in tests/oracles.py;
* the fast solver (:mod:`cimspice.sim.crossbar`) against ngspice on the same arrays:
  linear cells, the ReRAM alone (its sinh read law), and 1T1R cells through a surrogate
  fitted to a ngspice sweep of one cell (:class:`cimspice.sim.crossbar.SurrogateArrayCell`);
* transient reads against the closed-form modal solution of the RC network.
"""

from __future__ import annotations

import numpy as np
import pytest
from oracles import mna_column_currents, rc_crossbar_read

from cimspice.circuits import CircuitError
from cimspice.circuits.crossbar import Crossbar
from cimspice.circuits.devices import RERAM
from cimspice.sim.crossbar import CrossbarSolver, SinhCell, SurrogateArrayCell

RNG = np.random.default_rng(7)


def random_G(rows, cols, rng=RNG):
    """Log-uniform over the ReRAM window [g_off, g_on], as programmed analog weights are."""
    return np.exp(rng.uniform(np.log(RERAM.g_off), np.log(RERAM.g_on), (rows, cols)))


def err_of_full_scale(got, ref):
    """Largest deviation as a fraction of the largest column current (the column full scale)."""
    return float(np.abs(np.asarray(got) - ref).max() / np.abs(ref).max())


# ------------------------------------------------------------------ R cells vs nodal analysis
@pytest.mark.parametrize("shape", [(1, 1), (3, 5), (8, 8), (16, 12)])
@pytest.mark.parametrize("r_wire", [0.0, 0.5, 10.0])
@pytest.mark.parametrize("r_sense", [0.0, 1e3])
def test_linear_crossbar_matches_nodal_analysis(shape, r_wire, r_sense):
    G = RNG.uniform(1e-6, 1e-4, shape)
    V = RNG.uniform(-0.3, 0.5, (3, shape[0]))
    got = Crossbar(*shape, cell="R", r_wire=r_wire, r_sense=r_sense).column_currents(G, V)
    ref = np.array([mna_column_currents(G, v, r_wire, r_wire, r_sense) for v in V])
    assert got.shape == (3, shape[1])
    assert np.abs(got - ref).max() <= 1e-6 * np.abs(ref).max()


def test_separate_row_and_column_wires_and_single_vector():
    G = RNG.uniform(1e-6, 1e-4, (6, 4))
    V = RNG.uniform(0, 0.4, 6)
    got = Crossbar(6, 4, r_row=3.0, r_col=0.2).column_currents(G, V)
    assert got.shape == (4,)
    np.testing.assert_allclose(got, mna_column_currents(G, V, 3.0, 0.2), rtol=1e-6)


# ------------------------------------------------------------------ fast solver vs ngspice
def test_fast_solver_matches_ngspice_linear():
    n = 32
    G, V = random_G(n, n), RNG.uniform(0, 0.3, (2, n))
    ref = Crossbar(n, n, "R", r_wire=2.0).column_currents(G, V)
    got = CrossbarSolver(n, n, r_wire=2.0).column_currents(G, V)
    assert np.abs(got - ref).max() <= 1e-6 * np.abs(ref).max()


@pytest.mark.parametrize("n", [16, 32, pytest.param(64, marks=pytest.mark.slow)])
def test_fast_solver_matches_ngspice_1r(n):
    G, V = random_G(n, n), RNG.uniform(0, 0.6, (1, n))  # up to 0.6 V: deep in the sinh law
    ref = Crossbar(n, n, "1R", r_wire=2.0).column_currents(G, V)
    got = CrossbarSolver(n, n, r_wire=2.0, cell=SinhCell(RERAM.v0)).column_currents(G, V)
    assert err_of_full_scale(got, ref) <= 1e-3
    # the ReRAM's nonlinearity is really there: a linear-cell solve is far off
    linear = CrossbarSolver(n, n, r_wire=2.0).column_currents(G, V)
    assert err_of_full_scale(linear, ref) > 0.05


@pytest.fixture(scope="module")
def cell_1t1r_surrogate(tmp_path_factory):
    """A 1T1R cell surrogate i_cell(g, v_bl, v_sl) fitted to a ngspice grid sweep of the cell
    (word line at VDD, 27 degC), covering the row and column node voltages of the arrays below."""
    from cimspice.characterize import parse_sweep_spec, run_sweep
    from cimspice.surrogate import fit_surrogates

    path = tmp_path_factory.mktemp("cell") / "cell.h5"
    spec = {"circuit": "cell_1t1r", "design": "grid", "outputs": ["i_cell"],
            "parameters": {"g": {"start": RERAM.g_off, "stop": RERAM.g_on, "num": 13, "scale": "log"},
                           "v_bl": {"start": 0.0, "stop": 0.35, "num": 15},
                           "v_sl": {"start": 0.0, "stop": 0.15, "num": 7}}}
    run_sweep(parse_sweep_spec(spec, source="test 1T1R cell"), path, progress=False)
    (surrogate,) = fit_surrogates(path, outputs=["i_cell"], models=["grid-cubic"]).values()
    return surrogate


@pytest.mark.parametrize("n", [16, pytest.param(64, marks=pytest.mark.slow)])
def test_fast_solver_matches_ngspice_1t1r(n, cell_1t1r_surrogate):
    G, V = random_G(n, n), RNG.uniform(0, 0.3, (1, n))
    ref = Crossbar(n, n, "1T1R", r_wire=2.0).column_currents(G, V)
    cell = SurrogateArrayCell(cell_1t1r_surrogate)
    got = CrossbarSolver(n, n, r_wire=2.0, cell=cell).column_currents(G, V)
    assert err_of_full_scale(got, ref) <= 1e-3
    # the access transistor matters: the same array of 1R cells reads differently
    one_r = CrossbarSolver(n, n, r_wire=2.0, cell=SinhCell(RERAM.v0)).column_currents(G, V)
    assert err_of_full_scale(one_r, ref) > 0.01


def test_surrogate_cell_refuses_voltages_outside_its_domain(cell_1t1r_surrogate):
    cell = SurrogateArrayCell(cell_1t1r_surrogate)
    i, d_top, d_bottom = cell.current(np.array([0.2, 0.9]), np.array([0.0, 0.0]), np.array([1e-5, 1e-5]))
    assert np.isfinite(i[0]) and np.isnan(i[1])
    assert d_top[0] > 0 > d_bottom[0]


# ------------------------------------------------------------------ transient read
def test_transient_read_matches_closed_form_rc_response():
    rows, cols, r_wire, c_wire, rise = 4, 3, 200.0, 5e-15, 50e-12
    G = random_G(rows, cols)
    V = RNG.uniform(0.1, 0.3, rows)
    read = Crossbar(rows, cols, "R", r_wire=r_wire, c_wire=c_wire).read_transient(
        G, V, rise=rise, stop=3e-9, step=0.5e-12, tolerance=1e-3)
    t = np.linspace(0, 3e-9, 300001)
    columns, sources = rc_crossbar_read(G, V, r_wire, c_wire, rise, t)
    final = columns[-1]
    np.testing.assert_allclose(read.column_currents, final, rtol=1e-4)
    band = 1e-3 * np.abs(final).max()
    outside = np.abs(columns - final) > band
    latency = max(t[np.flatnonzero(outside[:, j])[-1] + 1] for j in range(cols))
    assert read.latency == pytest.approx(latency, rel=0.03, abs=0)
    power = (np.minimum(t / rise, 1.0)[:, None] * V * sources).sum(axis=1)
    upto = t <= read.latency
    energy = np.trapezoid(power[upto], t[upto])
    assert read.energy == pytest.approx(energy, rel=0.01, abs=0)


def test_transient_read_refuses_an_unsettled_window():
    G = random_G(2, 2)
    with pytest.raises(CircuitError, match="not settled"):
        Crossbar(2, 2, "R", r_wire=200.0, c_wire=1e-12).read_transient(G, [0.2, 0.2], rise=1e-12, stop=2e-12)


# ------------------------------------------------------------------ physics of the builder
def test_access_transistor_corner_and_word_line_set_the_1t1r_current():
    G, V = random_G(4, 4), RNG.uniform(0.1, 0.3, 4)
    ff = Crossbar(4, 4, "1T1R", corner="ff").column_currents(G, V)
    ss = Crossbar(4, 4, "1T1R", corner="ss").column_currents(G, V)
    weak = Crossbar(4, 4, "1T1R", v_wl=0.5).column_currents(G, V)
    assert np.all(ff > ss) and np.all(weak < ss)
    # with the word lines off, only subthreshold leakage flows
    off = Crossbar(4, 4, "1T1R", v_wl=0.0).column_currents(G, V)
    assert np.abs(off).max() < 1e-3 * np.abs(ff).max()


# ------------------------------------------------------------------ bad input
class NoEngine:
    """Any use is a failure: bad input must be refused before ngspice is touched."""

    def __getattr__(self, name):
        raise AssertionError(f"engine.{name} used on bad input")


@pytest.mark.parametrize("G, word", [
    (-np.ones((3, 2)) * 1e-5, "positive"),
    (np.zeros((3, 2)), "positive"),
    (np.full((3, 2), np.nan), "NaN"),
    (np.ones((2, 3)) * 1e-5, "shape"),
    (np.array([["a", "b"]] * 3), "numbers"),
])
def test_bad_conductances_are_refused_before_running(G, word):
    with pytest.raises(CircuitError, match=word):
        Crossbar(3, 2).column_currents(G, np.zeros(3), engine=NoEngine())


@pytest.mark.parametrize("V, word", [
    (np.zeros(2), "shape"),
    (np.zeros((2, 4)), "shape"),
    (np.array([0.1, np.inf, 0.0]), "1 of 3 entries are not finite"),
])
def test_bad_voltages_are_refused_before_running(V, word):
    with pytest.raises(CircuitError, match=word):
        Crossbar(3, 2).column_currents(np.full((3, 2), 1e-5), V, engine=NoEngine())


def test_reram_reads_outside_the_window_or_beyond_the_switching_threshold_are_refused():
    xb = Crossbar(3, 2, "1R")
    with pytest.raises(CircuitError, match="window"):
        xb.column_currents(np.full((3, 2), 1e-3), np.zeros(3), engine=NoEngine())
    with pytest.raises(CircuitError, match="switch"):
        xb.column_currents(np.full((3, 2), 1e-5), np.array([0.1, 1.2, 0.0]), engine=NoEngine())


@pytest.mark.parametrize("kwargs, word", [
    ({"rows": 0, "cols": 2}, "rows"),
    ({"rows": 2.5, "cols": 2}, "rows"),
    ({"rows": 2, "cols": 2, "cell": "2T2R"}, "cell"),
    ({"rows": 2, "cols": 2, "r_wire": -1.0}, "r_row"),
    ({"rows": 2, "cols": 2, "c_wire": float("nan")}, "c_wire"),
    ({"rows": 2, "cols": 2, "corner": "fs"}, "corner"),
    ({"rows": 2, "cols": 2, "cell": "1T1R", "v_wl": 3.0}, "v_wl"),
])
def test_bad_construction_is_one_clear_error(kwargs, word):
    with pytest.raises(CircuitError, match=word) as info:
        Crossbar(**kwargs)
    assert "\n" not in str(info.value)
