"""Latency and area of one inference of the binarized MLP on both designs of the
input-splitting study (:mod:`.bnn_costs` prices its energy), from the shipped component
library's characterized times and block areas, and cited constants for the digital parts.

Mapping as the energy's: a layer of ``n_in`` inputs and ``n_out`` outputs occupies
``tiles x ceil(2 n_out / rows)`` arrays of ``rows x rows`` cells, each array ``rows / 2``
differential column pairs.

Latency (s): the layers in sequence, the arrays of one layer in parallel. A layer takes

- the word-line drivers' settling: ``wl_driver.settling_time`` at the row's capacitance;
- its read-out, on the busiest array: with sense amplifiers, ``min(pairs_per_sa, pairs)``
  decisions one after another, each the amplifier's cycle (clock edges, the evaluation
  window ``T_EVAL_MIN + Q_DECIDE / i_ref`` the energy's cells conduct for, and the
  pre-charge that restores the latch: the cycle ``sense_amp.energy`` integrates over, at
  the same reference and overdrive; the block's ``sense_amp.delay`` there must fall inside
  the window); with ADCs, every pair sampled at once
  (``sample_hold.t_acq``) and ``min(pairs_per_adc, pairs)`` conversions in turn
  (``adc_sar_{bits}b.t_conversion``);
- the digital merge: the energy's adds and compares (:func:`.bnn_costs.merge_ops`) over
  the simulator's digital lanes, ``costs.DIGITAL_OP_TIME`` each (a cited constant).

Area (m^2): every array's cells (the library cell's record, else a cited 1T1R cell) and one
word-line driver per row; per array, a sample-and-hold per column pair and
``ceil(pairs / pairs_per_adc)`` ADCs on arrays read through ADCs, ``ceil(pairs /
pairs_per_sa)`` sense amplifiers on arrays read by sense amplifiers (block records'
``area``); the digital merge's lanes, an adder of the design's widest merge each (cited);
an activation buffer for the largest layer (cited), as the simulator sizes it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from ..circuits.sense_amp import T_EDGE, T_PRECHARGE
from ..sim.costs import Cited
from ..sim.provenance import characterized
from . import StudyError
from .bnn_costs import Hardware, LayerUse, Prices, merge_ops, merge_width, read_blocks, table_value
from .provenance import costs, current

__all__ = ["ADD8_AREA", "AREA_PARTS", "CELL_1T1R_AREA", "LATENCY_PARTS", "TimeArea", "area", "arrays_of", "circuits",
           "latency", "layer_latency", "read_time_area", "summary"]

LATENCY_PARTS = ("word-line settling", "sense amplifiers", "sample-and-hold", "ADCs", "digital merge")
AREA_PARTS = ("cells", "word-line drivers", "sense amplifiers", "sample-and-hold", "ADCs", "digital merge", "buffers")

# m^2, a 45 nm 8-bit adder [Horowitz, ISSCC 2014: 8-bit add 0.03 pJ, 36 um^2]; the merge's
# adders scale per bit of width, as its energy does
ADD8_AREA = Cited(36e-12, costs.HOROWITZ_ISSCC, "bnn_latency_area.ADD8_AREA")
# m^2, a 1T1R cell of 4 F x 12 F (DNN+NeuroSim V1.4, github.com/neurosim/DNN_NeuroSim_V1.4,
# Inference_pytorch/NeuroSIM/Param.cpp: heightInFeatureSize1T1R = 4, widthInFeatureSize1T1R = 12)
# at F = 45 nm, the cards' node: used only when the library's cell block gives no area
CELL_1T1R_AREA = Cited(4 * 12 * 45e-9 ** 2, "DNN+NeuroSim V1.4 (Param.cpp, 1T1R cell 4 F x 12 F)",
                       "bnn_latency_area.CELL_1T1R_AREA", "48 F^2 at F = 45 nm")


@dataclass(frozen=True)
class TimeArea:
    """Per-event times (s) and per-instance areas (m^2) of the case at one array size.

    ``t_settle``: a row's settling; ``t_decision``: one sense-amplifier cycle (``t_eval``
    its evaluation window, ``t_delay`` the characterized decision inside it); ``t_acq``: one
    sample; ``t_conv``: one SAR conversion at ``adc_bits``; ``t_op``: one digital add or
    compare over the lanes. ``a_*``: one cell, word-line driver, sense amplifier,
    sample-and-hold, ADC; ``a_add_bit``: an adder per bit of width; ``a_buffer_byte``: a byte
    of activation buffer; ``lanes``: digital merge lanes. ``sources``: each figure's record."""

    t_settle: float
    t_eval: float
    t_decision: float
    t_delay: float
    t_acq: float
    t_conv: float
    adc_bits: int
    t_op: float
    a_cell: float
    a_driver: float
    a_sa: float
    a_sh: float
    a_adc: float
    a_add_bit: float
    a_buffer_byte: float
    lanes: int
    sources: dict

    def scaled(self, **factors) -> TimeArea:
        """These figures with some multiplied (``t_op=2.0``...)."""
        return replace(self, **{k: getattr(self, k) * v for k, v in factors.items()})


def _cite(figure: Cited) -> dict:
    """The record of a cited figure of this module, listed in the running study's header."""
    src = current()
    if src is not None:
        src.cite(figure)
    return figure.record()


def _block_area(spec, blocks, block: str, role: str) -> tuple[float, dict]:
    """m^2 of one ``block`` from its library record (``/blocks/<block>``: ``area``), refused
    with a one-line reason when the library lacks the block or its record gives no area."""
    rec = blocks.get(block)
    if rec is None:
        raise StudyError(f"{spec.library}: no block {block!r} for the {role}' area; add it with "
                         f"`cimspice library build -o library.h5 --only {block}`")
    value = rec.get("area")
    if not (isinstance(value, int | float) and np.isfinite(value) and value > 0):
        raise StudyError(f"{spec.library}: block {block}: its record gives no area (attribute `area` = {value!r}) "
                         f"for the {role}; rebuild it with `cimspice library build -o library.h5 --only {block}`")
    corner = ",".join(rec.get("corners") or []) or (spec.corner or "")
    source = characterized(spec.library, block, f"{role} area", corner)
    source["area_model"] = str(rec.get("area_source", ""))
    return float(value), source


def read_time_area(rows: int, prices: Prices, hw: Hardware, library, blocks) -> TimeArea:
    """The case's times and areas at ``rows``, beside its energy ``prices`` (their SAR
    resolution, the sense amplifier's current and window, the sample time). ``library`` /
    ``blocks``: the shipped library's tables and block records. A table or block record the
    library lacks, a point outside a table's domain, or a characterized decision slower than
    the window is refused (:class:`~cimspice.studies.StudyError`)."""
    bits = prices.adc_bits
    spec, figs = read_blocks(rows, bits, hw, library, blocks)
    settle, settle_rec = table_value(spec, library, f"{spec.inputs.driver}.settling_time",
                                     {"v_read": hw.v_read, "c_row": hw.c_cell * rows, "vdd": hw.vdd})
    at = dict(prices.sources["sense_amp.energy"]["at"])   # the point the energy was read at
    delay, delay_rec = table_value(spec, library, "sense_amp.delay", at)
    if not delay < prices.t_sa:
        raise StudyError(f"sense_amp.delay: the characterized decision takes {delay * 1e9:.3g} ns at i_ref "
                         f"{at['i_ref'] * 1e6:.3g} uA, overdrive {at['overdrive']:.3g}, beyond the "
                         f"{prices.t_sa * 1e9:.3g} ns evaluation window")
    cycle = 2 * T_EDGE + prices.t_sa + T_PRECHARGE
    a_cell, cell_rec = figs.area.get("cell") or (float(CELL_1T1R_AREA), _cite(CELL_1T1R_AREA))
    a_sa, sa_rec = _block_area(spec, blocks, "sense_amp", "sense amplifiers")
    for role, name in (("driver", "word-line drivers"), ("sample_hold", "sample-and-holds"),
                       (f"adc:{bits}", "ADCs")):
        if role not in figs.area:
            block = {"driver": spec.inputs.driver, "sample_hold": spec.sense.sample_hold}.get(
                role, f"{spec.adc.circuit}_{bits}b")
            _block_area(spec, blocks, block, name)     # refuses, naming the block
    add_rec = _cite(ADD8_AREA) | {"scaling": "/ 8 per bit of width"}
    sources = {
        "t_settle": settle_rec, "t_delay": delay_rec, "t_acq": prices.sources["sample_hold.t_acq"],
        "t_decision": {"kind": "computed", "from": "2 T_EDGE + eval_window(i_bl, i_ref) + T_PRECHARGE, "
                       "cimspice/circuits/sense_amp.py: the cycle sense_amp.energy integrates over",
                       "i_ref": at["i_ref"], "overdrive": at["overdrive"], "window": prices.sources["t_sa"]},
        "t_conv": figs.records[f"adc.circuit.{bits}.time"], "t_op": costs.DIGITAL_OP_TIME.record(),
        "a_cell": cell_rec, "a_driver": figs.area["driver"][1], "a_sa": sa_rec,
        "a_sh": figs.area["sample_hold"][1], "a_adc": figs.area[f"adc:{bits}"][1], "a_add_bit": add_rec,
        "a_buffer_byte": costs.BUFFER_BYTE_AREA.record(),
        "lanes": {"kind": "setting", "constant": "costs.DIGITAL_LANES", "setting": costs.DIGITAL_LANES}}
    return TimeArea(t_settle=settle, t_eval=prices.t_sa, t_decision=cycle, t_delay=delay, t_acq=prices.t_sh,
                    t_conv=figs.adc_time[bits], adc_bits=bits, t_op=float(costs.DIGITAL_OP_TIME), a_cell=a_cell,
                    a_driver=figs.area["driver"][0], a_sa=a_sa, a_sh=figs.area["sample_hold"][0],
                    a_adc=figs.area[f"adc:{bits}"][0], a_add_bit=float(ADD8_AREA) / 8,
                    a_buffer_byte=float(costs.BUFFER_BYTE_AREA), lanes=int(costs.DIGITAL_LANES), sources=sources)


def arrays_of(u: LayerUse, rows: int) -> int:
    """Arrays the layer occupies: its row tiles times its column tiles (2 columns per output)."""
    return u.tiles * math.ceil(2 * u.n_out / rows)


def _pairs(u: LayerUse, rows: int) -> int:
    """Column pairs in use on the layer's busiest array."""
    return min(rows // 2, u.n_out)


def layer_latency(u: LayerUse, f: TimeArea, rows: int, hw: Hardware) -> dict[str, float]:
    """s of one layer by part (:data:`LATENCY_PARTS`)."""
    t = dict.fromkeys(LATENCY_PARTS, 0.0)
    t["word-line settling"] = f.t_settle
    if u.readout == "adc":
        t["sample-and-hold"] = f.t_acq
        t["ADCs"] = min(hw.pairs_per_adc, _pairs(u, rows)) * f.t_conv
    else:
        t["sense amplifiers"] = min(hw.pairs_per_sa, _pairs(u, rows)) * f.t_decision
    t["digital merge"] = merge_ops(u) * f.t_op
    return t


def latency(uses: list[LayerUse], f: TimeArea, rows: int, hw: Hardware) -> dict[str, float]:
    """s per inference by part (:data:`LATENCY_PARTS`), the layers one after another."""
    out = dict.fromkeys(LATENCY_PARTS, 0.0)
    for u in uses:
        for k, v in layer_latency(u, f, rows, hw).items():
            out[k] += v
    return out


def circuits(uses: list[LayerUse], rows: int, hw: Hardware) -> dict[str, int]:
    """Instances per design: arrays, word-line drivers, sense amplifiers, sample-and-holds, ADCs."""
    pairs = rows // 2
    n = dict.fromkeys(("arrays", "word-line drivers", "sense amplifiers", "sample-and-holds", "ADCs"), 0)
    for u in uses:
        k = arrays_of(u, rows)
        n["arrays"] += k
        n["word-line drivers"] += k * rows
        if u.readout == "adc":
            n["sample-and-holds"] += k * pairs
            n["ADCs"] += k * math.ceil(pairs / hw.pairs_per_adc)
        else:
            n["sense amplifiers"] += k * math.ceil(pairs / hw.pairs_per_sa)
    return n


def area(uses: list[LayerUse], f: TimeArea, rows: int, hw: Hardware) -> dict[str, float]:
    """m^2 per design by component (:data:`AREA_PARTS`)."""
    n = circuits(uses, rows, hw)
    width = max(merge_width(u, f.adc_bits) for u in uses)
    buffer_bits = max(u.n_in + u.n_out * (merge_width(u, f.adc_bits) if u.last else 1) for u in uses)
    return {"cells": n["arrays"] * rows * rows * f.a_cell, "word-line drivers": n["word-line drivers"] * f.a_driver,
            "sense amplifiers": n["sense amplifiers"] * f.a_sa, "sample-and-hold": n["sample-and-holds"] * f.a_sh,
            "ADCs": n["ADCs"] * f.a_adc, "digital merge": f.lanes * width * f.a_add_bit,
            "buffers": buffer_bits / 8 * f.a_buffer_byte}


def summary(uses: dict[str, list[LayerUse]], f: TimeArea, rows: int, hw: Hardware) -> dict:
    """Both designs' latency (s by part, and by layer), area (m^2 by component) and circuit
    counts, from ``uses`` (design -> layers: "baseline" and "split"), and the baseline's
    latency and area over the split design's."""
    out = {"latency": {d: latency(u, f, rows, hw) for d, u in uses.items()},
           "latency_layers": {d: [sum(layer_latency(x, f, rows, hw).values()) for x in u] for d, u in uses.items()},
           "area": {d: area(u, f, rows, hw) for d, u in uses.items()},
           "circuits": {d: circuits(u, rows, hw) for d, u in uses.items()}}
    out["latency_ratio"] = sum(out["latency"]["baseline"].values()) / sum(out["latency"]["split"].values())
    out["area_ratio"] = sum(out["area"]["baseline"].values()) / sum(out["area"]["split"].values())
    return out
