"""What a sweep records of a user netlist: one value per output and point, each from one of
the spec's analyses (:mod:`.user_analyses`).

An output is ``name: {KIND: ARGUMENTS, unit: UNIT}`` with one kind:

=================  =====================================================  ===========
kind               arguments                                              analysis
=================  =====================================================  ===========
``vector``         ``v(out)``, ``v(a,b)``, ``i(vdd)``: its operating     op / tran
                   point (or last tran sample)
``meas``           an ngspice ``.meas`` line without its name             tran/ac/dc
``energy``         ``{supply: vdd[, from: t, to: t]}``: int v*i dt         tran
``settling``       ``{vector, tolerance: 1m | 1%[, from, to, final]}``   tran
``rise``/``fall``  ``v(out)`` or ``{vector, from, to, low: 10%, high: 90%}``  tran
``dc_gain``, ``bandwidth``, ``unity_gain``, ``phase_margin``
                   ``v(out)`` or ``{vector: v(out), input: v(in)}``        ac
``input_noise``, ``output_noise``  ``{from: f, to: f}``: rms over the band  noise
=================  =====================================================  ===========

A value that cannot be measured at a point (no crossing, never settles) fails that point
with a :class:`~.measure.MeasureError` that names the output and says why.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from ..validate import did_you_mean, spice_number
from ..yamlio import unknown_keys
from . import measure_derived as md
from .errors import CircuitError
from .measure import Meas, MeasureError, Probe, parse_meas, parse_probe
from .user_analyses import Analysis, top_level_sources

AC_KINDS = ("dc_gain", "bandwidth", "unity_gain", "phase_margin")
NOISE_KINDS = ("input_noise", "output_noise")
KINDS = ("vector", "meas", "energy", "settling", "rise", "fall", *AC_KINDS, *NOISE_KINDS)
#: the unit of a kind's value, where it is one whatever the circuit
FIXED_UNITS = {"energy": "J", "settling": "s", "rise": "s", "fall": "s", "bandwidth": "Hz", "unity_gain": "Hz",
               "phase_margin": "deg"}
_ARGS = {"energy": ("supply", "from", "to"), "settling": ("vector", "tolerance", "from", "to", "final"),
         "rise": ("vector", "from", "to", "low", "high"), "ac": ("vector", "input"), "noise": ("from", "to")}


@dataclass(frozen=True)
class Output:
    """One recorded value: ``kind`` (:data:`KINDS`) read from ``analysis``'s ``vectors``."""

    name: str
    kind: str
    analysis: str
    unit: str
    description: str
    vectors: tuple[str, ...]
    probe: Probe | None = None
    other: Probe | None = None  # ac: the input; energy: the supply's current
    meas: Meas | None = None
    vector: str = ""  # kind "vector": as written
    start: float = -math.inf
    stop: float = math.inf
    tolerance: float = 0.0
    relative: bool = False
    final: float | None = None
    low: float = 0.1
    high: float = 0.9

    def evaluate(self, results: Mapping[str, Mapping[str, np.ndarray]], axes: Mapping[str, str]) -> float:
        """The value (SI) from ``results`` (analysis -> engine vector name -> array), the
        axes named by ``axes`` (analysis -> axis vector name); :class:`MeasureError` when
        it cannot be measured."""
        data = results[self.analysis]
        x = np.real(data[axes[self.analysis]]) if axes.get(self.analysis) else None
        try:
            value = self._value(x, data)
        except MeasureError as error:
            raise MeasureError(f"outputs.{self.name}: {error}") from None
        if not np.isfinite(value):
            raise MeasureError(f"outputs.{self.name}: {self._why_not(x)}")
        return float(value)

    def _value(self, x, data) -> float:
        k = self.kind
        if k == "vector":
            return float(np.real(self.probe.signal(data)[-1]))  # one sample: no array copied
        if k == "meas":
            return self.meas.evaluate(x, data)
        if k == "energy":
            power = np.real(self.probe.values(data) * -self.other.values(data))
            return md.energy(x, power, self.start, self.stop)
        if k == "settling":
            return md.settling(x, self.probe.values(data), self.tolerance, max(self.start, x[0]), self.stop,
                               relative=self.relative, final=self.final)
        if k in ("rise", "fall"):
            return md.edge_time(x, self.probe.values(data), k, self.start, self.stop, self.low, self.high)
        if k in AC_KINDS:
            h = self.probe.signal(data) / (self.other.signal(data) if self.other else 1.0)
            return md.ac_metric(k, x, h)
        density = data["inoise_spectrum" if k == "input_noise" else "onoise_spectrum"]
        return md.noise_rms(x, np.real(density), self.start, self.stop)

    def _why_not(self, x) -> str:
        k, span = self.kind, f"[{x[0]:g}, {x[-1]:g}]" if x is not None else ""
        return {"energy": f"window {self.start:g}..{self.stop:g} s holds no interval of the transient {span} s",
                "settling": f"{self.probe.text if self.probe else ''} is not inside its band at "
                            f"{min(self.stop, x[-1]) if x is not None else self.stop:g} s",
                "rise": f"{self.probe.text if self.probe else ''} has no 10-90 % rising edge in {span} s after "
                        f"{self.start:g} s",
                "fall": f"{self.probe.text if self.probe else ''} has no 90-10 % falling edge in {span} s after "
                        f"{self.start:g} s",
                "bandwidth": f"the gain never falls 3 dB below its value at the first frequency in {span} Hz",
                "unity_gain": f"the gain never falls through 1 in {span} Hz",
                "phase_margin": f"the gain never falls through 1 in {span} Hz",
                }.get(k, f"band {self.start:g}..{self.stop:g} Hz outside the noise analysis's {span} Hz"
                      if k in NOISE_KINDS else "not a finite number")


def parse_outputs(outputs, analyses: dict[str, Analysis], text: str) -> dict[str, Output]:
    """``name -> Output`` of a spec's ``outputs`` for a netlist ``text`` run with
    ``analyses``; a :class:`CircuitError` naming the output and field otherwise. Every
    analysis must be read by some output."""
    if not isinstance(outputs, Mapping) or not outputs:
        raise CircuitError("give outputs as name: {vector: 'v(out)', unit: 'V'} (or meas:, energy:, ...)")
    out = {}
    for name, entry in outputs.items():
        # a dataset of the sweep file: a '/' would make it a group
        if not isinstance(name, str) or not name.isidentifier():
            raise CircuitError(f"outputs: {name!r} is not an output name (letters, digits and _)")
        out[name] = _output(name, entry, analyses, text)
    unread = [kind for kind in analyses if not any(o.analysis == kind for o in out.values())]
    if unread:
        raise CircuitError(f"analysis.{unread[0]}: no output reads it, so every point would run it for nothing")
    return out


def _output(name: str, entry, analyses: dict[str, Analysis], text: str) -> Output:
    where = f"outputs.{name}"
    kinds = [k for k in entry if k in KINDS] if isinstance(entry, Mapping) else []
    if len(kinds) != 1:
        unknown = [str(k) for k in entry if k not in (*KINDS, "unit")] if isinstance(entry, Mapping) else []
        raise CircuitError(f"{where}: expected {{vector: 'v(out)', unit: 'V'}} or one of {', '.join(KINDS[1:])}"
                           + (f" (not {' and '.join(kinds)} together)" if len(kinds) > 1 else "")
                           + did_you_mean(unknown, (*KINDS, "unit")))
    unknown = set(map(str, entry)) - {kinds[0], "unit"}
    if unknown:
        raise CircuitError(f"{where}: unknown key(s) {unknown_keys(unknown, (*KINDS, 'unit'))}")
    kind, args = kinds[0], entry[kinds[0]]
    fields = _fields(kind, args, analyses, text, where)
    analysis = fields.pop("analysis")
    if analysis not in analyses:
        raise CircuitError(f"{where}: {kind} reads a {analysis} analysis; add {analysis} to the spec's analysis")
    default = fields.pop("unit")
    unit = entry.get("unit", default)
    if not isinstance(unit, str) or not unit.isprintable():
        raise CircuitError(f"{where}.unit: expected a unit symbol such as 'V', got {unit!r}")
    if default and kind != "vector" and unit != default:
        raise CircuitError(f"{where}.unit: {unit!r}, but {kind} is in {default!r} (values are SI)")
    return Output(name, kind, analysis, unit, **fields)


def _fields(kind: str, args, analyses: dict[str, Analysis], text: str, where: str) -> dict:
    """The Output fields of one kind's ``args``, with ``analysis`` and default ``unit``."""
    if kind == "vector":
        if not isinstance(args, str) or not args.strip():
            raise CircuitError(f"{where}: expected {{vector: 'v(node)', unit: 'V'}}")
        analysis = "op" if "op" in analyses or "tran" not in analyses else "tran"
        what = "op" if analysis == "op" else "final value of tran"
        # as a measurement reads it: v(a,b) is v(a) - v(b), read as the two node voltages
        probe = parse_probe(args, f"{where}.vector", analysis)
        if not probe.vectors:
            raise CircuitError(f"{where}.vector: {probe.text} is ground, 0 V at every point")
        return dict(analysis=analysis, unit="", description=f"{what} vector {args}", vectors=probe.vectors,
                    probe=probe, vector=args)
    if kind == "meas":
        meas = parse_meas(args, f"{where}.meas")
        axis = analyses[meas.analysis].axis_unit if meas.analysis in analyses else ""
        return dict(analysis=meas.analysis, unit=meas.unit(axis), description=f".meas {' '.join(args.split())}",
                    vectors=meas.vectors, meas=meas)
    group = "ac" if kind in AC_KINDS else "noise" if kind in NOISE_KINDS else "rise" if kind == "fall" else kind
    a = _arguments(args, _ARGS[group], where, vector_shorthand=group in ("rise", "ac"))
    window = dict(start=_number(a, "from", where, -math.inf), stop=_number(a, "to", where, math.inf))
    if window["stop"] <= window["start"]:
        raise CircuitError(f"{where}: to ({window['stop']:g}) is not after from ({window['start']:g})")
    if group == "noise":
        source = analyses["noise"].args["source"] if "noise" in analyses else "v"
        unit = ("V" if source.startswith("v") else "A") if kind == "input_noise" else "V"
        return dict(analysis="noise", unit=unit, vectors=("inoise_spectrum" if kind == "input_noise" else
                                                          "onoise_spectrum",),
                    description=f"{kind.replace('_', ' ')} (rms) from {window['start']:g} to {window['stop']:g} Hz",
                    **window)
    if kind == "energy":
        return _energy(a, text, where, window)
    probe = parse_probe(_required(a, "vector", where), f"{where}.vector", "ac" if group == "ac" else "tran")
    if group == "ac":
        other = parse_probe(a["input"], f"{where}.input", "ac") if "input" in a else None
        units = {probe.unit, other.unit if other else "V"}
        what = {"dc_gain": "DC gain (at the first frequency)", "bandwidth": "-3 dB bandwidth",
                "unity_gain": "unity-gain frequency", "phase_margin": "phase margin"}[kind]
        return dict(analysis="ac", unit=FIXED_UNITS.get(kind, "V/V" if units == {"V"} else ""), probe=probe,
                    other=other, vectors=probe.vectors + (other.vectors if other else ()),
                    description=f"{what} of {probe.text}" + (f" / {other.text}" if other else ""))
    if group == "rise":
        low, high = (_fraction(a.get(k, d), f"{where}.{k}") for k, d in (("low", 0.1), ("high", 0.9)))
        if not 0 <= low < high <= 1:
            raise CircuitError(f"{where}: expected 0 <= low < high <= 1 (fractions of the swing), got {low}, {high}")
        return dict(analysis="tran", unit="s", probe=probe, vectors=probe.vectors, low=low, high=high,
                    description=f"{low:.0%}-{high:.0%} {kind} time of {probe.text}", **window)
    tolerance, relative = _tolerance(_required(a, "tolerance", where), f"{where}.tolerance")
    final = _number(a, "final", where, None)
    band = f"{tolerance:.3g} x the step" if relative else f"{tolerance:g}"
    return dict(analysis="tran", unit="s", probe=probe, vectors=probe.vectors, tolerance=tolerance,
                relative=relative, final=final, **window,
                description=f"settling time of {probe.text} to +-{band} of its final value")


def _energy(a: dict, text: str, where: str, window: dict) -> dict:
    supply = _required(a, "supply", where)
    sources = top_level_sources(text)
    name = str(supply).strip().lower()
    if not name.startswith("v") or name not in sources:
        known = ", ".join(s for s in sources if s.startswith("v")) or "none"
        raise CircuitError(f"{where}.supply: no voltage source {supply!r} at the netlist's top level (its voltage "
                           f"sources: {known}){did_you_mean(name, sources)}")
    p, n = sources[name]
    probe = Probe(f"v({p},{n})", "v", (p, n))
    current = Probe(f"i({name})", "i", (name,))
    return dict(analysis="tran", unit="J", probe=probe, other=current, vectors=probe.vectors + current.vectors,
                description=f"energy delivered by {name} from {window['start']:g} to {window['stop']:g} s",
                **window)


def _arguments(args, keys: tuple[str, ...], where: str, *, vector_shorthand: bool) -> dict:
    if vector_shorthand and isinstance(args, str):
        return {"vector": args}
    if not isinstance(args, Mapping):
        raise CircuitError(f"{where}: expected a mapping of {', '.join(keys)}, got {args!r}")
    unknown = set(map(str, args)) - set(keys)
    if unknown:
        raise CircuitError(f"{where}: unknown key(s) {unknown_keys(unknown, keys)}")
    return dict(args)


def _required(a: dict, key: str, where: str):
    if key not in a:
        raise CircuitError(f"{where}: missing {key}")
    return a[key]


def _number(a: dict, key: str, where: str, default):
    return default if key not in a else spice_number(a[key], f"{where}.{key}", CircuitError)


def _fraction(value, where: str) -> float:
    if isinstance(value, str) and value.strip().endswith("%"):
        return spice_number(value.strip()[:-1], where, CircuitError) / 100.0
    return spice_number(value, where, CircuitError)


def _tolerance(value, where: str) -> tuple[float, bool]:
    """``(tolerance, relative)``: ``"1%"`` is 1 % of the step, a number an absolute band."""
    relative = isinstance(value, str) and value.strip().endswith("%")
    tolerance = _fraction(value, where)
    if not tolerance > 0:
        raise CircuitError(f"{where}: expected a positive band (1m, or 1% of the step), got {value!r}")
    return tolerance, relative
