"""The analyses a sweep spec runs on a user netlist at every point: ``op``, ``dc``, ``ac``,
``noise``, ``tran``, one or several.

``analysis: op`` (the default), or a mapping with one entry per analysis::

    analysis:
      op: {}
      dc: {source: vin, start: 0, stop: 1.1, step: 10m}          # V (or A for a current source)
      ac: {start: 1, stop: 10g, points: 20}                      # Hz; points per decade
      noise: {output: v(out), source: vin, start: 1, stop: 1g, points: 20}
      tran: {step: 10p, stop: 20n}                               # s; also start, max_step

Each point runs them in that order (op, dc, ac, noise, tran) and reads from each only the
vectors the outputs need. ``variation`` (``dec``, the default, ``oct`` or ``lin``) spaces the
``ac`` and ``noise`` frequencies as ngspice does.
"""

from __future__ import annotations

import numbers
import sys
from collections.abc import Mapping
from dataclasses import dataclass

from ..spice.sandbox import read_cards
from ..validate import did_you_mean, spice_number
from .errors import CircuitError

#: analysis -> (required, optional) arguments, in the order a point runs them
ANALYSES = {
    "op": ((), ()),
    "dc": (("source", "start", "stop", "step"), ()),
    "ac": (("start", "stop", "points"), ("variation",)),
    "noise": (("output", "source", "start", "stop", "points"), ("variation",)),
    "tran": (("step", "stop"), ("start", "max_step")),
}
_NAMES = ("source", "output", "variation")  # arguments that are names, not numbers
_UNITS = {"tran": "s", "ac": "Hz", "noise": "Hz", "op": ""}


@dataclass(frozen=True)
class Analysis:
    """One analysis with its arguments (numbers in SI units; ``source``, ``output``,
    ``variation`` as names)."""

    kind: str
    args: dict

    @property
    def axis(self) -> str | None:
        """The engine's name of its axis vector (None for op)."""
        if self.kind == "dc":
            return "i-sweep" if self.args["source"].startswith("i") else "v-sweep"
        return {"tran": "time", "ac": "frequency", "noise": "frequency"}.get(self.kind)

    @property
    def axis_unit(self) -> str:
        if self.kind == "dc":
            return "A" if self.args["source"].startswith("i") else "V"
        return _UNITS[self.kind]

    def run(self, engine, vectors: list[str]):
        """Run it on ``engine`` (a circuit loaded), reading ``vectors``; the engine's Result."""
        a = self.args
        if self.kind == "op":
            return engine.op(vectors)
        if self.kind == "dc":
            return engine.dc(a["source"], a["start"], a["stop"], a["step"], vectors)
        if self.kind == "ac":
            return engine.ac(a["points"], a["start"], a["stop"], vectors, variation=a.get("variation", "dec"))
        if self.kind == "noise":
            return engine.noise(a["output"], a["source"], a["points"], a["start"], a["stop"], vectors,
                                variation=a.get("variation", "dec"))
        return engine.tran(vectors=vectors, **a)


def parse_analyses(analysis, text: str) -> dict[str, Analysis]:
    """``kind -> Analysis`` of a spec's ``analysis`` entry, in the order a point runs them,
    checked against the netlist ``text`` (the sources a dc sweep or a noise analysis names
    exist at its top level); a :class:`CircuitError` naming the field otherwise."""
    if analysis is None or analysis == "op":
        return {"op": Analysis("op", {})}
    if not isinstance(analysis, Mapping) or not analysis:
        raise CircuitError(f"analysis: expected 'op' or a mapping such as {{tran: {{step: s, stop: s}}, ac: ...}}, "
                           f"got {analysis!r}")
    unknown = [str(k) for k in analysis if k not in ANALYSES]
    if unknown:
        raise CircuitError(f"analysis: {unknown[0]!r} is not one of {', '.join(ANALYSES)}"
                           f"{did_you_mean(unknown[0], ANALYSES)}")
    sources = top_level_sources(text)
    return {kind: Analysis(kind, _arguments(kind, analysis[kind], sources)) for kind in ANALYSES if kind in analysis}


def _arguments(kind: str, args, sources: dict[str, tuple[str, str]]) -> dict:
    required, optional = ANALYSES[kind]
    if kind == "op" and args in (None, {}):
        return {}
    if not isinstance(args, Mapping):
        raise CircuitError(f"analysis.{kind}: expected a mapping of {', '.join(required + optional)}")
    unknown = set(map(str, args)) - set(required) - set(optional)
    missing = set(required) - set(args)
    if unknown or missing:
        raise CircuitError(f"analysis.{kind}: " + "; ".join(
            ([f"unknown {', '.join(sorted(map(repr, unknown)))}"] if unknown else [])
            + ([f"missing {', '.join(sorted(missing))}"] if missing else []))
            + did_you_mean(unknown, sorted(set(required + optional) - set(args))))
    out = {}
    for key, value in args.items():
        where = f"analysis.{kind}.{key}"
        out[key] = _name(kind, key, value, sources, where) if key in _NAMES else _value(kind, key, value, where)
    _check_range(kind, out)
    return out


def _value(kind: str, key: str, value, where: str):
    if key == "points":
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise CircuitError(f"{where}: expected a positive integer number of points, got {value!r}")
        return value
    unit = {"dc": "", "tran": "s"}.get(kind, "Hz")
    if isinstance(value, str):  # "1n": a SPICE number
        value = spice_number(value, where, CircuitError, unit=unit)
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise CircuitError(f"{where}: {value!r} is not a number")
    # compared, not math.isfinite(): that raises on an int past float's range
    if not -sys.float_info.max <= value <= sys.float_info.max or (kind != "dc" and value < 0):
        raise CircuitError(f"{where}: {value!r} is not a non-negative number{' of ' + unit if unit else ''}")
    return float(value)


def _name(kind: str, key: str, value, sources, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise CircuitError(f"{where}: expected a name, got {value!r}")
    value = value.strip().lower()
    if key == "variation":
        if value not in ("dec", "oct", "lin"):
            raise CircuitError(f"{where}: {value!r} is not dec, oct or lin")
        return value
    if key == "output":
        from .measure import parse_probe

        probe = parse_probe(value, where)
        if probe.kind != "v" or probe.part:
            raise CircuitError(f"{where}: a noise output is a voltage, v(node) or v(node,ref), not {value!r}")
        return probe.text
    if value not in sources:
        known = ", ".join(sources) or "none"
        raise CircuitError(f"{where}: no independent source {value!r} at the netlist's top level (its V and I "
                           f"sources: {known}){did_you_mean(value, sources)}")
    return value


def _check_range(kind: str, a: dict) -> None:
    if kind == "dc" and not (a["step"] > 0 and a["stop"] > a["start"]):
        raise CircuitError(f"analysis.dc: sweep from start up to stop > start in steps > 0 (got start "
                           f"{a['start']:g}, stop {a['stop']:g}, step {a['step']:g})")
    if kind in ("ac", "noise") and not 0 < a["start"] < a["stop"]:
        raise CircuitError(f"analysis.{kind}: expected 0 < start < stop (Hz), got start {a['start']:g}, "
                           f"stop {a['stop']:g}")


def top_level_sources(text: str) -> dict[str, tuple[str, str]]:
    """``name -> (positive node, negative node)`` of the independent voltage and current
    sources at a netlist's top level (outside ``.subckt``), names and nodes lower-cased."""
    _, cards = read_cards(text, strict=False)
    depth, out = 0, {}
    for card in cards:
        word = card.word
        depth += (word == ".subckt") - (word == ".ends")
        tokens = card.text.lower().split()
        if depth == 0 and word[:1] in ("v", "i") and len(tokens) >= 3:
            out[word] = (tokens[1], tokens[2])
    return out
