"""cimspice.library: the project's characterized blocks, rebuilt into one surrogate library.

``cimspice library build`` (:func:`build_library`) runs every block of the catalogue
(:data:`CATALOGUE`, :mod:`.blocks`) through ngspice, a training grid and an off-grid
validation sweep each, fits surrogates scored on the validation points and writes them,
with their provenance (:mod:`.provenance`), into one HDF5 surrogate library
(docs/library.md). The build is incremental: blocks whose fingerprint did not change are
not simulated again.

The layer sits above :mod:`cimspice.characterize` and :mod:`cimspice.surrogate`; the
simulator reads its output with :func:`cimspice.surrogate.load_library` alone.
"""

from .blocks import CATALOGUE, Block, adc_block, cam_block, pwl_blocks, select
from .build import BlockResult, build_library
from .errors import LibraryError

__all__ = ["CATALOGUE", "Block", "BlockResult", "LibraryError", "adc_block", "build_library", "cam_block", "pwl_blocks",
           "select"]
