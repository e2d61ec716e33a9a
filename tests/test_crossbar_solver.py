"""Tests of cimspice.sim.crossbar (the solver) against oracles that share no code with it.

Oracles: a dense modified-nodal-analysis (MNA) solve written here with plain loops (zero-ohm
wires become 0 V sources, as in SPICE; nonlinear cells by Newton with a finite-difference
Jacobian), closed
forms for 1x1 arrays and ideal wires, and ngspice itself on netlists generated here.
"""

from __future__ import annotations

import re
import shutil
import subprocess

import numpy as np
import pytest
from oracles import mna_column_currents

from cimspice import CimspiceError
from cimspice.sim.crossbar import Cell, CrossbarSolver, LinearCell, SinhCell, SolverConvergenceError, SolverError

RNG = np.random.default_rng(20240611)
V0 = 0.25  # sinh voltage scale (V) used throughout; a strongly nonlinear read law at 0.5 V


def random_array(rows, cols, rng=RNG):
    """G (rows, cols) uniform in [1e-6, 1e-4] S (1 Mohm .. 10 kohm cells)."""
    return rng.uniform(1e-6, 1e-4, (rows, cols))


def rel_err(got, ref):
    """Largest deviation relative to the largest reference column current."""
    return np.abs(np.asarray(got) - ref).max() / np.abs(ref).max()


class Nonsymmetric3T:
    """Hand-written three-terminal test cell: I = G (vt - vb)(1 + k vb), exact partials."""

    def __init__(self, k=0.8):
        self.k = k

    def current(self, v_top, v_bottom, G):
        s = 1.0 + self.k * v_bottom
        i = G * (v_top - v_bottom) * s
        return i, G * s, G * (self.k * (v_top - v_bottom) - s)


# ------------------------------------------------------------------------ 1. vs dense MNA
@pytest.mark.parametrize("shape", [(1, 1), (1, 5), (5, 1), (4, 3), (8, 8), (16, 16)])
@pytest.mark.parametrize("r_wire", [0.0, 0.1, 1.0, 10.0])
@pytest.mark.parametrize("r_sense", [0.0, 100.0])
@pytest.mark.parametrize("method", ["direct", "iterative"])
def test_linear_matches_dense_mna(shape, r_wire, r_sense, method):
    G = random_array(*shape)
    V = RNG.uniform(-0.5, 0.5, shape[0])
    ref = mna_column_currents(G, V, r_wire, r_wire, r_sense)
    got = CrossbarSolver(*shape, r_wire=r_wire, r_sense=r_sense, method=method
                         ).column_currents(G, V)
    assert got.shape == (shape[1],)
    assert rel_err(got, ref) < 1e-6


@pytest.mark.parametrize("r_row, r_col", [(0.0, 2.0), (2.0, 0.0), (0.5, 5.0), (5.0, 0.5)])
@pytest.mark.parametrize("r_sense", [0.0, 300.0])
@pytest.mark.parametrize("method", ["direct", "iterative"])
def test_separate_row_and_column_wires(r_row, r_col, r_sense, method):
    G = random_array(6, 7)
    V = RNG.uniform(0.0, 0.5, 6)
    ref = mna_column_currents(G, V, r_row, r_col, r_sense)
    got = CrossbarSolver(6, 7, r_row=r_row, r_col=r_col, r_sense=r_sense, method=method
                         ).column_currents(G, V)
    assert rel_err(got, ref) < 1e-6


# the laws written out again, independently of the cell classes
LAWS = {"sinh": (SinhCell(V0), lambda a, b, g: g * V0 * np.sinh((a - b) / V0)),
        "3T": (Nonsymmetric3T(0.8), lambda a, b, g: g * (a - b) * (1 + 0.8 * b))}


@pytest.mark.parametrize("law", ["sinh", "3T"])
@pytest.mark.parametrize("r_row, r_col, r_sense", [(1.0, 1.0, 0.0), (5.0, 2.0, 200.0),
                                                   (0.0, 3.0, 0.0), (3.0, 0.0, 200.0)])
@pytest.mark.parametrize("method", ["direct", "iterative"])
def test_nonlinear_matches_dense_mna(law, r_row, r_col, r_sense, method):
    cell, current = LAWS[law]
    G = random_array(5, 4) * 20  # strong cells: a large IR drop drives the nonlinearity
    V = RNG.uniform(0.2, 0.6, 5)
    ref = mna_column_currents(G, V, r_row, r_col, r_sense, cell_current=current)
    got = CrossbarSolver(5, 4, r_row=r_row, r_col=r_col, r_sense=r_sense, cell=cell,
                         method=method).column_currents(G, V)
    assert rel_err(got, ref) < 1e-8


# ----------------------------------------------------------------------- 2. analytic limits
@pytest.mark.parametrize("r_wire", [0.0, 0.5, 10.0, 1e3])
def test_single_cell_closed_form(r_wire):
    g, v = 3.7e-5, 0.42
    I = CrossbarSolver(1, 1, r_wire=r_wire).column_currents([[g]], [v])
    assert I.shape == (1,)
    assert I[0] == pytest.approx(v / (1.0 / g + 2.0 * r_wire), rel=1e-12, abs=0)


def test_single_cell_with_sense_resistor():
    g, v, r, rs = 2e-5, 0.3, 4.0, 1e3
    I = CrossbarSolver(1, 1, r_wire=r, r_sense=rs).column_currents([[g]], [v])
    assert I[0] == pytest.approx(v / (1.0 / g + 2.0 * r + rs), rel=1e-12, abs=0)


@pytest.mark.parametrize("method", ["direct", "iterative"])
def test_ideal_wires_give_vector_matrix_product(method):
    G = random_array(9, 6)
    V = RNG.uniform(-1.0, 1.0, (3, 9))
    I = CrossbarSolver(9, 6, r_wire=0.0, method=method).column_currents(G, V)
    np.testing.assert_allclose(I, V @ G, rtol=1e-13, atol=0)


def test_ideal_wires_with_sense_resistor_closed_form():
    G = random_array(7, 5)
    V = RNG.uniform(0.0, 1.0, 7)
    rs = 500.0
    vs = (V @ G) / (1.0 / rs + G.sum(axis=0))  # each column is one node
    op = CrossbarSolver(7, 5, r_wire=0.0, r_sense=rs).solve(G, V)
    np.testing.assert_allclose(op.sense_voltages, vs, rtol=1e-12)
    np.testing.assert_allclose(op.column_currents, vs / rs, rtol=1e-12)


def test_sinh_single_cell_implicit_equation():
    g, v, r = 8e-4, 0.7, 50.0
    I = CrossbarSolver(1, 1, r_wire=r, cell=SinhCell(V0)).column_currents([[g]], [v])[0]
    # one segment on the row and one to the sense node: I = g v0 sinh((v - 2 r I) / v0)
    assert I == pytest.approx(g * V0 * np.sinh((v - 2 * r * I) / V0), rel=1e-12, abs=0)


# ------------------------------------------------------------------------- 3. vs ngspice
NGSPICE = shutil.which("ngspice")
def needs_ngspice(test):
    """ngspice is part of the set-up (scripts/setup.sh): its absence must fail, not skip."""
    return test


def crossbar_netlist(G, V, r_wire, r_sense=0.0, v0=None):
    """The topology as a SPICE deck: R cells, or B-source sinh cells when v0 is given."""
    R, C = G.shape
    lines = ["* crossbar generated by test_crossbar_solver"]
    for i in range(R):
        lines.append(f"Vin{i} in{i} 0 {V[i]:.17g}")
        lines.append(f"Rr{i}_0 in{i} r{i}_0 {r_wire:.17g}")
        for j in range(1, C):
            lines.append(f"Rr{i}_{j} r{i}_{j - 1} r{i}_{j} {r_wire:.17g}")
    for j in range(C):
        for i in range(1, R):
            lines.append(f"Rc{i}_{j} c{i - 1}_{j} c{i}_{j} {r_wire:.17g}")
        lines.append(f"Rcs{j} c{R - 1}_{j} s{j} {r_wire:.17g}")
        if r_sense > 0:
            lines.append(f"Rsense{j} s{j} m{j} {r_sense:.17g}")
            lines.append(f"Vs{j} m{j} 0 0")
        else:
            lines.append(f"Vs{j} s{j} 0 0")
    for i in range(R):
        for j in range(C):
            if v0 is None:
                lines.append(f"Rx{i}_{j} r{i}_{j} c{i}_{j} {1.0 / G[i, j]:.17g}")
            else:
                lines.append(f"Bx{i}_{j} r{i}_{j} c{i}_{j} "
                             f"I={G[i, j] * v0:.17g}*sinh(V(r{i}_{j},c{i}_{j})/{v0:.17g})")
    lines += [".options reltol=1e-9 abstol=1e-16 vntol=1e-12",
              ".control", "op", "set numdgt=15",
              *(f"print i(vs{j})" for j in range(C)),
              ".endc", ".end"]
    return "\n".join(lines) + "\n"


def run_ngspice(netlist, tmp_path, cols):
    deck = tmp_path / "crossbar.cir"
    deck.write_text(netlist)
    out = subprocess.run([NGSPICE, "-b", str(deck)], capture_output=True, text=True,
                         timeout=120).stdout
    values = dict(re.findall(r"^i\(vs(\d+)\)\s*=\s*(\S+)", out, flags=re.M))
    assert len(values) == cols, out[-2000:]
    return np.array([float(values[str(j)]) for j in range(cols)])


@needs_ngspice
@pytest.mark.parametrize("n", [8, pytest.param(32, marks=pytest.mark.slow)])
@pytest.mark.parametrize("r_sense", [0.0, 250.0])
def test_linear_matches_ngspice(n, r_sense, tmp_path):
    G = random_array(n, n)
    V = RNG.uniform(0.0, 0.5, n)
    ref = run_ngspice(crossbar_netlist(G, V, 2.0, r_sense), tmp_path, n)
    got = CrossbarSolver(n, n, r_wire=2.0, r_sense=r_sense).column_currents(G, V)
    assert rel_err(got, ref) < 1e-6


@needs_ngspice
@pytest.mark.parametrize("n", [8, pytest.param(32, marks=pytest.mark.slow)])
def test_sinh_matches_ngspice(n, tmp_path):
    G = random_array(n, n) * 10  # 1e-5..1e-3 S: ~30 % IR drop at 32x32, well into sinh
    V = RNG.uniform(0.2, 0.6, n)
    ref = run_ngspice(crossbar_netlist(G, V, 2.0, v0=V0), tmp_path, n)
    got = CrossbarSolver(n, n, r_wire=2.0, cell=SinhCell(V0)).column_currents(G, V)
    assert rel_err(got, ref) < 1e-4
    # and it is really nonlinear: the linear law would be far off
    lin = CrossbarSolver(n, n, r_wire=2.0).column_currents(G, V)
    assert rel_err(lin, ref) > 1e-2


# ---------------------------------------------------------------- 4. iterative vs direct
@pytest.mark.parametrize("n", [64, pytest.param(256, marks=pytest.mark.slow)])
@pytest.mark.parametrize("r_wire, r_sense", [(1.0, 0.0), (10.0, 500.0)])
def test_iterative_agrees_with_direct(n, r_wire, r_sense):
    G = random_array(n, n)
    V = RNG.uniform(-0.5, 0.5, (2, n))
    ref = CrossbarSolver(n, n, r_wire=r_wire, r_sense=r_sense, method="direct"
                         ).column_currents(G, V)
    op = CrossbarSolver(n, n, r_wire=r_wire, r_sense=r_sense, method="iterative").solve(G, V)
    assert op.method == "iterative" and op.linear_iterations > 0
    assert rel_err(op.column_currents, ref) < 1e-8


@pytest.mark.parametrize("cell", [SinhCell(V0), Nonsymmetric3T()], ids=["sinh", "3T"])
def test_nonlinear_iterative_agrees_with_direct(cell):
    G = random_array(48, 40) * 10
    V = RNG.uniform(0.1, 0.5, (2, 48))
    kw = dict(r_wire=3.0, r_sense=100.0, cell=cell)
    ref = CrossbarSolver(48, 40, method="direct", **kw).column_currents(G, V)
    got = CrossbarSolver(48, 40, method="iterative", **kw).column_currents(G, V)
    assert rel_err(got, ref) < 1e-8


def test_newton_survives_cells_much_stiffer_than_wires():
    # V / v0 up to 40: at the starting point the cells' differential conductance is ~1e13 x
    # the wires', the Krylov solves stall and only partial steps reach the line search
    G = random_array(12, 12)
    V = RNG.uniform(0.0, 2.0, (2, 12))
    kw = dict(r_wire=10.0, r_sense=1000.0, cell=SinhCell(0.05))
    ref = CrossbarSolver(12, 12, method="direct", **kw).column_currents(G, V)
    got = CrossbarSolver(12, 12, method="iterative", **kw).column_currents(G, V)
    assert rel_err(got, ref) < 1e-8


# ------------------------------------------------------------------ 5. batch vs one by one
@pytest.mark.parametrize("cell", [LinearCell(), SinhCell(V0), Nonsymmetric3T()],
                         ids=["linear", "sinh", "3T"])
@pytest.mark.parametrize("method", ["direct", "iterative"])
def test_batch_equals_one_by_one(cell, method):
    G = random_array(12, 10) * 5
    V = RNG.uniform(-0.4, 0.6, (7, 12))  # fewer vectors than rows: no transfer matrix
    solver = CrossbarSolver(12, 10, r_wire=2.0, r_sense=50.0, cell=cell, method=method)
    batch = solver.column_currents(G, V)
    single = np.array([CrossbarSolver(12, 10, r_wire=2.0, r_sense=50.0, cell=cell,
                                      method=method).column_currents(G, v) for v in V])
    assert batch.shape == (7, 10)
    np.testing.assert_allclose(batch, single, rtol=1e-9, atol=1e-9 * np.abs(single).max())


def test_large_batch_uses_transfer_matrix_and_agrees():
    G = random_array(10, 8)
    V = RNG.uniform(-0.5, 0.5, (25, 10))  # >= rows: answered as V @ W
    solver = CrossbarSolver(10, 8, r_wire=1.5)
    I = solver.column_currents(G, V)
    W = solver.transfer_matrix(G)
    ref = np.array([mna_column_currents(G, v, 1.5, 1.5) for v in V[:3]])
    assert rel_err(I[:3], ref) < 1e-9
    np.testing.assert_allclose(I, V @ W, rtol=1e-12)
    one = CrossbarSolver(10, 8, r_wire=1.5, method="direct").column_currents(G, V[5])
    assert rel_err(I[5], one) < 1e-9


def test_transfer_matrix_limits_and_cache():
    G, G2 = random_array(5, 4), random_array(5, 4)
    solver = CrossbarSolver(5, 4, r_wire=0.0)
    solver.column_currents(G2, np.ones(5))
    np.testing.assert_array_equal(solver.transfer_matrix(G), G)  # ideal wires: W = G
    V = RNG.uniform(-1, 1, (6, 5))
    np.testing.assert_allclose(solver.column_currents(G2, V), V @ G2, rtol=1e-13)
    solver.r_row = solver.r_col = 3.0  # changed wires must not reuse the cached W
    W = solver.transfer_matrix(G2)
    np.testing.assert_allclose(W[0], mna_column_currents(G2, np.eye(5)[0], 3.0, 3.0),
                               rtol=1e-9)
    with pytest.raises(SolverError, match="^cell: .*nonlinear"):
        CrossbarSolver(5, 4, cell=SinhCell(V0)).transfer_matrix(G)


def test_cached_factorisation_follows_G():
    solver = CrossbarSolver(6, 6, r_wire=1.0)
    G1, G2 = random_array(6, 6), random_array(6, 6)
    V = RNG.uniform(0, 0.5, 6)
    a = solver.column_currents(G1, V)
    b = solver.column_currents(G2, V)  # a different G must not reuse G1's factors
    G1_again = G1.copy()
    assert rel_err(b, mna_column_currents(G2, V, 1.0, 1.0)) < 1e-9
    np.testing.assert_array_equal(solver.column_currents(G1_again, V), a)


# ------------------------------------------------------------------------ 6. bad input
@pytest.mark.parametrize("G, word", [
    (-np.ones((3, 4)) * 1e-5, "> 0"),
    (np.zeros((3, 4)), "> 0"),
    (np.full((3, 4), np.nan), "NaN"),
    (np.ones((4, 3)) * 1e-5, "shape"),
    (np.ones(12) * 1e-5, "shape"),
    ([["a"] * 4] * 3, "real"),
])
def test_bad_G(G, word):
    with pytest.raises(SolverError, match=rf"^G: .*{re.escape(word)}"):
        CrossbarSolver(3, 4).column_currents(G, np.ones(3))


@pytest.mark.parametrize("V, word", [
    (np.ones(4), "shape"), (np.ones((2, 2)), "shape"), (np.ones((1, 1, 3)), "shape"),
    (np.array([0.1, np.nan, 0.2]), "NaN"), (np.array([0.1, np.inf, 0.2]), "NaN"),
])
def test_bad_V(V, word):
    with pytest.raises(SolverError, match=rf"^V: .*{word}"):
        CrossbarSolver(3, 4).column_currents(np.full((3, 4), 1e-5), V)


@pytest.mark.parametrize("kwargs, name", [
    (dict(r_wire=-1.0), "r_wire"), (dict(r_wire=np.nan), "r_wire"),
    (dict(r_sense=-5.0), "r_sense"), (dict(r_row=-1.0), "r_row"), (dict(r_col="x"), "r_col"),
    (dict(method="magic"), "method"), (dict(cell=object()), "cell"),
    (dict(rtol=0.0), "rtol"), (dict(max_newton=0), "max_newton"),
])
def test_bad_parameters(kwargs, name):
    with pytest.raises(SolverError, match=rf"^{name}: "):
        CrossbarSolver(3, 4, **kwargs)


@pytest.mark.parametrize("rows, cols", [(0, 4), (3, -1), (2.5, 3), (True, 3)])
def test_bad_size(rows, cols):
    with pytest.raises(SolverError, match=r"^(rows|cols): "):
        CrossbarSolver(rows, cols)


def test_errors_are_one_line_cimspice_errors():
    with pytest.raises(CimspiceError) as info:
        CrossbarSolver(3, 4).column_currents(np.full((3, 4), -1.0), np.ones(3))
    assert "\n" not in str(info.value)
    with pytest.raises(SolverError, match="^v0: "):
        SinhCell(-0.1)


def test_bad_input_runs_nothing():
    class Spy(LinearCell):
        calls = 0

        def current(self, *args):
            Spy.calls += 1
            return super().current(*args)

    with pytest.raises(SolverError):
        CrossbarSolver(3, 4, cell=Spy()).column_currents(np.full((3, 4), 1e-5), [0.1, 0.2])
    assert Spy.calls == 0


def test_nonconvergence_is_reported():
    G = random_array(8, 8) * 50
    V = np.full(8, 0.8)
    with pytest.raises(SolverConvergenceError, match="Newton did not converge"):
        CrossbarSolver(8, 8, r_wire=20.0, cell=SinhCell(0.05), max_newton=2
                       ).column_currents(G, V)
    with pytest.raises(SolverConvergenceError, match="conjugate gradients"):
        CrossbarSolver(8, 8, r_wire=20.0, method="iterative", max_linear=1
                       ).column_currents(G, V)


def test_auto_falls_back_to_sparse_lu():
    G = random_array(8, 8)
    V = RNG.uniform(0, 0.5, 8)
    op = CrossbarSolver(8, 8, r_wire=20.0, max_linear=1).solve(G, V)
    assert op.method == "direct"
    assert rel_err(op.column_currents, mna_column_currents(G, V, 20.0, 20.0)) < 1e-9


# ------------------------------------------------------------------- 7. physics sanity
def test_ir_drop_loss_grows_with_wire_resistance_and_size():
    def loss(n, r):
        G = np.random.default_rng(n).uniform(1e-6, 1e-4, (n, n))
        V = np.full(n, 0.3)
        I = CrossbarSolver(n, n, r_wire=r).column_currents(G, V)
        ideal = V @ G
        assert np.all(I > 0) and np.all(I < ideal)  # strictly below the ideal product
        return 1.0 - I.sum() / ideal.sum()

    by_r = [loss(32, r) for r in (0.1, 1.0, 10.0)]
    assert 0 < by_r[0] < by_r[1] < by_r[2]
    by_n = [loss(n, 1.0) for n in (8, 32, 128)]
    assert 0 < by_n[0] < by_n[1] < by_n[2]


def test_operating_point_is_consistent():
    G = random_array(9, 7)
    V = RNG.uniform(0.1, 0.5, 9)
    r, rs = 2.0, 80.0
    op = CrossbarSolver(9, 7, r_wire=r, r_sense=rs, cell=SinhCell(V0)).solve(G, V)
    # current down the last column segment = column current = sense voltage / r_sense
    np.testing.assert_allclose((op.column_voltages[-1] - op.sense_voltages) / r,
                               op.column_currents, rtol=1e-9)
    np.testing.assert_allclose(op.sense_voltages / rs, op.column_currents, rtol=1e-12)
    # each source delivers what its row's cells draw
    np.testing.assert_allclose((V - op.row_voltages[:, 0]) / r, op.cell_currents.sum(axis=1),
                               rtol=1e-8)
    i, _, _ = SinhCell(V0).current(op.row_voltages, op.column_voltages, G)
    np.testing.assert_allclose(op.cell_currents, i, rtol=1e-12)
    assert np.all(np.diff(op.row_voltages, axis=1) < 0)  # voltage falls along every row


def test_cells_follow_the_protocol():
    for cell in (LinearCell(), SinhCell(V0), Nonsymmetric3T()):
        assert isinstance(cell, Cell)
    vt, vb, g = np.array([0.3, -0.2]), np.array([0.01, 0.02]), np.array([1e-5, 2e-5])
    i, a, b = SinhCell(V0).current(vt, vb, g)
    h = 1e-6
    np.testing.assert_allclose(a, (SinhCell(V0).current(vt + h, vb, g)[0]
                                   - SinhCell(V0).current(vt - h, vb, g)[0]) / (2 * h), rtol=1e-6)
    np.testing.assert_allclose(b, -a)


def test_zero_input_and_empty_batch():
    solver = CrossbarSolver(4, 3, cell=SinhCell(V0))
    G = random_array(4, 3)
    np.testing.assert_array_equal(solver.column_currents(G, np.zeros(4)), np.zeros(3))
    assert solver.column_currents(G, np.zeros((0, 4))).shape == (0, 3)
