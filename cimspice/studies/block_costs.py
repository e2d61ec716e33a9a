"""Energy and latency of the training block's three kernels, analog and digital, from the
figures a run measured. Pure arithmetic: every input is a number with its unit.

Kernels on an ``n x n`` block of weights (each ``n**2`` MACs): VMM (``y = x W``), MVM^T
(``d = delta W^T``) and OPU (``W += -lr x delta^T``).

Analog block (Marinella et al., JETCAS 2018): inputs as pulse widths on the rows, an
integrator and a ramp ADC per column, plus one reference column (weights are read against
it); MVM^T reads the same array from the other side with the same periphery. The OPU sends
up to ``max_pulses`` programming pulses per cell in a SET phase and a RESET phase, every
row and column driver pulsing in each slot.

Digital blocks (the paper's comparison, re-designed here with the same framework): 8-bit
weights, ``mac_units`` int8 multiply / int32 add units at ``clock``; the SRAM block reads
``sram_word`` bits per cycle (a transposable array: MVM^T reads as fast as VMM); the digital
ReRAM block reads one bit per sense amplifier cycle on ``sense_amps`` sense amplifiers, and
its OPU reads, adds and writes back the flipped bits row by row (a SET and a RESET phase per
row, every flipped bit of a row at once).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["KERNELS", "AnalogBlock", "DigitalBlock", "headline"]

KERNELS = ("VMM", "MVM^T", "OPU")


@dataclass(frozen=True)
class AnalogBlock:
    """Measured figures of the analog block. Energies J, times s."""

    n: int
    e_cell: float           # per cell per read: what the row drivers deliver, over n**2
    e_driver: float         # per row pulse of a read
    e_integrator: float     # per column per read (integrate, hold through the conversion, reset)
    e_adc: float            # per column conversion
    t_read: float           # per read: integrator cycle with the conversion
    e_pulse: float          # per programming pulse (mean of SET and RESET at the reference)
    t_slot: float           # per programming pulse, edges included (the device law's pulse)
    pulses_per_cell: float  # mean pulses per cell per update (training)
    max_pulses: int         # pulse slots per phase of one update
    e_program_driver: float  # per programming pulse on one row or column line

    def energy(self) -> dict[str, dict[str, float]]:
        """J per MAC of each kernel, by component."""
        n, cols = self.n, self.n + 1  # n columns and the reference column
        read = {"array": self.e_cell, "row drivers": self.e_driver / n,
                "integrators": self.e_integrator * cols / n ** 2, "ADCs": self.e_adc * cols / n ** 2}
        opu = {"cells": self.pulses_per_cell * self.e_pulse,
               "line drivers": 2 * self.max_pulses * 2 * n * self.e_program_driver / n ** 2}
        return {"VMM": read, "MVM^T": dict(read), "OPU": opu}

    def latency(self) -> dict[str, float]:
        """s per kernel call."""
        return {"VMM": self.t_read, "MVM^T": self.t_read, "OPU": 2 * self.max_pulses * self.t_slot}


@dataclass(frozen=True)
class DigitalBlock:
    """The digital blocks' figures. Energies J, times s."""

    n: int
    e_mac: float            # int8 multiply + int32 add
    e_sram_bit: float       # SRAM read (and write) per bit
    e_read_bit: float       # digital ReRAM: sense amplifier and cell, per bit read
    t_read_bit: float       # digital ReRAM: sense amplifier cycle
    e_write_bit: float      # digital ReRAM: one switching pulse per flipped bit
    t_write: float          # digital ReRAM: one write pulse, edges included
    flips: float            # bits flipped per weight and update (training, 8-bit codes)
    weight_bits: int = 8
    mac_units: int = 256
    clock: float = 1e9
    sram_word: int = 2048
    sense_amps: int = 1024

    def _mac_time(self) -> float:
        return self.n ** 2 / self.mac_units / self.clock

    def sram(self) -> tuple[dict[str, float], dict[str, float]]:
        """(J per MAC, s per kernel) of the SRAM block."""
        b = self.weight_bits
        read = b * self.e_sram_bit + self.e_mac
        t = max(self._mac_time(), b * self.n ** 2 / self.sram_word / self.clock)
        return ({"VMM": read, "MVM^T": read, "OPU": 2 * b * self.e_sram_bit + self.e_mac},
                {"VMM": t, "MVM^T": t, "OPU": 2 * t})

    def reram(self) -> tuple[dict[str, float], dict[str, float]]:
        """(J per MAC, s per kernel) of the digital ReRAM block."""
        b = self.weight_bits
        read = b * self.e_read_bit + self.e_mac
        t = max(self._mac_time(), b * self.n ** 2 / self.sense_amps * self.t_read_bit)
        return ({"VMM": read, "MVM^T": read, "OPU": read + self.flips * self.e_write_bit},
                {"VMM": t, "MVM^T": t, "OPU": t + 2 * self.n * self.t_write})


def headline(analog: AnalogBlock, digital: DigitalBlock) -> dict[str, float]:
    """The abstract's figures for one set of measured figures: energy per MAC over the three
    kernels (J), and the digital blocks' energy and latency over the three kernels against
    the analog block's (ratios)."""
    e = {k: sum(c.values()) for k, c in analog.energy().items()}
    t = analog.latency()
    (e_sram, t_sram), (e_rr, t_rr) = digital.sram(), digital.reram()
    total = sum(e.values())
    return {"mac_energy": total / len(KERNELS),
            "energy_vs_reram": sum(e_rr.values()) / total, "energy_vs_sram": sum(e_sram.values()) / total,
            "latency_vs_reram": sum(t_rr.values()) / sum(t.values()),
            "latency_vs_sram": sum(t_sram.values()) / sum(t.values())}
