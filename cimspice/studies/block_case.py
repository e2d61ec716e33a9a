"""One evaluation of the training block under one set of assumptions (a :class:`Case`):
the array read on the crossbar solver, the periphery sized for it and simulated in
ngspice, and the cost model; the study's nominal run and every sensitivity case go through
:func:`evaluate`, so they differ only in what the case moves.

What a case does not move is fixed in the :class:`Context`: the block size, the device card
(its nominal window sets the read voltage, from the card's read-current bound, and the wire
resistance, from the paper's IR-drop bound), the trained network's cells and inputs, and
the pulse and bit-flip counts of training.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np

from .block_array import BlockRead, block_conductances, block_inputs, read_block, wire_resistance
from .block_circuits import Bench, size_integrator
from .block_costs import AnalogBlock, DigitalBlock, headline
from .provenance import costs

__all__ = ["Case", "Context", "Evaluation", "evaluate"]


@dataclass(frozen=True)
class Case:
    """The assumptions a headline rests on. Scales are factors on the nominal value."""

    window_scale: float = 1.0    # device window: g_on and g_off (and every cell) times this
    v_read_scale: float = 1.0    # read voltage
    adc_bits: int = 8            # ramp ADC resolution
    t_lsb: float = 1e-9          # s: clock of the input time code and of the ramp
    c_scale: float = 1.0         # integration capacitance, on the sizing rule's
    pulse_v: float = 1.2         # V: programming pulse (its width from the device law)
    write_v: float = 1.5         # V: digital ReRAM write pulse (its width from the law)
    driver_scale: float = 1.0    # line drivers' energy per pulse (ISAAC's 1-bit DAC)
    digital_scale: float = 1.0   # digital MAC and SRAM energies (Horowitz, 45 nm)
    mac_units: int = 256         # digital blocks' MAC units (the paper's)


@dataclass
class Context:
    """What every case shares: sizes, cards, trained cells and counts, the ngspice bench."""

    bench: Bench
    card: object                 # analog device card (cimspice.circuits.devices.ReramCard)
    digital_card: object         # binary card of the digital ReRAM block
    n: int
    slices: int
    input_bits: int
    weight_bits: int
    w_range: float
    max_pulses: int
    ir_drop_max: float           # V along a line at the card's read-current bound
    g_cells: np.ndarray          # S, trained cells on the nominal card
    input_values: np.ndarray     # the kernels' inputs, in [0, 1]
    pulses_per_cell: float
    flips: float
    seed: int = 0
    t_lsb: float = 1e-9          # s: the clock the array reads are solved at (others stretch them)
    _reads: dict = field(default_factory=dict)

    @property
    def v_read(self) -> float:
        """V: the nominal read voltage, where a g_on cell carries the card's i_read_max."""
        return self.card.read_voltage()

    @property
    def r_wire(self) -> float:
        """ohm per segment: the nominal bound's cell current drops ir_drop_max along a line."""
        return wire_resistance(self.n, self.card.i_read_max, self.ir_drop_max)

    def read(self, case: Case) -> BlockRead:
        """The block's time-coded read in ``case`` (memoized; a different clock stretches it)."""
        key = (case.window_scale, case.v_read_scale)
        if key not in self._reads:
            rng = np.random.default_rng(self.seed)
            G = block_conductances(self.g_cells * case.window_scale, self.n, rng)
            codes = block_inputs(self.input_values, self.n, self.input_bits, rng)
            self._reads[key] = read_block(G, codes, t_lsb=self.t_lsb, input_bits=self.input_bits,
                                          v_read=self.v_read * case.v_read_scale, v0=self.card.v0,
                                          r_wire=self.r_wire, slices=self.slices)
        return self._reads[key].stretched(case.t_lsb / self.t_lsb)


@dataclass(frozen=True)
class Evaluation:
    """A case's measured figures, cost model and headline."""

    case: Case
    read: BlockRead
    design: object
    integrator: dict
    adc: dict
    law: object
    write: dict
    sense: dict
    analog: AnalogBlock
    digital: DigitalBlock
    headline: dict


def _digital_read_energy(ctx: Context, sense: dict) -> float:
    """J per bit read: the sense amplifier, and the cell at the voltage where an on cell of
    the binary card carries twice the amplifier's reference (so the reference sits between
    the on and off currents), over the amplifier's evaluation window; on and off equally likely."""
    c = ctx.digital_card
    v = c.v0 * math.asinh(2 * sense["i_ref"] / (c.g_on * c.v0))
    i_mean = 0.5 * (c.g_on + c.g_off) * c.v0 * math.sinh(v / c.v0)
    return sense["energy"] + i_mean * v * sense["t_eval"]


def evaluate(ctx: Context, case: Case) -> Evaluation:
    """Read, size, simulate and cost the block in ``case``."""
    bench, n = ctx.bench, ctx.n
    read = ctx.read(case)
    adc = bench.ramp_adc(case.adc_bits, case.t_lsb)
    design = size_integrator(read.q_full_scale, float(read.i_peak.max()), read.t_window, adc["t_conversion"],
                             case.adc_bits, n, c_scale=case.c_scale)
    integ = bench.integrator(design)
    card = replace(ctx.card, g_on=ctx.card.g_on * case.window_scale, g_off=ctx.card.g_off * case.window_scale)
    law = bench.pulse_law(card, case.pulse_v, ctx.w_range, ctx.weight_bits)
    write = bench.digital_write(ctx.digital_card, case.write_v)
    sense = bench.sense_amp()
    driver = costs.DAC1_ENERGY * case.driver_scale
    analog = AnalogBlock(n=n, e_cell=read.energy / n ** 2, e_driver=driver, e_integrator=integ["energy"],
                         e_adc=adc["energy"], t_read=integ["t_cycle"],
                         e_pulse=0.5 * (law.energy_set + law.energy_reset), t_slot=max(law.t_set, law.t_reset),
                         pulses_per_cell=ctx.pulses_per_cell, max_pulses=ctx.max_pulses, e_program_driver=driver)
    h = costs.HOROWITZ
    digital = DigitalBlock(n=n, e_mac=(h["mult8"] + h["add32"]) * case.digital_scale,
                           e_sram_bit=h["sram_bit"] * case.digital_scale, e_read_bit=_digital_read_energy(ctx, sense),
                           t_read_bit=sense["t_cycle"], e_write_bit=write["energy"], t_write=write["t_slot"],
                           flips=ctx.flips, weight_bits=ctx.weight_bits, mac_units=case.mac_units, sense_amps=n)
    return Evaluation(case, read, design, integ, adc, law, write, sense, analog, digital, headline(analog, digital))
