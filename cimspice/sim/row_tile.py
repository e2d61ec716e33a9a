"""A row tile's arrays as the analog tile reads them (:mod:`.tile`): the separable read
law of their cells as matrix products, and what one read costs.

``Separable`` holds ``sum_r f_r(V) @ A_r`` for the cells of every array of a row tile side
by side; ``RowTile`` the tile's products (signal and read-noise variance), its arrays for
the exact solver, its ADC steps and read-out, and its energy and drive counters;
``Tally`` the events of a product's reads, and the helpers that let row tiles run on
several threads with the draws and sums of one thread.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from . import kernels

__all__ = ["RowTile", "Separable", "Tally", "available_cpus", "generator_after", "in_order", "tile_pool"]


class Separable:
    """``sum_r f_r(V) @ A_r`` for row inputs given as level indices or as voltages.

    With indexed inputs the ``f_r`` are tabulated on the levels once; two levels (bit-serial
    pulses) collapse to a single product ``bits @ M + c``.
    """

    def __init__(self, factors, level_v, dtype=np.float64):
        self.level_v, self.dtype = level_v, dtype
        if level_v is None:
            self.factors, self.mode = factors, "voltage"
        elif len(level_v) == 2:
            tables = [f(level_v) for _, f in factors]
            self.M = sum((t[1] - t[0]) * A for (A, _), t in zip(factors, tables)).astype(dtype)
            c = sum(t[0] * A.sum(axis=0) for (A, _), t in zip(factors, tables))
            self.c = c.astype(dtype) if np.any(c) else None
            self.mode = "two"
        else:  # DAC levels: tabulated, in the chosen precision (float32 halves the traffic);
            # all terms at once: one (levels, R) lookup per code and one product with the
            # factors stacked row by row, (rows * R, cols) (half the time of one lookup and
            # one product per term)
            self.table = np.stack([np.asarray(f(level_v), dtype) for _, f in factors], axis=1)
            self.A = np.stack([np.asarray(A, dtype) for A, _ in factors], axis=1)
            self.A = self.A.reshape(-1, self.A.shape[-1])
            self.mode = "table"

    @property
    def nonnegative(self) -> bool:
        """Every product is >= 0 for every input (nonnegative tables and matrices: a sum of
        nonnegative terms rounds to a nonnegative number)."""
        if self.mode == "two":
            return bool((self.M >= 0).all() and (self.c is None or (self.c >= 0).all()))
        if self.mode == "table":
            return bool((self.table >= 0).all() and (self.A >= 0).all())
        return False

    def apply(self, codes):
        """(m, rows) codes -> (m, cols). Two-level codes may come already in ``dtype``."""
        if self.mode == "two":
            out = codes.astype(self.dtype, copy=False) @ self.M
            if self.c is not None:
                out += self.c
            return out
        if self.mode == "table":
            return np.take(self.table, codes, axis=0).reshape(len(codes), -1) @ self.A
        return sum(f(codes) @ A for A, f in self.factors)


class RowTile:
    """The arrays sharing one range of inputs: their factors side by side over all outputs."""

    def __init__(self, rows: tuple[int, int]):
        self.rows = rows
        self.diff: Separable | None = None   # plus minus minus column currents
        self.sq: Separable | None = None     # variance: squared currents of plus + minus
        self.sq_nonnegative = False  # whether sq.apply can skip clipping round-off below 0
        self.readout = None         # sense and ADC as thresholds on the current (.readout), if exact
        self.arrays: list = []      # [(outs, G, plus_idx, minus_idx)] for the exact solver
        self.lsb = None             # (n_out*k,) ADC step per column, one value per array
        self.adc_bits = None
        self.conv_per_array = 0     # conversions per array per read (the busiest array)
        self.level_v = None
        self.attenuation = 1.0      # mean IR-drop attenuation of the cells' currents (1: none)
        self._rowsum = None         # [(rowsum_r (rows,), f_r)]: current drawn per unit f_r
        self._ew = None             # (levels, rows): power per row at each level / t_read
        self._fused = None          # kernels.FusedReads of the current read-out, ADC steps and sense

    def set_rowsum(self, rowsum, level_v):
        self.level_v, self._rowsum = level_v, rowsum
        if level_v is not None:
            self._ew = sum(level_v[:, None] * f(level_v)[:, None] * r[None, :] for r, f in rowsum)
            self._zero = int(np.argmin(np.abs(level_v)))

    def drive(self, codes_all, v0: int, b: int) -> tuple[float, int]:
        """``(sum V * I (W * s / t_read), row drives)`` of this tile's rows over vectors
        ``v0 .. v0 + b`` of ``codes_all`` (P, n, n_in): the arrays' energy of those reads, and
        the pulses or DAC levels at a nonzero voltage."""
        codes = codes_all[:, v0:v0 + b, self.rows[0]:self.rows[1]]
        fused = kernels.use_kernels()
        if self.level_v is None or (len(self._ew) == 2 and not fused):
            return self.energy(codes), self.driven(codes)
        # one histogram of (level, row) for both (one loop where numba runs)
        L = len(self._ew)
        counts = kernels.level_counts(codes_all, v0, b, self.rows[0], self.rows[1], L) if fused else \
            self._counts(codes)
        driven = int(codes.size - counts[self._zero].sum())
        if L == 2:
            return self._pulse_energy(counts[1], codes.shape[0] * codes.shape[1]), driven
        return float(np.sum(counts * self._ew)), driven

    def energy(self, codes) -> float:
        """``sum V * I`` (W * s / t_read) over every row of every read in ``codes`` (P, m, rows)."""
        if self.level_v is None:
            flat = codes.reshape(-1, codes.shape[-1])
            return float(sum(np.sum((flat * f(flat)) @ r) for r, f in self._rowsum))
        L, rows = self._ew.shape
        if L == 2:
            ones = np.count_nonzero(codes.reshape(-1, rows), axis=0)
            return self._pulse_energy(ones, codes.shape[0] * codes.shape[1])
        return float(np.sum(self._counts(codes) * self._ew))

    def _pulse_energy(self, ones, total: int) -> float:
        """``sum V * I`` of ``total`` reads of two levels, ``ones`` (rows,) of them at the top."""
        return float(ones @ self._ew[1] + (total - ones) @ self._ew[0])

    def _counts(self, codes) -> np.ndarray:
        """(levels, rows) int64: how often each row of ``codes`` (P, m, rows) is at each level."""
        L, rows = self._ew.shape
        keys = np.multiply(codes, rows, dtype=np.intp)      # (level, row) pairs, one pass over the view
        keys += np.arange(rows)
        return np.bincount(keys.ravel(), minlength=L * rows).reshape(L, rows)

    def driven(self, codes) -> int:
        """Row drives (pulses or DAC levels at a nonzero voltage) in ``codes``."""
        if self.level_v is None:
            return int(np.count_nonzero(codes))
        return int(codes.size - np.count_nonzero(codes == self._zero))

    def fused_reads(self, energy, priced: bool) -> kernels.FusedReads | None:
        """The fused read loop of this tile's :attr:`readout` and :attr:`lsb` with the sense's
        :class:`.readout.SenseEnergy` ``energy`` when its reads are ``priced``, built once for
        them; or None where the NumPy path reads the tile: kernels off or numba missing, no
        threshold read-out (exact solver, float64 currents), continuous DAC voltages, or a
        priced sense without a float32 energy table (``energy`` None)."""
        if (not kernels.use_kernels() or self.readout is None or self.level_v is None
                or self.diff.dtype != np.float32 or (priced and energy is None)):
            return None
        energy = energy if priced else None
        f = getattr(self, "_fused", None)     # (a tile pickled before it had one)
        if f is None or f.readout is not self.readout or f.lsb_of is not self.lsb or f.energy is not energy:
            f = self._fused = kernels.FusedReads(self.readout, self.lsb, energy)
        return f


class Tally:
    """Events of a matrix product's reads. Energies are kept per read block and summed in
    the order the blocks were read (:func:`in_order`), whichever thread read them."""

    def __init__(self):
        self.energy: list[float] = []          # J of the arrays, per block of vectors
        self.sense_energy: list[float] = []    # J of the sense circuits, per block of reads
        self.pulses = self.clipped = 0

    def merge(self, other: Tally) -> None:
        self.energy += other.energy
        self.sense_energy += other.sense_energy
        self.pulses += other.pulses
        self.clipped += other.clipped


def in_order(values) -> float:
    """``values`` added one after the other from 0.0 (as a single loop adds them)."""
    total = 0.0
    for v in values:
        total += v
    return total


_POOLS: dict[tuple[int, int], ThreadPoolExecutor] = {}   # (process id, threads) -> pool


#: CPUs a backend's row tiles may use in this process when it does not say (None: all it may
#: run on). A design sweep's worker sets 1: the sweep already runs one process per core.
THREADS_PER_PROCESS: int | None = None


def available_cpus() -> int:
    """CPUs this process may run on (its affinity mask where the OS has one), or
    :data:`THREADS_PER_PROCESS` where a worker pool has set it."""
    if THREADS_PER_PROCESS is not None:
        return THREADS_PER_PROCESS
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def tile_pool(threads: int) -> ThreadPoolExecutor:
    """A process-wide pool of ``threads`` worker threads (NumPy's loops and BLAS release the
    GIL: two threads read 1.6x as fast as one with a core free, measured). Keyed by process:
    a worker forked from a process that had a pool has none of its threads."""
    key = (os.getpid(), threads)
    if key not in _POOLS:
        _POOLS[key] = ThreadPoolExecutor(threads, thread_name_prefix="cimspice-tile")
    return _POOLS[key]


def generator_after(rng: np.random.Generator, skip: int) -> np.random.Generator:
    """A copy of ``rng`` advanced by ``skip`` raw outputs (``rng`` itself is left as it is)."""
    bits = type(rng.bit_generator)(0)   # seeded, not from the OS's entropy (a syscall): replaced at once
    bits.state = rng.bit_generator.state
    bits.advance(skip)
    return np.random.Generator(bits)
