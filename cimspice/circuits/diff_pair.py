"""An analog activation: a resistively loaded NMOS differential pair, the classic
field-programmable analog sigmoid/tanh (the paper's analog alternative, de Moura & Carro).

The pre-activation ``x`` arrives as a differential voltage ``v_d = gain * x`` about the
common mode :data:`V_ICM`; the pair steers its tail current ``i_tail`` between the two loads,
so ``(I_1 - I_2) / i_tail`` follows tanh of ``v_d`` (exactly in weak inversion, a square-law
approximation of it in strong inversion) and ``I_1 / i_tail`` a sigmoid. It is programmed
through ``gain`` (V per function unit: which slice of the pair's curve the function's range
spans) and ``i_tail``; only sigmoid and tanh have this shape (no GELU or exp).

``y`` is read from the load voltages, ``(v(d2) - v(d1)) / (i_tail r_load)`` for tanh and
``(vdd - v(d1)) / (i_tail r_load)`` for sigmoid. The tail is an ideal current sink standing
for a mirror; its reference branch (one more ``i_tail`` from vdd) is counted in the energy.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ..validate import require_in_range
from .area import transistor_area
from .base import TEMP, Circuit, CircuitError, Measured, Measurement, Parameter
from .clocking import mos
from .devices import VDD, check_corner, corner_library, drawn_size
from .nonlinear import FUNCTIONS
from .waveforms import settling_time, supply_energy

V_ICM = 0.7       # V, input common mode
T_STEP = 0.1e-9   # s, the input steps from v_d = 0 to its value here
T_EDGE = 10e-12   # s, its edge
C_LOAD = 2e-15    # F on each output (a row driver's input, as the PWL unit's C_DRIVER)
SETTLE_TOL = 0.01  # latency: the output within 1 % of full scale of its final value
SHAPES = ("sigmoid", "tanh")


class DiffPairActivation(Circuit):
    """A differential pair computing ``function`` (sigmoid or tanh) of ``x``.

    Sizes: ``gain`` (V of v_d per unit of x), ``i_tail`` (A), ``r_load`` (ohm), input devices
    ``w`` x ``l`` (m), ``t_clk`` (s, the evaluation period its energy is counted over: one
    evaluation per clock, as the PWL unit's). Parameters: ``x``, ``temp``. Measurements:
    ``y``, ``energy`` (J per evaluation) and ``latency`` (s, input step to the output within
    1 % of full scale).
    """

    name = "diff_pair_activation"
    loaded_temperature = TEMP.default  # the netlist sets none
    measurements = (Measurement("y", "1", "activation read from the load voltages"),
                    Measurement("energy", "J", "vdd energy over one evaluation period, mirror reference included"),
                    Measurement("latency", "s", "input step to the output within 1 % of full scale"))

    def __init__(self, function: str = "tanh", gain: float = 0.05, i_tail: float = 10e-6, r_load: float = 30e3,
                 w: float = 1e-6, l: float = 100e-9, corner: str = "tt", t_clk: float = 2e-9):
        if function not in SHAPES:
            raise CircuitError(f"{self.name}: function {function!r} is not one of {', '.join(SHAPES)} (a "
                               "differential pair has only their shape)")
        self.function, self.corner = function, check_corner(corner, self.name)
        self.gain = require_in_range(gain, 1e-3, 1.0, f"{self.name}: gain", CircuitError, unit="V")
        self.i_tail = require_in_range(i_tail, 1e-7, 1e-3, f"{self.name}: i_tail", CircuitError, unit="A")
        self.r_load = require_in_range(r_load, 1e2, 1e6, f"{self.name}: r_load", CircuitError, unit="ohm")
        if self.i_tail * self.r_load > 0.5:
            raise CircuitError(f"{self.name}: i_tail * r_load = {self.i_tail * self.r_load:.2f} V leaves the pair "
                               "out of saturation (at most 0.5 V)")
        self.t_clk = require_in_range(t_clk, 0.5e-9, 100e-9, f"{self.name}: t_clk", CircuitError, unit="s")
        self.w, self.l = drawn_size(w, l, self.name)
        lo, hi = FUNCTIONS[function][1]
        self.parameters = (Parameter("x", "1", 0.0, (lo, hi), f"pre-activation of {function}"), TEMP)

    def netlist(self) -> str:
        return "\n".join([
            f"differential-pair {self.function}", corner_library(self.corner), f"vdd vdd 0 dc {VDD!r}",
            f"vcm cm 0 dc {V_ICM!r}", ".param vdx=0",
            f"bd d 0 v={{vdx}}*min(max((time-{T_STEP!r})/{T_EDGE!r},0),1)",
            "einp inp cm d 0 0.5", "einn inn cm d 0 -0.5",
            mos("m1", "d1", "inp", "tail", "0", "nmos_vtg", self.w, self.l),
            mos("m2", "d2", "inn", "tail", "0", "nmos_vtg", self.w, self.l),
            f"itail tail 0 dc {self.i_tail!r}", f"r1 vdd d1 {self.r_load!r}", f"r2 vdd d2 {self.r_load!r}",
            f"c1 d1 0 {C_LOAD!r}", f"c2 d2 0 {C_LOAD!r}", ".end"])

    def output(self, v1, v2) -> np.ndarray:
        """The activation from the load voltages (V)."""
        full = self.i_tail * self.r_load
        if self.function == "tanh":
            return (np.asarray(v2) - np.asarray(v1)) / full
        return (VDD - np.asarray(v1)) / full

    def simulate(self, engine, point: Mapping[str, float]) -> Measured:
        p = self.point(point)
        self.apply_temperature(engine, p["temp"])
        engine.set_params(vdx=float(self.gain * p["x"]))
        stop = T_STEP + self.t_clk
        r = engine.tran(5e-12, stop, max_step=20e-12, vectors=["time", "v(d1)", "v(d2)", "i(vdd)"])
        t, y = r["time"], self.output(r["v(d1)"], r["v(d2)"])
        latency = settling_time(t, y, tolerance=SETTLE_TOL * (2.0 if self.function == "tanh" else 1.0),
                                start=T_STEP)
        energy = supply_energy(t, VDD, -r["i(vdd)"], start=T_STEP, stop=stop) + VDD * self.i_tail * self.t_clk
        return Measured(dict(y=float(y[-1]), energy=energy, latency=latency), r.status, r.aids)

    def area(self) -> float:
        """Input pair and a mirror pair for the tail (m^2); the load resistors not counted."""
        return 4 * transistor_area(self.w, self.l)
