"""System-level simulation in NumPy/SciPy: networks on crossbars of characterized cells.

Never imports PySpice: everything circuit-level arrives through surrogate libraries.
"""

from .analog import ADC, AnalogDense, CellModel, LinearCell, SurrogateCell
from .errors import SimError
from .mapping import DifferentialMapping
from .network import MLP, AnalogMLP, accuracy

__all__ = ["ADC", "AnalogDense", "AnalogMLP", "CellModel", "DifferentialMapping", "LinearCell", "MLP",
           "SimError", "SurrogateCell", "accuracy"]
