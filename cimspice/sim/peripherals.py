"""Sense circuits and ADCs between a crossbar's columns and the digital side.

Both are interfaces with an ideal implementation now; the SPICE-characterized surrogates
(measured gain, offset, INL) plug in behind the same calls:

- :class:`SenseModel` ``sense(i)``: differential column current (A) -> the quantity the
  ADC converts (same units as its full scale; the ideal sense passes the current through).
- :class:`AdcModel` ``convert(x, lsb)``: -> signed integer codes (as floats) in
  ``[-code_max, code_max]``; ``lsb`` is the input step of one code, broadcast against ``x``
  (one value per column: every array has its own range).

:func:`adc_from_spec` / :func:`sense_from_spec` build them from a system spec.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np

from .errors import SimError

__all__ = ["AdcModel", "IdealAdc", "IdealSense", "SenseModel", "SurrogateAdc", "adc_from_spec", "sense_from_spec"]


@runtime_checkable
class SenseModel(Protocol):
    def sense(self, i: np.ndarray) -> np.ndarray: ...


@runtime_checkable
class AdcModel(Protocol):
    bits: int | None

    @property
    def code_max(self) -> float: ...

    def convert(self, x: np.ndarray, lsb) -> np.ndarray: ...


class IdealSense:
    """A virtual-ground sense amplifier that hands the column-pair current to the ADC unchanged."""

    def sense(self, i):
        return i

    def __repr__(self):
        return "IdealSense()"


class IdealAdc:
    """Uniform mid-tread quantiser with ``bits`` of resolution on a symmetric range:
    codes ``round(x / lsb)`` clipped to ``+-(2**(bits-1) - 1)``. ``bits=None`` is an
    infinitely fine converter (codes are ``x / lsb`` unrounded)."""

    def __init__(self, bits: int | None):
        if bits is not None and (int(bits) != bits or bits < 2):
            raise SimError(f"adc.bits: expected an integer >= 2 or null, got {bits!r}")
        self.bits = None if bits is None else int(bits)

    @property
    def code_max(self) -> float:
        return np.inf if self.bits is None else float(2 ** (self.bits - 1) - 1)

    def convert(self, x, lsb):
        if self.bits is None:
            return x / lsb
        c = self.code_max
        return np.clip(np.rint(x / lsb), -c, c)

    def __repr__(self):
        return f"IdealAdc(bits={self.bits})"


class SurrogateAdc(IdealAdc):
    """An ADC whose transfer comes from a fitted surrogate (measured offset and INL).

    Contract with the surrogate: one input, the ADC input as a fraction of full scale
    (``x / (lsb * code_max)``, in [-1, 1]), one output, the code (signed, before rounding).
    Outputs are rounded and clipped like the ideal converter's.
    """

    def __init__(self, bits: int, surrogate):
        super().__init__(bits)
        if len(getattr(surrogate, "inputs", ())) != 1:
            raise SimError(f"adc.surrogate {getattr(surrogate, 'name', surrogate)!r}: needs exactly one input "
                           f"(ADC input as a fraction of full scale), has {getattr(surrogate, 'inputs', None)}")
        self.surrogate = surrogate

    def convert(self, x, lsb):
        c = self.code_max
        u = np.clip(np.asarray(x / (lsb * c), float), -1.0, 1.0)
        codes = np.asarray(self.surrogate.predict(u.reshape(-1, 1), out_of_domain="clip"), float)
        return np.clip(np.rint(codes.reshape(u.shape)), -c, c)


def adc_from_spec(adc_spec, bits: int | None, library: dict | None) -> AdcModel:
    """The ADC of ``adc_spec`` (a :class:`cimspice.sim.spec.AdcSpec`) at ``bits`` resolution."""
    if adc_spec.type == "ideal":
        return IdealAdc(bits)
    surrogate = (library or {}).get(adc_spec.surrogate)
    if surrogate is None:  # spec validation reports this first; kept for direct callers
        raise SimError(f"adc.surrogate: {adc_spec.surrogate!r} is not in the surrogate library")
    return SurrogateAdc(bits, surrogate)


def sense_from_spec(sense_spec) -> SenseModel:
    if sense_spec.type == "ideal":
        return IdealSense()
    raise SimError(f"sense.type: {sense_spec.type!r} sense surrogates are not wired yet; use 'ideal'")
