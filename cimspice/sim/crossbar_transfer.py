"""Exact transfer matrix of a linear crossbar by column-by-column static condensation.

For linear cells the column currents are ``I = V @ W`` (superposition): ``W`` (rows, cols),
in S, is the crossbar's input-to-output admittance with all its IR drop. Solving for it one
unit input at a time costs ``rows`` full solves. Here it is built in one sweep from the far
(right) end of the word lines to the drivers instead, keeping only what the rest of the
array looks like from the current column (the idea of Schur-complement "port" reduction of
ladder networks, as in the transfer-matrix analyses of resistive crossbars):

- ``Y_j`` (rows, rows): the admittance the array from column ``j`` rightwards presents at the
  row nodes of column ``j`` (currents into it = ``Y_j u``; symmetric positive definite for
  a passive array);
- ``T_j`` (cols - j, rows): the sense currents of columns ``j..cols-1`` for those row-node
  voltages.

Column ``j`` on its own (cells ``D = diag(G[:, j])`` to its bit line, whose wires and foot
form the tridiagonal ``P``): ``w = (P + D)^-1 D u``, cell currents ``D (P + D)^-1 P u`` and
sense current ``g_end w[-1]``. One row segment ``g_r`` in front of ``Y`` is
``g_r (g_r + Y)^-1 Y`` (written so, not as ``g_r - g_r^2 (g_r + Y)^-1``, which would cancel
to ``eps g_r / y`` with wires ~1e4 times stiffer than cells). At the drivers,
``W = g_r (g_r + Y_0)^-1 T_0^T``.

Cost: per column one Cholesky factorisation and solves with ``rows`` and ``cols - j``
right-hand sides, about ``cols (7/3 rows^3) + rows^2 cols^2`` flops in LAPACK/BLAS-3 (64x64:
a few ms; 128x128: tens of ms; 256x256: about a second on the project's 2-core machine,
``benchmarks/crossbar.py``), against ``rows`` Krylov solves for the unit-input route.
Memory ``rows * (rows + cols)`` floats. Agrees with sparse LU to ~1e-13 relative
(``tests/test_crossbar_solver.py``). It needs both wire resistances nonzero; with either one
zero the solver's iterative method is already a single exact tridiagonal solve.
"""

from __future__ import annotations

import numpy as np
from scipy.linalg import cho_factor, cho_solve
from threadpoolctl import ThreadpoolController

from .line_algebra import _Chains

__all__ = ["condensed_transfer", "condensation_flops"]


def condensation_flops(rows: int, cols: int) -> float:
    """Floating-point operations :func:`condensed_transfer` needs (for choosing it)."""
    return cols * (7.0 / 3.0) * rows ** 3 + rows ** 2 * cols ** 2


_blas: ThreadpoolController | None = None


def condensed_transfer(G, gr, gc, dc, g_end) -> np.ndarray:
    """:func:`_condense` on one BLAS thread. OpenBLAS's two threads on a busy 2-core machine
    spin against each other: measured at 128x128 with a load average of 5, 1.36 s on two
    threads against 0.10 s on one (threadpoolctl: the scikit-learn team's library for
    exactly this, already installed with scikit-learn)."""
    global _blas
    if _blas is None:
        _blas = ThreadpoolController()
    with _blas.limit(limits=1, user_api="blas"):
        return _condense(G, gr, gc, dc, g_end)


def _condense(G: np.ndarray, gr: float, gc: float, dc: np.ndarray, g_end: float) -> np.ndarray:
    """Transfer matrix ``W`` (rows, cols) in S of the linear crossbar with cell conductances
    ``G`` (rows, cols) S: row segments of conductance ``gr`` (the driver's included), column
    segments ``gc``, bit-line chain diagonals ``dc`` (rows,) (wires only: ``gc`` at the open
    top, ``2 gc`` inside, ``gc + g_end`` at the foot), and ``g_end`` the foot's conductance to
    the sense node (the last segment in series with any sense resistor)."""
    G = np.asarray(G, dtype=float)
    R, C = G.shape
    eye = np.eye(R)
    T = np.empty((C, R))
    Y = None
    for j in range(C - 1, -1, -1):
        g = G[:, j]
        # (P + D)^-1 D, the bit line's response: one tridiagonal chain, D's columns as
        # right-hand sides (D is diagonal, so its rows are its columns)
        X = _Chains(dc + g, gc).solve(np.diag(g)).T
        T[j] = g_end * X[-1]
        # cell currents D (I - X) u: symmetric up to round-off (D (P + D)^-1 P)
        Yj = g[:, None] * (eye - X)
        if Y is not None:
            M = cho_factor(gr * eye + Y, lower=True, check_finite=False)
            Yj += gr * cho_solve(M, Y, check_finite=False)
            T[j + 1:] = gr * cho_solve(M, T[j + 1:].T, check_finite=False).T
        Y = 0.5 * (Yj + Yj.T)
    M = cho_factor(gr * eye + Y, lower=True, check_finite=False)
    return gr * cho_solve(M, T.T, check_finite=False)
