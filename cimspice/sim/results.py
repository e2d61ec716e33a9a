"""A simulation's outcome as text (``cimspice simulate``'s tables) and as ``results.json``.

Figures print in engineering units (:func:`engineering`: 72.9 nJ, 1.56 pJ, 100 ns, 12.3 um^2,
0.41 mm^2), each component beside its source (:func:`.provenance.label`). ``results.json``
(schema ``cimspice.results``, version :data:`RESULTS_SCHEMA_VERSION`; fields in
docs/system.md) holds the same figures in SI units with their full source records.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from .. import __version__
from .accounting import COMPONENTS, LATENCY_PARTS, QUANTITIES
from .errors import SimError
from .provenance import label

__all__ = ["RESULTS_SCHEMA", "RESULTS_SCHEMA_VERSION", "breakdown", "corner_table", "energy_table", "engineering",
           "results_dict", "write_results"]

RESULTS_SCHEMA = "cimspice.results"
RESULTS_SCHEMA_VERSION = 1

_PREFIXES = ((1e-15, "f"), (1e-12, "p"), (1e-9, "n"), (1e-6, "u"), (1e-3, "m"), (1.0, ""))


def engineering(value: float, unit: str) -> str:
    """``value`` (SI) with three significant digits and an SI prefix: ``7.292e-08, "J"`` ->
    ``72.9 nJ``. Areas (``m^2``) print in um^2 below 0.01 mm^2 and in mm^2 from there."""
    if not math.isfinite(value):
        return f"{value} {unit}"
    if unit == "m^2":
        return f"{_digits(value * 1e6)} mm^2" if abs(value) >= 1e-8 else f"{_digits(value * 1e12)} um^2"
    if value == 0:
        return f"0 {unit}"
    scale, prefix = _PREFIXES[0]
    for s, p in _PREFIXES:
        if abs(value) >= s * (1 - 5e-4):    # 999.96 nJ rounds to 1 uJ, not to "1e+03 nJ"
            scale, prefix = s, p
    return f"{_digits(value / scale)} {prefix}{unit}"


def _digits(x: float) -> str:
    """``x`` to three significant digits, never in exponent notation (2110, 0.0102, 14)."""
    x = float(f"{x:.3g}")
    if x == 0:
        return "0"
    return f"{x:.{max(0, 2 - math.floor(math.log10(abs(x))))}f}"


def _section(title: str, values: dict, sources: dict, unit: str, fraction: float, ci: str = "") -> list[str]:
    """One table: a row per component (value, share of the total, its source), a further row
    per further source of a component, the total and its characterized share."""
    total = sum(values.values())
    lines = [f"  {title:<24}{'value':>11}{'share':>8}  source"]
    for comp, value in values.items():
        records = sources.get(comp, [])
        share = f"{value / total:.1%}" if total else "-"
        many = len(records) > 1
        first = _source(records[0], unit, many) if records else "-"
        lines.append(f"  {comp:<24}{engineering(value, unit):>11}{share:>8}  {first}")
        lines += [f"  {'':<24}{'':>11}{'':>8}  {_source(r, unit, True)}" for r in records[1:]]
    lines.append(f"  {'total':<24}{engineering(total, unit):>11}{ci}  (characterized {fraction:.1%})")
    return lines


def _source(record: dict, unit: str, with_value: bool) -> str:
    return label(record) + (f" ({engineering(record['value'], unit)})" if with_value else "")


def energy_table(costs) -> list[str]:
    """The energy table alone of a :class:`.accounting.CostReport` (text lines)."""
    return _section("energy per inference", costs.energy, costs.sources.get("energy", {}), "J",
                    costs.characterized_fraction()["energy"])


def breakdown(costs, energy_ci: float | None = None) -> list[str]:
    """The energy, latency and area tables of a :class:`.accounting.CostReport` (text lines);
    ``energy_ci``: the total energy's 95 % half-width, printed when given."""
    fraction = costs.characterized_fraction()
    ci = f" +- {engineering(energy_ci, 'J')}" if energy_ci is not None else ""
    lines = _section("energy per inference", costs.energy, costs.sources.get("energy", {}), "J",
                     fraction["energy"], ci)
    lines += [""] + _section("latency per inference", {p: costs.latency_parts.get(p, 0.0) for p in LATENCY_PARTS},
                             costs.sources.get("latency", {}), "s", fraction["latency"])
    lines += [""] + _section("area", costs.area, costs.sources.get("area", {}), "m^2", fraction["area"])
    return lines


def _finite(value):
    """JSON-safe: non-finite floats become null (strict JSON has no NaN)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def _library(spec) -> dict | None:
    if not spec or not spec.library:
        return None
    from ..surrogate import file_sha256

    try:
        sha = file_sha256(spec.library)
    except OSError:
        sha = None
    return {"path": str(spec.library), "sha256": sha}


def results_dict(result) -> dict:
    """``results.json`` of a :class:`.simulate.SimulationResult` (docs/system.md, "results.json")."""
    c, spec = result.costs, result.spec
    per_quantity = {q: dict(getattr(c, attr)) for q, (attr, _) in QUANTITIES.items()}
    return _finite({
        "schema": RESULTS_SCHEMA, "schema_version": RESULTS_SCHEMA_VERSION, "cimspice_version": __version__,
        "system": result.system, "network": result.network, "n_samples": int(result.n_samples),
        "seeds": [int(s) for s in result.seeds],
        "corner": spec.corner if spec else None, "temp": spec.temp if spec else None,
        "library": _library(spec),
        "metric": {"name": result.metric, "float": float(result.float_metric), "analog": result.analog_metric,
                   "analog_per_seed": [float(v) for v in result.analog_metrics], "analog_ci95": result.analog_ci},
        "energy_j": {**{k: float(c.energy[k]) for k in COMPONENTS}, "total": c.total_energy},
        "energy_ci95_j": result.energy_ci,
        "latency_s": {**{k: float(per_quantity["latency"].get(k, 0.0)) for k in LATENCY_PARTS}, "total": c.latency},
        "area_m2": {**{k: float(c.area[k]) for k in COMPONENTS}, "total": c.total_area},
        "characterized_fraction": c.characterized_fraction(),
        "sources": c.sources,
        "arrays": int(c.arrays),
        "events": {k: float(v) for k, v in sorted(c.events.items())},
        "layers": list(getattr(result, "layers", [])),
        "design": dict(getattr(result, "design", {}) or {}),
        "seconds": float(result.seconds),
    })


def write_results(result, path) -> Path:
    """Write :func:`results_dict` of ``result`` to ``path`` (JSON, strict: no NaN)."""
    path = Path(path)
    try:
        path.write_text(json.dumps(results_dict(result), indent=1, allow_nan=False) + "\n")
    except OSError as error:
        raise SimError(f"{path}: cannot write the results: {error.strerror}") from None
    return path


def corner_table(results) -> str:
    """One row per corner of :func:`.simulate.simulate_corners`: temperature, float and analog
    metric, energy and latency per inference, characterized share of the energy."""
    from .simulate import metric_label

    metric = results[0].metric
    fmt = (lambda v: f"{v:.2%}") if metric == "accuracy" else (lambda v: f"{v:.3f}")
    name = metric_label(metric)[:4]
    lines = [f"  {'corner':<8}{'temp':>9}{'float ' + name:>12}{'analog ' + name:>13}{'energy':>11}{'latency':>11}"
             f"{'characterized':>15}"]
    for r in results:
        temp = "as char." if r.spec.temp is None else f"{r.spec.temp:g} degC"
        lines.append(f"  {r.spec.corner:<8}{temp:>9}{fmt(r.float_metric):>12}{fmt(r.analog_metric):>13}"
                     f"{engineering(r.costs.total_energy, 'J'):>11}{engineering(r.costs.latency, 's'):>11}"
                     f"{r.costs.characterized_fraction()['energy']:>15.1%}")
    return "\n".join(lines)
