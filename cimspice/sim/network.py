"""A multilayer perceptron run in float and on analog crossbars, side by side."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .analog import AnalogDense, CellModel
from .errors import SimError
from .mapping import DifferentialMapping


def relu(x: np.ndarray) -> np.ndarray:
    return np.maximum(x, 0.0)


@dataclass
class MLP:
    """Weights of a ReLU multilayer perceptron: ``weights[k]`` (n_k, n_{k+1}), ``biases[k]``
    (n_{k+1},). The last layer's outputs are logits."""

    weights: list[np.ndarray]
    biases: list[np.ndarray]

    def __post_init__(self):
        if len(self.weights) != len(self.biases) or not self.weights:
            raise SimError("MLP: need one bias per weight matrix and at least one layer")
        for k, (W, b) in enumerate(zip(self.weights, self.biases)):
            if W.ndim != 2 or b.shape != (W.shape[1],):
                raise SimError(f"MLP layer {k}: W {W.shape} and b {b.shape} do not fit")
            if k and W.shape[0] != self.weights[k - 1].shape[1]:
                raise SimError(f"MLP layer {k}: {W.shape[0]} inputs after {self.weights[k - 1].shape[1]} outputs")

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Float reference: logits (batch, classes)."""
        for k, (W, b) in enumerate(zip(self.weights, self.biases)):
            x = x @ W + b
            if k < len(self.weights) - 1:
                x = relu(x)
        return x

    def activations(self, x: np.ndarray) -> list[np.ndarray]:
        """Inputs of every layer (float), used to set analog input ranges."""
        inputs = []
        for k, (W, b) in enumerate(zip(self.weights, self.biases)):
            inputs.append(x)
            x = x @ W + b
            if k < len(self.weights) - 1:
                x = relu(x)
        return inputs


class AnalogMLP:
    """The same MLP with every matrix-vector product on crossbars of ``cell``.

    Input ranges and ADC full scales are calibrated on ``x_calibration`` (training data),
    as a deployed accelerator would be; ReLU and biases are digital.
    """

    def __init__(self, mlp: MLP, cell: CellModel, *, g_on: float, g_off: float, v_read: float,
                 adc_bits: int | None, x_calibration: np.ndarray, levels: int | None = None):
        self.mlp = mlp
        self.layers: list[AnalogDense] = []
        x = np.asarray(x_calibration, float)
        for k, (W, b) in enumerate(zip(mlp.weights, mlp.biases)):
            mapping = DifferentialMapping(g_on, g_off, float(np.max(np.abs(W))), levels)
            x_max = float(np.max(x)) or 1.0
            layer = AnalogDense(W, b, cell=cell, mapping=mapping, v_read=v_read, x_max=x_max, adc_bits=adc_bits)
            layer.calibrate(x)
            self.layers.append(layer)
            x = layer(x)
            if k < len(mlp.weights) - 1:
                x = relu(x)

    def forward(self, x: np.ndarray) -> np.ndarray:
        for k, layer in enumerate(self.layers):
            x = layer(x)
            if k < len(self.layers) - 1:
                x = relu(x)
        return x


def accuracy(logits: np.ndarray, labels: np.ndarray) -> float:
    return float(np.mean(np.argmax(logits, axis=1) == labels))
