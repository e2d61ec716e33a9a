"""A study's report: Markdown with PNG figures, readable without running anything.

Every number in it is passed in by the study from its own run; the report only formats.
Its header lists where those numbers come from, as the run read them (:mod:`.provenance`).
The claims table sets each paper's headline figure beside the measured one and says
whether they agree, with the study's explanation where they do not.
"""

from __future__ import annotations

import datetime
import platform
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .. import __version__
from .provenance import current
from .sources import CLAIMS

__all__ = ["Report", "pyplot", "save_figure", "tornado_figure"]


def pyplot():
    """matplotlib's pyplot on the file-only Agg backend (reports never open windows)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig, path: Path, rect=None) -> Path:
    """Lay out (within ``rect``, figure fractions (left, bottom, right, top), when a figure
    legend needs room), write (PNG, 110 dpi) and close ``fig``; returns ``path``."""
    import matplotlib.pyplot as plt

    fig.tight_layout(rect=rect)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def tornado_figure(labels: list[str], panels: list[tuple], path: Path, width: float = 15, ticks=None, *,
                   height: float | None = None, references=(), pad: float | None = None,
                   nominal_label: str = "this run (nominal)", paper_label: str = "the paper") -> Path:
    """A tornado plot: one panel per ``(title, nominal, paper, lows, highs)``, each assumption
    (``labels``, top to bottom) a light bar from the nominal to its low case's value and a dark
    one to its high case's; the nominal solid, the paper's value dashed; log x axes, laid out
    by ``ticks(ax)`` when given. ``references``: more ``(value, label)`` lines on every panel
    (dotted grey); ``pad``: x limits that span every value shown, widened by that factor."""
    plt = pyplot()
    height = 0.42 * len(labels) + 1.6 if height is None else height
    fig, axes = plt.subplots(1, len(panels), figsize=(width, height), sharey=True, squeeze=False)
    ys = np.arange(len(labels))[::-1]
    for ax, (title, base, paper, lows, highs) in zip(axes[0], panels):
        for values, dy, color in ((lows, 0.2, "#9ecae1"), (highs, -0.2, "#08519c")):
            ax.barh(ys + dy, np.asarray(values) - base, left=base, height=0.38, color=color)
        ax.axvline(base, color="k", lw=1)
        for value, _ in references:
            ax.axvline(value, color="0.4", ls=":", lw=1)
        ax.axvline(paper, color="crimson", ls="--", lw=1)
        ax.set_xscale("log")
        if pad is not None:
            shown = [base, paper, *(v for v, _ in references), *lows, *highs]
            ax.set_xlim(min(shown) / pad, max(shown) * pad)
        if ticks:
            ticks(ax)
        ax.set_title(title, fontsize=9)
        ax.grid(alpha=0.3, axis="x", which="both")
        ax.tick_params(labelsize=7)
    axes[0][0].set_yticks(ys, labels, fontsize=7)
    handles = [plt.Rectangle((0, 0), 1, 1, color="#9ecae1"), plt.Rectangle((0, 0), 1, 1, color="#08519c"),
               plt.Line2D([], [], color="k"), *(plt.Line2D([], [], color="0.4", ls=":") for _ in references),
               plt.Line2D([], [], color="crimson", ls="--")]
    names = ["low value", "high value", nominal_label, *(label for _, label in references), paper_label]
    fig.legend(handles, names, loc="lower center", ncol=len(names), fontsize=8, frameon=False)
    return save_figure(fig, path, rect=(0, 0.06, 1, 1))


def _fmt(value, unit: str) -> str:
    if unit == "J" and 1e-18 <= abs(value) < 1e-12:
        return f"{value * 1e15:.3g} fJ"
    if unit == "x":
        return f"{value:.3g}x"
    if unit == "J":
        return f"{value:.3g} J"
    if unit == "points":
        return f"{value:+.2f} points"
    return f"{value:.4g} {unit}"


@dataclass
class Report:
    """Sections of Markdown, figures and claims, written by :meth:`write`."""

    title: str
    out_dir: Path
    parts: list = field(default_factory=list)
    claims: list = field(default_factory=list)

    def heading(self, text: str, level: int = 2) -> None:
        self.parts.append(f"{'#' * level} {text}\n")

    def text(self, text: str) -> None:
        self.parts.append(text.strip() + "\n")

    def table(self, header: list[str], rows: list[list]) -> None:
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
        self.parts.append("\n".join(lines) + "\n")

    def figure(self, png: Path, caption: str) -> None:
        self.parts.append(f"![{caption}]({Path(png).name})\n\n*{caption}*\n")

    def claim(self, key: str, measured: float, agrees: bool, why: str, case: str = "") -> None:
        """Record ``measured`` against :data:`CLAIMS[key] <.sources.CLAIMS>`; ``why`` explains
        the agreement or the difference (required either way: agreement is not the goal);
        ``case``: the configuration and the agreement rule, fixed before the run compared."""
        self.claims.append((CLAIMS[key], measured, agrees, why, case))

    def write(self, setup: str, seconds: float) -> Path:
        self.out_dir.mkdir(parents=True, exist_ok=True)
        sources = current()
        listed = sources.markdown() if sources is not None else \
            "- not collected: the study's `run` is not decorated with `cimspice.studies.provenance.collected`"
        head = [f"# {self.title}\n",
                f"Generated by cimspice {__version__} on {datetime.date.today().isoformat()} "
                f"(Python {platform.python_version()}, {platform.machine()}) in {seconds:.0f} s. "
                "Every number below was computed in that run from what it read, listed here as the run read it "
                "(the papers' claims compared with are in `cimspice/studies/sources.py`):\n", listed + "\n",
                "## Setup\n", setup.strip() + "\n"]
        if self.claims:
            head.append("## The paper's claims against this run\n")
            cases = any(case for *_, case in self.claims)
            rows = [[f"{c.text} [{c.source}]", c.shown or _fmt(c.value, c.unit), _fmt(m, c.unit),
                     "agrees" if ok else "differs", *([case] if cases else []), why]
                    for c, m, ok, why, case in self.claims]
            lines = ["| claim | paper | measured here | | " + ("case fixed before comparing | " if cases else "")
                     + "why |", "|---|---|---|---|" + ("---|" if cases else "") + "---|"]
            lines += ["| " + " | ".join(r) + " |" for r in rows]
            head.append("\n".join(lines) + "\n")
        path = self.out_dir / "report.md"
        path.write_text("\n".join(head + self.parts))
        return path
