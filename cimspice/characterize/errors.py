"""The characterization layer's errors: one base type, three cases a user can act on."""

from __future__ import annotations

from .. import CimspiceError


class SweepError(CimspiceError):
    """A sweep that cannot run or had to stop (workers that cannot start, a lost scheduler...)."""


class SpecError(SweepError):
    """A sweep specification that cannot be run: the message names the file, the field and why."""


class SweepFileError(SweepError):
    """A sweep file that cannot be created, resumed or read."""
