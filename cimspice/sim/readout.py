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
"""

from __future__ import annotations

import numpy as np

__all__ = ["MAX_CELLS", "ThresholdReadout", "threshold_readout"]

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
    Build with :func:`threshold_readout`, which checks it against the direct path."""

    def __init__(self, theta: np.ndarray, inverse: np.ndarray, c: int, dtype):
        self.c, self.dtype = c, np.dtype(dtype)
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
        """float32 currents (m, columns) (A) -> codes (m, columns), in the ADC's dtype."""
        t = i - self.lo_col
        t *= self.inv_col
        np.clip(t, 0, self.cells - 1, out=t)
        cell = t.astype(np.intp)
        cell += self.offset     # (in float32 the sum would round: not the grid's cell)
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
    dtype = np.asarray(read(np.zeros(1, _F32), steps[:1])).dtype
    try:
        readout = ThresholdReadout(theta, np.arange(len(steps)), c, dtype)
    except ValueError:
        return None
    if not _agrees(readout, read, theta, steps):
        return None
    return ThresholdReadout(theta, inverse.ravel(), c, dtype)


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
