"""Errors of the system simulator."""

from .. import CimspiceError


class SimError(CimspiceError):
    """A system description or network the simulator cannot run."""
