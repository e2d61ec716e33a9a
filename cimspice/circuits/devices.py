"""Device constants the Python side needs, read from the shipped model files.

The model files in ``netlists/`` are the single source of these values (with their
citations); this module parses the defaults of the ``reram`` subcircuit so that Python
never carries a second, drifting copy.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from ..paths import netlist_path
from ..validate import require_in_range
from ..validate import spice_number as _spice_number
from .errors import CircuitError

# FreePDK45 / PTM 45 nm nominal supply (see the header of netlists/ptm45.lib).
VDD = 1.1
# The 1T1R access transistor (m): 450 nm / 50 nm puts its linear-region on-resistance at
# 0.59 kOhm (VDD, 27 degC), under 10 % of the ReRAM's lowest resistance, so the ReRAM sets
# the read current (netlists/cell_1t1r.cir, docs/devices.md). One size for the bench, the
# cell circuit and the crossbars; tests/test_cell_size.py reads it back from the .cir file.
ACCESS_W, ACCESS_L = 450e-9, 50e-9
# Drawn transistor sizes (m): FreePDK45's minimum length and width (rules POLY.1, ACTIVE.1),
# and the largest this toolkit draws (width; length of a single device).
MIN_L, MIN_W, MAX_SIZE, MAX_L = 50e-9, 90e-9, 100e-6, 10e-6


def spice_number(text: str) -> float:
    """``"100u"`` -> 1e-4, ``"1meg"`` -> 1e6, ``"0.25"`` -> 0.25 (SPICE scale suffixes, as
    :func:`cimspice.validate.spice_number` reads them); a :class:`CircuitError` otherwise."""
    if not isinstance(text, str):
        raise CircuitError(f"not a SPICE number: {text!r}")
    return _spice_number(text, "not a SPICE number", CircuitError)


@dataclass(frozen=True)
class ReramModel:
    """Read-law constants of the shipped ReRAM model: I = G v0 sinh(V / v0), G in [g_off, g_on]."""

    g_on: float   # S, low-resistance state
    g_off: float  # S, high-resistance state
    v0: float     # V, sinh nonlinearity voltage

    @property
    def g_ref(self) -> float:
        """Geometric middle of the window (S): the default programmed state."""
        return (self.g_on * self.g_off) ** 0.5


def _subckt_defaults(lib: str, name: str) -> dict[str, str]:
    text = netlist_path(lib).read_text()
    lines, header, inside = text.splitlines(), [], False
    for line in lines:
        low = line.strip().lower()
        if low.startswith(f".subckt {name} "):
            inside = True
            header.append(line.strip())
        elif inside and low.startswith("+"):
            header.append(line.strip()[1:])
        elif inside:
            break
    if not header:
        raise CircuitError(f"{netlist_path(lib)}: no .subckt {name}")
    return {k.lower(): v for k, v in re.findall(r"(\w+)\s*=\s*(\{[^}]*\}|\S+)", " ".join(header))}


def _reram() -> ReramModel:
    d = _subckt_defaults("reram.lib", "reram")
    return ReramModel(spice_number(d["g_on"]), spice_number(d["g_off"]), spice_number(d["v0"]))


RERAM = _reram()


@dataclass(frozen=True)
class ReramCard(ReramModel):
    """A device card of ``netlists/``: a subcircuit ``subckt`` in ``lib`` built on the
    ``reram`` model with its own window, and the current bounds it states (A; ``None``
    when the card states none). The numbers are read from the card's subcircuit header."""

    lib: str = "reram.lib"
    subckt: str = "reram"
    i_read_max: float | None = None    # A, largest read current of one cell
    i_write_max: float | None = None   # A, largest programming current of one cell

    def read_voltage(self) -> float:
        """The read voltage (V) at which a ``g_on`` cell carries ``i_read_max`` (sinh law)."""
        if self.i_read_max is None:
            raise CircuitError(f"{self.lib}: {self.subckt} states no i_read_max")
        return self.v0 * math.asinh(self.i_read_max / (self.g_on * self.v0))


def reram_card(lib: str, subckt: str) -> ReramCard:
    """The card ``subckt`` of ``netlists/<lib>``: its ``g_on``, ``g_off``, ``v0`` and, if
    given, ``i_read_max``/``i_write_max`` defaults (a :class:`CircuitError` if one is missing)."""
    d = _subckt_defaults(lib, subckt)
    try:
        numbers = {k: spice_number(d[k]) for k in ("g_on", "g_off", "v0")}
    except KeyError as missing:
        raise CircuitError(f"{netlist_path(lib)}: .subckt {subckt} has no default for {missing}") from None
    bounds = {k: spice_number(d[k]) for k in ("i_read_max", "i_write_max") if k in d}
    if not 0 < numbers["g_off"] < numbers["g_on"]:
        raise CircuitError(f"{netlist_path(lib)}: {subckt} needs 0 < g_off < g_on")
    return ReramCard(**numbers, lib=lib, subckt=subckt, **bounds)


def _corners(lib: str = "ptm45.lib") -> tuple[str, ...]:
    """The process corners of the transistor cards: the ``.lib <name>`` sections of ``lib``
    that no other section includes (the shared ``cards`` body is included by each corner)."""
    text = netlist_path(lib).read_text()
    sections = re.findall(r"^\.lib\s+(\w+)\s*$", text, re.MULTILINE | re.IGNORECASE)
    included = {s.lower() for s in re.findall(r"^\.lib\s+\S+\s+(\w+)\s*$", text, re.MULTILINE | re.IGNORECASE)}
    return tuple(s.lower() for s in sections if s.lower() not in included)


#: Process corners of the 45 nm cards, as netlists/ptm45.lib names them: ("tt", "ff", "ss").
CORNERS = _corners()


def check_corner(corner, where: str) -> str:
    """``corner`` if it is one of :data:`CORNERS`, else a :class:`CircuitError` naming ``where``."""
    if corner not in CORNERS:
        raise CircuitError(f"{where}: corner {corner!r} is not one of {', '.join(CORNERS)}")
    return corner


def drawn_size(w, l, where: str) -> tuple[float, float]:
    """``(w, l)`` in m as floats, or a :class:`CircuitError` naming ``where`` unless
    MIN_W <= w <= MAX_SIZE and MIN_L <= l <= MAX_L (a transistor the cards can draw)."""
    return (require_in_range(w, MIN_W, MAX_SIZE, f"{where}: w", CircuitError, unit="m"),
            require_in_range(l, MIN_L, MAX_L, f"{where}: l", CircuitError, unit="m"))


def corner_library(corner: str) -> str:
    """The ``.lib`` line that loads the transistor cards (``nmos_vtg``, ``pmos_vtg``) of ``corner``."""
    return f'.lib "{netlist_path("ptm45.lib")}" {check_corner(corner, "ptm45.lib")}'
