"""Layout-area estimates (m^2) for transistors, capacitors and resistors at the 45 nm node.

A first-order estimate, not a layout: each device's footprint from its drawn size plus the
design-rule overheads around it, times one layout factor for wells, taps and wiring. Use it
to compare architectures (a flash ADC against a SAR), not to floor-plan.

Transistor (FreePDK45 design rules, NCSU EDA wiki, pages FreePDK45:PolyRules and
FreePDK45:ContactRules)::

    area = LAYOUT_FACTOR * (w + 2 * POLY_ENDCAP) * (l + 2 * SD_LENGTH)

with the gate poly running past the active by the end-cap on both sides, and a contacted
source and drain each ``SD_LENGTH`` = contact-to-gate spacing + contact + active enclosure
long. Neighbouring devices would share a diffusion; counting it twice covers the spacing
rules this leaves out.

Capacitor: a metal-insulator-metal (MIM) capacitor at ``MIM_DENSITY``, with no layout
factor: a MIM array is dense and sits in the top metals, above other circuitry.
Resistor: a high-resistance (unsilicided) poly strip of ``POLY_RES_WIDTH`` and
``POLY_RES_SHEET`` ohm per square, at least one square long, times the layout factor.
"""

from __future__ import annotations

from ..validate import require_positive
from .base import CircuitError

# FreePDK45 POLY.3: minimum poly extension beyond active (gate end-cap), m.
POLY_ENDCAP = 55e-9
# FreePDK45 CONTACT.6 (contact to gate spacing, 35 nm) + CONTACT.1 (contact width, 65 nm)
# + CONTACT.4 (active enclosure of contact, 5 nm): one contacted source or drain, m.
SD_LENGTH = 35e-9 + 65e-9 + 5e-9
# Wells, substrate taps and metal wiring around the devices: a factor of 2 on the summed
# device footprints, the allowance usually taken for analog blocks in early estimates
# (an assumption of this toolkit, not a measured layout).
LAYOUT_FACTOR = 2.0

# MIM capacitor density, F/m^2: 2 fF/um^2, the MIM option of 65-45 nm mixed-signal
# processes (ITRS 2007, RF and analog/mixed-signal chapter, MIM density 2 fF/um^2).
MIM_DENSITY = 2e-3
# High-resistance poly: sheet resistance (ohm/sq) and drawn width (m). Unsilicided p+ poly
# at 65-45 nm is a few hundred ohm/sq; 300 ohm/sq and a 0.4 um strip (wide enough that
# edge roughness does not dominate matching) are this toolkit's assumptions.
POLY_RES_SHEET = 300.0
POLY_RES_WIDTH = 0.4e-6


def transistor_area(w: float, l: float) -> float:
    """Layout area (m^2) of one transistor of drawn width ``w`` and length ``l`` (m)."""
    w = require_positive(w, "area: w", CircuitError, unit="m")
    l = require_positive(l, "area: l", CircuitError, unit="m")
    return LAYOUT_FACTOR * (w + 2 * POLY_ENDCAP) * (l + 2 * SD_LENGTH)


def capacitor_area(c: float) -> float:
    """Layout area (m^2) of a MIM capacitor of ``c`` farads."""
    return require_positive(c, "area: c", CircuitError, unit="F") / MIM_DENSITY


def resistor_area(r: float) -> float:
    """Layout area (m^2) of a poly resistor of ``r`` ohms (strip of POLY_RES_WIDTH)."""
    # a strip shorter than it is wide is not drawn: small values are wider strips instead
    squares = max(require_positive(r, "area: r", CircuitError, unit="ohm") / POLY_RES_SHEET, 1.0)
    return LAYOUT_FACTOR * squares * POLY_RES_WIDTH ** 2

# Digital logic (encoders, SAR registers, counters): standard cells of the NanGate FreePDK45
# Open Cell Library v1.3 (2011), built on the same design rules: NAND2_X1 0.798 um^2 stands
# for any 2-input gate, DFF_X1 4.522 um^2 for a flip-flop (cell areas from its Liberty file).
GATE_AREA = 0.798e-12
FLIP_FLOP_AREA = 4.522e-12


def logic_area(gates: int = 0, flip_flops: int = 0) -> float:
    """Layout area (m^2) of ``gates`` 2-input gates and ``flip_flops`` flip-flops, placed
    cells only (the rows are already dense: no layout factor)."""
    if gates < 0 or flip_flops < 0:
        raise CircuitError(f"area: gate and flip-flop counts must be >= 0, got {gates}, {flip_flops}")
    return gates * GATE_AREA + flip_flops * FLIP_FLOP_AREA
