"""The checks for values that enter cimspice from a user: numbers, integers, finite arrays.

Every check raises the caller's layer error (a :class:`~cimspice.CimspiceError` subclass)
with one line in one style, ``"{what}: expected {what a valid value is}, got {value!r}"``,
e.g. ``"tia: r_f: expected a positive number in ohm, got -1000.0"``, and returns the value
as the type the caller goes on with (``float``, ``int``, ``ndarray``).

A number is a real, finite ``int``/``float`` (NumPy scalars included, ``bool`` not:
``True`` is not a resistance); a string such as ``"1u"`` is refused, not parsed.

A NaN or an infinity in a data file, calibration set, surrogate library or an array passed
to a public entry point does not fail loudly further in: it quantizes to zero, saturates a
range or poisons a linear solve, and the answer comes back wrong with exit status 0. So each
such array is checked once, where it enters, with :func:`require_finite`; hot loops behind
that boundary assume finite inputs and stay unchecked.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import NoReturn

import numpy as np

from . import CimspiceError

__all__ = ["require_finite", "require_in_range", "require_int", "require_nonnegative", "require_number",
           "require_positive"]


def _refuse(error: type[CimspiceError], what: str, expected: str, value) -> NoReturn:
    shown = value.item() if isinstance(value, np.generic) else value  # 1.5, not np.float64(1.5)
    try:
        text = repr(shown)
    except ValueError:  # an integer past Python's digit limit for str()
        text = f"an integer of {shown.bit_length()} bits"
    raise error(f"{what}: expected {expected}, got {text[:60] + '...' if len(text) > 63 else text}")


def _finite(value) -> bool:
    """math.isfinite, false for an integer past float's range (which it raises on)."""
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


def _in(unit: str) -> str:
    return f" in {unit}" if unit else ""


def _is_number(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))


def require_number(value, what: str, error: type[CimspiceError] = CimspiceError, *, unit: str = "",
                   hint: str = "") -> float:
    """``value`` as a float, or ``error`` if it is not a finite real number. ``unit`` (SI
    symbol) goes into the message; ``hint`` is added to it when ``value`` is not a number at
    all (e.g. how to write one in a spec file)."""
    if not _is_number(value):
        _refuse(error, what, f"a number{_in(unit)}{hint}", value)
    if not _finite(value):
        _refuse(error, what, f"a finite number{_in(unit)}", value)
    return float(value)


def require_positive(value, what: str, error: type[CimspiceError] = CimspiceError, *, unit: str = "") -> float:
    """``value`` as a float, or ``error`` unless it is a finite number > 0."""
    if not (_is_number(value) and _finite(value) and value > 0):
        _refuse(error, what, f"a positive number{_in(unit)}", value)
    return float(value)


def require_nonnegative(value, what: str, error: type[CimspiceError] = CimspiceError, *, unit: str = "") -> float:
    """``value`` as a float, or ``error`` unless it is a finite number >= 0."""
    if not (_is_number(value) and _finite(value) and value >= 0):
        _refuse(error, what, f"a number >= 0{_in(unit)}", value)
    return float(value)


def require_in_range(value, lo: float, hi: float, what: str, error: type[CimspiceError] = CimspiceError, *,
                     unit: str = "") -> float:
    """``value`` as a float, or ``error`` unless it is a number in the closed interval
    ``[lo, hi]`` (``unit`` follows the interval in the message)."""
    if not (_is_number(value) and lo <= value <= hi):
        _refuse(error, what, f"a number in [{lo:g}, {hi:g}]{' ' + unit if unit else ''}", value)
    return float(value)


def require_int(value, what: str, error: type[CimspiceError] = CimspiceError, *, lo: int | None = None,
                hi: int | None = None) -> int:
    """``value`` as an int, or ``error`` unless it is an integer (NumPy's too, ``bool`` and
    ``2.0`` not) within ``lo`` and ``hi`` (each optional, inclusive)."""
    if lo is not None and hi is not None:
        expected = f"an integer in [{lo}, {hi}]"
    elif lo is not None or hi is not None:
        expected = f"an integer >= {lo}" if lo is not None else f"an integer <= {hi}"
    else:
        expected = "an integer"
    if not (isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))
            and (lo is None or value >= lo) and (hi is None or value <= hi)):
        _refuse(error, what, expected, value)
    return int(value)


def require_finite(array, what: str, error: type[CimspiceError] = CimspiceError,
                   columns: Sequence[str] | None = None) -> np.ndarray:
    """``array`` as an ndarray (not copied if it is one), or ``error`` raised with one line naming ``what``
    and how many entries are NaN or inf, e.g. ``"nan.npz: x: 640 of 640 entries are not
    finite (NaN or inf)"``.

    ``error`` is the caller's layer error (a :class:`~cimspice.CimspiceError` subclass).
    ``columns`` names the last axis' columns of ``array``: the message then also says which
    columns hold the bad entries. Integer and boolean arrays are finite by construction and
    pass; non-numeric arrays are refused.
    """
    a = np.asarray(array)
    if a.dtype.kind in "biu":
        return a
    if a.dtype.kind not in "fc":
        raise error(f"{what}: expected numbers, got dtype {a.dtype}")
    finite = np.isfinite(a)
    if finite.all():
        return a
    n_bad = a.size - int(np.count_nonzero(finite))
    message = f"{what}: {n_bad} of {a.size} entries are not finite (NaN or inf)"
    if columns is not None and a.ndim >= 1:
        per_column = np.count_nonzero(~finite.reshape(-1, a.shape[-1]), axis=0)
        message += " in " + ", ".join(f"{name} ({int(k)})" for name, k in zip(columns, per_column) if k)
    raise error(message)
