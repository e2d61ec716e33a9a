"""Column sample-and-hold: a CMOS transmission gate sampling the TIA's output onto a hold
capacitor, held while one ADC per array converts the columns one after another.

Bench::

    ck  --|>o--|>o-- phi ------+-------------------+ (dummy PMOS gate)
    ckb --|>o--|>o-- phib --+  |                   |
    (ideal clock, 0..vdd)   | [mn] NMOS w_n      [mdp] PMOS w_p/2, drain = source = hold
                            |  |                   |
    vin (ideal, v_in) ------+--+--[mp] PMOS w_p ---+--- hold --- c_hold
                                                   |
                                                 [mdn] NMOS w_n/2, drain = source = hold
                                                   (gate phib)

Switch: NMOS ``mn`` (gate ``phi``) and PMOS ``mp`` (gate ``phib``) in parallel pass any level
between 0 and ``vdd``. When they open, part of their channel charge lands on ``c_hold`` (the
pedestal); half-size dummies on the hold side, shorted and clocked in antiphase, take up that
share as they turn on (the NMOS dummy's channel charge has the NMOS switch's sign, the PMOS
dummy's the PMOS switch's). ``dummy=False`` leaves them out.

Clock: two inverter chains on ``vdd`` (:func:`.wl_driver.chain_widths`, taper 4, at least two
0.2 um stages) from complementary ideal logic inputs (20 ps edges) drive ``phi`` and ``phib``
together. The chains are per column, the smallest that can be drawn; a clock tree shared by
the array's columns would replace them (its final stages grow with their load, so its cost
per column should be of the same order; not measured).

One point is one sample period: the bench sits at its DC point, switch open, with the hold
node at :data:`V_PREV` = 0 V, the previous held value (a ``.ic``). From 0 V the step is the
largest the TIA can ask (its output stays well above 0 V), so ``energy`` and ``t_acq`` are
upper bounds over any previous value in [0, v_in], and they vary smoothly with ``v_in``
(from mid-scale the step, and t_acq, would vanish at v_in = mid-scale, a kink no surrogate
fits). The clock closes the switch at :data:`T_START` for ``t_sample`` (50 % to 50 %), then
the node is held for ``t_hold`` (default 100 ns: an ADC at ISAAC's 1.28 GS/s converting 128
columns one after another, the last one held longest). The input stays at ``v_in`` through
the hold; a next read that moves it within the TIA's range leaves the NMOS switch at
Vgs <= -0.25 V and the droop unchanged (measured: -0.25 mV over 100 ns at v_in 0.55 V with
the input held or moved to 0.3 V; only an input at 0 V, Vgs = 0, leaks 6 mV).

Energy: what ``vdd`` delivers to the chains, plus ``vdd`` times the net charge the input
source delivers: the ideal source stands for the TIA's output stage, which draws the charge it
sources from ``vdd``. Net, because the little that flows back at the switch's edges cannot be
priced apart: counting only the sourced part moved the result by 9 % with ngspice's time step
(the trapezoid rule's ringing, rectified), the net charge not at all.

What limits it (TT, 27 degC, 1.1 V, measured): the dummies cut the pedestal from 8.5 mV to
4 uV at v_in = 0.55 V (0.3 mV at the range ends). The error left is droop from gate
tunnelling through the 1.1-1.3 nm oxide of the cards (igcmod, igbmod): -4 mV at v_in 0.85 V
and +3 mV at 0.2 V over 100 ns, up to 14 mV (7 LSB) at the FF corner and 1.3 V; with the
tunnelling models off the error is the pedestal alone. The hold's leakage is 2.7 fJ of the
15.8 fJ per sample at v_in 0.55 V. A larger c_hold divides the droop (tests/test_sample_hold.py).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ..validate import require_in_range
from .analog import AnalogCircuit
from .area import capacitor_area, transistor_area
from .base import TEMP, CircuitError, Measured, Measurement, Parameter, supply
from .devices import MIN_L, MIN_W, VDD
from .waveforms import crossing_time, settling_time, supply_energy
from .wl_driver import T_EDGE, chain_area, chain_lines, chain_widths, logic_inputs

ADC_BITS, FULL_SCALE = 8, 0.5          # the converter the held value is read by: 8 bits over 0.5 V
HALF_LSB = 0.5 * FULL_SCALE / 2 ** ADC_BITS  # V: 0.98 mV, the accuracy the node must settle to
V_PREV = 0.0       # V: the previous held value (see the module docstring)
T_START = 0.2e-9   # s: the bench sits at its DC point (switch open) before the clock rises
T_PEDESTAL = 0.2e-9  # s: after the clock's falling 50 %, when the pedestal is read (edges over)
TAPER = 4.0        # fan-out of the clock chains' stages
# Options: reltol as the driver benches (row_load.PRECISION); chgtol far below one LSB's
# charge on the hold capacitor (10 fF x 2 mV = 2e-17 C; ngspice's default 1e-14 C would let
# the pedestal move by millivolts).
PRECISION = ".options reltol=1e-5 vntol=1e-8 chgtol=1e-20"


class SampleHold(AnalogCircuit):
    """A column sample-and-hold on the 45 nm BSIM4 cards (transmission gate, ``c_hold``).

    Parameters
    ----------
    c_hold : float
        Hold capacitance (F). Default 10 fF, from kT/C: the sampled noise sqrt(kT/C) must stay
        below half an LSB of an 8-bit ADC over 0.5 V, 0.5 * 0.5 V / 256 = 0.977 mV, so
        C > kT / (0.977 mV)^2 = 4.3 fF at 27 degC (kT = 4.14e-21 J) and 5.8 fF at 125 degC
        (5.50e-21 J). 10 fF leaves margin for the hottest corner: 0.74 mV = 0.38 LSB there.
    w_n, w_p : float
        Widths (m) of the NMOS and PMOS switches, L = 50 nm; at least 2 MIN_W so the half-size
        dummies can be drawn. Defaults 0.2 / 0.4 um: 2.8 kOhm on at mid-range (TT, 1.1 V), a
        time constant near 30 ps on 10 fF and the switches' own ~1.5 fF: t_acq 0.2 ns there,
        1.1 ns at worst (SS, 125 degC, vdd 0.9 V), for ~1 fJ of switch-gate energy (by hand).
    t_hold : float
        Hold time (s) after the switch opens, until the end of which the error is measured.
    dummy : bool
        Half-size dummy switches on the hold side (charge-injection cancellation).
    corner : {"tt", "ff", "ss"}
    """

    name = "sample_hold"
    measurements = (
        Measurement("energy", "J", "per sample period (t_sample + t_hold from the clock edge): vdd's energy into "
                    "the clock chains plus vdd times the charge the input delivers, the hold node starting at 0 V"),
        Measurement("error", "V", "held value at the end of the hold minus v_in: pedestal plus droop"),
        Measurement("pedestal", "V", "held value 0.2 ns after the switch opens minus v_in (charge injection, "
                    "clock feed-through)"),
        Measurement("t_acq", "s", "switch gate's rising 50 % to the held node staying within 0.5 LSB of v_in "
                    "(8 bits over 0.5 V) while sampling; NaN if not settled when the switch opens"),
    )

    def __init__(self, c_hold: float = 10e-15, w_n: float = 0.2e-6, w_p: float = 0.4e-6, t_hold: float = 100e-9,
                 dummy: bool = True, corner: str = "tt"):
        super().__init__(corner)
        self.c_hold = require_in_range(c_hold, 1e-15, 10e-12, f"{self.name}: c_hold", CircuitError, unit="F")
        self.w_n = require_in_range(w_n, 2 * MIN_W, 20e-6, f"{self.name}: w_n", CircuitError, unit="m")
        self.w_p = require_in_range(w_p, 2 * MIN_W, 20e-6, f"{self.name}: w_p", CircuitError, unit="m")
        self.t_hold = require_in_range(t_hold, 1e-9, 1e-6, f"{self.name}: t_hold", CircuitError, unit="s")
        if not isinstance(dummy, bool):
            raise CircuitError(f"{self.name}: dummy must be true or false, got {dummy!r}")
        self.dummy = dummy
        # both chains alike, sized for the heavier gate line, so phi and phib switch together
        half = 0.5 if dummy else 0.0
        self.widths = chain_widths(max(self.w_n + half * self.w_p, self.w_p + half * self.w_n), TAPER)
        self.parameters = (
            Parameter("v_in", "V", 0.55, (0.2, 0.9), "input (TIA output) voltage to sample"),
            # 2 ns: above the slowest t_acq at the defaults (1.1 ns: SS, 125 degC, vdd 0.9 V, v_in 0.45 V)
            Parameter("t_sample", "s", 2e-9, (0.2e-9, 100e-9), "sampling pulse (clock 50 % to 50 %)", scale="log"),
            supply((0.9, 1.32), "supply of the clock chains (the switches' gate swing); below 0.9 V both "
                   "switches are near threshold at mid-range"),
            TEMP,
        )

    # ------------------------------------------------------------------ netlist
    def _switches(self) -> list[str]:
        lines = [f"mn in phi hold 0 nmos_vtg w={self.w_n!r} l={MIN_L!r}",
                 f"mp in phib hold vdd pmos_vtg w={self.w_p!r} l={MIN_L!r}"]
        if self.dummy:
            lines += [f"mdn hold phib hold 0 nmos_vtg w={self.w_n / 2!r} l={MIN_L!r}",
                      f"mdp hold phi hold vdd pmos_vtg w={self.w_p / 2!r} l={MIN_L!r}"]
        return lines

    def _nodeset(self) -> str:
        """The chains' DC state, clock low, as a guess: without it the operating point needed
        gmin stepping at -40 degC (7 of 81 points over corners, supplies and inputs), with it none."""
        guess = []
        for tag, out, high_first in (("a", "phi", True), ("b", "phib", False)):  # inputs low, high
            nodes = [f"{tag}{k}" for k in range(1, len(self.widths))] + [out]
            guess += [f"v({node})={VDD if (k % 2 == 1) == high_first else 0.0!r}" for k, node in enumerate(nodes, 1)]
        return ".nodeset " + " ".join(guess)

    def netlist(self) -> str:
        return "\n".join(self.netlist_header(
            f"sample-and-hold c_hold={self.c_hold:g} w_n={self.w_n:g} w_p={self.w_p:g} dummy={self.dummy} "
            f"corner={self.corner}") + [
            "vdd vdd 0 dc 1.1",
            "vin in 0 dc 0.55",
            *logic_inputs("ck", "ckb", T_START, "1e-9", "1e-6"),  # the clock: switch open at dc
            *chain_lines("a", "ck", "phi", self.widths),
            *chain_lines("b", "ckb", "phib", self.widths),
            *self._switches(),
            f"ch hold 0 {self.c_hold!r}",
            f".ic v(hold)={V_PREV!r}",
            self._nodeset(),
            PRECISION,
            ".end",
        ])

    def area(self) -> float:
        """Layout estimate (m^2): switches, dummies, both clock chains, the MIM hold capacitor."""
        sizes = [self.w_n, self.w_p] + ([self.w_n / 2, self.w_p / 2] if self.dummy else [])
        switches = sum(transistor_area(w, MIN_L) for w in sizes)
        return float(switches + 2 * chain_area(self.widths) + capacitor_area(self.c_hold))

    # ------------------------------------------------------------------ simulation
    def _apply(self, engine, p: Mapping[str, float]) -> float:
        """Set the point's sources; return the end of the hold (s)."""
        self.apply_common(engine, p)
        self.set(engine, "vin", p["v_in"])
        self.set(engine, "eck", gain=p["vdd"])
        self.set(engine, "eckb", gain=p["vdd"])
        stop = T_START + p["t_sample"] + self.t_hold
        clock = (T_START, T_EDGE, T_EDGE, p["t_sample"] - T_EDGE, 4 * stop)  # one pulse in the run
        self.set_vector(engine, "vstep", "pulse", (0.0, 1.0, *clock))
        self.set_vector(engine, "vstepb", "pulse", (1.0, 0.0, *clock))
        return stop

    def simulate(self, engine, point: Mapping[str, float]) -> Measured:
        p = self.point(point)
        stop = self._apply(engine, p)
        vdd, v_in = p["vdd"], p["v_in"]
        # the time step follows the edges and the settling by itself (local truncation error at
        # reltol 1e-5); a cap of 1/200 of the run only keeps the quiet hold sampled
        tran = engine.tran(p["t_sample"] / 100, stop, max_step=stop / 200,
                           vectors=["time", "v(hold)", "v(phi)", "i(vdd)", "i(vin)"])
        t, hold = tran["time"], tran["v(hold)"]
        stop = min(stop, float(t[-1]))  # ngspice's last point can miss the stop by a rounding error
        close = crossing_time(t, tran["v(phi)"], vdd / 2, direction="rising", after=T_START)
        opened = crossing_time(t, tran["v(phi)"], vdd / 2, direction="falling", after=close)
        on = t <= T_START + p["t_sample"]  # the logic clock starts to fall: the switch is still closed
        t_acq = settling_time(t[on], hold[on], final=v_in, tolerance=HALF_LSB, start=close)
        # vdd times the input's net charge: the charge it sources, less what comes back
        energy = supply_energy(t, vdd, -tran["i(vdd)"] - tran["i(vin)"], start=T_START, stop=stop)
        values = {"energy": energy, "error": float(hold[-1]) - v_in,
                  "pedestal": float(np.interp(opened + T_PEDESTAL, t, hold)) - v_in, "t_acq": t_acq}
        return Measured(values, "aided" if tran.aids else "ok", tuple(tran.aids))


__all__ = ["HALF_LSB", "T_START", "V_PREV", "SampleHold"]
