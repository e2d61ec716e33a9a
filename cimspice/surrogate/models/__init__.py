"""Regression models for surrogates, scikit-learn style, evaluated in NumPy.

Every estimator here has ``fit(X, y)`` and ``predict(X)`` with

* ``X``: float array ``(n_points, n_inputs)`` in the units the caller fits in (a
  :class:`~cimspice.surrogate.core.Surrogate` passes log10 of log-scaled inputs);
* ``y``: ``(n_points,)`` for one output or ``(n_points, n_outputs)``; ``predict``
  returns the same rank it was fitted with.

Fitting may use scikit-learn (imported only then); ``predict`` uses NumPy alone (plus
``scipy.special.expit`` for a logistic MLP), so a fitted model reloaded from HDF5 runs
without scikit-learn. After ``fit``, ``sklearn_model_`` holds the fitted scikit-learn
object (where one is used) and ``predict_sklearn(X)`` evaluates it: the NumPy path
reproduces it to floating-point precision (tested).

``to_hdf5(group)`` writes numeric datasets and plain attributes only; ``from_hdf5(group)``
reads them back with dtype and shape checks. :func:`model_from_hdf5` dispatches on the
group's ``kind`` attribute through :data:`MODEL_KINDS` (a fixed table: nothing in a file
names code to run).

One module per estimator: :mod:`.base` (the shared ``SurrogateModel`` and input checks),
:mod:`.grid`, :mod:`.polynomial`, :mod:`.gp` and :mod:`.mlp`.
"""

from __future__ import annotations

import h5py

from .._hdf5 import read_attr
from ..errors import SurrogateError
from .base import SurrogateModel
from .gp import GaussianProcess
from .grid import GridInterpolator
from .mlp import MLP
from .polynomial import PolynomialRidge

__all__ = [
    "GaussianProcess",
    "GridInterpolator",
    "MLP",
    "MODEL_KINDS",
    "PolynomialRidge",
    "SurrogateModel",
    "model_from_hdf5",
]


# ------------------------------------------------------------------------------ registry
#: HDF5 ``kind`` attribute -> estimator class. A fixed table: loading never imports or
#: runs anything a file names.
MODEL_KINDS: dict[str, type[SurrogateModel]] = {
    cls.kind: cls for cls in (GridInterpolator, PolynomialRidge, GaussianProcess, MLP)
}


def model_from_hdf5(group: h5py.Group) -> SurrogateModel:
    """Load whichever model ``group`` holds, dispatching on its ``kind`` attribute."""
    kind = read_attr(group, "kind", "str")
    cls = MODEL_KINDS.get(kind)
    if cls is None:
        raise SurrogateError(f"{group.name}: unknown model kind {kind!r} (known: {', '.join(sorted(MODEL_KINDS))})")
    return cls.from_hdf5(group)
