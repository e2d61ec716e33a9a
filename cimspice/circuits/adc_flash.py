"""Flash ADC: a resistor ladder, 2**N - 1 StrongARM comparators, thermometer decoding.

Topology (N bits, n = 2**N)::

    v_ref_hi --R-- tap[n-1] --R-- ... --R-- tap[1] --R-- v_ref_lo     (n equal resistors)
                     |                        |
                   c_tap                    c_tap                     (decoupling to ground)
    vin ---+------(inp) comparator[n-1] (inn)-+ ...                   (StrongARM, clk)
           +------(inp) comparator[1]   (inn)-- tap[1]
    outp[k] = (vin > tap[k]);  code = number of comparators that say so   (NumPy decoder)

One conversion per clock cycle: the input steps at the start of the cycle, the comparators
reset during its first half and decide in the second, and the thermometer code is read just
before the clock falls. Decoding counts ones (a bubble-tolerant encoder) in NumPy; its gates
enter the area estimate, not the energy. The tap capacitors absorb the comparators' kickback:
without them a 4-bit flash on an 8 kOhm ladder reads up to 6 codes high (measured), because
the kicked taps recover through the ladder more slowly than the latch decides.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from ..validate import require_in_range
from .adc_base import ADC, number, staircase
from .area import capacitor_area, logic_area, resistor_area
from .base import CircuitError
from .clocking import clock_buffer, clock_buffer_area
from .comparator import T_EDGE


class FlashADC(ADC):
    """Flash ADC of ``adc_bits`` bits (2**N - 1 comparators; sizes up to 8 bits).

    Parameters (besides :class:`~cimspice.circuits.adc_base.ADC`'s)
    ----------
    r_ladder : float, optional
        Total ladder resistance (ohm). Default 128 kOhm / 2**N (8 kOhm at 4 bits, 500 ohm at
        8): the taps' kickback charge drains through the ladder, whose slowest mode has the
        time constant r_ladder * (2**N c_tap) / pi**2, kept at 1.3 ns this way. With 8 kOhm
        at 8 bits (20 ns) the taps drift over conversions and codes read 1-4 LSB high
        (measured).
    c_tap : float
        Decoupling capacitance (F) on every ladder tap, 100 fF.
    """

    name = "adc_flash"
    defaults = (0.4, 1.0)  # the NMOS-input latch needs an input common mode above ~0.4 V
    max_bits = 8

    def __init__(self, adc_bits: int = 4, *, r_ladder: float | None = None, c_tap: float = 100e-15, **kwargs):
        super().__init__(adc_bits, **kwargs)
        if r_ladder is None:
            r_ladder = 128e3 / 2 ** self.adc_bits
        self.r_ladder = require_in_range(r_ladder, 10.0, 1e7, f"{self.name}: r_ladder", CircuitError, unit="ohm")
        self.c_tap = require_in_range(c_tap, 0.0, 10e-12, f"{self.name}: c_tap", CircuitError, unit="F")

    def cycles_per_conversion(self) -> int:
        return 1

    def _body(self, inputs: Sequence[str]) -> list[str]:
        n = self.n_codes
        lines = ["vref_hi refhi 0 dc {v_ref_hi}", "vref_lo reflo 0 dc {v_ref_lo}",
                 f"vin in 0 {staircase(inputs, 't_conv')}",
                 f"vclk clkin 0 pulse(0 {{vdd}} {{t_clk/2}} {T_EDGE!r} {T_EDGE!r} {{t_clk/2-{T_EDGE!r}}} {{t_clk}})",
                 *clock_buffer("clkin", "clk", "vdd", n - 1)]
        r_unit = number(self.r_ladder / n)
        for k in range(n):
            a = "reflo" if k == 0 else f"tap{k}"
            b = "refhi" if k == n - 1 else f"tap{k + 1}"
            lines.append(f"rl{k} {a} {b} {r_unit}")
        offsets = self.comparator_offsets(n - 1)
        for k in range(1, n):
            if self.c_tap > 0:
                lines.append(f"ct{k} tap{k} 0 {number(self.c_tap)}")
            lines += self.design.instance(f"c{k}", "in", f"tap{k}", "clk", f"q{k}", f"qb{k}", dvth=offsets[k - 1])
        return lines

    def _vectors(self) -> list[str]:
        return [f"v(q{k})" for k in range(1, self.n_codes)]

    def _decode(self, result, n_inputs: int, p: Mapping[str, float]) -> np.ndarray:
        times = self.sample_times(0.0, p["t_clk"], n_inputs, p["t_clk"] - T_EDGE)
        ones = sum(self.high(result, f"v(q{k})", times, p["vdd"]).astype(np.int64) for k in range(1, self.n_codes))
        return np.asarray(ones, dtype=np.int64)

    def area(self) -> float:
        """Layout estimate (m^2): comparators, ladder, tap capacitors, clock buffer and a
        ROM encoder (2**N - 1 transition gates, N OR trees, N output flip-flops)."""
        n, bits = self.n_codes, self.adc_bits
        fan = (n - 1)
        buffer = clock_buffer_area(fan)
        caps = (n - 1) * capacitor_area(self.c_tap) if self.c_tap > 0 else 0.0
        return float((n - 1) * self.design.area() + n * resistor_area(self.r_ladder / n) + caps + buffer
                     + logic_area(gates=(n - 1) + bits * (n // 2 - 1), flip_flops=bits))
