"""An analog matrix's inputs as read codes: DAC levels or bit-serial pulses, per sign phase.

Inputs ``x`` (n, n_in) are scaled by the calibrated range ``x_max``, clipped to the DAC's
range, and quantised to ``2**bits - 1`` steps: a DAC drives each as one level (one read),
bit-serial inputs as one pulse per bit. Signed inputs are read in two phases (positive and
negative parts, ``two_phase``) or on levels of either sign (``bipolar``). With numba
(:mod:`.kernels`) the codes come from one pass over the inputs (the NumPy path takes four
to eight); the codes are the same.
"""

from __future__ import annotations

import numpy as np

from . import kernels

__all__ = ["encode", "pulse_weights"]


def pulse_weights(inputs, signs) -> np.ndarray:
    """(pulses,) the digital significance of each read of one input: per sign phase in
    ``signs``, the sign (DAC levels) or the sign times each bit's ``2**b / (2**bits - 1)``."""
    if inputs.bits is None or inputs.encoding == "dac":
        return np.array(signs, dtype=float)
    top = 2 ** inputs.bits - 1
    return np.array([sign * 2.0 ** b / top for sign in signs for b in range(inputs.bits)])


def encode(x, x_max: float, signed: bool, inputs, v_read: float) -> tuple[np.ndarray, np.ndarray]:
    """Inputs ``x`` (n, n_in) -> ``(codes, weights)``: ``codes`` (pulses, n, n_in) are indices
    into the levels a row can be driven at (or voltages (V) when the DAC is continuous),
    ``weights`` (pulses,) the digital significance of each pulse (input bit, sign phase).
    ``x_max``: the calibrated input range; ``signed``: whether inputs have both signs;
    ``inputs``: the spec's :class:`~cimspice.sim.spec.InputSpec`; ``v_read``: the top level (V)."""
    two_phase = signed and inputs.signed == "two_phase"
    signs = [1.0, -1.0] if two_phase else [1.0]
    if inputs.bits is not None and kernels.use_kernels():
        bits = 0 if inputs.encoding == "dac" else inputs.bits
        codes = kernels.encode_codes(np.asarray(x, dtype=float), float(x_max), signed, two_phase,
                                     inputs.signed == "bipolar", inputs.bits, bits)
        return codes, pulse_weights(inputs, signs)
    return _encoded(x, x_max, signed, inputs, v_read, two_phase), pulse_weights(inputs, signs)


def _encoded(x, x_max, signed, inputs, v_read, two_phase) -> np.ndarray:
    """:func:`encode`'s codes in NumPy (the reference path, and continuous DAC voltages)."""
    inp = inputs
    u = np.asarray(x, dtype=float) / x_max
    # a real DAC saturates at its range; the ideal one (bits: null) does not
    hi = 1.0 if inp.bits is not None else np.inf
    lo = -hi if signed else 0.0
    np.clip(u, lo, hi, out=u)
    parts = [np.maximum(u, 0.0), np.maximum(-u, 0.0)] if two_phase else [u]
    codes = []
    bipolar = inp.signed == "bipolar"
    for part in parts:
        if inp.bits is None:                                   # continuous DAC: voltages
            codes.append(part[None] * v_read)
            continue
        top = 2 ** inp.bits - 1
        # a part of its own (fresh, >= 0) is scaled in place; a bipolar one is read again below
        q = np.abs(part) if bipolar else part
        q *= top
        q = np.rint(q, out=q).astype(np.uint16)
        if inp.encoding == "dac":
            codes.append((np.where(part < 0, top - q, top + q) if bipolar else q)[None])
            continue
        if inp.bits <= 8:
            bits = np.unpackbits(q.astype(np.uint8)[..., None], axis=-1, count=inp.bits, bitorder="little")
            bits = np.moveaxis(bits, -1, 0)
        else:
            bits = np.stack([(q >> b) & 1 for b in range(inp.bits)]).astype(np.uint8)
        if bipolar:
            bits = np.where(part < 0, 1 - bits, 1 + bits).astype(np.uint8)
        codes.append(bits)
    return codes[0] if len(codes) == 1 else np.concatenate(codes)
