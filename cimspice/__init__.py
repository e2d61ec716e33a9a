"""cimspice: SPICE-backed characterization of ReRAM compute-in-memory accelerators.

Data flows one way::

    cimspice.circuits -> cimspice.characterize -> sweep.h5
        -> cimspice.surrogate -> library.h5 -> cimspice.sim

``cimspice.sim`` and surrogate evaluation need only NumPy, SciPy and h5py.
"""

from importlib.metadata import PackageNotFoundError, version as _version

try:
    __version__ = _version("cimspice")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"


class CimspiceError(Exception):
    """Base of every error cimspice raises on purpose.

    The CLI prints ``str(error)`` as one line and exits non-zero; each layer derives its
    own type from this one.
    """


__all__ = ["CimspiceError", "__version__"]
