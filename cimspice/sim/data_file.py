"""Evaluation data from a file, for networks the shipped data do not fit (``cimspice
simulate --data FILE.npz``). NumPy's ``.npz`` is read with ``allow_pickle=False``: arrays
only, nothing is unpickled."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from ..validate import require_finite
from .errors import SimError

__all__ = ["read_data_file"]

log = logging.getLogger(__name__)


def read_data_file(path, n: int | None = None, calibration_samples: int | None = 256):
    """``(x, y, x_calibration)`` from an ``.npz`` file with arrays ``x`` (N, ...) and integer
    labels ``y`` (N,), and optionally ``x_calibration`` (M, ...) to set the analog ranges
    (default: ``x`` itself). Read with ``allow_pickle=False``: object arrays are refused, and
    so are NaN or inf anywhere in ``x`` or ``x_calibration``."""
    path = Path(path)
    if not path.is_file():
        raise SimError(f"{path}: no such data file")
    try:
        with np.load(path, allow_pickle=False) as f:
            if not hasattr(f, "files"):
                raise SimError(f"{path}: not an .npz file (expected arrays x and y)")
            arrays = {k: f[k] for k in f.files}
    except SimError:
        raise
    except Exception as error:  # noqa: BLE001 - BadZipFile, ValueError (object arrays), OSError
        raise SimError(f"{path}: not a readable .npz file ({error})".splitlines()[0]) from None
    missing = [k for k in ("x", "y") if k not in arrays]
    if missing:
        raise SimError(f"{path}: array(s) {missing} missing (has {sorted(arrays)})")
    x, y = arrays["x"], arrays["y"]
    x_cal = arrays.get("x_calibration", x)
    if x.dtype.kind not in "fiu" or x.ndim < 2 or x_cal.shape[1:] != x.shape[1:] or x_cal.dtype.kind not in "fiu":
        raise SimError(f"{path}: x must be numeric (N, ...) and x_calibration of the same sample shape; got "
                       f"{x.dtype} {x.shape}, {x_cal.dtype} {x_cal.shape}")
    if y.dtype.kind not in "iu" or y.shape != (len(x),):
        raise SimError(f"{path}: y must be integer labels of shape ({len(x)},), got {y.dtype} {y.shape}")
    for key in ("x", "x_calibration"):  # the whole stored array: a file with NaN in it is broken
        if key in arrays:
            require_finite(arrays[key], f"{path}: {key}", SimError)
    if "x_calibration" not in arrays:
        log.warning("%s: no x_calibration: analog ranges are calibrated on the evaluation inputs", path)
    x, y = x.astype(float)[:n], y.astype(int)[:n]
    if len(x) == 0:
        raise SimError(f"{path}: no samples (n={n})")
    return x, y, x_cal.astype(float)[:calibration_samples]
