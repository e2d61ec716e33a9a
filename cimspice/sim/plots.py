"""Plots of a simulation: energy breakdown, and accuracy against ADC resolution / array size."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .accounting import COMPONENTS

__all__ = ["plot_energy_breakdown", "plot_sweep"]


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt



def plot_energy_breakdown(result, png) -> Path:
    """Stacked bars of energy per inference by component, one bar per layer, and the total."""
    plt = _pyplot()
    from matplotlib.ticker import EngFormatter

    layers = [k for k, v in result.costs.energy_by_layer.items() if sum(v.values()) > 0]
    fig, (ax, ax_total) = plt.subplots(1, 2, figsize=(11, 4.2), gridspec_kw={"width_ratios": [4, 1]})
    bottom = np.zeros(len(layers))
    colors = plt.cm.tab10(np.arange(len(COMPONENTS)))
    for comp, color in zip(COMPONENTS, colors):
        vals = np.array([result.costs.energy_by_layer[layer][comp] for layer in layers])
        ax.bar(layers, vals, bottom=bottom, label=comp, color=color)
        bottom += vals
        ax_total.bar(["total"], [result.costs.energy[comp]],
                     bottom=[sum(result.costs.energy[c] for c in COMPONENTS[:COMPONENTS.index(comp)])],
                     color=color)
    ax.set_ylabel("energy per inference")
    for a in (ax, ax_total):
        a.yaxis.set_major_formatter(EngFormatter(unit="J"))
    ax.set_title(f"{result.network} on {result.system}: energy by layer and component")
    plt.setp(ax.get_xticklabels(), rotation=45, ha="right", rotation_mode="anchor")
    ax.legend(fontsize=8)
    ax_total.set_title(EngFormatter(unit="J", places=2)(result.costs.total_energy))
    fig.tight_layout()
    png = Path(png)
    fig.savefig(png, dpi=120)
    plt.close(fig)
    return png


def plot_sweep(rows: list[dict], png, x: str = "adc_bits") -> Path:
    """Analog metric against ``x`` ("adc_bits" or "rows"), one line per (split, other
    parameter), with the float reference dashed and confidence intervals as error bars."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    other = "rows" if x == "adc_bits" else "adc_bits"
    groups: dict = {}
    for r in rows:
        groups.setdefault((r["split"], r[other]), []).append(r)
    for (split, o), rs in sorted(groups.items(), key=lambda kv: (str(kv[0][0]), str(kv[0][1]))):
        rs = sorted(rs, key=lambda r: (r[x] is None, r[x] or 0))
        xs = [r[x] if r[x] is not None else np.nan for r in rs]
        label = f"{split}, {'array ' + str(o) + ' rows' if other == 'rows' else str(o) + '-bit ADC'}"
        ax.errorbar(xs, [r["analog"] for r in rs], yerr=[r["ci"] for r in rs], marker="o", capsize=3, label=label)
    if rows:
        ax.axhline(rows[0]["float"], color="k", ls="--", lw=1, label="float")
        ax.set_ylabel(rows[0]["metric"])
    ax.set_xlabel("ADC resolution (bits)" if x == "adc_bits" else "array rows")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    png = Path(png)
    fig.savefig(png, dpi=120)
    plt.close(fig)
    return png
