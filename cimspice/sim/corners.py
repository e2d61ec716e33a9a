"""The library's tables at the spec's process corner and temperature (``corner``, ``temp``).

A library holds one table per corner, ``name@corner`` (:data:`cimspice.surrogate.fit.CORNER_SEPARATOR`,
the NLDM convention); temperature is an input ``temp`` (degC) of a table whose sweep swept it.
:func:`at_operating_point` maps every key the spec names onto its table at ``spec.corner``,
with ``temp`` fixed at ``spec.temp`` (:class:`AtTemperature`), so the rest of the simulator
reads ``library[key]`` as it always does. A table that is not there is refused with the
command that adds it; nothing is silently taken from another corner or temperature. A
spec with a temperature and no corner reads the nominal corner's table (``key@tt``, the
circuits' own corner) where the nominal table has no ``temp`` input, and says so in its
source records.
"""

from __future__ import annotations

import json

import numpy as np

from ..surrogate.fit import CORNER_SEPARATOR
from ..surrogate.lazy import LibraryView
from ..surrogate.library import surrogate_corner
from .errors import SimError
from .provenance import characterized

__all__ = ["NOMINAL_CORNER", "NOMINAL_TEMP", "AtTemperature", "at_operating_point", "characterized_temp", "corners_of",
           "fixed_inputs", "library_corners", "table_record"]

#: degC: ngspice's default temperature and the circuits' ``temp`` default, where a sweep
#: that does not sweep ``temp`` ran (cimspice.circuits.base.TEMP; the sim does not import circuits)
NOMINAL_TEMP = 27.0
#: the process corner of a circuit built without one (its ``corner`` default), so the corner
#: of a nominal table: ``key@tt`` at 27 degC is the same circuit as ``key``
NOMINAL_CORNER = "tt"


def corners_of(library: dict, key: str) -> list[str]:
    """The corners at which ``library`` holds ``key`` (as ``key@corner``); only those tables
    are read (a lazy library's others stay unparsed)."""
    prefix = f"{key}{CORNER_SEPARATOR}"
    return sorted(surrogate_corner(library[name]) or name[len(prefix):] for name in library if name.startswith(prefix))


def library_corners(library: dict, keys) -> list[str]:
    """Every corner at which ``library`` holds one of ``keys``, sorted."""
    return sorted({c for key in keys for c in corners_of(library, key)})


def fixed_inputs(surrogate) -> dict:
    """Inputs the table's sweep held constant -> value (``provenance["fixed_inputs"]``, a
    one-value list unwrapped); empty when the provenance does not say."""
    try:
        fixed = json.loads((getattr(surrogate, "provenance", None) or {}).get("fixed_inputs", "{}") or "{}")
    except (TypeError, ValueError):
        return {}
    return {k: v[0] if isinstance(v, list) else v for k, v in fixed.items()}


def characterized_temp(surrogate) -> float:
    """degC a table without a ``temp`` input was characterized at: the sweep's fixed ``temp``
    (:func:`fixed_inputs`), else :data:`NOMINAL_TEMP`."""
    value = fixed_inputs(surrogate).get("temp")
    return float(value) if value is not None else NOMINAL_TEMP


class AtPoint:
    """A surrogate with some inputs held (``fixed``: name -> value in its unit): the same
    object to its callers with those inputs gone (``inputs``, ``domain``, ``predict``);
    everything else is the wrapped surrogate's."""

    def __init__(self, surrogate, fixed: dict):
        self.surrogate, self.fixed = surrogate, {k: float(v) for k, v in fixed.items()}
        names = list(surrogate.inputs)
        self._held = sorted((names.index(k), v) for k, v in self.fixed.items())
        self.inputs = [n for n in names if n not in self.fixed]
        self.input_units = [u for n, u in zip(names, surrogate.input_units) if n not in self.fixed]

    def __getattr__(self, name):
        if name == "surrogate":      # not set yet (a copy being built): no recursion
            raise AttributeError(name)
        return getattr(self.surrogate, name)

    @property
    def domain(self) -> dict:
        return {k: v for k, v in self.surrogate.domain.items() if k not in self.fixed}

    def predict(self, X, out_of_domain: str = "error"):
        """As :meth:`cimspice.surrogate.Surrogate.predict`, without the held columns."""
        if isinstance(X, dict):
            n = max((np.size(v) for v in X.values()), default=1)
            return self.surrogate.predict({**X, **{k: np.full(n, v) for k, v in self.fixed.items()}},
                                          out_of_domain=out_of_domain)
        X = np.asarray(X, float)
        for index, value in self._held:          # ascending: each insert lands where it belongs
            X = np.insert(X, index, value, axis=1)
        return self.surrogate.predict(X, out_of_domain=out_of_domain)

    def __repr__(self):
        held = ", ".join(f"{k}={v:g}" for k, v in self.fixed.items())
        return f"{type(self).__name__}({self.surrogate.name!r}, {held})"


class AtTemperature(AtPoint):
    """A surrogate with its ``temp`` input held at ``temp`` (degC)."""

    def __init__(self, surrogate, temp: float):
        super().__init__(surrogate, {"temp": temp})
        self.temp = float(temp)

    def __repr__(self):
        return f"AtTemperature({self.surrogate.name!r}, {self.temp:g} degC)"


def _table(library: dict, spec, field: str, key: str) -> str | None:
    """The library name of ``key`` at ``spec.corner``; None if ``key`` is not in the library at all
    (the backend's checks report it where it is needed)."""
    corner = spec.corner
    if corner is None:
        # a temperature the nominal table was not characterized at is read from the nominal
        # corner's table when the library holds one with a temperature input
        nominal = f"{key}{CORNER_SEPARATOR}{NOMINAL_CORNER}"
        if spec.temp is not None and nominal in library and (key not in library or not _holds(library[key], spec.temp)):
            return nominal
        return key if key in library else None
    name = f"{key}{CORNER_SEPARATOR}{corner}"
    if name in library:
        return name
    if key in library and surrogate_corner(library[key]) == corner:
        return key
    have = corners_of(library, key)
    if not have and key not in library:
        return None
    where = f"corners {', '.join(have)}" if have else "no corner tables"
    raise SimError(f"{spec.source}: {field}: no table {name!r} in the library {spec.library} ({key!r} has {where}); "
                   f"add it with `cimspice library build --corners {corner}`")


def _holds(surrogate, temp: float) -> bool:
    """Whether ``surrogate`` can be read at ``temp`` degC (a temp input, or characterized there)."""
    return "temp" in surrogate.inputs or bool(np.isclose(temp, characterized_temp(surrogate)))


def _at_temp(surrogate, spec, field: str, name: str):
    """``surrogate`` with ``temp`` fixed at ``spec.temp``, or as it is when the spec gives no temp."""
    temp = spec.temp
    if temp is None:
        return surrogate
    if "temp" not in surrogate.inputs:
        t = characterized_temp(surrogate)
        if not np.isclose(temp, t):
            raise SimError(f"{spec.source}: temp: {field} {name!r} was characterized at {t:g} degC only (no temp "
                           f"input), not {temp:g} degC; add temperatures with "
                           f"`cimspice library build --temps {t:g},{temp:g}`")
        return surrogate
    lo, hi = surrogate.domain["temp"]
    if not lo <= temp <= hi:
        raise SimError(f"{spec.source}: temp: {temp:g} degC is outside {name!r}'s characterized range "
                       f"[{lo:g}, {hi:g}] degC; add it with `cimspice library build --temps {lo:g},{temp:g},{hi:g}`")
    return AtTemperature(surrogate, temp)


def at_operating_point(library: dict, spec) -> tuple[dict, dict]:
    """``(view, names)``: ``library`` with every key the spec names mapped onto its table at
    ``spec.corner`` and ``spec.temp``, and key -> the library name read for it. Without a
    corner and temperature, the library itself."""
    if spec.corner is None and spec.temp is None:
        return library, {}
    view, names = LibraryView(library), {}     # as dict(library), without reading every table
    for field, key in spec.library_keys():
        name = _table(library, spec, field, key)
        if name is not None:
            view[key], names[key] = _at_temp(library[name], spec, field, name), name
    return view, names


def table_record(spec, field: str, key: str, surrogate, name: str, at: dict | None = None) -> dict:
    """The source record (:func:`.provenance.characterized`) of ``surrogate``, the table read for
    ``key`` (spec ``field``) under library name ``name``; ``at``: the operating point the spec
    evaluates it at (only its inputs are kept)."""
    inputs = list(getattr(surrogate, "inputs", ()))
    if isinstance(surrogate, AtTemperature):
        temp, raw = surrogate.temp, surrogate.surrogate
    else:
        raw = surrogate
        temp = (at or {}).get("temp") if "temp" in inputs else characterized_temp(surrogate)
    corner = surrogate_corner(raw) if hasattr(raw, "provenance") else ""
    return characterized(spec.library or "<in memory>", name, field, corner or (spec.corner or ""), temp,
                         {k: v for k, v in (at or {}).items() if k in inputs})
