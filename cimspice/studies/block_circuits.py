"""ngspice characterization for the training-block study, at the designs the block's own
numbers call for, memoized per design so that the sensitivity cases reuse what they share.

- the integrator sized for the column charge and peak current the simulated array carries
  (:func:`size_integrator`), its full-scale cycle (integrate, hold through the conversion,
  reset) simulated at that size;
- the ramp ADC column at the study's resolution and clock (beyond the circuit's 8 bits:
  extrapolated from the two highest resolutions it simulates, and flagged);
- the programming pulse of the analog device card, its flat top chosen from the device law
  so that one SET pulse at the reference state moves the weight by one LSB of the weight
  resolution (:class:`cimspice.circuits.pulse.PulseBench`);
- the digital ReRAM block's bit read (current sense amplifier) and bit write (a pulse that
  switches a cell of the shipped binary card, its length from the law).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..circuits import CurrentSenseAmplifier, Integrator, RampADC
from ..circuits.integrator import T_RELEASE, T_RESET
from ..circuits.opamp import OPAMP_SIZES
from ..circuits.pulse import PulseBench
from ..circuits.sense_amp import T_CLK, T_EDGE, T_PRECHARGE
from .analog_training import PulseLaw, reference

__all__ = ["Bench", "IntegratorDesign", "size_integrator"]

# V: output swing of the integrator below v_ref, the op-amp's range (netlists/integrator.lib:
# the shipped design integrates 100 uA for 5 ns on 1 pF, 0.5 V)
V_SWING = 0.5
# The shipped integrator's design point, for which the op-amp's bias (netlists/opamp.lib,
# ib = 10 uA: tail 40 uA, output sink 200 uA) was chosen: 100 uA columns ramping the output
# at 100 uA / 1 pF = 100 V/us
DESIGN_CURRENT = 100e-6
DESIGN_SLOPE = 100e-6 / 1e-12
# F per wire segment of the array (docs/crossbar.md, "Read latency and energy of the array alone")
C_SEGMENT = 0.1e-15
# A digital bit is written when the law has moved its state 95 % of the way (SET from g_off,
# RESET from g_on): -ln(0.05)
A_SWITCH = -math.log(0.05)


@dataclass(frozen=True)
class IntegratorDesign:
    """An integrator sized for a column: ``c_int`` (F), window and hold (s), full-scale
    current ``q_fs / t_window`` and peak current (A), op-amp bias ``ib`` (A), reset phase (s),
    ADC resolution, bit-line capacitance (F)."""

    c_int: float
    t_window: float
    t_hold: float
    i_full_scale: float
    i_peak: float
    ib: float
    t_reset: float
    adc_bits: int
    c_bl: float

    def circuit(self) -> Integrator:
        return Integrator(c_int=self.c_int, t_window=self.t_window, i_full_scale=self.i_full_scale,
                          adc_bits=self.adc_bits, t_hold=self.t_hold, t_reset=self.t_reset, ib=self.ib)


def size_integrator(q_fs: float, i_peak: float, t_window: float, t_hold: float, adc_bits: int, rows: int,
                    c_scale: float = 1.0) -> IntegratorDesign:
    """Size the integrator of a column whose largest charge per read is ``q_fs`` (C) and
    largest current ``i_peak`` (A):

    - ``c_int = q_fs / V_SWING`` (times ``c_scale``, the sensitivity's knob): the largest
      charge uses the op-amp's output range;
    - the op-amp's bias scaled from its design point by the larger of the current ratio (its
      output sink must take the column current) and the output slope ratio ``i_peak / c_int``
      (its slew rate must follow the ramp);
    - the reset phase: twice the time the op-amp's tail current slews ``V_SWING`` on its
      Miller capacitor, at least the shipped 6 ns;
    - the output held ``t_hold`` after the window (through the ADC's conversion).
    """
    c_int = c_scale * q_fs / V_SWING
    ib = OPAMP_SIZES["ib"] * max(i_peak / DESIGN_CURRENT, i_peak / c_int / DESIGN_SLOPE)
    tail = ib * OPAMP_SIZES["w_tail"] / OPAMP_SIZES["w_b"]
    t_reset = max(T_RESET, 2 * V_SWING * OPAMP_SIZES["cc"] / tail)
    return IntegratorDesign(c_int, t_window, t_hold, q_fs / t_window, i_peak, ib, t_reset, adc_bits,
                            rows * C_SEGMENT)


class Bench:
    """The study's ngspice runs on one engine, each design simulated once."""

    def __init__(self, engine):
        self.engine = engine
        self._memo: dict = {}

    def _once(self, key, run):
        if key not in self._memo:
            self._memo[key] = run()
        return self._memo[key]

    # ----------------------------------------------------------------- column read-out
    def integrator(self, d: IntegratorDesign) -> dict:
        """The sized integrator at full scale: ``q_fs`` at the mean current over the window
        (energy of the cycle, error, settling, reset) and at the peak current's slope (error)."""
        return self._once(("integrator", d), lambda: self._integrator(d))

    def _integrator(self, d: IntegratorDesign) -> dict:
        circuit = d.circuit()
        circuit.load(self.engine)
        full = circuit.simulate(self.engine, {"i_in": d.i_full_scale, "t_pulse": d.t_window, "c_bl": d.c_bl}).values
        i_fast = min(d.i_peak, 2 * d.i_full_scale)  # the bench's bound on i_in
        fast = circuit.simulate(self.engine, {"i_in": i_fast, "t_pulse": d.i_full_scale * d.t_window / i_fast,
                                              "c_bl": d.c_bl}).values
        lsb = circuit.lsb
        return {**full, "lsb": lsb, "gain_error_lsb": abs(full["error"] - full["pedestal"]) / lsb,
                "peak_error_lsb": abs(fast["error"] - fast["pedestal"]) / lsb, "i_fast": i_fast,
                "t_cycle": circuit.t_sample - T_RELEASE + full["reset_time"], "area": circuit.area()}

    def ramp_adc(self, bits: int, t_clk: float) -> dict:
        """Energy (J) and time (s) per column conversion at ``bits`` and clock ``t_clk``;
        above the circuit's 8 bits, ``e(N) = a 2**N + b`` through its 7- and 8-bit results."""
        top = RampADC.max_bits
        if bits <= top:
            return self._once(("adc", bits, t_clk), lambda: self._ramp_adc(bits, t_clk))
        lo, hi = self.ramp_adc(top - 1, t_clk), self.ramp_adc(top, t_clk)
        a = (hi["energy"] - lo["energy"]) / 2 ** (top - 1)
        return {"energy": hi["energy"] + a * (2 ** bits - 2 ** top), "t_conversion": 2 ** bits * t_clk,
                "area": hi["area"], "extrapolated": True, "codes_ok": True}

    def _ramp_adc(self, bits: int, t_clk: float) -> dict:
        adc = RampADC(bits, n_columns=2)
        p = {k.name: k.default for k in adc.parameters}
        frac = np.array([0.45, 0.85])
        conv = adc.convert(self.engine, frac * (p["v_ref_hi"] - p["v_ref_lo"]) + p["v_ref_lo"], {"t_clk": t_clk})
        ideal = np.floor(frac * 2 ** bits)
        return {"energy": float(conv.energy_per_conversion), "t_conversion": float(conv.t_conversion),
                "area": adc.area(), "extrapolated": False, "codes_ok": bool(np.all(np.abs(conv.codes - ideal) <= 1))}

    # ------------------------------------------------------------------ programming
    def pulse_law(self, card, v: float, w_range: float, weight_bits: int) -> PulseLaw:
        """SET (+v) and RESET (-v) pulses on a cell of ``card`` at the reference state, the
        flat top found from the law so that one SET pulse there moves the weight by one LSB
        of ``weight_bits`` over ``[-w_range, w_range]``; RESET uses the same pulse."""
        return self._once(("law", card, v, w_range, weight_bits), lambda: self._pulse_law(card, v, w_range,
                                                                                         weight_bits))

    def _pulse_law(self, card, v, w_range, weight_bits) -> PulseLaw:
        g_ref, g_unit = reference(card, w_range)
        lnr = math.log(card.g_on / card.g_off)
        w_ref = math.log(g_ref / card.g_off) / lnr
        w_lsb = math.log((g_ref + 2 * w_range / 2 ** weight_bits * g_unit) / card.g_off) / lnr
        bench = PulseBench(card)
        s = bench.width_for(self.engine, v, math.log((1 - w_ref) / (1 - w_lsb)), w_ref)
        r = bench.response(self.engine, -v, s.t_pulse, w_ref)
        return PulseLaw(s.a, r.a, s.energy, r.energy, s.duration, r.duration)

    def digital_write(self, card, v: float) -> dict:
        """A bit write on ``card``: SET from g_off and RESET from g_on at ``v`` (V), the
        flat top from the law for a 95 % move (:data:`A_SWITCH`); energy (J) and duration
        (s) per written bit (the mean of the two), the peak current (A)."""
        return self._once(("write", card, v), lambda: self._digital_write(card, v))

    def _digital_write(self, card, v) -> dict:
        bench = PulseBench(card)
        s = bench.width_for(self.engine, v, A_SWITCH, 0.0)
        r = bench.width_for(self.engine, -v, A_SWITCH, 1.0)
        return {"energy": 0.5 * (s.energy + r.energy), "t_slot": max(s.duration, r.duration),
                "i_peak": max(s.i_peak, r.i_peak), "t_pulse": s.t_pulse}

    # -------------------------------------------------------------- digital ReRAM read
    def sense_amp(self) -> dict:
        """Energy (J) and cycle time (s) of one bit read by the current sense amplifier at its
        design point (10 uA reference)."""
        return self._once("sense_amp", self._sense_amp)

    def _sense_amp(self) -> dict:
        sa = CurrentSenseAmplifier(measure_offset=False)
        sa.load(self.engine)
        p = {k.name: k.default for k in sa.parameters}
        m = sa.simulate(self.engine, {}).values
        t_cycle = T_CLK + 2 * T_EDGE + sa.eval_window(p["i_bl"], p["i_ref"]) + T_PRECHARGE
        return {"energy": float(m["energy"]), "t_cycle": t_cycle, "t_eval": sa.eval_window(p["i_bl"], p["i_ref"]),
                "i_ref": p["i_ref"], "area": sa.area()}
