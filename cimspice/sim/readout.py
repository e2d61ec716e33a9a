"""An array's sense circuit and ADC read as thresholds on the column current.

Every conversion of a tile goes current -> ``sense.sense`` -> ``adc.convert`` (one column's
ADC step ``lsb``): for a characterized TIA and a measured SAR, about 25 passes over the
conversions, most in float64, which made the read-out twice the cost of the tile's signal
and noise products (ResNet-18 profile, docs/system.md). Both stages are element-wise and,
for every model the simulator ships, never decrease as the current grows. The codes of one
ADC step are then a staircase in the current: code ``-c + b`` from the ``b``-th threshold
on (``c = code_max``, ``2c`` thresholds). :class:`ThresholdReadout` finds those thresholds
once per programmed tile, by bisection over float32 values through the models themselves
(so whatever they compute, it reproduces), and converts by counting thresholds at or below
each current: about 9 passes over float32 and index arrays.

Counting uses a uniform grid of cells per ADC step, each holding at most one threshold:
``cell(i) = clip(floor((i - lo) * inv), 0, cells - 1)`` in float32, a non-decreasing
function of ``i``. A threshold in a lower cell than ``i``'s is below ``i``, one in a higher
cell above it, so ``code(i) = base[cell] + (i >= theta[cell])`` with ``base`` the
thresholds in lower cells and ``theta`` the cell's own threshold (``+inf`` if none): the
same codes as the two models for every float32 current, not an approximation.

That holds while the read-out never turns back. It is checked, not assumed: a tile's
thresholds are used only if the direct path gives the same codes at every threshold, the
float32 value just below it, 8 points per cell across the whole staircase and beyond, and
currents of every magnitude; otherwise
(and for float64 currents, an unquantised ADC, or thresholds too dense for
:data:`MAX_CELLS` cells) the tile converts through the models directly.

The sense circuit's energy per read, summed over a block of float32 currents
(:class:`SenseEnergy`), interpolates the sense's own linear table of its energy surrogate
(``SurrogateSense``: 4,097 nodes over the characterized currents, clipped at its edges) in
float32 arithmetic, in 10 passes instead of the direct path's 12 float64 passes (1.5x as
fast in a ResNet-18 run, measured call by call on the same currents). Each read's energy
stays within :data:`ENERGY_STEP_SHARE` of the table's largest step between adjacent nodes
of the direct path's (the float32 position on the table is off by at most 2 ulp of 4,096
nodes: 5e-4 of a step), so the sum stays within that share of a step per read; for the
shipped ``tia_array`` that is below 1e-6 of the energy itself, 500 times below its
surrogate's own validation error (0.05 % RMS; tests/test_sim_readout.py checks both
bounds against the direct path).

The tile's fused read loop (:mod:`.kernels`) reads both tables, conversion by conversion, in
the same float32 arithmetic: the same codes, and the energy summed in float64.
"""

from __future__ import annotations

import numpy as np

__all__ = ["ENERGY_STEP_SHARE", "MAX_CELLS", "SenseEnergy", "ThresholdReadout", "sense_energy",
           "threshold_readout"]

ENERGY_STEP_SHARE = 1e-3   # largest error of a read's energy, as a share of the table's largest step
MAX_CELLS = 1 << 16        # cells per ADC step at most (the table is 12 bytes a cell)
_CELLS_PER_THRESHOLD = 4   # the first grid tried; doubled while two thresholds share a cell
_CHECK_POINTS = 8          # points per cell at which the direct path is compared

_F32 = np.float32
_SIGN = np.int64(1 << 31)


def _ordered(x) -> np.ndarray:
    """float32 values -> int64 keys in the same order (adjacent floats: adjacent keys)."""
    bits = np.asarray(x, _F32).view(np.uint32).astype(np.int64)
    return np.where(bits >= _SIGN, _SIGN - 1 - bits, bits)


def _from_ordered(key) -> np.ndarray:
    """Inverse of :func:`_ordered`."""
    key = np.asarray(key, np.int64)
    return np.where(key >= 0, key, _SIGN - 1 - key).astype(np.uint32).view(_F32)


def _thresholds(read, lsb: np.ndarray, c: int) -> np.ndarray:
    """(G, 2c) float32: for each ADC step ``lsb`` (G,) and code ``-c + b`` (b = 1 .. 2c),
    the smallest float32 current ``read`` gives at least that code; ``-inf`` where every
    current does, ``+inf`` where none does. ``read(i, lsb)`` -> codes, element-wise."""
    target = np.arange(1 - c, c + 1, dtype=np.float64)[None, :]
    L = np.broadcast_to(lsb[:, None], (len(lsb), 2 * c)).astype(_F32)
    top = np.finfo(_F32).max
    lo = np.broadcast_to(_ordered(-top), L.shape).copy()
    hi = np.broadcast_to(_ordered(top), L.shape).copy()
    reaches = read(_from_ordered(hi), L) >= target
    always = read(_from_ordered(lo), L) >= target
    while True:                                  # read(lo) < target <= read(hi): 32 halvings
        open_ = hi - lo > 1
        if not open_.any():
            break
        mid = lo + (hi - lo) // 2
        up = read(_from_ordered(mid), L) >= target
        hi = np.where(open_ & up, mid, hi)
        lo = np.where(open_ & ~up, mid, lo)
    theta = np.where(reaches, _from_ordered(hi), np.inf)
    return np.where(always, -np.inf, theta).astype(_F32)


class ThresholdReadout:
    """Codes of ``adc.convert(sense.sense(i), lsb)`` for float32 column currents ``i``
    (m, columns), one ADC step per column ``lsb`` (columns,); see the module docstring.
    The codes come as the smallest integer type that holds them (:attr:`dtype`; the
    direct path gives the same integers as floats). Build with :func:`threshold_readout`,
    which checks it against the direct path."""

    def __init__(self, theta: np.ndarray, inverse: np.ndarray, c: int):
        self.c = c
        # the smallest integer type of codes -c .. c: a table of a byte a cell for <= 8 bits
        self.dtype = np.dtype(np.int8 if c <= 127 else np.int16 if c <= 32767 else np.int32)
        G = len(theta)
        self.lo, self.inv = np.zeros(G, _F32), np.ones(G, _F32)
        cells = _CELLS_PER_THRESHOLD * 2 * c
        while (tables := self._tables(theta, cells)) is None:
            cells *= 2
            if cells > MAX_CELLS:
                raise ValueError("thresholds too dense for the cell grid")
        self.cells = cells
        self.base, self.theta = tables
        self.lo_col, self.inv_col = self.lo[inverse], self.inv[inverse]
        self.offset = (inverse * cells).astype(np.intp)
        # the offsets added to the whole cell in float32, exact while every index is below 2**24
        self.offset_f32 = self.offset.astype(_F32) if G * cells <= 1 << 24 else None

    def _tables(self, theta: np.ndarray, cells: int):
        """``(base, theta)`` (G * cells,) for ``cells`` cells per step, or None if two
        thresholds share a cell."""
        base, own = [], []
        for g, row in enumerate(theta):
            finite = row[np.isfinite(row)]
            if finite.size:
                span = float(finite[-1]) - float(finite[0])
                self.lo[g], self.inv[g] = finite[0], cells / span if span > 0 else 1.0
            cell = self._cell(finite, self.lo[g], self.inv[g], cells)
            if np.any(np.diff(cell) == 0):
                return None
            below = int(np.count_nonzero(np.isneginf(row)))           # always counted
            base.append(np.searchsorted(cell, np.arange(cells)) + below - self.c)
            t = np.full(cells, np.inf, _F32)
            t[cell] = finite
            own.append(t)
        return np.concatenate(base).astype(self.dtype), np.concatenate(own)

    @staticmethod
    def _cell(i, lo, inv, cells) -> np.ndarray:
        t = (np.asarray(i, _F32) - lo) * inv
        np.clip(t, 0, cells - 1, out=t)
        return t.astype(np.intp)

    def codes(self, i: np.ndarray) -> np.ndarray:
        """float32 currents (m, columns) (A) -> codes (m, columns), the direct path's values
        as :attr:`dtype` integers."""
        t = i - self.lo_col
        t *= self.inv_col
        np.clip(t, 0, self.cells - 1, out=t)
        if self.offset_f32 is None:
            cell = t.astype(np.intp)
            cell += self.offset
        else:   # whole cells first (t + offset would round up from just below an integer)
            np.floor(t, out=t)
            t += self.offset_f32
            cell = t.astype(np.intp)
        code = self.base.take(cell)
        code += i >= self.theta.take(cell)
        return code


def threshold_readout(sense, adc, lsb) -> ThresholdReadout | None:
    """The :class:`ThresholdReadout` of ``sense`` then ``adc`` at the per-column ADC steps
    ``lsb`` (columns,), or None where it does not apply or does not reproduce the direct
    path (module docstring)."""
    c = adc.code_max
    if not np.isfinite(c) or c < 1 or c != int(c):
        return None
    c = int(c)

    def read(i, L):
        with np.errstate(over="ignore"):   # the far probes: an ideal ADC's x / lsb overflows to a clipped inf
            return adc.convert(sense.sense(np.asarray(i, _F32)), np.asarray(L, _F32))

    steps, inverse = np.unique(np.asarray(lsb, _F32), return_inverse=True)
    if not np.all(steps > 0):
        return None
    theta = _thresholds(read, steps, c)
    try:
        readout = ThresholdReadout(theta, np.arange(len(steps)), c)
    except ValueError:
        return None
    if not _agrees(readout, read, theta, steps):
        return None
    return ThresholdReadout(theta, inverse.ravel(), c)


def _agrees(readout: ThresholdReadout, read, theta, steps) -> bool:
    """Whether ``readout`` (one column per step) gives the direct codes at every finite
    threshold and the float32 just below it, at :data:`_CHECK_POINTS` points per cell over
    the thresholds' span and as far again on either side, over +-4 ``code_max`` steps, and at
    currents of every magnitude from 1 fA to 1 kA of either sign."""
    c, cells = readout.c, readout.cells
    u = (np.arange(cells * _CHECK_POINTS * 3) + 0.5) / (cells * _CHECK_POINTS) - 1.0   # -1 .. 2 spans
    steps_out = np.linspace(-4 * c, 4 * c, cells * _CHECK_POINTS)
    magnitudes = np.logspace(-15, 3, 512)
    points = []
    for g, step in enumerate(steps):
        finite = theta[g][np.isfinite(theta[g])]
        span = float(finite[-1] - finite[0]) if finite.size else 1.0
        start = float(finite[0]) if finite.size else 0.0
        points.append(np.concatenate([finite, np.nextafter(finite, _F32(-np.inf)), start + span * u,
                                      float(step) * steps_out, magnitudes, -magnitudes]).astype(_F32))
    n = max(len(p) for p in points)
    X = np.stack([np.resize(p, n) for p in points], axis=1)     # (n, G)
    return bool(np.array_equal(readout.codes(X), read(X, np.broadcast_to(steps, X.shape))))


class SenseEnergy:
    """Summed energy (J) per read of float32 column currents ``i`` (any shape, A), from a
    linear table ``(lo, inv_h, y0, dy, n)`` on ``n`` uniform nodes (``SurrogateSense``'s);
    see the module docstring for the error against the direct path."""

    def __init__(self, table):
        lo, inv_h, y0, dy, n = table
        self.lo, self.inv_h, self.top = _F32(lo), _F32(inv_h), _F32(n - 1)
        # node n - 1 as a segment of its own with no slope: a current clipped to the top
        # edge reads its value exactly (no min(k, n - 2) pass)
        self.y0 = np.append(np.asarray(y0, np.float64), float(y0[-1]) + float(dy[-1]))
        self.dy = np.append(np.asarray(dy, _F32), _F32(0.0))

    def __call__(self, i: np.ndarray) -> float:
        t = np.subtract(i, self.lo, dtype=_F32)
        t *= self.inv_h
        np.clip(t, 0, self.top, out=t)
        whole = np.floor(t)
        k = whole.astype(np.intp)
        t -= whole                          # within the segment, 0 .. 1
        t *= self.dy.take(k)
        # the nodes' values summed in float64, the parts within segments (at most a step each)
        # in float32 pairwise: its error, ~20 ulp of their sum, is 1e-6 of a step per read
        return float(np.sum(self.y0.take(k))) + float(np.sum(t))


def sense_energy(sense):
    """``f(i) -> J``: the summed energy per read of float32 currents ``i`` through ``sense``
    (:class:`SenseEnergy` on its table), or None where the sense has no energy surrogate or
    no linear table of it (the caller then calls ``sense.energy`` directly)."""
    surrogate = getattr(sense, "energy_surrogate", None)
    tabulate = getattr(sense, "_table", None)     # SurrogateSense's own table, the one it interpolates
    if surrogate is None or tabulate is None:
        return None
    table = tabulate(surrogate)
    return None if table is None else SenseEnergy(table)
