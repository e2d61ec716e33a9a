"""Cell models for the crossbar solver (:mod:`.solver`) and the analog tiles.

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

from ..errors import SimError
from .errors import SolverError

__all__ = ["Cell", "LinearCell", "SinhCell", "SurrogateCell", "cell_read"]


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

    def read(self, G, v):
        """Current (A) at read voltage ``v`` (V) against a virtual ground."""
        return np.asarray(G, dtype=float) * np.asarray(v, dtype=float)

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

    def read(self, G, v):
        """Current (A) at read voltage ``v`` (V) against a virtual ground."""
        return np.asarray(G, dtype=float) * self.v0 * np.sinh(np.asarray(v, dtype=float) / self.v0)

    def __repr__(self) -> str:
        return f"SinhCell(v0={self.v0!r})"


class SurrogateCell:
    """A cell whose current comes from a surrogate fitted to SPICE sweeps (e.g. 1T1R).

    The surrogate predicts the cell current (A) from named inputs: the programmed state
    ``g_input`` (S), the driven (top, bit-line) voltage ``v_input`` (V), optionally the
    bottom (source-line) voltage ``v_bottom_input``, and others held at ``fixed[name]``
    (e.g. the word-line voltage ``v_wl``). In a crossbar the bottom terminal (the access
    transistor's source) sits at the column node. If the surrogate has a ``v_bottom_input``
    input, the column voltage goes there; otherwise ``v_input`` gets the top-to-bottom
    voltage and every fixed input named ``v_*`` (gate voltages) is shifted by the column
    voltage too, so the transistor sees the terminal differences of its sweep (body effect
    aside). The partial derivatives for the solver's Newton steps are central finite
    differences of the surrogate.

    Parameters
    ----------
    surrogate : fitted :class:`cimspice.surrogate.Surrogate` with one output
    g_input, v_input, v_bottom_input : str
    fixed : dict name -> value for the remaining inputs
    out_of_domain : {"error", "clip", "warn"}, passed to ``surrogate.predict``
    """

    linear = False

    def __init__(self, surrogate, *, g_input: str = "g", v_input: str = "v_bl", v_bottom_input: str = "v_sl",
                 fixed: dict | None = None, out_of_domain: str = "error"):
        names = list(getattr(surrogate, "inputs", []))
        fixed = {k: float(v) for k, v in dict(fixed or {}).items()}
        bottom = v_bottom_input if v_bottom_input in names and v_bottom_input not in fixed else None
        missing = [n for n in names if n not in (g_input, v_input, bottom) and n not in fixed]
        if missing or g_input not in names or v_input not in names:
            raise SimError(f"cell surrogate inputs {names}: need {g_input!r}, {v_input!r} and fixed values "
                           f"for {missing}")
        unknown = sorted(set(fixed) - set(names))
        if unknown:
            raise SimError(f"cell surrogate inputs {names}: fixed value given for unknown input {unknown[0]!r}")
        self.surrogate, self.names, self.g_input, self.v_input = surrogate, names, g_input, v_input
        self.bottom, self.fixed, self.out_of_domain = bottom, fixed, out_of_domain
        self._shifted = [] if bottom else [n for n in fixed if n.startswith("v_")]
        self.two_terminal = not (self._shifted or bottom)

    def _predict(self, G, v_top, v_bottom):
        G, v_top, v_bottom = np.broadcast_arrays(np.asarray(G, float), np.asarray(v_top, float),
                                                 np.asarray(v_bottom, float))
        columns = []
        for name in self.names:
            if name == self.g_input:
                columns.append(G.ravel())
            elif name == self.v_input:
                columns.append((v_top if self.bottom else v_top - v_bottom).ravel())
            elif name == self.bottom:
                columns.append(v_bottom.ravel())
            elif name in self._shifted:
                columns.append(self.fixed[name] - v_bottom.ravel())
            else:
                columns.append(np.full(G.size, self.fixed[name]))
        out = self.surrogate.predict(np.column_stack(columns), out_of_domain=self.out_of_domain)
        return np.asarray(out, float).reshape(G.shape)

    @property
    def definition(self) -> tuple:
        """What, with its surrogate, decides this cell's currents (cells alike in it are one
        cell: :func:`.factors.cell_factors` shares their tables)."""
        return (tuple(self.names), self.g_input, self.v_input, self.bottom, tuple(sorted(self.fixed.items())),
                self.out_of_domain)

    def read(self, G, v):
        """Current (A) at read voltage ``v`` (V) against a virtual ground."""
        return self._predict(G, v, 0.0)

    def current(self, v_top, v_bottom, G):
        """Current (A) and its partials (S); see :class:`Cell`."""
        v_top, v_bottom = np.asarray(v_top, float), np.asarray(v_bottom, float)
        h = 1e-5  # V: well above round-off, well below the I-V curvature scale
        i = self._predict(G, v_top, v_bottom)
        d_top = (self._predict(G, v_top + h, v_bottom) - self._predict(G, v_top - h, v_bottom)) / (2 * h)
        if self.two_terminal:
            return i, d_top, -d_top
        d_bottom = (self._predict(G, v_top, v_bottom + h) - self._predict(G, v_top, v_bottom - h)) / (2 * h)
        return i, d_top, d_bottom

    def __repr__(self) -> str:
        return f"SurrogateCell({getattr(self.surrogate, 'name', '?')!r}, fixed={self.fixed})"


def cell_read(cell, G, v) -> np.ndarray:
    """Read current (A) of ``cell`` at conductance ``G`` and voltage ``v`` against 0 V."""
    read = getattr(cell, "read", None)
    if read is not None:
        return read(G, v)
    return cell.current(v, np.zeros_like(np.asarray(v, float)), G)[0]

