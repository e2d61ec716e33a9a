"""The :class:`Surrogate`: one fitted model plus everything needed to use it safely.

A surrogate knows its inputs (names, SI units, linear or log10 scale), its outputs, the
training domain (per-input min/max, physical units), how well it validated, which model
families competed for it, and where its data came from. ``predict`` never extrapolates
silently: points outside the domain raise, are clipped, or warn, as the caller asks.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import h5py
import numpy as np

from ..validate import require_finite
from ._group import read_surrogate, write_surrogate
from .accuracy import validation_text
from .errors import SurrogateDomainError, SurrogateDomainWarning, SurrogateError
from .models import SurrogateModel

__all__ = ["OUT_OF_DOMAIN_POLICIES", "SCALES", "Surrogate"]

log = logging.getLogger(__name__)

#: per-input / per-output transforms: the model sees x or log10(x)
SCALES = ("linear", "log")
#: what ``Surrogate.predict`` does with points outside the training domain
OUT_OF_DOMAIN_POLICIES = ("error", "clip", "warn")
#: a point this far outside the domain (relative to its width) still counts as inside
#: (round-off in the caller's arithmetic), and is clipped onto the bound
DOMAIN_RTOL = 1e-9


def _names(values, what: str) -> list[str]:
    if isinstance(values, str):
        values = [values]
    names = [str(v) for v in values]
    if not names:
        raise SurrogateError(f"{what}: at least one name is required")
    for n in names:
        if not n or "/" in n:
            raise SurrogateError(f"{what}: bad name {n!r} (empty or containing '/')")
    if len(set(names)) != len(names):
        raise SurrogateError(f"{what}: duplicate names in {names}")
    return names


def _per_name(values, names: list[str], what: str, default: str) -> list[str]:
    """Expand ``None`` / a sequence / a mapping name->value into one str per name."""
    if values is None:
        return [default] * len(names)
    if isinstance(values, Mapping):
        unknown = set(values) - set(names)
        if unknown:
            raise SurrogateError(f"{what}: unknown name(s) {sorted(unknown)} (known: {names})")
        return [str(values.get(n, default)) for n in names]
    if isinstance(values, str):
        values = [values]
    values = [str(v) for v in values]
    if len(values) != len(names):
        raise SurrogateError(f"{what}: {len(values)} values for {len(names)} names")
    return values


def _check_scales(scales: list[str], what: str) -> list[str]:
    for s in scales:
        if s not in SCALES:
            raise SurrogateError(f"{what}: scale must be one of {SCALES}, got {s!r}")
    return scales


def _fmt(value: float) -> str:
    return f"{value:.6g}"


class Surrogate:
    """A fitted, validated model of one output (or a set of outputs) of a circuit.

    Parameters
    ----------
    model : SurrogateModel
        Unfitted (call :meth:`fit`) or fitted estimator from :mod:`.models`.
    inputs : sequence of str
        Input names, in column order of ``X``.
    outputs : str or sequence of str
        Output name(s). One name: ``predict`` returns ``(n,)``; several: ``(n, n_outputs)``.
    input_units, output_units : sequence or mapping name -> str, optional
        SI units (e.g. ``"V"``, ``"ohm"``, ``"A"``), stored with the surrogate.
    input_scales, output_scales : sequence or mapping name -> {"linear", "log"}, optional
        ``"log"`` fits the model in log10 of that quantity (conductances, resistances,
        currents spanning decades); the values must then be > 0.
    name : str, optional
        Library key; defaults to the output name(s) joined by "+".
    description : str

    Attributes set by :meth:`fit` (or loading)
    ---------------------------------------------
    domain_min, domain_max : ndarray (n_inputs,)
        Training-domain bounds, physical units.
    validation : dict or None
        ``rms_pct``, ``max_pct`` (ndarray (n_outputs,), % of full scale), ``full_scale``
        (ndarray (n_outputs,), output units: the errors in output units are
        ``rms_pct / 100 * full_scale``, :mod:`.accuracy`), ``n_points`` (int), ``method``
        (str), and ``warning`` (str) for a fit whose held-out error is too large to trust.
    candidates : list of dict
        One per model family tried: ``label``, ``kind``, ``status``, ``rms_pct``,
        ``max_pct``, ``fit_time_s``, ... (plain str/number values).
    provenance : dict
        str -> str/number: source sweep file and its sha256, versions, ...; ``abs_tolerance``
        (float, output units) when the fit was given one for the output
    incomplete_sweep : str
        ``""``, or why its sweep was not finished (file and point counts): fitted on an
        interrupted sweep with ``allow_incomplete``.
    heldout : dict or None
        Set by ``fit_surrogates``, not saved in a library: the points that scored the chosen
        family, ``truth`` and ``pred`` (ndarray (n_val,), output units; ``pred`` from the
        family fitted without them) and the split's ``method``; the report's parity plot.
    """

    def __init__(
        self,
        model: SurrogateModel,
        inputs: Sequence[str],
        outputs: str | Sequence[str],
        *,
        input_units=None,
        output_units=None,
        input_scales=None,
        output_scales=None,
        name: str | None = None,
        description: str = "",
    ):
        if not isinstance(model, SurrogateModel):
            raise SurrogateError(f"model must be a cimspice.surrogate model, got {type(model).__name__}")
        self.model = model
        self.inputs = _names(inputs, "inputs")
        self.single_output = isinstance(outputs, str)
        self.outputs = _names(outputs, "outputs")
        self.input_units = _per_name(input_units, self.inputs, "input_units", "")
        self.output_units = _per_name(output_units, self.outputs, "output_units", "")
        self.input_scales = _check_scales(
            _per_name(input_scales, self.inputs, "input_scales", "linear"), "input_scales"
        )
        self.output_scales = _check_scales(
            _per_name(output_scales, self.outputs, "output_scales", "linear"), "output_scales"
        )
        self.name = name if name is not None else "+".join(self.outputs)
        if not self.name or "/" in self.name or self.name in (".", ".."):
            raise SurrogateError(f"bad surrogate name {self.name!r}")
        if self.single_output and len(self.outputs) != 1:  # pragma: no cover - guarded by _names
            raise SurrogateError("one output name expected")
        self.description = str(description)
        self.validation: dict[str, Any] | None = None
        self.candidates: list[dict[str, Any]] = []
        self.provenance: dict[str, Any] = {}
        self.incomplete_sweep = ""
        self.heldout: dict[str, Any] | None = None
        self._log_in = np.array([s == "log" for s in self.input_scales])
        self._log_out = np.array([s == "log" for s in self.output_scales])

    # ------------------------------------------------------------------ properties
    @property
    def n_inputs(self) -> int:
        return len(self.inputs)

    @property
    def n_outputs(self) -> int:
        return len(self.outputs)

    @property
    def model_kind(self) -> str:
        """The estimator's HDF5 kind: "grid", "poly_ridge", "gp" or "mlp"."""
        return self.model.kind

    @property
    def model_label(self) -> str:
        """Family and main setting, e.g. "grid-cubic", "poly-6", "mlp-64x64"."""
        return self.model.label

    @property
    def domain(self) -> dict[str, tuple[float, float]]:
        """Training domain, input name -> (min, max) in physical units."""
        self._check_fitted()
        return {n: (float(a), float(b)) for n, a, b in zip(self.inputs, self.domain_min, self.domain_max)}

    def is_fitted(self) -> bool:
        return hasattr(self, "domain_min") and self.model.is_fitted()

    def _check_fitted(self) -> None:
        if not self.is_fitted():
            raise SurrogateError(f"surrogate {self.name!r} is not fitted")

    def __repr__(self) -> str:
        return (
            f"Surrogate({self.name!r}, model={self.model_label}, inputs={self.inputs}, "
            f"outputs={self.outputs}{'' if self.is_fitted() else ', unfitted'})"
        )

    # --------------------------------------------------------------- input handling
    def _as_matrix(self, X, what: str = "X") -> np.ndarray:
        """``X`` (array ``(n, n_inputs)`` or mapping name -> 1-D array/scalar) as float64."""
        if isinstance(X, Mapping):
            missing = [n for n in self.inputs if n not in X]
            extra = [k for k in X if k not in self.inputs]
            if missing or extra:
                raise SurrogateError(
                    f"surrogate {self.name!r}: {what} keys must be exactly {self.inputs}"
                    + (f"; missing {missing}" if missing else "")
                    + (f"; unknown {extra}" if extra else "")
                )
            try:
                cols = [np.asarray(X[n], dtype=np.float64) for n in self.inputs]
            except (TypeError, ValueError) as exc:
                raise SurrogateError(f"surrogate {self.name!r}: {what} values must be numeric: {exc}") from None
            for n, c in zip(self.inputs, cols):
                if c.ndim > 1:
                    raise SurrogateError(
                        f"surrogate {self.name!r}: {what}[{n!r}] must be 1-D or a scalar, got shape {c.shape}"
                    )
            try:
                cols = np.broadcast_arrays(*[np.atleast_1d(c) for c in cols])
            except ValueError:
                raise SurrogateError(
                    f"surrogate {self.name!r}: {what} arrays have different lengths "
                    f"{[np.size(c) for c in cols]}"
                ) from None
            return np.stack(cols, axis=1)
        try:
            A = np.asarray(X, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise SurrogateError(f"surrogate {self.name!r}: {what} must be numeric: {exc}") from None
        if A.ndim != 2 or A.shape[1] != self.n_inputs:
            raise SurrogateError(
                f"surrogate {self.name!r}: {what} must have shape (n_points, {self.n_inputs}) "
                f"with columns {self.inputs}, or be a dict of named arrays; got shape {A.shape}"
            )
        return A

    def _as_outputs(self, y, n: int) -> np.ndarray:
        if isinstance(y, Mapping):
            missing = [o for o in self.outputs if o not in y]
            if missing:
                raise SurrogateError(f"surrogate {self.name!r}: y lacks outputs {missing}")
            Y = np.stack([np.asarray(y[o], dtype=np.float64).reshape(-1) for o in self.outputs], axis=1)
        else:
            Y = np.asarray(y, dtype=np.float64)
            if Y.ndim == 1 and self.n_outputs == 1:
                Y = Y[:, None]
        if Y.ndim != 2 or Y.shape != (n, self.n_outputs):
            raise SurrogateError(
                f"surrogate {self.name!r}: y must have shape ({n},) or ({n}, {self.n_outputs}), got {Y.shape}"
            )
        return Y

    def to_model_space(self, X: np.ndarray) -> np.ndarray:
        """Physical inputs ``(n, n_inputs)`` -> model inputs (log10 where log-scaled)."""
        Z = np.array(X, dtype=np.float64, copy=True)
        if self._log_in.any():
            cols = np.flatnonzero(self._log_in)
            if np.any(Z[:, cols] <= 0):
                bad = [self.inputs[j] for j in cols if np.any(Z[:, j] <= 0)]
                raise SurrogateDomainError(f"surrogate {self.name!r}: log-scaled input(s) {bad} must be > 0")
            Z[:, cols] = np.log10(Z[:, cols])
        return Z

    # ----------------------------------------------------------------------- fit
    def fit(self, X, y) -> Surrogate:
        """Fit the model on physical data and record the training domain.

        ``X``: ``(n_points, n_inputs)`` or mapping input name -> ``(n_points,)``;
        ``y``: ``(n_points,)`` (one output), ``(n_points, n_outputs)`` or mapping output
        name -> ``(n_points,)``, in the output units. Log-scaled quantities must be > 0.
        """
        X = self._as_matrix(X)
        Y = self._as_outputs(y, X.shape[0])
        require_finite(X, f"surrogate {self.name!r}: X", SurrogateError, columns=self.inputs)
        require_finite(Y, f"surrogate {self.name!r}: y", SurrogateError, columns=self.outputs)
        if X.shape[0] < 2:
            raise SurrogateError(f"surrogate {self.name!r}: at least 2 points are needed to fit")
        Z = self.to_model_space(X)
        if self._log_out.any():
            cols = np.flatnonzero(self._log_out)
            if np.any(Y[:, cols] <= 0):
                bad = [self.outputs[j] for j in cols if np.any(Y[:, j] <= 0)]
                raise SurrogateError(f"surrogate {self.name!r}: log-scaled output(s) {bad} have values <= 0")
            Y = Y.copy()
            Y[:, cols] = np.log10(Y[:, cols])
        self.model.fit(Z, Y[:, 0] if self.single_output else Y)
        self.domain_min = X.min(axis=0)
        self.domain_max = X.max(axis=0)
        return self

    # ------------------------------------------------------------------- predict
    def predict(self, X, out_of_domain: str = "error") -> np.ndarray:
        """Evaluate the surrogate.

        Parameters
        ----------
        X : array (n_points, n_inputs) or mapping input name -> 1-D array or scalar
            Physical units (those of ``input_units``). NaN/inf is an error.
        out_of_domain : {"error", "clip", "warn"}
            Points outside ``[domain_min, domain_max]`` (beyond a 1e-9 relative
            round-off margin): ``"error"`` raises :class:`SurrogateDomainError`;
            ``"clip"`` moves them onto the domain boundary; ``"warn"`` emits a
            :class:`SurrogateDomainWarning` and extrapolates.

        Returns
        -------
        ndarray (n_points,) for a single-output surrogate, else (n_points, n_outputs),
        in the output units.
        """
        self._check_fitted()
        if out_of_domain not in OUT_OF_DOMAIN_POLICIES:
            raise SurrogateError(f"out_of_domain must be one of {OUT_OF_DOMAIN_POLICIES}, got {out_of_domain!r}")
        X = self._as_matrix(X)
        require_finite(X, f"surrogate {self.name!r}: X", SurrogateError, columns=self.inputs)
        lo, hi = self.domain_min, self.domain_max
        margin = self._margin()
        below, above = X < lo - margin, X > hi + margin
        outside = below | above
        if outside.any():
            message = self._domain_message(X, below, above)
            if out_of_domain == "error":
                raise SurrogateDomainError(message + "; pass out_of_domain='clip' or 'warn' to evaluate anyway")
            if out_of_domain == "warn":
                warnings.warn(message + "; extrapolating", SurrogateDomainWarning, stacklevel=2)
                log.warning("%s; extrapolating", message)
        if out_of_domain != "warn":
            X = np.clip(X, lo, hi)  # also snaps round-off-margin points onto the bound
        else:
            X = np.where(outside, X, np.clip(X, lo, hi))
        Y = self.model.predict(self.to_model_space(X))
        Y = Y.reshape(X.shape[0], self.n_outputs)
        if self._log_out.any():
            Y = Y.copy()
            Y[:, self._log_out] = 10.0 ** Y[:, self._log_out]
        return Y[:, 0] if self.single_output else Y

    def _domain_message(self, X: np.ndarray, below: np.ndarray, above: np.ndarray) -> str:
        n_out = int((below | above).any(axis=1).sum())
        parts = []
        for j, name in enumerate(self.inputs):
            unit = f" {self.input_units[j]}" if self.input_units[j] else ""
            if below[:, j].any():
                parts.append(
                    f"{name} down to {_fmt(X[below[:, j], j].min())}{unit} < min {_fmt(self.domain_min[j])}{unit} "
                    f"({int(below[:, j].sum())} points)"
                )
            if above[:, j].any():
                parts.append(
                    f"{name} up to {_fmt(X[above[:, j], j].max())}{unit} > max {_fmt(self.domain_max[j])}{unit} "
                    f"({int(above[:, j].sum())} points)"
                )
        return (
            f"surrogate {self.name!r}: {n_out} of {X.shape[0]} points outside the training domain: "
            + "; ".join(parts)
        )

    def in_domain(self, X) -> np.ndarray:
        """Boolean ``(n_points,)``: which points lie inside the training domain."""
        self._check_fitted()
        X = self._as_matrix(X)
        lo, hi = self.domain_min, self.domain_max
        margin = self._margin()
        return np.all((X >= lo - margin) & (X <= hi + margin), axis=1)

    def _margin(self) -> np.ndarray:
        """Round-off allowance per input: DOMAIN_RTOL of the domain width (of the value
        itself for an input that was constant in training)."""
        span = self.domain_max - self.domain_min
        return DOMAIN_RTOL * np.where(span > 0, span, np.abs(self.domain_max))

    # ---------------------------------------------------------------------- HDF5
    def to_hdf5(self, group: h5py.Group) -> None:
        """Write into an empty group: attributes, numeric datasets and subgroups only
        (docs/surrogate_schema.md)."""
        self._check_fitted()
        write_surrogate(self, group)

    @classmethod
    def from_hdf5(cls, group: h5py.Group) -> Surrogate:
        """Rebuild from a group written by :meth:`to_hdf5` (types and shapes checked).

        Call :func:`cimspice.surrogate.load_library` for a whole file: it also refuses
        opaque/object data anywhere in it before anything is read.
        """
        return read_surrogate(cls, group)

    # ------------------------------------------------------------------ summary
    def summary(self) -> str:
        """A few lines describing the surrogate (inputs, domain, outputs, validation)."""
        lines = [f"{self.name}: {self.model_label} ({self.model_kind})"]
        for j, n in enumerate(self.inputs):
            unit = self.input_units[j] or "-"
            rng = f"{_fmt(self.domain_min[j])} .. {_fmt(self.domain_max[j])}" if self.is_fitted() else "unfitted"
            lines.append(f"  input  {n} [{unit}, {self.input_scales[j]}]: {rng}")
        for j, n in enumerate(self.outputs):
            unit = self.output_units[j] or "-"
            val = f": {validation_text(self, j)}" if self.validation is not None else ""
            lines.append(f"  output {n} [{unit}, {self.output_scales[j]}]{val}")
        return "\n".join(lines)
