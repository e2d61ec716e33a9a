"""Figures of the library's characterized blocks that a system names by block, not by key.

A system spec can name whole blocks of a component library (``cimspice library build``):
``inputs.driver`` (the bit-serial row driver), ``inputs.dac`` (the multi-level row DAC,
priced code by code: :mod:`.dac_block`), ``sense.sample_hold`` (the column
sample-and-hold) and ``adc.circuit`` (an ADC family, block ``{circuit}_{bits}b`` per
resolution). :class:`BlockFigures` reads, once per system and before any work:

- the energy per event (J) and the time per conversion (s) from the block's surrogates,
  evaluated at the system's operating point (``operating_point``, the array's ``v_read`` for
  the driver, ``adc.energy_at`` over both for the ADCs); a point outside a table's
  characterized domain is refused;
- the area of one instance (m^2) from the block's record (``/blocks/<block>``: the circuit's
  own device sizes through its stated area model, ``area_source``).

A block or resolution the library does not hold is refused with the command that adds it;
nothing is scaled from another resolution. Every figure keeps its source record
(:mod:`.provenance`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .. import CimspiceError
from ..paths import default_library_path
from .corners import AtPoint
from .dac_block import DacFigures, read_dac
from .errors import SimError
from .peripherals import superposed_errors, superposed_inl
from .provenance import characterized
from .sense_circuit import sense_circuit
from .spec import BOW_DEGREE

__all__ = ["BlockFigures", "block_of"]


def block_of(key: str) -> str:
    """The block a library key belongs to: ``adc_sar_6b.energy_per_conversion`` -> ``adc_sar_6b``
    (a corner suffix ``@ss`` is not part of it)."""
    return key.split("@", 1)[0].rsplit(".", 1)[0]


@dataclass
class BlockFigures:
    """Characterized per-event figures and areas of the blocks a spec names.

    Attributes
    ----------
    driver_energy : J per row pulse of ``inputs.driver`` (None: not named)
    dac : the :class:`~.dac_block.DacFigures` of ``inputs.dac`` (None: not named)
    sample_hold_energy : J per sample of ``sense.sample_hold`` (None: not named)
    adc_energy, adc_time : resolution (bits) -> J / s per conversion of ``adc.circuit``
    adc_inl : resolution -> (2**bits - 1,) INL (LSB) at each transition (``adc.transfer: measured``):
        the block's ``inl_k`` (ramp test), or composed from its ``weight_err_1`` ..
        ``weight_err_N`` (weight test of the wide SARs, :func:`.peripherals.superposed_inl`)
    sense : the :class:`~cimspice.sim.peripherals.SurrogateSense` of ``sense.circuit`` (None: not named)
    area : component role -> (m^2 per instance, source record); roles ``cell``, ``driver``,
        ``sample_hold``, ``sense`` and ``adc:{bits}``, present when the library's block record
        gives the area
    records : spec field -> source record of each figure above
    """

    driver_energy: float | None = None
    dac: DacFigures | None = None
    sample_hold_energy: float | None = None
    adc_energy: dict = field(default_factory=dict)
    adc_time: dict = field(default_factory=dict)
    adc_inl: dict = field(default_factory=dict)
    sense: object = None
    area: dict = field(default_factory=dict)
    records: dict = field(default_factory=dict)

    @classmethod
    def read(cls, spec, library: dict, blocks: dict, record) -> BlockFigures:
        """The figures of ``spec``'s blocks from ``library`` (key -> surrogate, at the spec's
        corner and temperature) and ``blocks`` (block -> record); ``record(field, key, at)``
        makes a table's source record. Raises :class:`SimError` naming the spec field."""
        out = cls()
        reader = BlockReader(spec, library, blocks, record, out)
        if spec.inputs.driver and spec.inputs.encoding == "bit_serial":
            out.driver_energy = reader.value("inputs.driver", f"{spec.inputs.driver}.energy_driver", "J",
                                             {"v_read": spec.array.v_read})
            reader.area("driver", "inputs.driver", spec.inputs.driver)
        if spec.inputs.dac and spec.inputs.encoding == "dac":
            out.dac = read_dac(spec, reader)
            reader.area("driver", "inputs.dac", spec.inputs.dac)
        if spec.sense.sample_hold:
            out.sample_hold_energy = reader.value("sense.sample_hold", f"{spec.sense.sample_hold}.energy", "J")
            reader.area("sample_hold", "sense.sample_hold", spec.sense.sample_hold)
        for what, table, unit in (("energy", out.adc_energy, "J"), ("time", out.adc_time, "s")):
            for bits, key in getattr(spec.adc, what).items():   # tables named one by one
                table[bits] = reader.value(f"adc.{what}.{bits}", key, unit, dict(spec.adc.energy_at),
                                           at_field="adc.energy_at")
        if spec.adc.circuit:
            for bits in spec.adc_resolutions():
                block = f"{spec.adc.circuit}_{bits}b"
                at = dict(spec.adc.energy_at)
                out.adc_energy[bits] = reader.value(f"adc.circuit.{bits}.energy", f"{block}.energy_per_conversion",
                                                    "J", at, at_field="adc.energy_at")
                out.adc_time[bits] = reader.value(f"adc.circuit.{bits}.time", f"{block}.t_conversion", "s", at,
                                                  at_field="adc.energy_at")
                reader.area(f"adc:{bits}", f"adc.circuit.{bits}", block)
                if spec.adc.transfer == "measured":
                    out.adc_inl[bits] = reader.transfer(bits, block, at)
        if spec.array.cell == "surrogate" and spec.array.cell_area is None and spec.array.surrogate:
            reader.area("cell", "array.surrogate", block_of(spec.array.surrogate))
        if spec.sense.type == "surrogate" and spec.sense.surrogate:
            reader.area("sense", "sense.surrogate", block_of(spec.sense.surrogate))
        if spec.sense.circuit:
            out.sense = sense_circuit(spec, reader)
            reader.area("sense", "sense.circuit", spec.sense.circuit)
        return out


class BlockReader:
    """Reads a spec's library blocks for :class:`BlockFigures` and the modules that price one
    kind of block (:mod:`.sense_circuit`, :mod:`.dac_block`): tables at the operating point,
    their source records, and :meth:`fail`, the one-line refusal naming the spec field."""

    def __init__(self, spec, library, blocks, record, out: BlockFigures):
        self.spec, self.library, self.blocks, self.record, self.out = spec, library, blocks, record, out

    def fail(self, field: str, why: str):
        raise SimError(f"{self.spec.source}: {field}: {why}")

    def surrogate(self, field: str, key: str, unit: str):
        """The library's table ``key`` in ``unit``, or the refusal naming the block to build."""
        s = self.library.get(key)
        if s is None:
            block = block_of(key)
            self.fail(field, f"the library {self.spec.library} has no {key!r}; add block {block} with "
                              f"{self.build_hint(block)}")
        given = (list(getattr(s, "output_units", [unit])) or [unit])[0]
        if given not in ("", unit):
            self.fail(field, f"{key} gives {given}, not {unit}")
        return s

    def build_hint(self, block: str) -> str:
        """The command that adds ``block`` to the spec's library."""
        lib = self.spec.library
        if lib == str(default_library_path()):   # the installed package's file: build a copy
            return (f"`cp {lib} library.h5 && cimspice library build -o library.h5 --only {block}`, then "
                    "`library: library.h5`")
        return f"`cimspice library build -o {lib} --only {block}`"

    def _point(self, field: str, key: str, s, at: dict | None, free=(), at_field: str | None = None) -> dict:
        """The operating point of every input of ``s`` but ``free``."""
        point = {**self.spec.operating_point, **(at or {})}
        missing = [n for n in s.inputs if n not in point and n not in free]
        if missing:
            where = f"{at_field} or operating_point" if at_field else "operating_point"
            self.fail(field, f"{key} needs {', '.join(missing)} (its inputs: {', '.join(s.inputs)}); give "
                              f"{'it' if len(missing) == 1 else 'them'} in {where}")
        return {n: point[n] for n in s.inputs if n not in free}

    def value(self, field: str, key: str, unit: str, at: dict | None = None, positive: bool = True,
              at_field: str | None = None) -> float:
        """The table ``key``'s value at the operating point (``operating_point`` under ``at``;
        ``at_field``: the spec field ``at`` comes from, named when a value is missing or
        outside the characterized domain)."""
        s = self.surrogate(field, key, unit)
        point = self._point(field, key, s, at, at_field=at_field)
        try:
            value = float(np.ravel(s.predict({n: [v] for n, v in point.items()}))[0])
        except CimspiceError as error:  # outside the characterized domain
            where = f" (the point from {at_field} and operating_point)" if at_field else ""
            self.fail(field, str(error).splitlines()[0] + where)
        if not np.isfinite(value) or (positive and not value > 0):
            self.fail(field, f"{key} gives {value:g} {unit} at {point}")
        self.out.records[field] = self.record(field, key, point)
        return value

    def table(self, field: str, key: str, unit: str, free: str, at: dict | None = None):
        """The table ``key`` as a function of its input ``free`` alone, every other input held
        at the operating point (``operating_point`` under ``at``; inside the characterized domain)."""
        s = self.surrogate(field, key, unit)
        if free not in s.inputs:
            self.fail(field, f"{key} has no input {free!r} (its inputs: {', '.join(s.inputs)})")
        point = self._point(field, key, s, at, free=(free,))
        for name, v in point.items():
            lo, hi = s.domain[name]
            if not lo <= v <= hi:
                self.fail(field, f"operating_point {name}={v:g} is outside {key}'s characterized range "
                                  f"[{lo:g}, {hi:g}]")
        self.out.records[field] = self.record(field, key, point)
        return AtPoint(s, point) if point else s

    def transfer(self, bits: int, block: str, at: dict) -> np.ndarray:
        """(2**bits - 1,) transition errors (LSB) of ``block``: a weight-tested SAR's absolute
        ones (``offset + decision_offset``, its ``weight_err_j`` and from 7 bits its bow
        ``bow_p2`` .. composed), or its endpoint
        INL (superposed from the weights of a block built before the decision offset was
        measured; a ramp-tested block's ``inl_k``)."""
        if f"{block}.weight_err_1" in self.library:
            def read(name):
                return self.value(f"adc.circuit.{bits}.{name}", f"{block}.{name}", "LSB", at, positive=False)
            e = [read(f"weight_err_{j}") for j in range(1, bits + 1)]
            try:
                if f"{block}.decision_offset" in self.library:
                    bow = None
                    if f"{block}.bow_p2" in self.library:   # from 7 bits (cimspice.circuits.adc_sar_bow)
                        bow = [read(f"bow_p{p}") for p in range(2, BOW_DEGREE + 1)]
                    return superposed_errors(e, read("offset") + read("decision_offset"), bow)
                return superposed_inl(e)
            except SimError as error:
                self.fail(f"adc.circuit.{bits}", str(error))
        return np.array([self.value(f"adc.circuit.{bits}.inl_{k}", f"{block}.inl_{k}", "LSB", at, positive=False)
                         for k in range(1, 2 ** bits)])

    def area(self, role: str, field: str, block: str) -> None:
        """m^2 of one ``block`` from its library record, when the record gives one."""
        rec = self.blocks.get(block) or {}
        area = rec.get("area")
        if isinstance(area, (int, float)) and np.isfinite(area) and area > 0:
            source = characterized(self.spec.library or "<in memory>", block, f"{field} area",
                                   ",".join(rec.get("corners") or []) or (self.spec.corner or ""))
            source["area_model"] = str(rec.get("area_source", ""))
            self.out.area[role] = (float(area), source)
