"""The training block's array read as an array: a time-coded read of an ``n x n`` ReRAM
crossbar with wire resistance, on :class:`cimspice.sim.crossbar.CrossbarSolver`.

Rows carry inputs as pulse widths (Marinella et al., JETCAS 2018): row ``i`` sits at
``v_read`` for ``t_i = code_i * t_lsb`` and at 0 V after, every column is held at a virtual
ground by its integrator, which collects the column's charge over the window
``t_window = (2**(input_bits - 1) - 1) * t_lsb``. The column current is a staircase that
steps down as rows switch off; the lines settle within picoseconds (docs/crossbar.md), so
each step is a DC operating point. The window is cut into ``slices`` equal slices and each
is solved at its midpoint's set of driven rows (midpoint rule), plus one solve with every
driven row on (the peak column current, t -> 0+).

Besides the wired solve, the same slices are priced on ideal wires (``G v0 sinh(v/v0)`` per
driven cell) and the ideal charge is computed exactly (``sum_i G_ij v0 sinh(v/v0) t_i``), so
the report separates the wires' error (wired vs ideal, same slices) from the slicing error
(ideal sliced vs exact). NumPy/SciPy only: the device numbers come in as numbers.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

import numpy as np

from ..sim.crossbar import CrossbarSolver, SinhCell

__all__ = ["BlockRead", "block_conductances", "block_inputs", "read_block", "wire_resistance"]

_CHUNK = 4  # input vectors per full solve (four (n, n) arrays each: 32 MB apiece at 1024 x 1024)


@dataclass(frozen=True)
class BlockRead:
    """One time-coded read of the block. Charges in C, currents in A, energies in J, shapes
    ``(cols,)``; ``energy`` is what the row drivers deliver (cells and wires)."""

    n: int
    t_window: float
    slices: int
    charge: np.ndarray
    charge_ideal_sliced: np.ndarray
    charge_ideal: np.ndarray
    i_peak: np.ndarray
    energy: float
    energy_ideal: float
    driven_rows: int
    seconds: float

    def stretched(self, factor: float) -> BlockRead:
        """The same read with every pulse ``factor`` times longer: each step of the staircase
        is the same operating point held longer, so charges and energies scale exactly."""
        return replace(self, t_window=self.t_window * factor, charge=self.charge * factor,
                       charge_ideal_sliced=self.charge_ideal_sliced * factor, charge_ideal=self.charge_ideal * factor,
                       energy=self.energy * factor, energy_ideal=self.energy_ideal * factor)

    @property
    def q_full_scale(self) -> float:
        """The largest column charge of the read (C)."""
        return float(self.charge.max())

    @property
    def wire_error(self) -> float:
        """Largest |wired - ideal| column charge (same slices), over the largest ideal one."""
        return float(np.max(np.abs(self.charge - self.charge_ideal_sliced)) / self.charge_ideal_sliced.max())

    @property
    def slicing_error(self) -> float:
        """Largest |sliced - exact| ideal column charge, over the largest exact one."""
        return float(np.max(np.abs(self.charge_ideal_sliced - self.charge_ideal)) / self.charge_ideal.max())


def wire_resistance(n: int, i_cell_max: float, ir_drop_max: float) -> float:
    """Resistance (ohm) of one wire segment at which a line of ``n`` cells, each drawing
    ``i_cell_max`` (A) and fed from one end, drops ``ir_drop_max`` (V) at its far end:
    ``r i n (n + 1) / 2 = ir_drop_max``."""
    return ir_drop_max / (i_cell_max * n * (n + 1) / 2)


def block_conductances(g_cells, n: int, rng) -> np.ndarray:
    """An ``(n, n)`` array (S) drawn from the conductances ``g_cells`` (1-D, S) of a trained
    network: the block holds cells with that network's distribution."""
    return rng.choice(np.asarray(g_cells, float).ravel(), size=(n, n), replace=True)


def block_inputs(values, n: int, input_bits: int, rng) -> np.ndarray:
    """``(n,)`` time codes in ``[0, 2**(input_bits-1) - 1]`` (integers) of inputs drawn from
    ``values`` (1-D, in [0, 1]: activations the kernels saw), as the row drivers code them."""
    top = 2 ** (input_bits - 1) - 1
    x = rng.choice(np.clip(np.asarray(values, float).ravel(), 0.0, 1.0), size=n, replace=True)
    return np.rint(x * top).astype(np.int64)


def read_block(G, codes, *, t_lsb: float, input_bits: int, v_read: float, v0: float, r_wire: float,
               slices: int) -> BlockRead:
    """Read ``G`` (n, n) S with rows coded by ``codes`` (n,) (see the module docstring)."""
    G = np.asarray(G, float)
    n = G.shape[0]
    t_window = (2 ** (input_bits - 1) - 1) * t_lsb
    t_row = np.asarray(codes, float) * t_lsb
    dt = t_window / slices
    mids = (np.arange(slices) + 0.5) * dt
    driven = np.vstack([t_row > 0, t_row[None, :] > mids[:, None]])  # (1 + slices, n): peak, then slices
    start = time.perf_counter()
    solver = CrossbarSolver(n, G.shape[1], r_wire=r_wire, cell=SinhCell(v0))
    columns, row_power = [], []
    for k in range(0, len(driven), _CHUNK):
        V = v_read * driven[k:k + _CHUNK].astype(float)
        sol = solver.solve(G, V)
        columns.append(sol.column_currents)
        row_power.append(v_read * np.sum(sol.cell_currents.sum(axis=2) * (V > 0), axis=1))
    I, P = np.vstack(columns), np.concatenate(row_power)
    f = v0 * np.sinh(v_read / v0)                                          # A/S: a driven cell's current per G
    ideal_slices = f * (driven[1:].astype(float) @ G)                      # (slices, cols)
    return BlockRead(
        n=n, t_window=t_window, slices=slices,
        charge=dt * I[1:].sum(axis=0), charge_ideal_sliced=dt * ideal_slices.sum(axis=0),
        charge_ideal=f * (t_row @ G), i_peak=I[0], energy=float(dt * P[1:].sum()),
        energy_ideal=float(v_read * f * (t_row @ G).sum()), driven_rows=int(driven[0].sum()),
        seconds=time.perf_counter() - start)
