"""StrongARM latch comparator (``netlists/strongarm.lib``) with an optional pre-amplifier.

:class:`StrongArmDesign` holds the device sizes and writes the subcircuit instance lines
(the ADCs reuse it); :class:`StrongArmComparator` is the characterizable bench: one clock
cycle per point, measuring decision delay, energy per decision and the decision, and the
input-referred offset by bisection on the differential input.

Mismatch: each offset-relevant device has a threshold shift parameter ``dvth_*`` (V),
applied as the BSIM4 instance parameter ``delvto``. Monte Carlo draws them in Python from
Pelgrom's law (:func:`pelgrom_sigma`, :meth:`StrongArmComparator.draw_mismatch`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields

import numpy as np

from ..paths import netlist_path
from ..validate import require_in_range, require_nonnegative
from .analog import A_VT, pelgrom_sigma
from .area import resistor_area, transistor_area
from .base import TEMP, Circuit, CircuitError, Measured, Measurement, Parameter, supply
from .clocking import clock_buffer
from .devices import MAX_SIZE, MIN_L, MIN_W, VDD, check_corner, corner_library
from .waveforms import crossing_time, supply_energy

# Bench timing: first clock edge, clock edge time (s).
T_DELAY = 100e-12
T_EDGE = 20e-12
# Largest transient step (s) for decisions alone (the charge tolerance below sets the steps
# through them), and for measuring delay and energy: the delay at 1 uV of overdrive moves by
# 3 % from 5 ps to 2 ps steps, by 14 % from 10 ps (measured).
MAX_STEP = 100e-12
MAX_STEP_FINE = 2e-12

# ngspice's default charge tolerance (1e-14 C) exceeds the charge on the latch's
# femtofarad nodes, so its time-step control ignores their errors: with 20-50 ps steps the
# latch then decides wrongly at 1 mV overdrive and a 10 mV Vth shift reads as 8-17 mV of
# offset. At 1e-16 C decisions and offsets match a 2 ps fixed-step reference (to 50 uV)
# for any maximum step up to 200 ps, at a tenth of that reference's cost.
CHGTOL_OPTION = ".options chgtol=1e-16"

# The design fields that are not a drawn size: (lo, hi, unit).
_SIZE_RANGES = {"pa_i_bias": (1e-7, 1e-3, "A"), "pa_r_load": (100.0, 1e6, "ohm")}


@dataclass(frozen=True)
class StrongArmDesign:
    """Device sizes (m) of the StrongARM latch and, if ``preamp``, of its pre-amplifier.

    Defaults: a 2 um / 100 nm input pair (Pelgrom sigma 4 mV per device at A_VT = 2.5 mV*um),
    1 um latch pairs and small reset devices and output inverters; the pre-amplifier is a
    4 um / 100 nm pair with 30 kOhm loads on a 20 uA tail (gain about 5.5).
    See ``netlists/strongarm.lib`` for the topology.
    """

    w_in: float = 2e-6
    l_in: float = 100e-9
    w_tail: float = 2e-6
    l_tail: float = 50e-9
    w_ln: float = 1e-6
    l_ln: float = 50e-9
    w_lp: float = 1e-6
    l_lp: float = 50e-9
    w_rst: float = 0.5e-6
    w_bn: float = 0.4e-6
    w_bp: float = 0.8e-6
    preamp: bool = False
    pa_w_in: float = 4e-6
    pa_l_in: float = 100e-9
    pa_r_load: float = 30e3
    pa_w_tail: float = 2e-6
    pa_l_tail: float = 200e-9
    pa_i_bias: float = 20e-6

    def __post_init__(self):
        if not isinstance(self.preamp, bool):
            raise CircuitError(f"strongarm: preamp must be true or false, got {self.preamp!r}")
        for f in fields(self):
            if f.name == "preamp":
                continue
            length = f.name.removeprefix("pa_").startswith("l")
            lo, hi, unit = _SIZE_RANGES.get(f.name, (MIN_L if length else MIN_W, MAX_SIZE, "m"))
            require_in_range(getattr(self, f.name), lo, hi, f"strongarm: {f.name}", CircuitError, unit=unit)

    # -------------------------------------------------------------- devices
    def devices(self) -> list[tuple[str, float, float]]:
        """Every transistor as (name, w, l), pre-amplifier (and its bias mirror) included."""
        d = self
        out = [("tail", d.w_tail, d.l_tail), ("in_p", d.w_in, d.l_in), ("in_n", d.w_in, d.l_in),
               ("ln_p", d.w_ln, d.l_ln), ("ln_n", d.w_ln, d.l_ln), ("lp_p", d.w_lp, d.l_lp),
               ("lp_n", d.w_lp, d.l_lp)]
        out += [(f"rst_{s}", d.w_rst, MIN_L) for s in ("a", "b", "xp", "xn")]
        out += [("bn_p", d.w_bn, MIN_L), ("bp_p", d.w_bp, MIN_L), ("bn_n", d.w_bn, MIN_L), ("bp_n", d.w_bp, MIN_L)]
        if d.preamp:
            out += [("pa_bias", d.pa_w_tail, d.pa_l_tail), ("pa_tail", d.pa_w_tail, d.pa_l_tail),
                    ("pa_in_p", d.pa_w_in, d.pa_l_in), ("pa_in_n", d.pa_w_in, d.pa_l_in)]
        return out

    def mismatch_devices(self) -> dict[str, tuple[float, float]]:
        """The ``dvth_*`` parameters that set the offset, each with its device's (w, l).

        The tail (common to both sides), the reset devices (off while deciding) and the
        output inverters (timing only) are left out.
        """
        sizes = {name: (w, l) for name, w, l in self.devices()}
        names = ["in_p", "in_n", "ln_p", "ln_n", "lp_p", "lp_n"]
        if self.preamp:
            names += ["pa_in_p", "pa_in_n"]
        return {f"dvth_{n}": sizes[n] for n in names}

    def mismatch_sigmas(self, a_vt: float = A_VT) -> dict[str, float]:
        """Pelgrom sigma (V) of each ``dvth_*`` parameter."""
        return {name: pelgrom_sigma(w, l, a_vt) for name, (w, l) in self.mismatch_devices().items()}

    def area(self) -> float:
        """Layout estimate (m^2), :mod:`cimspice.circuits.area`: transistors, and the
        pre-amplifier's two load resistors."""
        loads = 2 * resistor_area(self.pa_r_load) if self.preamp else 0.0
        return float(sum(transistor_area(w, l) for _, w, l in self.devices()) + loads)

    # -------------------------------------------------------------- netlist
    def instance(self, name: str, inp: str, inn: str, clk: str, outp: str, outn: str,
                 vdd: str = "vdd", vss: str = "0", dvth: Mapping[str, object] | None = None) -> list[str]:
        """Instance line(s) of this comparator. ``dvth`` maps ``dvth_*`` names to numbers or
        ``{expressions}``; missing ones are 0. ``outp`` goes high when ``inp > inn``."""
        dvth = dict(dvth or {})
        unknown = set(dvth) - set(self.mismatch_devices())
        if unknown:
            raise CircuitError(f"strongarm: unknown offset parameter(s) {', '.join(sorted(unknown))}")
        d = self

        def val(key):
            v = dvth.get(key, 0.0)
            return v if isinstance(v, str) else repr(float(v))

        latch = (f"w_in={d.w_in!r} l_in={d.l_in!r} w_tail={d.w_tail!r} l_tail={d.l_tail!r} "
                 f"w_ln={d.w_ln!r} l_ln={d.l_ln!r} w_lp={d.w_lp!r} l_lp={d.l_lp!r} "
                 f"w_rst={d.w_rst!r} w_bn={d.w_bn!r} w_bp={d.w_bp!r} "
                 + " ".join(f"dvth_{k}={val('dvth_' + k)}" for k in ("in_p", "in_n", "ln_p", "ln_n", "lp_p", "lp_n")))
        if not d.preamp:
            return [f"x{name} {inp} {inn} {clk} {outp} {outn} {vdd} {vss} strongarm {latch}"]
        pre = (f"w_in={d.pa_w_in!r} l_in={d.pa_l_in!r} r_load={d.pa_r_load!r} "
               f"w_tail={d.pa_w_tail!r} l_tail={d.pa_l_tail!r} i_bias={d.pa_i_bias!r} "
               + " ".join(f"dvth_{k}={val('dvth_pa_' + k)}" for k in ("in_p", "in_n")))
        return [f"x{name}_pa {inp} {inn} {name}_pp {name}_pn {vdd} {vss} sa_preamp {pre}",
                f"x{name} {name}_pp {name}_pn {clk} {outp} {outn} {vdd} {vss} strongarm {latch}"]


def model_lines(corner: str) -> list[str]:
    """The ``.lib``/``.include`` lines every bench using the comparator starts with."""
    return [corner_library(corner), f'.include "{netlist_path("strongarm.lib")}"']


def strongarm_design(sizes: Mapping[str, object], where: str) -> StrongArmDesign:
    """``StrongArmDesign(**sizes)``; a field it does not have is a :class:`CircuitError` naming ``where``."""
    try:
        return StrongArmDesign(**dict(sizes))
    except TypeError as error:
        raise CircuitError(f"{where}: {error}".replace("__init__()", "size")) from None


class StrongArmComparator(Circuit):
    """A StrongARM comparator bench: ideal inputs ``v_cm +- v_od/2``, a clock, loads ``c_load``.

    Parameters
    ----------
    corner : {"tt", "ff", "ss"}
    c_load : float
        Capacitance (F) on each buffered output, 2 fF: a flip-flop input and some wire.
    measure_offset : bool
        Also find the input-referred offset by bisection (about 12 extra half-cycle runs
        per point); off for delay/energy sweeps.
    offset_range, offset_resolution : float
        Bisection interval ``[-offset_range, offset_range]`` and stopping width (V).
    a_vt : float
        Pelgrom coefficient (V*m) for :meth:`mismatch_sigmas`.
    **sizes
        Fields of :class:`StrongArmDesign` (``w_in``, ``l_in``, ..., ``preamp``).

    One point simulates one clock cycle from reset: the clock rises at 100 ps (20 ps edges),
    evaluates for ``t_clk/2`` and resets for the other half.
    """

    name = "strongarm"
    measurements = (
        Measurement("delay", "s", "clock rising 50 % to the first output's 50 % crossing"),
        Measurement("energy", "J", "energy from vdd over one clock period from the clock's 50 % edge"),
        Measurement("energy_clock", "J", "energy the clock buffer draws from its supply over the same period"),
        Measurement("decision", "1",
                    "1 if outp is high at the end of evaluation (inp > inn), 0 if outn, NaN if neither"),
        Measurement("correct", "1", "1 if the decision matches the sign of v_od, else 0; NaN at v_od = 0"),
        Measurement("v_offset", "V", "input-referred offset: the v_od where the decision flips (NaN if not measured)"),
    )

    def __init__(self, corner: str = "tt", c_load: float = 2e-15, measure_offset: bool = True,
                 offset_range: float = 0.1, offset_resolution: float = 1e-4, a_vt: float = A_VT, **sizes):
        self.corner = check_corner(corner, self.name)
        self.design = strongarm_design(sizes, self.name)
        self.c_load = require_in_range(c_load, 0.0, 1e-12, f"{self.name}: c_load", CircuitError, unit="F")
        if not (0 < offset_resolution < offset_range <= 0.5):
            raise CircuitError(f"{self.name}: need 0 < offset_resolution < offset_range <= 0.5 V")
        self.a_vt = require_nonnegative(a_vt, f"{self.name}: a_vt", CircuitError, unit="V*m")
        self.measure_offset = bool(measure_offset)
        self.offset_range, self.offset_resolution = float(offset_range), float(offset_resolution)
        self.parameters = (
            supply((0.7, 1.3), "supply (the clock swings 0..vdd)"),
            Parameter("v_cm", "V", 0.7, (0.3, 1.3), "input common mode"),
            Parameter("v_od", "V", 0.01, (-0.5, 0.5), "differential input inp - inn (overdrive)"),
            Parameter("t_clk", "s", 2e-9, (0.2e-9, 100e-9), "clock period (half evaluates, half resets)", scale="log"),
            TEMP,
        ) + tuple(Parameter(n, "V", 0.0, (-0.2, 0.2), f"threshold shift (delvto) of device {n[5:]}")
                  for n in self.design.mismatch_devices())
        self._applied: dict[str, float] = {}

    # -------------------------------------------------------------- declaration
    def mismatch_sigmas(self) -> dict[str, float]:
        """Pelgrom sigma (V) of each ``dvth_*`` parameter of this design."""
        return self.design.mismatch_sigmas(self.a_vt)

    def draw_mismatch(self, n: int, seed=None) -> dict[str, np.ndarray]:
        """``n`` Monte Carlo draws of every ``dvth_*`` (V): name -> (n,) array, independent
        normal with the Pelgrom sigmas. Use them as sweep points (design ``list``)."""
        rng = np.random.default_rng(seed)
        return {name: rng.normal(0.0, sigma, int(n)) for name, sigma in self.mismatch_sigmas().items()}

    def area(self) -> float:
        """Layout estimate (m^2) of the comparator (pre-amplifier included)."""
        return self.design.area()

    # -------------------------------------------------------------- netlist
    def netlist(self) -> str:
        dv = list(self.design.mismatch_devices())
        return "\n".join([
            f"StrongARM comparator bench corner={self.corner} preamp={self.design.preamp}",
            *model_lines(self.corner),
            ".param t_clk=2n " + " ".join(f"{n}=0" for n in dv),
            f"vdd vdd 0 dc {VDD!r}",
            "vin_p inp 0 dc 0.705",
            "vin_n inn 0 dc 0.695",
            f"vdd_clk vddc 0 dc {VDD!r}",
            # a unit clock scaled by the supply node, so vdd can change by `alter` alone,
            # buffered by two inverters on their own supply: energy_clock is what a real
            # driver draws (C V^2), not the ideal source's (half that for a slow edge)
            f"vclku clku 0 pulse(0 1 {T_DELAY!r} {T_EDGE!r} {T_EDGE!r} {{t_clk/2-{T_EDGE!r}}} {{t_clk}})",
            "bclk clkin 0 v=v(vdd)*v(clku)",
            *clock_buffer("clkin", "clk", "vddc", 1),
            *self.design.instance("c", "inp", "inn", "clk", "outp", "outn",
                                  dvth={n: f"{{{n}}}" for n in dv}),
            f"cload_p outp 0 {self.c_load!r}",
            f"cload_n outn 0 {self.c_load!r}",
            CHGTOL_OPTION,
            ".end",
        ])

    def loaded_state(self) -> dict:
        return {"t_clk": 2e-9, **{n: 0.0 for n in self.design.mismatch_devices()}}  # the netlist's .param

    # -------------------------------------------------------------- simulation
    def _apply(self, engine, p: Mapping[str, float]) -> None:
        changed = {k: p[k] for k in ("t_clk", *self.design.mismatch_devices()) if p[k] != self._applied.get(k)}
        if changed:
            engine.set_params(**changed)
            self._applied.update(changed)
        self.apply_temperature(engine, p["temp"])
        engine.alter("vdd", p["vdd"])
        engine.alter("vdd_clk", p["vdd"])

    def _inputs(self, engine, v_cm: float, v_od: float) -> None:
        engine.alter("vin_p", v_cm + v_od / 2)
        engine.alter("vin_n", v_cm - v_od / 2)

    def _tran(self, engine, t_clk: float, stop: float, fine: bool = False):
        step = MAX_STEP_FINE if fine else min(t_clk / 20, MAX_STEP)
        return engine.tran(step, stop, max_step=step,
                           vectors=["time", "v(clk)", "v(outp)", "v(outn)", "i(vdd)", "i(vdd_clk)"])

    def _decision(self, r, p) -> float:
        t_end = T_DELAY + p["t_clk"] / 2  # the clock starts to fall here
        hp = np.interp(t_end, r["time"], r["v(outp)"]) > p["vdd"] / 2
        hn = np.interp(t_end, r["time"], r["v(outn)"]) > p["vdd"] / 2
        return float(hp) if hp != hn else float("nan")

    def simulate(self, engine, point: Mapping[str, float]) -> Measured:
        p = self.point(point)
        if p["v_cm"] > p["vdd"]:
            raise CircuitError(f"{self.name}: v_cm={p['v_cm']:g} V above vdd={p['vdd']:g} V")
        self._apply(engine, p)
        self._inputs(engine, p["v_cm"], p["v_od"])
        t_clk, half = p["t_clk"], p["vdd"] / 2
        # the buffered clock edge lags the source by tens of ps: run past one full period
        r = self._tran(engine, t_clk, T_DELAY + t_clk + max(0.25 * t_clk, 200e-12), fine=True)
        t = r["time"]
        t_clock = crossing_time(t, r["v(clk)"], half, direction="rising")
        t_fall = crossing_time(t, r["v(clk)"], half, direction="falling", after=t_clock)
        t_out = np.array([crossing_time(t, r[v], half, direction="rising", after=t_clock)
                          for v in ("v(outp)", "v(outn)")])
        t_out = t_out[np.isfinite(t_out) & (t_out < t_fall)]
        delay = float(t_out.min() - t_clock) if t_out.size else float("nan")
        window = dict(start=t_clock, stop=t_clock + t_clk)
        energy = supply_energy(t, p["vdd"], -r["i(vdd)"], **window)
        energy_clock = supply_energy(t, p["vdd"], -r["i(vdd_clk)"], **window)
        decision = self._decision(r, p)
        if p["v_od"] == 0:
            correct = float("nan")
        else:
            correct = float(decision == float(p["v_od"] > 0))
        status, aids = r.status, r.aids
        v_offset = float("nan")
        if self.measure_offset:
            v_offset, extra = self._offset(engine, p)
            if extra:
                status, aids = "aided", tuple(dict.fromkeys(aids + extra))
        values = dict(delay=delay, energy=energy, energy_clock=energy_clock, decision=decision,
                      correct=correct, v_offset=v_offset)
        return Measured(values, status, aids)

    def decide(self, engine, point: Mapping[str, float]) -> float:
        """The decision (1, 0 or NaN) for one checked point, from a half-cycle run."""
        p = self.point(point)
        self._apply(engine, p)
        self._inputs(engine, p["v_cm"], p["v_od"])
        return self._decision(self._tran(engine, p["t_clk"], T_DELAY + p["t_clk"] / 2 + T_EDGE), p)

    def offset(self, engine, point: Mapping[str, float]) -> float:
        """Input-referred offset (V) at ``point`` (its ``v_od`` is ignored)."""
        p = self.point(point)
        self._apply(engine, p)
        return self._offset(engine, p)[0]

    def _offset(self, engine, p) -> tuple[float, tuple[str, ...]]:
        # Bisection on v_od: the decision is 1 above the offset and 0 below. A point that
        # does not resolve within the evaluation phase is metastable: it is the trip point
        # to within the bisection's resolution, so it ends the search.
        aids: tuple[str, ...] = ()

        def decide(v_od):
            nonlocal aids
            self._inputs(engine, p["v_cm"], v_od)
            r = self._tran(engine, p["t_clk"], T_DELAY + p["t_clk"] / 2 + T_EDGE)
            aids += r.aids
            return self._decision(r, p)

        lo, hi = -self.offset_range, self.offset_range
        if decide(lo) != 0.0 or decide(hi) != 1.0:
            return float("nan"), aids  # offset outside the range (or the latch does not work)
        while hi - lo > self.offset_resolution:
            mid = 0.5 * (lo + hi)
            d = decide(mid)
            if math.isnan(d):
                return mid, aids
            lo, hi = (lo, mid) if d == 1.0 else (mid, hi)
        return 0.5 * (lo + hi), aids
