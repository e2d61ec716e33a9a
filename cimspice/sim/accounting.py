"""Energy, latency and area of an inference from what the simulator counted.

:func:`summarise` prices a :class:`cimspice.sim.backend.Ledger` with the figures of
:mod:`.costs` and rolls it up per component and per layer. Components:

- ``arrays``: read energy of the crossbars, ``sum V * I * t_read`` over every read (measured
  from the currents that flowed, not a per-operation constant);
- ``drivers``: row pulses (1-bit) or DAC levels applied (rows at 0 V are not driven);
- ``sense``: sample-and-hold / sense samples, one per conversion;
- ``adc``: conversions, priced at each array's resolution;
- ``nonlinear``: activation / sigmoid / tanh / exp evaluations (digital units, or ReRAM arrays);
- ``digital``: shift-and-add of ADC outputs, partial-sum and bias additions, element-wise
  products, layer norm, attention multiply-accumulates, pooling;
- ``buffers``: activation bits moved through the eDRAM buffer.

Latency is the sum over layers (no inter-layer pipelining) of the array read cycles each
inference needs (reads of different arrays of a layer overlap; each read waits for its
array's shared ADCs), plus digital work spread over the digital lanes and nonlinear units.
Area counts the arrays the network occupies with their drivers, sample-and-holds, ADCs and
shift-and-add unit, the digital lanes and nonlinear units, and a buffer big enough for the
largest layer's input and output.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from . import costs

__all__ = ["COMPONENTS", "CostReport", "summarise"]

COMPONENTS = ("arrays", "drivers", "sense", "adc", "nonlinear", "digital", "buffers")


@dataclass
class CostReport:
    """Per-inference figures. ``energy[component]`` (J), ``energy_by_layer[layer][component]``
    (J), ``latency`` (s), ``area[component]`` (m^2), ``arrays`` (count), ``events`` (raw
    counts per inference)."""

    energy: dict = field(default_factory=dict)
    energy_by_layer: dict = field(default_factory=dict)
    latency: float = 0.0
    latency_parts: dict = field(default_factory=dict)
    area: dict = field(default_factory=dict)
    arrays: int = 0
    events: dict = field(default_factory=dict)

    @property
    def total_energy(self) -> float:
        return float(sum(self.energy.values()))

    @property
    def total_area(self) -> float:
        return float(sum(self.area.values()))


def _event_energy(event: str, count: float, spec, adc_energy: dict | None = None) -> tuple[str, float]:
    """(component, J) of ``count`` events named ``event``; ``adc_energy`` {bits: J per
    conversion} from characterized ADCs overrides the cited constant at those resolutions."""
    if event == "array_energy":
        return "arrays", count
    if event == "driver_pulses":
        bits = 1 if spec.inputs.encoding == "bit_serial" else spec.inputs.bits
        return "drivers", count * costs.dac_energy(bits)
    if event == "sense_samples":
        return "sense", count * costs.SH_ENERGY
    if event == "sense_energy":  # J, from the characterized sense circuit (sense.energy surrogate)
        return "sense", count
    if event.startswith("adc:"):
        bits = event.split(":", 1)[1]
        bits = None if bits == "None" else int(bits)
        if adc_energy and bits in adc_energy:
            return "adc", count * adc_energy[bits]
        return "adc", count * costs.adc_energy(bits)
    if event.startswith("nonlinear:"):
        return "nonlinear", count * costs.NONLINEAR_ENERGY
    if event.startswith("array_nonlinear:"):
        # Reprogrammable-array nonlinearity without a characterized energy (nonlinear.energy):
        # priced as a digital unit
        return "nonlinear", count * costs.NONLINEAR_ENERGY
    if event.startswith("nonlinear_energy:"):  # J, from the array's energy surrogate
        return "nonlinear", count
    if event == "pool_array_energy":         # J, the pooling columns' cells
        return "nonlinear", count
    if event == "pool_wta_energy":           # J, the winner-take-all circuits' surrogate
        return "nonlinear", count
    if event == "pool_array_drives":         # rows driven for array pooling (1-bit drivers)
        return "nonlinear", count * costs.DAC1_ENERGY

    if event == "shift_add":
        return "digital", count * costs.SHIFT_ADD_ENERGY
    if event == "pool_compare":
        return "digital", count * costs.POOL_ENERGY
    if event.startswith("digital:"):
        return "digital", count * costs.DIGITAL_ENERGY[event.split(":", 1)[1]]
    if event == "buffer_bits":
        return "buffers", count * costs.BUFFER_BIT_ENERGY
    return "", 0.0


def summarise(ledger, spec, plans, batch: int, max_activation_bits: float = 0.0,
              adc_energy: dict | None = None, pool_area: dict | None = None) -> CostReport:
    """Per-inference :class:`CostReport` of a ledger that recorded ``batch`` inferences;
    ``adc_energy``: {bits: J per conversion} of characterized ADCs (the backend's);
    ``pool_area``: {layer: m^2} of pooling circuits (one per window; layers share them, so
    the largest counts)."""
    report = CostReport()
    by_layer: dict = defaultdict(lambda: dict.fromkeys(COMPONENTS, 0.0))
    events: dict = defaultdict(float)
    array_time = digital_ops = nonlinear_ops = 0.0
    for layer, counts in ledger.counts.items():
        for event, count in counts.items():
            events[event] += count / batch
            if event == "array_time":
                array_time += count  # already per inference
                continue
            component, joules = _event_energy(event, count, spec, adc_energy)
            if event.startswith("array_nonlinear:") and f"nonlinear_energy:{event.split(':', 1)[1]}" in counts:
                joules = 0.0  # its measured energy is the nonlinear_energy event
            if component:
                by_layer[layer][component] += joules / batch
            if event.startswith("digital:") or event in ("pool_compare", "shift_add"):
                digital_ops += count / batch
            elif "nonlinear:" in event:
                nonlinear_ops += count / batch
    report.energy_by_layer = {k: dict(v) for k, v in by_layer.items()}
    report.energy = {c: sum(v[c] for v in by_layer.values()) for c in COMPONENTS}
    report.events = dict(events)
    digital_time = digital_ops / (costs.DIGITAL_LANES * costs.CLOCK)
    nonlinear_time = nonlinear_ops / (costs.NONLINEAR_UNITS * costs.CLOCK)
    report.latency_parts = {"arrays": array_time, "digital": digital_time, "nonlinear": nonlinear_time}
    report.latency = array_time + digital_time + nonlinear_time

    a = spec.array
    cell_area = a.cell_area or costs.CELL_AREA
    dac_bits = 1 if spec.inputs.encoding == "bit_serial" else spec.inputs.bits
    area = dict.fromkeys(COMPONENTS, 0.0)
    for plan in plans:
        n = plan.arrays
        bits = spec.adc.partial_sum_bits if (len(plan.row_tiles) > 1 and spec.tiling.split == "partial_sums") \
            else spec.adc.bits
        area["arrays"] += n * a.rows * a.cols * cell_area
        area["drivers"] += n * a.rows * costs.dac_area(dac_bits)
        area["sense"] += n * a.cols * costs.SH_AREA
        area["adc"] += n * spec.adc.per_array * costs.adc_area(bits)
        area["digital"] += n * costs.SHIFT_ADD_AREA
        report.arrays += n
    area["digital"] += costs.DIGITAL_LANES * costs.DIGITAL_LANE_AREA + costs.POOL_AREA
    area["nonlinear"] += costs.NONLINEAR_UNITS * costs.NONLINEAR_AREA + max((pool_area or {}).values(), default=0.0)
    area["buffers"] += max_activation_bits / 8 * costs.BUFFER_BYTE_AREA
    report.area = area
    return report
