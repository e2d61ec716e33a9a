"""Weights to cell conductances and back: the differential-pair mapping."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import SimError


@dataclass(frozen=True)
class DifferentialMapping:
    """Each weight is the difference of two cells on paired columns.

    ``w -> (g_pos, g_neg)`` with ``g_pos - g_neg = w * (g_on - g_off) / w_max`` and the
    unused cell of the pair left at ``g_off``, so the pair's mean conductance (and the read
    current it draws) is as small as the weight allows.

    Parameters
    ----------
    g_on, g_off : float
        Conductance range of a cell (S), ``g_on > g_off > 0``.
    w_max : float
        Weight magnitude mapped to ``g_on`` (weights beyond it are clipped).
    levels : int or None
        Number of programmable conductance levels per cell (None: continuous).
    """

    g_on: float
    g_off: float
    w_max: float
    levels: int | None = None

    def __post_init__(self):
        if not (self.g_on > self.g_off > 0):
            raise SimError(f"mapping: need g_on > g_off > 0 S, got g_on={self.g_on:g}, g_off={self.g_off:g}")
        if not self.w_max > 0:
            raise SimError(f"mapping: w_max must be positive, got {self.w_max:g}")
        if self.levels is not None and self.levels < 2:
            raise SimError(f"mapping: levels must be at least 2, got {self.levels}")

    @property
    def g_per_weight(self) -> float:
        """Conductance difference per unit weight (S)."""
        return (self.g_on - self.g_off) / self.w_max

    def to_conductances(self, W: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``W`` (rows, cols) -> ``(G_pos, G_neg)`` each (rows, cols) in siemens."""
        w = np.clip(np.asarray(W, dtype=float), -self.w_max, self.w_max) / self.w_max
        if self.levels is not None:
            w = np.round(w * (self.levels - 1)) / (self.levels - 1)
        span = self.g_on - self.g_off
        g_pos = self.g_off + span * np.maximum(w, 0.0)
        g_neg = self.g_off + span * np.maximum(-w, 0.0)
        return g_pos, g_neg
