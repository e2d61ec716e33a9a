"""The demo's analog MLP, now a thin front end to :class:`cimspice.sim.backend.AnalogBackend`.

``AnalogMLP(mlp, cell, g_on=..., g_off=..., v_read=..., adc_bits=..., x_calibration=...)``
puts each layer of an :class:`~cimspice.sim.network.MLP` on one array big enough for it,
as differential conductance pairs (continuous, or ``levels`` programmable levels), drives
the rows with ideal DAC voltages, and converts each column pair with an ``adc_bits`` ADC
whose range is calibrated on ``x_calibration``. ReLU and biases are digital.
"""

from __future__ import annotations

import numpy as np

from ..validate import require_finite
from .backend import AnalogBackend
from .cells import LinearCell, SurrogateCell
from .errors import SimError
from .network import MLP
from .spec import parse_system_spec

__all__ = ["AnalogMLP", "LinearCell", "SurrogateCell"]


class AnalogMLP:
    """An :class:`MLP` with every matrix-vector product on crossbars of ``cell``.

    Parameters
    ----------
    mlp : MLP
    cell : cell model (:class:`LinearCell`, :class:`SinhCell`, :class:`SurrogateCell`, ...)
    g_on, g_off : float, conductance range (S)
    v_read : float, read voltage (V) of the largest calibration input
    adc_bits : int or None (ideal converter)
    x_calibration : (n, n_in) inputs that set the input and ADC ranges
    levels : int or None, programmable levels per cell (a power of two), None continuous
    """

    def __init__(self, mlp: MLP, cell, *, g_on: float, g_off: float, v_read: float, adc_bits: int | None,
                 x_calibration: np.ndarray, levels: int | None = None):
        if levels is not None and (levels < 2 or levels & (levels - 1)):
            raise SimError(f"AnalogMLP: levels must be a power of two >= 2 or None, got {levels}")
        rows = max(W.shape[0] for W in mlp.weights)
        cols = 2 * max(W.shape[1] for W in mlp.weights)
        spec = parse_system_spec({
            "name": "analog-mlp",
            "array": {"rows": rows, "cols": cols, "g_on": g_on, "g_off": g_off, "v_read": v_read,
                      "cell_bits": None if levels is None else int(levels).bit_length() - 1},
            "mapping": {"weights": "differential", "slices": 1},
            "inputs": {"encoding": "dac", "bits": None},
            "adc": {"bits": adc_bits, "range": "calibrated"},
            "tiling": {"split": "none"},
        }, "AnalogMLP")
        self.mlp, self.network = mlp, mlp.network()
        self.backend = AnalogBackend(spec, cell=cell)
        self.backend.calibrate(self.network, np.asarray(x_calibration, float))

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Logits (batch, classes) of the analog network for inputs ``x`` (batch, n_in), finite."""
        return self.network.forward(require_finite(np.asarray(x, float), "x", SimError), self.backend)
