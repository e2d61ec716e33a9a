"""The ``ternary-associative`` report: setup, the paper's claims against the run (the case
fixed in :data:`.ternary_costs.CASE`), both sides' energy by component with its source, the
batch, ResNet-18, the single-layer sweep, the sensitivity and what the study does not do."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from ..circuits.cam import search_energy
from .provenance import costs
from .report import Report, pyplot, save_figure
from .sources import CLAIMS
from .ternary_costs import AP_ROWS, CASE, ap_energy, crossbar_sources, movement_share
from .ternary_resnet import layer_shapes
from .ternary_sensitivity import ratios, sensitivity, tornado, verdict

__all__ = ["Context", "validate_law", "write"]


@dataclass
class Context:
    """What the run measured (see :func:`.ternary_associative.run`)."""

    cfg: dict
    cam: object
    check: dict | None
    data: dict
    mlp: dict
    xb: object
    resnet: dict
    sweep: list
    out: Path

    @property
    def mlp_buffer_bits(self) -> tuple[float, float]:
        """Bits the crossbar moves per digit: inputs at the case's bits, outputs at 16."""
        ts = [T for T, _ in self.data["ternary"]]
        return (float(sum(T.shape[0] for T in ts) * CASE["in_bits"]),
                float(sum(T.shape[1] for T in ts) * costs.ACTIVATION_BITS))


def validate_law(engine, cam, width: int | None) -> dict | None:
    """The CAM bench at ``width`` bits (cycle stretched one unit per 128 bits) against the
    library's width law there; None when ``width`` is None (``--quick``)."""
    if width is None:
        return None
    s = search_energy(engine, word_bits=width, rows=AP_ROWS, active_bits=3, stretch=max(1, math.ceil(width / 128)))
    return {"width": width, "bench": {k: s[k] for k in ("match", "mismatch")},
            "law": {"match": float(cam.match(width)), "mismatch": float(cam.mismatch(width))}}


def _nj(e: float) -> str:
    return f"{e * 1e9:.3g}"


def _breakdown(report: Report, title: str, ap: dict, xb: dict, xb_src: dict, cam, unit: str = "nJ") -> None:
    """Both sides' energy per inference by component (in ``unit``: nJ or uJ), each with its source."""
    scale = {"nJ": 1e9, "uJ": 1e6}[unit]
    report.heading(title, 3)
    ap_src = {"match lines": "compare, match; compare, mismatch", "search lines": "search lines per compare",
              "write bit lines": "write, bit line", "write cells": "write, cell",
              "data movement": "buffer, per bit moved; write, bit line; write, cell"}
    rows = [[f"AP: {k}", f"{v * scale:.3g}", f"{100 * v / sum(ap.values()):.2g} %",
             "; ".join(cam.sources[s] for s in ap_src[k].split("; "))] for k, v in ap.items()]
    rows += [[f"crossbar: {k}", f"{v * scale:.3g}", f"{100 * v / sum(xb.values()):.2g} %", xb_src.get(k, "-")]
             for k, v in xb.items() if v]
    report.table(["component", f"energy per inference ({unit})", "share of its side", "source"], rows)


def _claims(report: Report, ctx, nominal: dict, ap_rn: dict, xb_rn: dict, acc_loss: float) -> None:
    case = (f"{CASE['in_bits']}-bit activations, AP match lines whole up to {CASE['segment_bits']} bits, "
            f"crossbar read {CASE['t_read'] * 1e9:.0f} ns; a ratio agrees within 25 % of the paper's")
    r = nominal["resnet"]
    side = ctx.cfg["resnet_size"]
    report.claim("delima.efficiency", r, 0.75 <= r / 7.5 <= 1.33,
                 f"Energy per image of the ternary ResNet-18 (CIFAR shape 3x{side}x{side}, not the paper's ImageNet), "
                 "crossbar on the component library over the AP on the library's CMOS CAM rows. The paper's AP is "
                 "racetrack memory with a compiler that reuses partial sums across filters; ours runs every nonzero "
                 "weight as its own add on rows holding a receptive field each.",
                 f"ResNet-18, {CASE['resnet_images']} image per AP array pass; {case}")
    report.claim("delima.accuracy", acc_loss, acc_loss <= 1.0,
                 f"Float MLP {100 * ctx.data['acc_float']:.2f} %, ternary on the AP (bit-exact integer) "
                 f"{100 * ctx.mlp[CASE['in_bits']]['acc']:.2f} % on the held-out digits; ResNet-18 is not "
                 "trained here.",
                 f"the digits MLP, {CASE['in_bits']}-bit activations; within 1 point")
    share = 100 * movement_share(xb_rn)
    report.claim("delima.movement", share, share >= 10,
                 f"The buffers' share (the simulator's buffer_bits at ISAAC's eDRAM energy) of the crossbar's "
                 f"ResNet-18 energy; the AP's movement share under the same pricing is "
                 f"{100 * movement_share(ap_rn):.2g} %. The TIAs' read energy dwarfs movement on this crossbar.",
                 "ResNet-18; 'considerable' = at least 10 % of the crossbar's energy")
    t = xb_rn["buffers"] / ap_rn["data movement"]
    report.claim("delima.transfers", t, t >= 1.33,
                 "Movement energy per image, crossbar over AP, both priced per bit moved at the same eDRAM figure "
                 "(the AP also pays its CAM row writes for loading): the AP holds accumulators in its rows and "
                 "moves out requantised activations, the crossbar moves 16-bit outputs; both reload every "
                 "im2col receptive field.", "ResNet-18; 'substantially' = by at least 1.33x")


def _batch(report: Report, ctx) -> None:
    report.heading("The batch: rows sharing the AP's line drives", 3)
    rows = []
    for b in ctx.cfg["batches"]:
        r = ratios(ctx, batch=b)
        rows.append([b, f"{r['mlp']:.3g}x", f"{r['resnet']:.3g}x"])
    report.table(["batch (MLP: digits per 256-row array; ResNet: images)", "MLP crossbar / AP",
                  "ResNet-18 crossbar / AP"], rows)
    c = ctx.mlp[CASE["in_bits"]]["counts"]
    report.text(f"""
An AP array drives its search lines for every compare and its bit lines for every write pass
once for all its rows: that part of the energy is divided by the rows in use (the batch), the
match lines and flipped cells are each row's own. Every digit goes through all
{c.compares:,} compares and {c.writes:,} write passes of the MLP (they run on all rows at once;
{ctx.mlp[CASE['in_bits']]['rows']} digits were executed bit by bit). In ResNet-18 each output position is a row, so
one image already fills the early layers' arrays (1,024 positions at 32x32) but not the last
stage's (16 positions of 256 rows).
""")


def _resnet(report: Report, ctx, ap_rn: dict) -> None:
    rn = ctx.resnet
    shapes = layer_shapes(rn["layers"])
    a = rn["ap_layers"]
    compares = sum(L.counts.compares for L in a)
    side = ctx.cfg["resnet_size"]
    report.text(f"""
Ternary ResNet-18 in CIFAR shape (3x{side}x{side} inputs, stages of {', '.join(map(str, ctx.cfg['resnet_stages']))}
channels), written as ONNX and read by `load_onnx`: {shapes['matrices']} matrix layers,
{shapes['macs'] / 1e6:,.3g} M MACs per image of which {shapes['nonzero_macs'] / 1e6:,.3g} M with a nonzero
weight. On the AP every output position is a row holding its receptive field and all output
channels' accumulators: rows of
{min(L.width for L in a):,} to {max(L.width for L in a):,} bits (match lines split at
{CASE['segment_bits']} bits), {compares / 1e6:,.3g} M compares per image, every row through all of
its layer's. Per-row rates (share of rows mismatching a compare
{100 * rn['rates']['mismatch']:.0f} %, cells flipped per row and write
{rn['rates']['flips']:.3f}, columns per write {rn['rates']['columns']:.2f}) are the MLP's, measured on
the AP. The crossbar ran the ONNX graph on the simulator ({CASE['resnet_images']} image, energy only,
non-idealities off, {rn['seconds']:.0f} s): {int(rn['xb'].costs.arrays):,} arrays.
""")


def _sweep(report: Report, ctx) -> None:
    sweep, cfg = ctx.sweep, ctx.cfg
    report.heading("One ternary layer (64 outputs, a third of the weights zero)", 3)
    report.table(["fan-in", "input bits", "AP row (bits)", "AP (fJ per nonzero weight)", "crossbar (fJ per weight)",
                  "crossbar / AP"],
                 [[r["n_in"], r["bits"], r["width"], f"{r['ap'] * 1e15:.1f}", f"{r['xb'] * 1e15:.1f}",
                   f"{r['xb_total'] / r['ap_total']:.2f}x"] for r in sweep])
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6.5, 3.8))
    for b in cfg["sweep_bits"]:
        rb = [r for r in sweep if r["bits"] == b]
        line, = ax.plot([r["n_in"] for r in rb], [r["ap"] * 1e15 for r in rb], "o-", label=f"AP, {b}-bit inputs")
        ax.plot([r["n_in"] for r in rb], [r["xb"] * 1e15 for r in rb], "s--", color=line.get_color(),
                label=f"crossbar, {b}-bit inputs")
    ax.set_xscale("log", base=2)
    ax.set_xticks(cfg["sweep_widths"], [str(w) for w in cfg["sweep_widths"]])
    ax.set_yscale("log")
    ax.set_xlabel("fan-in (inputs of the layer)")
    ax.set_ylabel("energy per MAC (fJ)")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.02, 0.5), frameon=False)
    png = save_figure(fig, ctx.out / "energy_per_mac.png")
    report.figure(png, "Energy per MAC of one ternary layer: AP (per nonzero weight, the case's batch) against "
                       "crossbar (per weight)")


def _limits(report: Report, ctx) -> None:
    report.heading("What this study does not do")
    report.text(f"""
- It does not model racetrack memory: the AP is a CMOS NOR CAM with 6T SRAM cells on the 45 nm
  cards (the library's `cam_row` blocks). Racetrack's shift-based access, density and write
  energy, which the paper's 7.5x rests on, are not here.
- It does not implement the paper's compilation flow (partial sums shared between filters to
  cut the arithmetic intensity of convolutions): every nonzero weight is its own in-place add.
- It does not run ImageNet or train ResNet-18: the ResNet is CIFAR-shaped (3x32x32, 10 classes),
  with seeded ternary weights and no batch norm, run for energy on {CASE['resnet_images']} image;
  accuracy is judged on the digits MLP only. Its AP side is counted from the layer shapes and
  the MLP's per-row rates, not executed bit by bit; global average pooling and the requantising
  saturation are not priced on either side.
- It does not characterize rows wider than the bench's 1,024 bits, nor the 1- and 2-column
  compares (priced as the 3-column one: an upper bound), nor the AP's control, its row
  read-out, or the gating of unused rows' match lines (assumed off).
- It does not re-simulate the crossbar for the sensitivity: components are scaled (reads with
  the input bits, the cells' and TIAs' energy with the read time; the library's TIA block
  is characterized at 10 ns, shorter reads are an extrapolation).
""")


def write(ctx: Context, seconds: float) -> Path:
    bits = CASE["in_bits"]
    report = Report("Ternary weights on an associative processor (de Lima et al., 2024) against "
                    "cimspice's crossbars", ctx.out)
    mlp = ctx.mlp[bits]
    ap = ap_energy(mlp["layers"], ctx.cam, CASE["batch"])
    xb = dict(ctx.xb.costs.energy)
    ap_rn = ap_energy(ctx.resnet["ap_layers"], ctx.cam, CASE["resnet_images"])
    xb_rn = ctx.resnet["xb_energy"]
    nominal = ratios(ctx)
    swings = sensitivity(ctx)
    acc_loss = 100 * (ctx.data["acc_float"] - mlp["acc"])
    _claims(report, ctx, nominal, ap_rn, xb_rn, acc_loss)

    report.heading("The ternary MLP on the digits")
    macs = sum(int(np.count_nonzero(T)) for T, _ in ctx.data["ternary"])
    dense = sum(T.size for T, _ in ctx.data["ternary"])
    report.table(["", "accuracy (held-out digits)", "energy per inference (nJ)", "energy per MAC (fJ)"], [
        ["float network", f"{100 * ctx.data['acc_float']:.2f} %", "-", "-"],
        ["AP (bit-exact integer arithmetic)", f"{100 * mlp['acc']:.2f} %", _nj(sum(ap.values())),
         f"{sum(ap.values()) / macs * 1e15:.1f} per nonzero weight"],
        ["crossbar (component library)", f"{100 * ctx.xb.analog_metric:.2f} %", _nj(sum(xb.values())),
         f"{sum(xb.values()) / dense * 1e15:.1f} per weight"],
    ])
    report.text(f"Crossbar over AP: **{nominal['mlp']:.3g}x** at a batch of {CASE['batch']} "
                f"({'the AP' if nominal['mlp'] > 1 else 'the crossbar'} wins). {macs:,} of the {dense:,} weights are "
                f"nonzero: the AP skips the zeros, the crossbar does not.")
    _breakdown(report, "Energy by component, MLP (per digit)", ap, xb, crossbar_sources(ctx.xb), ctx.cam)
    _batch(report, ctx)
    report.heading("ResNet-18")
    _resnet(report, ctx, ap_rn)
    report.text(f"Crossbar over AP: **{nominal['resnet']:.3g}x** per image (the paper: 7.5x on ImageNet).")
    _breakdown(report, "Energy by component, ResNet-18 (per image)", ap_rn, xb_rn,
               crossbar_sources(ctx.resnet["xb"]), ctx.cam, unit="uJ")
    _circuits(report, ctx)
    report.heading("Sensitivity")
    png = tornado(swings, nominal, CLAIMS["delima.efficiency"].value, ctx.out / "tornado.png")
    report.figure(png, "Crossbar energy over the AP's as each assumption moves (right of the dotted line the AP wins)")
    report.table(["assumption (low / high)", "MLP low", "MLP high", "ResNet-18 low", "ResNet-18 high"],
                 [[f"{s.label} ({s.low_text} / {s.high_text})", f"{s.low['mlp']:.3g}x", f"{s.high['mlp']:.3g}x",
                   f"{s.low['resnet']:.3g}x", f"{s.high['resnet']:.3g}x"] for s in swings])
    report.text(f"MLP: {verdict(nominal['mlp'], swings, 'mlp')}.\n\nResNet-18: "
                f"{verdict(nominal['resnet'], swings, 'resnet')}.")
    report.heading("Other sizes")
    _sweep(report, ctx)
    _limits(report, ctx)
    return report.write(_setup(ctx, mlp), seconds)


def _match_scaled(ctx, k: float) -> float:
    """The AP's MLP energy with every matching row's compare ``k`` times the law, over the case's."""
    mlp, cam = ctx.mlp[CASE["in_bits"]], ctx.cam
    more = replace(cam, match=lambda w: k * cam.match(w))
    return sum(ap_energy(mlp["layers"], more, CASE["batch"]).values()) / sum(
        ap_energy(mlp["layers"], cam, CASE["batch"]).values())


def _circuits(report: Report, ctx) -> None:
    mlp = ctx.mlp[CASE["in_bits"]]
    report.heading("The AP's figures and where they come from")
    report.table(["figure", "source"], [[k, v] for k, v in ctx.cam.sources.items()])
    widths = sorted({L.width for L in ctx.mlp[CASE["in_bits"]]["layers"]})
    rows = [[w, f"{float(ctx.cam.match(w)) * 1e15:.1f}", f"{float(ctx.cam.mismatch(w)) * 1e15:.1f}"] for w in widths]
    report.table(["MLP row (bits)", "compare, row matches (fJ, law)", "compare, row mismatches (fJ, law)"], rows)
    c = ctx.check
    if c:
        report.text(f"The law against ngspice at {c['width']} bits (the bench's cycle stretched "
                    f"{math.ceil(c['width'] / 128)}x): mismatch {c['bench']['mismatch'] * 1e15:.1f} fJ measured, "
                    f"{c['law']['mismatch'] * 1e15:.1f} fJ by the law "
                    f"({100 * (c['law']['mismatch'] / c['bench']['mismatch'] - 1):+.1f} %); match "
                    f"{c['bench']['match'] * 1e15:.2f} fJ against {c['law']['match'] * 1e15:.2f} fJ (the match law is "
                    f"no guide past its 128 bits: docs/library.md). Matching rows are "
                    f"{100 * (1 - mlp['rates']['mismatch']):.0f} % of the rows compared: every match priced at the "
                    f"bench's {c['bench']['match'] / c['law']['match']:.2f}x the law would raise the AP's MLP energy "
                    f"by {100 * (_match_scaled(ctx, c['bench']['match'] / c['law']['match']) - 1):.1f} %.")
    else:
        report.text("(--quick: the law is not checked against the bench in this run.)")


def _setup(ctx, mlp) -> str:
    cfg, bits = ctx.cfg, CASE["in_bits"]
    widths = ", ".join(str(L.width) for L in mlp["layers"])
    return f"""
- The case, fixed before the run computed anything (`cimspice/studies/ternary_costs.py`, `CASE`):
  {bits}-bit activations; {CASE['batch']} digits per 256-row AP array for the MLP, {CASE['resnet_images']} image
  for ResNet-18; AP match lines whole up to {CASE['segment_bits']} bits (the CAM bench's widest working row),
  wider rows in segments of that length; the crossbar's {CASE['t_read'] * 1e9:.0f} ns read. Rules: {CASE['rule']}.
- Network: MLP 64-{'-'.join(map(str, cfg['hidden']))}-10 without biases, trained in NumPy on the digits, then
  fine-tuned with ternary weights (+-alpha where |W| > 0.7 mean|W|, else 0, straight-through); activations
  requantised between layers by a power-of-two shift with saturation.
- AP: every digit a CAM row (rows of {widths} bits: inputs, accumulators, a carry); each nonzero weight an
  in-place add or subtract (8 passes per accumulator bit); ReLU a compare on the sign bit and a write.
  {mlp['rows']} held-out digits run bit by bit; the AP's outputs
  {'equal' if mlp['exact'] else 'DIFFER FROM'} the integer reference exactly. Compares and writes priced
  from the component library (below).
- Crossbar: the shipped `baseline` system on the component library (`library: default`: the 1T1R cell
  surrogate, `inputs.driver: wl_driver`, `sense.circuit: tia_array`, `sense.sample_hold: sample_hold`,
  `adc.circuit: adc_sar` 6-bit with its measured transfer, partial sums at 6 bits) with one-bit cells as
  differential pairs and {bits}-bit bit-serial inputs, every non-ideality on for the MLP.
- Data movement, both sides: every bit moved between a buffer and the arrays at the simulator's cited
  `costs.BUFFER_BIT_ENERGY` ({float(costs.BUFFER_BIT_ENERGY) * 1e15:.1f} fJ, ISAAC's eDRAM); the AP also pays
  its CAM row writes for loading.
"""
