"""The library layer's error type."""

from __future__ import annotations

from .. import CimspiceError


class LibraryError(CimspiceError):
    """A library build that cannot run as asked: an unknown block, a bad option, a block
    whose sweeps or fits failed. The message is one line naming the block and the reason."""
