"""Dense layers computed by crossbars of characterized cells.

A layer ``y = x @ W + b`` becomes: inputs ``x`` (batch, rows) encoded as read voltages on
the rows, weights ``W`` (rows, cols) as differential conductance pairs, column currents
from the cell model summed on each column, the pair difference digitised by an ADC, and
the code scaled back to the weight domain; the bias is added digitally.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from .errors import SimError
from .mapping import DifferentialMapping


class CellModel(Protocol):
    """Anything that gives a cell's read current (A) from its state ``g`` (S) and its read
    voltage ``v`` (V), elementwise over broadcastable arrays."""

    def current(self, g: np.ndarray, v: np.ndarray) -> np.ndarray: ...


class LinearCell:
    """The ideal cell, I = g v: the reference every non-ideal result is compared with."""

    def current(self, g, v):
        return np.asarray(g) * np.asarray(v)


class SurrogateCell:
    """A cell whose current comes from a fitted surrogate of SPICE sweeps.

    ``surrogate`` must predict one output from named inputs including ``g_input`` and
    ``v_input``; every other input is held at ``fixed[name]`` (e.g. the word-line voltage).
    """

    def __init__(self, surrogate, *, g_input: str = "g", v_input: str = "v_bl", fixed: dict | None = None,
                 out_of_domain: str = "error"):
        self.surrogate = surrogate
        names = list(surrogate.inputs)
        fixed = dict(fixed or {})
        missing = [n for n in names if n not in (g_input, v_input) and n not in fixed]
        if missing or g_input not in names or v_input not in names:
            raise SimError(f"cell surrogate inputs {names}: need {g_input!r}, {v_input!r} and fixed values "
                           f"for {missing}")
        self.names, self.g_input, self.v_input, self.fixed = names, g_input, v_input, fixed
        self.out_of_domain = out_of_domain

    def current(self, g, v):
        g, v = np.broadcast_arrays(np.asarray(g, float), np.asarray(v, float))
        columns = []
        for name in self.names:
            if name == self.g_input:
                columns.append(g.ravel())
            elif name == self.v_input:
                columns.append(v.ravel())
            else:
                columns.append(np.full(g.size, float(self.fixed[name])))
        out = self.surrogate.predict(np.column_stack(columns), out_of_domain=self.out_of_domain)
        return np.asarray(out, float).reshape(g.shape)


@dataclass
class ADC:
    """A uniform ADC on a symmetric range: ``bits`` of resolution over [-full_scale, full_scale]
    (A). ``bits=None`` is an ideal, infinitely fine converter."""

    bits: int | None
    full_scale: float = 1.0

    def convert(self, current: np.ndarray) -> np.ndarray:
        if self.bits is None:
            return current
        step = 2 * self.full_scale / (2 ** self.bits - 1)
        codes = np.clip(np.round(current / step), -(2 ** (self.bits - 1)) + 1, 2 ** (self.bits - 1) - 1)
        return codes * step


class AnalogDense:
    """One dense layer on a crossbar of cells.

    Parameters
    ----------
    W : (rows, cols) weights; b : (cols,) bias (added digitally).
    cell : :class:`CellModel` giving the read current of each cell.
    mapping : :class:`DifferentialMapping` from weights to conductances.
    v_read : float, read voltage (V) that encodes the largest input ``x_max``.
    x_max : float, input value mapped to ``v_read`` (inputs are clipped to [0, x_max]).
    adc_bits : int or None; the ADC full scale is set by :meth:`calibrate`.
    chunk : int, batch rows evaluated at once (bounds memory at chunk*rows*cols cells).
    """

    def __init__(self, W, b, *, cell: CellModel, mapping: DifferentialMapping, v_read: float, x_max: float,
                 adc_bits: int | None = None, chunk: int = 64):
        W = np.asarray(W, dtype=float)
        if W.ndim != 2:
            raise SimError(f"AnalogDense: W must be (rows, cols), got shape {W.shape}")
        if not (v_read > 0 and x_max > 0):
            raise SimError(f"AnalogDense: v_read ({v_read}) and x_max ({x_max}) must be positive")
        self.W, self.b = W, np.asarray(b, dtype=float)
        self.cell, self.mapping = cell, mapping
        self.v_read, self.x_max = float(v_read), float(x_max)
        self.g_pos, self.g_neg = mapping.to_conductances(W)
        self.adc = ADC(adc_bits, 1.0)
        self.chunk = int(chunk)

    @property
    def rows(self) -> int:
        return self.W.shape[0]

    def voltages(self, x: np.ndarray) -> np.ndarray:
        """Row read voltages (V) for inputs ``x`` (batch, rows)."""
        return np.clip(x, 0.0, self.x_max) * (self.v_read / self.x_max)

    def differential_current(self, x: np.ndarray) -> np.ndarray:
        """(batch, cols) current difference of each column pair (A)."""
        x = np.atleast_2d(np.asarray(x, dtype=float))
        if x.shape[1] != self.rows:
            raise SimError(f"AnalogDense: input has {x.shape[1]} features, the array has {self.rows} rows")
        V = self.voltages(x)
        out = np.empty((len(V), self.W.shape[1]))
        for start in range(0, len(V), self.chunk):
            v = V[start:start + self.chunk, :, None]
            i_pos = self.cell.current(self.g_pos[None], v).sum(axis=1)
            i_neg = self.cell.current(self.g_neg[None], v).sum(axis=1)
            out[start:start + self.chunk] = i_pos - i_neg
        return out

    def calibrate(self, x: np.ndarray) -> None:
        """Set the ADC full scale to the largest differential current on ``x``."""
        self.adc.full_scale = float(np.max(np.abs(self.differential_current(x)))) or 1.0

    def __call__(self, x: np.ndarray) -> np.ndarray:
        current = self.adc.convert(self.differential_current(x))
        # current = sum_i g_per_weight * W_ij * x_i * v_read / x_max for an ideal cell
        return current * (self.x_max / (self.v_read * self.mapping.g_per_weight)) + self.b
