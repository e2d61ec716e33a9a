"""A user's own netlist as a circuit: its ``.param`` values are the parameters, named
result vectors the measurements."""

from __future__ import annotations

import math
import numbers
import re
import sys
from collections.abc import Mapping
from pathlib import Path

from ..spice.netlist import declared_params, prepare_netlist
from .base import Circuit, CircuitError, Measured, Measurement, Parameter
from .devices import spice_number

# Analyses a netlist circuit can run, with their required and optional arguments (s).
_ANALYSES = {"op": ((), ()), "tran": (("step", "stop"), ("start", "max_step"))}


class NetlistCircuit(Circuit):
    """A netlist file swept through its top-level ``.param`` parameters.

    Parameters
    ----------
    path : netlist file. It is read and checked here (the sandbox of :mod:`cimspice.spice.sandbox`:
        no commands, includes only from its folder and ``netlists/``, all present).
    outputs : name -> ``{"vector": "v(out)", "unit": "V"}``: vectors to record.
    analysis : ``"op"`` (default) or ``{"tran": {"step": s, "stop": s[, "start": s, "max_step": s]}}``;
        after a transient the recorded value is the vector's last sample (at ``stop``).

    Besides the ``.param`` parameters, ``temp`` (degC) sets the circuit temperature.
    """

    def __init__(self, path: str | Path, outputs: Mapping[str, Mapping[str, str]], analysis=None):
        self.path = Path(path)
        self.text, _ = prepare_netlist(self.path)
        self.name = self.path.stem
        self.analysis = _analysis(analysis)
        defaults = _param_defaults(self.text)
        declared = declared_params(self.text)
        self.parameters = tuple(
            Parameter(n, "", defaults.get(n, 0.0), (-math.inf, math.inf), f".param {n} of {self.path.name}")
            for n in declared)
        if not self.parameters:
            raise CircuitError(f"{self.path}: the netlist declares no .param parameters to sweep")
        self._temp_is_param = "temp" in declared
        if not self._temp_is_param:
            self.parameters += (Parameter("temp", "degC", 27.0, (-273.15, 1000.0), "circuit temperature"),)
        if not outputs:
            raise CircuitError(f"{self.path}: give outputs as name: {{vector: 'v(out)', unit: 'V'}}")
        self.vectors = {}
        measurements = []
        for name, entry in outputs.items():
            # a dataset of the sweep file: a '/' would make it a group
            if not isinstance(name, str) or not name.isidentifier():
                raise CircuitError(f"outputs: {name!r} is not an output name (letters, digits and _)")
            if not isinstance(entry, Mapping) or not isinstance(entry.get("vector"), str):
                raise CircuitError(f"outputs.{name}: expected {{vector: 'v(node)', unit: 'V'}}")
            self.vectors[name] = entry["vector"]
            kind = "op" if self.analysis[0] == "op" else "final value of tran"
            measurements.append(Measurement(name, str(entry.get("unit", "")), f"{kind} vector {entry['vector']}"))
        self.measurements = tuple(measurements)
        # Parameters that are just one device's value change in place (alter: no reset, no
        # re-elaboration); the others through alterparam + reset, only when they change.
        self._device_of = _device_params(self.text, declared)
        self._applied: dict[str, float] = {}

    def netlist(self) -> str:
        return self.text

    def load(self, engine) -> None:
        self.load_text(engine, self.text, source=str(self.path), trusted=True)  # checked when read

    def simulate(self, engine, point: Mapping[str, float]) -> Measured:
        applied, device_of = self._applied, self._device_of
        changed = {k: v for k, v in point.items() if applied.get(k) != v}
        temp = None if self._temp_is_param else changed.pop("temp", None)
        if temp is not None:
            engine.set_temperature(temp)
        params = {k: v for k, v in changed.items() if k not in device_of}
        if params:
            engine.set_params(**params)
        for name, value in changed.items():
            if name in device_of:
                engine.alter(device_of[name], value)
        applied.update(point)
        kind, args = self.analysis
        if kind == "op":
            result = engine.op(list(self.vectors.values()))
        else:
            result = engine.tran(vectors=list(self.vectors.values()), **args)
        values = {name: float(result[vector][-1].real) for name, vector in self.vectors.items()}
        return Measured(values, result.status, result.aids)


def _analysis(analysis) -> tuple[str, dict]:
    if analysis is None or analysis == "op":
        return "op", {}
    if not isinstance(analysis, Mapping) or len(analysis) != 1:
        raise CircuitError(f"analysis: expected 'op' or {{tran: {{step: s, stop: s}}}}, got {analysis!r}")
    (kind, args), = analysis.items()
    if kind not in _ANALYSES or kind == "op":
        raise CircuitError(f"analysis: {kind!r} is not one of {', '.join(_ANALYSES)}")
    required, optional = _ANALYSES[kind]
    if not isinstance(args, Mapping):
        raise CircuitError(f"analysis.{kind}: expected a mapping of {', '.join(required + optional)}")
    unknown = set(args) - set(required) - set(optional)
    missing = set(required) - set(args)
    if unknown or missing:
        raise CircuitError(f"analysis.{kind}: " + "; ".join(
            ([f"unknown {', '.join(sorted(map(repr, unknown)))}"] if unknown else [])
            + ([f"missing {', '.join(sorted(missing))}"] if missing else [])))
    seconds = {}
    for key, value in args.items():
        # compared, not math.isfinite(): that raises on an int past float's range
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 <= value <= sys.float_info.max:
            raise CircuitError(f"analysis.{kind}.{key}: {value!r} is not a non-negative number of seconds")
        seconds[key] = float(value)
    return kind, seconds


_DEVICE_VALUE = re.compile(r"^\s*([rclvi]\w*)\s+\S+\s+\S+\s+(?:dc\s+)?\{\s*([a-z_][\w.]*)\s*\}\s*$", re.IGNORECASE)


def _device_params(text: str, declared: list[str]) -> dict[str, str]:
    """``param -> device`` for each ``.param`` whose only use is as the whole value of one
    top-level resistor, capacitor, inductor or DC source (``R2 b 0 {r2}``, ``V1 a 0 dc {vin}``):
    changing it is ``alter device = value``. Any other use (an expression, a subcircuit, a
    second device, a node of the same name, more on the line) leaves it to alterparam + reset."""
    logical: list[str] = []
    for line in text.splitlines()[1:]:
        line = line.strip().lower()
        if not line or line.startswith("*"):
            continue
        if line.startswith("+") and logical:
            logical[-1] += " " + line[1:]
        else:
            logical.append(line)
    depth, devices, uses = 0, {}, {name: 0 for name in declared}
    for line in logical:
        depth += line.startswith(".subckt") - line.startswith(".ends")
        if line.startswith(".param"):
            body = re.sub(r"([a-z_][\w.]*)\s*=", " ", line[6:])  # a definition is not a use
        elif line.startswith("."):
            body = line
        else:
            body = line.partition(" ")[2]  # the device's own name is not a use
        for name in re.findall(r"[a-z_][\w.]*", body):
            if name in uses:
                uses[name] += 1
        match = _DEVICE_VALUE.match(line)
        if match and depth == 0 and match.group(2) in uses:
            devices.setdefault(match.group(2), []).append(match.group(1))
    return {name: devs[0] for name, devs in devices.items() if len(devs) == 1 and uses[name] == 1}


def _param_defaults(text: str) -> dict[str, float]:
    """Numeric defaults of ``.param name=value`` lines (expressions have none)."""
    lines = "\n".join(ln for ln in text.splitlines() if ln.strip().lower().startswith(".param"))
    out = {}
    for name, value in re.findall(r"([A-Za-z_][\w.]*)\s*=\s*([-+0-9.][^\s{}]*)", lines):
        try:
            out[name.lower()] = spice_number(value)
        except CircuitError:
            pass
    return out
