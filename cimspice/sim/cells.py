"""Cell models for :mod:`cimspice.sim.crossbar_solver`.

A crossbar cell sits between a row (word-line) node and a column (bit-line) node. The solver
asks a cell for its current and both partial derivatives at arrays of terminal voltages and
runs Newton's method on them, so any object with the :class:`Cell` method works: the analytic
cells here, or a surrogate fitted to SPICE (a 1T1R cell whose access transistor's source sits
at the column node and whose gate is held at a fixed word-line voltage).

Only NumPy is used, so a system study never needs ngspice.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np

__all__ = ["Cell", "LinearCell", "SinhCell"]


@runtime_checkable
class Cell(Protocol):
    """What the crossbar solver needs from a cell model.

    Required
    --------
    ``current(v_top, v_bottom, G) -> (I, dI_dv_top, dI_dv_bottom)``
        ``v_top`` (V) is the row-node voltage, ``v_bottom`` (V) the column-node voltage and
        ``G`` (S) the cell's programmed conductance state, all float arrays of one shape
        (``(batch, rows, cols)`` or a broadcast of it); ``G`` is always positive. Returns
        three arrays of that shape: the current ``I`` (A) flowing from the row node through
        the cell into the column node, and its partial derivatives (S) with respect to
        ``v_top`` and ``v_bottom``. The cell must be vectorised and side-effect free;
        non-finite values (an overflow during a trial Newton step) are allowed and make the
        solver shorten its step.

    Optional attributes (read with ``getattr``; the defaults are the safe, general ones)
    ----------------------------------------------------------------------------------
    ``linear`` (bool, default ``False``)
        The current is ``G * (v_top - v_bottom)`` exactly: the solver does one linear solve
        and reuses its factorisation across a batch of input vectors and across calls with
        the same ``G``.
    ``two_terminal`` (bool, default ``False``)
        The current depends on ``v_top - v_bottom`` only, so ``dI_dv_bottom == -dI_dv_top``
        and every Newton system is symmetric (conjugate gradients apply). A three-terminal
        cell such as 1T1R leaves it ``False`` and gets the nonsymmetric solvers.

    Physical cells are passive and monotone (``dI_dv_top >= 0``, ``dI_dv_bottom <= 0``);
    Newton's method is only promised to converge for those.
    """

    def current(
        self, v_top: np.ndarray, v_bottom: np.ndarray, G: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]: ...


class LinearCell:
    """Ohmic cell: ``I = G * (v_top - v_bottom)``."""

    linear = True
    two_terminal = True

    def current(self, v_top, v_bottom, G):
        """Current (A) and its partials (S); see :class:`Cell`."""
        G = np.asarray(G, dtype=float)
        i = G * (np.asarray(v_top, dtype=float) - v_bottom)
        g = np.broadcast_to(G, i.shape)
        return i, g, -g

    def __repr__(self) -> str:
        return "LinearCell()"


class SinhCell:
    """ReRAM read law ``I = G * v0 * sinh((v_top - v_bottom) / v0)``.

    ``G`` (S) is the low-field conductance (the slope at zero bias) and ``v0`` (V) the
    voltage scale of the nonlinearity: the same law as the project's ReRAM compact model,
    whose B-source is ``I = G*v0*sinh(V/v0)``. A small ``v0`` makes a strongly nonlinear
    cell; ``v0 -> inf`` tends to :class:`LinearCell`.

    Parameters
    ----------
    v0 : float
        Voltage scale (V), positive and finite. It has no default on purpose: take it from
        the fitted model card of the device being studied.
    """

    linear = False
    two_terminal = True

    def __init__(self, v0: float):
        from .crossbar_solver import SolverError  # local: crossbar_solver imports this module

        try:
            v0 = float(v0)
        except (TypeError, ValueError):
            raise SolverError(f"v0: expected a number in volts, got {v0!r}") from None
        if not np.isfinite(v0) or v0 <= 0.0:
            raise SolverError(f"v0: must be positive and finite (V), got {v0!r}")
        self.v0 = v0

    def current(self, v_top, v_bottom, G):
        """Current (A) and its partials (S); see :class:`Cell`."""
        x = (np.asarray(v_top, dtype=float) - v_bottom) / self.v0
        with np.errstate(over="ignore", invalid="ignore"):
            i = (G * self.v0) * np.sinh(x)
            g = G * np.cosh(x)
        return i, g, -g

    def __repr__(self) -> str:
        return f"SinhCell(v0={self.v0!r})"
