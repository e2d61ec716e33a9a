"""IR drop of programmed arrays (``nonidealities.ir_drop``), through the programmed-chip
cache when there is one.

The linear crossbar's transfer matrix ``T`` (:meth:`CrossbarSolver.transfer_matrix`) at the
cells' chord conductance ``Gc`` at ``v_read`` gives each cell's fraction ``a = T / Gc`` of the
row voltage left across it. A cell's current then falls by ``kappa (1 - a)``,
``kappa = d ln I / d ln V`` at ``v_read`` (1 for a linear cell, where this is exact by
superposition; first order otherwise).

``T`` is 80 % of programming (the condensation, about 10 ms per 64x64 array). With a
programmed-chip cache (:mod:`.program_cache`) an array's ``T`` is read when this or an
earlier run solved the same ``Gc`` on the same solver, and otherwise solved and filed.
Arrays are solved one after the other: on threads they were slower (SciPy's LAPACK wrappers
hold the GIL; docs/system.md, "Programming").
"""

from __future__ import annotations

import numpy as np

from .crossbar import LinearCell, cell_reads

__all__ = ["attenuations"]


def attenuations(backend, Gs: list[np.ndarray]) -> list[np.ndarray] | None:
    """The IR-drop attenuation (rows, cols) of each programmed array of conductances ``Gs``
    (S), in their order, through ``backend.program_cache`` (entries it lacks filed there);
    None when the spec has no IR drop."""
    n = backend.spec.nonidealities
    if not (n.ir_drop and n.r_wire > 0):
        return None
    cache = getattr(backend, "program_cache", None)
    cell, v = backend.cell, backend.spec.array.v_read
    return [_attenuation(cell, v, backend.solver(*G.shape), cache, G) for G in Gs]


def _attenuation(cell, v: float, solver, cache, G: np.ndarray) -> np.ndarray:
    """Attenuation (rows, cols) of one array of conductances ``G`` (S) read at ``v`` (V)."""
    linear = isinstance(cell, LinearCell)
    if linear:
        Gc = G
    else:
        h = 1e-3 * v
        i_v, i_up, i_down = cell_reads(cell, G, (v, v + h, v - h))
        Gc = i_v / v
    key = None if cache is None else cache.key(solver.transfer_signature, Gc)
    T = None if cache is None else cache.get(key)
    if T is None:
        T = solver.transfer_matrix(Gc)
        if cache is not None:
            cache.put(key, T)
    if linear:
        return T / G
    kappa = v * (i_up - i_down) / (2 * h) / i_v
    return 1.0 - kappa * (1.0 - T / Gc)
