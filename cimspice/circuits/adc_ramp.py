"""Ramp (single-slope) ADC: a shared staircase ramp, a StrongARM comparator per column and
a counter, as in the column ADCs of Marinella et al. (IEEE JETCAS 8(1), 86-101, 2018).

Topology (N bits, ``n_columns`` columns converting in parallel)::

    ramp (shared) ----------+------------------+---- ...
                          inn|               inn|
    vin[0] --------- inp [StrongARM 0]  vin[1]-[StrongARM 1] ...     (clk shared)
                            |outp                |outp
                       counter latch 0      counter latch 1          (behavioural, NumPy)

A conversion is 2**N clock cycles. In cycle k the ramp sits at ``v_ref_lo + k LSB`` (cycle
0 resets the ramp while the column inputs change) and every comparator decides whether its
input is above the ramp. The shared counter's value is latched into a column's register at
the column's first "below" decision: code = the number of cycles, from k = 1, before it
(2**N - 1 if it never comes). The ramp is an ideal staircase source standing for the
shared ramp generator: the charge it delivers counts, its own circuitry is not simulated
(amortised over the columns). The counter and latches are behavioural (NumPy), with area
estimated from standard cells.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from ..validate import require_int
from .adc_base import ADC, staircase
from .area import logic_area
from .base import CircuitError
from .clocking import clock_buffer, clock_buffer_area
from .comparator import T_EDGE


class RampADC(ADC):
    """Ramp ADC of ``adc_bits`` bits over ``n_columns`` columns (2**N cycles per conversion).

    Parameters (besides :class:`~cimspice.circuits.adc_base.ADC`'s)
    ----------
    n_columns : int
        Columns sharing the ramp and the counter, 4: they convert in parallel, so a run
        of n inputs takes ceil(n / n_columns) conversion periods.
    """

    name = "adc_ramp"
    defaults = (0.4, 1.0)  # the NMOS-input latch needs an input common mode above ~0.4 V
    max_bits = 8

    def __init__(self, adc_bits: int = 4, *, n_columns: int = 4, **kwargs):
        super().__init__(adc_bits, **kwargs)
        self.n_columns = require_int(n_columns, f"{self.name}: n_columns", CircuitError, lo=1, hi=256)

    def cycles_per_conversion(self) -> int:
        return self.n_codes

    def conversions_per_run(self, n_inputs: int) -> int:
        return -(-n_inputs // self.n_columns)

    def _supplies(self) -> list[tuple[str, str]]:
        return [("vdd", "vdd"), ("vramp", "v(ramp)")]

    def _body(self, inputs: Sequence[str]) -> list[str]:
        n, cols, e = self.n_codes, self.n_columns, repr(T_EDGE)
        slots = self.conversions_per_run(len(inputs))
        levels = [f"{{v_ref_lo+{k}*(v_ref_hi-v_ref_lo)/{n}}}" for k in range(n)] * slots
        lines = [f"vramp ramp 0 {staircase(levels, 't_clk')}",
                 f"vclk clkin 0 pulse(0 {{vdd}} {{t_clk/2}} {e} {e} {{t_clk/2-{e}}} {{t_clk}})",
                 *clock_buffer("clkin", "clk", "vdd", cols)]
        offsets = self.comparator_offsets(cols)
        for c in range(cols):
            # column c converts inputs c, c + cols, ...; unused slots of the last period idle
            # at the bottom of the range
            column = list(inputs[c::cols])
            column += ["{v_ref_lo}"] * (slots - len(column))
            lines.append(f"vin{c} in{c} 0 {staircase(column, 't_conv')}")
            lines += self.design.instance(f"c{c}", f"in{c}", "ramp", "clk", f"q{c}", f"qb{c}", dvth=offsets[c])
        return lines

    def _vectors(self) -> list[str]:
        return [f"v(q{c})" for c in range(self.n_columns)]

    def _decode(self, result, n_inputs: int, p: Mapping[str, float]) -> np.ndarray:
        n, cols = self.n_codes, self.n_columns
        slots = self.conversions_per_run(n_inputs)
        times = self.sample_times(0.0, p["t_clk"], slots * n, p["t_clk"] - T_EDGE)
        codes = np.empty(slots * cols, dtype=np.int64)
        for c in range(cols):
            above = self.high(result, f"v(q{c})", times, p["vdd"]).reshape(slots, n)[:, 1:]
            # the counter stops at the first "below": code = cycles before it
            first_below = np.where(above.all(axis=1), n - 1, np.argmin(above, axis=1))
            codes[c::cols] = first_below
        return codes[:n_inputs]

    def area(self) -> float:
        """Layout estimate (m^2) per column: comparator, an N-bit latch register and a gate,
        plus this column's share of the N-bit counter and the clock buffer. The ramp
        generator is not included."""
        bits, cols = self.adc_bits, self.n_columns
        buffer = clock_buffer_area(cols)
        shared = logic_area(gates=2 * bits, flip_flops=bits) + buffer
        return float(self.design.area() + logic_area(gates=1, flip_flops=bits) + shared / cols)
