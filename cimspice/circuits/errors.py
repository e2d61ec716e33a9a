"""The circuits layer's error."""

from __future__ import annotations

from .. import CimspiceError


class CircuitError(CimspiceError):
    """A circuit was asked for something it does not declare or allow."""
