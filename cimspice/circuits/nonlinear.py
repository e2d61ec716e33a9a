"""A reprogrammable piecewise-linear (PWL) function unit built from a ReRAM array.

After de Moura & Carro, "Reprogrammable non-linear circuits using ReRAM for NN
accelerators", ACM TRETS (2023): the nonlinearity is computed by a rewritable ReRAM array,
so sigmoid, tanh, ReLU, GELU and exp share one circuit and differ only in conductances.

Topology (``S`` segments, input voltage ``v_in`` in ``[v_cm - v_span/2, v_cm + v_span/2]``)::

    v_in --+--(inp) StrongARM k (inn)-- b_k          k = 1 .. S-1, b_k uniform in v_in
           |        outp_k, outn_k                   (return-to-zero outputs)
           |  sel_k = outp_k AND outn_{k+1}          (pwl_sel: NAND2 + inverter; one-hot)
           |  slope row k:     mux(sel_k: v_in | v_cm)      -> unity row driver -> rs_k
           |  intercept row k: mux(sel_k: v_cm+v_ref | v_cm) -> unity row driver -> ri_k
    cells  rs_k -[G_sp]- colp, rs_k -[G_sn]- coln, ri_k -[G_ip]- colp, ri_k -[G_in]- coln
    colp, coln held at v_cm (virtual ground); I_out = I(colp) - I(coln)

With ``u = v_in - v_cm`` and the cell's read law ``I = G v0 sinh(V/v0)`` (netlists/reram.lib),
segment ``k`` outputs ``I_out = (G_sp - G_sn) s(u) + (G_ip - G_in) s(v_ref)``,
``s(V) = v0 sinh(V/v0)``; :func:`fit_program` fits each segment's two differential
coefficients in exactly that basis, so the cells' sinh nonlinearity is part of the fit
rather than an error. The activation is ``y = I_out / i_per_y``.

Two modes in one netlist, chosen by the source ``vmode`` (``alter``, no re-parse):
``vmode = 1`` replaces the comparators' outputs by ideal decisions (sources set from
Python for the segment the input falls in: exactly what a comparator without offset
decides), so DC operating points and per-segment ``.dc`` sweeps give the transfer curve
quickly; ``vmode = 0``
uses the StrongARM bank in a one-clock transient for energy and latency. Decoder,
multiplexers and ReRAM cells are the same transistor/device models in both.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Callable, Mapping

import numpy as np

from ..paths import netlist_path
from .area import transistor_area
from .base import Circuit, CircuitError, Measured, Measurement, Parameter
from .comparator import (CHGTOL_OPTION, CORNERS, T_DELAY, T_EDGE, StrongArmDesign, clock_buffer,
                         clock_buffer_area, load_single_threaded)
from .devices import RERAM, VDD
from .waveforms import crossing_time, settling_time, supply_energy

_log = logging.getLogger(__name__)

SQRT2 = math.sqrt(2.0)


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-np.asarray(x, float)))


def _gelu(x):
    from scipy.special import erf  # scipy's import costs every sweep worker ~50 MB: only when used

    x = np.asarray(x, float)
    return 0.5 * x * (1.0 + erf(x / SQRT2))


# function -> (ideal f(x), default input range). Ranges: where each function is not yet
# saturated in fp16 networks; exp on [-8, 0] because softmax subtracts the row maximum first.
FUNCTIONS: dict[str, tuple[Callable, tuple[float, float]]] = {
    "sigmoid": (_sigmoid, (-8.0, 8.0)),
    "tanh": (np.tanh, (-4.0, 4.0)),
    "relu": (lambda x: np.maximum(np.asarray(x, float), 0.0), (-4.0, 4.0)),
    "gelu": (_gelu, (-4.0, 4.0)),
    "exp": (np.exp, (-8.0, 0.0)),
}
CELLS = ("sp", "sn", "ip", "in")  # slope +/-, intercept +/- cells of every segment

# Input voltage window: the NMOS-input StrongARM needs a common mode above ~0.4 V
# (docs/peripherals.md); +-0.2 V around 0.7 V keeps every cell far below the 1.05 V
# switching threshold (reads never disturb) and the sinh law within 11 % of linear.
V_CM, V_SPAN, V_REF = 0.7, 0.4, 0.2
# Largest differential coefficient as a fraction of the window g_on - g_off: headroom for
# the write-verify tolerance and device variation.
FILL = 0.9
C_DRIVER = 2e-15  # row-driver input capacitance (F) on every multiplexer output
C_OUT = 1e-15     # wire load (F) on every comparator output
SETTLE_TOL = 0.01  # latency: output within 1 % of full scale of its final value


def ideal(function: str, x) -> np.ndarray:
    """The exact function ``function`` at ``x`` (function units)."""
    if function not in FUNCTIONS:
        raise CircuitError(f"function {function!r} is not one of {', '.join(FUNCTIONS)}")
    return np.asarray(FUNCTIONS[function][0](np.asarray(x, float)), float)


def _s(v):
    return RERAM.v0 * np.sinh(np.asarray(v, float) / RERAM.v0)


@dataclass(frozen=True)
class PwlProgram:
    """Target state of the array for one function.

    ``conductances``: (segments, 4) S, columns :data:`CELLS`; ``slope``, ``intercept``:
    (segments,) differential coefficients (S); ``i_per_y``: output current per unit of the
    activation (A); ``x_min``, ``x_max``: the function's input range mapped onto the
    input-voltage window.
    """

    function: str
    x_min: float
    x_max: float
    conductances: np.ndarray
    slope: np.ndarray
    intercept: np.ndarray
    i_per_y: float

    @property
    def segments(self) -> int:
        return self.conductances.shape[0]

    def v_of_x(self, x):
        """Input voltage (V) that represents pre-activation ``x``."""
        return V_CM + V_SPAN * ((np.asarray(x, float) - self.x_min) / (self.x_max - self.x_min) - 0.5)

    def x_of_v(self, v):
        return self.x_min + (self.x_max - self.x_min) * ((np.asarray(v, float) - V_CM) / V_SPAN + 0.5)

    def predict(self, x, conductances=None) -> np.ndarray:
        """The activation the array computes at ``x`` by the read law alone (NumPy, ideal
        comparators): the model the fit optimises, and a test oracle for ngspice."""
        g = self.conductances if conductances is None else np.asarray(conductances, float)
        v = self.v_of_x(x)
        k = np.searchsorted(V_CM - V_SPAN / 2 + V_SPAN * np.arange(1, self.segments) / self.segments, v, side="right")
        i = (g[k, 0] - g[k, 1]) * _s(v - V_CM) + (g[k, 2] - g[k, 3]) * _s(V_REF)
        return i / self.i_per_y


def _minimax_continuous(u_segments: list[np.ndarray], y_segments: list[np.ndarray], u_breaks: np.ndarray):
    """Coefficients (alpha_k, beta_k) of ``alpha_k s(u) + beta_k`` on every segment, minimising
    the largest error over all samples, with the pieces meeting at every breakpoint (a
    linear programme). Continuity costs little accuracy and makes the unit insensitive to
    comparator offsets: a shifted breakpoint only moves where two equal values meet."""
    from scipy.optimize import linprog  # only when fitting (see _gelu)

    n_seg = len(u_segments)
    m = 2 * n_seg + 1  # alpha_0, beta_0, ..., t
    rows, rhs = [], []
    for k, (u, y) in enumerate(zip(u_segments, y_segments)):
        block = np.zeros((u.size, m))
        block[:, 2 * k], block[:, 2 * k + 1], block[:, -1] = _s(u), 1.0, -1.0
        rows.append(block)
        rhs.append(y)
        neg = -block
        neg[:, -1] = -1.0
        rows.append(neg)
        rhs.append(-y)
    eq = np.zeros((n_seg - 1, m))
    for k, ub in enumerate(u_breaks):
        eq[k, 2 * k], eq[k, 2 * k + 1], eq[k, 2 * k + 2], eq[k, 2 * k + 3] = _s(ub), 1.0, -_s(ub), -1.0
    cost = np.zeros(m)
    cost[-1] = 1.0
    res = linprog(cost, A_ub=np.vstack(rows), b_ub=np.concatenate(rhs), A_eq=eq if n_seg > 1 else None,
                  b_eq=np.zeros(n_seg - 1) if n_seg > 1 else None, bounds=[(None, None)] * (m - 1) + [(0, None)],
                  method="highs")
    if not res.success:  # pragma: no cover - a feasible LP on finite data always solves
        raise CircuitError(f"PWL fit failed: {res.message}")
    return res.x[0:-1:2], res.x[1:-1:2]


def fit_program(function: str, segments: int, x_range: tuple[float, float] | None = None,
                g_on: float = RERAM.g_on, g_off: float = RERAM.g_off, fill: float = FILL) -> PwlProgram:
    """Continuous minimax PWL fit of ``function`` on ``segments`` uniform segments, in the
    array's own basis ``{s(u), s(v_ref)}``, scaled so the largest coefficient is ``fill``
    of the conductance window and mapped onto differential pairs within ``[g_off, g_on]``."""
    if function not in FUNCTIONS:
        raise CircuitError(f"function {function!r} is not one of {', '.join(FUNCTIONS)}")
    if isinstance(segments, bool) or not isinstance(segments, (int, np.integer)) or not 2 <= segments <= 64:
        raise CircuitError(f"segments={segments!r}: must be an integer in [2, 64]")
    x_min, x_max = FUNCTIONS[function][1] if x_range is None else map(float, x_range)
    if not (math.isfinite(x_min) and math.isfinite(x_max) and x_min < x_max):
        raise CircuitError(f"x_range=({x_min}, {x_max}): need finite x_min < x_max")
    if not (0 < fill <= 1 and 0 < g_off < g_on):
        raise CircuitError("fill must be in (0, 1] and 0 < g_off < g_on")
    edges = np.linspace(x_min, x_max, segments + 1)
    u_of_x = lambda x: V_SPAN * ((x - x_min) / (x_max - x_min) - 0.5)  # noqa: E731
    xs = [np.linspace(edges[k], edges[k + 1], 65) for k in range(segments)]
    alpha, beta = _minimax_continuous([u_of_x(x) for x in xs], [ideal(function, x) for x in xs], u_of_x(edges[1:-1]))
    big = max(np.max(np.abs(alpha)), np.max(np.abs(beta)) / float(_s(V_REF)))
    i_per_y = fill * (g_on - g_off) / big
    slope, intercept = alpha * i_per_y, beta * i_per_y / float(_s(V_REF))
    g = np.column_stack([g_off + np.maximum(slope, 0), g_off + np.maximum(-slope, 0),
                         g_off + np.maximum(intercept, 0), g_off + np.maximum(-intercept, 0)])
    return PwlProgram(function, float(x_min), float(x_max), g, slope, intercept, float(i_per_y))


def transfer_error(function: str, x, y, full_scale: float | None = None) -> dict[str, float]:
    """Max and RMS |y - f(x)| (activation units and % of the function's full scale on x)."""
    ref = ideal(function, x)
    fs = float(np.ptp(ref)) if full_scale is None else float(full_scale)
    err = np.asarray(y, float) - ref
    mx, rms = float(np.max(np.abs(err))), float(np.sqrt(np.mean(err ** 2)))
    return {"max": mx, "rms": rms, "max_pct": 100 * mx / fs, "rms_pct": 100 * rms / fs, "full_scale": fs}


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
    measurements = (
        Measurement("y", "1", "activation value computed by the array (I_out / i_per_y)"),
        Measurement("i_out", "A", "differential column current I(colp) - I(coln)"),
        Measurement("energy", "J", "energy per evaluation: vdd over one clock period plus row drivers (VDD * |I|)"),
        Measurement("latency", "s", "clock edge to the output current within 1 % of full scale of its final value "
                    "(0 when it never leaves that band: outputs near 0)"),
    )

    def __init__(self, function: str = "sigmoid", segments: int = 8, x_min: float | None = None,
                 x_max: float | None = None, corner: str = "tt", t_clk: float = 2e-9, timing: bool = True):
        if corner not in CORNERS:
            raise CircuitError(f"{self.name}: corner {corner!r} is not one of {', '.join(CORNERS)}")
        if not 0.5e-9 <= t_clk <= 100e-9:
            raise CircuitError(f"{self.name}: t_clk={t_clk!r} s outside [0.5 ns, 100 ns]")
        if (x_min is None) != (x_max is None):
            raise CircuitError(f"{self.name}: give both x_min and x_max, or neither")
        self.corner, self.t_clk, self.timing = corner, float(t_clk), bool(timing)
        self.comparator = StrongArmDesign()
        self.segments = int(segments) if not isinstance(segments, bool) and isinstance(segments, (int, np.integer)) else segments
        self.program_ = fit_program(function, segments, None if x_min is None else (x_min, x_max))
        self.conductances = self.program_.conductances.copy()
        self._set_parameters()
        self._loaded = False

    def _set_parameters(self):
        p = self.program_
        self.parameters = (Parameter("x", "1", 0.5 * (p.x_min + p.x_max), (p.x_min, p.x_max),
                                     f"pre-activation of {p.function} (function units)"),
                           Parameter("temp", "degC", 27.0, (-40.0, 125.0), "temperature"))

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
                 f'.lib "{netlist_path("ptm45.lib")}" {self.corner}',
                 f'.include "{netlist_path("strongarm.lib")}"',
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
            lines += [f"vclk clkin 0 pulse(0 {vdd} {T_DELAY!r} {T_EDGE!r} {T_EDGE!r} {self.t_clk / 2 - T_EDGE!r} {self.t_clk!r})",
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

    def load(self, engine) -> None:
        load_single_threaded(engine, self.netlist(), self.name)
        self._applied = {"temp": 27.0}

    def __getstate__(self):
        return {**self.__dict__, "_applied": {}}

    def set_conductances(self, engine, conductances) -> None:
        """Put ``conductances`` ((segments, 4) S, e.g. the verified result of write-verify)
        into the loaded array (``alterparam`` + one ``reset``)."""
        g = np.asarray(conductances, float)
        if g.shape != (self.segments, 4) or not np.all(np.isfinite(g)) or np.any(g <= 0):
            raise CircuitError(f"{self.name}: conductances must be a positive ({self.segments}, 4) array, got {g.shape}")
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
        if not 0 <= sigma_lng <= 1:
            raise CircuitError(f"{self.name}: sigma_lng={sigma_lng!r} outside [0, 1]")
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
        unknown = set(point) - {q.name for q in self.parameters}
        if unknown:
            self.parameter(sorted(unknown)[0])
        p = {q.name: float(q.check(point.get(q.name, q.default), where=self.name)) for q in self.parameters}
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
        fs = self.program_.i_per_y * float(np.ptp(ideal(self.function, np.linspace(self.program_.x_min, self.program_.x_max, 201))))
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
