"""The input-splitting report's non-ideal arrays (``input_splitting._nonideal``, one per array
size): the accuracy claim's note, the section with its tables and plot, and the sizes'
entries in ``results.json``."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from .bnn_analog import NONIDEAL_CASES
from .report import pyplot, save_figure

__all__ = ["gap", "nonideal_line", "nonideal_results", "nonideal_section"]

ALL = NONIDEAL_CASES[-1]


def gap(nd: dict) -> tuple[float, float]:
    """(points, points): the split design's mean accuracy with every non-ideality on minus the
    partial sums', and its standard error from the programmings' spread (std over ``draws``
    programmings, ``std / sqrt(draws - 1)`` per design)."""
    (m0, s0, n0), (m1, s1, n1) = (nd["accuracy"][d][ALL] for d in nd["accuracy"])
    return 100 * (m1 - m0), 100 * math.sqrt(s0 ** 2 / max(n0 - 1, 1) + s1 ** 2 / max(n1 - 1, 1))


def _verdict(nd: dict, points: float) -> tuple[bool, bool]:
    """(kept, resolved): the rule of the case (``input_splitting.CASE``), fixed before the run:
    kept if the split design is at most ``points`` below the partial sums; resolved by the
    draws if the difference exceeds twice its standard error."""
    g, se = gap(nd)
    return g >= -points, abs(g) > 2 * se


def _label(case: str, nd: dict) -> str:
    """A case with the size of its non-ideality."""
    n, sigma, i_col = nd["nonidealities"], nd["sa_sigma"], nd["i_col"]
    detail = {"IR drop": f"{n.r_wire:g} ohm per segment",
              "programming spread": f"{n.programming_sigma:.0%} lognormal",
              "read noise": f"{n.read_noise_sigma:.0%} per cell",
              "sense-amplifier offset": f"{sigma / i_col:.1%} of {i_col * 1e6:.0f} uA"}.get(case)
    return f"{case} ({detail})" if detail else case


def _cell(mean: float, std: float, draws: int) -> str:
    return f"{mean:.2%}" + (f" +- {std:.2%} ({draws} draws)" if draws > 1 else "")


def nonideal_line(ctx) -> str:
    """Both designs' accuracy with every non-ideality on at each array size, and the case's
    verdict there, for the accuracy claim's note."""
    parts = []
    for rows, nd in ctx["nonideal"].items():
        acc = nd["accuracy"]
        g, se = gap(nd)
        kept, resolved = _verdict(nd, ctx["case"]["accuracy_points"])
        exact = 100 * (acc[list(acc)[1]]["ideal"][0] - acc[list(acc)[0]]["ideal"][0])
        parts.append(f"{rows} rows: " + ", ".join(f"{d} {acc[d][ALL][0]:.2%} +- {acc[d][ALL][1]:.2%}" for d in acc)
                     + f", split minus partial sums {g:+.2f} +- {se:.2f} points (exact reads {exact:+.2f}): "
                     + ("kept" if kept else "lost") + (", resolved by the draws" if resolved else ", within the draws"))
    return (f"Through non-ideal arrays (the baseline system's IR drop, spread and noise, the sense amplifiers' "
            f"measured offset, all on; section below): {'; '.join(parts)}.")


def _plot(ctx, out: Path) -> Path:
    """Accuracy with every non-ideality on against array size, both designs, error bars one
    std of the programmings; the exact reads dotted."""
    plt = pyplot()
    sizes = list(ctx["nonideal"])
    fig, ax = plt.subplots(figsize=(5.5, 3.4))
    for k, design in enumerate(ctx["nonideal"][sizes[0]]["accuracy"]):
        shift = 1 + 0.02 * (k - 0.5)             # side by side on the log axis
        mean, std, exact = (np.array([100 * ctx["nonideal"][r]["accuracy"][design][c][i] for r in sizes])
                            for c, i in ((ALL, 0), (ALL, 1), ("ideal", 0)))
        line = ax.errorbar(np.array(sizes) * shift, mean, yerr=std, fmt="o-", capsize=3,
                           label=f"{design}, all non-idealities")
        ax.plot(np.array(sizes) * shift, exact, "s:", color=line[0].get_color(), mfc="none",
                label=f"{design}, exact reads")
    ax.set_xscale("log", base=2)
    ax.set_xticks(sizes, [str(r) for r in sizes])
    ax.minorticks_off()
    ax.set_xlabel("array rows")
    ax.set_ylabel("held-out accuracy (%)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="best")
    return save_figure(fig, out / "accuracy_nonideal_vs_rows.png")


def nonideal_section(report, ctx, out: Path) -> None:
    """Accuracy of both designs at every array size through non-ideal arrays (``_nonideal``)."""
    nds = ctx["nonideal"]
    first = next(iter(nds.values()))
    n, hw, points = first["nonidealities"], ctx["case"]["hardware"], ctx["case"]["accuracy_points"]
    unit = hw.partial_sum_unit()     # A per unit of a partial sum
    report.heading("Accuracy through non-ideal arrays (every array size)")
    report.text(
        f"Both designs at each array size (partial sums through the priced ADCs) read through arrays with the "
        f"shipped `baseline` system's non-idealities (cimspice/sim/systems/baseline.yaml: `r_wire` {n.r_wire:g} ohm, "
        f"`programming_sigma` {n.programming_sigma:g}, `read_noise_sigma` {n.read_noise_sigma:g}) and the sense "
        f"amplifiers' offset, one at a time and all together (`cimspice/studies/bnn_analog.py`). The offset's sigma "
        f"is a Monte Carlo of the transistor-level sense amplifier in ngspice ({first['offset_draws']} Pelgrom "
        f"draws, TT, 27 degC) at each size's mean column current; one unit of a partial sum is {unit * 1e6:.2f} uA. "
        f"IR drop: each array's exact transfer matrix, computed once per design and size. Random cases: mean "
        f"+- std over independent programmings of the arrays. The case's rule, fixed before the run: accuracy "
        f"kept at a size if the split design, every non-ideality on, is at most {points:g} point below the "
        f"partial sums; the difference resolved by the draws if it exceeds twice its standard error.")
    designs = list(first["accuracy"])
    report.table(["rows", "ADC bits", "column current", "offset sigma",
                  *(f"cell current reaching its sense node, {d}: mean (min)" for d in designs),
                  "seconds: Monte Carlo / IR drop / reads"],
                 [[r, nd["bits"], f"{nd['i_col'] * 1e6:.1f} uA",
                   f"{nd['sa_sigma'] * 1e6:.3f} +- {nd['sa_sigma_err'] * 1e6:.3f} uA "
                   f"({nd['sa_sigma'] / unit:.2f} units)",
                   *(f"{nd['drop'][d][0]:.1%} ({nd['drop'][d][1]:.1%})" for d in designs),
                   " / ".join(f"{s:.0f}" for s in nd["seconds"].values())] for r, nd in nds.items()])
    report.table(["rows", "arrays with", *designs],
                 [[r, _label(case, nd), *(_cell(*nd["accuracy"][d][case]) for d in designs)]
                  for r, nd in nds.items() for case in NONIDEAL_CASES])
    rows_out = []
    for r, nd in nds.items():
        g, se = gap(nd)
        kept, resolved = _verdict(nd, points)
        rows_out.append([r, f"{g:+.2f} +- {se:.2f}", "kept" if kept else "lost", "yes" if resolved else "no"])
    report.table(["rows", f"{designs[1]} minus {designs[0]}, all on (points)", f"kept (within {points:g} point)",
                  "resolved (over 2 standard errors)"], rows_out)
    report.figure(_plot(ctx, out), "Held-out accuracy with every non-ideality on against array size, both designs "
                                   "(error bars: one std over the programmings; open squares: exact reads)")


def nonideal_results(nd: dict) -> dict:
    """One size's non-ideal reads for ``results.json`` (currents in A, accuracies as fractions)."""
    g, se = gap(nd)
    return {"i_col_A": nd["i_col"], "sa_offset_sigma_A": nd["sa_sigma"], "sa_offset_sigma_err_A": nd["sa_sigma_err"],
            "offset_draws": nd["offset_draws"], "adc_bits": nd["bits"],
            "accuracy": {d: {c: dict(zip(("mean", "std", "draws"), v)) for c, v in a.items()}
                         for d, a in nd["accuracy"].items()},
            "cell_current_at_sense_node": {d: {"mean": m, "min": lo} for d, (m, lo) in nd["drop"].items()},
            "gap_points": g, "gap_standard_error_points": se, "seconds": nd["seconds"]}
