"""Study ``reprogrammable-nonlinear``: de Moura & Carro (ACM TRETS 2023) on our circuits.

The same ReRAM arrays that multiply are reprogrammed as the network's nonlinearities. The
paper reports up to 8.5x over analog and digital field-programmable approaches on CNN, LSTM
and GPT models. Here, in one run:

1. ngspice characterizes the PWL ReRAM function unit (:class:`cimspice.circuits.PwlUnit`,
   docs/nonlinear.md) programmed as each function the networks need: its DC transfer over
   the input range (both sides of every breakpoint), fitted into a surrogate, and its
   energy per evaluation from the transient with the comparator bank, fitted against the
   input; and the digital lookup-table baseline (:class:`cimspice.circuits.LutActivation`:
   flash quantiser, decoder, NOR ROM on the same 45 nm cards) for its energy per lookup;
2. the system simulator runs the shipped LSTM, GPT and CNN with their nonlinearities
   (a) on digital units at the simulator's cited price (ISAAC's sigmoid unit), (b) on the
   reprogrammed arrays, transfer and energy from the surrogates, (c) on the lookup tables,
   the table's own quantised transfer and its measured energy. ReLU stays a digital compare
   in every case (an array evaluating it costs more than the compare; docs/nonlinear.md).
   The CNN also runs with its max pooling on the winner-take-all circuit
   (:class:`cimspice.circuits.pooling.MaxPool`, characterized here).
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from ..characterize import parse_sweep_spec, run_sweep
from ..circuits import LutActivation, PwlUnit
from ..sim import costs
from ..sim.simulate import simulate
from ..sim.spec import load_system_spec
from ..spice import get_engine
from ..surrogate import fit_surrogates, load_library, save_library
from . import nonlinear_analog as analog
from . import nonlinear_sensitivity as sensitivity
from .report import Report, pyplot, save_figure

__all__ = ["run"]

log = logging.getLogger(__name__)

DIFF_PAIR = "analog differential pair"
NETWORK_FUNCTIONS = {"lstm": ("sigmoid", "tanh"), "gpt": ("gelu", "exp"), "cnn": ()}
DEFAULT = dict(segments=16, networks=("lstm", "gpt", "cnn"), samples={"lstm": None, "gpt": 16, "cnn": None},
               dc_per_segment=8, energy_points=7, lut_bits=6, lut_points=3, dp_points=33)
QUICK = dict(segments=8, networks=("lstm",), samples={"lstm": 60}, dc_per_segment=4, energy_points=5, lut_bits=4,
             lut_points=1, dp_points=17)

NOT_DONE = """
- The analog alternative is one differential pair, not the paper's field-programmable analog
  blocks: sigmoid and tanh only (the LSTM), programmed by its input gain alone (tail current and
  loads fixed), its tail an ideal sink (a mirror's reference counted, its mismatch not), and no
  converter or buffer between it and the next layer counted. GELU and exp get no analog row.
  The sensitivity tornado does not vary the pair.
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


class _LutModel:
    """The lookup table's transfer (its stored words, ideal comparators) behind the
    simulator's surrogate protocol: one input ``x``, one output."""

    def __init__(self, lut: LutActivation):
        self.lut, self.name = lut, f"lut_{lut.function}.y"
        self.inputs, self.outputs = ["x"], ["y"]
        self.input_units, self.output_units = ["1"], ["1"]
        self.domain = {"x": (lut.x_min, lut.x_max)}

    def predict(self, X, out_of_domain="clip"):
        x = np.clip(np.asarray(X, float).reshape(-1), self.lut.x_min, self.lut.x_max)
        return self.lut.predict(x)


def _characterize(functions, cfg, tmp: Path, progress):
    library, lut_energy, lut_models, pwl_energy, pwl_latency, lut_latency = {}, {}, {}, {}, {}, {}
    engine = get_engine()
    bar = tqdm(list(functions), desc="PWL units and LUTs in ngspice", unit="function",
               disable=None if progress is None else not progress)
    for f in bar:
        bar.set_postfix(function=f)
        S = cfg["segments"]
        unit = PwlUnit(f, S, timing=False)
        lo, hi = unit.program_.x_min, unit.program_.x_max
        xs = unit.sweep_points(cfg["dc_per_segment"])
        for timing, points, outputs, models in ((False, xs, ["y"], None),
                                                (True, np.linspace(lo, hi, cfg["energy_points"]),
                                                 ["energy", "latency"], ["grid-linear", "poly-4"])):
            spec = parse_sweep_spec({"circuit": "pwl_unit",
                                     "circuit_args": {"function": f, "segments": S, "timing": timing},
                                     "design": "list", "parameters": {"x": [float(v) for v in points]},
                                     "outputs": outputs})
            path = tmp / f"{f}_{'energy' if timing else 'dc'}.h5"
            run_sweep(spec, path, executor="inline", progress=False)
            library.update(fit_surrogates(path, models=models, name_template=f"pwl_{f}.{{output}}"))
        grid = np.linspace(lo, hi, 101).reshape(-1, 1)
        pwl_energy[f] = float(np.mean(library[f"pwl_{f}.energy"].predict(grid)))
        pwl_latency[f] = float(np.max(library[f"pwl_{f}.latency"].predict(grid)))   # the clock waits for the slowest
        lut = LutActivation(f, address_bits=cfg["lut_bits"])
        lut.load(engine)
        runs = [lut.simulate(engine, {"x": float(x)}).values for x in np.linspace(lo, hi, cfg["lut_points"] + 2)[1:-1]]
        lut_energy[f] = float(np.mean([r["energy"] for r in runs]))
        lut_latency[f] = float(np.max([r["latency"] for r in runs]))
        lut_models[f] = _LutModel(lut)
    return library, {"pwl": pwl_energy, "lut": lut_energy}, {"pwl": pwl_latency, "lut": lut_latency}, lut_models


# Winner-take-all max pooling (MaxPool, inputs="gaps"): maxima up to 1.0 V (the servo clips
# near-ties above ~1.05 V), gaps dense below 50 mV where followers share the tail
# (docs/nonlinear.md: 0.2 mV rms on off-grid windows)
WTA_GAPS = [0.0, 0.01, 0.02, 0.035, 0.055, 0.08, 0.12, 0.18, 0.3]


def _characterize_wta(tmp: Path) -> dict:
    spec = parse_sweep_spec({"circuit": "max_pool", "circuit_args": {"window": 4, "inputs": "gaps"}, "design": "grid",
                             "parameters": {"v_max": {"start": 0.5, "stop": 1.0, "num": 3},
                                            **{f"d_{i}": WTA_GAPS for i in (1, 2, 3)}},
                             "outputs": ["error", "energy"]})
    run_sweep(spec, tmp / "wta.h5", executor="inline", progress=False)
    return fit_surrogates(tmp / "wta.h5", models=["grid-cubic"], name_template="wta.{output}")


def _system(tmp: Path, library: dict) -> tuple:
    """The realistic system the networks run on: ``baseline`` (1T1R cells, word-line drivers,
    SAR ADCs, all from the shipped component library) with this run's PWL, LUT and WTA
    tables beside the library's; returns ``(spec, tables)``."""
    from ..paths import default_library_path

    save_library(tmp / "library.h5", library)      # the PWL surrogates as a system would load them
    tables = {**load_library(default_library_path()), **load_library(tmp / "library.h5")}
    return load_system_spec("baseline"), tables


def _tie_error(wta: dict) -> tuple[float, float]:
    """The winner-take-all's error at a 4-way tie (V) at the middle of its input range, and
    that range (V): what a ReLU layer's zeros tying in a window cost."""
    s = wta["wta.error"]
    lo, hi = s.domain["v_max"]
    point = {"v_max": [0.5 * (lo + hi)], **{f"d_{i}": [0.0] for i in (1, 2, 3)}}
    return float(np.ravel(s.predict(point))[0]), hi - lo


def _plot_errors(library, functions, cfg, out):
    """Transfer error (array or table minus the ideal function) over each function's range."""
    from ..circuits.nonlinear import ideal

    plt = pyplot()
    fig, axes = plt.subplots(1, len(functions), figsize=(3.4 * len(functions), 3.0), squeeze=False)
    for ax, f in zip(axes[0], functions):
        lo, hi = library[f"pwl_{f}.y"].domain["x"]
        xx = np.linspace(lo, hi, 801)
        ref = ideal(f, xx)
        ax.plot(xx, library[f"pwl_{f}.y"].predict(xx.reshape(-1, 1)) - ref, "-", lw=1.0,
                label=f"ReRAM array ({cfg['segments']} seg.)")
        ax.plot(xx, library[f"lut_{f}.y"].predict(xx.reshape(-1, 1)) - ref, "--", lw=0.8,
                label=f"lookup table ({cfg['lut_bits']} bits)")
        if f"dp_{f}.y" in library:
            ax.plot(xx, library[f"dp_{f}.y"].predict(xx.reshape(-1, 1)) - ref, ":", lw=1.0,
                    label="differential pair (analog)")
        ax.axhline(0.0, color="k", lw=0.5)
        ax.set_title(f"{f}: error against the function")
        ax.set_xlabel("pre-activation")
        ax.set_ylabel("output error")
        ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=7)
    return save_figure(fig, out / "transfer_error.png")


def _unit_energy(events: dict, lut_e: dict | None) -> float:
    """Energy of the function evaluations alone (J per inference) from a run's ``events``:
    the table's energy per lookup ``lut_e`` (per function; softmax evaluates exp) times its
    lookups when given, else the characterized units' summed surrogate energy, else the
    cited digital price times the array's evaluations (a table before its re-pricing), else
    times the digital units' evaluations."""
    arr = {k.split(":", 1)[1]: c for k, c in events.items() if k.startswith("array_nonlinear:")}
    if lut_e is not None:
        return float(sum(c * lut_e["exp" if k == "softmax" else k] for k, c in arr.items()))
    measured = [e for k, e in events.items() if k.startswith("nonlinear_energy:")]
    if measured:
        return float(sum(measured))
    digital = sum(c for k, c in events.items() if k.startswith("nonlinear:"))
    return float((sum(arr.values()) if arr else digital) * costs.NONLINEAR_ENERGY)


def _mode_rows(modes: dict, lut_e: dict) -> dict:
    """Per mode: metric, float metric, nonlinear energy (the LUT's measured energy per lookup in
    place of the unit's cited price), of it the function evaluations' own (``unit``, J), total
    energy, evaluations."""
    rows = {}
    for mode, r in modes.items():
        e_nl = r.costs.energy["nonlinear"]
        unit = _unit_energy(r.costs.events, lut_e if mode == "lookup table" else None)
        if mode == "lookup table":  # the table's measured energy per lookup, not the unit's price
            e_nl += unit - _unit_energy(r.costs.events, None)
        total = r.costs.total_energy - r.costs.energy["nonlinear"] + e_nl
        rows[mode] = {"metric": r.analog_metric, "float": r.float_metric, "nonlinear": e_nl, "total": total,
                      "unit": unit,
                      "share": r.costs.characterized_fraction()["energy"],
                      "evaluations": sum(c for k, c in r.costs.events.items() if "nonlinear" in k
                                         and not k.startswith("nonlinear_energy"))}
    return rows


def run(out_dir, quick: bool = False, progress: bool | None = None) -> Path:
    import tempfile

    t0 = time.perf_counter()
    cfg = QUICK if quick else DEFAULT
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    functions = sorted({f for n in cfg["networks"] for f in NETWORK_FUNCTIONS[n]})
    tmpdir = tempfile.TemporaryDirectory()
    tmp = Path(tmpdir.name)
    library, energy, latency, lut_models = _characterize(functions, cfg, tmp, progress)
    lut_e = energy["lut"]
    dp_library, *dp = analog.characterize(functions, cfg["dp_points"], tmp, get_engine())
    library.update(dp_library)
    wta = _characterize_wta(tmp) if "cnn" in cfg["networks"] else {}
    library.update(wta)
    base, library = _system(tmp, library)
    library.update({m.name: m for m in lut_models.values()})  # NumPy table models: in memory only
    results = {}
    for net in cfg["networks"]:
        fs = NETWORK_FUNCTIONS[net]
        n = cfg["samples"].get(net)
        modes = {"digital unit": simulate(base, net, n_samples=n, library=library)}
        # on arrays: the functions on PWL units, average pooling on equal-conductance columns
        reram = base.updated({"nonlinear": {"where": "reram_array" if fs else "digital",
                                            "surrogates": {f: f"pwl_{f}.y" for f in fs},
                                            "energy": {f: f"pwl_{f}.energy" for f in fs},
                                            "avg_pooling": "reram_array"}})
        modes["ReRAM PWL array"] = simulate(reram, net, n_samples=n, library=library)
        if net == "cnn":  # and max pooling on the source-follower winner-take-all
            wta_spec = reram.updated({"nonlinear": {"max_pooling": "wta", "max_pooling_error": "wta.error",
                                                    "max_pooling_energy": "wta.energy"}})
            modes["ReRAM arrays + WTA max pooling"] = simulate(wta_spec, net, n_samples=n, library=library)
        if fs:
            lut = base.updated({"nonlinear": {"where": "reram_array", "surrogates": {f: f"lut_{f}.y" for f in fs}}})
            modes["lookup table"] = simulate(lut, net, n_samples=n, library=library)
        if fs and all(f"dp_{f}.y" in library for f in fs):   # a differential pair has sigmoid's and tanh's shape only
            pair = base.updated({"nonlinear": {"where": "reram_array", "surrogates": {f: f"dp_{f}.y" for f in fs},
                                               "energy": {f: f"dp_{f}.energy" for f in fs}}})
            modes[DIFF_PAIR] = simulate(pair, net, n_samples=n, library=library)
        results[net] = (modes["digital unit"].metric, _mode_rows(modes, lut_e))
    error_png = _plot_errors(library, functions, cfg, out)
    errors = {f: {k: analog.rms_error(library[f"{k}_{f}.y"], f) for k in ("pwl", "lut", "dp")
                  if f"{k}_{f}.y" in library} for f in functions}
    tmpdir.cleanup()
    return _report(out, cfg, functions, results, energy, latency, wta and _tie_error(wta), error_png,
                   time.perf_counter() - t0, dict(zip(("gain", "energy", "latency"), dp), errors=errors))


def _analog_section(report, functions, pwl_e, lut_e, dp) -> None:
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


def _report(out, cfg, functions, results, energy, latency, tie, error_png, seconds, dp) -> Path:
    pwl_e, lut_e = energy["pwl"], energy["lut"]
    report = Report("Reprogrammable nonlinear ReRAM arrays (de Moura & Carro, TRETS 2023) on cimspice's circuits", out)
    ratios = {net: rows["lookup table"]["nonlinear"] / rows["ReRAM PWL array"]["nonlinear"]
              for net, (_, rows) in results.items() if "lookup table" in rows}
    best = max(ratios, key=ratios.get)
    report.claim("demoura.gain", ratios[best], 0.75 <= ratios[best] / 8.5 <= 1.33,
                 f"Energy of the nonlinearities per inference, {cfg['lut_bits']}-bit lookup table (flash quantiser + "
                 f"decoder + NOR ROM, the digital field-programmable alternative) against the reprogrammed "
                 f"{cfg['segments']}-segment array, {best}. The table's flash quantiser needs "
                 f"{2 ** cfg['lut_bits'] - 1} comparator decisions per lookup, the array {cfg['segments'] - 1}. "
                 f"Against the simulator's cited digital unit ({costs.NONLINEAR_ENERGY * 1e12:.2f} pJ, ISAAC) "
                 f"the array is "
                 f"{'cheaper' if pwl_e[min(pwl_e, key=pwl_e.get)] < costs.NONLINEAR_ENERGY else 'dearer'}: "
                 f"{min(pwl_e.values()) * 1e12:.2f}-{max(pwl_e.values()) * 1e12:.2f} pJ per evaluation."
                 + "".join(f" Against the analog differential pair, {net}: the pair's nonlinear energy is "
                           f"{rows[DIFF_PAIR]['nonlinear'] / rows['ReRAM PWL array']['nonlinear']:.2g}x the array's."
                           for net, (_, rows) in results.items() if DIFF_PAIR in rows))
    setup = f"""
- PWL ReRAM function unit, {cfg['segments']} segments, programmed as {', '.join(functions)}: DC transfer swept
  in ngspice ({cfg['dc_per_segment']} points per segment plus both sides of every breakpoint) and fitted;
  energy and latency per evaluation from {cfg['energy_points']} transients with the StrongARM comparator bank,
  fitted against the input (docs/nonlinear.md for the circuit).
- Lookup-table baseline: {cfg['lut_bits']} address bits, 8-bit words, same cards; energy per lookup the mean and
  latency the longest of {cfg['lut_points']} ngspice transients per function; transfer: its stored words (ideal
  comparators).
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
    report.figure(error_png, "Transfer error of the reprogrammed arrays (ngspice, through their surrogates), "
                             "of the lookup tables and of the differential pairs: output minus the ideal function")
    _analog_section(report, functions, pwl_e, lut_e, dp)
    report.heading("Whole networks")
    table = []
    for net, (metric, rows) in results.items():
        fmt = (lambda v: f"{100 * v:.2f} %") if metric == "accuracy" else (lambda v: f"{v:.3f}")
        ref = rows["ReRAM PWL array"] if "ReRAM PWL array" in rows else None
        for mode, v in rows.items():
            table.append([net, mode, f"{metric} {fmt(v['metric'])} (float {fmt(v['float'])})",
                          f"{v['nonlinear'] * 1e9:.3f}", f"{v['total'] * 1e9:.3f}",
                          f"{v['nonlinear'] / ref['nonlinear']:.2f}x" if ref else "-",
                          f"{v['total'] / ref['total']:.3f}x" if ref else "-", f"{v['share']:.0%}"])
    report.table(["network", "nonlinearities on", "result", "nonlinear energy (nJ)", "total energy (nJ)",
                  "nonlinear energy / array's", "total / array's", "characterized share"], table)
    relu = costs.DIGITAL_ENERGY["max"]
    text = (f"ReLU is a digital compare in every mode ({relu * 1e12:.2f} pJ, {relu.name} [Horowitz]): an array "
            "evaluating it costs more than the compare. ")
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
    sensitivity.section(report, {net: rows for net, (_, rows) in results.items() if "lookup table" in rows}, best,
                        cfg, out)
    report.heading("What this study does not do")
    report.text(NOT_DONE.format(**cfg))
    return report.write(setup, seconds)
