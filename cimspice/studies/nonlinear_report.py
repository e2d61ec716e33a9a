"""The ``reprogrammable-nonlinear`` study's report: the claims judged in the case fixed before
the run (:data:`CASE`), the characterized units, the analog alternative, the whole networks,
the sensitivity, what the study does not do, and where the run spent its time."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from . import nonlinear_sensitivity as sensitivity
from .provenance import costs
from .report import Report, pyplot, save_figure

__all__ = ["ARRAY", "CASE", "DIFF_PAIR", "LUT", "write_report"]

ARRAY, LUT, DIGITAL, DIFF_PAIR = sensitivity.ARRAY, sensitivity.LUT, sensitivity.DIGITAL, sensitivity.PAIR
PAPER = 8.5   # x [deMoura], the abstract's "up to"

#: the case each claim is judged in, fixed before the run compares anything ({...}: the run's settings)
CASE = {
    "digital": "the {lut_bits}-bit lookup table (flash quantiser, decoder, NOR ROM on the same 45 nm cards) against "
               "the {segments}-segment array: nonlinear energy per inference, table over array, on the network where "
               "that ratio is largest (the paper's 'up to')",
    "analog": "the differential pair (NMOS 1 um / 100 nm, 10 uA tail, 30 kohm loads, its gain programmed per function) "
              "against the {segments}-segment array: nonlinear energy per inference, pair over array, on the LSTM "
              "(the network whose functions, sigmoid and tanh, the pair computes)",
    "rule": "agrees if the ratio is within x1.33 of the paper's 8.5x (0.75-1.33 of it)",
}

NOT_DONE = """
- The analog alternative is one differential pair, not the paper's field-programmable analog
  blocks: sigmoid and tanh only (the LSTM), programmed by its input gain alone (tail current and
  loads fixed), its tail an ideal sink (a mirror's reference counted, its mismatch not), and no
  converter or buffer between it and the next layer counted. GELU and exp get no analog row.
- No process, voltage or temperature corners and no device variation: every unit at TT, 27 degC,
  the PWL unit with its target conductances (programming error is in docs/nonlinear.md, not here).
- The sensitivity re-prices this run's counts; it does not re-simulate. The segment and
  address-bit cases scale each unit's energy with its comparator count, an upper bound on the
  move; accuracy at other segment counts or table sizes is not re-measured.
- The evaluation time is not varied: the PWL unit's energy is measured over its {segments}-segment
  unit's own clock period, and the networks' latency is not recomputed per mode.
- Areas are not compared, and reprogramming energy (write-verify of the PWL cells, a ROM/SRAM
  rewrite for the table) is not charged per inference.
"""


def plot_errors(library, functions, cfg, out) -> Path:
    """Transfer error (array, table or pair minus the ideal function) over each function's range."""
    from ..circuits.nonlinear import ideal

    plt = pyplot()
    fig, axes = plt.subplots(1, len(functions), figsize=(3.4 * len(functions), 3.0), squeeze=False)
    for ax, f in zip(axes[0], functions):
        lo, hi = library[f"pwl_{f}.y"].domain["x"]
        xx = np.linspace(lo, hi, 801)
        ref = ideal(f, xx)
        for key, style, label in ((f"pwl_{f}.y", "-", f"ReRAM array ({cfg['segments']} seg.)"),
                                  (f"lut_{f}.y", "--", f"lookup table ({cfg['lut_bits']} bits)"),
                                  (f"dp_{f}.y", ":", "differential pair (analog)")):
            if key in library:
                ax.plot(xx, library[key].predict(xx.reshape(-1, 1)) - ref, style, lw=1.0, label=label)
        ax.axhline(0.0, color="k", lw=0.5)
        ax.set_title(f"{f}: error against the function")
        ax.set_xlabel("pre-activation")
        ax.set_ylabel("output error")
        ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=7)
    return save_figure(fig, out / "transfer_error.png")


def _claims(report, cfg, results, energy, dp) -> str:
    """Both claims, each in its case; returns the network the digital claim is judged on."""
    case = {k: v.format(**cfg) for k, v in CASE.items()}
    pwl_e = energy["pwl"]
    with_lut = {net: rows for net, rows in results.items() if LUT in rows}
    ratios = {net: rows[LUT]["nonlinear"] / rows[ARRAY]["nonlinear"] for net, rows in with_lut.items()}
    best = max(ratios, key=ratios.get)
    span = _span(with_lut[best], cfg, "lut_vs_array")
    digital = costs.NONLINEAR_ENERGY
    report.claim("demoura.gain", ratios[best], 0.75 <= ratios[best] / PAPER <= 1.33,
                 f"{best}: the table's flash quantiser needs {2 ** cfg['lut_bits'] - 1} comparator decisions per "
                 f"lookup, the array {cfg['segments'] - 1}; both units' energy is their comparators'. Over the "
                 f"sensitivity cases: {span}. Against the simulator's cited digital unit ({digital * 1e12:.2f} pJ, "
                 f"ISAAC) the array is {'cheaper' if min(pwl_e.values()) < digital else 'dearer'}: "
                 f"{min(pwl_e.values()) * 1e12:.3f}-{max(pwl_e.values()) * 1e12:.3f} pJ per evaluation.",
                 case=f"{case['digital']}; {case['rule']}")
    pair = results.get("lstm", {})
    if DIFF_PAIR in pair:
        ratio = pair[DIFF_PAIR]["nonlinear"] / pair[ARRAY]["nonlinear"]
        per_eval = ", ".join(f"{f} {dp['energy'][f] * 1e12:.3f} pJ against the array's {pwl_e[f] * 1e12:.3f}"
                             for f in sorted(dp["energy"]))
        report.claim("demoura.gain_analog", ratio, 0.75 <= ratio / PAPER <= 1.33,
                     f"The pair costs {per_eval} per evaluation (its tail current over the same 2 ns period; the "
                     f"array pays {cfg['segments'] - 1} comparator decisions): the array uses "
                     f"{1 / ratio:.3g}x the pair's nonlinear energy. Over the sensitivity cases: "
                     f"{_span(pair, cfg, 'pair_vs_array')}. The pair computes only sigmoid- and tanh-shaped "
                     "functions; the array's advantage is that it is reprogrammable to GELU and exp.",
                     case=f"{case['analog']}; {case['rule']}")
    return best


def _span(rows: dict, cfg: dict, key: str) -> str:
    """Headline ``key``'s range over the sensitivity cases, who wins over all of it, and in how
    many cases the verdict against the paper would turn to 'agrees'."""
    cases = sensitivity.swings(rows, cfg["segments"], cfg["lut_bits"])
    values = [c[k][key] for c in cases for k in (3, 4)]
    agree = sum(0.75 <= v / PAPER <= 1.33 for v in values)
    return (f"{sensitivity.verdict(cases, sensitivity.headlines(rows), key)}; within x1.33 of {PAPER:g}x in {agree} "
            f"of the {len(values)} moved cases")


def _units_section(report, cfg, functions, energy, latency) -> None:
    pwl_e, lut_e = energy["pwl"], energy["lut"]
    report.heading("Characterized in this run (ngspice, TT, 27 degC)")
    unit_t = costs.NONLINEAR_OP_TIME * costs.NONLINEAR_UNITS   # one unit's time per evaluation
    report.table(["function", f"PWL array, {cfg['segments']} seg.: energy (pJ)", "latency (ns)",
                  f"lookup table, {cfg['lut_bits']} bits: energy (pJ)", "latency (ns)", "energy ratio",
                  "digital unit, cited: energy (pJ)", "time (ns)"],
                 [[f, f"{pwl_e[f] * 1e12:.3f}", f"{latency['pwl'][f] * 1e9:.2f}", f"{lut_e[f] * 1e12:.3f}",
                   f"{latency['lut'][f] * 1e9:.2f}", f"{lut_e[f] / pwl_e[f]:.1f}x",
                   f"{costs.NONLINEAR_ENERGY * 1e12:.2f}", f"{unit_t * 1e9:.2f}"] for f in functions])
    report.text("Latency: the PWL unit's slowest evaluation over its input range (clock edge to the output "
                "within 1 % of full scale), the table's slowest lookup (clock edge to its last output bit), the "
                f"digital unit's clock period ({costs.NONLINEAR_UNITS} units at {costs.CLOCK / 1e9:.1f} GHz, ISAAC). "
                "Softmax on the array is the exp unit's latency plus the digital normalisation.")


def _analog_section(report, functions, pwl_e, dp) -> None:
    """The analog alternative beside the array and the table: energy, latency, transfer error."""
    report.heading("The analog alternative: a differential pair")
    rows = []
    for f in functions:
        err = dp["errors"][f]
        pair = ([f"{dp['gain'][f] * 1e3:.1f} mV", f"{dp['energy'][f] * 1e12:.3f}", f"{dp['latency'][f] * 1e9:.2f}",
                 f"{err['dp']:.4f}", f"{pwl_e[f] / dp['energy'][f]:.1f}x"] if f in dp["gain"]
                else ["-", "not its shape", "-", "-", "-"])
        rows.append([f, *pair, f"{err['pwl']:.4f}", f"{err['lut']:.4f}"])
    report.table(["function", "pair: input gain per unit", "energy (pJ)", "latency (ns)", "rms error",
                  "array's energy / pair's", "array: rms error", "table: rms error"], rows)
    report.text("The pair (NMOS, 1 um / 100 nm, 10 uA tail, 30 kohm loads, an ideal tail sink standing for a "
                "mirror whose reference branch is counted) is programmed by its input gain, chosen in the run to "
                "minimise the rms error against the function from a probe sweep of the measured pair; energy over "
                "the same 2 ns evaluation period as the array's, latency from an input step to the output within "
                "1 % of full scale. RMS errors over each function's whole range, in activation units.")


def _ci(row) -> str:
    """An accuracy's 95 % interval over its evaluation samples (binomial, normal
    approximation), as the report prints it; '' for perplexity (its windows' losses are not
    returned by the simulator)."""
    if row["metric_name"] != "accuracy":
        return ""
    p, n = row["metric"], row["samples"]
    return f" +- {100 * 1.96 * np.sqrt(p * (1 - p) / n):.1f}"


def _networks_section(report, results, tie) -> None:
    report.heading("Whole networks")
    table = []
    for net, rows in results.items():
        ref = rows.get(ARRAY)
        for mode, v in rows.items():
            acc = v["metric_name"] == "accuracy"
            fmt = (lambda x: f"{100 * x:.2f} %") if acc else (lambda x: f"{x:.3f}")  # noqa: E731
            table.append([net, mode, f"{v['metric_name']} {fmt(v['metric'])}{_ci(v)} (float {fmt(v['float'])}, "
                                     f"{v['samples']} samples)",
                          f"{v['nonlinear'] * 1e9:.3f}", f"{v['total'] * 1e9:.3f}",
                          f"{v['nonlinear'] / ref['nonlinear']:.2f}x" if ref else "-",
                          f"{v['total'] / ref['total']:.3f}x" if ref else "-", f"{v['share']:.0%}"])
    report.table(["network", "nonlinearities on", "result", "nonlinear energy (nJ)", "total energy (nJ)",
                  "nonlinear energy / array's", "total / array's", "characterized share"], table)
    relu = costs.DIGITAL_ENERGY["max"]
    text = (f"ReLU is a digital compare in every mode ({relu * 1e12:.2f} pJ, {relu.name} [Horowitz]): an array "
            "evaluating it costs more than the compare. The +- is an accuracy's 95 % interval over its evaluation "
            "samples: accuracy differences between modes smaller than it are not resolved by this run; no verdict "
            "rests on them. ")
    if tie:
        text += (f"The CNN's average pooling runs on equal-conductance ReRAM columns in the array modes; with max "
                 f"pooling on the source-follower winner-take-all as well, ReLU zeros tie in many windows, and a "
                 f"4-way tie reads {tie[0] * 1e3:.0f} mV high on its {tie[1]:.2f} V input range (this run's WTA "
                 "surrogate at mid-range). ")
    text += ("For the LSTM and the GPT the arrays' energy is set by their comparator banks; the energy per inference "
             "moves less than the nonlinear energy does, because the matrix products (characterized arrays, "
             "drivers and ADCs) dominate. The differential pair computes sigmoid and tanh only (the LSTM's); GELU "
             "and exp have no analog counterpart here.")
    report.text(text)


def _setup(cfg, functions) -> str:
    return f"""
- PWL ReRAM function unit, {cfg['segments']} segments, programmed as {', '.join(functions)}: DC transfer swept
  in ngspice ({cfg['dc_per_segment']} points per segment plus both sides of every breakpoint) and fitted;
  energy and latency per evaluation from {cfg['energy_points']} transients with the StrongARM comparator bank,
  fitted against the input (docs/nonlinear.md for the circuit).
- Lookup-table baseline: {cfg['lut_bits']} address bits, 8-bit words, same cards; energy per lookup the mean and
  latency the longest of {cfg['lut_points']} ngspice transients per function (run in a second process while the
  rest of the study runs); transfer: its stored words (ideal comparators).
- Analog alternative (sigmoid and tanh): a differential pair on the same cards, its input gain
  programmed in the run from a 41-point probe sweep, then {cfg['dp_points']} transients per function
  (output, energy over 2 ns, latency from an input step) fitted grid-cubic.
- CNN max pooling, in its last mode: the source-follower winner-take-all (4 inputs) swept in ngspice over
  its maximum (0.5-1.0 V) and the other inputs' gaps below it (0-0.3 V), error and energy fitted grid-cubic.
- Networks: the shipped {', '.join(cfg['networks'])} on the shipped `baseline` system: 1T1R cells, word-line
  drivers and SAR ADCs from the shipped component library (docs/library.md), so the matrix products cost what
  the characterized circuits cost; only the nonlinear units differ between modes. Softmax is the exp unit plus a
  digital normalisation, counted.
"""


def write_report(out, cfg, functions, results, energy, latency, tie, error_png, seconds, dp, stages) -> Path:
    """The report (``out/report.md``): ``results`` network -> mode -> row (``_mode_rows``),
    ``energy`` / ``latency`` per unit kind and function, ``dp`` the pair's figures, ``stages``
    the run's seconds per stage."""
    report = Report("Reprogrammable nonlinear ReRAM arrays (de Moura & Carro, TRETS 2023) on cimspice's circuits", out)
    best = _claims(report, cfg, results, energy, dp)
    _units_section(report, cfg, functions, energy, latency)
    report.figure(error_png, "Transfer error of the reprogrammed arrays (ngspice, through their surrogates), "
                             "of the lookup tables and of the differential pairs: output minus the ideal function")
    _analog_section(report, functions, energy["pwl"], dp)
    _networks_section(report, results, tie)
    sensitivity.section(report, {net: rows for net, rows in results.items() if LUT in rows}, best, cfg, out)
    report.heading("What this study does not do")
    report.text(NOT_DONE.format(**cfg))
    report.heading("Where the run spent its time")
    report.table(["stage", "seconds"], [[k, f"{v:.0f}"] for k, v in stages.items()])
    return report.write(_setup(cfg, functions), seconds)
