"""Sweep specifications: YAML text validated into typed objects against a circuit's declaration.

A spec is data. Example::

    circuit: cell_1t1r
    design: grid            # grid | lhs | random | list
    parameters:
      g:    {start: 1.0e-6, stop: 1.0e-4, num: 12, scale: log}   # S
      v_bl: {start: 0.0, stop: 0.3, num: 13}                      # V
      v_wl: {values: [0.6, 0.8, 1.0]}                             # V
      temp: 27                                                    # fixed, degC
    outputs: [i_cell]
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import yaml

from .. import CimspiceError
from ..circuits import get_circuit
from ..circuits.base import Circuit, CircuitError
from ..circuits.user import NetlistCircuit
from ..spice.errors import SpiceError

DESIGNS = ("grid", "lhs", "random", "list")


class SpecError(CimspiceError):
    """A sweep specification that cannot be run."""


@dataclass(frozen=True)
class Axis:
    """One swept parameter: explicit ``values`` (grid/list) or a ``[lo, hi]`` range
    (lhs/random); ``scale`` says whether sampling is uniform in value or in log(value)."""

    name: str
    values: tuple[float, ...] = ()
    bounds: tuple[float, float] | None = None
    scale: str = "linear"


@dataclass(frozen=True)
class SweepSpec:
    """A validated sweep: which circuit, which points, which outputs."""

    circuit: Circuit
    design: str
    axes: tuple[Axis, ...]
    fixed: dict[str, float]
    outputs: tuple[str, ...]
    samples: int = 0
    seed: int = 0
    text: str = field(default="", repr=False)
    source: str = "<spec>"


def _number(value, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise SpecError(f"{where}: {value!r} is not a number (write SI values, e.g. 1.0e-6, not '1u')")
    if not np.isfinite(value):
        raise SpecError(f"{where}: {value!r} is not finite")
    return float(value)


def _axis(name: str, entry, design: str, source: str, circuit: Circuit) -> Axis:
    where = f"{source}: parameters.{name}"
    declared = circuit.parameter(name)
    scale = entry.get("scale", declared.scale)
    if scale not in ("linear", "log"):
        raise SpecError(f"{where}.scale: {scale!r} is neither 'linear' nor 'log'")
    unknown = set(entry) - {"values", "start", "stop", "num", "scale", "unit"}
    if unknown:
        raise SpecError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
    if "unit" in entry and declared.unit and entry["unit"] != declared.unit:
        raise SpecError(f"{where}.unit: {entry['unit']!r} but {circuit.name}.{name} is in {declared.unit!r}")
    if "values" in entry:
        values = entry["values"]
        if not isinstance(values, list) or not values:
            raise SpecError(f"{where}.values: expected a non-empty list of numbers")
        values = tuple(_number(v, f"{where}.values") for v in values)
    elif {"start", "stop"} <= set(entry):
        lo, hi = _number(entry["start"], f"{where}.start"), _number(entry["stop"], f"{where}.stop")
        if design in ("lhs", "random"):
            values = (lo, hi)
        else:
            num = entry.get("num")
            if isinstance(num, bool) or not isinstance(num, int) or num < 1:
                raise SpecError(f"{where}.num: expected a positive integer, got {num!r}")
            if scale == "log" and min(lo, hi) <= 0:
                raise SpecError(f"{where}: a log scale needs positive start and stop")
            space = np.geomspace if scale == "log" else np.linspace
            values = tuple(float(v) for v in space(lo, hi, num))
    else:
        raise SpecError(f"{where}: give 'values' or 'start' and 'stop'")
    try:
        declared.check(np.array(values), where=f"{source}")
    except CircuitError as error:
        raise SpecError(str(error)) from None
    if design in ("lhs", "random"):
        return Axis(name, bounds=(min(values), max(values)), scale=scale)
    return Axis(name, values=values, scale=scale)


def parse_spec(data: dict, *, source: str = "<spec>", text: str = "") -> SweepSpec:
    """Validate a spec given as a mapping (e.g. from YAML)."""
    if not isinstance(data, dict):
        raise SpecError(f"{source}: expected a mapping with 'circuit', 'parameters', ... at the top")
    unknown = set(data) - {"circuit", "circuit_args", "netlist", "design", "parameters", "outputs",
                           "samples", "seed"}
    if unknown:
        raise SpecError(f"{source}: unknown field(s) {', '.join(sorted(unknown))}")
    original = data
    if ("circuit" in data) == ("netlist" in data):
        raise SpecError(f"{source}: give exactly one of 'circuit' (a cimspice circuit) or 'netlist' (a file)")
    try:
        if "netlist" in data:
            # A user netlist: relative to the spec file, its outputs name result vectors.
            path = Path(str(data["netlist"]))
            if not path.is_absolute() and source != "<spec>":
                path = Path(source).parent / path
            circuit = NetlistCircuit(path, data.get("outputs") or {})
            data = {**data, "outputs": list((data.get("outputs") or {}).keys())}
        else:
            circuit = get_circuit(data["circuit"], **(data.get("circuit_args") or {}))
    except CircuitError as error:
        raise SpecError(f"{source}: circuit: {error}") from None
    except SpiceError as error:
        raise SpecError(f"{source}: netlist: {error}") from None
    design = data.get("design", "grid")
    if design not in DESIGNS:
        raise SpecError(f"{source}: design: {design!r} is not one of {', '.join(DESIGNS)}")
    params = data.get("parameters")
    if not isinstance(params, dict) or not params:
        raise SpecError(f"{source}: parameters: expected a mapping of parameter names")
    axes, fixed = [], {}
    for name, entry in params.items():
        try:
            circuit.parameter(str(name))
            if isinstance(entry, dict):
                axes.append(_axis(str(name), entry, design, source, circuit))
            else:
                value = _number(entry, f"{source}: parameters.{name}")
                circuit.parameter(str(name)).check(value, where=source)
                fixed[str(name)] = value
        except CircuitError as error:
            raise SpecError(f"{source}: parameters: {error}") from None
    if not axes:
        raise SpecError(f"{source}: parameters: nothing is swept")
    if design == "list" and len({len(a.values) for a in axes}) != 1:
        raise SpecError(f"{source}: design 'list' needs every parameter's values to have the same length")
    outputs = data.get("outputs") or [m.name for m in circuit.measurements]
    if isinstance(outputs, str) or not isinstance(outputs, list):
        raise SpecError(f"{source}: outputs: expected a list of measurement names")
    for name in outputs:
        try:
            circuit.measurement(name)
        except CircuitError as error:
            raise SpecError(f"{source}: outputs: {error}") from None
    samples = data.get("samples", 0)
    if design in ("lhs", "random") and (isinstance(samples, bool) or not isinstance(samples, int) or samples < 1):
        raise SpecError(f"{source}: samples: design {design!r} needs a positive integer number of samples")
    seed = data.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise SpecError(f"{source}: seed: expected a non-negative integer")
    if not text:
        text = yaml.safe_dump(original, sort_keys=False)
    return SweepSpec(circuit, design, tuple(axes), fixed, tuple(outputs), samples, seed, text, source)


def load_spec(path: str | Path) -> SweepSpec:
    """Read and validate a YAML spec file (``yaml.safe_load``: data only, no tags)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise SpecError(f"{path}: cannot read spec: {error.strerror or error}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise SpecError(f"{path}: malformed YAML{where}: {getattr(error, 'problem', error)}") from None
    return parse_spec(data, source=str(path), text=text)
