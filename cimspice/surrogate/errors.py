"""Exceptions and warnings of :mod:`cimspice.surrogate`."""

from __future__ import annotations

from .. import CimspiceError


class SurrogateError(CimspiceError):
    """Any problem fitting, storing, loading or evaluating a surrogate.

    The message is one line that names the file (when there is one) and the problem.
    """


class SurrogateDomainError(SurrogateError):
    """Points outside a surrogate's training domain with ``out_of_domain="error"``."""


class SurrogateDomainWarning(UserWarning):
    """Points outside a surrogate's training domain with ``out_of_domain="warn"``."""


def one_line(text: object) -> str:
    """``str(text)`` with newlines folded, for one-line error messages."""
    return " ".join(str(text).split())
