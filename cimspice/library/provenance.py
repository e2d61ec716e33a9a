"""Fingerprints and provenance records of library blocks.

A block's fingerprint decides whether ``cimspice library build`` characterizes it again:
it hashes the block's definition (every :class:`~.blocks.Block` field but its ``why``
text and its output ``tolerances``), the SHA-256 of both of its sweep specs (which cover the circuit, its arguments,
the netlist text of every corner's instance with every model card it includes, the
points, corners, temperatures and outputs: ``SweepSpec.sha256``), the fitting version
(``cimspice.surrogate.FIT_VERSION``) and :data:`BUILD_VERSION`. A surrogate's absolute
tolerance, for the doc tables and the datasheet: :func:`output_tolerance`.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .. import __version__
from ..characterize.safety import included_files, netlist_fingerprint
from ..characterize.spec import SweepSpec
from ..circuits.base import Circuit
from ..paths import netlist_dir
from ..surrogate import FIT_VERSION
from ..surrogate.accuracy import declared_tolerance
from .blocks import CATALOGUE, Block

#: version of what a build records and how it makes specs from a block: raise it with any
#: change to either, so that every block is built again
BUILD_VERSION = 1


def block_fingerprint(block: Block, specs: Mapping[str, SweepSpec]) -> str:
    """Hex SHA-256 of what a block's surrogates depend on (see the module docstring)."""
    data = {"block": block.definition(), "specs": {kind: spec.sha256 for kind, spec in sorted(specs.items())},
            "fit_version": FIT_VERSION, "build_version": BUILD_VERSION}
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=list).encode()).hexdigest()


def output_tolerance(surrogate) -> float | None:
    """The absolute tolerance (output units) of a single-output surrogate: the one its fit
    recorded (``provenance["abs_tolerance"]``), else the one its block in the catalogue
    declares for its output (:attr:`~.blocks.Block.tolerances`; a library built before the
    block declared it keeps its fits, since tolerances are outside the fingerprint); None."""
    recorded = declared_tolerance(surrogate)
    block = CATALOGUE.get(str(surrogate.provenance.get("library_block", "")))
    if recorded is not None or block is None or surrogate.n_outputs != 1:
        return recorded
    return block.tolerances.get(surrogate.outputs[0])


def _card_name(path: Path) -> str:
    """A model card's name: relative to the shipped netlists folder when it is there."""
    try:
        return path.relative_to(netlist_dir()).as_posix()
    except ValueError:
        return path.as_posix()


def circuit_provenance(circuit: Circuit) -> dict[str, str]:
    """Netlist fingerprint (text and included files), each included model card's SHA-256
    (JSON ``{file: sha256}``) and the process corner of one circuit instance."""
    text = circuit.netlist()
    cards = {_card_name(path): digest for path, digest in included_files(text).items()}
    return {"netlist_fingerprint": netlist_fingerprint(text), "model_cards": json.dumps(cards, sort_keys=True),
            "process_corner": str(getattr(circuit, "corner", "") or "")}


def block_area(circuit: Circuit) -> tuple[float, str]:
    """``(area m^2, where it comes from)`` of a circuit instance from its own device sizes
    (its ``area()`` method); NaN and "" for a circuit without an area model."""
    area = getattr(circuit, "area", None)
    if area is None:
        return math.nan, ""
    try:
        value = float(area())
    except NotImplementedError:
        return math.nan, ""
    cls = type(circuit)
    return value, f"{cls.__module__}.{cls.__qualname__}.area"


def block_record(block: Block, spec: SweepSpec, fingerprint: str, **extra: Any) -> dict[str, Any]:
    """The attributes of ``/blocks/<name>`` for a block just built from ``spec`` (its
    training spec): circuit, arguments, area, fingerprint and ``extra`` (sweep files,
    times, surrogate names)."""
    area, source = block_area(spec.circuit)
    return {
        "circuit": block.circuit, "circuit_args": json.dumps(dict(spec.circuit_args), sort_keys=True),
        "why": block.why, "fingerprint": fingerprint, "area": area, "area_source": source,
        "corners": list(spec.corners), "temperatures": json.dumps(temperatures(spec)), "axes": json.dumps(axes(spec)),
        "fit_version": FIT_VERSION, "build_version": BUILD_VERSION, "cimspice_version": __version__,
        "built": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"), **extra,
    }


def axes(spec: SweepSpec) -> dict[str, str]:
    """The swept inputs of a grid spec: name -> "lo .. hi unit, N points[, log]"."""
    out = {}
    for axis in spec.axes:
        values = axis.values or axis.bounds or ()
        unit = spec.circuit.parameter(axis.name).unit
        out[axis.name] = (f"{min(values):g} .. {max(values):g} {unit}, {len(axis.values)} points"
                          + (", log" if axis.scale == "log" else ""))
    return out


def temperatures(spec: SweepSpec) -> list[float]:
    """The temperatures (degC) a sweep ran at: its ``temp`` axis or fixed value, else the
    circuit's default ([] for a circuit without a ``temp`` parameter)."""
    if spec.temperatures:
        return list(spec.temperatures)
    for axis in spec.axes:
        if axis.name == "temp":
            return list(axis.values or axis.bounds or ())
    if "temp" in spec.fixed:
        return [spec.fixed["temp"]]
    names = [p.name for p in spec.circuit.parameters]
    return [spec.circuit.parameter("temp").default] if "temp" in names else []
