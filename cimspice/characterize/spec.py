"""Sweep specifications: YAML text validated into typed objects against a circuit's declaration.

A spec is data (docs/sweep_schema.md lists every field). Example::

    circuit: cell_1t1r
    design: grid            # grid | lhs | random | list | montecarlo
    parameters:
      g:    {start: 1.0e-6, stop: 1.0e-4, num: 12, scale: log}   # S
      v_bl: {start: 0.0, stop: 0.3, num: 13}                      # V
      v_wl: {values: [0.6, 0.8, 1.0]}                             # V (or just [0.6, 0.8, 1.0])
    corners: [tt, ff, ss]    # one circuit instance per process corner
    temperatures: [-40, 27, 125]                                  # degC
    outputs: [i_cell]

Monte Carlo: ``design: montecarlo`` with ``samples`` and ``seed``; a parameter given as
``{sigma: s}`` (and optionally ``mean``, default the parameter's default) is drawn from a
normal distribution, once per sample, in Python with the recorded seed (ngspice's own
``agauss`` repeats its draws after every reset). Other swept parameters form a grid that
every sample is evaluated on: sample ``s`` is the same device instance at every grid point.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
import yaml

from ..circuits import get_circuit
from ..circuits.base import Circuit, CircuitError
from ..circuits.user import NetlistCircuit
from ..spice.errors import SpiceError
from ..validate import spice_number
from ..yamlio import finite, load_yaml, unknown_keys, yaml_problem
from .errors import SpecError
from .safety import netlist_fingerprint

DESIGNS = ("grid", "lhs", "random", "list", "montecarlo")
AXIS_KEYS = ("values", "start", "stop", "num", "scale", "unit", "sigma", "mean")
FIELDS = ("circuit", "circuit_args", "netlist", "analysis", "design", "parameters", "outputs", "samples",
          "seed", "corners", "corner_libs", "temperatures", "timeout", "max_points")
#: Most points a spec may describe unless its ``max_points`` says otherwise: a typo in a
#: ``num`` (or one axis too many) should be an error, not a MemoryError. 1e7 points is a
#: day of simple operating points at ~0.1 ms each on every core of a workstation, and
#: 80 MB per input column in memory.
DEFAULT_MAX_POINTS = 10_000_000
#: Parameter names with a meaning of their own in a sweep file (see docs/sweep_schema.md).
RESERVED = ("corner",)


@dataclass(frozen=True)
class Axis:
    """One swept parameter: explicit ``values`` (grid/list/montecarlo conditions) or a
    ``[lo, hi]`` range (lhs/random); ``scale`` says whether sampling is uniform in value or
    in log(value)."""

    name: str
    values: tuple[float, ...] = ()
    bounds: tuple[float, float] | None = None
    scale: str = "linear"


@dataclass(frozen=True)
class Variation:
    """A Monte Carlo parameter: normal with ``mean`` and standard deviation ``sigma``, in the
    parameter's unit."""

    name: str
    mean: float
    sigma: float


@dataclass(frozen=True)
class SweepSpec:
    """A validated sweep: which circuit instances, which points, which outputs.

    ``circuits`` holds one instance per entry of ``corners`` (a single instance when no
    corners are swept); ``temperatures`` (degC) are crossed with every other point.
    ``units`` are the units the spec declares for a user netlist's parameters (the circuit
    records them too: they go into the sweep file).
    """

    circuits: tuple[Circuit, ...]
    design: str
    axes: tuple[Axis, ...]
    fixed: dict[str, float]
    outputs: tuple[str, ...]
    samples: int = 0
    seed: int = 0
    corners: tuple[str, ...] = ()
    temperatures: tuple[float, ...] = ()
    variations: tuple[Variation, ...] = ()
    circuit_args: dict = field(default_factory=dict)
    analysis: object = None
    timeout: float | None = None
    text: str = field(default="", repr=False)
    source: str = "<spec>"
    units: dict[str, str] = field(default_factory=dict)
    corner_libs: dict = field(default_factory=dict)

    @property
    def circuit(self) -> Circuit:
        """The first (for corners: the first corner's) circuit instance."""
        return self.circuits[0]

    def normalized(self) -> dict:
        """What determines the sweep's points and results, independent of how the YAML was
        written (comments, order of keys, '1e-6' vs '0.000001'). The per-point ``timeout``
        is left out: it decides how long to wait, not what is computed."""
        c = self.circuit
        return {
            "circuit": c.name, "kind": "netlist" if isinstance(c, NetlistCircuit) else "registered",
            "circuit_args": self.circuit_args, "analysis": self.analysis, "corners": list(self.corners),
            # netlist texts hold absolute include paths (resolved when they were read)
            "netlists": [netlist_fingerprint(x.netlist()) for x in self.circuits],
            "design": self.design, "samples": self.samples, "seed": self.seed,
            "axes": [{"name": a.name, "values": list(a.values), "bounds": a.bounds, "scale": a.scale}
                     for a in self.axes],
            "fixed": self.fixed, "temperatures": list(self.temperatures),
            "variations": [[v.name, v.mean, v.sigma] for v in self.variations],
            "outputs": [[m, c.measurement(m).unit, c.measurement(m).description] for m in self.outputs],
            # only when declared: the hash of a spec without units stays what it was
            **({"units": self.units} if self.units else {}),
            **({"corner_libs": self.corner_libs} if self.corner_libs else {}),
        }

    def scale(self, name: str) -> str:
        """The scale input ``name`` is recorded (and by default fitted) in: its axis's
        ``scale`` when it is swept as one, else the circuit's declared scale (temperatures,
        Monte Carlo draws, fixed values)."""
        for axis in self.axes:
            if axis.name == name:
                return axis.scale
        return self.circuit.parameter(name).scale

    @cached_property
    def sha256(self) -> str:
        """Hash of :meth:`normalized`: two specs with the same hash give the same sweep file."""
        text = json.dumps(self.normalized(), sort_keys=True, allow_nan=False)
        return hashlib.sha256(text.encode()).hexdigest()

    @property
    def n_points(self) -> int:
        """How many points the sweep has, counted without building them."""
        grid = math.prod(len(a.values) for a in self.axes)
        own = {"grid": grid, "montecarlo": grid * self.samples,
               "list": len(self.axes[0].values) if self.axes else 1}.get(self.design, self.samples)
        return max(len(self.corners), 1) * max(len(self.temperatures), 1) * own


def _number(value, where: str, unit: str = "") -> float:
    """A value of the spec: a number, or a SPICE number (``600m``, ``1.2u``, ``10meg``)."""
    return spice_number(value, where, SpecError, unit=unit)


def _check(circuit: Circuit, name: str, values, where: str) -> None:
    try:
        circuit.parameter(name).check(np.asarray(values, dtype=float), where=where)
    except CircuitError as error:
        raise SpecError(str(error)) from None


def _axis(name: str, entry: dict, design: str, source: str, circuit: Circuit, max_points: int) -> Axis | Variation:
    where = f"{source}: parameters.{name}"
    declared = circuit.parameter(name)
    unknown = set(entry) - set(AXIS_KEYS)
    if unknown:
        raise SpecError(f"{where}: unknown key(s) {unknown_keys(unknown, AXIS_KEYS)}")
    if "unit" in entry:
        _unit(entry["unit"], declared, circuit, where)
    if "sigma" in entry:
        if design != "montecarlo":
            raise SpecError(f"{where}.sigma: a drawn parameter needs design 'montecarlo'")
        if set(entry) & {"values", "start", "stop", "num", "scale"}:
            raise SpecError(f"{where}: give either 'sigma' (Monte Carlo) or values/start/stop, not both")
        sigma = _number(entry["sigma"], f"{where}.sigma", declared.unit)
        if sigma <= 0:
            raise SpecError(f"{where}.sigma: {sigma:g} must be positive")
        mean = _number(entry.get("mean", declared.default), f"{where}.mean", declared.unit)
        _check(circuit, name, mean, where=f"{source}: parameters.{name}.mean")
        return Variation(name, mean, sigma)
    scale = entry.get("scale", declared.scale)
    if scale not in ("linear", "log"):
        raise SpecError(f"{where}.scale: {scale!r} is neither 'linear' nor 'log'")
    if "values" in entry:
        values = entry["values"]
        if not isinstance(values, list) or not values:
            raise SpecError(f"{where}.values: expected a non-empty list of numbers")
        values = tuple(_number(v, f"{where}.values", declared.unit) for v in values)
        if scale == "log" and min(values) <= 0:
            raise SpecError(f"{where}: a log scale needs positive values, got {min(values):g}")
    elif {"start", "stop"} <= set(entry):
        lo = _number(entry["start"], f"{where}.start", declared.unit)
        hi = _number(entry["stop"], f"{where}.stop", declared.unit)
        if scale == "log" and min(lo, hi) <= 0:
            raise SpecError(f"{where}: a log scale needs positive start and stop")
        if design in ("lhs", "random"):
            values = (lo, hi)
        else:
            num = entry.get("num")
            if isinstance(num, bool) or not isinstance(num, int) or num < 1:
                raise SpecError(f"{where}.num: expected a positive integer, got {num!r}")
            if num > max_points:
                raise SpecError(f"{where}.num: {num:,} values, more than max_points ({max_points:,})")
            space = np.geomspace if scale == "log" else np.linspace
            values = tuple(float(v) for v in space(lo, hi, num))
    else:
        raise SpecError(f"{where}: give 'values' or 'start' and 'stop'" +
                        (" (or 'sigma' to draw it)" if design == "montecarlo" else ""))
    _check(circuit, name, values, where=source)
    if design in ("lhs", "random"):
        return Axis(name, bounds=(min(values), max(values)), scale=scale)
    return Axis(name, values=values, scale=scale)


def _unit(unit, declared, circuit: Circuit, where: str) -> None:
    """Refuse a declared ``unit`` that is not a unit symbol, or that differs from the unit the
    circuit gives the parameter. A user netlist's ``.param`` without one takes it."""
    if not isinstance(unit, str) or not unit.strip() or not unit.isprintable():
        raise SpecError(f"{where}.unit: expected a unit symbol such as 'V', got {unit!r}")
    if not declared.unit and isinstance(circuit, NetlistCircuit):
        return
    if unit != declared.unit and {unit, declared.unit} != {"1", ""}:
        have = repr(declared.unit) if declared.unit else "dimensionless ('')"
        raise SpecError(f"{where}.unit: {unit!r} but {circuit.name}.{declared.name} is in {have}")


def _circuits(data: dict, source: str) -> tuple[tuple[Circuit, ...], tuple[str, ...], dict]:
    corners = data.get("corners")
    if corners is not None:
        if (not isinstance(corners, list) or not corners or not all(isinstance(c, str) for c in corners)
                or len(set(corners)) != len(corners)):
            raise SpecError(f"{source}: corners: expected a list of distinct corner names, e.g. [tt, ff, ss]")
    try:
        if "corner_libs" in data and ("netlist" not in data or corners is None):
            raise SpecError(f"{source}: corner_libs: maps a user netlist's model files to the sections of its "
                            f"corners; give it with netlist and corners")
        if "netlist" in data:
            # A user netlist: relative to the spec file, its outputs name result vectors.
            netlist = data["netlist"]
            if not isinstance(netlist, str) or not netlist.strip() or not netlist.isprintable():
                raise SpecError(f"{source}: netlist: expected the path of a netlist file, got {netlist!r}")
            path = Path(netlist)
            if not path.is_absolute() and source != "<spec>":
                path = Path(source).parent / path
            outputs = data.get("outputs") or {}
            if not isinstance(outputs, dict):
                raise SpecError(f"{source}: outputs: a netlist sweep needs name: {{vector: 'v(out)', unit: 'V'}}")
            try:
                if corners is None:
                    return (NetlistCircuit(path, outputs, data.get("analysis")),), (), {}
                # one deck per corner, its .lib lines swapped (cimspice.circuits.user_corners)
                return tuple(NetlistCircuit(path, outputs, data.get("analysis"), corner=c,
                                            corner_libs=data.get("corner_libs")) for c in corners), tuple(corners), {}
            except CircuitError as error:  # "outputs.v: ...", "analysis.tran: ...": the field is named
                raise SpecError(f"{source}: {error}") from None
        if "analysis" in data:
            raise SpecError(f"{source}: analysis: only a user netlist takes one (a circuit runs its own)")
        args = _circuit_args(data.get("circuit_args") or {}, source)
        if corners is None:
            return (get_circuit(data["circuit"], **args),), (), args
        if "corner" in args:
            raise SpecError(f"{source}: corners: give the corner in circuit_args or in corners, not both")
        return tuple(get_circuit(data["circuit"], **args, corner=c) for c in corners), tuple(corners), args
    except CircuitError as error:
        field_ = "corners" if corners is not None and "corner" in str(error) else "circuit"
        raise SpecError(f"{source}: {field_}: {error}") from None
    except SpiceError as error:
        raise SpecError(f"{source}: netlist: {error}") from None


def _circuit_args(args, source: str) -> dict:
    """``circuit_args`` checked, SPICE numbers (``450n``) read as numbers; other strings are
    names (``tt``, ``sigmoid``) for the circuit's constructor to check."""
    if not isinstance(args, dict) or not all(isinstance(k, str) and k.isidentifier() for k in args):
        raise SpecError(f"{source}: circuit_args: expected a mapping of sizes, e.g. {{w: 4.5e-7}}")
    out = {}
    for key, value in args.items():
        if isinstance(value, str) and value.strip()[:1] in tuple("+-.0123456789"):
            value = _number(value, f"{source}: circuit_args.{key}")
        elif not (value is None or isinstance(value, (str, bool)) or finite(value)):
            raise SpecError(f"{source}: circuit_args.{key}: expected a finite number, a name, true/false or "
                            f"null, got {value!r}")
        out[key] = value
    return out


def parse_sweep_spec(data: dict, *, source: str = "<spec>", text: str = "") -> SweepSpec:
    """Validate a spec given as a mapping (e.g. from YAML)."""
    if not isinstance(data, dict):
        raise SpecError(f"{source}: expected a mapping with 'circuit', 'parameters', ... at the top")
    unknown = set(data) - set(FIELDS)
    if unknown:
        raise SpecError(f"{source}: unknown field(s) {unknown_keys(unknown, FIELDS)}")
    if ("circuit" in data) == ("netlist" in data):
        raise SpecError(f"{source}: give exactly one of 'circuit' (a cimspice circuit) or 'netlist' (a file)")
    circuits, corners, circuit_args = _circuits(data, source)
    circuit = circuits[0]
    design = data.get("design", "grid")
    if design not in DESIGNS:
        raise SpecError(f"{source}: design: {design!r} is not one of {', '.join(DESIGNS)}")
    params = data.get("parameters")
    if not isinstance(params, dict) or not params:
        raise SpecError(f"{source}: parameters: expected a mapping of parameter names")
    max_points = data.get("max_points", DEFAULT_MAX_POINTS)
    if isinstance(max_points, bool) or not isinstance(max_points, int) or max_points < 1:
        raise SpecError(f"{source}: max_points: expected a positive integer, got {max_points!r}")
    axes, fixed, variations, units = [], {}, [], {}
    for name, entry in params.items():
        name = str(name)
        try:
            declared = circuit.parameter(name)
        except CircuitError as error:
            raise SpecError(f"{source}: parameters: {error}") from None
        if name in RESERVED:
            raise SpecError(f"{source}: parameters.{name}: the name is reserved for the sweep file")
        if isinstance(entry, list):  # "v: [0.1, 0.2]" is shorthand for "v: {values: [0.1, 0.2]}"
            entry = {"values": entry}
        if isinstance(entry, dict):
            item = _axis(name, entry, design, source, circuit, max_points)
            (variations if isinstance(item, Variation) else axes).append(item)
            if "unit" in entry and not declared.unit and isinstance(circuit, NetlistCircuit):  # the file records it
                units[name] = entry["unit"]
        else:
            fixed[name] = _number(entry, f"{source}: parameters.{name}", declared.unit)
            _check(circuit, name, fixed[name], where=source)
    if units:
        circuit.declare_units(units)
    temperatures = _temperatures(data, params, circuit, source)
    if design == "montecarlo" and not variations:
        raise SpecError(f"{source}: parameters: design 'montecarlo' needs at least one parameter with a sigma")
    if not axes and not variations and not temperatures and not corners:
        raise SpecError(f"{source}: parameters: nothing is swept")
    if design in ("grid", "list", "lhs", "random") and not axes and (temperatures or corners):
        design = "grid"  # only corners/temperatures vary: their product is the grid
    if design == "list" and len({len(a.values) for a in axes}) != 1:
        raise SpecError(f"{source}: design 'list' needs every parameter's values to have the same length")
    outputs = _outputs(data, circuit, source)
    samples = data.get("samples", 0)
    drawn = design in ("lhs", "random", "montecarlo")
    # checked also where unused: it enters the spec's hash
    if (drawn or "samples" in data) and (isinstance(samples, bool) or not isinstance(samples, int) or samples < 1):
        need = f"design {design!r} needs a positive integer number of samples" if drawn else \
            "expected a positive integer"
        raise SpecError(f"{source}: samples: {need}, got {samples!r}")
    seed = data.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**63:
        raise SpecError(f"{source}: seed: expected a non-negative integer below 2**63 (an HDF5 int64)")
    timeout = data.get("timeout")
    if timeout is not None:
        seconds = _number(timeout, f"{source}: timeout", "s")
        if seconds <= 0:
            raise SpecError(f"{source}: timeout: {timeout!r} must be a positive number of seconds per point")
        timeout = seconds
    text = text or _as_text(data)
    spec = SweepSpec(circuits, design, tuple(axes), fixed, tuple(outputs), samples, seed, corners,
                     temperatures, tuple(variations), circuit_args, _analysis_values(data.get("analysis"), circuit),
                     timeout, text, source, units, data.get("corner_libs") or {})
    if spec.n_points > max_points:
        raise SpecError(f"{source}: the sweep has {spec.n_points:,} points, more than max_points ({max_points:,}); "
                        "sweep fewer, or raise max_points in the spec")
    if variations:
        _check_draws(spec)
    return spec


def _analysis_values(analysis, circuit: Circuit):
    """The spec's ``analysis`` with its SPICE numbers (``step: 1n``) as the numbers the
    circuit read; as written otherwise, so the hash of a spec without any stays what it was."""
    if not isinstance(analysis, dict) or not isinstance(circuit, NetlistCircuit):
        return analysis
    read = circuit.analysis_values()
    return {kind: {k: read[kind][k] if isinstance(v, str) else v for k, v in args.items()}
            if isinstance(args, dict) else args for kind, args in analysis.items()}


def _as_text(data: dict) -> str:
    """The spec as text, for a spec given as a mapping: JSON (which YAML reads too) when it
    can be, because PyYAML's dumper holds a node per value: 30 MB and 2.5 s for a list of
    100,000 values, against 4 MB and 0.4 s."""
    try:
        return json.dumps(data, allow_nan=False) + "\n"
    except (TypeError, ValueError):  # e.g. dates from YAML, NaN in a field read as is
        return yaml.safe_dump(data, sort_keys=False)


def _temperatures(data: dict, params: dict, circuit: Circuit, source: str) -> tuple[float, ...]:
    temps = data.get("temperatures")
    if temps is None:
        return ()
    where = f"{source}: temperatures"
    if not isinstance(temps, list) or not temps:
        raise SpecError(f"{where}: expected a list of temperatures in degC, e.g. [-40, 27, 125]")
    try:
        declared = circuit.parameter("temp")
    except CircuitError:
        raise SpecError(f"{where}: circuit {circuit.name} declares no 'temp' parameter") from None
    if "temp" in params:
        raise SpecError(f"{where}: give temperatures either here or as parameters.temp, not both")
    values = tuple(_number(t, where, declared.unit) for t in temps)
    if len(set(values)) != len(values):
        raise SpecError(f"{where}: temperatures repeat")
    _check(circuit, "temp", values, where=source)
    return values


def _outputs(data: dict, circuit: Circuit, source: str) -> list[str]:
    if isinstance(circuit, NetlistCircuit):
        return [m.name for m in circuit.measurements]
    outputs = data.get("outputs") or [m.name for m in circuit.measurements]
    if isinstance(outputs, str) or not isinstance(outputs, list):
        raise SpecError(f"{source}: outputs: expected a list of measurement names")
    for name in outputs:
        try:
            circuit.measurement(name)
        except CircuitError as error:
            raise SpecError(f"{source}: outputs: {error}") from None
    return list(outputs)


def montecarlo_draws(spec: SweepSpec) -> dict[str, np.ndarray]:
    """The ``(samples,)`` values of every Monte Carlo parameter, from ``spec.seed``.

    One standard-normal matrix ``(samples, len(variations))`` in the order the parameters
    are listed; the same seed always gives the same draws.
    """
    z = np.random.default_rng(spec.seed).standard_normal((spec.samples, len(spec.variations)))
    return {v.name: v.mean + v.sigma * z[:, k] for k, v in enumerate(spec.variations)}


def _check_draws(spec: SweepSpec) -> None:
    draws = montecarlo_draws(spec)
    for v in spec.variations:
        values = draws[v.name]
        lo, hi = spec.circuit.parameter(v.name).bounds
        bad = (values < lo) | (values > hi)
        if np.any(bad):
            worst = values[bad][np.argmax(np.abs(values[bad] - v.mean))]
            unit = spec.circuit.parameter(v.name).unit
            raise SpecError(f"{spec.source}: parameters.{v.name}: draw {worst:g} {unit} "
                            f"({(worst - v.mean) / v.sigma:+.1f} sigma) outside the circuit's bounds "
                            f"[{lo:g}, {hi:g}] {unit}; reduce sigma or samples")


def load_sweep_spec(spec) -> SweepSpec:
    """A :class:`SweepSpec` from a YAML spec file (read with ``yaml.safe_load``: data only, no
    tags), a mapping (:func:`parse_sweep_spec`), or a SweepSpec (returned as is)."""
    if isinstance(spec, SweepSpec):
        return spec
    if isinstance(spec, dict):
        return parse_sweep_spec(spec)
    path = Path(spec)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise SpecError(f"{path}: cannot read spec: {getattr(error, 'strerror', None) or error}") from None
    try:
        data = load_yaml(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise SpecError(f"{path}: malformed YAML{where}: {yaml_problem(error)}") from None
    return parse_sweep_spec(data, source=str(path), text=text)
