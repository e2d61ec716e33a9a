"""The bit-line sense circuit as a block of the component library (``sense.circuit``).

A system that names ``sense.circuit: tia_array`` reads its columns through that block's
tables (``cimspice library build``, docs/library.md), each held at the spec's
``operating_point`` (e.g. ``vdd``) so that only the column current varies:

- the transfer ``v_out(i)``: referred back to a current through the design's own reference
  and transimpedance, the ``v_ref`` the block held fixed and its ``r_f`` (both from the
  table's provenance), so the TIA's gain, offset and saturation errors reach the ADC;
- the energy per read over the system's read time ``array.t_read``: the block's
  ``energy_read`` covers the first ``t_bench`` after the current step (its bench's
  ``t_read``, which includes the settling transient); after it the circuit sits at its DC
  point and draws ``power(i)``, so a read of ``t_read >= t_bench`` costs
  ``energy_read(i) + power(i) * (t_read - t_bench)``. A shorter read than the bench's window
  is refused: the block was not shown to settle in it.

The TIA inverts: more current, a lower voltage at the converter. A converter's measured
transfer (``adc.transfer: measured``: the INL at each of its transitions, on its own input
scale) therefore meets the signed codes in reverse order (:func:`mirrored_inl`), with the
references placed as a designer places them around the TIA's reference: zero current half
an LSB above the converter's mid-scale, so that the signed codes are the ideal mid-tread
quantiser's (tests/test_layer_library.py's bench is built so, and agrees with it).

The sensed current is the column pair's difference (``cimspice.sim.peripherals``), one sense
circuit per pair: the negative column's current is subtracted on the bit line (a current
mirror), whose own error is not modelled.
"""

from __future__ import annotations

import json

import numpy as np

from .corners import fixed_inputs
from .peripherals import SurrogateSense

__all__ = ["ReadEnergy", "mirrored_inl", "sense_circuit"]


class ReadEnergy:
    """Energy (J) per read of a sense block over a read of ``t_read`` s (module docstring):
    a one-input table over the column current, like the ones it is made of."""

    def __init__(self, energy_read, power, extra: float):
        self.energy_read, self.power, self.extra = energy_read, power, float(extra)
        self.name = f"{energy_read.name} + {power.name} x {self.extra:g} s"
        self.inputs, self.input_units = list(energy_read.inputs), list(energy_read.input_units)
        self.outputs, self.output_units = ["energy"], ["J"]

    @property
    def domain(self) -> dict:
        return self.energy_read.domain

    def predict(self, X, out_of_domain: str = "error"):
        e = np.asarray(self.energy_read.predict(X, out_of_domain=out_of_domain), np.float64)
        if self.extra == 0:
            return e
        p = np.asarray(self.power.predict(X, out_of_domain=out_of_domain), np.float64)
        return e + p.reshape(e.shape) * self.extra


def mirrored_inl(inl: np.ndarray) -> np.ndarray:
    """The INL (LSB) at the signed scale's transitions ``j = 1 .. 2**N - 1`` of a converter
    read through an inverting sense, from its own ``inl`` (transition ``k`` at ``k + inl_k`` of
    its input scale): with that scale running against the current, ``u = 2**N - u_signed``,
    transition ``j`` is the converter's ``2**N - j``, displaced the other way."""
    return -np.asarray(inl, dtype=float)[::-1]


def _design(surrogate) -> tuple[float | None, float | None, float | None]:
    """(v_ref V, r_f ohm, bench read window s) the block was characterized with, from the
    table's provenance (its sweep's fixed inputs, :func:`.corners.fixed_inputs`, and the
    block's circuit arguments); None where it does not say."""
    prov = getattr(surrogate, "provenance", None) or {}
    try:
        args = json.loads(prov.get("block_circuit_args") or "{}")
    except (TypeError, ValueError):
        args = {}
    return fixed_inputs(surrogate).get("v_ref"), args.get("r_f"), args.get("t_read")


def sense_circuit(spec, reader) -> SurrogateSense:
    """The :class:`SurrogateSense` of ``spec.sense.circuit``, its tables read through
    ``reader`` (:class:`cimspice.sim.components.BlockReader`: refusals, records, operating point)."""
    block = spec.sense.circuit
    v_out = reader.table("sense.circuit.v_out", f"{block}.v_out", "V", free="i_in")
    energy = reader.table("sense.circuit.energy_read", f"{block}.energy_read", "J", free="i_in")
    power = reader.table("sense.circuit.power", f"{block}.power", "W", free="i_in")
    v_ref, r_f, t_bench = _design(getattr(v_out, "surrogate", v_out))
    missing = [n for n, v in (("the fixed v_ref", v_ref), ("circuit_args r_f", r_f), ("circuit_args t_read", t_bench))
               if v is None]
    if missing:
        reader.fail("sense.circuit", f"{block}.v_out does not record {', '.join(missing)} of its design "
                                      "(a block of `cimspice library build` does)")
    t_read = spec.array.t_read
    if t_read < t_bench * (1 - 1e-9):
        reader.fail("sense.circuit", f"array.t_read {t_read:g} s is shorter than the {t_bench:g} s read window "
                                      f"{block} was characterized over (its settling is shown only within it)")
    return SurrogateSense(v_out, float(v_ref), float(r_f), ReadEnergy(energy, power, max(0.0, t_read - t_bench)))
