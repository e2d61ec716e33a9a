"""Sweeps of circuits through ngspice into HDF5 sweep files (docs/sweep_schema.md)."""

from .points import sweep_points
from .runner import run_sweep
from .spec import SpecError, SweepSpec, load_spec, parse_spec
from .store import SweepFileError, SweepWriter

__all__ = ["SpecError", "SweepFileError", "SweepSpec", "SweepWriter", "load_spec", "parse_spec",
           "run_sweep", "sweep_points"]
