"""Weights to cell conductances, and weight matrices to arrays (tiling).

Weight representation
---------------------
A weight matrix ``W`` (n_in, n_out) is scaled by ``w_max = max|W|`` and written as digit
planes: for every slice ``s`` (``k = mapping.slices`` cells of ``b = cell_bits`` bits, least
significant first) a ``plus`` digit and a ``minus`` digit per weight, so that

    W  ~=  scale * sum_s base**s * (plus_s - minus_s),      base = 2**b.

A digit ``d`` in ``[0, 2**b - 1]`` is the conductance ``g_off + d * (g_on - g_off) / (2**b - 1)``.

- ``differential``: the magnitude ``round(|W|/w_max * (2**(k*b) - 1))`` is sliced into the
  ``plus`` (positive weights) or ``minus`` (negative) column of a pair; the pair's current
  difference cancels ``g_off``.
- ``offset``: ``W`` is shifted by ``2**(k*b - 1)`` (offset binary, one bit less of
  magnitude) and sliced into one column; ``minus`` is a reference column holding the
  offset's digit of that slice (``2**(b-1)`` for the top slice, 0 below), shared by the
  array and subtracted in the sense circuit.
- ``cell_bits: null``: continuous conductances (one slice): differential puts ``|W|/w_max``
  on one cell of the pair; offset puts ``(W/w_max + 1) / 2`` against a reference at 1/2.

Tiling
------
Rows (inputs) are cut into ``ceil(n_in / rows)`` nearly equal row tiles; outputs are packed
``(cols - n_ref) // columns_per_output`` to an array. Each array is a row tile times an
output group; :func:`plan_matrix` says how many and refuses what cannot fit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import SimError

__all__ = ["MatrixPlan", "WeightPlanes", "array_layout", "plan_matrix", "quantise_weights"]


@dataclass(frozen=True)
class WeightPlanes:
    """Digit planes of one weight matrix; see the module documentation.

    plus : (slices, n_in, n_out) digits (float; integers unless continuous)
    minus : (slices, n_in, n_out) digits for differential, (slices,) reference digits for offset
    scale : weight per unit of the slice-0 digit (``W ~= scale * sum_s base**s (plus - minus)``)
    base : ``2**cell_bits`` (1.0 when continuous: one slice)
    levels : largest digit, ``2**cell_bits - 1`` (1.0 when continuous)
    """

    plus: np.ndarray
    minus: np.ndarray
    scale: float
    base: float
    levels: float
    differential: bool

    @property
    def slices(self) -> int:
        return self.plus.shape[0]

    def weights(self) -> np.ndarray:
        """The weights these digits represent (n_in, n_out): the quantised ``W``."""
        minus = self.minus if self.differential else self.minus[:, None, None]
        powers = self.base ** np.arange(self.slices)
        return self.scale * np.tensordot(powers, self.plus - minus, axes=1)


def _slices(magnitude: np.ndarray, k: int, b: int) -> np.ndarray:
    m = magnitude.astype(np.int64)
    return np.stack([(m >> (b * s)) & ((1 << b) - 1) for s in range(k)]).astype(float)


def quantise_weights(W: np.ndarray, weights: str, cell_bits: int | None, slices: int) -> WeightPlanes:
    """Digit planes of ``W`` (n_in, n_out) for mapping ``weights`` ("differential" | "offset")."""
    W = np.asarray(W, dtype=float)
    w_max = float(np.max(np.abs(W))) or 1.0
    u = W / w_max
    diff = weights == "differential"
    if cell_bits is None:
        if slices != 1:
            raise SimError("mapping.slices: continuous conductances (cell_bits: null) take one slice")
        if diff:
            return WeightPlanes(np.maximum(u, 0)[None], np.maximum(-u, 0)[None], w_max, 1.0, 1.0, True)
        return WeightPlanes(((u + 1) / 2)[None], np.array([0.5]), 2 * w_max, 1.0, 1.0, False)
    b, k = int(cell_bits), int(slices)
    if diff:
        top = 2 ** (k * b) - 1
        q = np.rint(u * top)
        return WeightPlanes(_slices(np.maximum(q, 0), k, b), _slices(np.maximum(-q, 0), k, b), w_max / top,
                            float(2 ** b), float(2 ** b - 1), True)
    half = 2 ** (k * b - 1)
    if half < 2:
        raise SimError("mapping.weights: offset mapping needs at least 2 bits per weight (cell_bits * slices)")
    q = np.rint(u * (half - 1))
    ref = _slices(np.array([half]), k, b)[:, 0]
    return WeightPlanes(_slices(q + half, k, b), ref, w_max / (half - 1), float(2 ** b), float(2 ** b - 1), False)


@dataclass(frozen=True)
class MatrixPlan:
    """How one weight matrix sits on arrays.

    row_tiles : list of (start, stop) input ranges, one per row tile
    out_groups : list of (start, stop) output ranges, one array column-set each
    per_output : physical columns per output (slices, x2 for differential)
    n_ref : reference columns per array (offset mapping)
    """

    name: str
    n_in: int
    n_out: int
    row_tiles: list
    out_groups: list
    per_output: int
    n_ref: int
    rows: int
    cols: int

    @property
    def arrays(self) -> int:
        return len(self.row_tiles) * len(self.out_groups)

    @property
    def used_cells(self) -> int:
        return sum((b - a) * ((d - c) * self.per_output + self.n_ref)
                   for a, b in self.row_tiles for c, d in self.out_groups)

    @property
    def utilisation(self) -> float:
        return self.used_cells / (self.arrays * self.rows * self.cols)

    def describe(self) -> str:
        return (f"{self.name}: {self.n_in}x{self.n_out} -> {len(self.row_tiles)} row tile(s) x "
                f"{len(self.out_groups)} output group(s) = {self.arrays} array(s) of {self.rows}x{self.cols}, "
                f"{self.utilisation:.0%} of cells used")


def plan_matrix(name: str, n_in: int, n_out: int, spec) -> MatrixPlan:
    """Tile an (n_in, n_out) matrix onto the arrays of ``spec`` (a :class:`SystemSpec`)."""
    rows, cols = spec.array.rows, spec.array.cols
    k = spec.mapping.slices
    diff = spec.mapping.weights == "differential"
    per_output = k * (2 if diff else 1)
    n_ref = 0 if diff else (1 if k == 1 else 2)
    per_array = (cols - n_ref) // per_output
    if per_array < 1:
        raise SimError(f"{spec.source}: array.cols: {name} needs {per_output + n_ref} columns for one output, "
                       f"the array has {cols}")
    if n_in > rows and spec.tiling.split == "none":
        raise SimError(f"{spec.source}: array.rows: {name} needs {n_in} rows (one output's whole input), the array "
                       f"has {rows} and tiling.split is 'none'; use partial_sums or input_splitting")
    n_tiles = -(-n_in // rows)
    edges = np.linspace(0, n_in, n_tiles + 1).round().astype(int)  # nearly equal tiles
    row_tiles = [(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:])]
    out_groups = [(a, min(a + per_array, n_out)) for a in range(0, n_out, per_array)]
    return MatrixPlan(name, n_in, n_out, row_tiles, out_groups, per_output, n_ref, rows, cols)


def array_layout(planes: WeightPlanes, rows: tuple[int, int], outs: tuple[int, int], g_on: float, g_off: float):
    """Conductances of one array and where each output's slices sit.

    Returns ``G`` (rows_used, cols_used) in S, and ``plus_idx``, ``minus_idx`` (n_outs, slices)
    physical column indices (for offset mapping ``minus_idx`` points at the reference
    columns, placed after the weight columns). Columns run output by output, slice by slice
    (``+`` then ``-`` for a differential pair).
    """
    r0, r1 = rows
    o0, o1 = outs
    k, n_o = planes.slices, o1 - o0
    step = (g_on - g_off) / planes.levels
    plus = planes.plus[:, r0:r1, o0:o1]                       # (k, r, n_o)
    if planes.differential:
        minus = planes.minus[:, r0:r1, o0:o1]
        digits = np.stack([plus, minus], axis=-1)              # (k, r, n_o, 2)
        digits = digits.transpose(1, 2, 0, 3).reshape(r1 - r0, n_o * k * 2)
        idx = np.arange(n_o * k * 2).reshape(n_o, k, 2)
        plus_idx, minus_idx = idx[..., 0], idx[..., 1]
    else:
        refs = sorted(set(planes.minus.tolist()))
        body = plus.transpose(1, 2, 0).reshape(r1 - r0, n_o * k)
        ref_cols = np.repeat(np.array(refs, float)[None, :], r1 - r0, axis=0)
        digits = np.hstack([body, ref_cols])
        plus_idx = np.arange(n_o * k).reshape(n_o, k)
        ref_pos = {r: n_o * k + i for i, r in enumerate(refs)}
        minus_idx = np.broadcast_to(np.array([ref_pos[r] for r in planes.minus.tolist()]), (n_o, k)).copy()
    return g_off + digits * step, plus_idx, minus_idx
