"""Fused per-conversion loops of the analog tile (numba), and the switch between them and
the NumPy reference path.

After a row tile's signal and read-noise variance products (float32 GEMMs, in BLAS), each
conversion still goes through a dozen steps: the noise std (``sqrt(max(var, 0))``), its
tabulated standard-normal draw (:mod:`.noise`) scaled and added, the sense circuit's energy
per read (:class:`.readout.SenseEnergy`'s table), the sense and ADC as thresholds
(:class:`.readout.ThresholdReadout`'s cells), the clipped codes counted, and the shift-add
over pulses into each column's ADC steps. In NumPy that is about 25 passes over every
conversion, each through memory; :func:`convert_block` does them in one loop, one
conversion at a time, in the same float32 arithmetic (no FMA contraction: numba's default),
so the codes are the NumPy path's exactly:

- the draw is looked up from the bit generator's raw 16-bit indices (the NumPy path's very
  draws, in the same order; no float32 draw array);
- the sense energy's node values are summed in float64 and its within-segment parts in
  float64 too (the NumPy path sums them in float32 pairwise): the two sums agree to well
  within :data:`.readout.ENERGY_STEP_SHARE` of a table step per read;
- with several pulses (bit-serial inputs, two-phase signs), a conversion's codes are
  weighted and added pulse after pulse, where the NumPy path's BLAS product may add them in
  another order: the shift-added sums agree to a few ulp.

``nogil``: the row tiles' threads (:func:`.row_tile.tile_pool`) run their loops at once.
Compiled once per machine (``cache``: later processes load the compiled code).

:data:`ENABLED` (env ``CIMSPICE_KERNELS=numpy`` sets it False) selects the NumPy path,
which also runs wherever a kernel's preconditions do not hold (the caller checks them:
float32 currents, a threshold read-out, a tabulated sense energy, the surrogate solver) and
where numba cannot be imported (:func:`available`; numba is imported on the first read).
"""

from __future__ import annotations

import logging
import os
import threading

import numpy as np

from .noise import TABLE

log = logging.getLogger(__name__)

__all__ = ["ENABLED", "FusedReads", "available", "convert_block", "encode_codes", "level_counts", "use_kernels"]

#: Whether the fused loops run where they apply (False: the NumPy reference path everywhere).
ENABLED = os.environ.get("CIMSPICE_KERNELS", "numba").strip().lower() != "numpy"

_compiled = None          # {name: numba dispatcher} once numba is imported; False: it cannot be
_lock = threading.Lock()  # the tile threads' first reads arrive together


def _load():
    """The loops as numba dispatchers, imported on first use (numba's import costs about
    half a second: a process that reads no analog tile does not pay it); False without numba."""
    global _compiled
    if _compiled is not None:
        return _compiled
    with _lock:
        if _compiled is None:
            try:
                from numba import njit
            except ImportError as e:   # a declared dependency: the NumPy path still runs, only slower
                log.warning("numba cannot be imported (%s): the analog tiles read on the NumPy path (slower)", e)
                _compiled = False
            else:
                jit = njit(nogil=True, cache=True)
                _compiled = {"convert_block": jit(_convert_block), "level_counts": jit(_level_counts),
                             "encode_codes": jit(_encode_codes)}
    return _compiled


def available() -> bool:
    """Whether numba can be imported (and the loops compiled on their first call)."""
    return bool(_load())


def use_kernels() -> bool:
    """Whether the fused loops are to run: :data:`ENABLED` and numba importable."""
    return ENABLED and available()


def convert_block(*args):
    """:func:`_convert_block`, compiled."""
    return _load()["convert_block"](*args)


def level_counts(*args):
    """:func:`_level_counts`, compiled."""
    return _load()["level_counts"](*args)


def encode_codes(x, x_max: float, signed: bool, two_phase: bool, bipolar: bool, bits: int,
                 serial_bits: int) -> np.ndarray:
    """:func:`.encoding.encode`'s codes of inputs ``x`` (n, n_in) in one pass: (parts, n, n_in)
    uint16 DAC level indices (``serial_bits`` 0), or (parts * serial_bits, n, n_in) uint8
    bit-serial pulses; ``parts`` 2 for ``two_phase`` signs, else 1."""
    n, n_in = x.shape
    parts = 2 if two_phase else 1
    out = np.empty((parts * max(1, serial_bits), n, n_in), np.uint8 if serial_bits else np.uint16)
    _load()["encode_codes"](x, x_max, -1.0 if signed else 0.0, 2 ** bits - 1, two_phase, bipolar, serial_bits, out)
    return out


def _encode_codes(x, x_max, lo, top, two_phase, bipolar, serial_bits, out):
    """Fills ``out`` (see :func:`encode_codes`): each input over ``x_max`` clipped to
    ``lo .. 1``, per sign phase its magnitude (bipolar) or value times ``top`` rounded half to
    even (``np.rint``), as a DAC level index (bipolar: ``top`` -+ it) or bit planes (bipolar:
    1 -+ each bit), the NumPy path's arithmetic step for step."""
    n, n_in = x.shape
    parts = 2 if two_phase else 1
    scale = np.float64(top)
    q = np.empty(n_in, np.int64)       # one vector's quantised part (row passes: SIMD)
    neg = np.empty(n_in, np.bool_)
    for v in range(n):
        for h in range(parts):
            for r in range(n_in):
                u = min(max(x[v, r] / x_max, lo), 1.0)
                if two_phase:
                    u = max(u, 0.0) if h == 0 else max(-u, 0.0)
                neg[r] = u < 0.0
                q[r] = np.int64(np.rint((abs(u) if bipolar else u) * scale))
            if serial_bits == 0:
                row = out[h, v]
                if bipolar:
                    for r in range(n_in):
                        row[r] = top - q[r] if neg[r] else top + q[r]
                else:
                    for r in range(n_in):
                        row[r] = q[r]
                continue
            for b in range(serial_bits):
                row = out[h * serial_bits + b, v]
                if bipolar:
                    for r in range(n_in):
                        bit = (q[r] >> b) & 1
                        row[r] = 1 - bit if neg[r] else 1 + bit
                else:
                    for r in range(n_in):
                        row[r] = (q[r] >> b) & 1


def _convert_block(D, V, idx, v0, table, noisy, weights, lsb, summed, row0,
                   lo_col, inv_col, top_cell, offset, base, theta, code_max,
                   priced, e_lo, e_inv, e_top, e_y0, e_dy):
    """One block of conversions: ``m`` vectors x ``P`` pulses x ``C`` columns.

    ``D``, ``V`` (P*m, C) float32: signal (A) and noise variance (A^2) of each read, pulse
    major; ``idx`` (P, b, C) uint16: the block's draw indices into ``table`` (65,536 float32
    standard-normal levels), this chunk's vectors from ``v0`` on; ``noisy``: add the noise.
    Read-out (:class:`.readout.ThresholdReadout`): ``lo_col``, ``inv_col`` (C,) float32,
    ``top_cell`` float32 (cells - 1), ``offset`` (C,) intp, ``base`` (cells x steps,) ints,
    ``theta`` (same,) float32; codes at or beyond +-``code_max`` counted as clipped.
    Shift-add: codes x ``weights`` (P,) summed over pulses, x ``lsb`` (C,), added into
    ``summed[row0 + v]``. Sense energy (``priced``, :class:`.readout.SenseEnergy`): float32
    ``e_lo``, ``e_inv``, ``e_top``, node values ``e_y0`` float64 and slopes ``e_dy`` float32.
    Returns (clipped conversions, sense energy J)."""
    P = weights.shape[0]
    m = D.shape[0] // P
    C = D.shape[1]
    zero = np.float32(0.0)
    clipped = 0
    nodes = 0.0
    within = 0.0
    # one read (a vector's pulse) at a time over all columns, in short passes over rows of C
    # values in L1: the arithmetic passes vectorise (SIMD), the table look-ups run alone
    # (2.2x as fast as one pass doing everything per conversion, measured; with the pulses
    # innermost, 4-7x slower: a one-trip loop with DAC inputs)
    cur = np.empty(C, np.float32)       # the read's currents (A)
    part = np.empty(C, np.float32)      # draws; then the energy's position within its segment
    at = np.empty(C, np.int64)          # table nodes: the energy's segment; then the read-out's cell
    pulsed = np.empty(C)                # codes x pulse weights, summed pulse after pulse
    for v in range(m):
        for p in range(P):
            r = p * m + v
            w = weights[p]
            Dr = D[r]
            if noisy:
                Vr, ir = V[r], idx[p, v0 + v]
                for j in range(C):
                    part[j] = table[ir[j]]
                for j in range(C):
                    cur[j] = Dr[j] + np.sqrt(max(Vr[j], zero)) * part[j]
            else:
                for j in range(C):
                    cur[j] = Dr[j]
            if priced:
                for j in range(C):
                    t = min(max((cur[j] - e_lo) * e_inv, zero), e_top)
                    k = int(t)
                    at[j] = k
                    part[j] = t - np.float32(k)
                for j in range(C):
                    k = at[j]
                    nodes += e_y0[k]
                    within += part[j] * e_dy[k]
            for j in range(C):
                t = min(max((cur[j] - lo_col[j]) * inv_col[j], zero), top_cell)
                at[j] = int(t) + offset[j]
            for j in range(C):
                k = at[j]
                at[j] = np.int64(base[k]) + np.int64(cur[j] >= theta[k])      # the code
            for j in range(C):
                code = at[j]
                clipped += np.int64(code >= code_max) + np.int64(code <= -code_max)
                if p == 0:
                    pulsed[j] = w * code
                else:
                    pulsed[j] += w * code
        for j in range(C):
            summed[row0 + v, j] += pulsed[j] * lsb[j]
    return clipped, nodes + within


def _level_counts(codes, v0, b, r0, r1, levels):
    """(levels, r1 - r0) int64: how often each row of ``codes[:, v0:v0 + b, r0:r1]`` is
    driven at each level (``codes`` (P, n, n_in) level indices; two levels: 0 or 1)."""
    counts = np.zeros((levels, r1 - r0), np.int64)
    if levels == 2:          # pulses: the ones summed row by row (SIMD), the rest are zeros
        ones = counts[1]
        for p in range(codes.shape[0]):
            for v in range(v0, v0 + b):
                row = codes[p, v]
                for r in range(r0, r1):
                    ones[r - r0] += row[r]
        for r in range(r1 - r0):
            counts[0, r] = codes.shape[0] * b - ones[r]
        return counts
    for p in range(codes.shape[0]):
        for v in range(v0, v0 + b):
            for r in range(r0, r1):
                counts[codes[p, v, r], r - r0] += 1
    return counts


class FusedReads:
    """A row tile's read-out and sense-energy tables as :func:`convert_block`'s arguments.

    ``readout``: the tile's :class:`.readout.ThresholdReadout`; ``lsb`` (C,) its columns' ADC
    steps (A); ``energy``: the sense's :class:`.readout.SenseEnergy`, or None (reads unpriced).
    """

    def __init__(self, readout, lsb: np.ndarray, energy=None):
        self.readout, self.lsb_of, self.energy = readout, lsb, energy
        self.lsb = np.ascontiguousarray(lsb, np.float64)
        cell = (np.ascontiguousarray(readout.lo_col, np.float32), np.ascontiguousarray(readout.inv_col, np.float32),
                np.float32(readout.cells - 1), np.ascontiguousarray(readout.offset, np.intp),
                np.ascontiguousarray(readout.base), np.ascontiguousarray(readout.theta, np.float32), int(readout.c))
        if energy is None:
            priced = (False, np.float32(0), np.float32(1), np.float32(0), np.zeros(1), np.zeros(1, np.float32))
        else:
            priced = (True, np.float32(energy.lo), np.float32(energy.inv_h), np.float32(energy.top),
                      np.ascontiguousarray(energy.y0, np.float64), np.ascontiguousarray(energy.dy, np.float32))
        self.priced = energy is not None
        self._tables = cell + priced

    def __call__(self, D, V, idx, v0: int, weights, summed, row0: int) -> tuple[int, float]:
        """Convert the reads of signal ``D`` (P*m, C) float32 (A) with variance ``V`` (same, A^2)
        and draw indices ``idx[:, v0:v0 + m]`` (``idx`` (P, b, C) uint16; ``V`` and ``idx`` None:
        no read noise), shift-added into ``summed[row0:row0 + m]`` (float64, C-contiguous).
        Returns (clipped conversions, sense energy J)."""
        noisy = V is not None
        if not noisy:
            V, idx = _NO_F32, _NO_U16
        clipped, energy = convert_block(D, V, idx, v0, TABLE, noisy, weights, self.lsb, summed, row0, *self._tables)
        return int(clipped), float(energy)


_NO_F32, _NO_U16 = np.zeros((1, 1), np.float32), np.zeros((1, 1, 1), np.uint16)
