"""How the training block's headline figures move when its assumptions move: each
assumption to a low and a high value, everything else nominal, every case re-read,
re-sized and re-simulated through :func:`.block_case.evaluate`; a tornado plot per figure."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from .block_case import Case, Context, Evaluation, evaluate
from .report import tornado_figure

__all__ = ["METRICS", "Swing", "sensitivity", "tornado"]

# headline key -> (label, unit scale, unit, claim key)
METRICS = {
    "mac_energy": ("energy per MAC", 1e15, "fJ", "marinella.mac_energy"),
    "energy_vs_reram": ("energy vs digital ReRAM", 1.0, "x", "marinella.energy_vs_reram"),
    "latency_vs_reram": ("latency vs digital ReRAM", 1.0, "x", "marinella.latency_vs_reram"),
    "energy_vs_sram": ("energy vs SRAM", 1.0, "x", "marinella.energy_vs_sram"),
    "latency_vs_sram": ("latency vs SRAM", 1.0, "x", "marinella.latency_vs_sram"),
}


@dataclass(frozen=True)
class Swing:
    """One assumption moved to ``low`` and ``high`` (the cases, and how the report names them)."""

    label: str
    low_text: str
    high_text: str
    low: Evaluation
    high: Evaluation


def _variants(c: Case) -> list[tuple[str, str, str, Case, Case]]:
    """(label, low text, high text, low case, high case) of every assumption moved."""
    ns = 1e9
    return [
        ("device window g_on, g_off", "x0.5", "x2", replace(c, window_scale=0.5 * c.window_scale),
         replace(c, window_scale=2 * c.window_scale)),
        ("read voltage", "/1.5", "x1.5", replace(c, v_read_scale=c.v_read_scale / 1.5),
         replace(c, v_read_scale=1.5 * c.v_read_scale)),
        ("ramp ADC resolution", f"{c.adc_bits - 1} bits", f"{c.adc_bits + 1} bits", replace(c, adc_bits=c.adc_bits - 1),
         replace(c, adc_bits=c.adc_bits + 1)),
        ("integration capacitance", "x0.5", "x2", replace(c, c_scale=0.5 * c.c_scale),
         replace(c, c_scale=2 * c.c_scale)),
        ("time-code clock (input LSB, ramp step)", f"{0.5 * c.t_lsb * ns:g} ns", f"{2 * c.t_lsb * ns:g} ns",
         replace(c, t_lsb=0.5 * c.t_lsb), replace(c, t_lsb=2 * c.t_lsb)),
        ("programming pulse amplitude", f"{c.pulse_v - 0.1:.1f} V", f"{c.pulse_v + 0.1:.1f} V",
         replace(c, pulse_v=c.pulse_v - 0.1), replace(c, pulse_v=c.pulse_v + 0.1)),
        ("line-driver energy per pulse", "x0.5", "x2", replace(c, driver_scale=0.5 * c.driver_scale),
         replace(c, driver_scale=2 * c.driver_scale)),
        ("digital MAC and SRAM energies", "x0.5", "x2", replace(c, digital_scale=0.5 * c.digital_scale),
         replace(c, digital_scale=2 * c.digital_scale)),
        ("digital ReRAM write pulse", f"{c.write_v - 0.1:.1f} V", f"{c.write_v + 0.1:.1f} V",
         replace(c, write_v=c.write_v - 0.1), replace(c, write_v=c.write_v + 0.1)),
        ("digital MAC units", str(c.mac_units // 2), str(2 * c.mac_units), replace(c, mac_units=c.mac_units // 2),
         replace(c, mac_units=2 * c.mac_units)),
    ]


def sensitivity(ctx: Context, nominal: Case) -> list[Swing]:
    """Every assumption of :func:`_variants` at its low and high value."""
    return [Swing(label, lo_text, hi_text, evaluate(ctx, lo), evaluate(ctx, hi))
            for label, lo_text, hi_text, lo, hi in _variants(nominal)]


def _log_ticks(ax) -> None:
    """Ticks of the x axis (log, its limits set) at 1, 2, 5 per decade (1, 1.5, 2, 3, 5, 7
    when the view spans less), labelled as plain numbers."""
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullFormatter, NullLocator

    lo, hi = ax.get_xlim()
    decades = range(int(np.floor(np.log10(lo))), int(np.ceil(np.log10(hi))) + 1)
    for mantissas in ((1, 2, 5), (1, 1.5, 2, 3, 5, 7)):
        ticks = [m * 10.0 ** k for k in decades for m in mantissas if lo <= m * 10.0 ** k <= hi]
        if len(ticks) >= 3:
            break
    ax.xaxis.set_major_locator(FixedLocator(ticks))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.xaxis.set_minor_formatter(NullFormatter())


def tornado(swings: list[Swing], nominal: dict, paper: dict, path):
    """One panel per headline figure: each assumption's low (light) and high (dark) case as a
    bar from the nominal value (solid line); the paper's value dashed. Log axes."""
    panels = [(f"{label} ({unit})", nominal[key] * scale, paper[claim] * scale,
               [s.low.headline[key] * scale for s in swings], [s.high.headline[key] * scale for s in swings])
              for key, (label, scale, unit, claim) in METRICS.items()]
    return tornado_figure([f"{s.label} ({s.low_text} / {s.high_text})" for s in swings], panels, path, ticks=_log_ticks)
