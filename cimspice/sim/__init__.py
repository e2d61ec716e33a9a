"""System-level simulation in NumPy/SciPy: networks on crossbars of characterized cells.

Never imports PySpice (nor ngspice, nor PyTorch): everything circuit-level arrives through
surrogate libraries, and the trained networks are HDF5 arrays (:mod:`cimspice.sim.zoo`). The
analog tiles' per-conversion steps run in numba-compiled loops (:mod:`.kernels`), with the
NumPy path as their reference.

- :mod:`.execution` / :mod:`.layers` / :mod:`.network`: NumPy layers whose matrix products and
  nonlinearities go through one backend interface (float reference or analog);
- :mod:`.graph` / :mod:`.graph_layers`: networks as graphs of layers (residuals, attention),
  with digital element-wise and data-movement layers; :mod:`.onnx_import` reads them from ONNX;
- :mod:`.spec`: the accelerator description (YAML -> typed dataclasses);
- :mod:`.mapping`, :mod:`.tile`, :mod:`.peripherals`, :mod:`.backend`: weights on crossbar
  arrays, ADCs, sense, and the analog backend;
- :mod:`.crossbar`: the crossbar solver (IR drop) and the cell models;
- :mod:`.costs`, :mod:`.accounting`, :mod:`.provenance`: per-event figures (each citing its
  source), the energy/latency/area roll-up, and where each figure comes from;
- :mod:`.corners`: the library's tables at a process corner and temperature;
- :mod:`.simulate`, :mod:`.results`, :mod:`.plots`: the ``cimspice simulate`` flow, its tables
  and ``results.json``.
"""

from .backend import AnalogBackend
from .crossbar import LinearCell, SinhCell, SurrogateCell
from .errors import SimError
from .execution import Backend, FloatBackend, MatVec, Nonlinearity
from .graph import Graph
from .network import GPT, Network, Sequential, accuracy, perplexity
from .peripherals import AdcModel, IdealAdc, SenseModel
from .spec import SystemSpec, load_system_spec
from .zoo import list_networks, load_dataset, load_network

__all__ = ["AdcModel", "AnalogBackend", "Backend", "FloatBackend", "GPT", "Graph", "IdealAdc", "LinearCell", "MatVec",
           "Network", "Nonlinearity", "SenseModel", "Sequential", "SimError", "SinhCell", "SurrogateCell", "SystemSpec",
           "accuracy", "list_networks", "load_dataset", "load_network", "load_system_spec", "perplexity"]
