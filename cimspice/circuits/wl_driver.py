"""Word-line (row) driver for bit-serial read pulses: two tapered CMOS inverter chains on
``vdd`` switching the row between a read rail and an idle rail.

Bench (``switches="nmos"``, the default; :mod:`.row_load` for the row and the rails)::

    in  --|>o--|>o-- ... --|>o-- ga --------------+
    inb --|>o--|>o-- ... --|>o-- gb ----------+   |     vhi = v_ref + v_read (read rail)
    (ideal complementary logic, 0..vdd)       |   |      |
                                              |   +---[mup]  NMOS, w_out
                                              |          |
                                              |         drv --[vsense 0 V]-- row0 ~~~ rowN
                                              |          |                  (cells -> vg)
                                              +-------[mdn]  NMOS, w_out
                                                         |
                                                        vlo = v_ref (idle rail)

Why this output stage. The read pulse is small (0.2 V in the shipped baseline) and the row
idles at ground (or at the sense circuit's virtual ground ``v_ref``). An ordinary inverter on
a 0.2 V rail cannot drive it: its PMOS would see |Vgs| = 0.2 V, below the cards' |Vth| of
0.36-0.41 V, and barely conduct. The final stage is therefore a pair of switches between two
rails, each gate driven full swing (0..vdd) by its own tapered inverter chain: NMOS switches
(Vgs = vdd - v_ref - v_read, 0.9 V at 0.2 V) for rows near ground; PMOS switches
(``switches="pmos"``, |Vgs| >= v_ref) for rows idling at a sense reference of 0.55-0.95 V;
transmission gates (``"tg"``) for any level, at up to 3x the gate energy. The same reduced-
swing driver serves low-swing interconnect (H. Zhang, V. George, J. M. Rabaey, "Low-swing
on-chip signaling techniques: effectiveness and robustness", IEEE TVLSI 8(3), 264-272, 2000).
The two chains are driven by complementary logic inputs (ideal sources with 20 ps edges,
standing for a non-overlapping phase generator): the pull-down's input leads the rising edge
and trails the falling one by :data:`T_GAP`, so the switches break before they make.

Chains: inverters of L = 50 nm, PMOS twice the NMOS, each stage ``taper`` times the one
before; the last stage sees ``taper`` times its own input capacitance in the switches'
gates, and stages are added (at least 0.2 um, an even number, so each chain is
non-inverting) as in :func:`.clocking.clock_buffer_widths`.

One point is one pulse: the bench sits idle until :data:`T_START`, the logic input rises
(50 % at ``T_START + T_EDGE / 2``), stays high for ``t_pulse`` (50 % to 50 %) and falls;
energies cover one period of ``2 t_pulse`` (a 50 % duty bit-serial stream) from the first
logic edge, the complement's at ``T_START - T_GAP``.
"""

from __future__ import annotations

from collections.abc import Mapping

from ..validate import require_in_range
from .analog import AnalogCircuit
from .area import transistor_area
from .base import TEMP, CircuitError, Measured, Measurement, Parameter, supply
from .clocking import mos
from .row_load import FAR, NEAR, PRECISION, ROW_PARAMETERS, apply_row, energies, row_lines, tran_vectors
from .waveforms import crossing_time, settling_time

T_START = 0.5e-9   # s: the bench sits at its DC point (row idle) before the pulse
T_EDGE = 20e-12    # s: edges of the ideal logic inputs, a 45 nm gate's (as the comparator's clock)
# s: break-before-make gap between the two chains' inputs. Switching together, the switches
# overlapped for ~20 ps per edge and passed 30-50 fC from the read rail to the idle rail:
# 24 fJ, 13 % of a pulse on an open row (TT, measured); with 40 ps 2.6 fJ remained, with 60
# ps the energy is within 0.1 % of a 100 ps gap's.
T_GAP = 60e-12
MIN_W = 0.2e-6     # m: first (smallest) chain inverter's NMOS, the clock buffers' minimum
# V: gate overdrive the switches need beyond their rail: the cards' NMOS vth0 is 0.39-0.44 V,
# the PMOS |vth0| 0.36-0.41 V (ff-ss), plus about 0.1 V so the switch is not starved
HEADROOM = 0.5
# Gate width each switch type puts on a chain, in units of w_out (NMOS w_out, PMOS 2 w_out)
_GATE_LOAD = {"nmos": 1.0, "pmos": 2.0, "tg": 3.0}


def chain_widths(load_width: float, taper: float) -> list[float]:
    """NMOS widths (m) of one tapered inverter chain, input first (PMOS twice), driving
    ``load_width`` (m) of switch gate: the last stage is ``load / (3 taper)`` (an inverter's
    input is 3x its NMOS width), each earlier one ``taper`` times smaller, down to MIN_W, in
    an even number of stages (the chain does not invert)."""
    widths = [max(MIN_W, load_width / (3 * taper))]
    while widths[0] / taper >= MIN_W or len(widths) % 2:
        widths.insert(0, max(MIN_W, widths[0] / taper))
    return widths


def chain_lines(tag: str, inp: str, out: str, widths: list[float]) -> list[str]:
    """Netlist lines of an inverter chain on ``vdd`` from ``inp`` to ``out`` (inner nodes
    ``{tag}1``, ``{tag}2``...), NMOS ``widths`` (m) input first, PMOS twice, L = 50 nm."""
    nodes = [inp] + [f"{tag}{k}" for k in range(1, len(widths))] + [out]
    lines = []
    for k, w in enumerate(widths):
        lines += [mos(f"m{tag}{k}n", nodes[k + 1], nodes[k], "0", "0", "nmos_vtg", w),
                  mos(f"m{tag}{k}p", nodes[k + 1], nodes[k], "vdd", "vdd", "pmos_vtg", 2 * w)]
    return lines


def logic_inputs(out: str, outb: str, start: float, width: str, period: str) -> list[str]:
    """Netlist lines of complementary ideal logic inputs ``out`` (low, then high) and ``outb``:
    unit steps ``vstep``/``vstepb`` (dc: the state an operating point sees) with T_EDGE edges
    at ``start`` (s), ``width`` and ``period`` (SPICE text: placeholders the benches alter),
    scaled to vdd by ``e{out}``/``e{outb}`` (gains 1.1 here; the benches set each point's)."""
    e = repr(T_EDGE)
    return [f"vstep step 0 dc 0 pulse(0 1 {start!r} {e} {e} {width} {period})",
            f"vstepb stepb 0 dc 1 pulse(1 0 {start!r} {e} {e} {width} {period})",
            f"e{out} {out} 0 step 0 1.1",
            f"e{outb} {outb} 0 stepb 0 1.1"]


def chain_area(widths: list[float]) -> float:
    """Layout estimate (m^2) of one :func:`chain_lines` chain."""
    return float(sum(transistor_area(w, 50e-9) + transistor_area(2 * w, 50e-9) for w in widths))


class WordLineDriver(AnalogCircuit):
    """A row driver for 1-bit read pulses of ``v_read`` (V) on the 45 nm BSIM4 cards.

    Parameters
    ----------
    corner : {"tt", "ff", "ss"}
    w_out : float
        Width (m) of each NMOS output switch (PMOS switches are 2 ``w_out``). Default 32 um:
        9.5 ohm on (TT, 0.2 V rail, measured ``r_out``), under a sixth of the shipped row's
        64 ohm of wire, so the driver's drop (3 % at the mid-window load of 3.2 mS) stays well
        below the row's own far-end IR drop (about 9 %).
    taper : float
        Fan-out of each chain stage (2..8). Default 4, the usual optimum for delay.
    switches : {"nmos", "pmos", "tg"}
        Output switches (see the module docstring); ``nmos`` needs the read rail
        ``v_ref + v_read`` at least 0.5 V below ``vdd``, ``pmos`` needs ``v_ref`` >= 0.5 V.
    tolerance : float
        Settling band, as a fraction of ``v_read`` (default 0.01: 1 %).
    """

    name = "wl_driver"
    measurements = (
        Measurement("energy", "J", "energy from vdd, the read rail and the idle rail over one pulse period "
                    "(2 t_pulse from the first logic edge)"),
        Measurement("energy_cells", "J", "part of it dissipated in the cells (sum g_k (v_k - v_ref)^2 dt): "
                    "the array's read energy, which a system simulator counts from its currents"),
        Measurement("energy_driver", "J", "energy - energy_cells: the driver's own cost per pulse"),
        Measurement("settling_time", "s", "logic input 50 % to the far end staying within tolerance * v_read "
                    "of its DC high level"),
        Measurement("delay", "s", "logic input 50 % to the far end's 50 % of its DC swing"),
        Measurement("v_far", "V", "DC far-end voltage with the pulse on"),
        Measurement("v_error", "V", "v_far - (v_ref + v_read): driver drop plus the row's IR drop (DC)"),
        Measurement("r_out", "ohm", "small-signal output resistance of the driver with the pulse on (1 Hz)"),
    )

    def __init__(self, corner: str = "tt", w_out: float = 32e-6, taper: float = 4.0, switches: str = "nmos",
                 tolerance: float = 0.01):
        super().__init__(corner)
        self.w_out = require_in_range(w_out, 0.5e-6, 500e-6, f"{self.name}: w_out", CircuitError, unit="m")
        self.taper = require_in_range(taper, 2.0, 8.0, f"{self.name}: taper", CircuitError)
        if switches not in _GATE_LOAD:
            raise CircuitError(f"{self.name}: switches {switches!r} is not one of {', '.join(_GATE_LOAD)}")
        self.switches = switches
        self.tolerance = require_in_range(tolerance, 1e-4, 0.1, f"{self.name}: tolerance", CircuitError)
        self.widths = chain_widths(_GATE_LOAD[switches] * self.w_out, self.taper)
        self.parameters = (
            Parameter("v_read", "V", 0.2, (0.05, 0.5), "read pulse amplitude above v_ref"),
            Parameter("v_ref", "V", 0.0, (0.0, 0.9), "idle level of the row: the bit lines' virtual ground"),
            Parameter("t_pulse", "s", 10e-9, (0.2e-9, 100e-9), "pulse width (50 % to 50 % of the logic input)",
                      scale="log"),
            supply((0.9, 1.32), "supply of the inverter chains (gate swing of the switches)"),
            TEMP,
        ) + ROW_PARAMETERS

    @property
    def n_stages(self) -> int:
        """Inverters in each of the two chains."""
        return len(self.widths)

    # ------------------------------------------------------------------ netlist
    def _chain(self, tag: str, inp: str, out: str) -> list[str]:
        return chain_lines(tag, inp, out, self.widths)

    def _switches(self) -> list[str]:
        n, p = self.switches in ("nmos", "tg"), self.switches in ("pmos", "tg")
        w = self.w_out
        lines = []
        if n:  # NMOS: up on with ga high, down on with gb high
            lines += [mos("mupn", "vhi", "ga", "drv", "0", "nmos_vtg", w),
                      mos("mdnn", "drv", "gb", "vlo", "0", "nmos_vtg", w)]
        if p:  # PMOS: up on with gb low, down on with ga low
            lines += [mos("mupp", "drv", "gb", "vhi", "vdd", "pmos_vtg", 2 * w),
                      mos("mdnp", "vlo", "ga", "drv", "vdd", "pmos_vtg", 2 * w)]
        return lines

    def netlist(self) -> str:
        return "\n".join(self.netlist_header(
            f"word-line driver switches={self.switches} w_out={self.w_out:g} taper={self.taper:g} "
            f"corner={self.corner}") + [
            *logic_inputs("in", "inb", T_START, "1e-8", "2e-8"),
            *self._chain("a", "in", "ga"),
            *self._chain("b", "inb", "gb"),
            *self._switches(),
            # the output resistance probe: 1 A ac into drv, the row's share through vsense
            "iprobe 0 drv dc 0 ac 1",
            f"vsense drv {NEAR} dc 0",
            *row_lines(),
            PRECISION,
            ".end",
        ])

    def area(self) -> float:
        """Layout estimate (m^2): both chains and the output switches (cimspice.circuits.area)."""
        chains = 2 * chain_area(self.widths)
        n, p = self.switches in ("nmos", "tg"), self.switches in ("pmos", "tg")
        return float(chains + 2 * (n * transistor_area(self.w_out, 50e-9) + p * transistor_area(2 * self.w_out, 50e-9)))

    # ------------------------------------------------------------------ simulation
    def _check_rails(self, p: Mapping[str, float]) -> None:
        hi, lo, vdd = p["v_ref"] + p["v_read"], p["v_ref"], p["vdd"]
        if hi > vdd - 0.1:
            raise CircuitError(f"{self.name}: read rail v_ref + v_read = {hi:g} V must stay 0.1 V below vdd={vdd:g} V")
        if self.switches == "nmos" and hi > vdd - HEADROOM:
            raise CircuitError(f"{self.name}: NMOS switches need v_ref + v_read <= vdd - {HEADROOM:g} V, got "
                               f"{hi:g} V (use switches='pmos' or 'tg')")
        if self.switches == "pmos" and lo < HEADROOM:
            raise CircuitError(f"{self.name}: PMOS switches need v_ref >= {HEADROOM:g} V, got {lo:g} V "
                               "(use switches='nmos' or 'tg')")

    def _apply(self, engine, p: Mapping[str, float]) -> None:
        self.apply_common(engine, p)
        self.set(engine, "ein", gain=p["vdd"])
        self.set(engine, "einb", gain=p["vdd"])
        width, period = p["t_pulse"] - T_EDGE, 4 * p["t_pulse"]
        self.set_vector(engine, "vstep", "pulse", (0.0, 1.0, T_START, T_EDGE, T_EDGE, width, period))
        # break before make: the pull-down's input leads the rising edge and trails the falling one
        self.set_vector(engine, "vstepb", "pulse",
                        (1.0, 0.0, T_START - T_GAP, T_EDGE, T_EDGE, width + 2 * T_GAP, period))
        apply_row(self, engine, p)

    def _on_state(self, engine) -> tuple[float, float, tuple[str, ...]]:
        """(DC far-end voltage, small-signal output resistance) with the pulse on."""
        self.set(engine, "vstep", 1.0)
        self.set(engine, "vstepb", 0.0)
        try:
            dc = engine.op([f"v({FAR})"])
            ac = engine.ac(1, 1.0, 1.0, ["v(drv)", "i(vsense)"], variation="lin")
        finally:
            self.set(engine, "vstep", 0.0)
            self.set(engine, "vstepb", 1.0)
        r_out = abs(ac["v(drv)"][0] / (1.0 - ac["i(vsense)"][0]))
        return float(dc[f"v({FAR})"][0]), float(r_out), dc.aids + ac.aids

    def simulate(self, engine, point: Mapping[str, float]) -> Measured:
        p = self.point(point)
        self._check_rails(p)
        self._apply(engine, p)
        v_far, r_out, aids = self._on_state(engine)
        t_pulse, v_ref = p["t_pulse"], p["v_ref"]
        stop = T_START + 2 * t_pulse
        tran = engine.tran(t_pulse / 50, stop, vectors=tran_vectors())
        t, far = tran["time"], tran[f"v({FAR})"]
        rise = T_START + T_EDGE / 2
        on = t <= rise + t_pulse  # the falling edge's 50 % point
        settle = settling_time(t[on], far[on], final=v_far, tolerance=self.tolerance * p["v_read"], start=rise)
        half = v_ref + 0.5 * (v_far - v_ref)
        delay = crossing_time(t, far, half, direction="rising", after=rise) - rise
        values = {**energies(tran, p, T_START - T_GAP, stop - T_GAP), "settling_time": settle, "delay": delay,
                  "v_far": v_far, "v_error": v_far - (v_ref + p["v_read"]), "r_out": r_out}
        aids = tuple(dict.fromkeys(aids + tran.aids))
        return Measured(values, "aided" if aids else "ok", aids)


__all__ = ["HEADROOM", "T_EDGE", "T_START", "WordLineDriver", "chain_area", "chain_lines", "chain_widths",
           "logic_inputs"]
