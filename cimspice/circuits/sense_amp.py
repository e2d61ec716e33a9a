"""Current-mode latch sense amplifier (``netlists/sense_amp.lib``): is the bit-line current
larger than the reference current?

Bench: ideal current sources push ``i_bl`` and ``i_ref`` into the amplifier's mirror
inputs (they stand for the bit line's read current and a reference cell's); the clock,
a voltage source swinging 0 -> ``vdd``, pre-charges the latch, rises at :data:`T_CLK`,
stays high for the evaluation window, and pre-charges again for :data:`T_PRECHARGE`, so
one run is one full decision cycle::

    clk   ______|‾‾‾‾‾‾‾‾‾ evaluation ‾‾‾‾‾‾‾‾‾|______ pre-charge ______
    q/qb  ______________/‾‾‾‾ (the winner) ‾‾‾‾‾\\_____________________
                T_CLK  ^ delay                t_eval_end           t_end

Measurements: ``decision`` (1 when q ends high: "i_bl > i_ref"), ``correct`` (1 when the
decision agrees with the sign of ``i_bl - i_ref``; equal currents count as correct),
``delay`` (clock edge at 50 % to the first output crossing 50 % of vdd; NaN if neither
output resolved), ``energy`` (supply energy of the cycle), ``energy_clock`` (energy the
clock source delivers: gate charge of the pre-charge and enable devices) and
``offset_i``: the input-referred current offset, the ``i_bl - i_ref`` at which the
decision flips at this ``i_ref`` (bisection over transients; cached per ``i_ref``,
supply, temperature and mismatch, since it does not depend on ``i_bl``).

The clock is a piecewise-linear source whose edges have corners graded toward their ends
(:data:`CLOCK_EDGE_POINTS`): ngspice puts a time point on every corner and takes its first
step after one as a tenth of the way to the next, so the clock source's current, which
jumps where an edge starts and ends, is sampled within a few femtoseconds of each jump.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from ..paths import netlist_path
from ..validate import require_positive
from .analog import AnalogCircuit, dvth_parameters, subckt_defaults, transistors
from .area import transistor_area
from .base import TEMP, CircuitError, Measured, Measurement, Parameter, supply
from .waveforms import crossing_time, supply_energy

T_CLK = 0.5e-9        # s: pre-charge before the clock edge
T_EDGE = 20e-12       # s: clock edges
T_PRECHARGE = 1e-9    # s: pre-charge after the evaluation, which restores the nodes (energy)
# The evaluation window: a decision takes about Q_DECIDE / 4 / i_min once the currents are
# small (measured at TT for a 0.1 % difference: 53 ns at 0.1 uA, 5.1 ns at 1 uA, 0.65 ns at
# 10 uA: ~5.3 fC, the charge a side loses before the latch regenerates). The window allows
# four times that plus a fixed nanosecond for the regeneration itself.
Q_DECIDE = 21e-15
T_EVAL_MIN = 1e-9
#: Fractions of an edge (0 at its start, 1 at its end) where the clock's PWL source has a
#: corner. A 400-step transient's own steps (t_end / 400: 8-17 ps) sampled each 20 ps edge
#: 5 times and put the clock energy 13 % high (4.58 fJ against a converged 4.05 fJ at
#: 14 / 10 uA; up to 22 % elsewhere); a step cap of T_EDGE / 20 still left +0.9 % at 10x the
#: transient's time. These corners put it within 0.6 % of a 0.1 ps-step run (20 points over
#: 5-200 uA, 0.8-1.3 V) for 3-20 % more time.
CLOCK_EDGE_POINTS = (0.0, 0.002, 0.01, 0.05, 0.2, 0.5, 0.8, 0.95, 0.99, 0.998, 1.0)

_DEVICES = (
    ("dvth_min_b", "mmin_b", "w_m", "l_m", "bit-line mirror input (diode)"),
    ("dvth_min_r", "mmin_r", "w_m", "l_m", "reference mirror input (diode)"),
    ("dvth_mout_b", "mmout_b", "w_m", "l_m", "bit-line mirror output"),
    ("dvth_mout_r", "mmout_r", "w_m", "l_m", "reference mirror output"),
    ("dvth_en_b", "men_b", "w_en", "l_en", "bit-line side enable switch"),
    ("dvth_en_r", "men_r", "w_en", "l_en", "reference side enable switch"),
    ("dvth_ln_b", "mln_b", "w_ln", "l_ln", "latch NMOS, bit-line side"),
    ("dvth_ln_r", "mln_r", "w_ln", "l_ln", "latch NMOS, reference side"),
    ("dvth_lp_b", "mlp_b", "w_lp", "l_lp", "latch PMOS, bit-line side"),
    ("dvth_lp_r", "mlp_r", "w_lp", "l_lp", "latch PMOS, reference side"),
)

#: The design: defaults of the sense_amp subcircuit, read from netlists/sense_amp.lib.
SENSE_AMP_SIZES = {k: v for k, v in subckt_defaults("sense_amp.lib", "sense_amp").items()
                   if not k.startswith("dvth_")}
_FIXED_L = 50e-9  # pre-charge devices and output inverters are minimum length


def eval_window(i_bl: float, i_ref: float) -> float:
    """Evaluation time (s) long enough for the slower side (currents in A) to start the
    latch, with margin for the slow regeneration of a small current difference."""
    return T_EVAL_MIN + Q_DECIDE / min(i_bl, i_ref)


def clock_waveform(vdd: float, t_eval: float) -> tuple[float, ...]:
    """The clock of one cycle as PWL pairs ``(t0, v0, t1, v1, ...)`` (s, V): low until
    :data:`T_CLK`, a :data:`T_EDGE` rise to ``vdd``, high for ``t_eval``, a :data:`T_EDGE`
    fall, low after; each edge with the corners :data:`CLOCK_EDGE_POINTS`. Values are rounded
    to 10 significant digits (under 1e-18 s of a time), which keeps ngspice's ``alter``
    command under its 1023 characters."""
    t_fall = T_CLK + T_EDGE + t_eval
    pairs = [(0.0, 0.0)]
    pairs += [(T_CLK + f * T_EDGE, f * vdd) for f in CLOCK_EDGE_POINTS]
    pairs += [(t_fall + f * T_EDGE, (1 - f) * vdd) for f in CLOCK_EDGE_POINTS]
    return tuple(float(f"{x:.10g}") for pair in pairs for x in pair)


class CurrentSenseAmplifier(AnalogCircuit):
    """A current-mode latch sense amplifier on the shipped 45 nm BSIM4 cards.

    Parameters
    ----------
    corner : {"tt", "ff", "ss"}
    c_load : float
        Capacitance on each output q, qb (F). Default 2 fF (a flip-flop input).
    offset_resolution : float
        Bisection stops when the bracket of the flip point is narrower than this fraction
        of ``i_ref``. Default 1e-3.
    offset_range : float
        Half-width of the searched interval, as a fraction of ``i_ref``. Default 0.5.
    measure_offset : bool
        Run the bisection (about a dozen transients per new ``i_ref``/supply/temperature/
        mismatch); without it ``offset_i`` is NaN.
    relative_input : bool
        Take the bit line relative to the reference: the parameters are ``i_ref`` (A, log)
        and ``overdrive`` = ``(i_bl - i_ref) / i_ref`` (dimensionless, log, 1e-4 .. 4)
        instead of ``i_bl`` and ``i_ref``; ``i_bl = i_ref * (1 + overdrive)`` is computed in
        :meth:`simulate`. The way to sweep the amplifier at its reference: the delay and
        energy grow with ``log(1 / overdrive)`` as the difference shrinks (a grid in
        ``i_bl / i_ref`` on a log axis would put almost no node near 1). The amplifier is
        symmetric, so ``i_bl > i_ref`` (decision 1) is the table; ``i_bl < i_ref`` is its
        mirror. ``i_bl`` reaches 1 mA (``i_ref`` 200 uA, overdrive 4): decisions, delay and
        energy measured smooth in the currents up to 2 mA at TT, 0.8-1.3 V. Default False:
        the absolute ``i_bl``, ``i_ref`` of the original interface.
    """

    name = "sense_amp"
    measurements = (
        Measurement("decision", "1", "1 when q resolves high (the amplifier judged i_bl > i_ref), else 0"),
        Measurement("correct", "1", "1 when the decision agrees with the sign of i_bl - i_ref"),
        Measurement("delay", "s", "clock edge (50 %) to the first output crossing vdd / 2"),
        Measurement("energy", "J", "supply energy of one cycle: evaluation and pre-charge"),
        Measurement("energy_clock", "J", "energy delivered by the clock source over the cycle"),
        Measurement("offset_i", "A", "input-referred current offset: i_bl - i_ref where the decision flips"),
    )

    def __init__(self, corner: str = "tt", c_load: float = 2e-15, offset_resolution: float = 1e-3,
                 offset_range: float = 0.5, measure_offset: bool = True, relative_input: bool = False):
        super().__init__(corner)
        self.c_load = require_positive(c_load, f"{self.name}: c_load", CircuitError, unit="F")
        self.offset_resolution = require_positive(offset_resolution, f"{self.name}: offset_resolution", CircuitError)
        self.offset_range = require_positive(offset_range, f"{self.name}: offset_range", CircuitError)
        if offset_range >= 1:
            raise CircuitError(f"{self.name}: offset_range={offset_range!r} must be below 1 (a fraction of i_ref)")
        self.measure_offset = bool(measure_offset)
        self.relative_input = bool(relative_input)
        self.transistors = transistors(_DEVICES, "xsa", SENSE_AMP_SIZES)
        i_ref = Parameter("i_ref", "A", 10e-6, (0.1e-6, 200e-6), "reference current", scale="log")
        # the defaults describe one point either way: 12 uA against 10 uA
        inputs = (i_ref, Parameter("overdrive", "1", 0.2, (1e-4, 4.0), "the bit line's excess over the "
                                   "reference, (i_bl - i_ref) / i_ref", scale="log")) if self.relative_input else (
            Parameter("i_bl", "A", 12e-6, (0.1e-6, 200e-6), "bit-line current into the amplifier", scale="log"),
            i_ref)
        self.parameters = inputs + (
            supply((0.8, 1.32), "supply and clock voltage (below 0.8 V the latch no longer regenerates "
                   "through two thresholds)"),
            TEMP,
        ) + dvth_parameters(self.transistors)
        self._offsets: dict[tuple, float] = {}

    def area(self) -> float:
        """Layout estimate (m^2) of the sixteen transistors (cimspice.circuits.area)."""
        s, l_min = SENSE_AMP_SIZES, _FIXED_L
        pairs = [(s["w_m"], s["l_m"])] * 4 + [(s["w_en"], s["l_en"])] * 2 + [(s["w_ln"], s["l_ln"])] * 2 \
            + [(s["w_lp"], s["l_lp"])] * 2 + [(s["w_pc"], l_min)] * 2 + [(s["w_in"], l_min), (s["w_ip"], l_min)] * 2
        return sum(transistor_area(w, l) for w, l in pairs)

    def netlist(self) -> str:
        return "\n".join(self.netlist_header(f"current sense amplifier, corner {self.corner}") + [
            f'.include "{netlist_path("sense_amp.lib")}"',
            "vdd vdd 0 dc 1.1",
            f"vclk clk 0 dc 0 pwl({' '.join(f'{v!r}' for v in clock_waveform(1.1, eval_window(12e-6, 10e-6)))})",
            "ibl 0 bl dc 12u",
            "iref 0 ref dc 10u",
            "xsa bl ref clk q qb vdd 0 sense_amp",
            f"cq q 0 {self.c_load!r}",
            f"cqb qb 0 {self.c_load!r}",
            ".end",
        ])

    def eval_window(self, i_bl: float, i_ref: float) -> float:
        """Evaluation time (s) at these currents (A): :func:`eval_window`."""
        return eval_window(i_bl, i_ref)

    def currents(self, point: Mapping[str, float]) -> tuple[float, float]:
        """``(i_bl, i_ref)`` (A) of a full point (:meth:`point`), in either parameterization."""
        if self.relative_input:
            return point["i_ref"] * (1.0 + point["overdrive"]), point["i_ref"]
        return point["i_bl"], point["i_ref"]

    def _cycle(self, engine, p: Mapping[str, float], i_bl: float, t_eval: float, energy: bool):
        self.set(engine, "ibl", i_bl)
        self.set(engine, "iref", p["i_ref"])
        self.set_vector(engine, "vclk", "pwl", clock_waveform(p["vdd"], t_eval))
        t_end = T_CLK + 2 * T_EDGE + t_eval + (T_PRECHARGE if energy else 0.0)
        vectors = ["time", "v(q)", "v(qb)"] + (["i(vdd)", "v(clk)", "i(vclk)"] if energy else [])
        # ngspice's step control refines the regeneration edge and the clock's corners
        # (CLOCK_EDGE_POINTS) the edges; this caps the step elsewhere
        tran = engine.tran(t_end / 400, t_end, vectors=vectors)
        t = tran["time"]
        t_decide = T_CLK + T_EDGE + t_eval  # the clock starts falling here
        q, qb = (float(np.interp(t_decide, t, tran[v])) for v in ("v(q)", "v(qb)"))
        return tran, t_end, 1.0 if q > qb else 0.0

    def simulate(self, engine, point: Mapping[str, float]) -> Measured:
        p = self.point(point)
        self.apply_common(engine, p)
        (i_bl, i_ref), vdd = self.currents(p), p["vdd"]
        t_eval = eval_window(i_bl, i_ref)
        tran, t_end, decision = self._cycle(engine, p, i_bl, t_eval, energy=True)
        t = tran["time"]
        t_edge = T_CLK + 0.5 * T_EDGE
        crossings = [crossing_time(t, tran[v], 0.5 * vdd, direction="rising", after=t_edge)
                     for v in ("v(q)", "v(qb)")]
        crossings = [c for c in crossings if c < T_CLK + T_EDGE + t_eval]
        delay = min(crossings) - t_edge if crossings else math.nan
        stop = min(t_end, float(t[-1]))
        values = {
            "decision": decision,
            "correct": 1.0 if i_bl == i_ref or decision == float(i_bl > i_ref) else 0.0,
            "delay": delay,
            "energy": supply_energy(t, vdd, -tran["i(vdd)"], start=T_CLK, stop=stop),
            "energy_clock": supply_energy(t, tran["v(clk)"], -tran["i(vclk)"], start=T_CLK, stop=stop),
            "offset_i": self._offset(engine, p) if self.measure_offset else math.nan,
        }
        return Measured(values, "aided" if tran.aids else "ok", tran.aids)

    def _offset(self, engine, p: Mapping[str, float]) -> float:
        key = tuple(p[k] for k in p if k not in ("i_bl", "overdrive"))
        if key not in self._offsets:
            self._offsets[key] = self._bisect(engine, p)
        return self._offsets[key]

    def _bisect(self, engine, p: Mapping[str, float]) -> float:
        i_ref = p["i_ref"]
        lo, hi = i_ref * (1 - self.offset_range), i_ref * (1 + self.offset_range)
        bl_lo, bl_hi = (self._cycle(engine, p, i, eval_window(i, i_ref), energy=False)[2] for i in (lo, hi))
        if bl_lo == bl_hi:
            return math.nan  # no flip inside the searched range: the offset is larger
        while hi - lo > self.offset_resolution * i_ref:
            mid = 0.5 * (lo + hi)
            d = self._cycle(engine, p, mid, eval_window(mid, i_ref), energy=False)[2]
            if d == bl_lo:
                lo = mid
            else:
                hi = mid
        return 0.5 * (lo + hi) - i_ref

    def load(self, engine) -> None:
        super().load(engine)
        self._offsets = {}  # found on the netlist loaded before


__all__ = ["CLOCK_EDGE_POINTS", "Q_DECIDE", "CurrentSenseAmplifier", "SENSE_AMP_SIZES", "T_CLK", "T_EDGE",
           "T_EVAL_MIN", "T_PRECHARGE", "clock_waveform", "eval_window"]
