"""The training-block study's report: every number passed in from the run, formatted."""

from __future__ import annotations

import numpy as np

from .block_costs import KERNELS
from .block_sensitivity import METRICS, tornado
from .provenance import costs
from .report import Report, pyplot, save_figure
from .sources import CLAIMS, CROSSSIM_TAOX, MARINELLA_LATENCY

__all__ = ["write_report"]

RATIO_BAND = (0.75, 1.33)   # a figure agrees when measured / paper lies in this band (docs/studies.md)
DEGRADED = 0.01             # accuracy is "degraded" when training on the device loses more than a point


def _agrees(key: str, value: float) -> bool:
    return RATIO_BAND[0] <= value / CLAIMS[key].value <= RATIO_BAND[1]


def _fj(v):
    return f"{v * 1e15:.3g}"


def _why_energy(ev) -> str:
    e = ev.analog.energy()
    vmm, opu = e["VMM"], e["OPU"]
    parts = ", ".join(f"{k} {_fj(v)}" for k, v in sorted(vmm.items(), key=lambda kv: -kv[1]))
    return (f"VMM and MVM^T {_fj(sum(vmm.values()))} fJ each ({parts}), OPU {_fj(sum(opu.values()))} fJ "
            f"(line drivers {_fj(opu['line drivers'])}, cells {_fj(opu['cells'])}). The integrator is biased for the "
            f"column the array carries but holds its output through the {ev.adc['t_conversion'] * 1e9:.0f} ns ramp; "
            f"the ramp's {2 ** ev.case.adc_bits} comparator decisions are on 45 nm cards, the paper's on 14/16 nm.")


def _why_ratio(ev, block: str, energy: bool) -> str:
    (e_s, t_s), (e_r, t_r) = ev.digital.sram(), ev.digital.reram()
    e, t = (e_r, t_r) if block == "reram" else (e_s, t_s)
    a_e = {k: sum(c.values()) for k, c in ev.analog.energy().items()}
    a_t = ev.analog.latency()
    if energy:
        per = ", ".join(f"{k} {e[k] * 1e12:.3g} pJ" for k in KERNELS)
        return f"digital per MAC: {per}; analog {', '.join(f'{k} {_fj(a_e[k])} fJ' for k in KERNELS)}."
    per = ", ".join(f"{k} {t[k] * 1e6:.3g} us" for k in KERNELS)
    paper = MARINELLA_LATENCY["digital ReRAM" if block == "reram" else "SRAM"]
    return (f"digital: {per} (paper {', '.join(f'{v * 1e6:g}' for v in paper)} us); analog "
            f"{', '.join(f'{k} {a_t[k] * 1e9:.0f} ns' for k in KERNELS)} (paper "
            f"{', '.join(f'{v * 1e9:.0f}' for v in MARINELLA_LATENCY['analog'])} ns).")


def _claims(report: Report, cfg, trained, ev) -> None:
    h, n = ev.headline, cfg["n"]
    case = (f"{n}x{n} block, card reram_jetcas, {cfg['input_bits']}-bit inputs, {cfg['adc_bits']}-bit ramp ADCs, "
            f"{cfg['t_lsb'] * 1e9:g} ns clock")
    band = f"agrees if measured/paper in [{RATIO_BAND[0]}, {RATIO_BAND[1]}]"
    report.claim("marinella.mac_energy", h["mac_energy"], _agrees("marinella.mac_energy", h["mac_energy"]),
                 _why_energy(ev), f"{case}; one VMM, one MVM^T and one OPU over their 3 n^2 MACs; {band}")
    for key, block, energy in (("energy_vs_reram", "reram", True), ("latency_vs_reram", "reram", False),
                               ("energy_vs_sram", "sram", True), ("latency_vs_sram", "sram", False)):
        what = "energy" if energy else "latency"
        report.claim(f"marinella.{key}", h[key], _agrees(f"marinella.{key}", h[key]), _why_ratio(ev, block, energy),
                     f"{case}; digital {what} of the three kernels over the analog block's; {band}")
    acc = trained["acc"]
    loss = 100 * (acc["device"] - acc["float"])
    report.claim("marinella.accuracy", loss, acc["float"] - acc["device"] > DEGRADED,
                 f"float {100 * acc['float']:.2f} %, analog with the device law {100 * acc['device']:.2f} %, analog "
                 f"with exact updates {100 * acc['ideal']:.2f} %: the device's state-dependent steps, not the "
                 f"quantised kernels, cost the accuracy.",
                 f"MLP 64-{cfg['hidden']}-10, {cfg['epochs']} epochs, same seed; agrees if the device loses more "
                 f"than {100 * DEGRADED:.0f} point against float")


def _setup(cfg, ctx, ev) -> str:
    c, n = ctx.card, cfg["n"]
    return f"""
- Block: {n}x{n} cells of `netlists/reram_jetcas.lib` (the paper's device requirements: g_on
  {c.g_on * 1e9:.0f} nS, i.e. R_ON {1e-6 / c.g_on:.0f} MOhm, from at most {c.i_write_max * 1e9:.0f} nA per device on a
  shared line; at most {c.i_read_max * 1e9:.0f} nA per device for < {cfg['ir_drop_max'] * 1e3:.0f} mV of IR drop;
  g_off {c.g_off * 1e9:.1f} nS, a {c.g_on / c.g_off:.0f}x window, ours, checked below against the measured devices
  the paper's accuracy analysis used), read law I = G v0 sinh(V/v0). Rows at
  {ctx.v_read:.3f} V (a g_on cell then carries {c.i_read_max * 1e9:.0f} nA) for {cfg['input_bits']}-bit time codes of
  {cfg['t_lsb'] * 1e9:g} ns steps; wire {ctx.r_wire:.2f} ohm per segment (a line of {n} cells at
  {c.i_read_max * 1e9:.0f} nA then drops {cfg['ir_drop_max'] * 1e3:.0f} mV); weights against a reference column at
  the window's middle, |W| <= {cfg['w_range']:g}; per column (and per row, for MVM^T) an integrator sized in
  this run and a {cfg['adc_bits']}-bit ramp ADC on the same {cfg['t_lsb'] * 1e9:g} ns clock.
- Updates: pulses of {cfg['pulse_v']} V whose flat top the device law sets so that one SET pulse at the
  reference moves a weight by one {cfg['weight_bits']}-bit step; at most {cfg['max_pulses']} per cell in a SET and
  a RESET phase (4-bit updates: 3 magnitude bits and a sign), counts stochastically rounded.
- Network: MLP 64-{cfg['hidden']}-10 (sigmoid), per-sample SGD, {cfg['epochs']} epochs, scikit-learn digits
  (1,437 training, 359 held-out images).
- Digital blocks: {cfg['weight_bits']}-bit weights, {ev.digital.mac_units} int8 multiply / int32 add units at
  {ev.digital.clock / 1e9:g} GHz [the paper's 256 units; Horowitz 45 nm energies]; SRAM: {ev.digital.sram_word}-bit
  words per cycle at {costs.HOROWITZ['sram_bit'] * 1e12:.3f} pJ/bit [Horowitz], transposable; digital ReRAM: the
  shipped binary card (1-100 uS), one bit per sense-amplifier cycle on {ev.digital.sense_amps} sense amplifiers,
  a {cfg['write_v']} V switching pulse per flipped bit ({ctx.flips:.2f} bits flip per weight and update in float
  training), rows written one after another.
"""


def _array(report: Report, ctx, ev) -> None:
    r, d = ev.read, ev.design
    report.heading(f"The {r.n}x{r.n} block read as an array (crossbar solver, wires included)")
    report.table(["figure", "value"], [
        ["rows driven (nonzero input)", f"{r.driven_rows} of {r.n}"],
        ["peak column current (every driven row on)", f"{ev.read.i_peak.max() * 1e6:.2f} uA "
         f"(mean {ev.read.i_peak.mean() * 1e6:.2f} uA)"],
        ["largest column charge per read", f"{r.q_full_scale * 1e12:.3f} pC over {r.t_window * 1e9:.0f} ns"],
        ["column charge lost to the wires (largest, of full scale)", f"{100 * r.wire_error:.2f} %"],
        [f"time-slicing error of the charge ({r.slices} slices, ideal wires)", f"{100 * r.slicing_error:.2f} %"],
        ["energy the row drivers deliver per read, per cell", f"{r.energy / r.n ** 2 * 1e18:.1f} aJ "
         f"(ideal wires {r.energy_ideal / r.n ** 2 * 1e18:.1f} aJ)"],
        ["solver time for the read", f"{r.seconds:.1f} s"],
    ])
    report.text(f"""
At the paper's IR-drop bound the wires take up to {100 * r.wire_error:.1f} % of a column's charge (the
sinh cells lose current faster than the voltage they lose): a gain error far above one ADC step,
calibrated away only as far as it does not depend on the data.

The integrator is sized for this read: c_int = {d.c_int * 1e12:.3f} pF holds the largest column charge in
0.5 V of swing, the op-amp's bias is {d.ib * 1e6:.2f} uA (the shipped design's 10 uA scaled by the larger of
the current ratio {d.i_peak / 100e-6:.3f} and the output-slope ratio), its reset phase {d.t_reset * 1e9:.0f} ns,
and it holds its output through the {ev.adc['t_conversion'] * 1e9:.0f} ns conversion. The shipped default
(1 pF, 100 uA for 5 ns) was never checked against this block: its capacitor alone is
{1e-12 / d.c_int:.1f}x this one.
""")


def _circuits(report: Report, ev) -> None:
    law, i, a, w, s = ev.law, ev.integrator, ev.adc, ev.write, ev.sense
    report.heading("Circuits characterized in this run (ngspice, TT, 27 degC)")
    report.table(["circuit", "figure", "value"], [
        ["analog cell, programming pulse", "duration (flat top from the law, 1 ns edges); state change a, SET / RESET",
         f"{law.t_set * 1e9:.2f} ns; {law.a_set:.4f} / {law.a_reset:.4f}"],
        ["analog cell, programming pulse", "energy SET / RESET at the reference",
         f"{law.energy_set * 1e15:.2f} / {law.energy_reset * 1e15:.2f} fJ"],
        ["integrator (sized)", "energy per cycle: integrate, hold, reset", f"{i['energy'] * 1e12:.2f} pJ"],
        ["integrator (sized)", "gain error at full scale (mean / peak current), pedestal",
         f"{i['gain_error_lsb']:.2f} / {i['peak_error_lsb']:.2f} LSB, {i['pedestal'] * 1e3:.2f} mV"],
        ["integrator (sized)", "settling after the window; reset", f"{i['settling_time'] * 1e9:.1f} ns; "
         f"{i['reset_time'] * 1e9:.1f} ns"],
        [f"{ev.case.adc_bits}-bit ramp ADC column", "energy per conversion; conversion time",
         f"{a['energy'] * 1e12:.2f} pJ; {a['t_conversion'] * 1e9:.0f} ns"],
        ["current sense amplifier", "energy per bit read; cycle", f"{s['energy'] * 1e15:.1f} fJ; "
         f"{s['t_cycle'] * 1e9:.2f} ns"],
        ["digital ReRAM bit write", "energy; pulse with edges; peak current",
         f"{w['energy'] * 1e12:.1f} pJ; {w['t_slot'] * 1e9:.1f} ns; {w['i_peak'] * 1e3:.2f} mA"],
    ])


def _training(report: Report, trained, cfg) -> None:
    acc, c = trained["acc"], trained["counts"]
    report.heading("Training accuracy on held-out digits")
    report.table(["training", "accuracy"], [
        ["float, per-sample SGD", f"{100 * acc['float']:.2f} %"],
        [f"analog block, exact updates ({cfg['adc_bits']}-bit kernels)", f"{100 * acc['ideal']:.2f} %"],
        ["analog block, the device law's pulses", f"{100 * acc['device']:.2f} %"],
    ])
    report.text(f"""Updates used {trained['pulses_per_cell']:.4f} pulses per cell per sample (SET {c['set']:,},
RESET {c['reset']:,}). Training took {trained['seconds']:.0f} s.""")


def _kernels(report: Report, ev, out) -> None:
    e = {k: sum(v.values()) for k, v in ev.analog.energy().items()}
    t = ev.analog.latency()
    (e_s, t_s), (e_r, t_r) = ev.digital.sram(), ev.digital.reram()
    n = ev.analog.n
    report.heading(f"Energy and latency per kernel, {n}x{n} block")
    rows = [[k, _fj(e[k]), f"{e_r[k] * 1e15:.0f}", f"{e_s[k] * 1e15:.0f}", f"{t[k] * 1e9:.0f}",
             f"{t_r[k] * 1e6:.1f}", f"{t_s[k] * 1e6:.2f}",
             " / ".join(f"{MARINELLA_LATENCY[b][j] * 1e6:g}" for b in ("analog", "digital ReRAM", "SRAM"))]
            for j, k in enumerate(KERNELS)]
    report.table(["kernel", "analog (fJ/MAC)", "digital ReRAM (fJ/MAC)", "SRAM (fJ/MAC)", "analog (ns)",
                  "digital ReRAM (us)", "SRAM (us)", "paper's latency, analog / ReRAM / SRAM (us)"], rows)
    report.table(["kernel", "component", "fJ per MAC"],
                 [[k, c, f"{v * 1e15:.3f}"] for k, comps in ev.analog.energy().items() for c, v in comps.items()])
    area = {"cells": n * n * costs.CELL_AREA, "integrators": 2 * (n + 1) * ev.integrator["area"],
            "ADC columns": 2 * (n + 1) * ev.adc["area"], "drivers": 2 * n * costs.DAC1_AREA}
    total = sum(area.values())
    report.text(f"Integrators on both sides take {100 * area['integrators'] / total:.0f} % of the block's area "
                f"({ev.design.c_int * 1e12:.2f} pF each), ADC columns {100 * area['ADC columns'] / total:.0f} %.")
    report.table(["block area (mm^2)", *area, "total", "per weight"],
                 [["", *(f"{v * 1e6:.4g}" for v in area.values()), f"{total * 1e6:.4g}",
                   f"{total / n ** 2 * 1e12:.3f} um^2"]])
    report.figure(_kernel_figure(e, t, (e_r, t_r), (e_s, t_s), out),
                  "Energy per MAC and latency of each kernel: the analog block against the digital blocks "
                  "(black dashes: the paper's latencies, Table V)")


def _kernel_figure(e, t, reram, sram, out):
    plt = pyplot()
    fig, (ax_e, ax_t) = plt.subplots(1, 2, figsize=(10, 3.6))
    xs = np.arange(len(KERNELS))
    series = (("analog block", e, t, "analog"), ("digital ReRAM", *reram, "digital ReRAM"), ("SRAM", *sram, "SRAM"))
    for k, (label, energy, latency, paper) in enumerate(series):
        dx = (k - 1) * 0.27
        ax_e.bar(xs + dx, [energy[j] * 1e15 for j in KERNELS], width=0.27, label=label)
        ax_t.bar(xs + dx, [latency[j] * 1e6 for j in KERNELS], width=0.27, label=label)
        ax_t.plot(xs + dx, np.array(MARINELLA_LATENCY[paper]) * 1e6, "k_", ms=14, mew=2)
    ax_e.axhline(CLAIMS["marinella.mac_energy"].value * 1e15, color="k", ls=":", lw=0.8)
    for ax, label in ((ax_e, "energy per MAC (fJ); dotted: the paper's 11 fJ"), (ax_t, "latency (us); black dashes: "
                                                                                      "the paper's Table V")):
        ax.set_yscale("log")
        ax.set_xticks(xs, KERNELS)
        ax.set_ylabel(label, fontsize=8)
        ax.grid(alpha=0.3, axis="y", which="both")
    handles, labels = ax_e.get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=3, fontsize=8, frameon=False)
    return save_figure(fig, out / "kernels.png", rect=(0, 0.08, 1, 1))


def _sensitivity(report: Report, ev, swings, out) -> None:
    report.heading("Sensitivity: the verdicts when the assumptions move")
    header = ["assumption (low / high)"] + [f"{m[0]} ({m[2]})" for m in METRICS.values()] + \
        ["integrator error at full scale (LSB)"]
    err = lambda e: f"{max(e.integrator['gain_error_lsb'], e.integrator['peak_error_lsb']):.2g}"  # noqa: E731
    rows = [["nominal (this run)"] + [f"{ev.headline[k] * m[1]:.3g}" for k, m in METRICS.items()] + [err(ev)]]
    for s in swings:
        rows.append([f"{s.label} ({s.low_text} / {s.high_text})"] +
                    [f"{s.low.headline[k] * m[1]:.3g} / {s.high.headline[k] * m[1]:.3g}" for k, m in METRICS.items()]
                    + [f"{err(s.low)} / {err(s.high)}"])
    report.table(header, rows)
    paper = {m[3]: CLAIMS[m[3]].value for m in METRICS.values()}
    png = tornado(swings, ev.headline, paper, out / "tornado.png")
    report.figure(png, "Each assumption at its low and high value against the nominal run (solid) and the paper "
                       "(dashed); log axes")
    verdicts = []
    for key, (label, scale, unit, claim) in METRICS.items():
        cases = [c.headline[key] for s in swings for c in (s.low, s.high)]
        agree = sum(_agrees(claim, v) for v in cases)
        swing = max(swings, key=lambda s: abs(np.log(s.high.headline[key] / s.low.headline[key])))
        verdicts.append([label, f"{CLAIMS[claim].value * scale:g} {unit}", f"{ev.headline[key] * scale:.3g}",
                         f"{min(cases) * scale:.3g} - {max(cases) * scale:.3g}",
                         "agrees" if _agrees(claim, ev.headline[key]) else "differs",
                         f"{agree} of {len(cases)}", swing.label])
    report.table(["figure", "paper", "nominal", "range over the cases", "verdict (nominal)",
                  "cases that agree", "moved most by"], verdicts)
    broken = [f"{s.label} {text}" for s in swings for e, text in ((s.low, s.low_text), (s.high, s.high_text))
              if max(e.integrator["gain_error_lsb"], e.integrator["peak_error_lsb"]) > 2]
    report.text(f"""
A verdict holds over the range when every case agrees or every case differs. Cases whose
integrator misses its full-scale output by more than 2 LSB price a circuit that does not work
at that size: {", ".join(broken) or "none"}. The accuracy verdict is not re-run per case: the
cases share the nominal run's training. The pulse width follows the law, so a pulse's weight
step is the same in every case; the ADC-resolution cases would also quantise the kernels
differently, which is not re-trained.
""")


def _limits(report: Report, cfg, ctx, ev) -> None:
    report.heading("What this study does not do")
    w = ev.write
    report.text(f"""
- It does not use the paper's 14/16 nm PDK: every circuit is on the 45 nm cards (FreePDK45/PTM), so
  the periphery (integrator op-amp, ramp comparators, sense amplifier) costs what it costs at 45 nm.
- It does not train the paper's MNIST network: a 64-{cfg['hidden']}-10 MLP on the 8x8 digits, and the
  {ev.read.n}x{ev.read.n} block is filled with cells drawn from that network and driven by inputs drawn from
  what its kernels saw, not a layer that fills the array.
- It does not model the paper's TaOx device: the Stanford-PKU HfOx law with the paper's window; no
  measured pulse statistics (cycle-to-cycle noise), no periodic carry or the other remedies the paper
  presents for the accuracy it loses.
- It does not honour the paper's write-current bound: at {ev.case.pulse_v} V the sinh law puts
  {ctx.card.g_on * ctx.card.v0 * np.sinh(ev.case.pulse_v / ctx.card.v0) * 1e9:.0f} nA through a g_on cell
  ({ctx.card.i_write_max * 1e9:.0f} nA allowed): the model's 1.05 V threshold needs more than 1 V.
  The digital ReRAM write draws {w['i_peak'] * 1e3:.1f} mA at its peak (no access transistor limits it,
  and rows are written with all their flipped bits at once): the digital block's write is likely
  both dearer and, under a current limit, slower than here.
- It does not simulate MVM^T or the OPU on the array: MVM^T is priced as the VMM read (signed inputs
  on the same periphery), the OPU from the pulse counts of training and one pulse's ngspice energy;
  half-selected cells and the OPU's line currents are not solved.
- It does not characterize the line drivers (ISAAC's 1-bit DAC energy, {costs.DAC1_ENERGY * 1e12:.2f} pJ per
  pulse, for read and programming pulses alike), the ramp generator, counters, control or the
  reference column's own trim; nor the ADC's and integrator's mismatch (one TT, 27 degC run).
- It does not design the digital blocks at circuit level: they are counted from Horowitz's 45 nm
  figures, the simulated sense amplifier and write pulse, and the paper's 256 MAC units; the SRAM is
  assumed transposable (the paper's reads its transpose 8x slower, Table V).
""")


def _card_check(report: Report, ctx) -> None:
    """What the device card was checked against, and the card's window beside the measured
    devices' (the comparison made in the run, on the card as read)."""
    c, t = ctx.card, CROSSSIM_TAOX
    window = c.g_on / c.g_off
    inside = t["window"][0] <= window <= t["window"][1]
    report.heading("The device card: what it was checked against")
    report.table(["", "this card (`netlists/reram_jetcas.lib`, as read)", "checked against", "verdict"], [
        ["g_on", f"{c.g_on * 1e9:.0f} nS (R_ON {1e-6 / c.g_on:.0f} MOhm)",
         "the paper's write bound, ~33 uA per line / 1024 devices = 32 nA at 1 V (as summarised: the paper's "
         "text was not reachable)", "arithmetic checks; not quoted from the paper"],
        ["i_read_max", f"{c.i_read_max * 1e9:.0f} nA", "the paper's < 20 mV IR drop on a 1024-cell line (as "
         "summarised)", "not quoted from the paper"],
        ["g_on / g_off", f"{window:.1f}x", f"CrossSim's {t['devices']} measured TaOx devices (the paper's accuracy "
         f"analysis): windows {t['window'][0]:.1f}-{t['window'][1]:.0f}x, median {t['window_median']:.0f}x; the "
         f"10-90 % range CrossSim trains on {t['window_used'][0]:.2f}-{t['window_used'][1]:.2f}x",
         "inside" if inside else "outside"],
        ["absolute conductance", f"{c.g_off * 1e9:.1f}-{c.g_on * 1e9:.0f} nS", f"those devices: "
         f"{t['g_min'][0] * 1e6:.1f}-{t['g_max'][1] * 1e6:.0f} uS", f"{t['g_min'][0] / c.g_on:.0f}x or more "
         "above: the block's requirement, not the measured cells"]])
    report.text("CrossSim: github.com/sandialabs/cross-sim (training/training_net.py, v2.0) and its data, "
                "github.com/sandialabs/cross-sim-data (lookup_tables/TaOx_all/1..41), figures in "
                "`cimspice/studies/sources.py` (CROSSSIM_TAOX). CrossSim normalises the measured updates by the "
                "window's top, so the absolute conductance of those cells never enters the paper's accuracy; "
                "the card keeps the paper's high-resistance requirement for the energy and takes only the "
                "window's ratio to be checked against the measured devices.")


def write_report(out, cfg, ctx, trained, ev, swings, seconds):
    report = Report("Analog ReRAM training block (Marinella et al., JETCAS 2018) on cimspice's circuits", out)
    _claims(report, cfg, trained, ev)
    _card_check(report, ctx)
    _array(report, ctx, ev)
    _circuits(report, ev)
    _training(report, trained, cfg)
    _kernels(report, ev, out)
    _sensitivity(report, ev, swings, out)
    _limits(report, cfg, ctx, ev)
    return report.write(_setup(cfg, ctx, ev), seconds)
