"""Linear algebra of the crossbar solver: exact solves of many tridiagonal line chains and
batched preconditioned Krylov methods (each system in a batch with its own step lengths).

The chains are the word and bit lines of the array (:mod:`.network` builds them), the Krylov
solvers run on the Schur complement of the column nodes.
"""

from __future__ import annotations

import numpy as np
from scipy.linalg import lapack

from .errors import _IterativeFailure


def _chain_product(diag, g, x):
    """y = T x for tridiagonal chains along the last axis: diagonal ``diag`` (broadcast),
    neighbours coupled by -g."""
    y = diag * x
    y[..., 1:] -= g * x[..., :-1]
    y[..., :-1] -= g * x[..., 1:]
    return y


class _Chains:
    """Exact solver for many independent tridiagonal chains along the last axis.

    ``diag`` has shape (..., L): either the same for every input vector (then ``solve`` takes
    (batch, ...) right-hand sides as LAPACK multi-RHS columns) or with a leading batch axis
    matching the right-hand side. All chains are laid end to end as one tridiagonal matrix
    with zero couplings between chains, factored once by LAPACK (?pttrf: symmetric positive
    definite, the case for passive cells; ?gttrf with pivoting otherwise).
    """

    def __init__(self, diag, g):
        self.shape = diag.shape
        L = diag.shape[-1]
        d = np.ascontiguousarray(diag, dtype=float).ravel()
        e = np.full(max(d.size - 1, 0), -g)
        e[L - 1::L] = 0.0
        if d.size == 1:  # LAPACK wants at least one off-diagonal entry
            if d[0] == 0.0:
                raise _IterativeFailure("a 1x1 line matrix is singular")
            self.kind, self.factors = "one", d
            return
        self.kind = "pt"
        df, ef, info = lapack.dpttrf(d, e)
        if info == 0:
            self.factors = (df, ef)
            return
        self.kind = "gt"
        *factors, info = lapack.dgttrf(e, d, e)
        if info != 0:
            raise _IterativeFailure("a line's tridiagonal matrix is singular: the cells' "
                                   "differential conductances are not physical")
        self.factors = factors

    def solve(self, rhs):
        if self.kind == "one":
            return rhs / self.factors[0]
        solver = lapack.dpttrs if self.kind == "pt" else lapack.dgttrs
        if rhs.shape == self.shape:
            x, info = solver(*self.factors, rhs.ravel())
            return x.reshape(rhs.shape)
        B = rhs.shape[0]
        x, info = solver(*self.factors, rhs.reshape(B, -1).T)
        return x.T.reshape(rhs.shape)


class _Diagonal:
    def __init__(self, d):
        self.d = d

    def solve(self, rhs):
        return rhs / self.d


def _dot(x, y):
    return np.einsum("bi,bi->b", x.reshape(x.shape[0], -1), y.reshape(y.shape[0], -1))


def _safe_div(num, den):
    out = np.zeros_like(num)
    np.divide(num, den, out=out, where=den != 0.0)
    return out


def _expand(s, x):
    return s.reshape((-1,) + (1,) * (x.ndim - 1))


def _start(b, rtol):
    """Zero initial guess for a batch: (x, residual, per-system tolerance, unconverged mask)."""
    norm = np.sqrt(_dot(b, b))
    tol = rtol * norm
    return np.zeros_like(b), b.copy(), tol, norm > tol


def _pcg(A, M, b, rtol, maxiter):
    """Preconditioned conjugate gradients on a batch: b (batch, ...), each system its own
    step lengths, stopped per system at ||r|| <= rtol ||b||.

    Returns (x, iterations, failed): ``failed`` (batch,) marks the systems that had not
    converged after ``maxiter`` iterations (their x is the last iterate)."""
    x, r, tol, active = _start(b, rtol)
    if not active.any():
        return x, 0, active
    z = M(r)
    p = z.copy()
    rz = _dot(r, z)
    for k in range(1, maxiter + 1):
        q = A(p)
        alpha = _safe_div(rz, _dot(p, q)) * active
        x += _expand(alpha, x) * p
        r -= _expand(alpha, r) * q
        active &= np.sqrt(_dot(r, r)) > tol
        if not active.any():
            return x, k, active
        z = M(r)
        rz_new = _dot(r, z)
        p = z + _expand(_safe_div(rz_new, rz), p) * p
        rz = rz_new
    return x, maxiter, active


def _bicgstab(A, M, b, rtol, maxiter):
    """Right-preconditioned BiCGSTAB on a batch (nonsymmetric systems), as :func:`_pcg`."""
    x, r, tol, active = _start(b, rtol)
    if not active.any():
        return x, 0, active
    rhat = r.copy()
    rho = alpha = omega = np.ones(b.shape[0])
    v = np.zeros_like(b)
    p = np.zeros_like(b)
    for k in range(1, maxiter + 1):
        rho_new = _dot(rhat, r)
        beta = _safe_div(rho_new, rho) * _safe_div(alpha, omega)
        p = r + _expand(beta, p) * (p - _expand(omega, v) * v)
        phat = M(p)
        v = A(phat)
        alpha = _safe_div(rho_new, _dot(rhat, v)) * active
        s = r - _expand(alpha, v) * v
        x += _expand(alpha, x) * phat
        half = active & (np.sqrt(_dot(s, s)) > tol)
        shat = M(s)
        t = A(shat)
        omega = _safe_div(_dot(t, s), _dot(t, t)) * half
        x += _expand(omega, x) * shat
        r = s - _expand(omega, t) * t
        rho = rho_new
        active = half & (np.sqrt(_dot(r, r)) > tol)
        if not active.any():
            return x, k, active
    return x, maxiter, active
