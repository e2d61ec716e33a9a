"""SPICE-exact DC solver for resistive crossbars with wire resistance (IR drop).

Solves the same nodal equations ngspice would, for the project's fixed crossbar topology,
with NumPy/SciPy only (no PySpice, no ngspice), 100x and more faster than ngspice.

Topology (``rows`` x ``cols``)
-----------------------------
Row ``i`` (a word line) is driven at its left end by an ideal source ``V[i]`` through one
wire segment ``r_row`` to row node ``(i, 0)``; row nodes ``(i, j)`` and ``(i, j+1)`` are one
segment ``r_row`` apart. Cell ``(i, j)`` joins row node ``(i, j)`` (its top terminal) to column
node ``(i, j)`` (its bottom terminal). Column nodes ``(i, j)`` and ``(i+1, j)`` are one segment
``r_col`` apart, and column ``j`` (a bit line) reaches its sense node at the bottom, below row
``rows - 1``, through one more segment ``r_col``. The sense node is a virtual ground (the
sense amplifier's input, 0 V) when ``r_sense == 0``, else a resistor ``r_sense`` to ground.
The column current is the current flowing into the sense node, positive into it.

A zero wire resistance is handled exactly: the nodes it joins are merged (a row with
``r_row == 0`` sits at ``V[i]`` everywhere; a column with ``r_col == 0`` is one node, at 0 V
or, with a sense resistor, one unknown). The series ``r_col`` + ``r_sense`` at the column's
foot is folded into one conductance. Column currents are summed from the cell currents
(KCL), not taken from a wire drop, so tiny nonzero wire resistances stay accurate too (the
deviation from ``V @ G`` scales with ``r_wire`` down to 1e-12 ohm and is round-off below).

Methods (``method=``)
---------------------
``"direct"``
    SciPy sparse LU (SuperLU) of the full nodal matrix; the factorisation of a linear array
    is reused across a batch of inputs. Cost grows about as ``n**1.5`` in the node count
    (FACTS.md: 0.9 s at 256x256, 7.9 s at 512x512).
``"iterative"``
    The row-node unknowns are eliminated line by line (each row line is a tridiagonal chain,
    solved exactly by LAPACK ``?pttrf/?pttrs`` over all lines and the whole batch at once),
    leaving the Schur complement on the column nodes. That is solved by conjugate gradients
    (two-terminal cells: the system is symmetric positive definite) or BiCGSTAB (three-
    terminal cells), preconditioned by the exact solve of every column line's tridiagonal
    chain with the cells' (differential) conductances on its diagonal. The iteration count
    grows slowly with size and with the wire-to-cell conductance ratio (measured: 4-8 at
    64x64 and 256x256 with 1 ohm wires and 1e-6..1e-4 S cells, 18 at 1024x1024, ~100-350
    when the IR drop eats 99 % of the current); cost and memory are linear in the node count
    and in the batch. With one of the two wire resistances zero it is one exact tridiagonal
    solve.
``"auto"`` (default)
    ``"iterative"``, which was faster than ``"direct"`` at every size measured on the
    project's 2-core machine (4x4: 0.4 vs 0.6 ms; 64x64: 1.2 vs 20 ms; 256x256: 23 ms vs
    1.0 s; ``benchmarks/crossbar.py``), falling back to ``"direct"`` if the
    iterative method fails on an array of at most ``AUTO_DIRECT_MAX_CELLS`` cells.

Nonlinear cells are solved by damped Newton iteration (backtracking on the KCL residual
norm) from the no-IR-drop state, until a full Newton step changes every column current by at
most ``rtol`` times the largest column current of that input vector. With the iterative
method the Newton systems are solved inexactly far from the solution (Krylov tolerance
``min(1e-2, ||F_k||/||F_0||)``, at most 200 iterations), exactly near it. Tested from gentle
to extreme nonlinearity (``V/v0`` up to 40, where the cells start 1e13 times stiffer than
the wires and the Krylov solves stall: slower, 20-40 Newton steps, but converged).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from ...validate import require_finite, require_int, require_nonnegative
from .cells import LinearCell
from .errors import SolverConvergenceError, SolverError, _IterativeFailure
from .network import _DirectSystem, _LineSystem, _Network
from .transfer import CONDENSATION_VERSION, condensed_transfer

__all__ = ["AUTO_DIRECT_MAX_CELLS", "CONDENSE_MAX_CELLS", "CrossbarSolution", "CrossbarSolver"]

log = logging.getLogger(__name__)

# Largest array (rows * cols) on which method="auto" falls back to sparse LU when the Krylov
# solver fails (LU takes 0.15 s at 128x128 on the project's 2-core machine, FACTS.md).
AUTO_DIRECT_MAX_CELLS = 128 * 128
# Largest array whose transfer matrix is built by condensation (rows * cols): its cost grows
# as rows^3 cols; at 512x512 (~25 s here) it still beats 512 unit-input solves (~150 s).
CONDENSE_MAX_CELLS = 512 * 512
# Input vectors per batch chunk: one work vector of the chunk holds about this many float64
# (512 KiB), so the dozen live ones stay in cache. Measured on the 2-core machine: 64k beat
# 16k, 256k, 1M and 4M by 5-40 % at 64x64..256x256 with 100 vectors.
_CHUNK_ELEMENTS = 1 << 16


@dataclass(frozen=True)
class CrossbarSolution:
    """Operating point of a crossbar for one input vector or a batch of them.

    Shapes carry a leading ``batch`` axis only when ``V`` had one.

    Attributes
    ----------
    column_currents : ndarray, (batch, cols)
        Current into each sense node (A), positive into it.
    row_voltages, column_voltages : ndarray, (batch, rows, cols)
        Voltage (V) of the row node and of the column node at each cell.
    sense_voltages : ndarray, (batch, cols)
        Sense-node voltage (V): 0 for a virtual ground, ``I * r_sense`` otherwise.
    cell_currents : ndarray, (batch, rows, cols)
        Current (A) from each cell's row node into its column node.
    method : str
        ``"direct"`` or ``"iterative"``.
    newton_iterations : int
        Newton steps taken (the most over the batch); 1 for linear cells.
    linear_iterations : int
        Krylov iterations summed over all steps and batch chunks; 0 for ``"direct"``.
    """

    column_currents: np.ndarray
    row_voltages: np.ndarray
    column_voltages: np.ndarray
    sense_voltages: np.ndarray
    cell_currents: np.ndarray
    method: str
    newton_iterations: int
    linear_iterations: int


def _real_array(name, value):
    try:
        a = np.array(value, dtype=float)  # a copy: the caller may change theirs later
    except (TypeError, ValueError):
        raise SolverError(f"{name}: expected a real numeric array") from None
    return a


class CrossbarSolver:
    """DC operating point of a ``rows`` x ``cols`` crossbar with wire resistance.

    Parameters
    ----------
    rows, cols : int
        Array size: ``rows`` word lines (inputs), ``cols`` bit lines (outputs).
    r_wire : float, default 1.0
        Resistance (ohm) of one wire segment between neighbouring cells, on rows and columns
        alike unless ``r_row``/``r_col`` are given. May be 0 (ideal wires).
    r_sense : float, default 0.0
        Resistance (ohm) from each sense node to ground; 0 is an ideal virtual ground.
    cell : Cell, default LinearCell()
        Cell model: :class:`LinearCell`, :class:`SinhCell` or any object with the
        :class:`Cell` method ``current(v_top, v_bottom, G)``.
    r_row, r_col : float, optional
        Row (word-line) and column (bit-line) segment resistances (ohm); default ``r_wire``.
    method : {"auto", "direct", "iterative"}
        Linear-algebra method; see the module documentation.
    rtol : float, default 1e-10
        Newton convergence: the last full step changed every column current by at most
        ``rtol`` times the largest column current of its input vector.
    linear_rtol : float, default 1e-12
        Relative residual (2-norm) at which the iterative method's Krylov solver stops; it
        gives column currents within about 1e-10 of the sparse-LU ones. Newton steps far
        from the solution use a looser one (at most 1e-2).
    max_newton : int, default 50
        Newton steps before :class:`SolverConvergenceError`.
    max_linear : int, default 2000
        Krylov iterations per linear solve before :class:`SolverConvergenceError` (for Newton
        steps far from the solution the cap is 200 and the partial step is used).

    Notes
    -----
    For linear cells the solver keeps the factorisation of the last ``G`` it saw (compared
    by value), and :meth:`transfer_matrix` ``W`` once computed: a batch with at least
    ``rows`` input vectors, or any call after ``W`` exists for that ``G``, is answered as
    ``V @ W`` (exact by superposition), which makes "program once, read many" cheap.

    Examples
    --------
    >>> solver = CrossbarSolver(64, 64, r_wire=1.0)
    >>> I = solver.column_currents(G, V)      # G (64, 64) S, V (64,) V -> I (64,) A
    >>> I = solver.column_currents(G, Vb)     # Vb (batch, 64) -> (batch, 64)
    >>> op = solver.solve(G, V); op.column_voltages   # full operating point
    """

    def __init__(self, rows, cols, r_wire=1.0, r_sense=0.0, cell=None, *, r_row=None,
                 r_col=None, method="auto", rtol=1e-10, linear_rtol=1e-12, max_newton=50,
                 max_linear=2000):
        self.rows = require_int(rows, "rows", SolverError, lo=1)
        self.cols = require_int(cols, "cols", SolverError, lo=1)
        self.r_wire = require_nonnegative(r_wire, "r_wire", SolverError, unit="ohm")
        self.r_row = self.r_wire if r_row is None else require_nonnegative(r_row, "r_row", SolverError, unit="ohm")
        self.r_col = self.r_wire if r_col is None else require_nonnegative(r_col, "r_col", SolverError, unit="ohm")
        self.r_sense = require_nonnegative(r_sense, "r_sense", SolverError, unit="ohm")
        self.cell = LinearCell() if cell is None else cell
        if not callable(getattr(self.cell, "current", None)):
            raise SolverError(f"cell: {self.cell!r} has no current(v_top, v_bottom, G) method")
        if method not in ("auto", "direct", "iterative"):
            raise SolverError(f"method: expected 'auto', 'direct' or 'iterative', got {method!r}")
        self.method = method
        for name, value in (("rtol", rtol), ("linear_rtol", linear_rtol)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) \
                    or not 0.0 < value < 1.0:
                raise SolverError(f"{name}: expected a number in (0, 1), got {value!r}")
        self.rtol, self.linear_rtol = float(rtol), float(linear_rtol)
        self.max_newton = require_int(max_newton, "max_newton", SolverError, lo=1)
        self.max_linear = require_int(max_linear, "max_linear", SolverError, lo=1)
        self._cache = None  # linear cells: {"G", "method", "system", "W"} of the last G

    def __repr__(self) -> str:
        return (f"CrossbarSolver({self.rows}, {self.cols}, r_row={self.r_row!r}, "
                f"r_col={self.r_col!r}, r_sense={self.r_sense!r}, cell={self.cell!r}, "
                f"method={self.method!r})")

    # ----------------------------------------------------------------------------- public
    def column_currents(self, G, V) -> np.ndarray:
        """Column (sense) currents (A).

        ``G`` (rows, cols) in S, ``V`` (rows,) or (batch, rows) in V -> ``I`` (cols,) or
        (batch, cols) in A, positive into the sense node.
        """
        G, V = self._check(G, V)
        if self._linear:
            W = self._cached_W(G)
            if W is None and V.ndim == 2 and V.shape[0] >= self.transfer_batch:
                W = self.transfer_matrix(G)
            if W is not None:
                return V @ W
        return self._run(G, V, full=False)

    def solve(self, G, V) -> CrossbarSolution:
        """Full operating point (node voltages, cell currents); shapes as in
        :meth:`column_currents`, see :class:`CrossbarSolution`."""
        G, V = self._check(G, V)
        return self._run(G, V, full=True)

    def transfer_matrix(self, G) -> np.ndarray:
        """Effective weights ``W`` (rows, cols) in S of a linear-cell array with its IR drop:
        ``column_currents(G, V) == V @ W`` for every ``V`` (superposition), to the solver's
        accuracy.

        With both wire resistances nonzero (and at most ``CONDENSE_MAX_CELLS`` cells) it is
        built exactly by column-by-column condensation (:mod:`.transfer`: 64x64
        in the time of about 8 single solves, 128x128 of about 10); otherwise from the
        responses to the ``rows`` unit inputs. It is cached with ``G``, and later
        :meth:`column_currents` calls with the same ``G`` are a matrix product.
        """
        G, _ = self._check(G, np.zeros(self.rows))
        if not self._linear:
            raise SolverError(f"cell: {self.cell!r} is nonlinear; a transfer matrix exists "
                              f"only for linear cells")
        W = self._cached_W(G)
        if W is None:
            if self._condensable:
                net = _Network(self, G)
                W = condensed_transfer(G, net.gr, net.gc, net.dc, net.g_end)
            else:
                W = self._run(G, np.eye(self.rows), full=False)
            c = self._cache
            if c is None or c["key"] != self._key() or not np.array_equal(c["G"], G):
                c = self._cache = {"G": G, "key": self._key(), "method": None,
                                   "system": None}  # ideal wires: no system was built
            c["W"] = W
        return W.copy()

    @property
    def transfer_signature(self) -> str:
        """What :meth:`transfer_matrix` computes besides ``G``: the route (with the version
        of its arithmetic, :data:`.transfer.CONDENSATION_VERSION`) and every parameter of
        the array it reads, as text (a programmed-chip cache keys its entries on it)."""
        route = f"condensation {CONDENSATION_VERSION}" if self._condensable else \
            f"unit inputs method={self.method} linear_rtol={self.linear_rtol!r} max_linear={self.max_linear}"
        return (f"{route}; rows={self.rows} cols={self.cols} r_row={self.r_row!r} r_col={self.r_col!r} "
                f"r_sense={self.r_sense!r} cell={self.cell!r}")

    @property
    def transfer_batch(self) -> int:
        """Input vectors from which a linear array's batch is answered as ``V @ W``: where
        building ``W`` costs less than solving the vectors one Krylov solve each (measured on
        the project's 2-core machine: condensation of a 64x64 array costs about 8 solves,
        128x128 about 10, 256x256 about 20; the unit-input route costs ``rows``)."""
        if self._condensable:
            return max(2, -(-max(self.rows, self.cols) // 8))
        return self.rows

    @property
    def _condensable(self) -> bool:
        return (self.r_row > 0.0 and self.r_col > 0.0
                and self.rows * self.cols <= CONDENSE_MAX_CELLS)

    @property
    def resolved_method(self) -> str:
        """The method ``"auto"`` stands for: ``"iterative"``, the faster at every size
        measured (4x4 to 256x256, see the benchmark); ``"direct"`` takes over when the
        Krylov solver fails on an array of at most ``AUTO_DIRECT_MAX_CELLS`` cells."""
        return "iterative" if self.method == "auto" else self.method

    # --------------------------------------------------------------------------- internals
    @property
    def _linear(self):
        return bool(getattr(self.cell, "linear", False))

    def _key(self):
        return (self.r_row, self.r_col, self.r_sense, id(self.cell))

    def _cached_W(self, G):
        c = self._cache
        if (c is not None and c["W"] is not None and c["key"] == self._key()
                and np.array_equal(c["G"], G)):
            return c["W"]
        return None

    def _check(self, G, V):
        G = _real_array("G", G)
        if G.shape != (self.rows, self.cols):
            raise SolverError(f"G: expected shape ({self.rows}, {self.cols}) (rows, cols), "
                              f"got {G.shape}")
        require_finite(G, "G", SolverError)
        if not np.all(G > 0.0):
            raise SolverError(f"G: conductances must be > 0 S, smallest is {G.min()!r}")
        V = _real_array("V", V)
        if V.ndim not in (1, 2) or V.shape[-1] != self.rows:
            raise SolverError(f"V: expected shape ({self.rows},) or (batch, {self.rows}), "
                              f"got {V.shape}")
        require_finite(V, "V", SolverError)
        return G, V

    def _run(self, G, V, full):
        single = V.ndim == 1
        V = np.atleast_2d(V)
        method = self.resolved_method
        net = _Network(self, G)
        chunk = max(1, _CHUNK_ELEMENTS // (self.rows * self.cols))
        if method == "direct" and not net.linear:
            chunk = 1  # one sparse LU per input vector anyway
        parts, newton, krylov = [], 0, 0
        for start in range(0, V.shape[0], chunk):
            Vk = V[start:start + chunk]
            try:
                x, it, kr = self._newton(net, Vk, method)
            except _IterativeFailure as error:
                if self.method != "auto" or self.rows * self.cols > AUTO_DIRECT_MAX_CELLS:
                    raise
                log.warning("%s; retrying with sparse LU", error)
                method = "direct"
                x, it, kr = self._newton(net, Vk, method)
            parts.append(net.state(x, Vk, full))
            newton, krylov = max(newton, it), krylov + kr
        if not parts:  # empty batch
            parts.append(net.state(np.zeros((0, net.n)), V, full))
        out = [np.concatenate(p, axis=0) for p in zip(*parts)]
        if single:
            out = [o[0] for o in out]
        if not full:
            return out[0]
        return CrossbarSolution(*out, method=method, newton_iterations=newton,
                                linear_iterations=krylov)

    def _system(self, net, a, b, method):
        make = _DirectSystem if method == "direct" else _LineSystem
        if not net.linear:
            return make(net, a, b)
        c = self._cache
        if (c is not None and c["method"] == method and c["key"] == net.key
                and np.array_equal(c["G"], net.G)):
            return c["system"]
        self._cache = {"G": net.G, "key": net.key, "method": method,
                       "system": make(net, a, b), "W": None}
        return self._cache["system"]

    def _newton(self, net, V, method):
        """Operating point of one batch chunk: (x (batch, n), Newton steps, Krylov iters)."""
        x = net.initial(V)
        if net.n == 0:  # ideal wires and sense: every node voltage is known
            return x, 0, 0
        F, I, a, b = net.evaluate(x, V)
        if net.linear:  # one exact Newton step solves a linear network
            system = self._system(net, a[0], b[0], method)
            dx, krylov, failed = system.solve(-F, self.linear_rtol, self.max_linear)
            if failed.any():
                raise _IterativeFailure(
                    f"{'conjugate gradients' if net.symmetric else 'BiCGSTAB'} did not reach "
                    f"rtol={self.linear_rtol:g} in max_linear={self.max_linear} iterations")
            return x + dx, 1, krylov
        fnorm = np.linalg.norm(F, axis=1)
        fnorm0 = np.where(fnorm > 0, fnorm, 1.0)
        floor = net.residual_floor(V)
        icol = I.sum(axis=1)
        done = np.zeros(V.shape[0], dtype=bool)
        krylov = 0
        for step in range(1, self.max_newton + 1):
            system = self._system(net, a, b, method)
            rhs = -F
            rhs[done] = 0.0  # converged inputs stay put
            # inexact Newton: Krylov tolerance min(1e-2, ||F_k|| / ||F_0||), loose far from
            # the solution and tight near it (halves the Krylov work; the stopping test below
            # is on full steps, so the final accuracy is unchanged)
            # Far from it, a Krylov solve that stalls (cells far stiffer than the wires) is
            # cut at 200 iterations and its partial step, still a descent direction in
            # practice, goes to the line search; such a step never ends the iteration.
            eta = float(np.clip((fnorm / fnorm0)[~done].max(), self.linear_rtol, 1e-2))
            cap = self.max_linear if eta <= 1e-6 else min(self.max_linear, 200)
            dx, k, failed = system.solve(rhs, eta, cap)
            krylov += k
            t = np.ones(V.shape[0])
            for _ in range(60):  # backtracking line search, per input vector
                xt = x + t[:, None] * dx
                Ft, It, at, bt = net.evaluate(xt, V)
                ft = np.linalg.norm(Ft, axis=1)
                ft[~np.isfinite(ft)] = np.inf
                ok = (ft <= (1.0 - 1e-4 * t) * fnorm) | (ft <= floor) | done
                if ok.all():
                    break
                t = np.where(ok, t, 0.5 * t)
            else:
                raise SolverConvergenceError(
                    f"Newton step {step}: line search found no decrease of the KCL residual "
                    f"(residual {fnorm.max():.3e} A); is the cell model monotone and smooth?")
            x, F, a, b, fnorm = xt, Ft, at, bt, ft
            icol_new = It.sum(axis=1)
            change = np.abs(icol_new - icol).max(axis=1)
            scale = np.abs(icol_new).max(axis=1)
            done |= (t == 1.0) & ~failed & (change <= self.rtol * scale)
            icol = icol_new
            if done.all():
                log.debug("Newton converged in %d steps, %d Krylov iterations", step, krylov)
                return x, step, krylov
        raise SolverConvergenceError(
            f"Newton did not converge in {self.max_newton} steps to rtol={self.rtol:g} on the "
            f"column currents ({int((~done).sum())} of {V.shape[0]} input vectors left)")
