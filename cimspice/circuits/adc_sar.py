"""SAR ADC: binary-weighted capacitor DAC, a StrongARM comparator, SAR logic in XSPICE.

Topology (N bits; bit i has capacitor 2**i c_unit, plus one dummy c_unit)::

           phi_t                                    phi_t
    v_cm --[TG]-- X (top plate) ---+---------- inn |          | inp --- Y --[TG]-- v_cm
                   |   |   |       |               | StrongARM|          |
                 C_N-1... C_0  C_d                 |  outp = (Y > X) = keep bit
                   |   |   |                                            C_tot (to ground)
    bottom plate b_i: --[TG phi_s]-- vin | --[PMOS]-- v_ref_hi | --[NMOS]-- v_ref_lo

Charge redistribution, bottom-plate sampling. A conversion is N + 1 clock cycles: in cycle
0 the top plates sit at v_cm and the bottom plates at v_in (the top-plate switch opens
first, at 3/4 of the cycle, so the sampled charge does not depend on v_in-dependent charge
injection); in cycle k = 1..N bit i = N - k is tried: its bottom plate goes to v_ref_hi,
the others stay at their decided level or at v_ref_lo, so
``V_X = v_cm - (v_in - v_ref_lo) + (v_ref_hi - v_ref_lo) * sum(b_j 2**j) / 2**N`` (scaled
by the top plate's parasitic, which keeps the sign). The comparator decides in the second
half of the cycle; at 9/10 of it a flip-flop stores ``keep = (V_X < v_cm)``, i.e. v_in above
the trial level. Y, sampled to v_cm on its own capacitor, makes the comparator's kickback
common-mode.

SAR logic (XSPICE ``digital.cm``: ``d_dff``, ``d_or``, ``d_and``, bridges): the cycle
counter is a set of pulse sources (phases), each bit a flip-flop reset while sampling; the
switches' gate drivers are transistor inverters on vdd, so their energy counts. The
digital gates themselves have no energy in XSPICE: they enter the area estimate only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from ..validate import require_in_range
from . import adc_sar_weights
from .adc_base import ADC, number, staircase
from .area import capacitor_area, logic_area, transistor_area
from .base import CircuitError, Measured, Parameter
from .clocking import clock_buffer, clock_buffer_area, mos
from .comparator import T_EDGE

# XSPICE gate and bridge delays (s): a 45 nm gate, fast next to the 0.5-100 ns clock.
GATE_DELAY = 10e-12

# Fractions of a clock cycle: top-plate switch opens, bottom-plate sampling ends, bit stored.
T_TOP, T_SAMPLE, T_STORE = 0.75, 0.875, 0.9


class SarADC(ADC):
    """SAR ADC of ``adc_bits`` bits (N + 1 clock cycles per conversion; up to 10 bits).

    Parameters (besides :class:`~cimspice.circuits.adc_base.ADC`'s)
    ----------
    c_unit : float
        Unit capacitor (F), 5 fF: 2**N c_unit in the array, as much again on the Y side.
    w_switch : float
        Width (m) of the LSB bottom-plate switches (NMOS; PMOS twice), doubled per bit so
        every capacitor settles with the same time constant.
    w_top : float, optional
        Width (m) of the top-plate switch NMOS (PMOS twice). Default 2**N / 16 um, at least
        1 um: it must pull the top plate back to v_cm within 3/4 of a clock cycle after the
        bottom plates jump from the last DAC state to the new input. With 1 um at 8 bits
        (1.3 pF) the time constant was ~2 ns and codes carried 5-20 LSB of the previous
        input (measured; the ramp test, whose inputs step by one LSB, did not show it).
    bench : {"ramp", "weights"}
        What :meth:`simulate` measures: the ramp test (``inl_1`` .. ``inl_{2**N-1}``), or the
        weight test of :mod:`~cimspice.circuits.adc_sar_weights` (N + 11 conversions;
        ``offset`` and ``weight_err_1`` .. ``weight_err_N`` instead of the INL at every
        transition) for wide converters, valid for vdd >= v_cm + half the range.
    """

    name = "adc_sar"
    defaults = (0.0, 0.8)
    max_bits = 10

    def __init__(self, adc_bits: int = 4, *, c_unit: float = 5e-15, w_switch: float = 0.3e-6,
                 w_top: float | None = None, bench: str = "ramp", **kwargs):
        super().__init__(adc_bits, **kwargs)
        if bench not in ("ramp", "weights"):
            raise CircuitError(f"{self.name}: bench {bench!r} is not 'ramp' or 'weights'")
        self.bench = bench
        if bench == "weights":
            self.measurements = adc_sar_weights.measurements(self.adc_bits)
        if w_top is None:
            w_top = max(1e-6, 2 ** self.adc_bits / 16 * 1e-6)
        self.c_unit = require_in_range(c_unit, 0.5e-15, 1e-12, f"{self.name}: c_unit", CircuitError, unit="F")
        self.w_switch, self.w_top = (require_in_range(w, 90e-9, 100e-6, f"{self.name}: {label}", CircuitError, unit="m")
                                     for label, w in (("w_switch", w_switch), ("w_top", w_top)))

    def _extra_parameters(self) -> tuple[Parameter, ...]:
        return (Parameter("v_cm", "V", 0.7, (0.4, 1.2), "top-plate (comparator) common-mode reference"),)

    def _check_point(self, p: Mapping[str, float]) -> None:
        if p["v_cm"] > p["vdd"] - 0.1:
            raise CircuitError(f"{self.name}: v_cm={p['v_cm']:g} V must stay 0.1 V below vdd={p['vdd']:g} V")

    def netlist(self) -> str:
        if self.bench == "weights":
            return self._text(adc_sar_weights.expressions(self.adc_bits))
        return super().netlist()

    def simulate(self, engine, point: Mapping[str, float]) -> Measured:
        """The ramp test, or the weight test (``bench``), at ``point``."""
        if self.bench == "weights":
            return adc_sar_weights.simulate(self, engine, self._point(point))
        return super().simulate(engine, point)

    def cycles_per_conversion(self) -> int:
        return self.adc_bits + 1

    def _supplies(self) -> list[tuple[str, str]]:
        return super()._supplies() + [("vcm", "v_cm")]

    # -------------------------------------------------------------- netlist
    def _switch_widths(self) -> list[float]:
        return [self.w_switch * 2 ** i for i in range(self.adc_bits)]

    def _driver(self, name: str, digital: str, gate: str, w: float) -> list[str]:
        """A transistor inverter on vdd driving ``gate`` with NOT ``digital``."""
        wn = max(0.2e-6, w / 2)
        return [f"adac_{name} [{digital}] [{name}_a] dacb",
                mos(f"mdn_{name}", gate, f"{name}_a", "0", "0", "nmos_vtg", wn),
                mos(f"mdp_{name}", gate, f"{name}_a", "vdd", "vdd", "pmos_vtg", 2 * wn)]

    def _body(self, inputs: Sequence[str]) -> list[str]:
        n, e = self.adc_bits, repr(T_EDGE)
        c_total = self.c_unit * 2 ** n
        lines = [
            "vref_hi refhi 0 dc {v_ref_hi}", "vref_lo reflo 0 dc {v_ref_lo}", "vcm cm 0 dc {v_cm}",
            f"vin in 0 {staircase(inputs, 't_conv')}",
            f"vclk clkin 0 pulse(0 {{vdd}} {{t_clk/2}} {e} {e} {{t_clk/2-{e}}} {{t_clk}})",
            *clock_buffer("clkin", "clk", "vdd", 1),
            # phases, high at t = 0 so the operating point is the sampling state
            f"vpht pht 0 pulse({{vdd}} 0 {{{T_TOP}*t_clk}} {e} {e} {{t_conv-{T_TOP}*t_clk-2*{e}}} {{t_conv}})",
            f"vphs phs 0 pulse({{vdd}} 0 {{{T_SAMPLE}*t_clk}} {e} {e} {{t_conv-{T_SAMPLE}*t_clk-2*{e}}} {{t_conv}})",
            f".model adcb adc_bridge(in_low={{vdd/2}} in_high={{vdd/2}} "
            f"rise_delay={GATE_DELAY!r} fall_delay={GATE_DELAY!r})",
            f".model dacb dac_bridge(out_low=0 out_high={{vdd}} out_undef={{vdd/2}} t_rise={e} t_fall={e})",
            f".model inv1 d_inverter(rise_delay={GATE_DELAY!r} fall_delay={GATE_DELAY!r})",
            f".model or2 d_or(rise_delay={GATE_DELAY!r} fall_delay={GATE_DELAY!r})",
            f".model and2 d_and(rise_delay={GATE_DELAY!r} fall_delay={GATE_DELAY!r})",
            f".model dff1 d_dff(clk_delay={GATE_DELAY!r} set_delay={GATE_DELAY!r} reset_delay={GATE_DELAY!r}"
            f" rise_delay={GATE_DELAY!r} fall_delay={GATE_DELAY!r})",
            "aph [pht phs keep] [pht_d phs_d keep_d] adcb",
            "anpht pht_d npht_d inv1",
            "anphs phs_d nphs_d inv1",
        ]
        # sampling and top-plate transmission gates: gate = phase, gate_b = NOT phase
        w_sample = sum(self._switch_widths()) + self.w_switch
        lines += self._driver("gs", "nphs_d", "gs", w_sample) + self._driver("gsb", "phs_d", "gsb", w_sample)
        lines += (self._driver("gt", "npht_d", "gt", 2 * self.w_top)
                  + self._driver("gtb", "pht_d", "gtb", 2 * self.w_top))
        for node in ("x", "y"):
            lines += [mos(f"mtn_{node}", node, "gt", "cm", "0", "nmos_vtg", self.w_top),
                      mos(f"mtp_{node}", node, "gtb", "cm", "vdd", "pmos_vtg", 2 * self.w_top)]
        lines.append(f"cy y 0 {number(c_total)}")
        bits = [(str(i), self.w_switch * 2 ** i, self.c_unit * 2 ** i) for i in range(n)]
        for tag, w, c in bits + [("d", self.w_switch, self.c_unit)]:
            lines += [f"cdac{tag} x b{tag} {number(c)}",
                      mos(f"msn{tag}", f"b{tag}", "gs", "in", "0", "nmos_vtg", w),
                      mos(f"msp{tag}", f"b{tag}", "gsb", "in", "vdd", "pmos_vtg", 2 * w),
                      mos(f"mdn{tag}", f"b{tag}", f"gdn{tag}", "reflo", "0", "nmos_vtg", w)]
            if tag == "d":  # the dummy only samples and returns to v_ref_lo
                lines += self._driver("dnd", "phs_d", "gdnd", w)
                continue
            i = int(tag)
            lines += [
                mos(f"mup{i}", f"b{i}", f"gup{i}", "refhi", "vdd", "pmos_vtg", 2 * w),
                # bit i is tried in cycle n - i and stored at T_STORE of it
                f"vp{i} p{i} 0 pulse(0 {{vdd}} {{{n - i}*t_clk}} {e} {e} {{t_clk-2*{e}}} {{t_conv}})",
                f"vc{i} c{i} 0 pulse(0 {{vdd}} {{{n - i + T_STORE}*t_clk}} {e} {e} {{0.05*t_clk}} {{t_conv}})",
                f"apc{i} [p{i} c{i}] [p{i}_d c{i}_d] adcb",
                f"aff{i} keep_d c{i}_d NULL phs_d q{i}_d qb{i}_d dff1",
                f"actl{i} [p{i}_d q{i}_d] ctl{i}_d or2",
                f"aup{i} [ctl{i}_d nphs_d] up{i}_d and2",
                f"adnb{i} [ctl{i}_d phs_d] dnb{i}_d or2",
                f"abit{i} [q{i}_d] [bit{i}] dacb",
            ]
            lines += (self._driver(f"up{i}", f"up{i}_d", f"gup{i}", 2 * w)
                      + self._driver(f"dn{i}", f"dnb{i}_d", f"gdn{i}", w))
        offsets = self.comparator_offsets(1)[0]
        lines += self.design.instance("cmp", "y", "x", "clk", "keep", "keepb", dvth=offsets)
        return lines

    def _vectors(self) -> list[str]:
        return [f"v(bit{i})" for i in range(self.adc_bits)]

    def _decode(self, result, n_inputs: int, p: Mapping[str, float]) -> np.ndarray:
        t_clk, n = p["t_clk"], self.adc_bits
        times = self.sample_times(0.0, (n + 1) * t_clk, n_inputs, (n + 0.97) * t_clk)
        bits = [self.high(result, f"v(bit{i})", times, p["vdd"]).astype(np.int64) << i for i in range(n)]
        return np.asarray(sum(bits), dtype=np.int64)

    def area(self) -> float:
        """Layout estimate (m^2): capacitor arrays (DAC, dummy, Y side), switches, drivers,
        comparator, clock buffer, and SAR logic (N bit flip-flops, N + 1 sequencer
        flip-flops, 4 gates per bit)."""
        n = self.adc_bits
        c_total = self.c_unit * 2 ** n
        caps = capacitor_area(c_total) + capacitor_area(c_total)  # DAC with dummy, and Y
        devices = []
        for w in self._switch_widths():
            devices += [(w, 50e-9), (2 * w, 50e-9), (w, 50e-9), (2 * w, 50e-9)]  # TG, down, up
            devices += [(max(0.2e-6, w), 50e-9), (2 * max(0.2e-6, w), 50e-9)]  # up driver
            devices += [(max(0.2e-6, w / 2), 50e-9), (2 * max(0.2e-6, w / 2), 50e-9)]  # down driver
        devices += [(self.w_switch, 50e-9), (2 * self.w_switch, 50e-9), (self.w_switch, 50e-9)]  # dummy
        devices += [(self.w_top, 50e-9), (2 * self.w_top, 50e-9)] * 2
        switches = sum(transistor_area(w, l) for w, l in devices) + clock_buffer_area(1)
        return float(caps + switches + self.design.area() + logic_area(gates=4 * n, flip_flops=2 * n + 1))
