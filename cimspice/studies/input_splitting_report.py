"""The input-splitting study's report: claims on the fixed case, accuracy per array size,
energy by component, latency and area, the sensitivity of the ratios, figures, what the study
leaves out, and ``results.json`` with every figure and its source."""

from __future__ import annotations

import json
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np

from .. import __version__
from ..paths import default_library_path
from .block_sensitivity import _log_ticks
from .bnn_costs import COMPONENTS, READOUT, energy, layer_uses, read_prices, readout
from .bnn_latency_area import AREA_PARTS, LATENCY_PARTS, summary
from .input_splitting_nonideal import nonideal_line, nonideal_results, nonideal_section
from .report import Report, pyplot, save_figure, tornado_figure
from .sources import CLAIMS

__all__ = ["write_report"]

PAPER = {"adc": CLAIMS["kim.adc_power"].value, "chip": CLAIMS["kim.chip_power"].value}


def _within(value: float, paper: float, factor: float) -> bool:
    return paper / factor <= value <= paper * factor


def _ratios(ctx, rows, prices, hw=None) -> tuple[float, float]:
    """(ADC-power ratio, chip-power ratio) at ``rows`` with ``prices``."""
    hw = hw or ctx["case"]["hardware"]
    base = energy(layer_uses(ctx["sizes"], ctx["acts"], rows, False), prices, rows, hw)
    split = energy(layer_uses(ctx["sizes"], ctx["split_acts"][rows], rows, True), prices, rows, hw)
    return readout(base) / readout(split), sum(base.values()) / sum(split.values())


def _reprice(ctx, rows, hw):
    bits = ctx["costs"][rows]["prices"].adc_bits
    i_col = hw.column_current(rows, float(np.mean(ctx["acts"][1:-1])))
    return read_prices(rows, bits, i_col, hw, ctx["library"], ctx["blocks"])


def _tia(ctx, rows, prices):
    """The prices with the library's TIA (``tia.energy_read`` at the column current, clipped
    into its domain) added to every sampled conversion; and the current it was read at."""
    hw = ctx["case"]["hardware"]
    s = ctx["library"]["tia.energy_read"]
    lo, hi = s.domain["i_in"]
    i = min(max(hw.column_current(rows, float(np.mean(ctx["acts"][1:-1]))), lo), hi)
    e = float(s.predict({"i_in": [i], "vdd": [hw.vdd]})[0])
    return replace(prices, sh=prices.sh + e), e


def _swings(ctx):
    """[(label, low text, high text, (adc, chip) low, (adc, chip) high)] at the headline."""
    rows, hw = ctx["headline"], ctx["case"]["hardware"]
    p = ctx["costs"][rows]["prices"]
    need = ctx["acc"][rows]["paper_bits"]
    lo_bits = p.adc_bits - 1
    hi_bits = need if need > p.adc_bits else p.adc_bits + 1
    i_col = hw.column_current(rows, float(np.mean(ctx["acts"][1:-1])))
    lower = read_prices(rows, lo_bits, i_col, hw, ctx["library"], ctx["blocks"])
    higher = replace(p, adc=p.adc * 2.0 ** (hi_bits - p.adc_bits), adc_bits=hi_bits)
    others = [r for r in ctx["cfg"]["rows"] if r != rows]
    tia, e_tia = _tia(ctx, rows, p)
    out = [
        ("sense-amplifier energy", "x0.5", "x2", p.scaled(sa=0.5), p.scaled(sa=2.0)),
        ("ADC energy per conversion", "x0.5", "x2", p.scaled(adc=0.5), p.scaled(adc=2.0)),
        ("baseline ADC resolution", f"{lo_bits} b, library", f"{hi_bits} b, 2^bits from {p.adc_bits} b", lower, higher),
        ("word-line driver energy", "x0.5", "x2", p.scaled(driver=0.5), p.scaled(driver=2.0)),
        ("read window (cells conduct)", "x0.5", "x10", p.scaled(t_sa=0.5, t_sh=0.5), p.scaled(t_sa=10.0, t_sh=10.0)),
        ("digital add energy per bit", "x0.5", "x4", p.scaled(add_bit=0.5), p.scaled(add_bit=4.0)),
        ("activation buffer energy", "x0.5", "x2", p.scaled(buffer_bit=0.5), p.scaled(buffer_bit=2.0)),
        ("baseline bit-line sense", "ideal", f"+ TIA {e_tia * 1e12:.2f} pJ", p, tia),
    ]
    swings = [(label, lo, hi, _ratios(ctx, rows, a), _ratios(ctx, rows, b)) for label, lo, hi, a, b in out]
    # the supply only upward: the SARs' weight test (every block from 3 bits) holds from 1.1 V
    # (docs/library.md), the word-line driver's table ends at 1.2 V
    low_vdd = 1.0 if p.adc_bits <= 2 else hw.vdd
    for label, attr, lo, hi in (("supply vdd", "vdd", low_vdd, 1.2), ("cell conductances", "g", 0.5, 2.0)):
        cases = []
        for v in (lo, hi):
            h = replace(hw, vdd=v) if attr == "vdd" else replace(hw, g_on=hw.g_on * v, g_off=hw.g_off * v)
            cases.append(_ratios(ctx, rows, _reprice(ctx, rows, h), h))
        texts = (f"{lo} V", f"{hi} V") if attr == "vdd" else ("x0.5", "x2")
        swings.append((label, *texts, *cases))
    if others:
        lo_r, hi_r = min(others), max(others)
        swings.append(("array size (rows)", str(lo_r), str(hi_r),
                       (ctx["costs"][lo_r]["adc_ratio"], ctx["costs"][lo_r]["chip_ratio"]),
                       (ctx["costs"][hi_r]["adc_ratio"], ctx["costs"][hi_r]["chip_ratio"])))
    return swings


def _tornado(swings, nominal, out: Path) -> Path:
    panels = [(title, nominal[k], PAPER[key], [s[3][k] for s in swings], [s[4][k] for s in swings])
              for k, key, title in ((0, "adc", "ADC-power ratio (x)"), (1, "chip", "chip-power ratio (x)"))]
    return tornado_figure([f"{s[0]} ({s[1]} / {s[2]})" for s in swings], panels, out / "sensitivity_tornado.png",
                          width=11, ticks=_log_ticks)


def _accuracy_plots(ctx, out: Path) -> tuple[Path, Path]:
    plt = pyplot()
    rows_list, acc = ctx["cfg"]["rows"], ctx["acc"]
    fig, ax = plt.subplots(figsize=(6, 3.6))
    x = np.arange(len(rows_list))
    series = (("baseline_paper", "partial sums, lossless ADC (paper's bits)"),
              ("baseline_priced", "partial sums, priced ADC"),
              ("split_as_trained", "split, not retrained"), ("split_retrained", "split, retrained"))
    for i, (key, label) in enumerate(series):
        ax.bar(x + (i - 1.5) * 0.2, [100 * acc[r][key] for r in rows_list], 0.2, label=label)
    ax.axhline(100 * ctx["float_acc"], color="k", lw=0.8, ls=":")
    lo = min(100 * min(acc[r][k] for r in rows_list for k, _ in series), 100 * ctx["float_acc"])
    ax.set_ylim(max(0, lo - 5), 100)
    ax.set_xticks(x, [f"{r} rows ({acc[r]['groups']} groups)" for r in rows_list])
    ax.set_ylabel("held-out accuracy (%)")
    ax.grid(alpha=0.3, axis="y")
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.15), ncol=2, frameon=False)
    per_size = save_figure(fig, out / "accuracy_per_array_size.png")

    fig, ax = plt.subplots(figsize=(5.5, 3.4))
    for r in rows_list:
        curve = acc[r]["adc_curve"]
        ax.plot(list(curve), [100 * v for v in curve.values()], "o-", label=f"{r} rows")
    ax.axhline(100 * ctx["float_acc"], color="k", lw=0.8, ls=":", label="exact partial sums")
    ax.set_xlabel("baseline ADC bits per partial sum (full-scale range)")
    ax.set_ylabel("held-out accuracy (%)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="lower right")
    curve_png = save_figure(fig, out / "baseline_accuracy_vs_adc_bits.png")
    return per_size, curve_png


def _energy_plot(ctx, out: Path) -> Path:
    plt = pyplot()
    rows_list = ctx["cfg"]["rows"]
    fig, ax = plt.subplots(figsize=(6.5, 3.6))
    labels, bottoms = [], np.zeros(2 * len(rows_list))
    for r in rows_list:
        labels += [f"{r}: partial sums", f"{r}: split"]
    for comp in COMPONENTS:
        vals = np.array([ctx["costs"][r][d][comp] for r in rows_list for d in ("baseline", "split")]) * 1e9
        ax.bar(np.arange(len(labels)), vals, bottom=bottoms, label=comp)
        bottoms += vals
    ax.set_xticks(np.arange(len(labels)), labels, rotation=30, ha="right", fontsize=7)
    ax.set_ylabel("energy per inference (nJ)")
    ax.grid(alpha=0.3, axis="y")
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False)
    return save_figure(fig, out / "energy_by_component.png")


def _verdict(swings, k, paper, factor) -> str:
    values = [v for s in swings for v in (s[3][k], s[4][k])]
    inside = sum(_within(v, paper, factor) for v in values)
    return (f"{min(values):.3g}x to {max(values):.3g}x over the {len(values)} moved cases; within the case's "
            f"factor {factor} of the paper's {paper:g}x in {inside} of them")


def _claims(report, ctx, swings):
    rows, case = ctx["headline"], ctx["case"]
    c, a = ctx["costs"][rows], ctx["acc"][rows]
    f = case["ratio_factor"]
    hw = case["hardware"]
    deviation = (f" (priced at {a['bits']} b: the library's highest; the paper's {a['paper_bits']} b needs block "
                 f"adc_sar_{a['paper_bits']}b)" if a["bits"] != a["paper_bits"] else "")
    case_text = (f"BNN 64-{ctx['cfg']['hidden']}x3-10, {rows}x{rows} arrays "
                 f"({a['groups']} groups), baseline ADC {a['paper_bits']} b{deviation}, v_read {hw.v_read} V, "
                 f"cells {hw.g_on * 1e6:g}/{hw.g_off * 1e6:g} uS, vdd {hw.vdd} V; agrees within x{f}")
    p = c["prices"]
    report.claim("kim.adc_power", c["adc_ratio"], _within(c["adc_ratio"], PAPER["adc"], f),
                 f"ADCs + sample-and-holds + sense amplifiers per inference, baseline over split; one SAR conversion "
                 f"{p.adc * 1e12:.3f} pJ ({p.adc_bits} b) against one sense-amplifier decision {p.sa * 1e15:.1f} fJ. "
                 f"Sensitivity: {_verdict(swings, 0, PAPER['adc'], f)}.", case_text)
    report.claim("kim.chip_power", c["chip_ratio"], _within(c["chip_ratio"], PAPER["chip"], f),
                 f"All components per inference (at equal throughput power scales the same). "
                 f"Sensitivity: {_verdict(swings, 1, PAPER['chip'], f)}.", case_text)
    loss = 100 * (a["split_retrained_paper"] - a["baseline_paper"])
    one = 100 / ctx["n_test"]
    report.claim("kim.accuracy", loss, loss >= -case["accuracy_points"],
                 f"Retrained split network against the unsplit BNN, the last layer's partial sums lossless in both, "
                 f"{ctx['n_test']} held-out digits (one digit = {one:.2f} points); one seed, so a point either "
                 f"way is within chance. {nonideal_line(ctx)}",
                 f"{rows}x{rows} arrays; kept if the loss is at most {case['accuracy_points']} point")


def _setup(ctx) -> str:
    cfg, hw = ctx["cfg"], ctx["case"]["hardware"]
    h = cfg["hidden"]
    costs_lanes = ctx["costs"][ctx["headline"]]["time_area"].lanes
    return f"""
- Network: the authors' binarized MLP (github.com/YulhwaKim/RRAMScalable_BNN, `Models/spMNIST_Model.lua`:
  784-2048-2048-2048-10, first and last layer unsplit, the two hidden-to-hidden layers split), scaled to
  the shipped digits (MNIST is not shipped; nothing but PyPI is reachable): 64-{h}-{h}-{h}-10, the 8x8
  pixels binarized at 0.5 so that the first layer also takes 1-bit drivers. Split layers: per-group
  batch norm, HardTanh and sign, groups summed and signed (majority, ties to +1; `MergeLinear.lua`).
- Training (`cimspice/studies/bnn.py`, NumPy, straight-through estimator, seed 0): squared hinge loss,
  AdaMax at 2^-6 with Glorot-scaled rates, batch 100 (`Main_MNIST.lua`); {cfg['epochs']} epochs halved every
  {cfg['decay_every']} ({ctx['train_seconds']:.0f} s here; the authors run 500 on MNIST). Each split network is
  initialised from the trained unsplit weights (group batch norms from the unsplit one's scale and
  shift, statistics recomputed) and retrained {cfg['retrain_epochs']} epochs at 2^-7. The repository trains split
  networks from uniform weights instead; "proper initialization" in the abstract is read as this.
- Held-out: {ctx['n_test']} digits ({ctx['n_train']:,} for training); unsplit BNN, exact partial sums:
  {100 * ctx['float_acc']:.2f} %.
- Arrays (`cimspice/studies/bnn_costs.py`): rows x rows, an input per row, a weight per differential
  column pair, cells {hw.g_on * 1e6:g} / {hw.g_off * 1e6:g} uS read at {hw.v_read} V, row capacitance
  {hw.c_cell * 1e15:g} fF per cell; ideal (no IR drop, noise or sense-amplifier offset).
- Priced from the shipped library `{default_library_path().name}` at vdd {hw.vdd} V: `wl_driver.energy_driver`,
  `sample_hold.energy` and `adc_sar_{{bits}}b.energy_per_conversion` through the simulator's block reader
  (`cimspice.sim.components.BlockFigures`, the `baseline` system re-pointed), `sense_amp.energy` (its
  reference at the column's mean current, where the folded threshold puts it, the bit line one unit of a
  partial sum above) and `sample_hold.t_acq` from their tables; digital adds and compares at Horowitz's
  8-bit add / 8 per bit, activation bits at ISAAC's eDRAM figure (`cimspice/sim/costs.py`).
- Latency and area (`cimspice/studies/bnn_latency_area.py`) from the same library: `wl_driver.settling_time`
  at the row's capacitance, the sense amplifier's cycle (its evaluation window at that reference, clock edges
  and pre-charge, `cimspice/circuits/sense_amp.py`, checked against `sense_amp.delay` at the energy's point),
  `sample_hold.t_acq`, `adc_sar_{{bits}}b.t_conversion`, and each block's `area` (`/blocks/<name>`; the cell's
  from `cell_1t1r`);
  column multiplexing {hw.pairs_per_adc} pairs per ADC, {hw.pairs_per_sa} per sense amplifier; the digital
  merge over the simulator's {costs_lanes} lanes at `costs.DIGITAL_OP_TIME`, its adders at Horowitz's 8-bit
  adder / 8 per bit. Every figure and its source is in `results.json`.
"""


def _tables(report, ctx):
    rows_list, acc = ctx["cfg"]["rows"], ctx["acc"]
    report.heading("Accuracy per array size")
    report.table(["array rows", "groups per split layer", "paper's ADC bits", "priced ADC bits",
                  "partial sums, lossless", "partial sums, priced ADC", "split, not retrained", "split, retrained",
                  "retraining (s)"],
                 [[r, acc[r]["groups"], acc[r]["paper_bits"], acc[r]["bits"]]
                  + [f"{100 * acc[r][k]:.2f} %" for k in ("baseline_paper", "baseline_priced", "split_as_trained",
                                                          "split_retrained")]
                  + [f"{acc[r]['retrain_seconds']:.0f}"] for r in rows_list])
    report.heading("Energy per inference by component (nJ)")
    rows_out = []
    for r in rows_list:
        for d, label in (("baseline", "partial sums"), ("split", "input splitting")):
            e = ctx["costs"][r][d]
            rows_out.append([r, label] + [f"{e[k] * 1e9:.3f}" for k in COMPONENTS]
                            + [f"{sum(e[k] for k in READOUT) * 1e9:.3f}", f"{sum(e.values()) * 1e9:.3f}"])
    report.table(["rows", "design", *COMPONENTS, "read-out", "total"], rows_out)
    report.table(["rows", "ADC-power ratio", "chip-power ratio"],
                 [[r, f"{ctx['costs'][r]['adc_ratio']:.3g}x", f"{ctx['costs'][r]['chip_ratio']:.3g}x"]
                  for r in rows_list])
    _time_area_tables(report, ctx)


DESIGNS = (("baseline", "partial sums"), ("split", "input splitting"))


def _time_area_tables(report, ctx):
    """Latency by part, area by component and the circuits counted, per array size."""
    rows_list, hw = ctx["cfg"]["rows"], ctx["case"]["hardware"]
    c = ctx["costs"]
    report.heading("Latency per inference by part (ns)")
    report.text(
        f"Layers one after another, the arrays of a layer in parallel (`cimspice/studies/bnn_latency_area.py`): "
        f"each layer's word lines settle, then its busiest array is read out (sense amplifiers: one cycle per "
        f"pair an amplifier serves; ADCs: every pair sampled at once, then converted in turn), then its partial "
        f"sums or group bits are merged digitally. Column multiplexing, a field of the case: "
        f"{hw.pairs_per_adc} column pairs per ADC (ISAAC's one ADC per 128 columns), {hw.pairs_per_sa} per sense "
        f"amplifier. The paper's abstract states no latency, throughput or area figure, so no claim on them "
        f"is judged; the ratios below are this run's.")
    report.table(["rows", "design", *LATENCY_PARTS, "total"],
                 [[r, label, *(f"{c[r]['latency'][d][k] * 1e9:.2f}" for k in LATENCY_PARTS),
                   f"{sum(c[r]['latency'][d].values()) * 1e9:.1f}"] for r in rows_list for d, label in DESIGNS])
    report.heading("Area by component (mm^2)")
    report.table(["rows", "design", *AREA_PARTS, "total"],
                 [[r, label, *(f"{c[r]['area'][d][k] * 1e6:.4f}" for k in AREA_PARTS),
                   f"{sum(c[r]['area'][d].values()) * 1e6:.3f}"] for r in rows_list for d, label in DESIGNS])
    counted = list(c[rows_list[0]]["circuits"]["baseline"])
    report.table(["rows", "design", *counted],
                 [[r, label, *(f"{c[r]['circuits'][d][k]:,}" for k in counted)] for r in rows_list
                  for d, label in DESIGNS])
    report.table(["rows", "latency, partial sums over split", "area, partial sums over split"],
                 [[r, f"{c[r]['latency_ratio']:.3g}x", f"{c[r]['area_ratio']:.3g}x"] for r in rows_list])


def _source(record: dict) -> str:
    """A price's source record in one cell: library key, point and corner, or the constant."""
    if record.get("kind") == "characterized":
        at = ", ".join(f"{k} {v:.3g}" for k, v in record.get("at", {}).items())
        note = f"; {record['note']}" if record.get("note") else ""
        return f"`{record['key']}` at {at} ({record.get('corner') or 'tt'}, {record.get('temp')} degC){note}"
    if record.get("kind") == "cited":
        return f"`{record['constant']}` ({record['source']}{'; ' + record['scaling'] if record.get('scaling') else ''})"
    return record.get("from", "")


def _sources_table(report, ctx):
    p = ctx["costs"][ctx["headline"]]["prices"]
    r = p.sources
    report.heading(f"Where each price comes from ({ctx['headline']} rows)")
    rows = [("word-line pulse", f"{p.driver * 1e12:.3f} pJ", r["inputs.driver"]),
            ("sense-amplifier decision (reference at the column current)", f"{p.sa * 1e15:.2f} fJ",
             r["sense_amp.energy"]),
            (f"SAR conversion ({p.adc_bits} b)", f"{p.adc * 1e12:.3f} pJ", r[f"adc.circuit.{p.adc_bits}.energy"]),
            ("sample (sample-and-hold)", f"{p.sh * 1e15:.2f} fJ", r["sense.sample_hold"]),
            ("sampled read window", f"{p.t_sh * 1e9:.3f} ns", r["sample_hold.t_acq"]),
            ("sense read window", f"{p.t_sa * 1e9:.3f} ns", r["t_sa"]),
            ("digital add or compare, per bit", f"{p.add_bit * 1e15:.2f} fJ", r["add_bit"]),
            ("activation bit read or written", f"{p.buffer_bit * 1e15:.1f} fJ", r["buffer_bit"])]
    report.table(["event", "price", "source"], [[a, b, _source(c)] for a, b, c in rows])


def _area_source(record: dict) -> str:
    """An area's or time's source in one cell: the block record, or :func:`_source`."""
    if record.get("kind") == "characterized" and "area_model" in record:
        return f"`/blocks/{record['key']}` area ({record['area_model']})"
    if record.get("kind") == "setting":
        return f"`{record['constant']}` (a setting of cimspice/sim/costs.py)"
    return _source(record)


def _time_area_sources(report, ctx):
    f = ctx["costs"][ctx["headline"]]["time_area"]
    r = f.sources
    report.heading(f"Where each time and area comes from ({ctx['headline']} rows)")
    rows = [("word lines settle", f"{f.t_settle * 1e12:.1f} ps", r["t_settle"]),
            ("sense amplifier: evaluation window", f"{f.t_eval * 1e9:.3f} ns", r["t_decision"]["window"]),
            ("sense amplifier: its decision inside it", f"{f.t_delay * 1e12:.1f} ps", r["t_delay"]),
            ("sense amplifier: one cycle", f"{f.t_decision * 1e9:.3f} ns", r["t_decision"]),
            ("sample (acquisition)", f"{f.t_acq * 1e12:.1f} ps", r["t_acq"]),
            (f"SAR conversion ({f.adc_bits} b)", f"{f.t_conv * 1e9:.2f} ns", r["t_conv"]),
            ("digital add or compare, over the lanes", f"{f.t_op * 1e12:.2f} ps", r["t_op"]),
            ("digital merge lanes", f"{f.lanes}", r["lanes"]),
            ("cell", f"{f.a_cell * 1e12:.4f} um^2", r["a_cell"]),
            ("word-line driver", f"{f.a_driver * 1e12:.2f} um^2", r["a_driver"]),
            ("sense amplifier", f"{f.a_sa * 1e12:.2f} um^2", r["a_sa"]),
            ("sample-and-hold", f"{f.a_sh * 1e12:.2f} um^2", r["a_sh"]),
            (f"SAR ADC ({f.adc_bits} b)", f"{f.a_adc * 1e12:.1f} um^2", r["a_adc"]),
            ("adder, per bit of width", f"{f.a_add_bit * 1e12:.2f} um^2", r["a_add_bit"]),
            ("activation buffer, per byte", f"{f.a_buffer_byte * 1e12:.3f} um^2", r["a_buffer_byte"])]
    report.table(["figure", "value", "source"], [[a, b, _area_source(c)] for a, b, c in rows])


def _time_area_swings(ctx):
    """[(label, low text, high text, (latency, area) ratios low, high)] at the headline."""
    rows, hw = ctx["headline"], ctx["case"]["hardware"]
    f = ctx["costs"][rows]["time_area"]
    uses = {"baseline": layer_uses(ctx["sizes"], ctx["acts"], rows, False),
            "split": layer_uses(ctx["sizes"], ctx["split_acts"][rows], rows, True)}

    def ratios(figures, h):
        s = summary(uses, figures, rows, h)
        return s["latency_ratio"], s["area_ratio"]

    cases = [("column pairs per ADC", "4 (NeuroSim's 8 columns)", "16",
              (f, replace(hw, pairs_per_adc=4)), (f, replace(hw, pairs_per_adc=16))),
             ("column pairs per sense amplifier", "4 (NeuroSim's 8 columns)", "64 (as an ADC)",
              (f, replace(hw, pairs_per_sa=4)), (f, replace(hw, pairs_per_sa=64))),
             ("digital merge time per operation", "x0.25 (64 lanes)", "x4 (4 lanes)",
              (f.scaled(t_op=0.25), hw), (f.scaled(t_op=4.0), hw)),
             ("SAR conversion time", "x0.5", "x2", (f.scaled(t_conv=0.5), hw), (f.scaled(t_conv=2.0), hw))]
    return [(label, lo, hi, ratios(*a), ratios(*b)) for label, lo, hi, a, b in cases]


def _time_area_sensitivity(report, ctx):
    report.heading(f"Sensitivity of the latency and area ratios ({ctx['headline']} rows)")
    c = ctx["costs"][ctx["headline"]]
    report.text(f"Nominal: latency {c['latency_ratio']:.3g}x, area {c['area_ratio']:.3g}x (partial sums over "
                f"split). The energy above prices one read window per column pair, as a sense amplifier per pair "
                f"reads; a shared amplifier would keep the rows on through its cycles, which it does not price.")
    report.table(["assumption", "low", "high", "latency ratio low / high", "area ratio low / high"],
                 [[s[0], s[1], s[2], f"{s[3][0]:.3g}x / {s[4][0]:.3g}x", f"{s[3][1]:.3g}x / {s[4][1]:.3g}x"]
                  for s in _time_area_swings(ctx)])


def _plain(value):
    """JSON for what ``json`` does not know: NumPy numbers and arrays, paths."""
    if isinstance(value, np.generic | np.ndarray):
        return value.tolist()
    return str(value)


def write_results(out: Path, ctx: dict) -> Path:
    """``out/results.json``: per array size, both designs' energy (J), latency (s, by part and
    by layer), area (m^2) and circuits, the ratios, the accuracies, and every figure's source."""
    hw = ctx["case"]["hardware"]
    sizes = {}
    for r in ctx["cfg"]["rows"]:
        c = ctx["costs"][r]
        figures = {k: v for k, v in asdict(c["time_area"]).items() if k != "sources"}
        prices = {k: v for k, v in asdict(c["prices"]).items() if k != "sources"}
        sizes[str(r)] = {
            "accuracy": ctx["acc"][r], "energy_J": {d: c[d] for d, _ in DESIGNS},
            "latency_s": c["latency"], "latency_by_layer_s": c["latency_layers"], "area_m2": c["area"],
            "circuits": c["circuits"], "ratios": {k: c[k] for k in ("adc_ratio", "chip_ratio", "latency_ratio",
                                                                   "area_ratio")},
            "prices": prices, "times_areas": figures, "nonideal": nonideal_results(ctx["nonideal"][r]),
            "sources": {"energy": c["prices"].sources, "latency_area": c["time_area"].sources}}
    data = {"schema": "cimspice.study.input-splitting", "schema_version": 1, "cimspice_version": __version__,
            "quick": ctx["quick"], "headline_rows": ctx["headline"], "network": list(ctx["sizes"]),
            "hardware": asdict(hw), "units": {"energy": "J", "latency": "s", "area": "m^2"}, "rows": sizes}
    path = out / "results.json"
    path.write_text(json.dumps(data, indent=1, default=_plain))
    return path


NOT_DONE = """
- It does not run MNIST, CIFAR-10 or the paper's CNNs: only the shipped 8x8 digits, on a scaled MLP
  ({hidden:,} hidden units instead of 2,048), trained {epochs} epochs instead of 500, one seed.
- It simulates the arrays' non-idealities (IR drop, device spread, read noise, the sense amplifiers'
  offset) only for accuracy, not energy or latency; the claims' accuracy is the exact reads'.
  There the cells are linear (10 / 1 uS, not the 1T1R cell's read law), the word-line drivers and
  the sense nodes ideal, and the ADCs convert with their ideal transfer.
- It does not price the paper's own ADC or technology: the baseline's SARs are the library's 45 nm
  blocks at the resolution lossless partial sums need ({priced}).
- It does not price leakage, and it prices one inference's dynamic energy: "power" ratios are energy
  ratios at equal throughput. Its latency is one inference's, layers in sequence with no pipelining
  across layers or inferences, and leaves out the buffers' access, wires and control; its area leaves
  out wiring, routing and control, and counts circuits, not a floorplan.
- It does not reproduce the paper's numbers from its text: the ISLPED paper's body was not reachable
  from this machine; its settings come from the authors' code and the arXiv version's abstract.
"""


def write_report(out: Path, ctx: dict, seconds: float) -> Path:
    """Write ``out/report.md`` from the run's context (``input_splitting.run``)."""
    report = Report("Input splitting (Kim, Kim, Ahn & Kim, ISLPED 2018) on cimspice's component library", out)
    rows = ctx["headline"]
    nominal = (ctx["costs"][rows]["adc_ratio"], ctx["costs"][rows]["chip_ratio"])
    swings = _swings(ctx)
    _claims(report, ctx, swings)
    _tables(report, ctx)
    per_size, curve = _accuracy_plots(ctx, out)
    report.figure(per_size, "Held-out accuracy per array size: the partial-sum baseline and the split network")
    report.figure(curve, "The unsplit BNN with its partial sums through a full-scale ADC of each resolution")
    report.figure(_energy_plot(ctx, out), "Energy per inference by component, both designs, every array size")
    _sources_table(report, ctx)
    _time_area_sources(report, ctx)
    report.heading("Sensitivity: what decides each verdict")
    report.table(["assumption", "low", "high", "ADC ratio low / high", "chip ratio low / high"],
                 [[s[0], s[1], s[2], f"{s[3][0]:.3g}x / {s[4][0]:.3g}x", f"{s[3][1]:.3g}x / {s[4][1]:.3g}x"]
                  for s in swings])
    report.figure(_tornado(swings, nominal, out), f"Both ratios at {rows} rows with one assumption moved at a time")
    _time_area_sensitivity(report, ctx)
    nonideal_section(report, ctx, out)
    report.heading("What this study does not do")
    priced = "; ".join(f"{r} rows: {a['paper_bits']} b" + (f", priced at {a['bits']} b, the library's highest"
                                                            if a["bits"] != a["paper_bits"] else "")
                       for r, a in sorted(ctx["acc"].items()))
    report.text(NOT_DONE.format(hidden=ctx["cfg"]["hidden"], epochs=ctx["cfg"]["epochs"], priced=priced))
    write_results(out, ctx)
    return report.write(_setup(ctx), seconds)
