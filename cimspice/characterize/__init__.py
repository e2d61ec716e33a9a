"""Sweeps of circuits through ngspice into HDF5 sweep files (docs/sweep_schema.md).

Imports are lazy: worker processes import :mod:`cimspice.characterize.worker` alone, and
should not pay for h5py, YAML and SciPy they never use.
"""

from importlib import import_module

_EXPORTS = {
    "SpecError": "errors", "SweepError": "errors", "SweepFileError": "errors",
    "SweepSpec": "spec", "load_sweep_spec": "spec", "parse_sweep_spec": "spec",
    "sweep_points": "points", "SweepStore": "store", "run_sweep": "runner", "SweepSummary": "runner",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name):
    if name in _EXPORTS:
        return getattr(import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return __all__
