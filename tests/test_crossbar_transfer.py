"""The condensed transfer matrix of a linear crossbar against oracles sharing no code with it:
a dense MNA solve per unit input (tests/oracles.py) and the solver's own Krylov route."""

from __future__ import annotations

import numpy as np
import pytest
from oracles import mna_column_currents

from cimspice.sim.crossbar import CrossbarSolver, LinearCell

RNG = np.random.default_rng(77)


def oracle_W(G, r_row, r_col, r_sense):
    rows = G.shape[0]
    return np.array([mna_column_currents(G, e, r_row, r_col, r_sense) for e in np.eye(rows)])


@pytest.mark.parametrize("shape", [(1, 1), (1, 6), (6, 1), (5, 7), (12, 9)])
@pytest.mark.parametrize("r_row, r_col, r_sense", [(1.0, 1.0, 0.0), (0.01, 10.0, 0.0), (10.0, 0.5, 200.0),
                                                   (1e-4, 1e-4, 0.0)])
def test_condensed_transfer_matches_dense_mna(shape, r_row, r_col, r_sense):
    G = RNG.uniform(1e-6, 1e-4, shape)
    solver = CrossbarSolver(*shape, r_row=r_row, r_col=r_col, r_sense=r_sense)
    W = solver.transfer_matrix(G)
    ref = oracle_W(G, r_row, r_col, r_sense)
    assert np.abs(W - ref).max() <= 1e-9 * np.abs(ref).max()
    # 'fresh' superposition check: any V gives V @ W
    V = RNG.uniform(-0.3, 0.3, shape[0])
    np.testing.assert_allclose(V @ W, mna_column_currents(G, V, r_row, r_col, r_sense),
                               rtol=1e-9, atol=1e-12 * np.abs(ref).max())


def test_condensed_transfer_with_heavy_ir_drop():
    # up to 1 mS cells on 5 ohm wires: cells far from driver and sense lose ~half their current
    G = RNG.uniform(1e-4, 1e-3, (16, 16))
    W = CrossbarSolver(16, 16, r_wire=5.0).transfer_matrix(G)
    ref = oracle_W(G, 5.0, 5.0, 0.0)
    assert np.abs(W - ref).max() <= 1e-9 * np.abs(ref).max()
    assert (W / G).min() < 0.6  # a real IR-drop case: some cells deliver under 60 %


@pytest.mark.slow
@pytest.mark.parametrize("r_wire, g_low", [(1e-5, 1e-8), (1e-3, 1e-7)])
def test_condensed_transfer_with_wires_far_stiffer_than_cells(r_wire, g_low):
    # wire/cell conductance ratios of 1e10..1e13: where g_r - g_r^2 (g_r + Y)^-1 cancels;
    # the error must stay relative to g_r + Y, not to Y
    G = RNG.uniform(g_low, 1e-4, (24, 20))
    W = CrossbarSolver(24, 20, r_wire=r_wire).transfer_matrix(G)
    ref = oracle_W(G, r_wire, r_wire, 0.0)
    assert np.abs(W - ref).max() <= 1e-9 * np.abs(ref).max()
    V = RNG.uniform(0.0, 0.4, 24)
    np.testing.assert_allclose(V @ W, V @ ref, rtol=1e-9)


@pytest.mark.parametrize("n", [64, pytest.param(128, marks=pytest.mark.slow)])
def test_condensed_transfer_matches_unit_input_solves(n):
    G = RNG.uniform(1e-6, 1e-4, (n, n))
    solver = CrossbarSolver(n, n, r_wire=1.0, r_sense=20.0)
    W = solver.transfer_matrix(G)
    units = CrossbarSolver(n, n, r_wire=1.0, r_sense=20.0, method="direct").column_currents(G, np.eye(n)[:9])
    assert np.abs(W[:9] - units).max() <= 1e-10 * np.abs(units).max()


class CountingCell(LinearCell):
    """A linear cell that counts its evaluations: the solver's nodal (Krylov) route calls it,
    the transfer-matrix route (condensation of ``G``, then ``V @ W``) never does."""

    def __init__(self):
        self.calls = 0

    def current(self, v_top, v_bottom, G):
        self.calls += 1
        return super().current(v_top, v_bottom, G)


def test_batches_above_the_threshold_go_through_the_transfer_matrix():
    n = 32
    G = RNG.uniform(1e-6, 1e-4, (n, n))
    cell = CountingCell()
    solver = CrossbarSolver(n, n, r_wire=2.0, cell=cell)
    assert 2 <= solver.transfer_batch < n
    V = RNG.uniform(0.0, 0.4, (solver.transfer_batch, n))
    I = solver.column_currents(G, V)
    i_later = solver.column_currents(G, V[0])
    assert cell.calls == 0  # W built once and kept: no nodal solve for either call
    np.testing.assert_allclose(I, V @ solver.transfer_matrix(G), rtol=1e-13)
    one = [CrossbarSolver(n, n, r_wire=2.0, method="direct").column_currents(G, v) for v in V[:3]]
    np.testing.assert_allclose(I[:3], one, rtol=1e-10, atol=1e-12 * np.abs(one).max())
    np.testing.assert_allclose(i_later, one[0], rtol=1e-10, atol=1e-12 * np.abs(one).max())
    few = CountingCell()
    I_few = CrossbarSolver(n, n, r_wire=2.0, cell=few).column_currents(G, V[: solver.transfer_batch - 1])
    assert few.calls > 0  # a few vectors: Krylov, no W
    np.testing.assert_allclose(I_few, I[:len(I_few)], rtol=1e-10, atol=1e-12 * np.abs(I).max())


@pytest.mark.parametrize("rows, gc, g_range", [(64, 1.0, (1e-6, 1e-4)), (200, 0.2, (1e-4, 1e-3)),
                                               (300, 1e-4, (1e-3, 1e-2))])  # the last: c underflows
def test_one_bit_line_matches_a_dense_inverse(rows, gc, g_range):
    # One column: row i is its driver segment g_r in series with cell g_i, a source of
    # conductance g_s = g_r g_i / (g_r + g_i) into bit-line node i; the bit line is a chain
    # P (wires, open top, foot g_c to the virtual ground), so W[:, 0] = g_c (P + D_s)^-1 D_s.
    gr = 0.5
    g = RNG.uniform(*g_range, rows)
    gs = gr * g / (gr + g)
    d = np.full(rows, 2 * gc) + gs
    d[0] -= gc                                   # open top
    P = np.diag(d) - gc * (np.eye(rows, k=1) + np.eye(rows, k=-1))
    ref = gc * np.linalg.inv(P)[-1] * gs
    W = CrossbarSolver(rows, 1, r_row=1 / gr, r_col=1 / gc).transfer_matrix(g[:, None])
    np.testing.assert_allclose(W[:, 0], ref, rtol=1e-9, atol=1e-13 * np.abs(ref).max())
