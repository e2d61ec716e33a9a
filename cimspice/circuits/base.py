"""What every characterizable circuit declares: its parameters, its measurements, its netlist."""

from __future__ import annotations

import hashlib
import math
import numbers
from dataclasses import dataclass
from typing import Mapping

import numpy as np

from .. import CimspiceError


class CircuitError(CimspiceError):
    """A circuit was asked for something it does not declare or allow."""


@dataclass(frozen=True)
class Parameter:
    """One sweepable input of a circuit.

    ``unit`` is an SI unit symbol (``"V"``, ``"S"``, ``"degC"``...); ``bounds`` the closed
    interval the circuit is valid on; ``scale="log"`` marks quantities spanning decades
    (conductances), which sweeps sample and surrogates fit in log space.
    """

    name: str
    unit: str
    default: float
    bounds: tuple[float, float]
    description: str = ""
    scale: str = "linear"

    def __post_init__(self):
        lo, hi = self.bounds
        if not lo <= self.default <= hi:
            raise CircuitError(f"parameter {self.name}: default {self.default} outside bounds {self.bounds}")
        if self.scale not in ("linear", "log") or (self.scale == "log" and lo <= 0):
            raise CircuitError(f"parameter {self.name}: scale {self.scale!r} needs positive bounds")

    def check(self, values, *, where: str = "") -> np.ndarray:
        """Validate values (scalar or array) against type and bounds; return float64 array."""
        prefix = f"{where}: " if where else ""
        array = np.asarray(values)
        if array.dtype.kind not in "iuf" or array.dtype == bool:
            raise CircuitError(f"{prefix}parameter {self.name}: values must be numbers ({self.unit})")
        array = array.astype(np.float64)
        if not np.all(np.isfinite(array)):
            raise CircuitError(f"{prefix}parameter {self.name}: values must be finite")
        lo, hi = self.bounds
        slack = 1e-12 * max(abs(lo), abs(hi))  # rounding in unit conversions is not an error
        bad = (array < lo - slack) | (array > hi + slack)
        if np.any(bad):
            value = array[bad].flat[0]
            raise CircuitError(f"{prefix}parameter {self.name}: {value:g} {self.unit} outside the "
                               f"circuit's bounds [{lo:g}, {hi:g}] {self.unit}")
        return array


@dataclass(frozen=True)
class Measurement:
    """One measured output of a circuit, in SI ``unit``."""

    name: str
    unit: str
    description: str = ""


class Circuit:
    """A sized circuit that ngspice can characterize.

    Subclasses set ``name``, ``parameters`` and ``measurements`` and implement
    :meth:`netlist` (text with the parameters left symbolic) and :meth:`measure`
    (run the points on an engine that has loaded that netlist).
    """

    name: str = ""
    parameters: tuple[Parameter, ...] = ()
    measurements: tuple[Measurement, ...] = ()

    def parameter(self, name: str) -> Parameter:
        for p in self.parameters:
            if p.name == name:
                return p
        known = ", ".join(p.name for p in self.parameters)
        raise CircuitError(f"circuit {self.name}: unknown parameter {name!r} (known: {known})")

    def measurement(self, name: str) -> Measurement:
        for m in self.measurements:
            if m.name == name:
                return m
        known = ", ".join(m.name for m in self.measurements)
        raise CircuitError(f"circuit {self.name}: unknown measurement {name!r} (known: {known})")

    def check_points(self, points: Mapping[str, np.ndarray], *, where: str = "") -> dict[str, np.ndarray]:
        """Validate a batch of points: every name declared, values numeric and in bounds,
        all arrays the same length; missing parameters take their defaults."""
        for name in points:
            self.parameter(name)
        checked = {name: np.atleast_1d(self.parameter(name).check(v, where=where)) for name, v in points.items()}
        lengths = {len(v) for v in checked.values()}
        if len(lengths) > 1:
            raise CircuitError(f"{where + ': ' if where else ''}parameter arrays differ in length: {sorted(lengths)}")
        n = lengths.pop() if lengths else 1
        for p in self.parameters:
            checked.setdefault(p.name, np.full(n, p.default))
        return checked

    def netlist(self) -> str:
        raise NotImplementedError

    def netlist_sha256(self) -> str:
        return hashlib.sha256(self.netlist().encode()).hexdigest()

    def load(self, engine) -> None:
        """Load this circuit's netlist into ``engine`` (once per worker)."""
        engine.load(self.netlist(), source=self.name)

    def apply_temperature(self, engine, temp: float) -> None:
        """Set ngspice's temperature (degC) only when it differs from the last one this
        circuit set (``self._applied["temp"]``; a change re-runs the set-up of every device)."""
        applied = self.__dict__.setdefault("_applied", {})
        if temp != applied.get("temp"):
            engine.set_temperature(temp)
            applied["temp"] = temp

    def simulate(self, engine, point: Mapping[str, float]) -> "Measured":
        """Run one checked point on an engine that has :meth:`load`-ed this circuit.

        Raises :class:`cimspice.spice.SpiceError` subclasses when ngspice fails.
        """
        raise NotImplementedError


@dataclass(frozen=True)
class Measured:
    """Measurements of one point (name -> value in the measurement's unit) and how the
    simulator got there: ``status`` ``"ok"`` or ``"aided"`` (after gmin/source stepping)."""

    values: dict
    status: str = "ok"
    aids: tuple[str, ...] = ()


def is_number(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(float(value))
