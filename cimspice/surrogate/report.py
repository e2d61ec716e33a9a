"""Validation report: a Markdown table of errors plus parity plots and error histograms."""

from __future__ import annotations

import datetime as _dt
import logging
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from .. import __version__
from .accuracy import error_text, number, validation_text
from .core import Surrogate
from .errors import SurrogateError
from .library import load_library, surrogate_corner
from .selection import score_pct
from .sweep import SweepData, read_sweep

__all__ = ["write_report"]

log = logging.getLogger(__name__)


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.+-]+", "_", name).strip("._") or "surrogate"


def _cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _evaluate(s: Surrogate, data: SweepData, output: str) -> dict[str, Any] | None:
    """Predictions of ``s`` for ``output`` at the usable, in-domain points of ``data``."""
    corner = surrogate_corner(s)
    if data.corner is not None:
        # One table per corner: score it on its own corner's points only, never on a mix.
        if corner not in data.corners:
            return None
        data = data.select_corner(corner)
    missing = [n for n in s.inputs if n not in data.inputs]
    if missing or output not in data.outputs:
        return None
    X = data.X(s.inputs)
    y = data.outputs[output]
    ok = np.isfinite(y)
    inside = s.in_domain(X)
    use = ok & inside
    if not use.any():
        return {"n": 0, "n_outside": int((ok & ~inside).sum())}
    pred = s.predict(X[use], out_of_domain="error")
    if not s.single_output:
        pred = pred[:, s.outputs.index(output)]
    return _errors(s, output, y[use], pred, y[ok], int((ok & ~inside).sum()))


def _errors(s: Surrogate, output: str, truth: np.ndarray, pred: np.ndarray, usable: np.ndarray,
            n_outside: int) -> dict[str, Any]:
    """Errors of ``pred`` against ``truth`` (n,) in % of the full scale stored in ``s`` (else
    the span of ``usable``, output units), as :func:`_plots` draws them."""
    j = s.outputs.index(output)
    if s.validation is not None and np.isfinite(s.validation["full_scale"][j]):
        fs = float(s.validation["full_scale"][j])
    else:
        span = float(np.ptp(usable))
        fs = span if span > 0 else 1.0
    rms, mx = score_pct(pred, truth, fs)
    return {"n": int(truth.size), "n_outside": n_outside, "truth": truth, "pred": pred,
            "err_pct": 100 * (pred - truth) / fs, "full_scale": fs, "rms_pct": rms, "max_pct": mx}


def _heldout(s: Surrogate, output: str) -> dict[str, Any] | None:
    """Errors on the points that scored a freshly fitted surrogate (``s.heldout``, set by
    ``fit_surrogates``; None for one loaded from a library)."""
    if not s.heldout or not s.single_output or s.heldout["truth"].size == 0:
        return None
    truth = np.asarray(s.heldout["truth"], dtype=np.float64)
    return _errors(s, output, truth, np.asarray(s.heldout["pred"], dtype=np.float64), truth, 0)


def _plots(name: str, output: str, unit: str, ev: dict[str, Any], out_dir: Path) -> tuple[str, str]:
    from matplotlib.figure import Figure  # Agg canvas; no pyplot, no global backend change
    from matplotlib.ticker import EngFormatter, MaxNLocator

    stem = _safe(f"{name}__{output}")
    parity, hist = f"{stem}_parity.png", f"{stem}_error_hist.png"
    fig = Figure(figsize=(4.5, 4.5), dpi=100)
    ax = fig.add_subplot()
    t, p = ev["truth"], ev["pred"]
    lo, hi = float(min(t.min(), p.min())), float(max(t.max(), p.max()))
    ax.plot([lo, hi], [lo, hi], color="0.6", lw=1, label="y = x")
    ax.scatter(t, p, s=6, alpha=0.7, label=f"{ev['n']} points")
    for axis in (ax.xaxis, ax.yaxis):
        axis.set_major_formatter(EngFormatter(unit=unit or ""))
        axis.set_major_locator(MaxNLocator(5))
    ax.set_xlabel(f"{output} reference")
    ax.set_ylabel(f"{output} surrogate")
    ax.set_title(f"{name}: {_errors_text(ev, unit)}", fontsize=9)
    ax.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    fig.savefig(out_dir / parity)
    fig = Figure(figsize=(5, 3.5), dpi=100)
    ax = fig.add_subplot()
    ax.hist(ev["err_pct"], bins=min(50, max(5, ev["n"] // 5)), color="tab:blue", alpha=0.8)
    ax.set_xlabel("surrogate - reference [% of full scale]")
    ax.set_ylabel("points")
    ax.set_yscale("log")
    ax.set_title(f"{name}: error distribution ({ev['n']} points)", fontsize=9)
    fig.tight_layout()
    fig.savefig(out_dir / hist)
    return parity, hist


def _errors_text(ev: dict[str, Any], unit: str) -> str:
    """``"RMS 1.9e-4 LSB (11.6 %FS), max 2.3e-4 LSB (13.8 %FS)"`` of an :func:`_errors` result."""
    return (f"{error_text('RMS', ev['rms_pct'], ev['full_scale'], unit)}, "
            f"{error_text('max', ev['max_pct'], ev['full_scale'], unit)}")


def _score(pct: Any, full_scale: Any, unit: str) -> str:
    """A table cell: ``1.9e-4 LSB (11.6 %FS)``, or ``-``."""
    return error_text("", pct, full_scale, unit).strip()


def _candidate_table(s: Surrogate) -> list[str]:
    """Every candidate family's stored scores, in the output's unit (one output with a
    full scale) and %FS."""
    if not s.candidates:
        return []
    fs = s.validation["full_scale"][0] if s.validation is not None and s.n_outputs == 1 else float("nan")
    unit = s.output_units[0] if s.n_outputs == 1 else ""
    lines = ["| candidate | status | RMS | max | fit s | note |", "|---|---|---:|---:|---:|---|"]
    for c in s.candidates:
        mark = " (chosen)" if c.get("selected") else ""
        note = c.get("reason", "") or c.get("warnings", "")
        lines.append(f"| {_cell(c.get('label', '?'))}{mark} | {_cell(c.get('status', '?'))} | "
                     f"{_score(c.get('rms_pct'), fs, unit)} | {_score(c.get('max_pct'), fs, unit)} | "
                     f"{number(c.get('fit_time_s'))} | {_cell(note)} |")
    return lines + [""]


def _heldout_section(name: str, s: Surrogate, output: str, j: int, out_dir: Path) -> list[str]:
    """The parity plot and error histogram of ``output`` on its fit's held-out points
    (none for a surrogate loaded from a library)."""
    ev = _heldout(s, output)
    if ev is None:
        return []
    parity, hist = _plots(name, output, s.output_units[j], ev, out_dir)
    return [f"`{output}` on the {ev['n']} held-out points that scored it: {_errors_text(ev, s.output_units[j])} "
            f"({_cell(s.heldout['method'])}).", "",
            f"![parity plot]({parity}) ![error histogram]({hist})", ""]


def write_report(
    library: str | Path | Mapping[str, Surrogate] | Iterable[Surrogate],
    validation: str | Path | SweepData | None,
    out_dir: str | Path,
    *,
    title: str | None = None,
) -> Path:
    """Write ``report.md`` and, per surrogate output, a parity plot and an error histogram.

    Parameters
    ----------
    library : library file path, mapping name -> Surrogate, or iterable of Surrogate
    validation : sweep file (or :class:`SweepData`) to evaluate the surrogates on, e.g. an
        ``lhs`` sweep of off-grid points; ``None`` writes the table of stored scores, with
        plots for surrogates just fitted (``fit_surrogates``): of the held-out points that
        scored them, predicted by the chosen family fitted without them.
        Points outside a surrogate's training domain are left out and counted. If it is
        the very sweep a surrogate was fitted on, the report says the errors are in-sample.
    out_dir : folder created if needed
    title : what the surrogates are, for the report's first line (default: the library
        path, or "surrogates in memory")

    Returns the path of ``report.md``. Errors are in the output's unit and in % of its full
    scale as stored in the surrogate (max - min of the training data).
    """
    if isinstance(library, (str, Path)):
        lib_label = f"`{library}`"
        surrogates = load_library(library)
    elif isinstance(library, Mapping):
        lib_label, surrogates = "surrogates in memory", dict(library)
    else:
        lib_label, surrogates = "surrogates in memory", {s.name: s for s in library}
    lib_label = title or lib_label
    if not surrogates:
        raise SurrogateError("write_report: no surrogates")
    data = None
    if validation is not None:
        data = validation if isinstance(validation, SweepData) else read_sweep(validation)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)

    now = _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")
    lines = ["# Surrogate validation report", ""]
    lines.append(f"Library: {lib_label}. Generated {now} by cimspice {__version__}.")
    if data is not None:
        sha = data.sha256[:12] + "..." if data.sha256 else "-"
        lines.append(
            f"Evaluation data: `{data.label}` (design {data.design or '-'}, sha256 {sha}, "
            f"{data.n_points} usable points)."
        )
    elif any(s.heldout for s in surrogates.values()):
        lines.append("No evaluation data given: the table lists the stored scores, and each surrogate is plotted "
                     "on the held-out points that scored it.")
    else:
        lines.append("No evaluation data given: the table lists the scores stored in the library; no plots.")
    lines += ["", "Errors are in each output's unit and in % of its full scale (%FS: max - min over the training "
              "sweep).", ""]
    header = "| surrogate | output | model | stored RMS | stored max | stored points |"
    sep = "|---|---|---|---:|---:|---:|"
    if data is not None:
        header += " report RMS | report max | report points | outside domain |"
        sep += "---:|---:|---:|---:|"
    lines += ["## Summary", "", header, sep]

    sections: list[str] = []
    for name, s in surrogates.items():
        sec = [f"## {name}", ""]
        if s.description:
            sec += [s.description, ""]
        sec += ["| input | unit | scale | min | max |", "|---|---|---|---:|---:|"]
        for j, n in enumerate(s.inputs):
            sec.append(
                f"| {_cell(n)} | {_cell(s.input_units[j] or '-')} | {s.input_scales[j]} | "
                f"{s.domain_min[j]:.6g} | {s.domain_max[j]:.6g} |"
            )
        sec.append("")
        if s.validation is not None and s.validation.get("method"):
            stored = "; ".join(f"{o} {validation_text(s, j)}" for j, o in enumerate(s.outputs))
            sec += [f"Stored scores: {_cell(s.validation['method'])}: {stored}.", ""]
        in_sample = data is not None and data.sha256 and data.sha256 == s.provenance.get("source_sweep_sha256")
        if in_sample:
            sec += ["**The evaluation data is the sweep this surrogate was fitted on: its errors are in-sample.**", ""]
        sec += _candidate_table(s)
        for j, output in enumerate(s.outputs):
            row = f"| {_cell(name)} | {_cell(output)} [{_cell(s.output_units[j] or '-')}] | {s.model_label} | "
            v = s.validation
            row += (f"{_score(v['rms_pct'][j], v['full_scale'][j], s.output_units[j])} | "
                    f"{_score(v['max_pct'][j], v['full_scale'][j], s.output_units[j])} | {v['n_points']} |"
                    if v is not None else "- | - | - |")
            if data is not None:
                ev = _evaluate(s, data, output)
                if ev is None:
                    row += " - | - | 0 | - |"
                    sec += [
                        f"`{output}`: the evaluation data lacks this output, some input or this corner; not evaluated.",
                        "",
                    ]
                elif ev["n"] == 0:
                    row += f" - | - | 0 | {ev['n_outside']} |"
                    sec += [f"`{output}`: no evaluation point inside the training domain.", ""]
                else:
                    unit = s.output_units[j]
                    row += (f" {_score(ev['rms_pct'], ev['full_scale'], unit)} | "
                            f"{_score(ev['max_pct'], ev['full_scale'], unit)} | {ev['n']} | {ev['n_outside']} |")
                    parity, hist = _plots(name, output, unit, ev, out_dir)
                    sec += [
                        f"`{output}` on the evaluation data: {_errors_text(ev, unit)} over {ev['n']} points"
                        + (f" ({ev['n_outside']} outside the training domain left out)" if ev["n_outside"] else "")
                        + ".",
                        "",
                        f"![parity plot]({parity}) ![error histogram]({hist})",
                        "",
                    ]
            if data is None:
                sec += _heldout_section(name, s, output, j, out_dir)
            lines.append(row)
        sections += sec
    lines.append("")
    lines += sections
    report = out_dir / "report.md"
    report.write_text("\n".join(lines) + "\n", encoding="utf-8")
    log.info("wrote %s", report)
    return report
