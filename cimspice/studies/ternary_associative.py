"""Study ``ternary-associative``: de Lima et al. (2024) against our crossbars.

Ternary-weight networks need no multiplier: every output is a sum of inputs with weights
+1, minus those with -1. An associative processor (AP) computes such sums in memory,
bit-serially, with compare and write passes over CAM rows (:mod:`.associative`); the paper
reports 7.5x the energy efficiency of crossbar accelerators for ResNet-18 with racetrack
memory CAMs. Here, in one run:

1. ngspice characterizes, on the 45 nm cards, a NOR CAM row's masked compare (match and
   mismatch, with its share of the search lines of a ``rows``-row array) and a 6T SRAM
   cell's write (bit-line swing per column, cell flip) (:mod:`cimspice.circuits.cam`); and
   the SAR ADC at the crossbar's resolution (energy per conversion);
2. an MLP is trained on the digits with ternary weights (straight-through, from float);
3. the same ternary network runs on the AP, bit-exact, executing every compare and write on
   a batch of digits (energy from the passes' measured costs: every row's match line per
   compare, flipped cells and driven bit lines per write), and on ReRAM crossbars in the
   system simulator (one-bit cells as differential pairs, bit-serial inputs, ADCs priced
   with the measured SAR);
4. a single ternary layer of varying width and input precision shows where each wins.

The AP here is a CMOS CAM (SRAM cells), not the paper's racetrack memory, whose shift-based
access and density we do not model; the report says so beside the ratio.
"""

from __future__ import annotations

import logging
import math
import time
from pathlib import Path

import numpy as np

from ..circuits.cam import search_energy, write_energy
from ..sim.layers import Activation, Dense
from ..sim.network import Sequential
from ..sim.simulate import simulate
from ..sim.spec import load_system_spec
from ..sim.zoo import load_dataset
from ..spice import get_engine
from .adc_energy import conversion_energy, measure_adc_energy
from .associative import AssociativeProcessor, PassCounts
from .report import Report, pyplot, save_figure
from .training import quantised, train_mlp, train_split_aware

__all__ = ["run"]

log = logging.getLogger(__name__)

DEFAULT = dict(hidden=(64,), in_bits=4, adc_bits=6, ap_rows=256, ap_samples=32, epochs=40, retrain_epochs=20,
               sweep_widths=(64, 256, 1024), sweep_bits=(2, 4, 8), sweep_samples=8)
QUICK = dict(hidden=(16,), in_bits=4, adc_bits=6, ap_rows=256, ap_samples=4, epochs=10, retrain_epochs=3,
             sweep_widths=(64, 256), sweep_bits=(2, 4), sweep_samples=2)


# ---------------------------------------------------------------- the network on the AP
def _quantise_inputs(x, bits):
    top = 2 ** bits - 1
    return np.clip(np.rint(x * top), 0, top).astype(np.int64)


def _ternary(w, weight_levels="ternary"):
    """Weights as the ternary network holds them: (signs in {-1, 0, 1}, scale) per layer."""
    out = []
    for W in w.Ws:
        Wt = quantised(W, weight_levels)
        s = float(np.abs(Wt).max()) or 1.0
        out.append((np.rint(Wt / s).astype(np.int64), s))
    return out


def _reference(ternary, shifts, xq, in_bits):
    """Integer forward pass the AP must reproduce: sums of +-inputs, ReLU, and between
    layers a requantisation to ``in_bits`` by a power-of-two shift (free in an AP: a choice
    of field) with saturation; returns the last layer's integer accumulators."""
    h = xq
    for k, (T, _scale) in enumerate(ternary):
        acc = h @ T
        if k == len(ternary) - 1:
            return acc
        h = _requantise(acc, in_bits, shifts[k])
    return h


def _requantise(acc, in_bits, shift):
    return np.minimum(np.maximum(acc, 0) >> shift, 2 ** in_bits - 1)


def _calibrate_shifts(ternary, xq_cal, in_bits):
    """Per hidden layer, the shift that maps the 99.9th percentile of its ReLU output on
    calibration data onto the ``in_bits`` range."""
    shifts, h = [], xq_cal
    for T, _ in ternary[:-1]:
        acc = np.maximum(h @ T, 0)
        peak = max(float(np.percentile(acc, 99.9)), 1.0)
        shifts.append(max(0, int(np.ceil(np.log2(peak / (2 ** in_bits - 1))))))
        h = _requantise(acc, in_bits, shifts[-1])
    return shifts


def _acc_bits(n_in, in_bits):
    return in_bits + int(np.ceil(np.log2(max(n_in, 2)))) + 1


def _run_ap(ternary, shifts, xq, in_bits):
    """Execute the network on an AP whose rows are the samples; returns (last-layer
    accumulators, the AP's pass counts, [(row width in bits, that layer's counts)])."""
    rows = len(xq)
    h = xq
    total = None
    layers = []
    for k, (T, _scale) in enumerate(ternary):
        n_in, n_out = T.shape
        m = _acc_bits(n_in, in_bits)
        ap = AssociativeProcessor(rows, n_in * in_bits + n_out * m + 1)
        carry = ap.data.shape[1] - 1
        for i in range(n_in):
            ap.store(i * in_bits, in_bits, h[:, i])
        for j in range(n_out):
            acc = n_in * in_bits + j * m
            for i in np.flatnonzero(T[:, j]):
                ap.inplace("add" if T[i, j] > 0 else "sub", i * in_bits, acc, m, carry, a_width=in_bits)
        out = np.stack([ap.load(n_in * in_bits + j * m, m) for j in range(n_out)], axis=1)
        if k < len(ternary) - 1:
            # ReLU: tag the rows whose sign bit is set, write their accumulator to zero
            for j in range(n_out):
                acc = n_in * in_bits + j * m
                tag = ap.compare([acc + m - 1], [1])
                if tag.any():
                    ap.write(list(range(acc, acc + m)), [0] * m, tag)
            h = _requantise(out, in_bits, shifts[k])
        c = ap.counts
        layers.append((ap.data.shape[1], _merge(PassCounts(), c)))
        total = c if total is None else _merge(total, c)
        last = out
    return last, total, layers


def _merge(a, b):
    for f in ("compares", "writes", "matched_rows", "mismatched_rows", "written_columns", "flips"):
        setattr(a, f, getattr(a, f) + getattr(b, f))
    return a


#: widest row the CAM bench builds (cimspice.circuits.cam); past it, the width law
CAM_BENCH_MAX_BITS = 1024


class CamAtWidth:
    """The CAM's per-row costs at the row widths a run uses: ngspice's bench at that width
    (the search cycle stretched one unit per 128 bits, so the match line swings fully and
    precharges: cimspice.circuits.cam), cached. :meth:`law` is a line through the widths
    simulated so far, for the single-layer sweep's many widths (``by_law`` counts its uses,
    ``beyond`` those past the widest row simulated)."""

    def __init__(self, engine, rows: int, write: dict):
        self.engine, self.rows, self.write = engine, rows, write
        self.measured: dict[int, dict] = {}
        self.by_law = self.beyond = 0

    def law(self, width: int) -> dict:
        w = np.array(sorted(self.measured), float)
        self.by_law += 1
        self.beyond += int(width > w.max())
        fit = {k: np.polyfit(w, [self.measured[int(x)][k] for x in w], 1) for k in ("match", "mismatch")}
        return {**{k: float(np.polyval(c, width)) for k, c in fit.items()}, **self.write}

    def __call__(self, width: int) -> dict:
        width = int(width)
        if width > CAM_BENCH_MAX_BITS:
            return self.law(width)
        if width not in self.measured:
            s = search_energy(self.engine, word_bits=width, rows=self.rows, active_bits=3,
                              stretch=max(1, math.ceil(width / 128)))
            self.measured[width] = {"match": s["match"], "mismatch": s["mismatch"], "t_search": s["t_search"]}
        return {**self.measured[width], **self.write}


def _ap_energy_layers(layers, cam, rows_in_sim, ap_rows):
    """J per row (per sample) of every layer's passes, each priced at its own row width by
    ``cam`` (width -> costs)."""
    return sum(_ap_energy(c, cam(width), rows_in_sim, ap_rows) for width, c in layers)


def _ap_energy(counts, cam, rows_in_sim, ap_rows):
    """J per row (per sample) of the passes ``counts`` counted on ``rows_in_sim`` rows, in an
    AP array of ``ap_rows`` rows: every compare precharges each row's match line (matched or
    discharged), lines' share included; a write drives its columns' bit lines once for the
    array and flips cells."""
    e_cmp = counts.matched_rows * cam["match"] + counts.mismatched_rows * cam["mismatch"]
    e_wr = counts.flips * cam["cell"] + counts.written_columns * cam["bit_line"] * rows_in_sim / ap_rows
    return (e_cmp + e_wr) / rows_in_sim


# ----------------------------------------------------------------- the crossbar side
def _crossbar_spec(rows, in_bits, adc_bits):
    return load_system_spec("ideal").updated({
        "name": f"ternary-crossbar-{rows}",
        "array": {"rows": rows, "cols": rows, "cell_bits": 1},
        "inputs": {"encoding": "bit_serial", "bits": in_bits},
        "adc": {"bits": adc_bits, "partial_sum_bits": adc_bits, "range": "calibrated"},
        "tiling": {"split": "input_splitting"},
    })


def _crossbar_energy(result, adc):
    """Energy per inference with the conversions re-priced at the measured SAR energy."""
    e_adc = conversion_energy(result, adc)
    return result.costs.total_energy - result.costs.energy["adc"] + e_adc, e_adc


def _ternary_net(ternary, biases, name):
    layers = []
    for k, (T, s) in enumerate(ternary):
        layers.append(Dense(f"fc{k + 1}", T * s, biases[k]))
        if k < len(ternary) - 1:
            layers.append(Activation(f"relu{k + 1}", "relu"))
    return Sequential(name, layers)


def run(out_dir, quick: bool = False, progress: bool | None = None) -> Path:
    t0 = time.perf_counter()
    cfg = QUICK if quick else DEFAULT
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    engine = get_engine()
    bits = cfg["in_bits"]

    # 1. circuits
    wr = write_energy(engine, rows=cfg["ap_rows"])
    cam = CamAtWidth(engine, cfg["ap_rows"], {"cell": wr["cell"], "bit_line": wr["same"]})
    adc = measure_adc_energy([cfg["adc_bits"]], "sar", n_inputs=2, progress=progress)

    # 2. a ternary network
    x, y = load_dataset("mlp", "train")
    xt, yt = load_dataset("mlp", "test")
    # no biases: a ternary network's sums then need nothing but the AP's adds
    w_float = train_mlp(x, y, hidden=cfg["hidden"], epochs=cfg["epochs"], bias=False)
    w_t = train_split_aware(w_float, x, y, rows=4096, adc_bits=16, outputs_per_array=4096,
                            epochs=cfg["retrain_epochs"], x_calibration=x[:256], weight_levels="ternary",
                            bias=False)
    ternary = _ternary(w_t)
    acc_float = float(np.mean(w_float.network("f").forward(xt).argmax(1) == yt))
    xq_t = _quantise_inputs(xt, bits)
    shifts = _calibrate_shifts(ternary, _quantise_inputs(x[:256], bits), bits)
    acc_ap = float(np.mean(_reference(ternary, shifts, xq_t, bits).argmax(1) == yt))

    # 3a. the AP, bit-exact on a batch
    xq = xq_t[: cfg["ap_samples"]]
    logits_ap, counts, ap_layers = _run_ap(ternary, shifts, xq, bits)
    exact = bool(np.array_equal(logits_ap, _reference(ternary, shifts, xq, bits)))
    e_ap = _ap_energy_layers(ap_layers, cam, len(xq), cfg["ap_rows"])
    for w in (8, 64):        # narrow rows too, so a law past the bench's widest row has a span
        cam(w)
    macs = sum(int(np.count_nonzero(T)) for T, _ in ternary)
    # 3b. the crossbar: the same ternary weights (biases zero: the AP path has none either)
    net = _ternary_net(ternary, [np.zeros(T.shape[1]) for T, _ in ternary], "ternary-mlp")
    xb = simulate(_crossbar_spec(64, bits, cfg["adc_bits"]), net, (xt, yt, x[:256]))
    e_xb, e_xb_adc = _crossbar_energy(xb, adc)
    dense_macs = sum(T.size for T, _ in ternary)

    # 4. one ternary layer, width and precision varied
    rng = np.random.default_rng(5)
    sweep = []
    for n_in in cfg["sweep_widths"]:
        T = rng.choice([-1, 0, 1], size=(n_in, 64), p=[1 / 3, 1 / 3, 1 / 3])
        for b in cfg["sweep_bits"]:
            xs = rng.random((max(cfg["sweep_samples"], 2), n_in))
            layer = [(T, 1.0)]
            _, _, c = _run_ap(layer, [], _quantise_inputs(xs[: cfg["sweep_samples"]], b), b)
            e_ap_l = _ap_energy_layers(c, cam.law, cfg["sweep_samples"], cfg["ap_rows"])
            one = Sequential("layer", [Dense("fc", T.astype(float), np.zeros(64))])
            xs_all = rng.random((64, n_in))
            r = simulate(_crossbar_spec(64, b, cfg["adc_bits"]), one, (xs_all[:16], np.zeros(16, int), xs_all[16:]))
            e_xb_l, _ = _crossbar_energy(r, adc)
            nnz = int(np.count_nonzero(T))
            sweep.append({"n_in": n_in, "bits": b, "ap": e_ap_l / nnz, "xb": e_xb_l / T.size,
                          "ap_total": e_ap_l, "xb_total": e_xb_l})

    # ---------------------------------------------------------------- report
    report = Report("Ternary weights on an associative processor (de Lima et al., 2024) against "
                    "cimspice's crossbars", out)
    ratio = e_xb / e_ap
    report.claim("delima.efficiency", ratio, 0.75 <= ratio / 7.5 <= 1.33,
                 f"Energy per inference of the ternary MLP ({bits}-bit inputs), crossbar (64x64 one-bit "
                 f"differential cells, bit-serial inputs, {cfg['adc_bits']}-bit SAR ADCs) over the AP (CMOS NOR "
                 f"CAM + 6T SRAM cells on the 45 nm cards). The paper's AP is racetrack memory, whose "
                 f"denser, shift-accessed cells we do not model; it also maps ResNet-18 convolutions, "
                 f"where its compiler reuses partial sums across filters, and we run an MLP.")
    acc_widths = ", ".join(str(_acc_bits(T.shape[0], bits)) for T, _ in ternary)
    setup = f"""
- Network: MLP 64-{'-'.join(map(str, cfg['hidden']))}-10 without biases, trained in NumPy on the digits, then fine-tuned
  with ternary weights (ternary-weight-network rule, straight-through: +-alpha where |W| > 0.7 mean|W|,
  else 0, per layer); inputs and activations at
  {bits} bits, requantised between layers by a power-of-two shift (calibrated on 256 training digits) with
  saturation.
- AP: every sample a CAM row; inputs and {acc_widths}-bit accumulators
  as fields; each nonzero weight one in-place add or subtract (8 passes per accumulator bit, 4 of them
  compares over 3 columns and 4 writes of 2; above the input's width 2 of each); ReLU one compare on the
  sign bit and one write per output; every compare priced as the 3-column one measured at its row's
  width ({', '.join(str(w) for w, _ in ap_layers)} bits; an upper bound for the 1- and 2-column ones).
  Arrays of {cfg['ap_rows']} rows. {cfg['ap_samples']} held-out digits run
  bit by bit; the AP's outputs {'equal' if exact else 'DIFFER FROM'} the integer reference exactly.
- Crossbar: the same ternary weights on the system simulator's 64x64 arrays (one-bit cells as
  differential pairs), bit-serial {bits}-bit inputs, {cfg['adc_bits']}-bit ADCs priced with the SAR measured here;
  other components at the simulator's cited constants (`cimspice/sim/costs.py`).
"""
    report.heading("Circuits characterized in this run (ngspice, TT, 27 degC)")
    net_widths = [w for w, _ in ap_layers]
    report.table(["circuit", "row width (bits)", "compare, row matches (fJ)", "compare, row mismatches (fJ)",
                  "search time, 1-bit mismatch (ps)"],
                 [[f"NOR CAM row, 3 active columns, {cfg['ap_rows']}-row array"
                   + (" (a layer of the MLP)" if w in net_widths else ""), w, f"{m['match'] * 1e15:.2f}",
                   f"{m['mismatch'] * 1e15:.2f}", f"{m['t_search'] * 1e12:.0f}"]
                  for w, m in sorted(cam.measured.items())])
    report.text(f"Each of the MLP's compares is priced at the width of the row it runs on, from ngspice at that "
                f"width (the cycle stretched one unit per 128 bits so the match line swings fully and precharges). "
                f"The single-layer sweep below has {cam.by_law} rows of other widths: they take a line through the "
                f"widths above, {cam.beyond} of them beyond the widest simulated (extrapolated; the line is the "
                f"energy of a full-swing compare: docs/library.md, 'The CAM row and its width law', has its "
                f"validation against the bench).")
    report.table(["circuit", "figure", "value"], [
        [f"6T SRAM cell, {cfg['ap_rows']}-row bit line", "bit-line swing per written column",
         f"{cam.write['bit_line'] * 1e15:.2f} fJ"],
        ["", "cell flip", f"{cam.write['cell'] * 1e15:.2f} fJ"],
        [f"{cfg['adc_bits']}-bit SAR ADC", "energy per conversion", f"{adc[cfg['adc_bits']]['energy'] * 1e12:.3f} pJ"],
    ])
    report.heading("The ternary MLP")
    report.table(["", "accuracy (held-out digits)", "energy per inference (nJ)", "energy per MAC (fJ)"], [
        ["float network", f"{100 * acc_float:.2f} %", "-", "-"],
        ["AP (bit-exact integer arithmetic)", f"{100 * acc_ap:.2f} %", f"{e_ap * 1e9:.3f}",
         f"{e_ap / macs * 1e15:.1f} per nonzero weight"],
        ["crossbar", f"{100 * xb.analog_metric:.2f} %", f"{e_xb * 1e9:.3f} (ADC {e_xb_adc * 1e9:.3f})",
         f"{e_xb / dense_macs * 1e15:.1f} per weight"],
    ])
    compared_rows = max(counts.matched_rows + counts.mismatched_rows, 1)
    report.text(f"""
The AP ran {counts.compares:,} compares and {counts.writes:,} writes for {len(xq)} digits
({counts.compares / len(xq):,.0f} compares per inference); {100 * counts.mismatched_rows /
compared_rows:.0f} % of the rows compared were mismatches, each costing a match-line
discharge. {macs:,} of the {dense_macs:,} weights are nonzero: the AP skips the zeros, the crossbar does not.
""")
    e = dict(xb.costs.energy, adc=e_xb_adc)
    report.table(["crossbar component"] + list(e) + ["total"],
                 [["energy per inference (nJ)"] + [f"{v * 1e9:.3f}" for v in e.values()] + [f"{e_xb * 1e9:.3f}"]])
    report.heading("One ternary layer (64 outputs, a third of the weights zero): energy per MAC")
    report.table(["inputs (fan-in)", "input bits", "AP (fJ per nonzero weight)", "crossbar (fJ per weight)",
                  "crossbar / AP per layer"],
                 [[r["n_in"], r["bits"], f"{r['ap'] * 1e15:.1f}", f"{r['xb'] * 1e15:.1f}",
                   f"{r['xb_total'] / r['ap_total']:.2f}x"] for r in sweep])
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(5.5, 3.6))
    for b in cfg["sweep_bits"]:
        rows_b = [r for r in sweep if r["bits"] == b]
        line, = ax.plot([r["n_in"] for r in rows_b], [r["ap"] * 1e15 for r in rows_b], "o-",
                        label=f"AP, {b}-bit inputs")
        ax.plot([r["n_in"] for r in rows_b], [r["xb"] * 1e15 for r in rows_b], "s--", color=line.get_color(),
                label=f"crossbar, {b}-bit inputs")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("fan-in (inputs of the layer)")
    ax.set_ylabel("energy per MAC (fJ)")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=7)
    png = save_figure(fig, out / "energy_per_mac.png")
    report.figure(png, "Energy per MAC of one ternary layer: associative processor (per nonzero weight) against "
                       "crossbar (per weight)")
    wins = [r for r in sweep if r["xb_total"] > r["ap_total"]]
    low = min(sweep, key=lambda r: r["xb_total"] / r["ap_total"])
    share = e["arrays"] / e_xb
    report.text(f"""
The AP's cost per add grows with the accumulator's width (input bits plus log2 of the fan-in)
and is paid for every nonzero weight. The crossbar's cost per weight grows with the input bits
(one read per input bit) and is here mostly the cells' read current over the simulator's
{xb.spec.array.t_read * 1e9:.0f} ns read ({100 * share:.0f} % of the MLP's crossbar energy is the arrays'), so it barely
falls with fan-in. The AP wins in {len(wins)} of the {len(sweep)} cases; its margin is smallest at
{low['bits']}-bit inputs and a fan-in of {low['n_in']} ({low['xb_total'] / low['ap_total']:.2f}x). A shorter read or
lower-conductance cells would move the crossbar's side; so would racetrack CAMs the AP's.
""")
    return report.write(setup, time.perf_counter() - t0)
