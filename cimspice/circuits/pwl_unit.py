"""A reprogrammable piecewise-linear (PWL) function unit built from a ReRAM array.

The functions, the fit of a function into the array's conductances and the error measures
are in :mod:`.nonlinear`; this module is the circuit.

Topology (``S`` segments, input voltage ``v_in`` in ``[v_cm - v_span/2, v_cm + v_span/2]``)::

    v_in --+--(inp) StrongARM k (inn)-- b_k          k = 1 .. S-1, b_k uniform in v_in
           |        outp_k, outn_k                   (return-to-zero outputs)
           |  sel_k = outp_k AND outn_{k+1}          (pwl_sel: NAND2 + inverter; one-hot)
           |  slope row k:     mux(sel_k: v_in | v_cm)      -> unity row driver -> rs_k
           |  intercept row k: mux(sel_k: v_cm+v_ref | v_cm) -> unity row driver -> ri_k
    cells  rs_k -[G_sp]- colp, rs_k -[G_sn]- coln, ri_k -[G_ip]- colp, ri_k -[G_in]- coln
    colp, coln held at v_cm (virtual ground); I_out = I(colp) - I(coln)

Two modes in one netlist, chosen by the source ``vmode`` (``alter``, no re-parse):
``vmode = 1`` replaces the comparators' outputs by ideal decisions (sources set from
Python for the segment the input falls in: exactly what a comparator without offset
decides), so DC operating points and per-segment ``.dc`` sweeps give the transfer curve
quickly; ``vmode = 0``
uses the StrongARM bank in a one-clock transient for energy and latency. Decoder,
multiplexers and ReRAM cells are the same transistor/device models in both.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from ..paths import netlist_path
from ..validate import require_in_range, require_int
from .area import transistor_area
from .base import TEMP, Circuit, CircuitError, Measured, Measurement, Parameter
from .clocking import clock_buffer, clock_buffer_area
from .comparator import CHGTOL_OPTION, T_DELAY, T_EDGE, StrongArmDesign, model_lines
from .devices import VDD, check_corner
from .nonlinear import CELLS, V_CM, V_REF, V_SPAN, PwlProgram, fit_program, ideal, transfer_error
from .waveforms import crossing_time, settling_time, supply_energy

C_DRIVER = 2e-15  # row-driver input capacitance (F) on every multiplexer output
C_OUT = 1e-15     # wire load (F) on every comparator output
SETTLE_TOL = 0.01  # latency: output within 1 % of full scale of its final value


class PwlUnit(Circuit):
    """The PWL ReRAM function unit of ``segments`` segments, programmed for ``function``.

    Parameters
    ----------
    function : {"sigmoid", "tanh", "relu", "gelu", "exp"}
        Initial program (:meth:`program` changes it; the netlist carries it as defaults).
    segments : int
        Number of segments (2..64; 4..32 characterized): ``segments - 1`` comparators.
    x_min, x_max : float, optional
        Pre-activation range mapped onto the input-voltage window (default per function).
    corner : {"tt", "ff", "ss"}
    t_clk : float
        Clock period (s): comparators reset for the first half, decide in the second.
    timing : bool
        Build the StrongARM bank and measure energy and latency with a one-clock transient
        in :meth:`simulate`. Off: the decoder is driven by ideal decisions only (no
        comparators in the netlist), energy and latency are NaN: DC transfer only, for
        fast surrogate sweeps and transfer curves.

    Sweep parameter ``x`` is the pre-activation in the function's own units; measurement
    ``y`` the activation. ``temp`` (degC) is the other parameter.
    """

    name = "pwl_unit"
    loaded_temperature = TEMP.default  # the netlist sets none
    measurements = (
        Measurement("y", "1", "activation value computed by the array (I_out / i_per_y)"),
        Measurement("i_out", "A", "differential column current I(colp) - I(coln)"),
        Measurement("energy", "J", "energy per evaluation: vdd over one clock period plus row drivers (VDD * |I|)"),
        Measurement("latency", "s", "clock edge to the output current within 1 % of full scale of its final value "
                    "(0 when it never leaves that band: outputs near 0)"),
    )

    def __init__(self, function: str = "sigmoid", segments: int = 8, x_min: float | None = None,
                 x_max: float | None = None, corner: str = "tt", t_clk: float = 2e-9, timing: bool = True):
        self.corner = check_corner(corner, self.name)
        self.t_clk = require_in_range(t_clk, 0.5e-9, 100e-9, f"{self.name}: t_clk", CircuitError, unit="s")
        if (x_min is None) != (x_max is None):
            raise CircuitError(f"{self.name}: give both x_min and x_max, or neither")
        self.timing = bool(timing)
        self.comparator = StrongArmDesign()
        self.segments = require_int(segments, f"{self.name}: segments", CircuitError, lo=2, hi=64)
        self.program_ = fit_program(function, segments, None if x_min is None else (x_min, x_max))
        self.conductances = self.program_.conductances.copy()
        self._set_parameters()

    def _set_parameters(self):
        p = self.program_
        self.parameters = (Parameter("x", "1", 0.5 * (p.x_min + p.x_max), (p.x_min, p.x_max),
                                     f"pre-activation of {p.function} (function units)"), TEMP)

    @property
    def function(self) -> str:
        return self.program_.function

    def program(self, function: str, x_range: tuple[float, float] | None = None) -> PwlProgram:
        """Target conductances for ``function`` (the ideal program; write them with
        :class:`~cimspice.circuits.programming.ArrayProgrammer`, then :meth:`set_conductances`
        the verified values). The netlist takes the targets until then."""
        self.program_ = fit_program(function, self.segments, x_range)
        self.conductances = self.program_.conductances.copy()
        self._set_parameters()
        return self.program_

    # -------------------------------------------------------------- netlist
    def breakpoints(self) -> np.ndarray:
        """Comparator thresholds b_1..b_{S-1} (V): uniform over the input window."""
        return V_CM - V_SPAN / 2 + V_SPAN * np.arange(1, self.segments) / self.segments

    def sweep_points(self, per_segment: int = 8) -> np.ndarray:
        """Inputs (function units) for characterizing the transfer: ``per_segment`` uniform
        points per segment and both sides of every breakpoint (1e-4 of the range away), so
        an interpolating surrogate sees each kink."""
        p = self.program_
        lo, hi = p.x_min, p.x_max
        kinks = p.x_of_v(self.breakpoints())
        return np.unique(np.r_[np.linspace(lo, hi, per_segment * self.segments + 1),
                               kinks - 1e-4 * (hi - lo), kinks + 1e-4 * (hi - lo)])

    def _gname(self, k: int, c: str) -> str:
        return f"g{k}{c}"

    def netlist(self) -> str:
        S = self.segments
        vdd = repr(VDD)
        lines = [f"PWL ReRAM function unit segments={S} function={self.function} corner={self.corner}",
                 *model_lines(self.corner),
                 f'.include "{netlist_path("pwl_unit.lib")}"',
                 f'.include "{netlist_path("reram.lib")}"',
                 ".param " + " ".join(f"{self._gname(k, c)}={float(self.conductances[k, j])!r}"
                                      for k in range(S) for j, c in enumerate(CELLS)),
                 f"vdd vdd 0 dc {vdd}", f"vin in 0 dc {V_CM!r}", f"vcm cm 0 dc {V_CM!r}",
                 f"vvr vr 0 dc {V_CM + V_REF!r}", "vmode mode 0 dc 1"]
        if not self.timing:
            # DC only: the decoder's inputs are the ideal decisions themselves (no comparator
            # bank, no clock: 10x faster operating points for transfer sweeps)
            for k in range(1, S):
                lines += [f"vdp{k} qp{k} 0 dc 0", f"vdn{k} qn{k} 0 dc {vdd}"]
        else:
            lines += [f"vclk clkin 0 pulse(0 {vdd} {T_DELAY!r} {T_EDGE!r} {T_EDGE!r} {self.t_clk / 2 - T_EDGE!r} "
                      f"{self.t_clk!r})",
                      *clock_buffer("clkin", "clk", "vdd", S - 1)]
        for k, b in enumerate(self.breakpoints(), start=1):
            if not self.timing:
                break
            lines += [f"vb{k} b{k} 0 dc {float(b)!r}",
                      *self.comparator.instance(f"c{k}", "in", f"b{k}", "clk", f"sp{k}", f"sn{k}"),
                      f"cop{k} sp{k} 0 {C_OUT!r}", f"con{k} sn{k} 0 {C_OUT!r}",
                      # DC mode: ideal decisions; transient mode: copies of the latch outputs
                      f"vdp{k} dp{k} 0 dc 0", f"vdn{k} dn{k} 0 dc {vdd}",
                      f"bqp{k} qp{k} 0 v=v(mode)*v(dp{k})+(1-v(mode))*v(sp{k})",
                      f"bqn{k} qn{k} 0 v=v(mode)*v(dn{k})+(1-v(mode))*v(sn{k})"]
        for k in range(S):
            a = f"qp{k}" if k > 0 else "vdd"
            b = f"qn{k + 1}" if k < S - 1 else "vdd"
            lines.append(f"xsel{k} {a} {b} sel{k} selb{k} vdd 0 pwl_sel")
            if self.timing:
                lines += [f"xms{k} in cm ms{k} sel{k} selb{k} vdd 0 pwl_mux",
                          f"xmi{k} vr cm mi{k} sel{k} selb{k} vdd 0 pwl_mux",
                          f"cms{k} ms{k} 0 {C_DRIVER!r}", f"cmi{k} mi{k} 0 {C_DRIVER!r}",
                          # unity row drivers, clamped to the rails so that no Newton iterate
                          # drives a cell into sinh/cosh overflow (B-source limit in ngspice)
                          f"brs{k} rs{k} 0 v=min(max(v(ms{k}),0),{vdd})",
                          f"bri{k} ri{k} 0 v=min(max(v(mi{k}),0),{vdd})"]
            else:
                # DC only: the multiplexers carry no DC current (they drive the row drivers'
                # gates), so the row is the decoder's choice itself. Going through them made
                # Newton iterates swing on their MOS-only nodes and overflow the cells' cosh.
                frac = f"min(max(v(sel{k})/{vdd},0),1)"
                lines += [f"brs{k} rs{k} 0 v=v(cm)+(v(in)-v(cm))*{frac}",
                          f"bri{k} ri{k} 0 v=v(cm)+(v(vr)-v(cm))*{frac}"]
            lines += [
                      f"xr{k}sp rs{k} colp reram g={{{self._gname(k, 'sp')}}}",
                      f"xr{k}sn rs{k} coln reram g={{{self._gname(k, 'sn')}}}",
                      f"xr{k}ip ri{k} colp reram g={{{self._gname(k, 'ip')}}}",
                      f"xr{k}in ri{k} coln reram g={{{self._gname(k, 'in')}}}"]
        lines += [f"vcolp colp 0 dc {V_CM!r}", f"vcoln coln 0 dc {V_CM!r}"]
        if self.timing:
            # a first guess for the multiplexer outputs: without it operating points can
            # overflow the cells' cosh on the way (with it ngspice needs gmin stepping)
            lines.append(".nodeset " + " ".join(f"v(ms{k})={V_CM!r} v(mi{k})={V_CM!r}" for k in range(S)))
        else:
            lines.append(".nodeset " + " ".join(f"v(sel{k})=0 v(selb{k})={vdd}" for k in range(S)))
        lines += [CHGTOL_OPTION, ".end"]
        return "\n".join(lines)

    def set_conductances(self, engine, conductances) -> None:
        """Put ``conductances`` ((segments, 4) S, e.g. the verified result of write-verify)
        into the loaded array (``alterparam`` + one ``reset``)."""
        g = np.asarray(conductances, float)
        if g.shape != (self.segments, 4) or not np.all(np.isfinite(g)) or np.any(g <= 0):
            raise CircuitError(f"{self.name}: conductances must be a positive ({self.segments}, 4) array, "
                               f"got {g.shape}")
        self.conductances = g.copy()
        engine.set_params(**{self._gname(k, c): g[k, j] for k in range(self.segments) for j, c in enumerate(CELLS)})

    # -------------------------------------------------------------- measurements
    def output_current(self, result) -> np.ndarray:
        return np.asarray(result["i(vcolp)"]) - np.asarray(result["i(vcoln)"])

    def segment_of(self, v, breakpoints=None) -> np.ndarray:
        """Segment index (0..S-1) an ideal comparator bank picks for input voltage ``v`` (V)."""
        b = self.breakpoints() if breakpoints is None else np.asarray(breakpoints, float)
        return np.searchsorted(b, np.asarray(v, float), side="right")

    def select(self, engine, segment: int) -> None:
        """DC mode: drive the decoder with the decisions that select ``segment``."""
        for k in range(1, self.segments):
            above = k <= segment
            engine.alter(f"vdp{k}", VDD if above else 0.0)
            engine.alter(f"vdn{k}", 0.0 if above else VDD)

    def transfer(self, engine, n_points: int = 401, breakpoints=None) -> tuple[np.ndarray, np.ndarray]:
        """The DC transfer curve: ``n_points`` uniform inputs over the window, one ``.dc``
        sweep per segment with that segment selected (``breakpoints`` (V) override the
        comparator thresholds, e.g. shifted by offsets). Returns ``x`` (function units) and
        ``y`` (activation), shape (n_points,)."""
        if not 2 * self.segments <= n_points <= 100_000:
            raise CircuitError(f"{self.name}: n_points={n_points!r} outside [2 segments, 100000]")
        if self.timing:
            engine.alter("vmode", 1.0)
        v = np.linspace(V_CM - V_SPAN / 2, V_CM + V_SPAN / 2, n_points)
        seg = self.segment_of(v, breakpoints)
        i_out = np.full(n_points, np.nan)
        dv = v[1] - v[0]
        for k in np.unique(seg):
            idx = np.flatnonzero(seg == k)
            self.select(engine, int(k))
            if idx.size == 1:
                engine.alter("vin", float(v[idx[0]]))
                r = engine.op(["i(vcolp)", "i(vcoln)"])
            else:
                r = engine.dc("vin", float(v[idx[0]]), float(v[idx[-1]]) + dv / 2, float(dv), ["i(vcolp)", "i(vcoln)"])
            i_out[idx] = self.output_current(r)[: idx.size]
        return self.program_.x_of_v(v), i_out / self.program_.i_per_y

    def monte_carlo(self, engine, sigma_lng: float, n_runs: int, n_points: int = 201,
                    sigma_offset: float | None = None, seed=None) -> list[dict]:
        """``n_runs`` transfer curves with every cell's ln G drawn with ``sigma_lng``
        (reram.lib's agauss hook, redrawn on each reset) and each comparator's threshold shifted
        by a normal draw of ``sigma_offset`` V (default: the input pair's Pelgrom sigma).
        Returns the :func:`transfer_error` of each run. Restores sigma 0 afterwards."""
        require_in_range(sigma_lng, 0.0, 1.0, f"{self.name}: sigma_lng", CircuitError)
        if sigma_offset is None:
            sig = self.comparator.mismatch_sigmas()
            sigma_offset = math.hypot(sig["dvth_in_p"], sig["dvth_in_n"])
        rng = np.random.default_rng(seed)
        out = []
        try:
            for _ in range(int(n_runs)):
                engine.set_params(reram_sigma_lng=sigma_lng)  # reset: every agauss redrawn
                b = self.breakpoints() + rng.normal(0.0, sigma_offset, self.segments - 1)
                x, y = self.transfer(engine, n_points, breakpoints=np.sort(b))
                out.append(transfer_error(self.function, x, y))
        finally:
            engine.set_params(reram_sigma_lng=0.0)
        return out

    def simulate(self, engine, point: Mapping[str, float]) -> Measured:
        p = self.point(point)
        self.apply_temperature(engine, p["temp"])
        v_in = float(self.program_.v_of_x(p["x"]))
        engine.alter("vin", v_in)
        if self.timing:
            engine.alter("vmode", 1.0)
        self.select(engine, int(self.segment_of(v_in)))
        r = engine.op(["i(vcolp)", "i(vcoln)"])
        i_out = float(self.output_current(r)[0])
        values = dict(y=i_out / self.program_.i_per_y, i_out=i_out, energy=float("nan"), latency=float("nan"))
        status, aids = r.status, r.aids
        if self.timing:
            t = self.evaluate_transient(engine)
            values.update(energy=t["energy"], latency=t["latency"])
            if t["status"] == "aided":
                status, aids = "aided", tuple(dict.fromkeys(aids + t["aids"]))
        return Measured(values, status, aids)

    def evaluate_transient(self, engine) -> dict:
        """One clock cycle with the StrongARM bank at the present input: energy (J: vdd over
        one period from the clock edge, plus row drivers at VDD * |I|), latency (s), the
        settled output current (A) and which segment was selected."""
        S = self.segments
        if not self.timing:
            raise CircuitError(f"{self.name}: built with timing=False (no comparator bank): no transient to run")
        engine.alter("vmode", 0.0)
        try:
            vec = (["time", "v(clk)", "i(vdd)", "i(vcolp)", "i(vcoln)"] + [f"i(brs{k})" for k in range(S)]
                   + [f"i(bri{k})" for k in range(S)] + [f"v(sel{k})" for k in range(S)])
            step = 5e-12
            r = engine.tran(step, T_DELAY + self.t_clk + 0.2e-9, max_step=20e-12, vectors=vec)
        finally:
            engine.alter("vmode", 1.0)
        t = r["time"]
        t_clock = crossing_time(t, r["v(clk)"], VDD / 2, direction="rising")
        t_fall = crossing_time(t, r["v(clk)"], VDD / 2, direction="falling", after=t_clock)
        window = dict(start=t_clock, stop=t_clock + self.t_clk)
        e_supply = supply_energy(t, VDD, -r["i(vdd)"], **window)
        i_drv = sum(np.abs(r[f"i(brs{k})"]) + np.abs(r[f"i(bri{k})"]) for k in range(S))
        e_drivers = supply_energy(t, VDD, i_drv, **window)
        i_out = self.output_current(r)
        final = float(np.interp(t_fall - T_EDGE, t, i_out))
        fs = self.program_.i_per_y * float(np.ptp(ideal(self.function,
                                                        np.linspace(self.program_.x_min, self.program_.x_max, 201))))
        sel = [float(np.interp(t_fall - T_EDGE, t, r[f"v(sel{k})"])) > VDD / 2 for k in range(S)]
        mask = (t >= t_clock) & (t <= t_fall - T_EDGE)
        latency = settling_time(t[mask], i_out[mask], final=final, tolerance=SETTLE_TOL * fs, start=t_clock)
        return {"energy": e_supply + e_drivers, "energy_supply": e_supply, "energy_drivers": e_drivers,
                "latency": latency, "i_out": final, "selected": [k for k, s in enumerate(sel) if s],
                "status": r.status, "aids": r.aids}

    # -------------------------------------------------------------- area
    def area(self) -> float:
        """Layout estimate (m^2): comparators, clock buffer, per segment a select gate and two
        multiplexers (:mod:`.area`), and 4 S ReRAM cells at 4F^2 = 8.1e-15 m^2 each
        (a BEOL crosspoint above the logic, F = 45 nm; row drivers not counted)."""
        S = self.segments
        sel = 2 * transistor_area(0.8e-6, 50e-9) + 2 * transistor_area(0.8e-6, 50e-9) + transistor_area(0.4e-6, 50e-9) \
            + transistor_area(0.8e-6, 50e-9)
        mux = 2 * (transistor_area(0.4e-6, 50e-9) + transistor_area(0.8e-6, 50e-9))
        cells = 4 * S * 4 * 45e-9 ** 2
        return float((S - 1) * self.comparator.area() + clock_buffer_area(S - 1) + S * (sel + 2 * mux) + cells)
