"""What the transistor-level circuits share: process corners, threshold mismatch drawn in
Python (Pelgrom), and applying a point to a loaded netlist without re-parsing it.

Mismatch
--------
Each transistor that matters for offset has a parameter ``dvth_<role>`` (V), set as the
BSIM4 instance parameter ``delvto`` (added to ``vth0`` with its sign: a positive value
raises an NMOS threshold and lowers a PMOS threshold magnitude, the convention of
``netlists/strongarm.lib``). Monte Carlo draws come from NumPy
(:meth:`AnalogCircuit.monte_carlo`): ngspice's ``agauss`` repeats its draw after every
``reset`` once a seed is set (docs/devices.md), so it cannot give reproducible runs.

Pelgrom's law (M. J. M. Pelgrom, A. C. J. Duinmaijer, A. P. G. Welbers, "Matching
properties of MOS transistors", IEEE JSSC 24(5), 1433-1440, 1989) gives the spread of the
threshold *difference* of two identical devices, sigma(dVT) = A_VT / sqrt(W L); each
device of the pair therefore carries sigma(VT) = A_VT / sqrt(2 W L).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from ..spice.log import classify
from ..validate import require_finite, require_int, require_nonnegative, require_positive
from .base import Circuit, CircuitError, Parameter
from .devices import _subckt_defaults, check_corner, corner_library, spice_number

# Pelgrom coefficient of the threshold difference of a pair (V*m): 2.5 mV*um. An assumption
# for this 45 nm bulk SiON card, not a foundry figure (the FreePDK45 cards carry no mismatch
# data): the oxide-thickness rule of thumb A_VT ~ 1 mV*um per nm of oxide (M. Pelgrom,
# H. Tuinhout, M. Vertregt, "Transistor matching in analog CMOS applications", IEDM 1998)
# gives 1.1-1.3 mV*um for these cards' 1.14-1.26 nm toxe and is a lower bound that doped
# bulk channels do not reach; 2.5 mV*um sits in the 2-3 mV*um measured for 45-65 nm bulk
# CMOS (K. Kuhn et al., "Process technology variation", IEEE TED 58(8), 2197-2208, 2011).
# Replace it with a measured value (pass a_vt=) when one is available.
A_VT = 2.5e-9

# delvto offsets a Monte Carlo can reach are a few sigma of the smallest device (~18 mV at
# W L = 0.01 um^2); anything beyond this is a typo, not a mismatch.
DVTH_BOUND = 0.15


def pelgrom_sigma(w: float, l: float, a_vt: float = A_VT) -> float:
    """Standard deviation (V) of ONE transistor's threshold, sigma(VT) = A_VT / sqrt(2 W L).

    ``w``, ``l`` in m, ``a_vt`` in V*m (Pelgrom's coefficient for a pair's difference).
    """
    w = require_positive(w, "pelgrom_sigma: w", CircuitError, unit="m")
    l = require_positive(l, "pelgrom_sigma: l", CircuitError, unit="m")
    a_vt = require_nonnegative(a_vt, "pelgrom_sigma: a_vt", CircuitError, unit="V*m")
    return a_vt / math.sqrt(2.0 * w * l)


@dataclass(frozen=True)
class Transistor:
    """One mismatched transistor: its parameter, its ngspice instance path, its size (m)."""

    param: str      # circuit parameter, e.g. "dvth_inp"
    instance: str   # ngspice instance, e.g. "m.xtia.xop.m2"
    w: float
    l: float
    role: str = ""

    @property
    def sigma(self) -> float:
        return pelgrom_sigma(self.w, self.l)


def transistors(devices, prefix: str, sizes: Mapping[str, float]) -> tuple[Transistor, ...]:
    """The mismatched transistors of ``devices`` (rows of parameter, device, width name,
    length name, role) inside subcircuit instance path ``prefix`` (e.g. ``"xtia.xop"``)."""
    return tuple(Transistor(param, f"m.{prefix}.{dev}", sizes[w], sizes[l], role) for param, dev, w, l, role in devices)


def dvth_parameters(transistors) -> tuple[Parameter, ...]:
    return tuple(Parameter(t.param, "V", 0.0, (-DVTH_BOUND, DVTH_BOUND),
                           f"threshold offset (BSIM4 delvto) of {t.role or t.instance}")
                 for t in transistors)


def subckt_defaults(lib: str, name: str) -> dict[str, float]:
    """Numeric defaults of a shipped subcircuit's parameters (the design lives in the .lib)."""
    return {k: spice_number(v) for k, v in _subckt_defaults(lib, name).items()
            if not v.startswith("{")}


class AnalogCircuit(Circuit):
    """Base of the transistor-level circuits: a corner, mismatched transistors, and a
    cache of what has been applied to the engine so a point changes only what differs.

    Subclasses set ``transistors`` in ``__init__`` (after ``super().__init__(corner)``)
    and declare ``vdd`` and ``temp`` parameters; their benches name the supply ``vdd``.
    """

    transistors: tuple[Transistor, ...] = ()

    def __init__(self, corner: str = "tt"):
        self.corner = check_corner(corner, self.name)
        self._applied: dict = {}

    # ------------------------------------------------------------------ mismatch
    # (names and behaviour shared with cimspice.circuits.comparator.StrongArmComparator)
    def mismatch_sigmas(self, a_vt: float = A_VT) -> dict[str, float]:
        """Pelgrom sigma (V) of every ``dvth_*`` parameter."""
        return {t.param: pelgrom_sigma(t.w, t.l, a_vt) for t in self.transistors}

    def draw_mismatch(self, n: int, seed=None, a_vt: float = A_VT) -> dict[str, np.ndarray]:
        """``n`` independent Monte Carlo draws of every ``dvth_*`` (V): name -> (n,) array,
        normal with the Pelgrom sigmas, ready to merge into sweep points (design ``list``).
        Draws beyond the parameter bounds (several sigma) are clipped to them."""
        n = require_int(n, f"{self.name}: draw_mismatch: n", CircuitError, lo=1)
        rng = np.random.default_rng(seed)
        return {name: np.clip(rng.normal(0.0, s, n), -DVTH_BOUND, DVTH_BOUND)
                for name, s in self.mismatch_sigmas(a_vt).items()}

    # ------------------------------------------------------------------ engine state
    def set(self, engine, device: str, value: float | None = None, **instance: float) -> None:
        """``engine.alter`` only when the value differs from what this instance applied."""
        changes = {"": value} if value is not None else {}
        changes.update(instance)
        for param, v in changes.items():
            if self._applied.get((device, param)) != v:
                if param:
                    engine.alter(device, **{param: v})
                else:
                    engine.alter(device, v)
                self._applied[(device, param)] = v

    def set_vector(self, engine, device: str, param: str, values) -> None:
        """A vector-valued source parameter (``pulse``): ``Engine.alter`` takes scalars only,
        so this sends ngspice's own ``alter dev param = [ ... ]`` and classifies the reply."""
        values = tuple(float(v) for v in values)
        if self._applied.get((device, param)) == values:
            return
        require_finite(values, f"{self.name}: {device} {param}", CircuitError)
        lines = engine.command(f"alter {device} {param} = [ {' '.join(repr(v) for v in values)} ]")
        outcome = classify(lines, source=self.name)
        if outcome.error is not None:
            raise outcome.error
        self._applied[(device, param)] = values

    def apply_common(self, engine, point: Mapping[str, float]) -> None:
        """Temperature, supply and every transistor's threshold offset."""
        self.apply_temperature(engine, point["temp"])
        self.set(engine, "vdd", point["vdd"])
        for t in self.transistors:
            self.set(engine, t.instance, delvto=point[t.param])

    def netlist_header(self, title: str) -> list[str]:
        return [title, corner_library(self.corner)]
