"""The separable read law the analog tiles use: ``I(G, v)**power ~= sum_r A_r * f_r(v)``.

A column current is then ``sum_r f_r(V) @ A_r``: as cheap as a few matrix products. Linear
and sinh cells separate exactly (one term). A SPICE-surrogate cell (a 1T1R cell, whose
current is not one-term separable) is tabulated ONCE on a uniform grid of conductances
spanning the surrogate's characterized ``g`` range and on the voltage levels, and factored
by one SVD; every programmed cell then interpolates its factors ``A_r`` linearly in ``g``
(O(cells) NumPy, no SVD per array). Any other cell, or conductances outside the
characterized range, take the per-cell path: a table on every cell's own ``G`` factored by
SVD.

How exact the shared factorisation is follows from the surrogate's own stated error: the
factored law may depart from the surrogate by at most :data:`FACTOR_ERROR_SHARE` of the
surrogate's RMS validation error against ngspice (half of that budget for dropping SVD
terms, half for the interpolation in ``g``).
"""

from __future__ import annotations

import functools
import weakref

import numpy as np

from .cells import LinearCell, SinhCell, SurrogateCell, cell_read
from .transfer import one_blas_thread

__all__ = ["FACTOR_ERROR_SHARE", "cell_factors", "cell_reads", "factor_tolerance"]

#: Largest error the factored read law may add, as a share of the cell surrogate's stated
#: RMS validation error (against ngspice, % of full scale): a tenth, so even if the two
#: errors add, the law's error against SPICE is at most 10 % above the surrogate's own (in
#: quadrature, 0.5 %). For the default 1T1R cell (RMS 0.0047 % FS) that is 4.7e-6 of full
#: scale, where 3 SVD terms suffice on 256 DAC levels (the 4th singular value is 1e-6 of
#: the first).
FACTOR_ERROR_SHARE = 0.1

_GRID_START, _GRID_MAX = 257, 16385   # conductance nodes: first try; points evaluated at most
_LEVELS_MAX = 1025                    # voltage levels tabulated exactly (more: interpolated)
_TILE_LEVELS_MAX = 65                 # the per-cell path's voltage grid (its SVD is per tile)


def factor_tolerance(cell, power: int = 1) -> float | None:
    """Largest error (A**power) the shared factorisation of ``cell`` may have: the share
    :data:`FACTOR_ERROR_SHARE` of the error of ``I**power`` that the surrogate's stated RMS
    validation error implies (``power * rms * full_scale**power``). ``None`` when the cell
    is no surrogate cell or its surrogate states no validation error."""
    if not isinstance(cell, SurrogateCell):
        return None
    stated = getattr(cell.surrogate, "validation", None) or {}
    try:
        rms = float(np.ravel(stated["rms_pct"])[0]) / 100.0
        full_scale = float(np.ravel(stated["full_scale"])[0])
    except (KeyError, IndexError, TypeError, ValueError):
        return None
    if not (np.isfinite(rms) and np.isfinite(full_scale) and rms > 0 and full_scale > 0):
        return None
    return FACTOR_ERROR_SHARE * power * rms * full_scale ** power


class _ConductanceTable:
    """``I(g, v)**power`` of a surrogate cell at voltages ``v`` (n_v,) on a uniform grid of
    conductances over its characterized ``g`` range, linearly interpolated in ``g``. The grid
    is doubled until the interpolation error halfway between nodes (where it is largest) is
    within ``tol``; ``ok`` says whether it got there by :data:`_GRID_MAX` nodes."""

    def __init__(self, cell: SurrogateCell, v: np.ndarray, power: int, tol: float):
        lo, hi = cell.surrogate.domain[cell.g_input]
        n = _GRID_START
        while True:
            g = np.linspace(lo, hi, 2 * n - 1)               # nodes at even, midpoints at odd
            T = np.asarray(cell_read(cell, g[:, None], v[None, :]), float) ** power
            err = float(np.max(np.abs(0.5 * (T[2::2] + T[:-2:2]) - T[1::2])))
            if err <= tol or 2 * n - 1 >= _GRID_MAX:          # evaluated at most _GRID_MAX points
                break
            n = 2 * n - 1
        self.ok, self.error = err <= tol, err
        self.lo, self.hi, self.inv_h, self.n = float(lo), float(hi), (n - 1) / (hi - lo), n
        self.values = T[::2]                                   # (n, n_v)

    def covers(self, G: np.ndarray) -> bool:
        return G.size > 0 and self.lo <= float(G.min()) and float(G.max()) <= self.hi

    def interp(self, G: np.ndarray, values: np.ndarray) -> np.ndarray:
        """``values`` (n, k) given on the nodes, at conductances ``G`` -> (*G.shape, k)."""
        t = (G - self.lo) * self.inv_h
        k = np.minimum(t.astype(np.intp), self.n - 2)
        t = (t - k)[..., None]
        return values[k] * (1.0 - t) + values[k + 1] * t


_TABLES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()   # cell or surrogate -> {key: table or factors}


def _cached(cell, key, make):
    """``make()``, once per cell and ``key``. A surrogate cell's tables are kept on its
    surrogate under the cell's definition: every simulation makes its own cell, and a design
    sweep's points in one process share the library's surrogate (a DAC's 256 levels cost an
    MLP point 70 ms of surrogate evaluations, each point again, before)."""
    if isinstance(cell, SurrogateCell):
        cell, key = cell.surrogate, (cell.definition, *key)
    per_cell = _TABLES.setdefault(cell, {})
    if key not in per_cell:
        per_cell[key] = make()
    return per_cell[key]


def _level_functions(grid: np.ndarray, rows: np.ndarray) -> list:
    """``f_r`` of a voltage array: ``rows[r]`` given on ``grid``, interpolated in between."""
    if len(grid) == 1:
        return [lambda v, c=row[0]: np.full_like(np.asarray(v, float), c) for row in rows]
    return [functools.partial(_interp_on, grid, row.copy()) for row in rows]


def _interp_on(x: np.ndarray, y: np.ndarray, v):
    return np.interp(v, x, y)


def _shared_factors(cell, grid: np.ndarray, power: int):
    """``(table, U (n, rank), f_r list)`` of the shared factorisation, or ``None`` where it
    does not apply (no stated error, or the grid cannot reach it)."""
    tol = factor_tolerance(cell, power)
    if tol is None:
        return None
    table = _ConductanceTable(cell, grid, power, tol / 2)
    if not table.ok:
        return None
    with one_blas_thread():   # small and once: two spinning threads cost 20x on a busy machine
        U, s, Vt = np.linalg.svd(table.values, full_matrices=False)
    rank = len(s)
    for r in range(1, len(s) + 1):   # the fewest terms within the other half of the budget
        if np.max(np.abs((U[:, :r] * s[:r]) @ Vt[:r] - table.values)) <= tol / 2:
            rank = r
            break
    return table, U[:, :rank] * s[:rank], _level_functions(grid, Vt[:rank])


def _tile_factors(cell, G: np.ndarray, levels: np.ndarray, power: int, rtol: float) -> list:
    """The per-cell path: a table on every cell's own ``G`` and on the voltage levels (at most
    65, linearly interpolated in between), factored by SVD, keeping singular values above
    ``rtol`` of the largest."""
    grid = levels if len(levels) <= _TILE_LEVELS_MAX else np.linspace(levels[0], levels[-1], _TILE_LEVELS_MAX)
    table = cell_read(cell, G.reshape(-1, 1), grid[None, :]) ** power      # (cells, n_v)
    U, s, Vt = np.linalg.svd(table, full_matrices=False)
    rank = max(1, int(np.sum(s > rtol * s[0]))) if s[0] > 0 else 1
    return [((U[:, r] * s[r]).reshape(G.shape), f) for r, f in enumerate(_level_functions(grid, Vt[:rank]))]


def cell_factors(cell, G: np.ndarray, v_levels: np.ndarray, power: int = 1, rtol: float = 1e-9) -> list:
    """Separable form of a cell's read current: ``I(G, v)**power ~= sum_r A_r * f_r(v)``.

    ``G`` (rows, cols) in S; ``v_levels`` the voltages (V) the inputs can take. Returns a
    list of ``(A_r, f_r)`` with ``A_r`` (rows, cols) and ``f_r`` a function of a voltage
    array, so a column current is ``sum_r f_r(V) @ A_r``.

    A surrogate cell with a stated validation error, its ``G`` inside the characterized
    range, uses the shared factorisation (module docstring; ``rtol`` unused), computed once
    per cell model, levels and power; any other cell the per-cell SVD, exact on the levels up
    to ``rtol``.
    """
    G = np.asarray(G, dtype=float)
    if isinstance(cell, LinearCell):
        return [(G ** power, lambda v: np.asarray(v, float) ** power)]
    if isinstance(cell, SinhCell):
        v0 = cell.v0
        return [(G ** power, lambda v: (v0 * np.sinh(np.asarray(v, float) / v0)) ** power)]
    levels = np.unique(np.asarray(v_levels, dtype=float))
    grid = levels if len(levels) <= _LEVELS_MAX else np.linspace(levels[0], levels[-1], _LEVELS_MAX)
    shared = None
    if isinstance(cell, SurrogateCell):
        shared = _cached(cell, ("factors", grid.tobytes(), power), lambda: _shared_factors(cell, grid, power))
    if shared is None or not shared[0].covers(G):
        return _tile_factors(cell, G, levels, power, rtol)
    table, U, functions = shared
    A = table.interp(G, U)                                                  # (rows, cols, rank)
    return [(A[..., r], f) for r, f in enumerate(functions)]


def cell_reads(cell, G: np.ndarray, voltages) -> list[np.ndarray]:
    """Read currents (A) of ``cell`` at conductances ``G`` and each of ``voltages`` (V), one
    array of ``G``'s shape per voltage. A surrogate cell with a stated validation error
    interpolates a table on the shared conductance grid (within :func:`factor_tolerance`),
    built once per cell and voltages; any other cell is evaluated directly."""
    G = np.asarray(G, dtype=float)
    v = np.asarray(voltages, dtype=float).ravel()
    tol = factor_tolerance(cell)
    if tol is not None:
        table = _cached(cell, ("reads", v.tobytes()), lambda: _ConductanceTable(cell, v, 1, tol))
        if table.ok and table.covers(G):
            I = table.interp(G, table.values)
            return [I[..., j] for j in range(len(v))]
    return [cell_read(cell, G, x) for x in v]
