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
from .report import Report, pyplot, save_figure

__all__ = ["run"]

log = logging.getLogger(__name__)

NETWORK_FUNCTIONS = {"lstm": ("sigmoid", "tanh"), "gpt": ("gelu", "exp"), "cnn": ()}
DEFAULT = dict(segments=16, networks=("lstm", "gpt", "cnn"), samples={"lstm": None, "gpt": 16, "cnn": None},
               dc_per_segment=8, energy_points=7, lut_bits=6, lut_points=3)
QUICK = dict(segments=8, networks=("lstm",), samples={"lstm": 60}, dc_per_segment=4, energy_points=5, lut_bits=4,
             lut_points=1)


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
    library, lut_energy, lut_models, pwl_energy = {}, {}, {}, {}
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
                                                (True, np.linspace(lo, hi, cfg["energy_points"]), ["energy"],
                                                 ["grid-linear", "poly-4"])):
            spec = parse_sweep_spec({"circuit": "pwl_unit",
                                     "circuit_args": {"function": f, "segments": S, "timing": timing},
                                     "design": "list", "parameters": {"x": [float(v) for v in points]},
                                     "outputs": outputs})
            path = tmp / f"{f}_{'energy' if timing else 'dc'}.h5"
            run_sweep(spec, path, executor="inline", progress=False)
            library.update(fit_surrogates(path, models=models, name_template=f"pwl_{f}.{{output}}"))
        e = library[f"pwl_{f}.energy"]
        pwl_energy[f] = float(np.mean(e.predict(np.linspace(lo, hi, 101).reshape(-1, 1))))
        lut = LutActivation(f, address_bits=cfg["lut_bits"])
        lut.load(engine)
        lut_energy[f] = float(np.mean([lut.simulate(engine, {"x": float(x)}).values["energy"]
                                       for x in np.linspace(lo, hi, cfg["lut_points"] + 2)[1:-1]]))
        lut_models[f] = _LutModel(lut)
    return library, pwl_energy, lut_energy, lut_models


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


def run(out_dir, quick: bool = False, progress: bool | None = None) -> Path:
    import tempfile

    t0 = time.perf_counter()
    cfg = QUICK if quick else DEFAULT
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    functions = sorted({f for n in cfg["networks"] for f in NETWORK_FUNCTIONS[n]})
    tmpdir = tempfile.TemporaryDirectory()
    tmp = Path(tmpdir.name)
    library, pwl_e, lut_e, lut_models = _characterize(functions, cfg, tmp, progress)
    if "cnn" in cfg["networks"]:
        library.update(_characterize_wta(tmp))
    save_library(tmp / "library.h5", library)      # the PWL surrogates as a system would load them
    library = load_library(tmp / "library.h5")
    library.update({m.name: m for m in lut_models.values()})  # NumPy table models: in memory only
    base = load_system_spec("ideal").updated({"library": str(tmp / "library.h5")})
    results = {}
    for net in cfg["networks"]:
        fs = NETWORK_FUNCTIONS[net]
        n = cfg["samples"].get(net)
        digital = simulate(base, net, n_samples=n, library=library)
        modes = {"digital unit": digital}
        # on arrays: the functions on PWL units, average pooling on equal-conductance columns
        reram = base.updated({"nonlinear": {"where": "reram_array" if fs else "digital",
                                            "surrogates": {f: f"pwl_{f}.y" for f in fs},
                                            "energy": {f: f"pwl_{f}.energy" for f in fs},
                                            "avg_pooling": "reram_array"}})
        modes["ReRAM PWL array"] = simulate(reram, net, n_samples=n, library=library)
        if net == "cnn":  # and max pooling on the source-follower winner-take-all
            wta = reram.updated({"nonlinear": {"max_pooling": "wta", "max_pooling_error": "wta.error",
                                               "max_pooling_energy": "wta.energy"}})
            modes["ReRAM arrays + WTA max pooling"] = simulate(wta, net, n_samples=n, library=library)
        if fs:
            lut = base.updated({"nonlinear": {"where": "reram_array", "surrogates": {f: f"lut_{f}.y" for f in fs}}})
            modes["lookup table"] = simulate(lut, net, n_samples=n, library=library)
        rows = {}
        for mode, r in modes.items():
            e_nl = r.costs.energy["nonlinear"]
            if mode == "lookup table":  # the table's measured energy per lookup, not the unit's price
                counts = {k.split(":", 1)[1]: c for k, c in r.costs.events.items() if k.startswith("array_nonlinear:")}
                e_nl = (e_nl - sum(counts.values()) * costs.NONLINEAR_ENERGY
                        + sum(c * lut_e[k] for k, c in counts.items()))
            total = r.costs.total_energy - r.costs.energy["nonlinear"] + e_nl
            rows[mode] = {"metric": r.analog_metric, "float": r.float_metric, "nonlinear": e_nl, "total": total,
                          "evaluations": sum(c for k, c in r.costs.events.items() if "nonlinear" in k
                                             and not k.startswith("nonlinear_energy"))}
        results[net] = (digital.metric, rows)

    # transfer curves of the characterized arrays against the functions, before the files go
    plt = pyplot()
    from ..circuits.nonlinear import ideal
    fig, axes = plt.subplots(1, len(functions), figsize=(3.2 * len(functions), 3.0), squeeze=False)
    for ax, f in zip(axes[0], functions):
        s = library[f"pwl_{f}.y"]
        lo, hi = s.domain["x"]
        xx = np.linspace(lo, hi, 801)
        ax.plot(xx, ideal(f, xx), "k-", lw=0.8, label="ideal")
        ax.plot(xx, s.predict(xx.reshape(-1, 1)), "-", lw=1.0, label=f"ReRAM array ({cfg['segments']} seg.)")
        ax.plot(xx, library[f"lut_{f}.y"].predict(xx.reshape(-1, 1)), "--", lw=0.8,
                label=f"lookup table ({cfg['lut_bits']} bits)")
        ax.set_title(f)
        ax.set_xlabel("pre-activation")
        ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=7)
    transfer_png = save_figure(fig, out / "transfer.png")
    tmpdir.cleanup()
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
                 f"{min(pwl_e.values()) * 1e12:.2f}-{max(pwl_e.values()) * 1e12:.2f} pJ per evaluation.")
    setup = f"""
- PWL ReRAM function unit, {cfg['segments']} segments, programmed as {', '.join(functions)}: DC transfer swept
  in ngspice ({cfg['dc_per_segment']} points per segment plus both sides of every breakpoint) and fitted;
  energy per evaluation from {cfg['energy_points']} transients with the StrongARM comparator bank, fitted against
  the input (docs/nonlinear.md for the circuit).
- Lookup-table baseline: {cfg['lut_bits']} address bits, 8-bit words, same cards; energy per lookup the mean of
  {cfg['lut_points']} ngspice transients per function; transfer: its stored words (ideal comparators).
- CNN max pooling, in its last mode: the source-follower winner-take-all (4 inputs) swept in ngspice over
  its maximum (0.5-1.0 V) and the other inputs' gaps below it (0-0.3 V), error and energy fitted grid-cubic.
- Networks: the shipped {', '.join(cfg['networks'])} on the `ideal` system (arrays, DACs and ADCs ideal, so that
  only the nonlinear units differ); softmax is the exp unit plus a digital normalisation, counted.
"""
    report.heading("Characterized in this run (ngspice, TT, 27 degC)")
    report.table(["function", f"PWL array, {cfg['segments']} segments: mean energy (pJ)",
                  f"lookup table, {cfg['lut_bits']} bits: energy (pJ)", "ratio", "digital unit, cited (pJ)"],
                 [[f, f"{pwl_e[f] * 1e12:.3f}", f"{lut_e[f] * 1e12:.3f}", f"{lut_e[f] / pwl_e[f]:.1f}x",
                   f"{costs.NONLINEAR_ENERGY * 1e12:.2f}"] for f in functions])
    report.figure(transfer_png, "Transfer of the reprogrammed arrays (ngspice, through their surrogates) and of the "
                                "lookup tables against the ideal functions")
    report.heading("Whole networks")
    table = []
    for net, (metric, rows) in results.items():
        fmt = (lambda v: f"{100 * v:.2f} %") if metric == "accuracy" else (lambda v: f"{v:.3f}")
        ref = rows["ReRAM PWL array"] if "ReRAM PWL array" in rows else None
        for mode, v in rows.items():
            table.append([net, mode, f"{metric} {fmt(v['metric'])} (float {fmt(v['float'])})",
                          f"{v['nonlinear'] * 1e9:.3f}", f"{v['total'] * 1e9:.3f}",
                          f"{v['nonlinear'] / ref['nonlinear']:.2f}x" if ref else "-",
                          f"{v['total'] / ref['total']:.3f}x" if ref else "-"])
    report.table(["network", "nonlinearities on", "result", "nonlinear energy (nJ)", "total energy (nJ)",
                  "nonlinear energy / array's", "total / array's"], table)
    report.text("""
The CNN's nonlinearities are ReLU and pooling: ReLU is a digital compare in every case (one
0.03 pJ compare beats any array); in the array mode its average pooling runs on
equal-conductance ReRAM columns (the cells' read law and energy, checked against the pooling
circuit in ngspice); with max pooling on the source-follower winner-take-all as well
(ngspice grid of 2,187 windows, its error and energy fitted), the CNN loses accuracy: ReLU
zeros tie in many windows, and a 4-way tie reads 55 mV high on a 0.5 V range. For the LSTM and the GPT the arrays'
energy is set by their comparator banks; the energy per inference moves less than the
nonlinear energy does, because the matrix products (arrays, drivers, ADCs at the simulator's
cited prices) dominate.
""")
    return report.write(setup, time.perf_counter() - t0)
