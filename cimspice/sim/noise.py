"""Fast standard-normal draws for read noise.

A bit-serial CNN inference draws one Gaussian per column pair, per input bit and per
input vector: 16.5 million for 1,000 digits on the baseline system. NumPy's ziggurat
(``Generator.standard_normal``, float32) takes about 10 ns a draw on the project's 2-core
machine, which alone is several times the float inference of the same network.

:func:`standard_normal` draws by inversion instead: 16 random bits per sample (a quarter
of one raw 64-bit output of the bit generator) index a table of the 65,536 standard-normal quantiles at
the midpoints ``(k + 1/2) / 65536`` (``scipy.special.ndtri``), rescaled to unit variance.
The result is an exactly discretised Gaussian: every quantile interval has probability
2**-16, the largest |value| is 4.33 sigma (the tail beyond it, probability 1.5e-5, is
folded onto the last level), and the spacing is below 1e-4 sigma within 2 sigma. For read
noise of a few per cent of a cell current, converted by ADCs of at most 16 bits, this is
indistinguishable from the ziggurat (``tests/test_sim_noise.py`` bounds its distance to the
normal CDF), at about a third of the cost (3 ns against 9 ns a draw, measured here).
Deterministic given the generator's state. :func:`normal_indices` gives the same draws as
their indices into :data:`TABLE` (half the memory; the fused read loops of
:mod:`.kernels` look each up as they use it).
"""

from __future__ import annotations

import numpy as np
from scipy.special import ndtri

__all__ = ["TABLE", "TABLE_BITS", "normal_indices", "standard_normal"]

TABLE_BITS = 16


def _quantile_table() -> np.ndarray:
    n = 1 << TABLE_BITS
    q = ndtri((np.arange(n) + 0.5) / n)
    q -= q.mean()              # zero by symmetry; removes round-off
    q /= np.sqrt(np.mean(q * q))  # unit variance exactly (the discretisation shrinks it by 1e-4)
    return q.astype(np.float32)


#: (65,536,) float32: the standard-normal levels a 16-bit index selects
TABLE = _quantile_table()


def normal_indices(rng: np.random.Generator, shape) -> np.ndarray:
    """uint16 indices of ``shape`` into :data:`TABLE` drawn from ``rng``: ``TABLE[index]`` are
    :func:`standard_normal`'s samples from the same state, and leave ``rng`` where it does."""
    shape = tuple(np.atleast_1d(shape)) if not isinstance(shape, tuple) else shape
    n = int(np.prod(shape, dtype=np.int64))
    # four 16-bit indices from each raw 64-bit output of the bit generator (0.6 ns per
    # output; Generator.bytes and Generator.integers cost 3 and 1 ns per index here)
    raw = rng.bit_generator.random_raw(-(-n // 4)).astype("<u8", copy=False)
    # "<u": the same draws on hosts of either byte order
    return raw.view("<u2")[:n].reshape(shape)


def standard_normal(rng: np.random.Generator, shape) -> np.ndarray:
    """float32 standard-normal samples of ``shape`` drawn from ``rng`` (see module docs)."""
    return np.take(TABLE, normal_indices(rng, shape))
