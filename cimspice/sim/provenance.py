"""Where each priced figure of a simulation comes from: source records.

A record is a plain dict (it goes into ``results.json`` as is), one of four kinds:

- ``cited``: a constant of :mod:`.costs`, ``{"kind": "cited", "constant": "costs.ADC8_ENERGY",
  "source": "ISAAC (Shafiee et al., ISCA 2016)", "figure": 1.56e-12}``, with ``scaling`` when
  the figure was scaled from it (``x 2**(6 - 8) ...``); made by :meth:`.costs.Cited.record`.
- ``characterized``: a surrogate of the library, ``{"kind": "characterized", "library": PATH,
  "key": "adc_sar.energy@ss", "field": "adc.energy.6", "corner": "ss", "temp": 85.0}``, with
  ``at`` (the operating point it was evaluated at) when the spec fixes one.
- ``computed``: a figure the simulator computes from the physics it simulates,
  ``{"kind": "computed", "from": "sum V*I*t_read of the simulated array currents", "model":
  RECORD}``, ``model`` being the record of the law those currents come from.
- ``spec``: a value the system spec sets, ``{"kind": "spec", "field": "array.t_read", "setting": 1e-7}``.

The rule for the characterized share (:func:`is_characterized`): a figure is characterized
when its record is ``characterized``, or ``computed`` from a ``model`` that is (the array read
energy counts only when the cell read law is a characterized surrogate). Cited constants and
spec values never count.
"""

from __future__ import annotations

import json

import numpy as np

__all__ = ["PER_DRAW", "characterized", "computed", "draw_identity", "is_characterized", "label", "merged_draws",
           "spec_value"]

#: fields of a source record that follow the device draw (one seed's programming), not the
#: source: per-layer operating points read from the programmed arrays (the DAC's ``g_row``);
#: a ``model`` text, which lists them, is set aside too (:func:`draw_identity`)
PER_DRAW = ("g_row", "g_row_carried", "settling")


def characterized(library: str, key: str, field: str, corner: str = "", temp: float | None = None,
                  at: dict | None = None) -> dict:
    """The record of a figure from surrogate ``key`` of ``library`` (a path), named by the
    spec's ``field``; ``corner``/``temp`` (degC): the table's corner and temperature
    ('' / None when unknown), ``at``: the other inputs it was evaluated at."""
    out = {"kind": "characterized", "library": str(library), "key": key, "field": field, "corner": corner,
           "temp": None if temp is None else float(temp)}
    if at:
        out["at"] = {k: float(v) for k, v in at.items()}
    return out


def computed(what: str, model: dict, **inputs) -> dict:
    """The record of a figure computed as ``what`` from the simulated physics of ``model``;
    ``inputs``: what else went in (records or constant names), kept as given."""
    return {"kind": "computed", "from": what, "model": model, **inputs}


def spec_value(field: str, value) -> dict:
    """The record of a value the system spec sets (``field``: ``section.name``)."""
    return {"kind": "spec", "field": field, "setting": value}


def is_characterized(record: dict) -> bool:
    """Whether a figure with this record comes from characterized circuits (module docstring)."""
    if record.get("kind") == "computed":
        return is_characterized(record.get("model") or {})
    return record.get("kind") == "characterized"


def label(record: dict) -> str:
    """One short line for the tables: ``cited costs.ADC8_ENERGY x 2**(6 - 8) [ISAAC; Walden]``."""
    kind = record.get("kind")
    if kind == "cited":
        scaling = f" {record['scaling'].split(';')[0]}" if record.get("scaling") else ""
        sources = "; ".join(s.split(" (")[0] for s in record["source"].split("; "))
        return f"cited {record['constant'].removeprefix('costs.')}{scaling} [{sources}]"
    if kind == "characterized":
        temp = "" if record.get("temp") is None else f" at {record['temp']:g} degC"
        return f"characterized {record['key']} ({record['field']}){temp}"
    if kind == "computed":
        return f"computed {record['from'].split(' of ')[0]}; {label(record['model'])}"
    setting = record["setting"]
    return f"spec {record['field']} = {f'{setting:g}' if isinstance(setting, float) else setting}"


def draw_identity(record: dict) -> str:
    """The source a record names, without what the device draw decided (:data:`PER_DRAW`, a
    ``model`` text) or its ``value``: equal for the same source read under other seeds."""
    return json.dumps({k: v for k, v in record.items()
                       if k not in PER_DRAW and k != "value" and not (k == "model" and isinstance(v, str))},
                      sort_keys=True)


def merged_draws(records: list[dict]) -> dict:
    """One record for the same source (:func:`draw_identity`) read under several draws:
    its per-layer :data:`PER_DRAW` figures averaged over the draws, and each draw's own
    figures (and model text) kept under ``draws`` when they differ."""
    first = {k: v for k, v in records[0].items() if k != "value"}
    drawn = [{k: r[k] for k in (*PER_DRAW, "model") if k in r and (k != "model" or isinstance(r[k], str))}
             for r in records]
    if all(d == drawn[0] for d in drawn):
        return first
    for name in PER_DRAW:
        tables = [r[name] for r in records if isinstance(r.get(name), dict)]
        if tables:
            first[name] = {k: float(np.mean([t[k] for t in tables if k in t])) for k in sorted(set().union(*tables))}
    if isinstance(first.get("model"), str):
        first["model"] += (f" [the first of {len(records)} draws; {', '.join(PER_DRAW)} averaged over them, "
                           "each under draws]")
    first["draws"] = drawn
    return first
