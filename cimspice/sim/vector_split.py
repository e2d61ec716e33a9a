"""A matrix product's reads split by input vectors over threads, with one thread's draws,
sums and energies bit for bit (:meth:`.tile.AnalogMatrix._tile_passes`).

Splitting by row tiles (a wave of tiles at once, one partial sum each, added in tile order)
leaves a thread idle when the tiles are few or unequal: a 224x224 ResNet-18's first
convolution has three row tiles of 64, 64 and 19 rows over 100,352 vectors, and read 1.2x
as fast on two threads as on one. Here each thread takes a contiguous range of the vectors
instead and reads every row tile over it, tile after tile, into its own rows of the shared
sums: every sum gets the same terms in the same order as on one thread. The ranges end on
the read chunks' bounds (``_CHUNK``), so each chunk, and the sense energy it returns, is the
one-thread chunk; a block's drive energy is computed by the thread holding the block's first
vector; and each range's read-noise indices are cut from the generator's stream where the
one-thread run takes them (:func:`block_indices`).
"""

from __future__ import annotations

import numpy as np

from .noise import normal_indices
from .row_tile import Tally, generator_after

__all__ = ["block_indices", "chunk_groups", "read_by_vectors"]


def chunk_groups(n: int, block: int, step: int, threads: int, min_chunks: int = 3) -> list[tuple[int, int]] | None:
    """``threads`` contiguous vector ranges ``[(lo, hi), ...]`` covering ``0..n``, each made of
    whole read chunks (``step`` vectors from each draw block's start; ``block`` vectors a draw
    block), with near-equal vector counts; None when there are fewer than ``min_chunks``
    chunks per thread (the split would leave one thread idle for a chunk's time, out of
    few: row-tile waves balance such a product better)."""
    bounds = [s0 + s for s0 in range(0, n, block) for s in range(0, min(block, n - s0), step)]
    if len(bounds) < min_chunks * threads:
        return None
    cuts, j = [0], 0
    for g in range(1, threads):
        target = g * n / threads
        while j < len(bounds) and bounds[j] < target:
            j += 1
        # the chunk bound nearest the target, after the last cut
        if j > 0 and target - bounds[j - 1] < (bounds[j] if j < len(bounds) else n) - target:
            j -= 1
        cuts.append(max(bounds[j] if j < len(bounds) else n, cuts[-1]))
    cuts.append(n)
    return [(lo, hi) for lo, hi in zip(cuts, cuts[1:]) if hi > lo]


def block_indices(rng: np.random.Generator, start: int, shape: tuple[int, int, int], lo: int, hi: int) -> np.ndarray:
    """``normal_indices(g, shape)[:, lo:hi]`` for ``g`` a copy of ``rng`` advanced by ``start``
    raw outputs, drawn without the rest of the block: per pulse only the raw outputs that
    hold its vectors ``lo..hi`` (four 16-bit indices per output, in (pulse, vector, column)
    order). ``rng`` is left as it is."""
    P, b, C = shape
    if lo == 0 and hi == b:
        return normal_indices(generator_after(rng, start), shape)
    out = np.empty((P, hi - lo, C), np.uint16)
    count = (hi - lo) * C
    for p in range(P):
        first = p * b * C + lo * C               # the pulse's first index in the block's stream
        raw_lo, raw_hi = first // 4, -(-(first + count) // 4)
        raw = generator_after(rng, start + raw_lo).bit_generator.random_raw(raw_hi - raw_lo)
        skip = first - 4 * raw_lo
        out[p] = raw.astype("<u8", copy=False).view("<u2")[skip:skip + count].reshape(hi - lo, C)
    return out


def read_by_vectors(matrix, codes_all: np.ndarray, groups, pool, weights: np.ndarray) -> tuple[np.ndarray, Tally]:
    """Every row tile's reads of ``codes_all`` (P, n, n_in) with each of ``groups``' vector
    ranges on a thread of ``pool`` (:meth:`~.tile.AnalogMatrix._tile_reads` over the range,
    tile after tile): codes x ADC step summed over pulses and tiles (n, n_out*k) and the
    events, as :meth:`~.tile.AnalogMatrix._tile_passes` on one thread gives them. The
    backend's generator is left where the one-thread reads leave it."""
    P, n, _ = codes_all.shape
    starts, total = matrix._stream_starts(P, n)
    summed = np.zeros((n, matrix.n_out * matrix.k))

    def job(lo: int, hi: int):
        tallies = [Tally() for _ in matrix.tiles]          # per tile: merged in tile order
        for tile, start, tally in zip(matrix.tiles, starts, tallies):
            matrix._tile_reads(tile, codes_all, weights, summed, tally, start, lo, hi)
        return tallies

    futures = [pool.submit(job, lo, hi) for lo, hi in groups]
    parts = [f.result() for f in futures]        # in vector order
    tally = Tally()
    for t in range(len(matrix.tiles)):           # tile-major, then vector order: one thread's order
        for tallies in parts:
            tally.merge(tallies[t])
    matrix.backend.rng.bit_generator.advance(total)
    return summed, tally
