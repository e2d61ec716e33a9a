"""The ngspice engine: one libngspice per process, circuits loaded once and changed in place.

Importing this package does not load ngspice; :func:`get_engine` does, on first use.
"""

from .engine import Engine, Result, get_engine, vector_key
from .errors import (
    ConvergenceError,
    EngineUnavailableError,
    MissingVectorError,
    NetlistError,
    ParameterError,
    SimulationTimeout,
    SingularMatrixError,
    SpiceError,
    TimestepTooSmallError,
)
from .log import Outcome, classify

__all__ = [
    "ConvergenceError", "Engine", "EngineUnavailableError", "MissingVectorError", "NetlistError", "Outcome",
    "ParameterError", "Result", "SimulationTimeout", "SingularMatrixError", "SpiceError",
    "TimestepTooSmallError", "classify", "get_engine", "vector_key",
]
