"""The checks for values that enter cimspice from a user: numbers, integers, finite arrays.

Every check raises the caller's layer error (a :class:`~cimspice.CimspiceError` subclass)
with one line in one style, ``"{what}: expected {what a valid value is}, got {value!r}"``,
e.g. ``"tia: r_f: expected a positive number in ohm, got -1000.0"``, and returns the value
as the type the caller goes on with (``float``, ``int``, ``ndarray``).

A number is a real, finite ``int``/``float`` (NumPy scalars included, ``bool`` not:
``True`` is not a resistance); a string such as ``"1u"`` is refused, not parsed, except by
:func:`spice_number`, which reads the values of spec files the way ngspice reads a netlist's.

A NaN or an infinity in a data file, calibration set, surrogate library or an array passed
to a public entry point does not fail loudly further in: it quantizes to zero, saturates a
range or poisons a linear solve, and the answer comes back wrong with exit status 0. So each
such array is checked once, where it enters, with :func:`require_finite`; hot loops behind
that boundary assume finite inputs and stay unchecked.
"""

from __future__ import annotations

import difflib
import math
import numbers
import re
from collections.abc import Sequence
from typing import NoReturn

import numpy as np

from . import CimspiceError

__all__ = ["did_you_mean", "require_finite", "require_in_range", "require_int", "require_nonnegative",
           "require_number", "require_positive", "spice_letters", "spice_number"]


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


#: ngspice's scale suffixes as powers of ten, in any case: ``m`` is milli, ``meg`` mega.
SPICE_SCALES = {"t": 12, "g": 9, "meg": 6, "k": 3, "m": -3, "u": -6, "n": -9, "p": -12, "f": -15}
# number, exponent, scale, then letters ngspice ignores ("1.2uF", "600mV"). ASCII only: with
# re.IGNORECASE alone [a-z] also takes the Kelvin sign and \d Arabic-Indic digits.
_SPICE_NUMBER = re.compile(r"([-+]?(?:\d+\.?\d*|\.\d+))(?:e([-+]?\d+))?(meg|[tgkmunpf])?([a-z]*)",
                           re.IGNORECASE | re.ASCII)
_SPICE_EXAMPLES = "e.g. 0.6, 600m, 1.2u, 10meg"


def spice_number(value, what: str, error: type[CimspiceError] = CimspiceError, *, unit: str = "") -> float:
    """``value`` as a float: a number (as :func:`require_number` takes it) or a string in
    SPICE's notation, read as ngspice reads a device value: ``"600m"`` -> 0.6, ``"1.2u"``,
    ``"10meg"``, ``"1k"``, ``"5n"``, ``"2p"``, ``"3f"``, ``"1g"``, ``"1t"``, in any case
    (``m`` is milli, ``meg`` mega), letters after the scale ignored (``"1.2uF"``,
    ``"600mV"``; so ``"1F"`` is a femto, as in SPICE). Raises ``error`` with one line naming
    ``what`` and the text for anything else, e.g. ``"1.5.3"`` or ``"1k5"`` (which ngspice reads
    as 1.5 and 1000, without a word), and for ``mil``: ngspice reads ``"1mil"`` as 25.4e-6 in a
    device value but as 1e-3 in a ``.param``, so neither reading can be assumed.

    The scale shifts the decimal exponent rather than multiplying: ``"100u"`` is exactly
    ``float("100e-6")``.
    """
    if not isinstance(value, str):
        return require_number(value, what, error, unit=unit, hint=f" ({_SPICE_EXAMPLES})")
    match = _SPICE_NUMBER.fullmatch(value.strip())
    if not match or len(match.group(2) or "") > 4000:  # an exponent int() cannot hold: refused
        _refuse(error, what, f"a number{_in(unit)} ({_SPICE_EXAMPLES})", value)
    mantissa, exponent, scale, letters = match.groups()
    scale = (scale or "").lower()
    number = float(f"{mantissa}e{int(exponent or 0) + SPICE_SCALES.get(scale, 0)}")
    if scale == "m" and letters.lower().startswith("il"):
        raise error(f"{what}: {value!r} is ambiguous: ngspice reads 'mil' as 25.4u in a device value and as "
                    f"milli in a .param; write {number * 0.0254:g} or {number:g}")
    if not _finite(number):
        _refuse(error, what, f"a finite number{_in(unit)}", value)
    return number


def spice_letters(text: str) -> str:
    """The letters after a SPICE number's scale, as written: ``"600mV"`` -> ``"V"``,
    ``"1.2uF"`` -> ``"F"``, ``"1meg"`` -> ``""``; ``""`` for text that is not such a number."""
    match = _SPICE_NUMBER.fullmatch(text.strip()) if isinstance(text, str) else None
    return match.group(4) if match else ""


def did_you_mean(words, choices) -> str:
    """``"; did you mean 'outputs'?"`` for words (a word, or several) that are close to one of
    ``choices`` (:func:`difflib.get_close_matches`, case ignored), ``""`` when none is:
    the end of a one-line "unknown ..." message."""
    words = [words] if isinstance(words, str) else list(words)
    choices = {str(c).lower(): str(c) for c in choices}
    close = []
    for word in sorted(map(str, words)):
        for match in difflib.get_close_matches(word.lower(), choices, n=1):
            if choices[match] not in close:
                close.append(choices[match])
    return f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
