"""Pooling on the array and beside it: average pooling as one equal-conductance ReRAM column,
max pooling as a source-follower winner-take-all.

Average pooling (``avg_pool``): the ``k`` inputs of a pooling window drive ``k`` rows of one
column whose cells all hold the same conductance ``g``; the column is a virtual ground, so
``I = sum_i g v0 sinh(v_i / v0)`` and the pooled value is ``I / (k g)``: the mean of the
inputs through the cell's read law: above the mean by the sinh's curvature, (v/v0)^2 / 6
for equal inputs (0.7 % at 0.05 V, 11 % at 0.2 V), which a consumer of the current can
invert or keep small with small row voltages.

Max pooling (``max_pool``): ``k`` NMOS source followers share one source node and one tail
current; the follower with the highest gate takes the tail current and sets the node at
``max(v_i) - V_GS`` (a voltage-mode winner-take-all, cf. J. Lazzaro et al., "Winner-take-all
networks of O(N) complexity", NIPS 1988, whose current-mode cell shares this principle).
``V_GS`` depends on the source voltage through the body effect (bulk at ground: a fixed
replica left a gain error of -0.17 V/V, measured), so a replica follower with the same tail
current is servoed by an amplifier until its source equals the shared node; its gate is
then the maximum: ``y = v(gate of replica)``. The amplifier is an ideal high-gain VCVS
standing for an op-amp (its energy is not counted). Inputs closer than a few tens of mV
share the tail current and the output reads high; the error is measured, not assumed away.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ..paths import netlist_path
from ..validate import require_in_range, require_int
from .area import transistor_area
from .base import TEMP, Circuit, CircuitError, Measured, Measurement, Parameter
from .clocking import mos
from .devices import RERAM, VDD, check_corner, corner_library, drawn_size

MAX_WINDOW = 16
T_EVAL = 1e-9  # s an evaluation lasts, for the energy of the static max circuit


def _window(k) -> int:
    return require_int(k, "pooling: window", CircuitError, lo=2, hi=MAX_WINDOW)


class AveragePool(Circuit):
    """Average pooling of ``window`` inputs on one ReRAM column of equal conductances ``g``.

    Parameters: ``v_0`` ... ``v_{k-1}`` (V across each cell, [0, 0.3]) and ``g`` (S).
    Measurements: ``i_out`` (A), ``y`` = I / (k g) (V), ``error`` = y - mean(v) (V), and
    ``energy`` (J) the cells dissipate over ``t_read``.
    """

    name = "avg_pool"
    measurements = (Measurement("i_out", "A", "column current"),
                    Measurement("y", "V", "pooled value I / (k g)"),
                    Measurement("error", "V", "y - mean of the inputs"),
                    Measurement("energy", "J", "energy dissipated in the cells over t_read"))

    def __init__(self, window: int = 4, t_read: float = 10e-9):
        self.window = _window(window)
        self.t_read = require_in_range(t_read, 1e-10, 1e-5, f"{self.name}: t_read", CircuitError, unit="s")
        self.parameters = tuple(Parameter(f"v_{i}", "V", 0.1, (0.0, 0.3), f"input {i} (row voltage)")
                                for i in range(self.window)) + (
            Parameter("g", "S", 50e-6, (RERAM.g_off, RERAM.g_on), "conductance of every cell", scale="log"),)

    def netlist(self) -> str:
        k = self.window
        lines = [f"average pooling column window={k}", f'.include "{netlist_path("reram.lib")}"',
                 ".param g=50u " + " ".join(f"v_{i}=0.1" for i in range(k))]
        for i in range(k):
            lines += [f"vr{i} r{i} 0 dc {{v_{i}}}", f"xr{i} r{i} col reram g={{g}}"]
        lines += ["vcol col 0 dc 0", ".end"]
        return "\n".join(lines)

    def simulate(self, engine, point: Mapping[str, float]) -> Measured:
        p = self.point(point)
        for i in range(self.window):
            engine.alter(f"vr{i}", p[f"v_{i}"])
        engine.set_params(g=p["g"])
        vec = ["i(vcol)"] + [f"i(vr{i})" for i in range(self.window)]
        r = engine.op(vec)
        i_out = float(r["i(vcol)"][0])
        v = np.array([p[f"v_{i}"] for i in range(self.window)])
        power = float(sum(-r[f"i(vr{i})"][0] * v[i] for i in range(self.window)))
        y = i_out / (self.window * p["g"])
        return Measured(dict(i_out=i_out, y=y, error=y - float(v.mean()), energy=power * self.t_read), r.status, r.aids)

    def area(self) -> float:
        """Cells only (m^2), 4F^2 crosspoints at F = 45 nm."""
        return self.window * 4 * 45e-9 ** 2


class MaxPool(Circuit):
    """Max pooling of ``window`` input voltages by a source-follower winner-take-all.

    Parameters: ``v_0`` ... (V, [0.5, 1.1]), ``temp`` (degC). Sizes: followers ``w`` x ``l``
    (m), tail current ``i_bias`` (A, an ideal sink standing for a mirror); ``v_rep`` (V) the
    servo's starting point. Measurements: ``y`` (V, the servoed replica's gate),
    ``error`` = y - max(v), ``energy`` (J) from vdd
    over :data:`T_EVAL` (main and replica tails).

    ``inputs="gaps"`` parametrises the same circuit by the window's maximum ``v_max`` (V,
    [0.5, 1.1]) and how far each other input lies below it, ``d_1`` ... ``d_{window-1}`` (V,
    [0, 0.6]; input 0 is the maximum, input i is ``v_max - d_i``). The followers are
    identical, so the error depends on the inputs only through these; in them it is smooth
    (ties sit on the domain's faces ``d_i = 0``, not across grid cells as they do in
    ``v_0`` ... ``v_k``), which is what a grid surrogate of the error needs.
    """

    name = "max_pool"
    loaded_temperature = TEMP.default  # the netlist sets none
    measurements = (Measurement("y", "V", "pooled maximum (servoed replica gate)"),
                    Measurement("error", "V", "y - max of the inputs"),
                    Measurement("energy", "J", "vdd energy over one 1 ns evaluation"))

    def __init__(self, window: int = 4, corner: str = "tt", w: float = 4e-6, l: float = 100e-9,
                 i_bias: float = 2e-6, v_rep: float = 0.8, inputs: str = "voltages"):
        self.window = _window(window)
        if inputs not in ("voltages", "gaps"):
            raise CircuitError(f"{self.name}: inputs={inputs!r} is not 'voltages' or 'gaps'")
        self.inputs = inputs
        self.corner = check_corner(corner, self.name)
        self.w, self.l = drawn_size(w, l, self.name)
        self.i_bias = require_in_range(i_bias, 1e-7, 1e-3, f"{self.name}: i_bias", CircuitError, unit="A")
        self.v_rep = require_in_range(v_rep, 0.5, VDD, f"{self.name}: v_rep", CircuitError, unit="V")
        if inputs == "gaps":
            inputs_ = (Parameter("v_max", "V", 0.8, (0.5, VDD), "largest input (input 0)"),) + tuple(
                Parameter(f"d_{i}", "V", 0.1, (0.0, 0.6), f"input {i} below the largest")
                for i in range(1, self.window))
        else:
            inputs_ = tuple(Parameter(f"v_{i}", "V", 0.8, (0.5, VDD), f"input {i}") for i in range(self.window))
        self.parameters = inputs_ + (TEMP,)

    def netlist(self) -> str:
        k = self.window
        lines = [f"source-follower max (winner-take-all) window={k}",
                 corner_library(self.corner), f"vdd vdd 0 dc {VDD!r}"]
        for i in range(k):
            lines += [f"vin{i} in{i} 0 dc 0.8", mos(f"mf{i}", "vdd", f"in{i}", "out", "0", "nmos_vtg", self.w, self.l)]
        # servo amplifier: gain 1e4, output clamped to the rails like a real op-amp's
        lines += [f"ibias out 0 dc {self.i_bias!r}",
                  f"bservo inr 0 v=min(max({self.v_rep!r}+1e4*(v(out)-v(rep)),0),{VDD!r})",
                  mos("mrep", "vdd", "inr", "rep", "0", "nmos_vtg", self.w, self.l), f"ibrep rep 0 dc {self.i_bias!r}",
                  f".nodeset v(inr)={self.v_rep!r}", ".end"]
        return "\n".join(lines)

    def simulate(self, engine, point: Mapping[str, float]) -> Measured:
        p = self.point(point)
        self.apply_temperature(engine, p["temp"])
        if self.inputs == "gaps":
            v = p["v_max"] - np.array([0.0] + [p[f"d_{i}"] for i in range(1, self.window)])
        else:
            v = np.array([p[f"v_{i}"] for i in range(self.window)])
        for i in range(self.window):
            engine.alter(f"vin{i}", float(v[i]))
        r = engine.op(["v(inr)", "i(vdd)"])
        y = float(r["v(inr)"][0])
        energy = float(-r["i(vdd)"][0] * VDD * T_EVAL)
        return Measured(dict(y=y, error=y - float(v.max()), energy=energy), r.status, r.aids)

    def area(self) -> float:
        """Followers and replica (m^2); the tails' mirrors counted as one more device each."""
        return (self.window + 3) * transistor_area(self.w, self.l)


def mean_through_sinh(v, v0: float = RERAM.v0) -> float:
    """What :class:`AveragePool` ideally reads: mean of v0 sinh(v/v0) (V)."""
    return float(np.mean(v0 * np.sinh(np.asarray(v, float) / v0)))


__all__ = ["AveragePool", "MaxPool", "mean_through_sinh"]
