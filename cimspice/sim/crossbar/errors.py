"""Errors of the crossbar solver package, in one place so every module imports them at the top."""

from __future__ import annotations

from ..errors import SimError

__all__ = ["SolverConvergenceError", "SolverError"]


class SolverError(SimError):
    """Error of the crossbar solver layer. Raised as such for bad input, with a one-line
    message naming the argument and the reason, before anything is computed."""


class SolverConvergenceError(SolverError):
    """Newton's method or the iterative linear solver did not reach the requested tolerance.

    Not to be confused with :class:`cimspice.spice.ConvergenceError`, ngspice's failure to
    find an operating point."""


class _IterativeFailure(SolverConvergenceError):
    """The iterative method failed (Krylov stagnation, singular line); "auto" may retry
    with sparse LU."""
