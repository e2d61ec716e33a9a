"""Charge integrator for pulse-width-coded rows: the op-amp of ``netlists/opamp.lib``
with ``c_int`` in feedback and a transmission-gate reset (``netlists/integrator.lib``).

One transient per point, one integration cycle::

    rst   ‾‾‾‾‾‾‾‾|______________________________________|‾‾‾‾‾‾‾‾‾‾
    i_in          :       |‾‾‾‾ t_pulse ‾‾‾‾|              :
    time  0   T_RELEASE  t_start      t_start + t_window   t_sample     t_end
                (reset    (pulse      (window closes;       (sample;     (cycle
                 opens)    starts)     hold t_hold)          reset)       ends)

``v_out`` is sampled at ``t_sample``; the ideal value is ``v_ref - i_in * t_pulse / c_int``
(the pulse's edges are shaped so that its time integral is exactly ``t_pulse``).
``pedestal`` is the output just before the pulse, minus ``v_ref``: the op-amp offset plus
the reset switch's charge injection. ``energy`` is the supply energy from ``T_RELEASE`` to
``t_end``: integrate, hold and reset.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ..paths import netlist_path
from ..validate import require_positive
from .analog import AnalogCircuit, dvth_parameters, subckt_defaults
from .area import capacitor_area, transistor_area
from .base import CircuitError, Measured, Measurement, Parameter
from .opamp import (
    BIT_LINE_PARAMETERS,
    OPAMP_SIZES,
    PRECISION,
    check_readout,
    opamp_area,
    opamp_nodeset,
    opamp_transistors,
)
from .waveforms import settling_time, supply_energy

T_RELEASE = 1e-9   # s: the bench sits reset at its DC point, then the switch opens
T_SETUP = 1e-9     # s: switch charge injection settles before the input pulse starts
T_EDGE = 50e-12    # s: edges of the reset clock and of the input pulse
# s: reset phase observed after sampling. Closing the switch on a full-scale output pulls
# the bit line ~0.17 V down and the op-amp slews back (~0.2 V/ns, its tail current over
# cc): 4.6 ns to 0.5 LSB at 6 bits (TT). The window leaves margin, so that its last
# sample is a settled reference for reset_time.
T_RESET = 6e-9
_IBIAS = "i.xint.xop.ibias"  # the op-amp's bias reference inside the bench's integrator


class Integrator(AnalogCircuit):
    """A bit-line charge integrator on the shipped 45 nm BSIM4 cards.

    Parameters
    ----------
    c_int : float
        Integration capacitance (F). Default 1 pF.
    t_window : float
        Longest pulse (s): the integration window. Default 5 ns.
    i_full_scale : float
        Full-scale column current (A); with ``t_window`` and ``c_int`` it sets the
        full-scale swing ``i_full_scale * t_window / c_int`` and, with ``adc_bits``, the
        LSB the settling and reset times are measured against.
    adc_bits : int
        Resolution of the ADC reading the output.
    c_load : float
        Capacitance at the output (F). Default 100 fF.
    t_hold : float
        Time (s) from the end of the window to the sample. Default 3 ns: a full-scale
        integration is then within 0.25 mV of its final value (1.5 mV after 2 ns, TT): the
        bit line, pushed ~65 mV above v_ref while the output ramps, returns slowly.
    corner : {"tt", "ff", "ss"}
    t_reset : float
        Reset phase observed after the sample (s). Default :data:`T_RESET`, 6 ns, for the
        default design; an op-amp biased lower slews back slower and needs longer.
    ib : float, optional
        Bias reference current (A) of the op-amp, which its tail (4x) and output sink (20x)
        mirror. Default the op-amp's design, 10 uA (netlists/opamp.lib), sized for 100 uA
        columns: a design integrating a smaller column current can scale it down (its
        static power scales with it). Applied to the loaded bench with ``alter``.
    """

    name = "integrator"
    measurements = (
        Measurement("v_out", "V", "output sampled t_hold after the integration window"),
        Measurement("error", "V", "v_out minus the ideal v_ref - i_in * t_pulse / c_int"),
        Measurement("pedestal", "V", "output after the reset opens, before the pulse, minus v_ref"),
        Measurement("v_in_peak", "V", "largest |bit-line voltage - v_ref| from the pulse to the "
                    "sample (dynamic virtual-ground error)"),
        Measurement("settling_time", "s", "from the end of the pulse until the output stays "
                    "within 0.5 LSB of its sampled value"),
        Measurement("reset_time", "s", "from the reset until the output stays within 0.5 LSB of "
                    "its reset level"),
        Measurement("energy", "J", "supply energy of one cycle: integrate, hold, reset"),
    )

    def __init__(self, c_int: float = 1e-12, t_window: float = 5e-9, i_full_scale: float = 100e-6,
                 adc_bits: int = 6, c_load: float = 100e-15, t_hold: float = 3e-9, corner: str = "tt",
                 t_reset: float = T_RESET, ib: float | None = None):
        super().__init__(corner)
        self.t_reset = require_positive(t_reset, f"{self.name}: t_reset", CircuitError, unit="s")
        self.ib = OPAMP_SIZES["ib"] if ib is None else require_positive(ib, f"{self.name}: ib", CircuitError,
                                                                        unit="A")
        self.c_int = require_positive(c_int, f"{self.name}: c_int", CircuitError, unit="F")
        self.t_window = require_positive(t_window, f"{self.name}: t_window", CircuitError, unit="s")
        self.t_hold = require_positive(t_hold, f"{self.name}: t_hold", CircuitError, unit="s")
        self.c_load, self.i_full_scale, self.adc_bits = check_readout(self.name, c_load, i_full_scale, adc_bits)
        if t_window < 2 * T_EDGE:
            raise CircuitError(f"{self.name}: t_window={t_window:g} s is shorter than two {T_EDGE:g} s edges")
        self.transistors = opamp_transistors("xint.xop", OPAMP_SIZES)
        self.parameters = (
            Parameter("i_in", "A", 0.5 * i_full_scale, (-2 * i_full_scale, 2 * i_full_scale),
                      "column current flowing into the bit line during the pulse"),
            Parameter("t_pulse", "s", 0.5 * t_window, (0.0, t_window), "input pulse width"),
        ) + BIT_LINE_PARAMETERS + dvth_parameters(self.transistors)

    @property
    def lsb(self) -> float:
        """Output LSB (V): full-scale swing i_full_scale * t_window / c_int over 2**adc_bits."""
        return self.i_full_scale * self.t_window / self.c_int / 2 ** self.adc_bits

    @property
    def t_start(self) -> float:
        return T_RELEASE + T_EDGE + T_SETUP

    @property
    def t_sample(self) -> float:
        return self.t_start + self.t_window + self.t_hold

    def loaded_state(self) -> dict:
        # the netlist holds the op-amp's own bias: only a different ib is altered in
        return {**super().loaded_state(), (_IBIAS, ""): OPAMP_SIZES["ib"]}

    def area(self) -> float:
        """Layout estimate (m^2): the op-amp, c_int and the reset transmission gate."""
        sw = subckt_defaults("integrator.lib", "integrator")
        switch = transistor_area(sw["w_swn"], sw["l_sw"]) + transistor_area(sw["w_swp"], sw["l_sw"])
        return opamp_area(OPAMP_SIZES) + capacitor_area(self.c_int) + switch

    def netlist(self) -> str:
        low = self.t_sample - T_RELEASE - T_EDGE  # reset clock low from T_RELEASE to t_sample
        return "\n".join(self.netlist_header(f"integrator c_int={self.c_int:g} corner={self.corner}") + [
            f'.include "{netlist_path("integrator.lib")}"',
            "vdd vdd 0 dc 1.1",
            "vref ref 0 dc 0.75",
            f"xint bl out ref rst rstb vdd 0 integrator c_int={self.c_int!r}",
            "cbl bl 0 50f",
            f"cload out 0 {self.c_load!r}",
            # the reset clock swings rail to rail whatever vdd is
            f"vclk clk 0 dc 1 pulse(1 0 {T_RELEASE!r} {T_EDGE!r} {T_EDGE!r} {low!r} 1)",
            "brst rst 0 v = v(vdd) * v(clk)",
            "brstb rstb 0 v = v(vdd) * (1 - v(clk))",
            f"vpw pw 0 dc 0 pulse(0 1 {self.t_start!r} {T_EDGE!r} {T_EDGE!r} {self.t_window / 2!r} 1)",
            "gin 0 bl pw 0 0",
            ".nodeset v(bl)=0.75 v(out)=0.75",
            opamp_nodeset("xint.xop"),
            PRECISION,
            ".end",
        ])

    def _pulse(self, t_pulse: float) -> tuple[float, ...]:
        # trapezoid of area t_pulse: rise + flat + fall has area flat + edge. The flat part
        # stays positive: ngspice reads a zero pulse width as "until the end of the run".
        edge = min(T_EDGE, 0.5 * t_pulse)
        return (0.0, 1.0, self.t_start, edge, edge, t_pulse - edge, 1.0)

    def simulate(self, engine, point: Mapping[str, float]) -> Measured:
        p = self.point(point)
        self.apply_common(engine, p)
        self.set(engine, _IBIAS, self.ib)
        self.set(engine, "vref", p["v_ref"])
        self.set(engine, "cbl", p["c_bl"])
        i_in, t_pulse = p["i_in"], p["t_pulse"]
        # a zero-width pulse carries no charge: switch the source off instead
        self.set(engine, "gin", gain=i_in if t_pulse > 0 else 0.0)
        if t_pulse > 0:
            self.set_vector(engine, "vpw", "pulse", self._pulse(t_pulse))
        t_end = self.t_sample + self.t_reset
        tran = engine.tran(min(25e-12, self.t_window / 100), t_end, vectors=["time", "v(out)", "v(bl)", "i(vdd)"])
        t, v = tran["time"], tran["v(out)"]
        sample = float(np.interp(self.t_sample, t, v))
        before = float(np.interp(self.t_start, t, v))
        hold = t <= self.t_sample
        tol = 0.5 * self.lsb
        settle = settling_time(t[hold], v[hold], final=sample, tolerance=tol, start=self.t_start + t_pulse)
        reset = settling_time(t, v, tolerance=tol, start=self.t_sample)
        values = {
            "v_out": sample,
            "error": sample - (p["v_ref"] - i_in * t_pulse / self.c_int),
            "pedestal": before - p["v_ref"],
            "v_in_peak": float(np.max(np.abs(tran["v(bl)"][(t >= self.t_start) & hold] - p["v_ref"]))),
            "settling_time": settle,
            "reset_time": reset,
            "energy": supply_energy(t, p["vdd"], -tran["i(vdd)"], start=T_RELEASE, stop=min(t_end, t[-1])),
        }
        return Measured(values, "aided" if tran.aids else "ok", tran.aids)


def nonlinearity(charge, v_out) -> float:
    """Integral nonlinearity of a transfer curve: the largest deviation of ``v_out`` (V)
    from its least-squares straight line in ``charge`` (C), as a fraction of the fitted
    line's span over the points. Gain and offset errors are removed by the fit."""
    q = np.asarray(charge, dtype=np.float64)
    v = np.asarray(v_out, dtype=np.float64)
    if q.shape != v.shape or q.ndim != 1 or q.size < 3:
        raise CircuitError(f"nonlinearity: need two equal 1-D arrays of >= 3 points, got {q.shape} and {v.shape}")
    slope, offset = np.polyfit(q, v, 1)
    span = abs(slope) * (q.max() - q.min())
    if span == 0:
        raise CircuitError("nonlinearity: the fitted line is flat (all charges equal or no response)")
    return float(np.max(np.abs(v - (slope * q + offset))) / span)


__all__ = ["Integrator", "T_EDGE", "T_RELEASE", "T_RESET", "T_SETUP", "nonlinearity"]
