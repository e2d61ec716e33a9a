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
"""

from __future__ import annotations

# ------------------------------------------------------------------ array and drivers
T_READ = 100e-9                                  # s, one crossbar read [ISAAC]
CELL_AREA = 0.0002e-6 / (8 * 128 * 128)          # m^2 per cell, 1.5e-15 (~4F^2 at 20 nm) [ISAAC]
DAC1_ENERGY = 4e-3 * T_READ / (8 * 128)          # J per 1-bit row pulse, 3.9e-13 [ISAAC]
DAC1_AREA = 0.00017e-6 / (8 * 128)               # m^2 per 1-bit row driver [ISAAC]

# ------------------------------------------------------------------------ sense, ADC
SH_ENERGY = 10e-6 * T_READ / (8 * 128)           # J per sample-and-hold sample, 9.8e-16 [ISAAC]
SH_AREA = 0.00004e-6 / (8 * 128)                 # m^2 per column sample-and-hold [ISAAC]
ADC_RATE = 1.28e9                                # conversions/s of one ADC [ISAAC]
ADC8_ENERGY = 16e-3 / (8 * ADC_RATE)             # J per 8-bit conversion, 1.56e-12 [ISAAC]
ADC8_AREA = 0.0096e-6 / 8                        # m^2 per 8-bit ADC [ISAAC]

# ------------------------------------------------------------------------- digital
CLOCK = 1.2e9                                    # Hz, digital units [ISAAC]
SHIFT_ADD_ENERGY = 0.2e-3 / (8 * ADC_RATE)       # J per shift-and-add of one ADC output [ISAAC]
SHIFT_ADD_AREA = 0.00024e-6 / 4                  # m^2 per shift-and-add unit [ISAAC]
DIGITAL_ENERGY = {                               # J per element operation [Horowitz], fp16
    "add": 0.4e-12,
    "mul": 1.1e-12,
    "mac": 1.5e-12,                              # multiply + add (attention products)
    "max": 0.03e-12,                             # a compare is an 8-bit add
    "norm": 3 * 0.4e-12 + 3 * 1.1e-12,           # layer norm: ~3 adds and 3 mults per element
}
DIGITAL_LANE_AREA = 1360e-12 + 1640e-12          # m^2, one fp16 adder + multiplier [Horowitz]
# 45 nm integer operations and an 8 KB SRAM's 64-bit read (10 pJ) per bit [Horowitz]: the
# digital ReRAM and SRAM blocks of the training-block study
HOROWITZ = {
    "add8": 0.03e-12,
    "add32": 0.1e-12,
    "mult8": 0.2e-12,
    "mult32": 3.1e-12,
    "sram_bit": 10e-12 / 64,
}
DIGITAL_LANES = 16                               # parallel fp16 lanes (an assumption of this model)

# --------------------------------------------------------- nonlinear units (digital)
NONLINEAR_ENERGY = 0.52e-3 / (2 * CLOCK)         # J per sigmoid/tanh/exp/gelu evaluation [ISAAC]
NONLINEAR_AREA = 0.0006e-6 / 2                   # m^2 per unit [ISAAC]
NONLINEAR_UNITS = 2                              # per tile [ISAAC]
RELU_ENERGY = DIGITAL_ENERGY["max"]              # a ReLU is one compare
POOL_ENERGY = 0.4e-3 / CLOCK                     # J per max-pool comparison [ISAAC]
POOL_AREA = 0.00024e-6                           # m^2 [ISAAC]
# Average pooling on one equal-conductance ReRAM column (nonlinear.avg_pooling: reram_array):
# the design of cimspice.circuits.pooling.AveragePool (its defaults, docs/nonlinear.md):
# cells at 50 uS, the window's largest input at 0.1 V, read for 10 ns; each input row driven
# by a 1-bit-pulse driver held for the read [ISAAC's DAC1 figure]
POOL_CELL_G = 50e-6                              # S
POOL_V_MAX = 0.1                                 # V, row voltage of the layer's largest input
POOL_T_READ = 10e-9                              # s
# Max pooling on a source-follower winner-take-all (nonlinear.max_pooling: wta): the
# evaluation time over which cimspice.circuits.pooling.MaxPool integrates its energy (its
# T_EVAL; the sim does not import circuits); all windows of a layer evaluate in parallel
POOL_WTA_T_EVAL = 1e-9                           # s
# its area per device (MaxPool.area(): 4 um / 100 nm followers and replica, two tails as one
# device each, (k*k + 3) devices per window; circuits.area's layout rule)
POOL_WTA_DEVICE_AREA = 2.5482e-12                # m^2

# ------------------------------------------------------------------------- buffers
# 64 KB eDRAM at 20.7 mW [ISAAC], taken as one 256-bit access per clock cycle
BUFFER_BIT_ENERGY = 20.7e-3 / (256 * CLOCK)      # J per bit read or written, 6.7e-14
BUFFER_BYTE_AREA = 0.083e-6 / (64 * 1024)        # m^2 per byte of eDRAM [ISAAC]
ACTIVATION_BITS = 16                             # bits of an activation stored between layers
DIGITAL_ENERGY["lookup"] = ACTIVATION_BITS * BUFFER_BIT_ENERGY   # embedding-table read per element


def adc_energy(bits: int | None) -> float:
    """J per conversion at ``bits`` resolution: the 8-bit [ISAAC] figure scaled by
    ``2**(bits - 8)`` [Walden]. ``None`` (an ideal converter) is priced as 16 bits."""
    return ADC8_ENERGY * 2.0 ** ((16 if bits is None else bits) - 8)


def adc_area(bits: int | None) -> float:
    """m^2 of one ADC at ``bits`` resolution, scaled like :func:`adc_energy`."""
    return ADC8_AREA * 2.0 ** ((16 if bits is None else bits) - 8)


def dac_energy(bits: int | None) -> float:
    """J per row drive: a 1-bit pulse [ISAAC], a ``bits`` DAC level scaled by ``2**(bits-1)``
    (capacitive DAC energy ~ number of unit elements); ``None`` priced as 8 bits."""
    return DAC1_ENERGY * 2.0 ** ((8 if bits is None else bits) - 1)


def dac_area(bits: int | None) -> float:
    return DAC1_AREA * 2.0 ** ((8 if bits is None else bits) - 1)


def adc_time(conversions_per_adc: int) -> float:
    """s for one ADC to convert ``conversions_per_adc`` samples in sequence."""
    return conversions_per_adc / ADC_RATE
