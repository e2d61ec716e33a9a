"""Sensitivity of the ``reprogrammable-nonlinear`` verdicts: each assumption that prices a
mode moved to a low and a high value, everything else nominal, and the whole-network
energies re-priced from the run's own counts (no new ngspice runs, no new simulation).

Per network and mode the run gives the energy of the function evaluations themselves
(``unit``: the PWL unit's surrogate energy summed over its inputs, the table's measured
energy per lookup times its lookups, or the digital unit's cited price times its
evaluations), the rest of the nonlinear energy (softmax normalisation, pooling) and the
rest of the inference (matrix products, converters, buffers). A case scales some of these.
"""

from __future__ import annotations

from dataclasses import dataclass

from .block_sensitivity import _log_ticks
from .report import tornado_figure

__all__ = ["HEADLINES", "Scale", "headlines", "swings", "tornado"]

ARRAY, LUT, DIGITAL, PAIR = "ReRAM PWL array", "lookup table", "digital unit", "analog differential pair"
# key -> (panel title, the paper's figure it is compared with)
HEADLINES = {
    "lut_vs_array": ("table / array: nonlinear energy (x)", 8.5),
    "digital_vs_array": ("digital unit / array: nonlinear (x)", 8.5),
    "total_lut_vs_array": ("table / array: per inference (x)", 8.5),
    "pair_vs_array": ("diff. pair / array: nonlinear (x)", 8.5),   # networks the pair can run
}


@dataclass(frozen=True)
class Scale:
    """Factors on the nominal prices: the array's, the table's, the digital unit's and the
    differential pair's energy per evaluation, and the energy of everything but the
    nonlinearities."""

    array: float = 1.0
    lut: float = 1.0
    digital: float = 1.0
    pair: float = 1.0
    rest: float = 1.0


def _price(row: dict, factor: float, rest: float) -> tuple[float, float]:
    """(nonlinear, total) energy (J per inference) of one mode's ``row`` with its function
    evaluations scaled by ``factor`` and the non-nonlinear energy by ``rest``."""
    nonlinear = row["nonlinear"] - row["unit"] + factor * row["unit"]
    return nonlinear, rest * (row["total"] - row["nonlinear"]) + nonlinear


def headlines(rows: dict, s: Scale = Scale()) -> dict:
    """The ratios of :data:`HEADLINES` (the pair's when it ran) for one network's mode ``rows`` (from
    ``_mode_rows``: nonlinear, unit and total energy per mode) under scale ``s``."""
    arr = _price(rows[ARRAY], s.array, s.rest)
    lut = _price(rows[LUT], s.lut, s.rest)
    dig = _price(rows[DIGITAL], s.digital, s.rest)
    out = {"lut_vs_array": lut[0] / arr[0], "digital_vs_array": dig[0] / arr[0], "total_lut_vs_array": lut[1] / arr[1]}
    if PAIR in rows:
        out["pair_vs_array"] = _price(rows[PAIR], s.pair, s.rest)[0] / arr[0]
    return out


def _cases(segments: int, lut_bits: int) -> list[tuple[str, str, str, Scale, Scale]]:
    """(label, low text, high text, low scale, high scale) of every assumption moved. The
    segment and address-bit cases scale the unit's whole energy with its comparator count
    (S - 1, 2^N - 1): the comparators dominate both (docs/nonlinear.md), so this bounds the
    move from above."""
    s_lo, s_hi = max(2, segments // 2), 2 * segments
    n_lo, n_hi = lut_bits - 1, lut_bits + 1
    comps = 2 ** lut_bits - 1
    return [
        ("PWL unit energy per evaluation", "x0.5", "x2", Scale(array=0.5), Scale(array=2.0)),
        ("lookup-table energy per lookup", "x0.5", "x2", Scale(lut=0.5), Scale(lut=2.0)),
        ("digital unit price (ISAAC)", "x0.5", "x2", Scale(digital=0.5), Scale(digital=2.0)),
        ("pair energy (tail current, period)", "x0.5", "x2", Scale(pair=0.5), Scale(pair=2.0)),
        ("all but the nonlinearities", "x0.5", "x2", Scale(rest=0.5), Scale(rest=2.0)),
        ("PWL segments, energy ~ S-1", str(s_lo), str(s_hi),
         Scale(array=(s_lo - 1) / (segments - 1)), Scale(array=(s_hi - 1) / (segments - 1))),
        ("table address bits, energy ~ 2^N-1", str(n_lo), str(n_hi),
         Scale(lut=(2 ** n_lo - 1) / comps), Scale(lut=(2 ** n_hi - 1) / comps)),
    ]


def swings(rows: dict, segments: int, lut_bits: int) -> list[tuple[str, str, str, dict, dict]]:
    """Every case of :func:`_cases` re-priced: (label, low text, high text, low headlines,
    high headlines)."""
    return [(label, lo, hi, headlines(rows, a), headlines(rows, b))
            for label, lo, hi, a, b in _cases(segments, lut_bits)]


def verdict(cases: list, nominal: dict, key: str) -> str:
    """The range of headline ``key`` over every case, and whether the array wins (ratio
    above 1) over all of it."""
    values = [nominal[key]] + [c[k][key] for c in cases for k in (3, 4)]
    lo, hi = min(values), max(values)
    if lo > 1:
        side = "the array wins in every case"
    elif hi < 1:
        side = "the array loses in every case"
    else:
        side = "the verdict flips inside the range"
    return f"{lo:.4g}x to {hi:.4g}x ({side})"


def tornado(cases: list, nominal: dict, path):
    """One panel per headline: each case's low (light) and high (dark) value; log axes."""
    panels = [(title, nominal[key], paper, [c[3][key] for c in cases], [c[4][key] for c in cases])
              for key, (title, paper) in HEADLINES.items() if key in nominal]
    return tornado_figure([f"{c[0]} ({c[1]} / {c[2]})" for c in cases], panels, path, width=16, ticks=_log_ticks)


def section(report, results: dict, best: str, cfg: dict, out) -> None:
    """The report's sensitivity section: every network's headlines at each case's low and high
    value (``results``: network -> mode rows), the tornado of network ``best`` (the claimed
    one), and each headline's range over the cases."""
    report.heading("Sensitivity: what decides the verdict")
    table, per_net = [], {}
    for net, rows in results.items():
        nominal = headlines(rows)
        cases = swings(rows, cfg["segments"], cfg["lut_bits"])
        per_net[net] = (nominal, cases)
        for c in [("nominal", "-", "-", nominal, nominal)] + cases:
            table.append([net, c[0], f"{c[1]} / {c[2]}",
                          *(f"{c[3][k]:.4g}x / {c[4][k]:.4g}x" if k in c[3] else "-" for k in HEADLINES)])
    report.table(["network", "assumption", "low / high", *(f"{HEADLINES[k][0]}: low / high" for k in HEADLINES)],
                 table)
    nominal, cases = per_net[best]
    report.figure(tornado(cases, nominal, out / "sensitivity_tornado.png"),
                  f"The ratios for the {best} with one assumption moved at a time (the paper's 8.5x dashed)")
    lines = [f"- {HEADLINES[k][0]}, {net}: {verdict(c, n, k)}." for net, (n, c) in per_net.items() for k in HEADLINES
             if k in n]
    report.text("Over every case above (one assumption at a time):\n\n" + "\n".join(lines) + "\n\n"
                "The array's advantage over the table is set by the two units' energies per evaluation, "
                "that is by their comparator counts; against the digital unit the verdict rests on ISAAC's "
                "cited price; per inference the matrix products dilute either ratio towards 1. The pair's energy "
                "is its tail current times the evaluation period: halving either halves it.")
