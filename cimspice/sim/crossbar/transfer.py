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
form the tridiagonal ``P``, ``K = (P + D)^-1``): its shunt admittance at the row nodes is
``D - D K D`` and its sense current ``g_end (K D u)[-1]``. One row segment ``g_r`` in front of
``Y`` is ``g_r (g_r + Y)^-1 Y = g_r - g_r^2 (g_r + Y)^-1``. The second form cancels: its
absolute error is ``eps g_r``, large beside ``Y`` when wires are stiffer than cells. That is
harmless because ``Y`` acts on the solution only through ``g_r + Y``, where the error is
``eps`` relative (each segment passes ``u -> g_r (g_r + Y)^-1 u``). Measured against the
non-cancelling form, 64x64 and 256x256 arrays agree to 4e-12 relative from 1e-5 to 10 ohm
wires and cells down to 1e-8 S. It needs one inverse per column (Cholesky ``potrf`` plus
``potri``) instead of a factorisation and solves with ``rows`` right-hand sides, which is 1.7x
faster at 256x256. At the drivers, ``W = g_r (g_r + Y_0)^-1 T_0^T``.

Cost: per column ``rows^3`` flops for the inverse and ``2 rows^2 (cols - j)`` for the sense
rows, in all about ``cols rows^3 + rows^2 cols^2`` flops in LAPACK/BLAS-3, and each bit line
in a few passes over ``rows^2`` (:func:`_bit_line`) (64x64: ~10 ms; 128x128: ~60 ms;
256x256: ~0.57 s on the project's 2-core machine, ``benchmarks/crossbar.py``),
against ``rows`` Krylov solves for the unit-input route. Memory ``rows * (rows + cols)``
floats. Agrees with a dense nodal solve to ~1e-13 relative
(``tests/test_crossbar_transfer.py``). It needs both wire resistances nonzero; with either
one zero the solver's iterative method is already a single exact tridiagonal solve.
"""

from __future__ import annotations

from contextlib import nullcontext

import numpy as np
from scipy.linalg import blas, lapack
from threadpoolctl import ThreadpoolController

from .errors import SolverError
from .line_algebra import _Chains

__all__ = ["CONDENSATION_VERSION", "condensed_transfer", "one_blas_thread"]

#: Version of :func:`condensed_transfer`'s arithmetic: raised whenever a change could move any
#: bit of its result, so a programmed-chip cache (:mod:`cimspice.sim.program_cache`) never
#: answers with a matrix the current code would not compute.
CONDENSATION_VERSION = 1


_blas = None   # the BLAS libraries' ThreadpoolController, made when first needed


def one_blas_thread():
    """Context in which BLAS/LAPACK run on one thread. OpenBLAS's two threads on a busy
    2-core machine spin against each other: measured at 128x128 with a load average of 5,
    1.36 s on two threads against 0.10 s on one (threadpoolctl: the scikit-learn team's
    library for exactly this, already installed with scikit-learn).

    Where every BLAS library already runs one thread the limits are left alone: OpenBLAS
    re-creates its thread pool, which its fork handler took down, at the first
    ``openblas_set_num_threads`` after a ``fork`` (even to 1), and the new threads spin for
    about 0.1 s of CPU each. In a design sweep's forked processes that took a core's worth
    from the other process: each process's first point ran 2-3x its serial time."""
    global _blas
    if _blas is None:
        _blas = ThreadpoolController().select(user_api="blas")
    if all(lib.num_threads == 1 for lib in _blas.lib_controllers):
        return nullcontext()
    return _blas.limit(limits=1, user_api="blas")


def condensed_transfer(G, gr, gc, dc, g_end) -> np.ndarray:
    """:func:`_condense` on one BLAS thread (:func:`one_blas_thread`)."""
    with one_blas_thread():
        return _condense(G, gr, gc, dc, g_end)


def _condense(G: np.ndarray, gr: float, gc: float, dc: np.ndarray, g_end: float) -> np.ndarray:
    """Transfer matrix ``W`` (rows, cols) in S of the linear crossbar with cell conductances
    ``G`` (rows, cols) S: row segments of conductance ``gr`` (the driver's included), column
    segments ``gc``, bit-line chain diagonals ``dc`` (rows,) (wires only: ``gc`` at the open
    top, ``2 gc`` inside, ``gc + g_end`` at the foot), and ``g_end`` the foot's conductance to
    the sense node (the last segment in series with any sense resistor).

    Symmetric matrices are kept in their lower triangles (LAPACK ``potrf``/``potri`` and BLAS
    ``symm`` read only those), so no step symmetrises or copies a full matrix."""
    G = np.asarray(G, dtype=float)
    R, C = G.shape
    diag = np.diag_indices(R)
    off = np.full(R - 1, -gc)       # the bit-line chains' off-diagonal
    T = np.empty((C, R))
    Y = None
    for j in range(C - 1, -1, -1):
        g = G[:, j]
        S, T[j] = _bit_line(dc + g, gc, off, g, g_end)
        S[diag] += g
        if Y is not None:
            Minv = _segment_inverse(Y, gr, diag, f"right of column {j}")
            S -= (gr * gr) * Minv
            S[diag] += gr
            T[j + 1:] = blas.dsymm(gr, Minv, T[j + 1:], side=1, lower=1)
        Y = S
    Minv = _segment_inverse(Y, gr, diag, "at the drivers")
    return blas.dsymm(gr, Minv, np.ascontiguousarray(T.T), side=0, lower=1)


def _segment_inverse(Y: np.ndarray, gr: float, diag, where: str) -> np.ndarray:
    """``(g_r + Y)^-1`` in its lower triangle, ``Y`` overwritten (Cholesky, then its inverse)."""
    Y[diag] += gr
    L, info = lapack.dpotrf(Y, lower=1, clean=1, overwrite_a=1)
    if info != 0:
        raise SolverError(f"condensation: the array {where} is not positive definite "
                          f"(LAPACK potrf info {info})")
    Minv, _ = lapack.dpotri(L, lower=1, overwrite_c=1)
    return Minv


def _bit_line(d: np.ndarray, gc: float, off: np.ndarray, g: np.ndarray, g_end: float):
    """One bit line's ``-D K D`` (rows, rows; its lower triangle, all that ``potrf`` and
    ``symm`` read) and sense row ``g_end (K D)[-1]`` (rows,) for its chain matrix ``P + D``
    (diagonal ``d``, neighbours coupled by ``-gc``, ``off`` (rows - 1,) of them), ``K`` its inverse,
    ``D = diag(g)``.

    With ``P + D = L diag(p) L^T`` (LAPACK ``pttrf``; ``L`` unit lower bidiagonal with
    multipliers ``l``) and ``c_i = prod_{m <= i} (-l_m)``, ``(L^-1)_{ik} = c_i / c_k``, so
    ``K_ik = s_max(i,k) / (c_i c_k)`` with ``s_j = sum_{m >= j} c_m^2 / p_m``: every term
    positive (no cancellation), built in two passes over ``rows^2`` instead of ``rows``
    tridiagonal solves (2.5x faster at 256 rows): below the diagonal ``max(i, k) = i``, so
    the lower triangle is ``s_i (u_i (-u_k))``, an outer product scaled by rows (the upper
    one then holds ``s_i`` for ``s_k``: unread; and the same bits as the full ``s_max(i,k)``
    table times the outer product, which took a third pass, 6 % of the condensation's CPU).
    When ``c`` spans too many decades for its products (lines far softer than their cells),
    the chain is solved directly."""
    R = len(d)
    if R > 1:
        p, l, info = lapack.dpttrf(d, off)
        if info == 0:
            c = np.empty(R)
            c[0] = 1.0
            np.cumprod(-l, out=c[1:])
            if c.min() > 1e-140:
                s = np.cumsum((c * c / p)[::-1])[::-1]
                u = g / c
                S = np.multiply.outer(u, -u)
                S *= s[:, None]
                return S, (g_end * s[-1] / c[-1]) * u
    K = _Chains(d, gc).solve(np.eye(R))
    return K * np.multiply.outer(g, -g), (g_end * g) * K[-1]
