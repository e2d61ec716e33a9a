"""Unknowns, residual, Jacobian and linear systems of one crossbar (:mod:`.solver` drives
them): :class:`_Network` (the nodal equations for one ``G``), :class:`_LineSystem` (Krylov on
the Schur complement of the column nodes, line-chain preconditioned) and
:class:`_DirectSystem` (sparse LU)."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from .errors import SolverConvergenceError
from .line_algebra import _bicgstab, _chain_product, _Chains, _Diagonal, _pcg

_EPS = np.finfo(float).eps


class _Network:
    """Unknowns, residual and Jacobian of one crossbar for one G (all methods share it).

    Unknown vector x (batch, n) = [row nodes u (rows*cols, row-major) if r_row > 0,
    then column nodes w (cols*rows, column-major) if r_col > 0, or one merged node per column
    (cols) if r_col == 0 < r_sense]. Nodes with no unknown are fixed: a row at V[i], a column
    at 0 V.
    """

    def __init__(self, solver, G):
        R, C = self.R, self.C = solver.rows, solver.cols
        self.G = G
        self.cell = solver.cell
        self.linear = bool(getattr(solver.cell, "linear", False))
        self.symmetric = bool(getattr(solver.cell, "two_terminal", False))
        self.r_sense = solver.r_sense
        self.has_u = solver.r_row > 0.0
        self.col_mode = ("chain" if solver.r_col > 0.0 else
                         "merged" if solver.r_sense > 0.0 else "ground")
        self.key = solver._key()
        self.gr = 1.0 / solver.r_row if self.has_u else 0.0
        self.gc = 1.0 / solver.r_col if solver.r_col > 0.0 else 0.0
        # Diagonal wire conductances of each line's chain (the cells are added on top).
        self.dr = np.full(C, 2.0 * self.gr)
        self.dr[-1] = self.gr  # the far end of a row is open; node 0 has its source segment
        if self.col_mode == "chain":
            # the foot: segment r_col in series with r_sense, to ground
            self.g_end = 1.0 / (solver.r_col + solver.r_sense)
            self.dc = np.full(R, 2.0 * self.gc)
            self.dc[0] = self.gc  # the top of a column is open
            self.dc[-1] = self.gc + self.g_end if R > 1 else self.g_end
        self.nu = R * C if self.has_u else 0
        self.nw = {"chain": R * C, "merged": C, "ground": 0}[self.col_mode]
        self.n = self.nu + self.nw

    # Layout helpers: u as (batch, R, C); w as (batch, C, R) (chain) or (batch, C) (merged).
    def split(self, x):
        B = x.shape[0]
        u = x[:, :self.nu].reshape(B, self.R, self.C) if self.has_u else None
        w = x[:, self.nu:]
        w = w.reshape(B, self.C, self.R) if self.col_mode == "chain" else w
        return u, w

    def to_rows(self, w):
        """Column-layout array -> (batch, R, C) at the cells."""
        return np.swapaxes(w, -1, -2) if self.col_mode == "chain" else w[:, None, :]

    def to_cols(self, y):
        """(batch, R, C) quantity at the cells -> what enters each column unknown."""
        return np.swapaxes(y, -1, -2) if self.col_mode == "chain" else y.sum(axis=-2)

    def initial(self, V):
        """The no-IR-drop state: rows at V, columns at 0 V."""
        x = np.zeros((V.shape[0], self.n))
        if self.has_u:
            x[:, :self.nu] = np.repeat(V, self.C, axis=1)
        return x

    def voltages(self, x, V):
        u, w = self.split(x)
        B = x.shape[0]
        vr = u if self.has_u else np.broadcast_to(V[:, :, None], (B, self.R, self.C))
        vc = (self.to_rows(w) if self.col_mode != "ground"
              else np.zeros((B, self.R, self.C)))
        return vr, vc

    def evaluate(self, x, V):
        """KCL residual F (batch, n) (A, current leaving each node), cell currents I and
        partials a = dI/dv_top, b = dI/dv_bottom, all (batch, R, C)."""
        vr, vc = self.voltages(x, V)
        I, a, b = self.cell.current(vr, vc, self.G)
        shape = vr.shape
        I, a, b = (np.broadcast_to(np.asarray(z, dtype=float), shape) for z in (I, a, b))
        u, w = self.split(x)
        F = np.empty_like(x)
        if self.has_u:
            Fr = _chain_product(self.dr, self.gr, u) + I
            Fr[:, :, 0] -= self.gr * V
            F[:, :self.nu] = Fr.reshape(x.shape[0], -1)
        if self.col_mode == "chain":
            Fc = _chain_product(self.dc, self.gc, w) - np.swapaxes(I, 1, 2)
            F[:, self.nu:] = Fc.reshape(x.shape[0], -1)
        elif self.col_mode == "merged":
            F[:, self.nu:] = w / self.r_sense - I.sum(axis=1)
        return F, I, a, b

    def residual_floor(self, V):
        """KCL residual norm (A) below which round-off dominates, per input vector."""
        g = max(self.gr, self.gc, float(self.G.max()),
                1.0 / self.r_sense if self.col_mode == "merged" else 0.0)
        return 1e3 * _EPS * g * np.abs(V).max(axis=1) * np.sqrt(self.n + 1)

    def state(self, x, V, full):
        vr, vc = self.voltages(x, V)
        I = np.asarray(self.cell.current(vr, vc, self.G)[0], dtype=float)
        I = np.broadcast_to(I, vr.shape)
        icol = I.sum(axis=1)
        if not full:
            return (icol,)
        if self.col_mode == "chain":
            vs = icol * self.r_sense
        elif self.col_mode == "merged":
            vs = x[:, self.nu:].copy()
        else:
            vs = np.zeros_like(icol)
        return icol, np.array(vr), np.array(vc), vs, np.array(I)


class _LineSystem:
    """Newton/linear system J dx = f by row-line elimination and Schur-complement Krylov.

    J = [[Pr, diag(b)], [-diag(a), Pc]] with Pr, Pc the row/column line chains (wires plus
    the cells' partials a, -b on their diagonals). Eliminating the row nodes leaves
    S dw = fc + a*Pr^-1 fr, S = Pc + a*Pr^-1*(b*.), solved by PCG (S is SPD when b = -a) or
    BiCGSTAB, preconditioned by Pc^-1.
    """

    def __init__(self, net, a, b):
        self.net = net
        self.a, self.b = a, b
        self.Pr = _Chains(net.dr + a, net.gr) if net.has_u else None
        if net.col_mode == "chain":
            dc = net.dc - np.swapaxes(b, -1, -2)
            self.Pc = _Chains(dc, net.gc)
            self.Pc_mul = lambda p: _chain_product(dc, net.gc, p)
        elif net.col_mode == "merged":
            dm = 1.0 / net.r_sense - b.sum(axis=-2)
            self.Pc = _Diagonal(dm)
            self.Pc_mul = lambda p: dm * p

    def solve(self, f, rtol, maxiter):
        net = self.net
        B = f.shape[0]
        fr, fc = net.split(f)
        if net.col_mode == "ground":
            return self.Pr.solve(fr).reshape(B, -1), 0, np.zeros(B, dtype=bool)
        if not net.has_u:
            return self.Pc.solve(fc).reshape(B, -1), 0, np.zeros(B, dtype=bool)
        a, b = self.a, self.b
        g = fc + net.to_cols(a * self.Pr.solve(fr))

        def S(p):
            return self.Pc_mul(p) + net.to_cols(a * self.Pr.solve(b * net.to_rows(p)))

        krylov = _pcg if net.symmetric else _bicgstab
        dw, iters, failed = krylov(S, self.Pc.solve, g, rtol, maxiter)
        du = self.Pr.solve(fr - b * net.to_rows(dw))
        return np.concatenate([du.reshape(B, -1), dw.reshape(B, -1)], axis=1), iters, failed


class _DirectSystem:
    """J dx = f by SuperLU; one factorisation per distinct Jacobian (per input vector for
    nonlinear cells, one for a whole batch of a linear array)."""

    def __init__(self, net, a, b):
        self.net = net
        self.lus = [self._factor(ak, bk) for ak, bk in
                    (zip(a, b) if a.ndim == 3 else [(a, b)])]

    def _factor(self, a, b):
        net, R, C = self.net, self.net.R, self.net.C
        rows, cols, vals = [], [], []

        def add(r, c, v):
            rows.append(np.ravel(r))
            cols.append(np.ravel(c))
            vals.append(np.ravel(np.broadcast_to(v, np.shape(r))))

        ij = np.arange(R * C).reshape(R, C)
        u = ij if net.has_u else None
        if net.has_u:
            add(u, u, net.dr + a)
            add(u[:, :-1], u[:, 1:], -net.gr)
            add(u[:, 1:], u[:, :-1], -net.gr)
        if net.col_mode == "chain":
            w = net.nu + ij.reshape(C, R).T.copy()  # column node (i, j) -> nu + j*R + i
            add(w, w, net.dc[:, None] - b)
            add(w[:-1], w[1:], -net.gc)
            add(w[1:], w[:-1], -net.gc)
        elif net.col_mode == "merged":
            w = np.broadcast_to(net.nu + np.arange(C), (R, C))
            add(w[0], w[0], 1.0 / net.r_sense)
            add(w, w, -b)
        if net.has_u and net.col_mode != "ground":
            add(u, w, b)
            add(w, u, -a)
        J = sp.csc_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                          shape=(net.n, net.n))
        # Nodal matrices are structurally symmetric and, for passive two-terminal cells,
        # symmetric and diagonally dominant: a symmetric ordering with diagonal pivots suits
        # them (timed within noise of SuperLU's default COLAMD at 64x64). Three-terminal
        # cells keep some threshold pivoting.
        try:
            return spla.splu(J, permc_spec="MMD_AT_PLUS_A",
                             diag_pivot_thresh=0.0 if net.symmetric else 0.1,
                             options=dict(SymmetricMode=True))
        except RuntimeError as error:  # SuperLU: "Factor is exactly singular"
            raise SolverConvergenceError(f"sparse LU of the nodal matrix failed: {error}") from None

    def solve(self, f, rtol, maxiter):
        failed = np.zeros(f.shape[0], dtype=bool)  # a direct solve cannot stall
        if len(self.lus) == 1:
            return self.lus[0].solve(np.ascontiguousarray(f.T)).T, 0, failed
        return np.stack([lu.solve(fk) for lu, fk in zip(self.lus, f)]), 0, failed
