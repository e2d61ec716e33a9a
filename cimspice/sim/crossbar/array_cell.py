"""A crossbar-solver cell whose I-V is a SPICE-characterized surrogate (a 1T1R cell, say).

The fast crossbar solver (:mod:`.solver`) needs, at every cell, the current from the row
node into the column node and its two partial derivatives. For a 1T1R cell the current
depends on both terminal voltages separately (the transistor's source sits on the column,
so the column voltage also sets its gate drive), which is exactly what a surrogate of the
cell sweep ``i_cell(g, v_bl, v_sl, ...)`` describes. This adaptor evaluates such a
surrogate with NumPy only.

Points outside the surrogate's training domain come back as NaN: the solver treats a
non-finite current as an overshooting Newton step and shortens it, so an operating point is
only ever accepted inside the characterized domain (and a solution that lies outside fails
to converge, loudly, rather than being extrapolated).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ..errors import SimError


class SurrogateArrayCell:
    """Cell model for :class:`~cimspice.sim.crossbar.CrossbarSolver` from a surrogate.

    Parameters
    ----------
    surrogate : cimspice.surrogate.Surrogate
        Fitted single-output surrogate of the cell current (A), positive from the row
        (top) terminal into the column (bottom) terminal.
    g, v_top, v_bottom : str
        Names of the surrogate inputs that take the cell's conductance state ``G`` (S), the
        row-node voltage and the column-node voltage (V). Defaults follow
        :class:`~cimspice.circuits.cell.Cell1T1R`: ``g``, ``v_bl``, ``v_sl``.
    fixed : mapping name -> float
        Values of every other surrogate input (e.g. ``{"v_wl": 1.1}``), in its units.
    dv : float
        Step (V) of the finite differences that give the partial derivatives. Newton's
        method needs them only approximately; the converged currents do not depend on it.
    """

    linear = False
    two_terminal = False

    def __init__(self, surrogate, *, g: str = "g", v_top: str = "v_bl", v_bottom: str = "v_sl",
                 fixed: Mapping[str, float] | None = None, dv: float = 1e-4):
        fixed = dict(fixed or {})
        if getattr(surrogate, "n_outputs", 1) != 1:
            raise SimError(f"surrogate {surrogate.name!r} has {surrogate.n_outputs} outputs; a cell needs one current")
        inputs = list(surrogate.inputs)
        roles = {g: "G", v_top: "v_top", v_bottom: "v_bottom"}
        for name in roles:
            if name not in inputs:
                raise SimError(f"surrogate {surrogate.name!r} has no input {name!r} (inputs: {', '.join(inputs)})")
        missing = [n for n in inputs if n not in roles and n not in fixed]
        if missing:
            raise SimError(f"surrogate {surrogate.name!r}: give a fixed value for input(s) {', '.join(missing)}")
        extra = [n for n in fixed if n not in inputs or n in roles]
        if extra:
            raise SimError(f"surrogate {surrogate.name!r}: fixed input(s) {', '.join(extra)} are not free inputs of it")
        if not (np.isfinite(dv) and dv > 0):
            raise SimError(f"dv must be a positive step in volts, got {dv!r}")
        lo, hi = np.asarray(surrogate.domain_min, float), np.asarray(surrogate.domain_max, float)
        for name, value in fixed.items():
            k = inputs.index(name)
            if not lo[k] <= float(value) <= hi[k]:
                raise SimError(f"surrogate {surrogate.name!r}: fixed {name} = {value:g} outside its domain "
                               f"[{lo[k]:g}, {hi[k]:g}]")
        self.surrogate = surrogate
        self._inputs = inputs
        self._column = {role: inputs.index(name) for name, role in roles.items()}
        self._fixed = {inputs.index(n): float(v) for n, v in fixed.items()}
        self._lo, self._hi = lo, hi
        self.dv = float(dv)
        self.names = {"g": g, "v_top": v_top, "v_bottom": v_bottom, "fixed": fixed}

    def __repr__(self) -> str:
        n = self.names
        return (f"SurrogateArrayCell({self.surrogate.name!r}, g={n['g']!r}, v_top={n['v_top']!r}, "
                f"v_bottom={n['v_bottom']!r}, fixed={n['fixed']!r})")

    @property
    def g_range(self) -> tuple[float, float]:
        """Conductance states (S) the surrogate covers."""
        k = self._column["G"]
        return float(self._lo[k]), float(self._hi[k])

    def _evaluate(self, G, v_top, v_bottom) -> np.ndarray:
        shape = np.broadcast(G, v_top, v_bottom).shape
        X = np.empty((int(np.prod(shape)), len(self._inputs)))
        X[:, self._column["G"]] = np.broadcast_to(G, shape).ravel()
        X[:, self._column["v_top"]] = np.broadcast_to(v_top, shape).ravel()
        X[:, self._column["v_bottom"]] = np.broadcast_to(v_bottom, shape).ravel()
        for k, value in self._fixed.items():
            X[:, k] = value
        inside = np.all((X >= self._lo) & (X <= self._hi) & np.isfinite(X), axis=1)
        I = np.full(X.shape[0], np.nan)
        if inside.any():
            I[inside] = self.surrogate.predict(X[inside], out_of_domain="error")
        return I.reshape(shape)

    def _partial(self, G, v_top, v_bottom, which: str, i0: np.ndarray) -> np.ndarray:
        # One-sided difference, stepping inward from the domain's edge.
        k = self._column[which]
        v = v_top if which == "v_top" else v_bottom
        h = np.where(v + self.dv <= self._hi[k], self.dv, -self.dv)
        if which == "v_top":
            i1 = self._evaluate(G, v_top + h, v_bottom)
        else:
            i1 = self._evaluate(G, v_top, v_bottom + h)
        return (i1 - i0) / h

    def current(self, v_top, v_bottom, G):
        """Current (A) from row to column node and its partials (S); NaN outside the domain."""
        v_top, v_bottom, G = np.broadcast_arrays(np.asarray(v_top, float), np.asarray(v_bottom, float),
                                                 np.asarray(G, float))
        i0 = self._evaluate(G, v_top, v_bottom)
        d_top = self._partial(G, v_top, v_bottom, "v_top", i0)
        d_bottom = self._partial(G, v_top, v_bottom, "v_bottom", i0)
        return i0, d_top, d_bottom


__all__ = ["SurrogateArrayCell"]
