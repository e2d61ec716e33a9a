"""Clock distribution and MOSFET lines for the clocked transistor-level benches.

:func:`clock_buffer` is the tapered inverter chain that drives the comparators' clock pins
(StrongARM, flash/SAR/ramp ADCs, the PWL unit, the LUT baseline): a real driver draws
C V^2 from its supply, where an ideal source would deliver half that for a slow edge.
:func:`mos` writes one transistor, splitting wide devices into fingers.
"""

from __future__ import annotations

import math

from .area import transistor_area
from .devices import VDD

# Widest gate finger (m). The cards model gate resistance (rgatemod=1, rshg = 0.4 ohm/sq):
# a single 126 um finger has ~300 ohm of gate, which made a 6-bit flash's clock edges
# 3x slower, not faster, as the buffer grew (measured). Wide devices are split into fingers.
MAX_FINGER = 2e-6


def mos(name: str, d: str, g: str, s: str, b: str, model: str, w: float, l: float = 50e-9) -> str:
    """A MOSFET line, wide devices drawn as ``nf`` fingers of at most MAX_FINGER."""
    nf = max(1, math.ceil(w / MAX_FINGER - 1e-9))
    return f"{name} {d} {g} {s} {b} {model} w={w!r} l={l!r}" + (f" nf={nf}" if nf > 1 else "")


def clock_buffer_widths(fanout: int) -> list[float]:
    """NMOS widths (m) of the clock buffer's inverters, input first; each PMOS is twice as
    wide. The last stage gives 1 um per comparator driven; each earlier stage is a quarter
    of the next (fan-out 4) down to 0.2 um, in an even number of stages (non-inverting)."""
    widths = [1e-6 * max(1, int(fanout))]
    while widths[0] / 4 > 0.2e-6 or len(widths) % 2:
        widths.insert(0, max(0.2e-6, widths[0] / 4))
    return widths


def clock_buffer(inp: str, out: str, supply: str, fanout: int, name: str = "ck") -> list[str]:
    """A non-inverting tapered inverter chain on ``supply`` driving ``fanout`` comparators'
    clock pins from ``inp`` (an ideal source standing for the clock generator). L = 50 nm."""
    widths = clock_buffer_widths(fanout)
    nodes = [inp] + [f"{name}_{k}" for k in range(1, len(widths))] + [out]
    lines = []
    for k, w in enumerate(widths):
        a, b = nodes[k], nodes[k + 1]
        lines += [mos(f"m{name}{k}n", b, a, "0", "0", "nmos_vtg", w),
                  mos(f"m{name}{k}p", b, a, supply, supply, "pmos_vtg", 2 * w)]
    # an initial guess for the operating point (clock low); without it ngspice needs gmin
    # stepping for benches with several comparators
    guess = " ".join(f"v({n})={VDD if k % 2 else 0.0!r}" for k, n in enumerate(nodes[1:], start=1))
    return lines + [f".nodeset {guess}"]


def clock_buffer_area(fanout: int) -> float:
    """Layout estimate (m^2) of :func:`clock_buffer`."""
    return float(sum(transistor_area(w, 50e-9) + transistor_area(2 * w, 50e-9) for w in clock_buffer_widths(fanout)))


__all__ = ["MAX_FINGER", "clock_buffer", "clock_buffer_area", "clock_buffer_widths", "mos"]
