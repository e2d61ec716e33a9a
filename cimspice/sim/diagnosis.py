"""Per-layer diagnosis: where a network's analog error and its cost come from.

For each layer of a simulated inference (the first device seed's draw):

- ``rel_rms``: the RMS of the layer's analog output minus the float network's product of the
  *same* inputs, over the RMS of that float product: the layer's own error, not what it
  inherits from earlier layers (matrix layers only), on at most
  :data:`.tile.DIAGNOSIS_VECTORS` input vectors of each call (evenly strided);
- ``snr_db``: ``-20 log10(rel_rms)``;
- ``clip_rate``: the share of its conversions at the ADC's end codes (a range too small for
  the currents: calibrate on more data, or use more bits);
- ``ir_attenuation``: the mean fraction of the cells' current left after IR drop on the word
  and bit lines (1: none);
- ``energy_j``, ``energy_share``, ``latency_s``, ``latency_share``: its part of the inference's
  totals (:class:`.accounting.CostReport`).

A collapse then explains itself: a layer with clipping near 1 or an SNR near 0 dB is where
the accuracy went. :func:`layer_table` makes the rows, :func:`format_layers` the text table,
:func:`plot_layers` the figure.
"""

from __future__ import annotations

import math
from pathlib import Path

__all__ = ["format_layers", "layer_table", "plot_layers"]


def _ratio(a: float, b: float) -> float | None:
    return float(a / b) if b > 0 else None


def layer_table(ledger, costs) -> list[dict]:
    """One dict per layer, in execution order, from a backend's ``ledger`` (its diagnosis
    sums) and the run's :class:`~.accounting.CostReport` ``costs``."""
    total_e, total_t = costs.total_energy, costs.latency
    names = list(dict.fromkeys([*costs.energy_by_layer, *costs.latency_by_layer]))
    rows = []
    for name in names:
        d = ledger.diagnosis.get(name, {})
        energy = float(sum(costs.energy_by_layer.get(name, {}).values()))
        latency = float(costs.latency_by_layer.get(name, 0.0))
        rel = math.sqrt(d["error_sq"] / d["reference_sq"]) if d.get("reference_sq") else None
        rows.append({
            "layer": name,
            "rel_rms": rel,
            "snr_db": (-20 * math.log10(rel) if rel else None) if rel is not None else None,
            "clip_rate": _ratio(d.get("clipped", 0), d.get("conversions", 0)),
            "ir_attenuation": _ratio(d.get("attenuation", 0.0), d.get("vectors", 0)),
            "energy_j": energy, "energy_share": _ratio(energy, total_e),
            "latency_s": latency, "latency_share": _ratio(latency, total_t),
        })
    return rows


def _cell(value, fmt: str) -> str:
    return "-" if value is None else format(value, fmt)


def format_layers(rows: list[dict]) -> list[str]:
    """The rows of :func:`layer_table` as text lines."""
    from .results import engineering

    # the names in full: an exporter's (``/layer1/layer1.0/conv1/Conv``) differ only at the end
    w = max([5, *(len(r["layer"]) for r in rows)]) + 1
    lines = [f"  {'layer':<{w}}{'rel rms':>9}{'SNR dB':>8}{'clipped':>9}{'IR att.':>9}{'energy':>11}{'share':>7}"
             f"{'latency':>11}{'share':>7}"]
    for r in rows:
        lines.append(f"  {r['layer']:<{w}}{_cell(r['rel_rms'], '.2%'):>9}{_cell(r['snr_db'], '.1f'):>8}"
                     f"{_cell(r['clip_rate'], '.2%'):>9}{_cell(r['ir_attenuation'], '.4f'):>9}"
                     f"{engineering(r['energy_j'], 'J'):>11}{_cell(r['energy_share'], '.0%'):>7}"
                     f"{engineering(r['latency_s'], 's'):>11}{_cell(r['latency_share'], '.0%'):>7}")
    return lines


def plot_layers(rows: list[dict], png: Path, title: str) -> Path:
    """SNR and ADC clipping per matrix layer (left), energy and latency shares per layer
    (right)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [r["layer"] for r in rows]
    x = range(len(rows))
    fig, (left, right) = plt.subplots(1, 2, figsize=(max(8.0, 0.9 * len(rows) + 4), 4.2))
    snr = [r["snr_db"] if r["snr_db"] is not None else float("nan") for r in rows]
    left.bar(x, snr, color="tab:blue", label="SNR (dB)")
    left.set_ylabel("output SNR against float (dB)")
    twin = left.twinx()
    # markers only: a clipping rate exists for matrix layers, not for the ones between them
    twin.plot(list(x), [float("nan") if r["clip_rate"] is None else 100 * r["clip_rate"] for r in rows], "o",
              color="tab:red", label="ADC clipped")
    twin.set_ylabel("conversions clipped (%)", color="tab:red")
    left.set_title("error per layer")
    width = 0.4
    right.bar([i - width / 2 for i in x], [100 * (r["energy_share"] or 0.0) for r in rows], width, label="energy")
    right.bar([i + width / 2 for i in x], [100 * (r["latency_share"] or 0.0) for r in rows], width, label="latency")
    right.set_ylabel("share of the inference (%)")
    right.set_title("cost per layer")
    right.legend()
    for ax in (left, right):
        ax.set_xticks(list(x))
        ax.set_xticklabels(names, rotation=45, ha="right", rotation_mode="anchor")
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(png, dpi=110)
    plt.close(fig)
    return png
