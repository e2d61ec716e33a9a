"""Crossbar arrays as ngspice netlists: R, 1R (ReRAM alone) and 1T1R cells with wire parasitics.

Topology (the same as :mod:`cimspice.sim.crossbar`, so results compare anywhere)::

    V[i] --r_row-- (i,0) --r_row-- (i,1) -- ... --r_row-- (i,cols-1)          row i (driven)
                     |               |                       |
                   cell            cell                    cell               cell (i, j)
                     |               |                       |
                   (i,0)'          (i,1)'                  (i,cols-1)'        column nodes
                     |r_col          |r_col                  |r_col
                    ...             ...                     ...
                   sense 0         sense 1                 sense cols-1

Row ``i`` is driven at its left end by an ideal source ``V[i]`` through one wire segment;
neighbouring cells along a row, and along a column, are one segment apart; cell ``(i, j)``
joins row node ``(i, j)`` to column node ``(i, j)``; column ``j`` reaches its sense node at the
bottom (below the last row) through one more segment. The sense node is a virtual ground
(0 V, the input of an ideal transimpedance amplifier) or, with ``r_sense``, a resistor to
ground. The column current is the current into the sense node.

A zero wire resistance merges the nodes it would join (ngspice cannot take a 0 ohm
resistor). Each wire segment carries ``c_wire`` to ground, lumped at the node the segment
ends on, for transient reads.

Cells:

``"R"``
    an ideal resistor ``1/G``: the linear reference.
``"1R"``
    the ReRAM compact model alone (``netlists/reram.lib``, read law ``I = G v0 sinh(V/v0)``),
    top electrode on the row.
``"1T1R"``
    the ReRAM in series with an NMOS access transistor (``netlists/ptm45.lib``), exactly as
    in :class:`~cimspice.circuits.cell.Cell1T1R`: ReRAM on the row side, the transistor's
    source on the column, its gate on the row's word line, held at ``v_wl`` by one ideal
    driver per row (word lines carry no DC current; their RC only shapes the turn-on,
    which a read does not include: the word lines are up before the inputs arrive).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..paths import netlist_path
from ..validate import require_finite, require_in_range, require_int, require_nonnegative, require_positive
from .base import TEMP, CircuitError
from .devices import ACCESS_L, ACCESS_W, RERAM, VDD, check_corner, corner_library, drawn_size
from .waveforms import settling_time, supply_energy

CELLS = ("R", "1R", "1T1R")
# The ReRAM model switches at |V| >= 1.05 V (reram.lib); a read must stay clear of it.
V_READ_MAX = 1.0


@dataclass(frozen=True)
class ReadTransient:
    """One matrix-vector product read in the time domain.

    Attributes
    ----------
    column_currents : ndarray (cols,)
        Settled current into each sense node (A), the value at the end of the window.
    latency : float
        Time (s) from the start of the input edge until every column current stays within
        ``tolerance`` of its settled value (s).
    energy : float
        Energy (J) the row drivers deliver from the start of the input edge to
        ``start + latency``: charging the lines and the cells' read current.
    time : ndarray (n_samples,)
    currents : ndarray (n_samples, cols)
        The column-current waveforms (A).
    """

    column_currents: np.ndarray
    latency: float
    energy: float
    time: np.ndarray
    currents: np.ndarray


class Crossbar:
    """A ``rows`` x ``cols`` crossbar netlist and its ngspice reads.

    Parameters
    ----------
    rows, cols : int
        Array size (word lines x bit lines).
    cell : {"R", "1R", "1T1R"}
        Cell type (module docstring).
    r_wire : float
        Resistance of one wire segment (ohm), rows and columns alike; ``r_row``/``r_col``
        override it per direction.
    c_wire : float
        Capacitance of one wire segment to ground (F); only transient reads see it.
    r_sense : float
        0 (default) holds every column at a virtual ground; a positive value terminates each
        column in that resistance to ground (ohm) instead.
    v_wl : float
        Word-line voltage of a 1T1R array (V); default VDD of the 45 nm cards.
    w_access, l_access : float
        Access transistor width and length (m), as in :class:`Cell1T1R`.
    corner : {"tt", "ff", "ss"}
        Transistor process corner.
    temp : float
        Temperature (degC).
    """

    def __init__(self, rows: int, cols: int, cell: str = "R", r_wire: float = 1.0, c_wire: float = 0.0,
                 r_sense: float = 0.0, *, r_row: float | None = None, r_col: float | None = None,
                 v_wl: float = VDD, w_access: float = ACCESS_W, l_access: float = ACCESS_L,
                 corner: str = "tt", temp: float = 27.0):
        self.rows = require_int(rows, "crossbar: rows", CircuitError, lo=1)
        self.cols = require_int(cols, "crossbar: cols", CircuitError, lo=1)
        if cell not in CELLS:
            raise CircuitError(f"crossbar: cell {cell!r} is not one of {', '.join(CELLS)}")
        self.cell = cell
        self.corner = check_corner(corner, "crossbar")
        self.r_row = require_nonnegative(r_wire if r_row is None else r_row, "crossbar: r_row", CircuitError,
                                         unit="ohm")
        self.r_col = require_nonnegative(r_wire if r_col is None else r_col, "crossbar: r_col", CircuitError,
                                         unit="ohm")
        self.c_wire = require_nonnegative(c_wire, "crossbar: c_wire", CircuitError, unit="F")
        self.r_sense = require_nonnegative(r_sense, "crossbar: r_sense", CircuitError, unit="ohm")
        self.v_wl = require_in_range(v_wl, 0.0, 1.3, "crossbar: v_wl", CircuitError, unit="V")  # the 45 nm cards
        self.w_access, self.l_access = drawn_size(w_access, l_access, "crossbar: access transistor")
        self.temp = require_in_range(temp, *TEMP.bounds, "crossbar: temp", CircuitError, unit=TEMP.unit)

    def __repr__(self) -> str:
        return (f"Crossbar({self.rows}, {self.cols}, cell={self.cell!r}, r_row={self.r_row:g}, "
                f"r_col={self.r_col:g}, c_wire={self.c_wire:g}, r_sense={self.r_sense:g})")

    # ------------------------------------------------------------------ input checks
    def check_G(self, G) -> np.ndarray:
        """Validate a conductance matrix: shape (rows, cols), finite, positive (S); ReRAM
        cells also within the model's window [g_off, g_on]."""
        G = np.asarray(G)
        if G.dtype.kind not in "iuf":
            raise CircuitError(f"crossbar: G must be numbers in siemens, got dtype {G.dtype}")
        G = G.astype(np.float64)
        if G.shape != (self.rows, self.cols):
            raise CircuitError(f"crossbar: G has shape {G.shape}, expected (rows, cols) = ({self.rows}, {self.cols})")
        require_finite(G, "crossbar: G", CircuitError)
        if np.any(G <= 0):
            raise CircuitError(f"crossbar: G must be positive (S); smallest entry is {G.min():g}")
        if self.cell != "R":
            # the model clips outside its window: a G there would silently read as another value
            lo, hi = RERAM.g_off, RERAM.g_on
            if G.min() < lo * (1 - 1e-9) or G.max() > hi * (1 + 1e-9):
                raise CircuitError(f"crossbar: G for {self.cell} cells must lie in the ReRAM window "
                                   f"[{lo:g}, {hi:g}] S; got [{G.min():g}, {G.max():g}] S")
        return G

    def check_V(self, V) -> tuple[np.ndarray, bool]:
        """Validate input voltages: (rows,) or (batch, rows), finite (V). Returns the (batch,
        rows) array and whether a batch axis was given."""
        V = np.asarray(V)
        if V.dtype.kind not in "iuf":
            raise CircuitError(f"crossbar: V must be numbers in volts, got dtype {V.dtype}")
        V = V.astype(np.float64)
        batched = V.ndim == 2
        if V.ndim not in (1, 2) or V.shape[-1] != self.rows:
            raise CircuitError(f"crossbar: V has shape {V.shape}, expected (rows,) or (batch, rows) "
                               f"with rows = {self.rows}")
        require_finite(V, "crossbar: V", CircuitError)
        if self.cell != "R" and V.size and np.abs(V).max() > V_READ_MAX:
            raise CircuitError(f"crossbar: |V| up to {np.abs(V).max():g} V would switch {self.cell} cells; "
                               f"reads must stay within {V_READ_MAX:g} V")
        return np.atleast_2d(V), batched

    # ------------------------------------------------------------------ netlist
    def _row_node(self, i: int, j: int) -> str:
        return f"in{i}" if self.r_row == 0 else f"r{i}_{j}"

    def _col_node(self, i: int, j: int) -> str:
        return f"s{j}" if self.r_col == 0 else f"c{i}_{j}"

    def netlist(self, G, V=None, *, rise: float | None = None) -> str:
        """The ngspice netlist of this array with conductances ``G`` (S).

        Row sources are named ``v<i>`` (DC value ``V[i]``, default 0 V); the ammeter of column
        ``j`` is ``vs<j>``, a 0 V source from the sense node to the termination, so
        ``i(vs<j>)`` is the column current. ``rise`` (s) makes every row source ramp from 0 V at
        t = 0 to ``V[i]`` at t = ``rise``, for a transient read.
        """
        G = self.check_G(G)
        V = np.zeros(self.rows) if V is None else self.check_V(V)[0][0]
        rows, cols = self.rows, self.cols
        G, V = G.tolist(), V.tolist()  # Python floats: their repr is a SPICE number
        out = [f"* cimspice crossbar {rows}x{cols} cell={self.cell} r_row={self.r_row!r} r_col={self.r_col!r} "
               f"c_wire={self.c_wire!r} r_sense={self.r_sense!r}"]
        if self.cell != "R":
            out.append(f'.include "{netlist_path("reram.lib")}"')
        if self.cell == "1T1R":
            out.append(corner_library(self.corner))
        out.append(f".options temp={self.temp!r}")
        for i in range(rows):
            if rise is None:
                out.append(f"v{i} in{i} 0 dc {V[i]!r}")
            else:
                out.append(f"v{i} in{i} 0 dc 0 pwl(0 0 {rise!r} {V[i]!r})")
            if self.cell == "1T1R":
                out.append(f"vwl{i} wl{i} 0 dc {self.v_wl!r}")
            if self.r_row > 0:
                for j in range(cols):
                    prev = f"in{i}" if j == 0 else f"r{i}_{j - 1}"
                    out.append(f"rr{i}_{j} {prev} r{i}_{j} {self.r_row!r}")
                    if self.c_wire > 0:
                        out.append(f"cr{i}_{j} r{i}_{j} 0 {self.c_wire!r}")
            elif self.c_wire > 0:
                # merged nodes still carry the whole line's capacitance
                out.append(f"cr{i} in{i} 0 {self.c_wire * cols!r}")
        for j in range(cols):
            if self.r_col > 0:
                for i in range(rows):
                    below = f"c{i + 1}_{j}" if i + 1 < rows else f"s{j}"
                    out.append(f"rc{i}_{j} c{i}_{j} {below} {self.r_col!r}")
                    if self.c_wire > 0:
                        out.append(f"cc{i}_{j} c{i}_{j} 0 {self.c_wire!r}")
            elif self.c_wire > 0 and self.r_sense > 0:
                out.append(f"cc{j} s{j} 0 {self.c_wire * rows!r}")
            if self.r_sense > 0:
                out.append(f"vs{j} s{j} t{j} dc 0")
                out.append(f"rs{j} t{j} 0 {self.r_sense!r}")
            else:
                out.append(f"vs{j} s{j} 0 dc 0")
        for i in range(rows):
            for j in range(cols):
                top, bottom, g = self._row_node(i, j), self._col_node(i, j), G[i][j]
                if self.cell == "R":
                    out.append(f"rx{i}_{j} {top} {bottom} {1.0 / g!r}")
                elif self.cell == "1R":
                    out.append(f"xr{i}_{j} {top} {bottom} reram g={g!r}")
                else:
                    out.append(f"xr{i}_{j} {top} m{i}_{j} reram g={g!r}")
                    out.append(f"mn{i}_{j} m{i}_{j} wl{i} {bottom} 0 nmos_vtg "
                               f"w={self.w_access!r} l={self.l_access!r}")
        out.append(".end")
        return "\n".join(out)

    # ------------------------------------------------------------------ ngspice reads
    def column_currents(self, G, V, *, engine=None, timeout: float | None = None) -> np.ndarray:
        """Column currents (A) from ngspice operating points, positive into the sense nodes.

        ``G`` (rows, cols) in S; ``V`` (rows,) or (batch, rows) in V. Returns (cols,) or
        (batch, cols). The array is loaded once; each input vector re-drives the row sources
        in place and runs one ``op``.
        """
        from ..spice import get_engine

        G = self.check_G(G)
        V, batched = self.check_V(V)
        engine = get_engine() if engine is None else engine
        engine.load(self.netlist(G), source=f"crossbar {self.rows}x{self.cols} {self.cell}")
        names = [f"i(vs{j})" for j in range(self.cols)]
        out = np.empty((V.shape[0], self.cols))
        for b, v in enumerate(V):
            for i, value in enumerate(v):
                engine.alter(f"v{i}", float(value))
            result = engine.op(names, timeout=timeout)
            out[b] = [result[name][0] for name in names]
        return out if batched else out[0]

    def read_transient(self, G, V, *, rise: float = 100e-12, stop: float = 20e-9, step: float | None = None,
                       tolerance: float = 1e-3, engine=None, timeout: float | None = None) -> ReadTransient:
        """Read one input vector in the time domain: latency and energy of the product.

        Every row source steps from 0 V to ``V[i]`` over ``rise`` (s) at t = 0; ngspice runs to
        ``stop`` (s) with a time step of at most ``step`` (default ``stop / 2000``). Latency is
        the settling time of the slowest column to within ``tolerance`` times the largest
        settled column current; energy is what the row drivers deliver until then.
        ``stop`` must be long enough for the array to settle (checked: an unsettled read is
        an error, not a number).
        """
        from ..spice import get_engine

        G = self.check_G(G)
        V, batched = self.check_V(V)
        if batched and V.shape[0] != 1:
            raise CircuitError("crossbar: read_transient takes one input vector (rows,)")
        v = V[0]
        for name, value in (("rise", rise), ("stop", stop), ("tolerance", tolerance)):
            require_positive(value, f"crossbar: {name}", CircuitError)
        if rise >= stop:
            raise CircuitError(f"crossbar: rise {rise:g} s must be shorter than stop {stop:g} s")
        step = stop / 2000 if step is None else step
        engine = get_engine() if engine is None else engine
        engine.load(self.netlist(G, v, rise=rise), source=f"crossbar {self.rows}x{self.cols} {self.cell} read")
        names = [f"i(vs{j})" for j in range(self.cols)] + [f"i(v{i})" for i in range(self.rows)]
        result = engine.tran(step, stop, max_step=step, vectors=["time"] + names, timeout=timeout)
        t = np.asarray(result["time"], dtype=np.float64).real
        cols = np.stack([np.asarray(result[f"i(vs{j})"]).real for j in range(self.cols)], axis=1)
        # a source's current flows into its + terminal: a driver delivering current reads negative
        drive = -np.stack([np.asarray(result[f"i(v{i})"]).real for i in range(self.rows)], axis=1)
        final = cols[-1]
        band = tolerance * max(np.abs(final).max(), 1e-30)
        latencies = [settling_time(t, cols[:, j], final=final[j], tolerance=band) for j in range(self.cols)]
        # settled by the end means settled well before it: the last 10 % of the window stays in band
        tail = t >= 0.9 * stop
        if np.any(np.abs(cols[tail] - final) > band) or np.any(np.isnan(latencies)):
            raise CircuitError(f"crossbar: the read has not settled within stop = {stop:g} s; raise stop")
        latency = max(max(latencies), rise)
        v_rows = np.clip(t / rise, 0.0, 1.0)[:, None] * v[None, :]
        energy = sum(supply_energy(t, v_rows[:, i], drive[:, i], stop=latency) for i in range(self.rows))
        return ReadTransient(final.copy(), float(latency), float(energy), t, cols)


__all__ = ["CELLS", "Crossbar", "ReadTransient", "V_READ_MAX"]
