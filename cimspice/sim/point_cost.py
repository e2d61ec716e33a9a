"""What a design point costs to simulate, estimated before any runs: the order in which a
design sweep's processes take its points (:func:`.explore._run_local`), longest first.

Processes that take points in the list's order, whichever is free first, end apart by up to
a point: the last point to start runs alone. Longest first, the last points are the
shortest (the longest-processing-time rule; Graham, SIAM J. Appl. Math. 17(2), 1969, bounds
its makespan by 4/3 of the optimum). A 16-point MLP sweep on 2 processes ran 1.69x as fast
as serially in the list's order and 1.78x longest first, with each point's measured time as
its cost (medians of 9 paired rounds, 2026-12-07).

A point's time is mostly two things the spec and the network's shapes decide:

- programming its arrays: each array's IR-drop transfer is a condensation over its cells
  (:mod:`.crossbar.transfer`), then each array's read-out thresholds;
- its reads: conversions of every column read, every pulse, every vector a sample drives
  through each matrix (many for a convolution: one per output position), every sample.

How many vectors each matrix reads per sample is counted from one sample through the float
network (:func:`vectors_per_sample`). The weights (:data:`T_CELL`, :data:`T_ARRAY`,
:data:`T_CONVERSION`) are seconds per unit on a 2-core machine of 2026; only their ratios
order the points, and another machine's differ less than the points do.
"""

from __future__ import annotations

import numpy as np

from .execution import FloatBackend, FloatMatVec
from .mapping import plan_matrix

__all__ = ["point_costs", "point_work", "vectors_per_sample"]

# Seconds per unit, fitted (non-negative least squares, an intercept per sweep for what
# every point pays alike) to 96 points of six 16-point sweeps of the shipped MLP and CNN on
# baseline (the benchmark's knobs; rows 16-128, DAC or bit-serial inputs, IR drop on or off),
# 2026-12-07 on this project's 2-core machine. Each sweep, fitted without it, is ranked with
# a Spearman correlation of 0.93-0.99 against its measured times.
#: seconds per cell condensed for an array's IR-drop transfer (:mod:`.crossbar.transfer`; a
#: 64x64 array's: 6 ms)
T_CELL = 1.4e-6
#: seconds per array made besides (tile set-up, read-out thresholds, its calibration reads)
T_ARRAY = 1.1e-3
#: seconds per conversion read (the fused read loop)
T_CONVERSION = 9.1e-9


class _Counting(FloatBackend):
    """The float reference, counting each matrix's input vectors and whether any is signed."""

    def __init__(self):
        super().__init__()
        self.vectors: dict[str, list] = {}

    def matvec(self, name, W):
        product, counts = FloatMatVec(W), self.vectors.setdefault(name, [0, False])

        def counted(x):
            x = np.asarray(x)
            counts[0] += x.shape[0]
            counts[1] |= bool(np.any(x < 0))
            return product(x)

        counted.n_in, counted.n_out = product.n_in, product.n_out
        return counted

    make_matvec = matvec


def vectors_per_sample(network, sample) -> dict[str, tuple[int, bool]]:
    """``{matrix name: (input vectors per sample, whether any input is negative)}`` from
    ``sample`` (one sample, with its batch axis) through the float network."""
    backend = _Counting()
    network.forward(sample, backend)
    return {name: (count, signed) for name, (count, signed) in backend.vectors.items()}


def point_work(spec, shapes: dict, vectors: dict) -> tuple[int, int, int]:
    """``(cells condensed, arrays, conversions per sample)`` of ``spec`` for matrices of
    ``shapes`` ``{name: (n_in, n_out)}``, ``vectors`` from :func:`vectors_per_sample`."""
    inputs = spec.inputs
    pulses = inputs.bits if inputs.encoding == "bit_serial" and inputs.bits else 1
    cells = arrays = conversions = 0
    for name, (n_in, n_out) in shapes.items():
        plan = plan_matrix(name, n_in, n_out, spec)
        arrays += len(plan.row_tiles) * len(plan.out_groups)
        # each array's transfer is condensed over the cells it uses (a tile's rows, a group's columns)
        used_rows = sum(r1 - r0 for r0, r1 in plan.row_tiles)
        used_cols = sum((o1 - o0) * plan.per_output + plan.n_ref for o0, o1 in plan.out_groups)
        cells += used_rows * used_cols
        count, signed = vectors.get(name, (0, False))
        phases = 2 if signed and inputs.signed == "two_phase" else 1
        # a differential pair is sensed as one current: one conversion per output and slice
        conversions += count * len(plan.row_tiles) * n_out * spec.mapping.slices * pulses * phases
    return (cells if spec.nonidealities.ir_drop else 0), arrays, conversions


def point_costs(specs: list, network, vectors: dict, n_samples: int, seeds: int = 1) -> np.ndarray:
    """Estimated seconds (len(specs),) to simulate ``network`` on each of ``specs``
    (:class:`~.spec.SystemSpec`) over ``n_samples`` samples and ``seeds`` device seeds;
    ``vectors`` from :func:`vectors_per_sample`. For ordering, not for reporting."""
    shapes = {name: W.shape for name, W in network.matrices().items()}
    costs = []
    for spec in specs:
        cells, arrays, conversions = point_work(spec, shapes, vectors)
        costs.append(seeds * (T_CELL * cells + T_ARRAY * arrays + T_CONVERSION * conversions * n_samples))
    return np.array(costs)
