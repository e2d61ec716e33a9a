"""Multi-level row DAC: an R-2R ladder between two reference rails, PMOS switches, and the
project's two-stage op-amp (``netlists/opamp.lib``) as a unity-gain buffer driving the row.

Bench (N = ``dac_bits``; :mod:`.row_load` for the row and the rails)::

    leg i (bit i):   vhi = v_ref + v_read --[PMOS top_i]--+   (on for bit i = 1)
                                                          +-- s_i --2R-- a_i
                     vlo = v_ref ---------[PMOS bot_i]----+   (on for bit i = 0)

    ladder:   vlo --[PMOS, on]-- 2R -- a_0 --R-- a_1 --R-- ... --R-- a_{N-1}

    buffer:   a_{N-1} --> inp |\
                              |  >--+-- row0 ~~~ row ~~~ rowN   (cells -> vg)
                     +--> inn |/    |
                     +--------------+

Why this topology. A row is a resistive load (its cells conduct to the bit lines) whose
conductance changes with the stored weights (0.06-6.4 mS on the shipped 64-column array),
so an unbuffered DAC would divide its output by a weight-dependent amount; a capacitive DAC
could not hold a level against that current at all. A unity-gain buffer's closed-loop
output resistance (1.5 ohm at full scale on the mid-window row, TT) makes the level nearly
independent of the load. The buffer is the project's op-amp, whose NMOS input pair needs a
common mode of 0.55 V or more, and whose PMOS output device needs 0.3 V below vdd to source
the row's current: hence levels between ``v_ref`` >= 0.55 V and ``vdd - 0.3`` V, where the
sense circuits put the bit lines anyway. The ladder sees only the op-amp's gate, so its
accuracy depends on the resistor ratios and on the switches' on-resistance against 2R.
Both switches of a leg are PMOS (|Vgs| = v_ref or v_ref + v_read with their gates at 0 V;
an NMOS to a 0.6 V rail would have 0.5 V of gate drive, at 0.75 V only 0.35 V); the
termination's 2R has the same switch, always on.

The bit inputs are ideal logic levels (a register's outputs) stepping from code 0 to
``code`` at :data:`T_START`, each through two inverters on ``vdd`` that drive the top and
bottom switch gates: their energy counts. A conversion is that step from the idle row
(``v_ref``) to the code's level; its energy is integrated over ``t_conv``.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ..paths import netlist_path
from ..validate import require_in_range, require_int
from .analog import AnalogCircuit
from .area import resistor_area, transistor_area
from .base import TEMP, CircuitError, Measured, Measurement, Parameter
from .clocking import mos
from .opamp import OPAMP_VDD, opamp_area, opamp_nodeset, opamp_sizes, size_arguments
from .row_load import (
    FAR,
    NEAR,
    PRECISION,
    ROW_PARAMETERS,
    ROW_SEGMENTS,
    apply_row,
    cell_power,
    energies,
    row_lines,
    supplies,
    tran_vectors,
)
from .waveforms import settling_time
from .wl_driver import MIN_W, T_EDGE, T_START

MAX_BITS = 10
# V: the buffer's output (row) may not come closer than this to vdd. Its PMOS output device
# sources up to v_read * g_row (1.3 mA at 0.2 V and 6.4 mS) and must stay saturated: with
# the top level at 0.95 V (0.15 V from vdd) an 8-bit DAC read 5 LSB low at full scale on the
# mid-window row (3.2 mS) and 31 LSB low at 6.4 mS; at 0.8 V, 0.5 and 1.6 LSB (TT, measured).
OUTPUT_HEADROOM = 0.3
V_REF_MIN = 0.55   # V: the op-amp's NMOS input pair needs this common mode (docs/sense.md)
NODESET_LEVEL = 0.7  # V: mid-range output at the defaults (v_ref 0.6 V, v_read 0.2 V)


class RowDAC(AnalogCircuit):
    """A ``dac_bits``-bit R-2R row DAC with an op-amp buffer on the 45 nm BSIM4 cards.

    Parameters
    ----------
    dac_bits : int
        Resolution, 1..10 bits.
    corner : {"tt", "ff", "ss"}
    r_unit : float
        The ladder's R (ohm); legs are 2R. Default 20 kOhm: the ladder settles through R
        into the op-amp's input in well under a nanosecond, its static current
        (v_read / 3R at most) is a few uA, and the 2R legs dwarf the switches.
    w_switch : float
        Width (m) of every ladder switch (PMOS, L = 50 nm). Default 16 um: 36 ohm on from
        a 0.8 V rail, 81 ohm from 0.6 V (TT): the top and bottom switches of a leg differ
        by their gate drive, 0.11 % of 2R, which is the DAC's DNL at its major carry
        (0.5 LSB at 10 bits; 1.0 LSB with 8 um switches, measured).
    opamp : dict, optional
        Op-amp sizes overriding netlists/opamp.lib (names as there: ``w_cs``, ``ib``...).
    """

    name = "dac"
    measurements = (
        Measurement("v_out", "V", "DC output (the row's near end) at code"),
        Measurement("v_error", "V", "v_out minus the ideal level v_ref + code * v_read / 2**dac_bits"),
        Measurement("error_lsb", "LSB", "v_error in LSB (v_read / 2**dac_bits)"),
        Measurement("v_far", "V", "DC far-end voltage of the row at code"),
        Measurement("settling_time", "s", "code step (50 %) to the far end staying within 0.5 LSB of its DC level"),
        Measurement("energy", "J", "energy from vdd and both ladder rails over t_conv from the code step"),
        Measurement("energy_cells", "J", "part of it dissipated in the cells (sum g_k (v_k - v_ref)^2 dt)"),
        Measurement("energy_driver", "J", "energy - energy_cells: the DAC's own cost per conversion"),
        Measurement("power", "W", "static supply power at code (op-amp bias, ladder, row current)"),
        Measurement("power_driver", "W", "power minus the cells' static dissipation (sum g_k (v_k - v_ref)^2): "
                    "the DAC's own static cost at code, what holding the level longer than t_conv adds per second"),
    )

    def __init__(self, dac_bits: int = 4, corner: str = "tt", r_unit: float = 20e3, w_switch: float = 16e-6,
                 opamp: Mapping[str, float] | None = None):
        super().__init__(corner)
        self.dac_bits = require_int(dac_bits, f"{self.name}: dac_bits", CircuitError, lo=1, hi=MAX_BITS)
        self.r_unit = require_in_range(r_unit, 1e3, 1e6, f"{self.name}: r_unit", CircuitError, unit="ohm")
        self.w_switch = require_in_range(w_switch, 0.5e-6, 100e-6, f"{self.name}: w_switch", CircuitError, unit="m")
        self.sizes = opamp_sizes(opamp, where=self.name)
        top = 2 ** self.dac_bits - 1
        self.parameters = (
            Parameter("code", "1", float(top // 2 + 1), (0.0, float(top)), "input code (an integer)"),
            Parameter("v_read", "V", 0.2, (0.05, 0.3), "full-scale range: code 2**dac_bits would be v_ref + v_read"),
            Parameter("v_ref", "V", 0.6, (V_REF_MIN, 0.9), "idle level of the row: the bit lines' virtual ground"),
            Parameter("t_conv", "s", 10e-9, (1e-9, 100e-9), "conversion window the energy is integrated over",
                      scale="log"),
            OPAMP_VDD,
            TEMP,
        ) + ROW_PARAMETERS

    @property
    def _driver_width(self) -> float:
        return max(MIN_W, self.w_switch / 12)  # fan-out 4 into a switch gate (inverter input 3x NMOS)

    # ------------------------------------------------------------------ netlist
    def _bit(self, i: int) -> list[str]:
        w, wd, r2 = self.w_switch, self._driver_width, 2 * self.r_unit
        return [
            f"eb{i} d{i} 0 step 0 0",
            mos(f"mit{i}n", f"gt{i}", f"d{i}", "0", "0", "nmos_vtg", wd),     # gt = NOT bit: top switch gate
            mos(f"mit{i}p", f"gt{i}", f"d{i}", "vdd", "vdd", "pmos_vtg", 2 * wd),
            mos(f"mib{i}n", f"gb{i}", f"gt{i}", "0", "0", "nmos_vtg", wd),    # gb = bit: bottom switch gate
            mos(f"mib{i}p", f"gb{i}", f"gt{i}", "vdd", "vdd", "pmos_vtg", 2 * wd),
            mos(f"mst{i}", f"s{i}", f"gt{i}", "vhi", "vdd", "pmos_vtg", w),
            mos(f"msb{i}", f"s{i}", f"gb{i}", "vlo", "vdd", "pmos_vtg", w),
            f"rl{i} s{i} a{i} {r2!r}",
        ] + ([f"rs{i} a{i} a{i + 1} {self.r_unit!r}"] if i < self.dac_bits - 1 else [])

    def netlist(self) -> str:
        n = self.dac_bits
        lines = self.netlist_header(f"R-2R row DAC bits={n} r_unit={self.r_unit:g} w_switch={self.w_switch:g} "
                                    f"corner={self.corner}") + [
            f'.include "{netlist_path("opamp.lib")}"',
            # a unit step (dc: the state an operating point sees) gates every bit's level
            f"vstep step 0 dc 0 pulse(0 1 {T_START!r} {T_EDGE!r} {T_EDGE!r} 1 2)",
        ]
        for i in range(n):
            lines += self._bit(i)
        lines += [
            mos("mterm", "st", "0", "vlo", "vdd", "pmos_vtg", self.w_switch),   # matches the legs' switches
            f"rterm st a0 {2 * self.r_unit!r}",
            f"xbuf a{n - 1} {NEAR} {NEAR} vdd 0 opamp {size_arguments(self.sizes)}",
            *row_lines(),
            opamp_nodeset("xbuf"),
            # the buffer's loop started from all-zero nodes needed gmin stepping at one code
            # in five (8 bits); a guess at the middle of the default range removes it
            f".nodeset v({NEAR})={NODESET_LEVEL!r} v(a{n - 1})={NODESET_LEVEL!r}",
            PRECISION,
            ".end",
        ]
        return "\n".join(lines)

    def area(self) -> float:
        """Layout estimate (m^2): the op-amp, the ladder's resistors (N legs and the
        termination at 2R, N - 1 at R), its 2N + 1 switches and 2N gate inverters."""
        n, wd = self.dac_bits, self._driver_width
        resistors = (n + 1) * resistor_area(2 * self.r_unit) + (n - 1) * resistor_area(self.r_unit)
        switches = (2 * n + 1) * transistor_area(self.w_switch, 50e-9)
        drivers = 2 * n * (transistor_area(wd, 50e-9) + transistor_area(2 * wd, 50e-9))
        return float(opamp_area(self.sizes) + resistors + switches + drivers)

    # ------------------------------------------------------------------ simulation
    def _point(self, point: Mapping[str, float]) -> dict[str, float]:
        p = self.point(point)
        if p["code"] != int(p["code"]):
            raise CircuitError(f"{self.name}: code must be an integer, got {p['code']:g}")
        top = p["v_ref"] + p["v_read"]
        if top > p["vdd"] - OUTPUT_HEADROOM:
            raise CircuitError(f"{self.name}: v_ref + v_read = {top:g} V must stay {OUTPUT_HEADROOM:g} V below "
                               f"vdd={p['vdd']:g} V (the buffer's output swing)")
        return p

    def _apply(self, engine, p: Mapping[str, float]) -> None:
        self.apply_common(engine, p)
        self._set_code(engine, int(p["code"]), p["vdd"])
        apply_row(self, engine, p)

    def _set_code(self, engine, code: int, vdd: float) -> None:
        for i in range(self.dac_bits):
            self.set(engine, f"eb{i}", gain=vdd * ((code >> i) & 1))

    def _op(self, engine, p: Mapping[str, float]) -> tuple[dict[str, float], tuple[str, ...]]:
        """DC state with the code applied: near- and far-end voltages, supply power and the
        part of it the cells do not dissipate."""
        rows = [f"v(row{k})" for k in range(ROW_SEGMENTS + 1)]
        self.set(engine, "vstep", 1.0)
        try:
            r = engine.op([*rows, "i(vdd)", "i(vhi)", "i(vlo)"])
        finally:
            self.set(engine, "vstep", 0.0)
        power = -sum(v * float(r[f"i({s})"][0]) for s, v in supplies(p))
        cells = cell_power(p, [float(r[v][0]) for v in rows])
        return {"near": float(r[f"v({NEAR})"][0]), "far": float(r[f"v({FAR})"][0]), "power": power,
                "power_driver": power - cells}, r.aids

    def transfer(self, engine, point: Mapping[str, float] | None = None) -> np.ndarray:
        """DC output (V) at every code, ``(2**dac_bits,)``: one operating point per code at
        ``point`` (its ``code`` is ignored)."""
        p = self._point({k: v for k, v in (point or {}).items() if k != "code"})
        self._apply(engine, p)
        out = []
        for code in range(2 ** self.dac_bits):
            self._set_code(engine, code, p["vdd"])
            out.append(self._op(engine, p)[0]["near"])
        return np.array(out)

    def simulate(self, engine, point: Mapping[str, float]) -> Measured:
        p = self._point(point)
        self._apply(engine, p)
        dc, aids = self._op(engine, p)
        lsb, v_ref, t_conv = p["v_read"] / 2 ** self.dac_bits, p["v_ref"], p["t_conv"]
        stop = T_START + t_conv
        tran = engine.tran(t_conv / 200, stop, vectors=tran_vectors())
        t = tran["time"]
        step = T_START + T_EDGE / 2
        settle = settling_time(t, tran[f"v({FAR})"], final=dc["far"], tolerance=0.5 * lsb, start=step)
        error = dc["near"] - (v_ref + p["code"] * lsb)
        values = {"v_out": dc["near"], "v_error": error, "error_lsb": error / lsb, "v_far": dc["far"],
                  "settling_time": settle, **energies(tran, p, T_START, stop), "power": dc["power"],
                  "power_driver": dc["power_driver"]}
        aids = tuple(dict.fromkeys(aids + tran.aids))
        return Measured(values, "aided" if aids else "ok", aids)


def linearity(levels) -> tuple[np.ndarray, np.ndarray]:
    """(INL, DNL) in LSB of a DAC's output ``levels`` (V), ``(2**N,)`` in code order:
    against the endpoint line through the first and last level (INL ``(2**N,)``, zero at
    both ends), and each step against the mean step (DNL ``(2**N - 1,)``)."""
    v = np.asarray(levels, dtype=np.float64)
    step = (v[-1] - v[0]) / (v.size - 1)
    inl = (v - (v[0] + step * np.arange(v.size))) / step
    return inl, np.diff(v) / step - 1.0


__all__ = ["MAX_BITS", "RowDAC", "linearity"]
