"""The bow of a wide SAR's transfer: a smooth error of the input level that bit weights cannot hold.

The weight test (:mod:`.adc_sar_weights`) reads a transition from the residue of one
conversion at its ideal level, and composes the others from N + 1 of them by superposition,
``T_k = c + sum_j b_j(k) (2**j + e_j)``. Measured on this netlist (ngspice, 1.1-1.2 V), the
residues are right at any code: 23 transitions of the 10-bit SAR bisected through whole
conversions sit at the residues' levels plus one shared decision offset, to within 0.024 LSB.
But superposition is not: at codes other than the N + 1 it errs by up to 0.43-0.49 LSB at 10
bits, 0.23 at 9, 0.10 at 8 (1.2 V). The error is a smooth curve of the input level, about
0.3-0.4 mV peak in volts at each of those resolutions: an error of the sampled input (the
sampling network's, whose nonlinearity does not scale with the LSB), not of the DAC's weights,
which the curve leaves near their ideal values (a gain error aside). So from :data:`BOW_BITS`
up the test also reads the residues of :data:`SCAN_CODES` codes spread over the range, and
the transfer is::

    T_k = c + sum_j b_j(k) (2**j + e_j) + g(k / 2**N),      g(0) = g(1) = 0

``g`` (the bow) a polynomial of degree :data:`BOW_DEGREE` in shifted Legendre terms, fitted by
least squares together with ``c`` and every ``e_j`` to the N + 1 key residues and the scanned
ones. A bow that is a straight line is a gain error, which the weights carry (``e_j`` in
proportion to ``2**j``); the ends pin it. Measured, fitted on the key and 64 scanned codes:
the residues of 18-20 other codes within 0.003 LSB at 8 bits, 0.004 at 9, 0.011-0.012 at 10
(1.1-1.2 V); the 23 bisected transitions within 0.013-0.017 LSB of the composed levels plus
their mean shift, the decision offset (superposition alone: 0.31-0.38 LSB).

The bow is stored as its coefficients, ``g(u) = sum_p a_p (P_p(2u - 1) - L_p(u))`` for p = 2
.. :data:`BOW_DEGREE` (outputs ``bow_p2`` .. ``bow_p9``, LSB), with ``P_p`` the Legendre
polynomial and ``L_p`` the straight line through its ends: the simulator evaluates the
polynomial itself, so the transfer is the fitted one at every code, and a surrogate that
interpolates the coefficients linearly over the supply interpolates the curves linearly.
(Stored as its values at 63 knots instead, linearly interpolated, it was 0.004 LSB off at 10
bits and took 63 library entries per block, 4 MB for the four.)
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from numpy.polynomial import legendre

from .base import CircuitError

#: from this resolution the weight test scans the transfer for its bow: below, superposition
#: alone errs by up to ~0.05 LSB at 7 bits (the 0.3-0.4 mV bow over 2**7 LSB), five times the
#: weight test's tolerance (cimspice.library.blocks.SAR_WEIGHT_TOLERANCE); at 6 bits ~0.03
BOW_BITS = 7
#: codes scanned, spread over the range: (2i + 1) / 128 of it, i = 0 .. 63
SCAN_CODES = 64
#: degree of the bow's polynomial: at 10 bits degree 7 leaves 0.013-0.033 LSB at held-out
#: residues, 9 leaves 0.011-0.012 (3 and 5: 0.07-0.11)
BOW_DEGREE = 9
#: LSB: largest misfit of the composed transfer at a measured residue before the point is refused
BOW_FIT_MAX = 0.05


def scan_codes(bits: int) -> list[int]:
    """The scanned codes, (2i + 1) 2**N / 128 for i = 0 .. 63 (ascending, distinct)."""
    codes = sorted({(2 * i + 1) * 2 ** bits // (2 * SCAN_CODES) for i in range(SCAN_CODES)})
    return [k for k in codes if 0 < k < 2 ** bits]


def _bow_terms(u: np.ndarray) -> np.ndarray:
    """(len(u), BOW_DEGREE - 1): shifted Legendre polynomials P_2 .. P_D of ``u`` in [0, 1],
    each less the straight line through its ends, so every term is 0 at u = 0 and u = 1."""
    x = 2 * np.asarray(u, dtype=float) - 1
    p = legendre.legvander(x, BOW_DEGREE)[:, 2:]                          # P_2 .. P_D at x
    ends = legendre.legvander(np.array([-1.0, 1.0]), BOW_DEGREE)[:, 2:]    # (2, D - 1)
    return p - (np.outer(1 - np.asarray(u, dtype=float), ends[0]) + np.outer(u, ends[1]))


def fit(levels: Mapping[int, float], bits: int) -> tuple[float, np.ndarray, np.ndarray, float]:
    """``(c, e, bow, misfit)`` from measured transitions ``{k: T_k}`` (LSB): the offset, the N
    weight errors (LSB, bit 0 first), the bow's coefficients a_2 .. a_D (LSB, (BOW_DEGREE - 1,)),
    and the largest |measured - composed| over the given codes (LSB)."""
    k = np.array(sorted(levels))
    t = np.array([levels[c] for c in k], dtype=float)
    bits_of = ((k[:, None] >> np.arange(bits)) & 1).astype(float)
    a = np.hstack([np.ones((k.size, 1)), bits_of, _bow_terms(k / 2 ** bits)])
    if k.size < a.shape[1] + 8:
        raise CircuitError(f"SAR bow: {k.size} measured transitions for {a.shape[1]} unknowns")
    x, *_ = np.linalg.lstsq(a, t - k, rcond=None)
    misfit = float(np.max(np.abs(t - k - a @ x)))
    return float(x[0]), x[1:bits + 1], x[bits + 1:], misfit


def bow_at(bow, bits: int) -> np.ndarray:
    """The bow (LSB) at each transition k = 1 .. 2**N - 1 from its coefficients ``bow``
    ((BOW_DEGREE - 1,), LSB)."""
    return _bow_terms(np.arange(1, 2 ** bits) / 2 ** bits) @ np.asarray(bow, dtype=float)


def coefficients() -> tuple[str, ...]:
    """The bow's coefficient outputs, ``bow_p2`` .. ``bow_p{BOW_DEGREE}``."""
    return tuple(f"bow_p{p}" for p in range(2, BOW_DEGREE + 1))


def outputs(bits: int) -> tuple[str, ...]:
    """The bow's outputs of a ``bits``-bit weight test: none below :data:`BOW_BITS`."""
    return (*coefficients(), "bow_misfit") if bits >= BOW_BITS else ()
