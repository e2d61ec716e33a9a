"""What every characterizable circuit declares: its parameters, its measurements, its netlist."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from ..validate import did_you_mean
from .devices import VDD
from .errors import CircuitError


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


# The parameters most circuits share. 27 degC is also ngspice's default temperature, the
# one a freshly loaded netlist without a .temp line runs at.
TEMP = Parameter("temp", "degC", 27.0, (-40.0, 125.0), "temperature")


def supply(bounds: tuple[float, float], description: str = "supply voltage") -> Parameter:
    """The supply ``vdd`` (V), default the cards' nominal :data:`~.devices.VDD`, valid on
    ``bounds`` (V): each circuit says in ``description`` what fails below its lower bound."""
    return Parameter("vdd", "V", VDD, bounds, description)


@dataclass(frozen=True)
class Measurement:
    """One measured output of a circuit, in SI ``unit``."""

    name: str
    unit: str
    description: str = ""


class Circuit:
    """A sized circuit that ngspice can characterize.

    Subclasses set ``name``, ``parameters`` and ``measurements`` and implement
    :meth:`netlist` (text with the parameters left symbolic) and :meth:`simulate`
    (run one point on an engine that has loaded that netlist). What they have applied to
    the engine is kept in ``self._applied`` (so a point sends only what changed); it starts
    from :meth:`loaded_state` at every :meth:`load` and is not pickled.
    """

    name: str = ""
    parameters: tuple[Parameter, ...] = ()
    measurements: tuple[Measurement, ...] = ()
    #: Temperature (degC) a freshly loaded netlist runs at, when the circuit knows it (its
    #: netlist sets none: ngspice's default, ``TEMP.default``); None re-sets it at the first point.
    loaded_temperature: float | None = None

    def parameter(self, name: str) -> Parameter:
        for p in self.parameters:
            if p.name == name:
                return p
        known = [p.name for p in self.parameters]
        raise CircuitError(f"circuit {self.name}: unknown parameter {name!r} (known: {', '.join(known)})"
                           f"{did_you_mean(str(name), known)}")

    def measurement(self, name: str) -> Measurement:
        for m in self.measurements:
            if m.name == name:
                return m
        known = [m.name for m in self.measurements]
        raise CircuitError(f"circuit {self.name}: unknown measurement {name!r} (known: {', '.join(known)})"
                           f"{did_you_mean(str(name), known)}")

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

    def point(self, point: Mapping[str, float]) -> dict[str, float]:
        """Every declared parameter's value for one point (defaults filled), each checked
        against its bounds: a bad value fails here, before ngspice runs."""
        for name in point:
            self.parameter(name)  # unknown names raise
        return {p.name: float(p.check(point.get(p.name, p.default), where=self.name)) for p in self.parameters}

    # ------------------------------------------------------------------ engine state
    def load(self, engine) -> None:
        """Load this circuit's netlist into ``engine`` (once per worker)."""
        self.load_text(engine, self.netlist())

    def load_text(self, engine, text: str, *, source: str | None = None, trusted: bool = False) -> None:
        """Load netlist ``text`` (named ``source``, default the circuit's name, in errors) and
        start the record of what this circuit has applied to the engine afresh, from
        :meth:`loaded_state`."""
        load_single_threaded(engine, text, source or self.name, trusted=trusted)
        self._applied = self.loaded_state()

    def loaded_state(self) -> dict:
        """What a freshly loaded netlist already holds, keyed as the circuit records what it
        applies (``"temp"``, parameter names...), so that the first point sends only what
        differs. Default: :attr:`loaded_temperature` if known, nothing else."""
        return {} if self.loaded_temperature is None else {"temp": self.loaded_temperature}

    def __getstate__(self):
        # What was applied to one process's engine means nothing in another process.
        return {**self.__dict__, "_applied": {}}

    def apply_temperature(self, engine, temp: float) -> None:
        """Set ngspice's temperature (degC) only when it differs from the last one this
        circuit set (``self._applied["temp"]``; a change re-runs the set-up of every device)."""
        applied = self.__dict__.setdefault("_applied", {})
        if temp != applied.get("temp"):
            engine.set_temperature(temp)
            applied["temp"] = temp

    def simulate(self, engine, point: Mapping[str, float]) -> Measured:
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


def load_single_threaded(engine, text: str, source: str, *, trusted: bool = False) -> None:
    """Load ``text`` with ngspice's BSIM4 OpenMP threads set to one.

    Debian's ngspice evaluates BSIM4 devices with 2 OpenMP threads; with the other core busy
    (parallel sweep workers, other jobs) their barriers make a transient 20-100x slower
    (measured: 0.05 s -> 1.5-7 s for the same 2-cycle comparator run). One thread takes
    0.06 s every time. ``num_threads`` is read when a circuit is set up, so set it first
    (the engine sets it once when it starts; this keeps it so for every circuit loaded).
    """
    engine.command("set num_threads=1")
    engine.load(text, source=source, trusted=trusted)
