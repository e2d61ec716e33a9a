"""The functions a reprogrammable piecewise-linear (PWL) ReRAM unit computes, and its programs.

After de Moura & Carro, "Reprogrammable non-linear circuits using ReRAM for NN
accelerators", ACM TRETS (2023): the nonlinearity is computed by a rewritable ReRAM array,
so sigmoid, tanh, ReLU, GELU and exp share one circuit and differ only in conductances
(the circuit: :class:`~cimspice.circuits.pwl_unit.PwlUnit`).

With ``u = v_in - v_cm`` and the cell's read law ``I = G v0 sinh(V/v0)`` (netlists/reram.lib),
segment ``k`` outputs ``I_out = (G_sp - G_sn) s(u) + (G_ip - G_in) s(v_ref)``,
``s(V) = v0 sinh(V/v0)``; :func:`fit_program` fits each segment's two differential
coefficients in exactly that basis, so the cells' sinh nonlinearity is part of the fit
rather than an error. The activation is ``y = I_out / i_per_y``.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..validate import require_int
from .base import CircuitError
from .devices import RERAM

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
    segments = require_int(segments, "segments", CircuitError, lo=2, hi=64)
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


__all__ = ["CELLS", "FUNCTIONS", "PwlProgram", "V_CM", "V_REF", "V_SPAN", "fit_program", "ideal", "transfer_error"]
