"""Energy, latency and area of an inference from what the simulator counted, and where each
figure comes from.

:func:`summarise` prices the :class:`cimspice.sim.backend.Ledger` of an
:class:`~cimspice.sim.backend.AnalogBackend` with the cited figures of :mod:`.costs`, or
with the characterized figures the backend read from its library, and rolls it up per
component and per layer; every priced figure keeps its source record (:mod:`.provenance`).
Components:

- ``arrays``: read energy of the crossbars, ``sum V * I * t_read`` over every read (measured
  from the currents that flowed, not a per-operation constant);
- ``drivers``: row pulses (1-bit) or DAC levels applied (rows at 0 V are not driven), one per
  word line: an input row is a word line in each column array it spans, each driven; a
  characterized DAC (``inputs.dac``) prices every conversion at its code's energy, at the
  load of its layer's programmed rows;
- ``sense``: sample-and-hold / sense samples, one per conversion, and a characterized sense
  circuit's energy per read (``sense.energy``);
- ``adc``: conversions, priced at each array's resolution (``adc.energy`` where characterized);
- ``nonlinear``: activation / sigmoid / tanh / exp evaluations (digital units, or ReRAM arrays),
  pooling circuits;
- ``digital``: shift-and-add of ADC outputs, partial-sum and bias additions, element-wise
  products, layer norm, attention multiply-accumulates, pooling compares;
- ``buffers``: activation bits moved through the eDRAM buffer.

Latency is the sum over layers (no inter-layer pipelining) of the array read cycles each
inference needs (reads of different arrays of a layer overlap; each read lasts ``t_read`` or
its array's conversions by the shared ADCs, whichever is longer), plus digital work spread
over the digital lanes and nonlinear units. Area counts the arrays the network occupies with
their drivers, sample-and-holds, ADCs and shift-and-add unit, the digital lanes and nonlinear
units, and a buffer big enough for the largest layer's input and output.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np

from . import costs
from .provenance import computed, draw_identity, is_characterized, merged_draws, spec_value

__all__ = ["COMPONENTS", "LATENCY_PARTS", "QUANTITIES", "CostReport", "mean_report", "summarise"]

COMPONENTS = ("arrays", "drivers", "sense", "adc", "nonlinear", "digital", "buffers")
LATENCY_PARTS = ("arrays", "digital", "nonlinear")
#: quantity -> (CostReport attribute of its per-component figures, SI unit)
QUANTITIES = {"energy": ("energy", "J"), "latency": ("latency_parts", "s"), "area": ("area", "m^2")}


@dataclass
class CostReport:
    """Per-inference figures. ``energy[component]`` (J), ``energy_by_layer[layer][component]``
    (J), ``latency`` (s) and ``latency_parts[part]`` (s), ``area[component]`` (m^2),
    ``arrays`` (count), ``events`` (raw counts per inference), and ``sources[quantity]
    [component]``: the source records (:mod:`.provenance`) of what makes up each figure, each
    with its ``value`` (J, s or m^2), largest first."""

    energy: dict = field(default_factory=dict)
    energy_by_layer: dict = field(default_factory=dict)
    latency_by_layer: dict = field(default_factory=dict)
    latency: float = 0.0
    latency_parts: dict = field(default_factory=dict)
    area: dict = field(default_factory=dict)
    arrays: int = 0
    events: dict = field(default_factory=dict)
    sources: dict = field(default_factory=dict)

    @property
    def total_energy(self) -> float:
        return float(sum(self.energy.values()))

    @property
    def total_area(self) -> float:
        return float(sum(self.area.values()))

    def characterized_fraction(self) -> dict[str, float]:
        """Share of the total energy, latency and area whose source is characterized circuits
        (:func:`.provenance.is_characterized`); 0 for a total of 0."""
        out = {}
        for quantity in QUANTITIES:
            records = [r for rs in self.sources.get(quantity, {}).values() for r in rs]
            total = sum(r["value"] for r in records)
            part = sum(r["value"] for r in records if is_characterized(r))
            out[quantity] = float(part / total) if total > 0 else 0.0
        return out


class _Book:
    """Priced items, summed per (quantity, component, distinct source record)."""

    def __init__(self):
        self.items: dict = {}     # (quantity, component, record as JSON) -> [record, value]

    def add(self, quantity: str, component: str, value: float, record: dict) -> None:
        item = self.items.setdefault((quantity, component, json.dumps(record, sort_keys=True)), [record, 0.0])
        item[1] += float(value)

    def sources(self) -> dict:
        """quantity -> component -> [record with its ``value``], largest first, zeros left out."""
        out: dict = {q: {} for q in QUANTITIES}
        for (quantity, component, _), (record, value) in sorted(self.items.items(), key=lambda kv: -kv[1][1]):
            if value:
                out[quantity].setdefault(component, []).append({**record, "value": value})
        return out


def _cited(count: float, figure: costs.Cited) -> tuple[float, dict]:
    return count * figure, figure.record()


def _bits(event: str) -> int | None:
    """The resolution in an event name ``adc:6`` / ``time:adc:None``."""
    text = event.rsplit(":", 1)[1]
    return None if text == "None" else int(text)


def _cell_law(spec) -> dict:
    """Record of the law the simulated cell currents follow (the backend's ``_cell`` choice)."""
    a, n = spec.array, spec.nonidealities
    if not n.cell_nonlinearity:
        return spec_value("nonidealities.cell_nonlinearity", False)
    return spec_value("array.cell", a.cell)


def _energy(event: str, count: float, backend) -> tuple[str, float, dict] | None:
    """(component, J, source record) of ``count`` events named ``event``; None for an event
    that is not an energy."""
    spec, records = backend.spec, backend.records
    if event == "array_energy":
        law = records["array.surrogate"] if spec.array.cell == "surrogate" and spec.nonidealities.cell_nonlinearity \
            else _cell_law(spec)
        return "arrays", count, computed("sum V*I*t_read of the simulated array currents", law,
                                         t_read=spec_value("array.t_read", spec.array.t_read))
    blocks = backend.blocks
    if event == "driver_pulses":
        if blocks.dac is not None:               # the DAC's conversions are priced code by code
            return None
        if blocks.driver_energy is not None:
            return "drivers", count * blocks.driver_energy, records["inputs.driver"]
        bits = 1 if spec.inputs.encoding == "bit_serial" else spec.inputs.bits
        return "drivers", *_cited(count, costs.dac_energy(bits))
    if event == "sense_samples":
        if blocks.sample_hold_energy is not None:
            return "sense", count * blocks.sample_hold_energy, records["sense.sample_hold"]
        return "sense", *_cited(count, costs.SH_ENERGY)
    if event.startswith("adc:"):
        bits = _bits(event)
        if bits in backend.adc_energy:
            return "adc", count * backend.adc_energy[bits], _adc_record(records, "energy", bits)
        return "adc", *_cited(count, costs.adc_energy(bits))
    if event.startswith(("nonlinear:", "array_nonlinear:")):
        # digital units; a reprogrammable array without a characterized energy (nonlinear.energy)
        # is priced as one
        return "nonlinear", *_cited(count, costs.NONLINEAR_ENERGY)
    if event == "pool_array_drives":             # rows driven for array pooling (1-bit drivers)
        return "nonlinear", *_cited(count, costs.DAC1_ENERGY)
    if event == "pool_array_energy":             # J, the pooling columns' cells
        return "nonlinear", count, computed("sum V*I*t of the pooling columns' cells", _cell_law(spec),
                                            constants=[c.name for c in (costs.POOL_CELL_G, costs.POOL_V_MAX,
                                                                        costs.POOL_T_READ)])
    if event == "sense_energy" and spec.sense.circuit:   # J, the sense block over array.t_read
        record = dict(records["sense.circuit.energy_read"])
        record["model"] = (f"{spec.sense.circuit}.energy_read over its bench window + {spec.sense.circuit}.power "
                           "x the rest of array.t_read (cimspice.sim.sense_circuit)")
        return "sense", count, record
    measured = {"sense_energy": "sense.energy", "pool_wta_energy": "nonlinear.max_pooling_energy"}
    if event in measured or event.startswith("nonlinear_energy:"):   # J, from a characterized surrogate
        key = measured.get(event) or f"nonlinear.energy.{event.split(':', 1)[1]}"
        return ("sense" if event == "sense_energy" else "nonlinear"), count, records[key]
    digital = {"shift_add": costs.SHIFT_ADD_ENERGY, "pool_compare": costs.POOL_ENERGY}
    if event in digital or event.startswith("digital:"):
        return "digital", *_cited(count, digital.get(event) or costs.DIGITAL_ENERGY[event.split(":", 1)[1]])
    if event == "buffer_bits":
        return "buffers", *_cited(count, costs.BUFFER_BIT_ENERGY)
    return None


def _dac_conversions(histogram, backend, layer: str) -> tuple[str, float, tuple[str, float, dict]]:
    """("dac_conversions", their number, (component, J, record)) of ``layer``'s DAC code
    histogram: each code's count times the DAC block's energy at that code and at the load
    of the layer's programmed rows (sim/dac_block.py)."""
    joules = float(np.asarray(histogram, dtype=float) @ backend.blocks.dac.energy(layer))
    return "dac_conversions", float(np.sum(histogram)), ("drivers", joules, backend.records["inputs.dac"])


def _adc_record(records: dict, what: str, bits: int) -> dict:
    """Source record of the characterized ADC ``what`` (energy, time) at ``bits``: a key named
    per resolution (``adc.energy``), or the family's block (``adc.circuit``)."""
    return records.get(f"adc.{what}.{bits}") or records[f"adc.circuit.{bits}.{what}"]


def _array_time(event: str, backend) -> dict:
    """Source record of the array read cycles booked as ``event``."""
    if event == "time:read":
        return spec_value("array.t_read", backend.spec.array.t_read)
    if event == "time:dac_settle":               # the rows' settling before each read (sim/dac_block.py)
        return backend.records["inputs.dac.settling_time"]
    if event.startswith("time:adc:"):
        bits = _bits(event)
        return _adc_record(backend.records, "time", bits) if bits in backend.adc_time \
            else costs.ADC_CONVERSION_TIME.record()
    return {"time:pool_avg": costs.POOL_T_READ, "time:pool_wta": costs.POOL_WTA_T_EVAL}[event].record()


def _price_events(backend, batch: int, book: _Book, report: CostReport) -> tuple[float, float]:
    """Energy and array-time items of the backend's ledger into ``book``; per-layer energy and
    events into ``report``. Returns (digital operations, nonlinear evaluations) per inference."""
    by_layer: dict = defaultdict(lambda: dict.fromkeys(COMPONENTS, 0.0))
    time_by_layer: dict = defaultdict(float)
    events: dict = defaultdict(float)
    digital_ops = nonlinear_ops = 0.0
    for layer, counts in backend.ledger.counts.items():
        layer_digital = layer_nonlinear = 0.0
        for event, count in counts.items():
            if event.startswith("time:"):      # s, already per inference
                events[event] += count
                time_by_layer[layer] += count
                book.add("latency", "arrays", count, _array_time(event, backend))
                continue
            if event == "dac_codes":           # conversions per code (2**bits,), each at its own energy
                event, count, priced = _dac_conversions(count, backend, layer)
            elif event.startswith("array_nonlinear:") and f"nonlinear_energy:{event.split(':', 1)[1]}" in counts:
                priced = None                  # its measured energy is the nonlinear_energy event
            else:
                priced = _energy(event, count, backend)
            events[event] += count / batch
            if priced is not None:
                component, joules, record = priced
                by_layer[layer][component] += joules / batch
                book.add("energy", component, joules / batch, record)
            if event.startswith("digital:") or event in ("pool_compare", "shift_add"):
                layer_digital += count / batch
            elif "nonlinear:" in event:
                layer_nonlinear += count / batch
        digital_ops += layer_digital
        nonlinear_ops += layer_nonlinear
        time_by_layer[layer] += layer_digital * costs.DIGITAL_OP_TIME + layer_nonlinear * costs.NONLINEAR_OP_TIME
    report.energy_by_layer = {k: dict(v) for k, v in by_layer.items()}
    report.latency_by_layer = dict(time_by_layer)
    report.energy = {c: sum(v[c] for v in by_layer.values()) for c in COMPONENTS}
    report.events = dict(events)
    return digital_ops, nonlinear_ops


def _area(backend, plans, max_activation_bits: float, book: _Book) -> dict:
    """m^2 per component of the arrays of ``plans`` and the shared units, items into ``book``."""
    spec = backend.spec
    a = spec.array
    cell = costs.CELL_AREA.record() if a.cell_area is None else spec_value("array.cell_area", a.cell_area)
    dac_bits = 1 if spec.inputs.encoding == "bit_serial" else spec.inputs.bits
    area = dict.fromkeys(COMPONENTS, 0.0)

    def add(component, value, record):
        area[component] += value
        book.add("area", component, value, record)

    blocks = backend.blocks.area         # role -> (m^2 per instance, record), from the library's blocks

    def priced(role: str, figure: costs.Cited) -> tuple[float, dict]:
        return blocks.get(role) or (figure, figure.record())

    cell_unit, cell = (a.cell_area, cell) if a.cell_area is not None else priced("cell", costs.CELL_AREA)
    driver = priced("driver", costs.dac_area(dac_bits))  # the block of the encoding in use, if named
    sample_hold = priced("sample_hold", costs.SH_AREA)
    for plan in plans:
        n = plan.arrays
        bits = spec.adc.partial_sum_bits if (len(plan.row_tiles) > 1 and spec.tiling.split == "partial_sums") \
            else spec.adc.bits
        adc = priced(f"adc:{bits}", costs.adc_area(bits))
        add("arrays", n * a.rows * a.cols * cell_unit, cell)
        add("drivers", n * a.rows * driver[0], driver[1])
        add("sense", n * a.cols * sample_hold[0], sample_hold[1])
        if "sense" in blocks:            # a characterized sense circuit per column
            add("sense", n * a.cols * blocks["sense"][0], blocks["sense"][1])
        add("adc", n * spec.adc.per_array * adc[0], adc[1])
        add("digital", *_cited(n, costs.SHIFT_ADD_AREA))
    add("digital", *_cited(costs.DIGITAL_LANES, costs.DIGITAL_LANE_AREA))
    add("digital", *_cited(1, costs.POOL_AREA))
    add("nonlinear", *_cited(costs.NONLINEAR_UNITS, costs.NONLINEAR_AREA))
    if backend.pool_area:   # the largest layer's pooling circuits (layers share them)
        layer = max(backend.pool_area, key=backend.pool_area.get)
        add("nonlinear", backend.pool_area[layer], backend.pool_area_source[layer])
    add("buffers", *_cited(max_activation_bits / 8, costs.BUFFER_BYTE_AREA))
    return area


def summarise(backend, plans, batch: int, max_activation_bits: float = 0.0) -> CostReport:
    """Per-inference :class:`CostReport` of ``backend``'s ledger, which recorded ``batch``
    inferences of a network mapped as ``plans``; ``max_activation_bits``: the largest
    layer's buffer traffic per inference (bits), which sizes the buffer."""
    report, book = CostReport(), _Book()
    digital_ops, nonlinear_ops = _price_events(backend, batch, book, report)
    book.add("latency", "digital", *_cited(digital_ops, costs.DIGITAL_OP_TIME))
    book.add("latency", "nonlinear", *_cited(nonlinear_ops, costs.NONLINEAR_OP_TIME))
    report.area = _area(backend, plans, max_activation_bits, book)
    report.arrays = sum(plan.arrays for plan in plans)
    report.sources = book.sources()
    report.latency_parts = {p: sum(r["value"] for r in report.sources["latency"].get(p, [])) for p in LATENCY_PARTS}
    report.latency = float(sum(report.latency_parts.values()))
    return report


def mean_report(reports: list[CostReport]) -> CostReport:
    """The first report with its energies (per component, per layer, per source) averaged
    over ``reports`` (seeds); latency and area do not depend on the draw."""
    first = reports[0]
    if len(reports) == 1:
        return first
    first.energy = {k: float(np.mean([r.energy[k] for r in reports])) for k in COMPONENTS}
    first.energy_by_layer = {layer: {k: float(np.mean([r.energy_by_layer.get(layer, {}).get(k, 0.0) for r in reports]))
                                     for k in COMPONENTS} for layer in first.energy_by_layer}
    # one line per source: a record whose only difference between seeds is what the draw
    # decided (the DAC's g_row from each programming) is the same source
    groups: dict = defaultdict(list)
    for r in reports:
        for component, records in r.sources["energy"].items():
            for rec in records:
                groups[component, draw_identity(rec)].append(rec)
    book = _Book()
    for (component, _), records in groups.items():
        book.add("energy", component, sum(rec["value"] for rec in records) / len(reports), merged_draws(records))
    first.sources = {**first.sources, "energy": book.sources()["energy"]}
    return first
