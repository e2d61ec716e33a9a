"""The one check for arrays that enter cimspice from a user: every entry finite.

A NaN or an infinity in a data file, calibration set, surrogate library or an array passed
to a public entry point does not fail loudly further in: it quantizes to zero, saturates a
range or poisons a linear solve, and the answer comes back wrong with exit status 0. So each
such array is checked once, where it enters, with :func:`require_finite`; hot loops behind
that boundary assume finite inputs and stay unchecked.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from . import CimspiceError

__all__ = ["require_finite"]


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
