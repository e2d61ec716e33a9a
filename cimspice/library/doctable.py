"""Docs tables regenerated from a built library (``cimspice library build --doc FILE``).

Two Markdown sections, each written between its markers in the doc when the markers are
there: ``<!-- blocks:begin -->``/``<!-- blocks:end -->`` (what each block sweeps, its
area and build time, from the block records) and ``<!-- results:begin -->``/
``<!-- results:end -->`` (every surrogate's error at the off-grid validation points, in
its unit and in %FS, recomputed here from the validation sweep file with plain h5py,
against the output's tolerance where its block declares one, and every candidate
family's stored score). With an image folder, one parity plot per block.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

import h5py
import numpy as np

from ..surrogate import Surrogate, load_blocks, load_library
from ..surrogate.accuracy import abs_error, eng, error_text, tolerance_text
from .blocks import CATALOGUE
from .errors import LibraryError
from .provenance import output_tolerance

__all__ = ["update_doc", "validation_rows"]

MARKERS = ("blocks", "results")


def _spice_values(path: Path, names: list[str], output: str, corner: str) -> tuple[np.ndarray, np.ndarray]:
    """(X, y) at the usable points of a sweep file (of one corner), read with h5py alone."""
    with h5py.File(path, "r") as f:
        ok = np.isin(f["status"][...], (0, 1))
        if corner:
            labels = json.loads(f["inputs"]["corner"].attrs["labels"])
            ok &= f["inputs"]["corner"][...].astype(int) == labels.index(corner)
        X = np.column_stack([f["inputs"][n][...][ok] for n in names])
        y = f["outputs"][output][...][ok]
    finite = np.isfinite(y)
    return X[finite], y[finite]


def _in_catalogue_order(records: dict[str, dict]) -> dict[str, dict]:
    """Block records in the catalogue's order (others after them, by name)."""
    order = {name: k for k, name in enumerate(CATALOGUE)}
    return {name: records[name] for name in sorted(records, key=lambda n: (order.get(n, len(order)), n))}


def validation_rows(library: str | Path) -> list[dict]:
    """One row per surrogate of a block in ``library``: its error (``rms_pct``, ``max_pct``: %
    of ``full_scale``, output units) at the validation sweep's in-domain points, the output's
    absolute ``tolerance`` (output units, None: none declared), and what the table shows of it."""
    library = Path(library)
    surrogates, records = load_library(library), _in_catalogue_order(load_blocks(library))
    rows = []
    for block, record in records.items():
        sweep = library.parent / str(record["validation_sweep"])
        for name in record.get("surrogates", []):
            s = surrogates.get(name)
            if s is not None:
                rows.append(_row(block, s, sweep) if sweep.is_file() else _stored_row(block, s, record))
    return rows


def _stored_row(block: str, s: Surrogate, record: Mapping) -> dict:
    """A row from the errors the surrogate stored when it was fitted, for a library whose
    validation sweep files are not beside it (a copied library): no parity plot."""
    v = s.validation
    # the surrogate's own count: a corner record's validation_points is its corner set's sum
    n = v.get("n_points", record.get("validation_points", 0))
    return _described(block, s, rms_pct=float(v["rms_pct"][0]), max_pct=float(v["max_pct"][0]),
                      n_validation=int(n), truth=None, pred=None)


def _row(block: str, s: Surrogate, validation: Path) -> dict:
    output, corner = s.outputs[0], str(s.provenance.get("corner", ""))
    X, truth = _spice_values(validation, s.inputs, output, corner)
    inside = s.in_domain(X)
    fs = float(s.validation["full_scale"][0])
    pred = s.predict(X[inside])
    err = 100 * np.abs(pred - truth[inside]) / fs
    return _described(block, s, rms_pct=float(np.sqrt(np.mean(err ** 2))) if err.size else float("nan"),
                      max_pct=float(err.max()) if err.size else float("nan"), n_validation=int(inside.sum()),
                      truth=truth[inside], pred=pred)


def _described(block: str, s: Surrogate, **errors) -> dict:
    """A table row: what the surrogate is (inputs, model, full scale, tolerance, candidates)
    and its off-grid ``errors``."""
    return {
        "block": block, "surrogate": s.name, "unit": s.output_units[0], "model": s.model_label,
        "inputs": [f"{n} ({sc})" for n, sc in zip(s.inputs, s.input_scales)],
        "full_scale": float(s.validation["full_scale"][0]), "tolerance": output_tolerance(s),
        "n_train": int(s.provenance.get("source_points_used", 0)),
        "candidates": {c["label"]: float(c["rms_pct"]) for c in s.candidates if c.get("status") == "ok"},
        **errors,
    }


def blocks_table(records: Mapping[str, Mapping]) -> str:
    """What each block sweeps (from its training spec file), area and time."""
    lines = ["| block | circuit (arguments) | swept (training grid) | validation points | area | ngspice + fit |",
             "|---|---|---|---:|---:|---:|"]
    for name, r in records.items():
        args = json.loads(str(r.get("circuit_args", "{}")))
        circuit = r["circuit"] + (f" ({', '.join(f'{k}={v}' for k, v in args.items())})" if args else "")
        swept = "; ".join(f"{k} {v}" for k, v in json.loads(str(r.get("axes", "{}"))).items())
        seconds = sum(float(r.get(f"{kind}_seconds", 0)) for kind in ("train", "validation", "fit"))
        area = float(r.get("area", float("nan")))
        lines.append(f"| `{name}` | {circuit} | {swept} | {r.get('validation_points', '-')} | "
                     f"{f'{area * 1e12:.4g} µm²' if np.isfinite(area) else '-'} | {seconds:.0f} s |")
    return "\n".join(lines)


def _error(r: Mapping, what: str) -> str:
    """A row's ``"rms"`` or ``"max"`` error cell: ``1.9e-4 LSB (11.6 %FS)``."""
    return error_text("", r[f"{what}_pct"], r["full_scale"], r["unit"]).strip()


def _tolerance(r: Mapping) -> str:
    """``within 0.01 LSB`` (the RMS error at or below the output's tolerance), ``above ...``, ``-``."""
    verdict = tolerance_text(abs_error(r["rms_pct"], r["full_scale"]), r["tolerance"], r["unit"])
    return verdict.replace(" tolerance", "") or "-"


def results_table(rows: list[dict], images: Mapping[str, str] | None = None) -> str:
    """Every surrogate's off-grid error (in its unit and %FS, and against its tolerance),
    then every candidate's stored score."""
    lines = ["| surrogate | inputs (scale) | chosen model | training points | off-grid points | RMS | max | "
             "full scale | tolerance (RMS) |", "|---|---|---|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| `{r['surrogate']}` | {', '.join(r['inputs'])} | {r['model']} | {r['n_train']} | "
                     f"{r['n_validation']} | {_error(r, 'rms')} | {_error(r, 'max')} | "
                     f"{eng(r['full_scale'], r['unit'])} | {_tolerance(r)} |")
    labels = sorted({k for r in rows for k in r["candidates"]})
    lines += ["", "Every candidate's RMS error on the same off-grid points (%FS; the chosen one is the lowest; "
              "`-`: not tried, or failed):", "",
              "| surrogate | " + " | ".join(labels) + " |", "|---|" + "---:|" * len(labels)]
    for r in rows:
        cells = (f"{r['candidates'][k]:.3g}" if k in r["candidates"] else "-" for k in labels)
        lines.append(f"| `{r['surrogate']}` | " + " | ".join(cells) + " |")
    if images:
        lines += ["", "Parity plots (surrogate against ngspice at every off-grid point), per block:", ""]
        lines += [f"![{block}]({src})" for block, src in images.items()]
    return "\n".join(lines)


def _plot_block(block: str, rows: list[dict], png: Path) -> None:
    from matplotlib.figure import Figure
    from matplotlib.ticker import EngFormatter, MaxNLocator

    fig = Figure(figsize=(3.2 * len(rows), 3.2), dpi=80)
    for ax, r in zip(np.atleast_1d(fig.subplots(1, len(rows))), rows):
        lo, hi = float(min(r["truth"].min(), r["pred"].min())), float(max(r["truth"].max(), r["pred"].max()))
        ax.plot([lo, hi], [lo, hi], color="0.6", lw=1)
        ax.scatter(r["truth"], r["pred"], s=8, alpha=0.7)
        for axis in (ax.xaxis, ax.yaxis):
            axis.set_major_formatter(EngFormatter(unit="" if r["unit"] == "1" else r["unit"]))
            axis.set_major_locator(MaxNLocator(4))
        ax.set_xlabel("ngspice (off-grid)", fontsize=8)
        ax.set_title(f"{r['surrogate']}\nmax {_error(r, 'max')}, {r['n_validation']} points", fontsize=8)
        ax.tick_params(labelsize=7)
    fig.tight_layout()
    fig.savefig(png)


def update_doc(library: str | Path, doc: str | Path, img: str | Path | None = None) -> str:
    """Rewrite the marked sections of ``doc`` from ``library`` (a missing doc is created
    with both; one without either marker is refused) and, with ``img``, draw a parity plot
    per block there, linked relative to the doc. Returns the results table."""
    library, doc = Path(library), Path(doc)
    records, rows = _in_catalogue_order(load_blocks(library)), validation_rows(library)
    images = {}
    if img is not None:
        img = Path(img)
        img.mkdir(parents=True, exist_ok=True)
        for block in records:
            mine = [r for r in rows if r["block"] == block and r["n_validation"]]
            png = img / f"library_{block}.png"
            if mine and all(r["truth"] is not None for r in mine):
                _plot_block(block, mine, png)
            elif not png.is_file():   # its sweeps are not here: an earlier plot stays, else none
                continue
            if mine:
                images[block] = Path(_relative(png, doc.parent)).as_posix()
    sections = {"blocks": blocks_table(records), "results": results_table(rows, images)}
    text = doc.read_text() if doc.exists() else f"# Surrogate library `{library.name}`\n\n" + "\n\n".join(
        f"<!-- {key}:begin -->\n<!-- {key}:end -->" for key in MARKERS) + "\n"
    if not any(f"<!-- {key}:begin -->" in text for key in MARKERS):
        raise LibraryError(f"{doc}: no <!-- blocks:begin --> or <!-- results:begin --> marker to write between")
    for key, body in sections.items():
        begin, end = f"<!-- {key}:begin -->", f"<!-- {key}:end -->"
        if begin in text and end in text:
            head, rest = text.split(begin, 1)
            text = head + begin + "\n" + body + "\n" + end + rest.split(end, 1)[1]
    doc.write_text(text)
    return sections["results"]


def _relative(path: Path, start: Path) -> str:
    import os

    return os.path.relpath(path.resolve(), start.resolve())
