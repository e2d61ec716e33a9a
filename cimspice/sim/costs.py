"""Per-event energy, time and area figures that are not characterized in SPICE yet.

This is the one place they live. Each is a cited constant; the characterized surrogates
(sense amplifier, ADC, nonlinear arrays) replace them as they land. What an inference
*does* (currents, pulses, conversions, operations) is counted by the simulator; these
figures only price the events. The array's own read energy is never taken from here: it is
computed from the currents that flow (``sum V * I * t_read``).

Sources
-------
[ISAAC] A. Shafiee et al., "ISAAC: A Convolutional Neural Network Accelerator with In-Situ
    Analog Arithmetic in Crossbars", ISCA 2016, table of component parameters (32 nm, per
    in-situ multiply-accumulate unit of 8 arrays of 128x128: 8 ADCs 8-bit 1.28 GS/s 16 mW
    0.0096 mm^2; 8x128 1-bit DACs 4 mW 0.00017 mm^2; 8x128 sample-and-hold 10 uW
    0.00004 mm^2; arrays 0.0002 mm^2; 4 shift-and-add 0.2 mW 0.00024 mm^2; per tile: 64 KB
    eDRAM 20.7 mW 0.083 mm^2, 2 sigmoid units 0.52 mW 0.0006 mm^2, max-pool 0.4 mW
    0.00024 mm^2; 1.2 GHz digital clock, 100 ns crossbar read).
[Walden] R. H. Walden, "Analog-to-digital converter survey and analysis", IEEE JSAC 17(4),
    1999: energy per conversion ~ 2**ENOB at a fixed figure of merit (also the scaling the
    input-splitting paper, Kim et al. ISLPED 2018, assumes for ADC power).
[Horowitz] M. Horowitz, "Computing's energy problem (and what we can do about it)",
    ISSCC 2014, energy and area of 45 nm arithmetic (fp16 add 0.4 pJ 1360 um^2, fp16 mult
    1.1 pJ 1640 um^2, 8-bit add 0.03 pJ 36 um^2).

Each figure is a :class:`Cited` float: its value, plus ``source`` (one of the strings below)
and ``name`` (``costs.ADC8_ENERGY``, given to every module-level figure at import), so a
result can say where each priced component came from (:meth:`Cited.record`). A figure
derived by scaling another keeps that one's name and source and says how it was scaled.
"""

from __future__ import annotations

ISAAC = "ISAAC (Shafiee et al., ISCA 2016)"
WALDEN = "Walden (IEEE JSAC 17(4), 1999)"
HOROWITZ_ISSCC = "Horowitz (ISSCC 2014)"
ASSUMED = "an assumption of this model"
AVERAGE_POOL = "cimspice.circuits.pooling.AveragePool (its defaults, docs/nonlinear.md)"
MAX_POOL = "cimspice.circuits.pooling.MaxPool (its T_EVAL and area(), circuits.area's layout rule)"


class Cited(float):
    """A per-event figure in SI units that says where it comes from.

    ``source``: the paper or design it is taken from; ``name``: the constant it is
    (``costs.ADC8_ENERGY``); ``scaling``: how a derived figure was scaled from that constant
    ('' if it is the constant itself). Arithmetic on it gives plain floats.
    """

    __slots__ = ("name", "scaling", "source")

    def __new__(cls, value: float, source: str, name: str = "", scaling: str = ""):
        self = super().__new__(cls, value)
        self.source, self.name, self.scaling = source, name, scaling
        return self

    def __reduce__(self):
        return Cited, (float(self), self.source, self.name, self.scaling)

    def scaled(self, factor: float, how: str, source: str = "") -> Cited:
        """This figure times ``factor``; ``how`` says why, ``source`` cites the scaling law."""
        return Cited(float(self) * factor, "; ".join(filter(None, (self.source, source))), self.name, how)

    def record(self) -> dict:
        """The source record of a figure priced with it (results.json, docs/system.md)."""
        out = {"kind": "cited", "constant": self.name, "source": self.source, "figure": float(self)}
        if self.scaling:
            out["scaling"] = self.scaling
        return out


# Every figure below cites its source through Cited(value, SOURCE); the comments give the
# arithmetic from the source's table (units in SI).

# ------------------------------------------------------------------ array and drivers
T_READ = Cited(100e-9, ISAAC)                                   # s, one crossbar read
CELL_AREA = Cited(0.0002e-6 / (8 * 128 * 128), ISAAC)           # m^2 per cell, 1.5e-15 (~4F^2 at 20 nm)
DAC1_ENERGY = Cited(4e-3 * T_READ / (8 * 128), ISAAC)           # J per 1-bit row pulse, 3.9e-13
DAC1_AREA = Cited(0.00017e-6 / (8 * 128), ISAAC)                # m^2 per 1-bit row driver

# ------------------------------------------------------------------------ sense, ADC
SH_ENERGY = Cited(10e-6 * T_READ / (8 * 128), ISAAC)            # J per sample-and-hold sample, 9.8e-16
SH_AREA = Cited(0.00004e-6 / (8 * 128), ISAAC)                  # m^2 per column sample-and-hold
ADC_RATE = Cited(1.28e9, ISAAC)                                 # conversions/s of one ADC
ADC_CONVERSION_TIME = Cited(1 / ADC_RATE, ISAAC)                # s per conversion of one ADC
ADC8_ENERGY = Cited(16e-3 / (8 * ADC_RATE), ISAAC)              # J per 8-bit conversion, 1.56e-12
ADC8_AREA = Cited(0.0096e-6 / 8, ISAAC)                         # m^2 per 8-bit ADC

# ------------------------------------------------------------------------- digital
CLOCK = Cited(1.2e9, ISAAC)                                     # Hz, digital units
SHIFT_ADD_ENERGY = Cited(0.2e-3 / (8 * ADC_RATE), ISAAC)        # J per shift-and-add of one ADC output
SHIFT_ADD_AREA = Cited(0.00024e-6 / 4, ISAAC)                   # m^2 per shift-and-add unit
DIGITAL_ENERGY = {                                              # J per fp16 element operation
    "add": Cited(0.4e-12, HOROWITZ_ISSCC),
    "mul": Cited(1.1e-12, HOROWITZ_ISSCC),
    "mac": Cited(1.5e-12, HOROWITZ_ISSCC),                      # multiply + add (attention products)
    "max": Cited(0.03e-12, HOROWITZ_ISSCC),                     # a compare is an 8-bit add
    "norm": Cited(3 * 0.4e-12 + 3 * 1.1e-12, HOROWITZ_ISSCC),   # layer norm: ~3 adds and 3 mults per element
}
DIGITAL_LANE_AREA = Cited(1360e-12 + 1640e-12, HOROWITZ_ISSCC)  # m^2, one fp16 adder + multiplier
# 45 nm integer operations and an 8 KB SRAM's 64-bit read (10 pJ) per bit [Horowitz]: the
# digital ReRAM and SRAM blocks of the training-block study
HOROWITZ = {
    "add8": Cited(0.03e-12, HOROWITZ_ISSCC),
    "add32": Cited(0.1e-12, HOROWITZ_ISSCC),
    "mult8": Cited(0.2e-12, HOROWITZ_ISSCC),
    "mult32": Cited(3.1e-12, HOROWITZ_ISSCC),
    "sram_bit": Cited(10e-12 / 64, HOROWITZ_ISSCC),
}
DIGITAL_LANES = 16                               # parallel fp16 lanes (an assumption of this model)
DIGITAL_OP_TIME = Cited(1 / (DIGITAL_LANES * CLOCK), f"{ISAAC}; {ASSUMED}")  # s per operation over the lanes

# --------------------------------------------------------- nonlinear units (digital)
NONLINEAR_ENERGY = Cited(0.52e-3 / (2 * CLOCK), ISAAC)          # J per sigmoid/tanh/exp/gelu evaluation
NONLINEAR_AREA = Cited(0.0006e-6 / 2, ISAAC)                    # m^2 per unit
NONLINEAR_UNITS = 2                                             # per tile [ISAAC]
NONLINEAR_OP_TIME = Cited(1 / (NONLINEAR_UNITS * CLOCK), ISAAC)  # s per evaluation over the units
RELU_ENERGY = DIGITAL_ENERGY["max"]                             # a ReLU is one compare
POOL_ENERGY = Cited(0.4e-3 / CLOCK, ISAAC)                      # J per max-pool comparison
POOL_AREA = Cited(0.00024e-6, ISAAC)                            # m^2
# Average pooling on one equal-conductance ReRAM column (nonlinear.avg_pooling: reram_array):
# the design of AveragePool: cells at 50 uS, the window's largest input at 0.1 V, read for
# 10 ns; each input row driven by a 1-bit-pulse driver held for the read (DAC1_AREA, ISAAC)
POOL_CELL_G = Cited(50e-6, AVERAGE_POOL)                        # S
POOL_V_MAX = Cited(0.1, AVERAGE_POOL)                           # V, row voltage of the layer's largest input
POOL_T_READ = Cited(10e-9, AVERAGE_POOL)                        # s
# Max pooling on a source-follower winner-take-all (nonlinear.max_pooling: wta): the
# evaluation time over which MaxPool integrates its energy (its T_EVAL; the sim does not
# import circuits); all windows of a layer evaluate in parallel
POOL_WTA_T_EVAL = Cited(1e-9, MAX_POOL)                         # s
# its area per device (MaxPool.area(): 4 um / 100 nm followers and replica, two tails as one
# device each, (k*k + 3) devices per window)
POOL_WTA_DEVICE_AREA = Cited(2.5482e-12, MAX_POOL)              # m^2

# ------------------------------------------------------------------------- buffers
# 64 KB eDRAM at 20.7 mW, taken as one 256-bit access per clock cycle
BUFFER_BIT_ENERGY = Cited(20.7e-3 / (256 * CLOCK), ISAAC)       # J per bit read or written, 6.7e-14
BUFFER_BYTE_AREA = Cited(0.083e-6 / (64 * 1024), ISAAC)         # m^2 per byte of eDRAM
ACTIVATION_BITS = 16                                            # bits of an activation stored between layers
DIGITAL_ENERGY["lookup"] = Cited(ACTIVATION_BITS * BUFFER_BIT_ENERGY, ISAAC)  # embedding-table read per element


def _name_figures(namespace: dict) -> None:
    """Give every module-level :class:`Cited` (and those in module-level dicts) its name,
    the first one it is bound to (``RELU_ENERGY`` stays ``costs.DIGITAL_ENERGY['max']``)."""
    for name, value in list(namespace.items()):
        entries = value.items() if isinstance(value, dict) else [(None, value)]
        for key, figure in entries:
            if isinstance(figure, Cited) and not figure.name:
                figure.name = f"costs.{name}" if key is None else f"costs.{name}[{key!r}]"


_name_figures(globals())


def _resolution(bits: int | None, ideal_as: int) -> int:
    return ideal_as if bits is None else int(bits)


def _scaled(figure: Cited, bits: int | None, ideal_as: int, ref: int, source: str, law: str) -> Cited:
    """``figure`` (at ``ref`` bits) scaled by ``2**(bits - ref)``; ``bits`` None as ``ideal_as``."""
    b = _resolution(bits, ideal_as)
    if b == ref:
        return figure
    how = f"x 2**({b} - {ref}); {law}" + (f"; an ideal converter priced as {ideal_as} bits" if bits is None else "")
    return figure.scaled(2.0 ** (b - ref), how, source)


def adc_energy(bits: int | None) -> Cited:
    """J per conversion at ``bits`` resolution: the 8-bit ISAAC figure scaled by
    ``2**(bits - 8)`` (Walden). ``None`` (an ideal converter) is priced as 16 bits."""
    return _scaled(ADC8_ENERGY, bits, 16, 8, WALDEN, "at a fixed figure of merit")


def adc_area(bits: int | None) -> Cited:
    """m^2 of one ADC at ``bits`` resolution, scaled like :func:`adc_energy`."""
    return _scaled(ADC8_AREA, bits, 16, 8, WALDEN, "like its energy")


def dac_energy(bits: int | None) -> Cited:
    """J per row drive: a 1-bit pulse (ISAAC), a ``bits`` DAC level scaled by ``2**(bits-1)``
    (capacitive DAC energy ~ number of unit elements); ``None`` priced as 8 bits."""
    return _scaled(DAC1_ENERGY, bits, 8, 1, ASSUMED, "unit elements of a capacitive DAC")


def dac_area(bits: int | None) -> Cited:
    """m^2 of one row driver at ``bits`` resolution, scaled like :func:`dac_energy`."""
    return _scaled(DAC1_AREA, bits, 8, 1, ASSUMED, "unit elements of a capacitive DAC")
