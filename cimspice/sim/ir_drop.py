"""IR drop of programmed arrays (``nonidealities.ir_drop``, ``solver: surrogate``), many
arrays at once, and the thread map that programs a matrix's row tiles.

The linear crossbar's transfer matrix ``T`` (:meth:`CrossbarSolver.transfer_matrix`) at the
cells' chord conductance ``Gc`` at ``v_read`` gives each cell's fraction ``a = T / Gc`` of the
row voltage left across it. A cell's current then falls by ``kappa (1 - a)``,
``kappa = d ln I / d ln V`` at ``v_read`` (1 for a linear cell, where this is exact by
superposition; first order otherwise).

Arrays are independent, so they are solved on the backend's tile threads
(:func:`map_in_order`: LAPACK releases the GIL, each condensation runs on one BLAS thread),
each result in its array's place: the attenuations of one thread, bit for bit. With a
programmed-chip cache (:mod:`.program_cache`) an array's ``T`` is read when this or an
earlier run solved the same ``Gc`` on the same solver, and otherwise solved and filed.
"""

from __future__ import annotations

import numpy as np

from .crossbar import LinearCell, cell_reads
from .crossbar.transfer import one_blas_thread
from .row_tile import tile_pool

__all__ = ["attenuations", "map_in_order"]


def map_in_order(fn, items, threads: int) -> list:
    """``[fn(item) for item in items]``, up to ``threads`` at once on the tile threads
    (:func:`.row_tile.tile_pool`), results in ``items``' order, BLAS on one thread throughout
    (OpenBLAS's own threads spin against these on a shared machine, and a BLAS call's result
    must not depend on how many threads ran)."""
    items = list(items)
    with one_blas_thread():
        if threads <= 1 or len(items) <= 1:
            return [fn(item) for item in items]
        return list(tile_pool(threads).map(fn, items))


def attenuations(backend, Gs: list[np.ndarray]) -> list[np.ndarray] | None:
    """The IR-drop attenuation (rows, cols) of each programmed array of conductances ``Gs``
    (S), in their order, on ``backend.threads`` threads and through ``backend.program_cache``
    (entries it lacks filed there); None when the spec has no IR drop."""
    n = backend.spec.nonidealities
    if not (n.ir_drop and n.r_wire > 0):
        return None
    cache = getattr(backend, "program_cache", None)
    solvers = {G.shape: backend.solver(*G.shape) for G in Gs}       # made here: the backend's dict is not locked
    signatures = {shape: solver.transfer_signature for shape, solver in solvers.items()}
    cell, v = backend.cell, backend.spec.array.v_read

    def job(G):
        return _attenuation(cell, v, solvers[G.shape], signatures[G.shape], cache, G)

    out = []
    for attenuation, new in map_in_order(job, Gs, getattr(backend, "threads", 1)):
        if new is not None:
            cache.put(*new)     # in array order, from this thread: the file's order is the run's
        out.append(attenuation)
    return out


def _attenuation(cell, v: float, solver, signature: str, cache, G: np.ndarray):
    """``(attenuation (rows, cols), (key, T) to file or None)`` of one array of conductances
    ``G`` (S) read at ``v`` (V)."""
    linear = isinstance(cell, LinearCell)
    if linear:
        Gc = G
    else:
        h = 1e-3 * v
        i_v, i_up, i_down = cell_reads(cell, G, (v, v + h, v - h))
        Gc = i_v / v
    key = cache.key(signature, Gc) if cache is not None else None
    T = cache.get(key) if cache is not None else None
    new = None
    if T is None:
        T = solver.transfer_matrix(Gc, keep=False)
        new = None if cache is None else (key, T)
    if linear:
        return T / G, new
    kappa = v * (i_up - i_down) / (2 * h) / i_v
    return 1.0 - kappa * (1.0 - T / Gc), new
