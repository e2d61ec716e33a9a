"""Sensitivity of ``ternary-associative``'s verdicts: the crossbar's energy over the AP's, for
the MLP and for ResNet-18, with each deciding assumption moved to a low and a high value
(:data:`SWINGS`), and the tornado plot of them.

Everything here re-prices the run's measured counts and simulated component energies: the
AP's passes are re-counted only for other input bits (the MLP executed again on the AP at 2
and 8 bits; ResNet-18's counts follow); the crossbar's components are scaled
(:func:`.ternary_costs.scaled_crossbar`), not re-simulated.
"""

from __future__ import annotations

from dataclasses import dataclass

from .block_sensitivity import _log_ticks
from .report import tornado_figure
from .ternary_costs import CASE, ap_energy, scaled_crossbar
from .ternary_resnet import ap_layers

__all__ = ["SWINGS", "Swing", "ratios", "sensitivity", "tornado", "verdict"]

#: (label, low text, high text, low setting, high setting); the nominal is :data:`.CASE`
SWINGS = [
    ("batch: digits (MLP) or images (ResNet) per AP array", "1", "256", {"batch": 1}, {"batch": 256}),
    ("AP match line", "128-bit segments", "whole row, any width", {"segment": 128}, {"segment": None}),
    ("CAM compare past 128 bits (width law)", "x0.82", "x1.044", {"scale": 0.82}, {"scale": 1.044}),
    ("crossbar TIA and ADC energy", "x0.5", "x2", {"periphery": 0.5}, {"periphery": 2.0}),
    ("crossbar read time", "5 ns", "20 ns", {"t_read": 5e-9}, {"t_read": 20e-9}),
    ("activation bits (both sides)", "2", "8", {"bits": 2}, {"bits": 8}),
]


@dataclass(frozen=True)
class Swing:
    label: str
    low_text: str
    high_text: str
    low: dict    # {"mlp": ratio, "resnet": ratio}
    high: dict


def _setting(kw: dict) -> dict:
    s = {"batch": None, "segment": CASE["segment_bits"], "scale": 1.0, "periphery": 1.0, "t_read": None,
         "bits": CASE["in_bits"]}
    s.update(kw)
    return s


def ratios(ctx, **kw) -> dict:
    """Crossbar energy over the AP's per inference, ``{"mlp": .., "resnet": ..}``, at the case
    with the settings ``kw`` moved (batch, segment, scale, periphery, t_read, bits)."""
    s = _setting(kw)
    bits, nominal = s["bits"], CASE["in_bits"]
    xb_kw = {"bits": None if bits == nominal else bits, "t_read": s["t_read"], "periphery": s["periphery"]}
    mlp = ctx.mlp[bits]
    e_ap = sum(ap_energy(mlp["layers"], ctx.cam, s["batch"] or CASE["batch"], s["segment"], s["scale"]).values())
    e_xb = scaled_crossbar(ctx.xb.costs.energy, nominal, buffer_bits=ctx.mlp_buffer_bits, **xb_kw)
    rn = ctx.resnet
    images = s["batch"] or CASE["resnet_images"]
    layers = ap_layers(rn["layers"], mlp["rates"], bits, images)
    e_ap_rn = sum(ap_energy(layers, ctx.cam, images, s["segment"], s["scale"]).values())
    e_xb_rn = scaled_crossbar(rn["xb_energy"], nominal, buffer_bits=rn["buffer_bits"], **xb_kw)
    return {"mlp": e_xb / e_ap, "resnet": e_xb_rn / e_ap_rn}


def sensitivity(ctx) -> list[Swing]:
    return [Swing(label, lo_t, hi_t, ratios(ctx, **lo), ratios(ctx, **hi)) for label, lo_t, hi_t, lo, hi in SWINGS]


def verdict(nominal: float, swings: list[Swing], key: str) -> str:
    """The verdict over the range: who wins at every setting, or which swings turn it."""
    values = [nominal] + [v for s in swings for v in (s.low[key], s.high[key])]
    lo, hi = min(values), max(values)
    span = f"crossbar / AP from {lo:.2g}x to {hi:.2g}x over the swings"
    if lo > 1:
        return f"the AP wins over the whole range ({span})"
    if hi < 1:
        return f"the crossbar wins over the whole range ({span})"
    turns = [f"{s.label} at {t}" for s in swings for t, v in ((s.low_text, s.low[key]), (s.high_text, s.high[key]))
             if (v > 1) != (nominal > 1)]
    winner = "AP" if nominal > 1 else "crossbar"
    return f"the {winner} wins at the case; the verdict turns with {'; '.join(turns)} ({span})"


def tornado(swings: list[Swing], nominal: dict, paper: float, path):
    """Two panels (MLP, ResNet-18): each swing's low (light) and high (dark) ratio as a bar
    from the nominal (solid line); break-even (dotted) and the paper's 7.5x (dashed)."""
    panels = [(f"{title}: crossbar / AP energy (x)", nominal[key], paper, [s.low[key] for s in swings],
               [s.high[key] for s in swings])
              for key, title in (("mlp", "ternary MLP, digits"), ("resnet", "ternary ResNet-18, 3x32x32"))]
    return tornado_figure([f"{s.label}\n({s.low_text} / {s.high_text})" for s in swings], panels, path, width=11,
                          ticks=_log_ticks, height=0.5 * len(swings) + 1.8, pad=1.5,
                          references=[(1.0, "break-even (AP wins right of it)")],
                          nominal_label="this run (the case)", paper_label="the paper (7.5x)")
