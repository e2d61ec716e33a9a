"""A user's own netlist as a circuit: its ``.param`` values are the parameters, named
result vectors the measurements."""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Mapping

from ..spice.netlist import declared_params, prepare_netlist
from .base import Circuit, CircuitError, Measured, Measurement, Parameter
from .devices import spice_number


class NetlistCircuit(Circuit):
    """A netlist file swept through its top-level ``.param`` parameters.

    Parameters
    ----------
    path : netlist file. It is read (and checked: no ``.control``, includes present) here.
    outputs : name -> ``{"vector": "v(out)", "unit": "V"}``: operating-point vectors to record.
    """

    def __init__(self, path: str | Path, outputs: Mapping[str, Mapping[str, str]]):
        self.path = Path(path)
        self.text, _ = prepare_netlist(self.path)
        self.name = self.path.stem
        defaults = _param_defaults(self.text)
        self.parameters = tuple(
            Parameter(n, "", defaults.get(n, 0.0), (-math.inf, math.inf), f".param {n} of {self.path.name}")
            for n in declared_params(self.text))
        if not self.parameters:
            raise CircuitError(f"{self.path}: the netlist declares no .param parameters to sweep")
        if not outputs:
            raise CircuitError(f"{self.path}: give outputs as name: {{vector: 'v(out)', unit: 'V'}}")
        self.vectors = {}
        measurements = []
        for name, entry in outputs.items():
            if not isinstance(entry, Mapping) or not isinstance(entry.get("vector"), str):
                raise CircuitError(f"outputs.{name}: expected {{vector: 'v(node)', unit: 'V'}}")
            self.vectors[name] = entry["vector"]
            measurements.append(Measurement(name, str(entry.get("unit", "")), f"op vector {entry['vector']}"))
        self.measurements = tuple(measurements)

    def netlist(self) -> str:
        return self.text

    def load(self, engine) -> None:
        engine.load(self.text, source=str(self.path))

    def simulate(self, engine, point: Mapping[str, float]) -> Measured:
        engine.set_params(**point)
        result = engine.op(list(self.vectors.values()))
        values = {name: float(result[vector][0].real) for name, vector in self.vectors.items()}
        return Measured(values, result.status, result.aids)


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
