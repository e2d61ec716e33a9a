"""Device constants the Python side needs, read from the shipped model files.

The model files in ``netlists/`` are the single source of these values (with their
citations); this module parses the defaults of the ``reram`` subcircuit so that Python
never carries a second, drifting copy.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..paths import netlist_path
from .base import CircuitError

# FreePDK45 / PTM 45 nm nominal supply (see the header of netlists/ptm45.lib).
VDD = 1.1

_SUFFIX = {"t": 12, "g": 9, "meg": 6, "k": 3, "m": -3, "u": -6, "n": -9, "p": -12, "f": -15}  # powers of ten
_NUMBER = re.compile(r"^([-+]?(?:\d+\.?\d*|\.\d+)(?:e[-+]?\d+)?)(meg|[tgkmunpf])?[a-z]*$", re.IGNORECASE)


def spice_number(text: str) -> float:
    """``"100u"`` -> 1e-4, ``"1meg"`` -> 1e6, ``"0.25"`` -> 0.25 (SPICE scale suffixes)."""
    match = _NUMBER.match(text.strip())
    if not match:
        raise CircuitError(f"not a SPICE number: {text!r}")
    value, suffix = match.groups()
    # Shift the decimal exponent rather than multiply, so "100u" is exactly float("1e-4").
    mantissa, _, exponent = value.lower().partition("e")
    return float(f"{mantissa}e{int(exponent or 0) + (_SUFFIX[suffix.lower()] if suffix else 0)}")


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
