"""The baseline: a digital lookup-table activation on the same FreePDK45 BSIM4 cards.

The input voltage is quantised by a flash comparator bank (``2**N - 1`` StrongARMs against
uniform thresholds, as the PWL unit's, :mod:`.nonlinear`), the thermometer code is decoded
to one of ``2**N`` word lines (the same ``pwl_sel`` gates), and a precharged NOR ROM of
``2**N`` words x ``bits`` returns the stored activation (``netlists/pwl_unit.lib``:
``lut_bit``, ``lut_col``). Entry ``k`` holds the function at the centre of input interval
``k``, rounded to ``bits`` bits over the function's output range. This is the fixed-function
digital alternative the reprogrammable array replaces (reprogramming it means rewriting a
ROM/SRAM: here the ROM's contents are its netlist).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ..paths import netlist_path
from ..validate import require_int
from .area import logic_area, transistor_area
from .base import TEMP, Circuit, CircuitError, Measured, Measurement, Parameter
from .clocking import clock_buffer, clock_buffer_area
from .comparator import CHGTOL_OPTION, T_DELAY, T_EDGE, StrongArmDesign, model_lines
from .devices import VDD, check_corner
from .nonlinear import FUNCTIONS, V_CM, V_SPAN, ideal
from .waveforms import crossing_time, supply_energy

C_BL_WIRE = 2e-15  # bit-line wire capacitance (F) besides the devices on it


class LutActivation(Circuit):
    """Lookup-table activation: ``address_bits`` (N) input bits, ``bits`` output bits.

    Parameters: ``x`` (function units) and ``temp``. Measurements: ``y`` (the word read
    back, in activation units), ``code`` (the word), ``energy`` (J, vdd over one clock
    period from the clock edge), ``latency`` (s, clock edge to the last output bit's 50 %).
    """

    name = "lut_activation"
    loaded_temperature = TEMP.default  # the netlist sets none
    measurements = (Measurement("y", "1", "activation read from the ROM"),
                    Measurement("code", "1", "the ROM word read (integer)"),
                    Measurement("energy", "J", "vdd energy over one clock period"),
                    Measurement("latency", "s", "clock edge to the last changing output bit at 50 %"))

    def __init__(self, function: str = "sigmoid", address_bits: int = 4, bits: int = 8, corner: str = "tt",
                 t_clk: float = 2e-9):
        if function not in FUNCTIONS:
            raise CircuitError(f"{self.name}: function {function!r} is not one of {', '.join(FUNCTIONS)}")
        self.address_bits = require_int(address_bits, f"{self.name}: address_bits", CircuitError, lo=2, hi=6)
        self.bits = require_int(bits, f"{self.name}: bits", CircuitError, lo=1, hi=12)
        self.corner = check_corner(corner, self.name)
        self.function, self.t_clk = function, float(t_clk)
        self.x_min, self.x_max = FUNCTIONS[function][1]
        self.comparator = StrongArmDesign()
        n = 2 ** address_bits
        centres = self.x_min + (np.arange(n) + 0.5) * (self.x_max - self.x_min) / n
        grid = ideal(function, np.linspace(self.x_min, self.x_max, 2001))
        self.y_lo, self.y_hi = float(grid.min()), float(grid.max())
        self.words = np.round((ideal(function, centres) - self.y_lo) / (self.y_hi - self.y_lo)
                              * (2 ** bits - 1)).astype(int)
        self.parameters = (Parameter("x", "1", 0.5 * (self.x_min + self.x_max), (self.x_min, self.x_max),
                                     "pre-activation"),
                           TEMP)

    def value(self, code) -> np.ndarray:
        return self.y_lo + np.asarray(code, float) * (self.y_hi - self.y_lo) / (2 ** self.bits - 1)

    def predict(self, x) -> np.ndarray:
        """What the LUT returns with ideal comparators (NumPy)."""
        n = 2 ** self.address_bits
        k = np.clip(np.floor((np.asarray(x, float) - self.x_min) / (self.x_max - self.x_min) * n), 0, n - 1).astype(int)
        return self.value(self.words[k])

    def v_of_x(self, x) -> float:
        return V_CM + V_SPAN * ((x - self.x_min) / (self.x_max - self.x_min) - 0.5)

    def netlist(self) -> str:
        n, vdd = 2 ** self.address_bits, repr(VDD)
        lines = [f"LUT activation {self.function} N={self.address_bits} bits={self.bits}",
                 *model_lines(self.corner), f'.include "{netlist_path("pwl_unit.lib")}"', f"vdd vdd 0 dc {vdd}",
                 f"vin in 0 dc {V_CM!r}",
                 f"vclk clkin 0 pulse(0 {vdd} {T_DELAY!r} {T_EDGE!r} {T_EDGE!r} {self.t_clk / 2 - T_EDGE!r} "
                 f"{self.t_clk!r})",
                 *clock_buffer("clkin", "clk", "vdd", n - 1 + max(1, self.bits // 4))]
        for k in range(1, n):
            b = V_CM - V_SPAN / 2 + V_SPAN * k / n
            lines += [f"vb{k} b{k} 0 dc {b!r}",
                      *self.comparator.instance(f"c{k}", "in", f"b{k}", "clk", f"qp{k}", f"qn{k}")]
        for k in range(n):
            a = f"qp{k}" if k > 0 else "vdd"
            b = f"qn{k + 1}" if k < n - 1 else "vdd"
            lines.append(f"xsel{k} {a} {b} wl{k} wlb{k} vdd 0 pwl_sel")
            for j in range(self.bits):
                if (self.words[k] >> j) & 1:
                    lines.append(f"xb{k}_{j} wl{k} bl{j} 0 lut_bit")
        for j in range(self.bits):
            lines += [f"xcol{j} bl{j} clk out{j} vdd 0 lut_col", f"cbl{j} bl{j} 0 {C_BL_WIRE!r}",
                      f"cout{j} out{j} 0 1f"]
        lines += [".nodeset " + " ".join(f"v(bl{j})={vdd}" for j in range(self.bits)), CHGTOL_OPTION, ".end"]
        return "\n".join(lines)

    def simulate(self, engine, point: Mapping[str, float]) -> Measured:
        p = self.point(point)
        self.apply_temperature(engine, p["temp"])
        engine.alter("vin", float(self.v_of_x(p["x"])))
        vec = ["time", "v(clk)", "i(vdd)"] + [f"v(out{j})" for j in range(self.bits)]
        r = engine.tran(5e-12, T_DELAY + self.t_clk + 0.2e-9, max_step=20e-12, vectors=vec)
        t = r["time"]
        t_clock = crossing_time(t, r["v(clk)"], VDD / 2, direction="rising")
        t_fall = crossing_time(t, r["v(clk)"], VDD / 2, direction="falling", after=t_clock)
        t_read = t_fall - T_EDGE
        code, last = 0, 0.0
        for j in range(self.bits):
            v = r[f"v(out{j})"]
            if np.interp(t_read, t, v) > VDD / 2:
                code |= 1 << j
                last = max(last, crossing_time(t, v, VDD / 2, direction="rising", after=t_clock) - t_clock)
        energy = supply_energy(t, VDD, -r["i(vdd)"], start=t_clock, stop=t_clock + self.t_clk)
        return Measured(dict(y=float(self.value(code)), code=float(code), energy=energy, latency=last),
                        r.status, r.aids)

    def area(self) -> float:
        """Layout estimate (m^2): comparators, clock buffer, decoder gates, ROM devices and
        bit-line periphery (:mod:`.area`)."""
        n = 2 ** self.address_bits
        rom = int(sum(bin(int(w)).count("1") for w in self.words)) * transistor_area(0.2e-6, 50e-9)
        col = self.bits * (transistor_area(0.4e-6, 50e-9) * 2 + transistor_area(0.2e-6, 50e-9)
                           + transistor_area(0.12e-6, 100e-9))
        return float((n - 1) * self.comparator.area() + clock_buffer_area(n - 1) + logic_area(gates=2 * n) + rom + col)
