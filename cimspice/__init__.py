"""cimspice: SPICE-backed characterization of ReRAM compute-in-memory accelerators.

Data flows one way::

    cimspice.circuits -> cimspice.characterize -> sweep.h5
        -> cimspice.surrogate -> library.h5 -> cimspice.sim

What the command line does, as five functions (each imports its layer on first use, so
``import cimspice`` stays light and a simulation never loads ngspice)::

    import cimspice
    cimspice.run_sweep("cell.yaml", "cell.h5", workers=4)        # cimspice sweep
    cimspice.fit_library("cell.h5", "library.h5")                 # cimspice fit
    library = cimspice.load_library("library.h5")                 # cimspice inspect
    result = cimspice.simulate("baseline", "cnn", n_samples=200)  # cimspice simulate
    cimspice.run_study("input-splitting", "out/", quick=True)     # cimspice study

``cimspice.sim`` and surrogate evaluation need only NumPy, SciPy and h5py.
"""

from importlib import import_module as _import_module
from importlib import metadata as _metadata

try:
    __version__ = _metadata.version("cimspice")
except _metadata.PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"


class CimspiceError(Exception):
    """Base of every error cimspice raises on purpose.

    The CLI prints ``str(error)`` as one line and exits non-zero; each layer derives its
    own type from this one.
    """


# public function -> the module that defines it, imported on first access (PEP 562)
_FUNCTIONS = {
    "run_sweep": "cimspice.characterize.runner",
    "fit_library": "cimspice.surrogate.library",
    "load_library": "cimspice.surrogate.library",
    "simulate": "cimspice.sim.simulate",
    "run_study": "cimspice.studies",
}

__all__ = ["CimspiceError", "__version__", *_FUNCTIONS]


def __getattr__(name: str):
    if name in _FUNCTIONS:
        function = getattr(_import_module(_FUNCTIONS[name]), name)
        globals()[name] = function  # later lookups skip this hook
        return function
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
