"""A user's own netlist as a circuit: its ``.param`` values are the parameters; the sweep
spec's analyses run at every point and its outputs are measured on their results."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

from ..spice.errors import MissingVectorError
from ..spice.netlist import declared_params, prepare_netlist
from ..validate import spice_letters, spice_number
from .base import Circuit, CircuitError, Measured, Measurement, Parameter
from .user_analyses import parse_analyses
from .user_corners import corner_map, swap_corner
from .user_outputs import parse_outputs


class NetlistCircuit(Circuit):
    """A netlist file swept through its top-level ``.param`` parameters.

    Parameters
    ----------
    path : netlist file. It is read and checked here (the sandbox of :mod:`cimspice.spice.sandbox`:
        no commands, includes only from its folder and ``netlists/``, all present).
    outputs : name -> ``{"vector": "v(out)", "unit": "V"}``, ``{"meas": "tran WHEN ..."}``,
        ``{"energy": {...}}``...: what to record (:mod:`.user_outputs`).
    analysis : ``"op"`` (default), or a mapping of the analyses to run at every point, e.g.
        ``{"tran": {"step": s, "stop": s}, "ac": {...}}`` (:mod:`.user_analyses`). Times
        and frequencies are numbers or SPICE numbers (``"1n"``).
    corner : a process corner: the deck's ``.lib`` lines of the shipped cards and of the
        files in ``corner_libs`` (``{file: {corner: section}}``) read its section
        (:mod:`.user_corners`).

    Besides the ``.param`` parameters, ``temp`` (degC) sets the circuit temperature. A
    parameter's unit is what its ``.param`` value says after the number (``vin=600mV`` is in
    V, one of :data:`UNIT_LETTERS`), else unknown (``""``) until :meth:`declare_units` sets it.
    """

    def __init__(self, path: str | Path, outputs: Mapping[str, Mapping], analysis=None, *,
                 corner: str | None = None, corner_libs=None):
        self.path = Path(path)
        self.text, _ = prepare_netlist(self.path)
        self.name = self.path.stem
        self.corner = corner
        if corner is not None:  # its .lib lines read the corner's sections (user_corners)
            folder = self.path.resolve().parent
            self.text = swap_corner(self.text, folder, corner, corner_map(corner_libs, folder), str(self.path))
        values = param_values(self.text)
        declared = declared_params(self.text)
        self.parameters = tuple(
            Parameter(n, value_unit(values.get(n, "")), _default(values.get(n, "")), (-math.inf, math.inf),
                      f".param {n} of {self.path.name}")
            for n in declared)
        if not self.parameters:
            raise CircuitError(f"{self.path}: the netlist declares no .param parameters to sweep")
        self._temp_is_param = "temp" in declared
        if not self._temp_is_param:
            self.parameters += (Parameter("temp", "degC", 27.0, (-273.15, 1000.0), "circuit temperature"),)
        if not outputs:
            raise CircuitError(f"{self.path}: give outputs as name: {{vector: 'v(out)', unit: 'V'}}")
        self.analyses = parse_analyses(analysis, self.text)
        self.outputs = parse_outputs(outputs, self.analyses, self.text)
        self.measurements = tuple(Measurement(o.name, o.unit, o.description) for o in self.outputs.values())
        # what each analysis reads: its axis and the outputs' vectors
        self._reads = {kind: list(dict.fromkeys([a.axis] * bool(a.axis) + [
            v for o in self.outputs.values() if o.analysis == kind for v in o.vectors]))
            for kind, a in self.analyses.items()}
        self._axes = {kind: a.axis for kind, a in self.analyses.items()}
        # Parameters that are just one device's value change in place (alter: no reset, no
        # re-elaboration); the others through alterparam + reset, only when they change.
        self._device_of = _device_params(self.text, declared)
        self._applied: dict[str, float] = {}
        # Saved by the engine from the second point on: the vectors the outputs read (the
        # first point saves all, so that a missing vector is named against all of them). A
        # noise analysis runs only with every vector saved.
        self._save = None if "noise" in self.analyses else sorted({v for r in self._reads.values() for v in r})
        self._saving = False

    def analysis_values(self) -> dict:
        """``kind -> arguments`` of the analyses each point runs (numbers as numbers)."""
        return {kind: dict(a.args) for kind, a in self.analyses.items()}

    def declare_units(self, units: Mapping[str, str]) -> None:
        """Give parameters whose unit the netlist does not say (``""``) the unit (SI symbol)
        declared for them, e.g. by a sweep spec's ``parameters.<name>.unit``; the sweep file
        records it. A parameter the netlist already gives a unit keeps it."""
        self.parameters = tuple(
            replace(p, unit=str(units[p.name])) if p.name in units and not p.unit else p for p in self.parameters)

    def netlist(self) -> str:
        return self.text

    def __getstate__(self):
        return {**super().__getstate__(), "_saving": False}  # the save list is one engine's

    def load(self, engine) -> None:
        self.load_text(engine, self.text, source=str(self.path), trusted=True)  # checked when read
        self._saving = False

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
        results, aids = {}, []
        for kind, analysis in self.analyses.items():
            try:
                result = analysis.run(engine, self._reads[kind])
            except MissingVectorError as error:
                raise self._named(error, kind) from None
            results[kind] = result.vectors
            aids += [a for a in result.aids if a not in aids]
        # a measurement that cannot be taken raises MeasureError: this point fails with its reason
        values = {name: output.evaluate(results, self._axes) for name, output in self.outputs.items()}
        if self._save and not self._saving:
            engine.save(self._save)
            self._saving = True
        return Measured(values, "aided" if aids else "ok", tuple(aids))

    def _named(self, error: MissingVectorError, kind: str) -> MissingVectorError:
        """``error`` naming the output (its name in the spec) that reads the missing vector."""
        output = next((name for name, o in self.outputs.items() if o.analysis == kind and error.vector in o.vectors),
                      "")
        return MissingVectorError(error.reason, vector=error.vector, output=output, log=error.log,
                                  source=error.source)


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


#: Letters after a ``.param`` value's number that name its unit (``vin=600mV``): SI symbols,
#: as written (SPICE ignores them and their case, so ``mS`` and ``ms`` read the same number).
UNIT_LETTERS = {"V": "V", "A": "A", "F": "F", "H": "H", "s": "s", "Hz": "Hz", "ohm": "ohm", "Ohm": "ohm",
                "S": "S", "W": "W", "J": "J", "C": "C"}


def param_values(text: str) -> dict[str, str]:
    """``name -> value`` as written in the ``.param name=value`` lines of a netlist (lower-cased
    names; ``600mV``, ``{2*w}``)."""
    lines = "\n".join(ln for ln in text.splitlines() if ln.strip().lower().startswith(".param"))
    return {name.lower(): value for name, value in re.findall(r"([A-Za-z_][\w.]*)\s*=\s*(\{[^}]*\}|[^\s{}=]+)", lines)}


def value_unit(value: str) -> str:
    """The unit a ``.param`` value names after its number (``"600mV"`` -> ``"V"``), else ``""``."""
    return UNIT_LETTERS.get(spice_letters(value), "")


def _default(value: str) -> float:
    """A ``.param`` value as a number; 0.0 for one that is not (an expression, another name)."""
    try:
        return spice_number(value, "value", CircuitError)
    except CircuitError:
        return 0.0
