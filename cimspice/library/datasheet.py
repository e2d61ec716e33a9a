"""A characterized library as a designer reads one: a datasheet page per block.

``cimspice library datasheet LIB.h5 -o DIR`` writes ``DIR/index.md`` and, for every block
(the surrogates that share a name before the first dot, e.g. ``adc_sar6.energy`` and
``adc_sar6.inl_max``), ``DIR/<block>.md`` with:

- a table of its surrogates: output and unit, inputs and their characterized ranges, the
  held-out error (RMS and maximum on off-grid SPICE points, in the output's unit and % of
  full scale, and against the output's tolerance where its block declares one), the model;
- its provenance (circuit, corner, temperatures, ngspice version, sweep files);
- one figure per output: the output against each input over its characterized range, the
  other inputs at the middle of theirs, one curve per value of a second input (supply or
  temperature where the block has one), read from the surrogate (NumPy only);
- for families of one circuit at several resolutions (``adc_sar4``, ``adc_sar6``, ...), a
  figure of each output against the resolution.

Everything comes from the library file: no ngspice runs here.
"""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

import numpy as np

from ..surrogate import load_blocks, load_library
from ..surrogate.accuracy import abs_error, validation_text
from .provenance import output_tolerance

__all__ = ["write_datasheet"]

_SECOND_INPUTS = ("vdd", "temp", "v_wl", "v_bl")  # the curves of a figure, first one found
_ENG = [(1e-15, "f"), (1e-12, "p"), (1e-9, "n"), (1e-6, "u"), (1e-3, "m"), (1.0, ""), (1e3, "k"), (1e6, "M")]


def _eng(value: float, unit: str) -> str:
    """``3.2e-12, "J"`` -> ``"3.2 pJ"``; unitless numbers plainly."""
    if not unit or not np.isfinite(value) or value == 0:
        return f"{value:.4g} {unit}".strip()
    scale, prefix = next(((s, p) for s, p in reversed(_ENG) if abs(value) >= s), _ENG[0])
    return f"{value / scale:.4g} {prefix}{unit}"


def _blocks(surrogates: dict) -> dict[str, list[str]]:
    blocks = defaultdict(list)
    for name in sorted(surrogates):
        blocks[name.split(".", 1)[0]].append(name)
    return dict(blocks)


def _grid(s, j: int, n: int = 41) -> np.ndarray:
    lo, hi = float(s.domain_min[j]), float(s.domain_max[j])
    if s.input_scales[j] == "log" and lo > 0:
        return np.geomspace(lo, hi, n)
    return np.linspace(lo, hi, n)


def _middle(s) -> np.ndarray:
    lo, hi = np.asarray(s.domain_min, float), np.asarray(s.domain_max, float)
    log = np.array([sc == "log" and a > 0 for sc, a in zip(s.input_scales, lo)])
    mid = 0.5 * (lo + hi)
    mid[log] = np.sqrt(lo[log] * hi[log])
    return mid


def _figure(s, path: Path) -> Path | None:
    """The surrogate's outputs against each of its inputs (others at mid-range)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    swept = [j for j in range(len(s.inputs)) if s.domain_max[j] > s.domain_min[j]]
    if not swept:
        return None
    second = next((s.inputs.index(n) for n in _SECOND_INPUTS if n in s.inputs
                   and s.inputs.index(n) in swept), None)
    fig, axes = plt.subplots(len(s.outputs), len(swept), figsize=(3.6 * len(swept), 2.9 * len(s.outputs)),
                             squeeze=False)
    for i, out in enumerate(s.outputs):
        for col, j in enumerate(swept):
            ax = axes[i][col]
            curves = [None] if second is None or second == j else list(_grid(s, second, 3))
            for level in curves:
                X = np.tile(_middle(s), (41, 1))
                X[:, j] = _grid(s, j)
                if level is not None:
                    X[:, second] = level
                y = np.asarray(s.predict(X, out_of_domain="clip")).reshape(len(X), -1)[:, i]
                label = None if level is None else f"{s.inputs[second]} = {_eng(level, s.input_units[second])}"
                ax.plot(X[:, j], y, label=label)
            if s.input_scales[j] == "log":
                ax.set_xscale("log")
            ax.set_xlabel(f"{s.inputs[j]} ({s.input_units[j] or '-'})")
            ax.set_ylabel(f"{out} ({s.output_units[i] or '-'})")
            ax.grid(True, alpha=0.3)
            if curves[0] is not None:
                ax.legend(fontsize=7, loc="best")
    fig.suptitle(f"{s.name}: surrogate of SPICE characterization (other inputs at mid-range)", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def _family(blocks: dict[str, list[str]]) -> dict[str, list[tuple[int, str]]]:
    """``adc_sar`` -> [(4, "adc_sar4"), (6, "adc_sar6")]: one circuit at several resolutions."""
    families = defaultdict(list)
    for block in blocks:
        match = re.fullmatch(r"(.*?[a-z_])(\d+)", block.split("@")[0])
        if match and "@" not in block:
            families[match.group(1)].append((int(match.group(2)), block))
    return {k: sorted(v) for k, v in families.items() if len(v) > 1}


def _family_figure(family: str, members: list[tuple[int, str]], surrogates: dict, path: Path) -> Path | None:
    """Each output shared by the family against resolution, at every member's mid-range inputs."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    outputs = defaultdict(list)
    for bits, block in members:
        for name in (n for n in surrogates if n.split(".", 1)[0] == block):
            s = surrogates[name]
            y = np.asarray(s.predict(_middle(s)[None, :], out_of_domain="clip")).reshape(1, -1)[0]
            for i, out in enumerate(s.outputs):
                outputs[(out, s.output_units[i])].append((bits, float(y[i])))
    shared = {k: v for k, v in outputs.items() if len(v) > 1}
    if not shared:
        return None
    fig, axes = plt.subplots(1, len(shared), figsize=(3.8 * len(shared), 3.0), squeeze=False)
    for ax, ((out, unit), points) in zip(axes[0], sorted(shared.items())):
        bits, values = zip(*sorted(points))
        ax.plot(bits, values, "o-")
        if all(v > 0 for v in values) and max(values) / min(values) > 20:
            ax.set_yscale("log")
        ax.set_xticks(bits)
        ax.set_xlabel("resolution (bits)")
        ax.set_ylabel(f"{out} ({unit or '-'})")
        ax.grid(True, alpha=0.3)
    fig.suptitle(f"{family}: against resolution (mid-range operating point)", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def _warning(s) -> str:
    """The fit's stored accuracy warning, unless the held-out RMS error is within the
    output's tolerance (a library fitted before its block declared one: the rule of
    ``cimspice.surrogate.accuracy.accuracy_warning`` would not warn now)."""
    v = s.validation or {}
    tolerance = output_tolerance(s)
    if not v.get("warning") or (tolerance is not None and s.n_outputs == 1
                                and abs_error(v["rms_pct"][0], v["full_scale"][0]) <= tolerance):
        return ""
    return str(v["warning"])


def _page(block: str, names: list[str], surrogates: dict, out: Path, record: dict | None) -> str:
    lines = [f"# {block}", ""]
    if record:
        area = record.get("area")
        lines += [f"Circuit `{record.get('circuit', '?')}` {record.get('circuit_args', '')}".rstrip()
                  + (f"; area {area * 1e12:.4g} um^2 from its own device sizes (cimspice.circuits.area)"
                     if isinstance(area, float) and area > 0 else ""), ""]
    lines += ["| surrogate | output | inputs (characterized range) | held-out error (RMS, max; tolerance) | "
              "model |", "| --- | --- | --- | --- | --- |"]
    for name in names:
        s = surrogates[name]
        ranges = ", ".join(f"{n} {_eng(lo, u)} .. {_eng(hi, u)}" for n, u, lo, hi in
                           zip(s.inputs, s.input_units, s.domain_min, s.domain_max))
        for i, o in enumerate(s.outputs):
            err = validation_text(s, i, output_tolerance(s)) or "not validated"
            lines.append(f"| `{name}` | {o} ({s.output_units[i] or '-'}) | {ranges} | {err} | "
                         f"{type(s.model).__name__ if getattr(s, 'model', None) is not None else '-'} |")
    lines += ["", "## Provenance", ""]
    for name in names:
        prov = surrogates[name].provenance or {}
        shown = {k: prov[k] for k in sorted(prov) if not isinstance(prov[k], (dict, list)) or k == "corner"}
        lines.append(f"- `{name}`: " + "; ".join(f"{k}: {v}" for k, v in shown.items()))
        warning = _warning(surrogates[name])
        if warning:
            lines.append(f"  - WARNING: {warning}")
    lines += ["", "## Figures", ""]
    for name in names:
        png = _figure(surrogates[name], out / f"{name.replace('@', '_at_')}.png")
        if png is not None:
            lines.append(f"![{name}]({png.name})")
            lines.append("")
    return "\n".join(lines) + "\n"


def write_datasheet(library: str | Path, out_dir: str | Path) -> Path:
    """Write the datasheet of ``library`` into ``out_dir`` (created); returns ``index.md``.

    Each block gets a Markdown page with its surrogates' domains, held-out errors,
    provenance and figures (PNG); families of one circuit at several resolutions get a
    figure against resolution on the index page.
    """
    library, out = Path(library), Path(out_dir)
    surrogates = load_library(library)
    records = load_blocks(library)
    out.mkdir(parents=True, exist_ok=True)
    blocks = _blocks(surrogates)
    index = [f"# Datasheet of {library.name}", "",
             "Every figure is read from the library's surrogates, each fitted to ngspice sweeps and scored on "
             "off-grid SPICE points it never saw (errors in % of full scale).", "",
             "| block | surrogates | worst held-out max (%FS) |", "| --- | --- | --- |"]
    for block, names in blocks.items():
        page = _page(block, names, surrogates, out, records.get(block.split("@")[0]))
        (out / f"{block.replace('@', '_at_')}.md").write_text(page)
        worst = max((float(np.max(surrogates[n].validation["max_pct"])) for n in names
                     if (surrogates[n].validation or {}).get("max_pct") is not None), default=float("nan"))
        index.append(f"| [{block}]({block.replace('@', '_at_')}.md) | {len(names)} | {worst:.3g} |")
    families = _family(blocks)
    if families:
        index += ["", "## Against resolution", ""]
        for family, members in families.items():
            png = _family_figure(family, members, surrogates, out / f"{family}_resolution.png")
            if png is not None:
                index += [f"![{family}]({png.name})", ""]
    path = out / "index.md"
    path.write_text("\n".join(index) + "\n")
    return path
