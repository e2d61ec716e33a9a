"""A surrogate's validation error in its output's own unit, beside % of full scale.

%FS alone misleads for an output whose whole span is tiny: a SAR bit-weight error
spanning 0.002 LSB over the supply shows 11.6 %FS for an error of 2e-4 LSB, which no
conversion notices. Wherever a surrogate's error is shown (``cimspice inspect``, the fit
report, the library's doc tables and datasheet, the fit warning) it is shown in both, as
``RMS 1.9e-4 LSB (11.6 %FS)`` or ``RMS 3.1 uA (0.4 %FS)`` (SI units with a prefix, others
such as LSB in plain or exponent notation). The absolute error is the stored score times
the stored full scale (``validation/full_scale``, output units); the tolerance is the one
declared for the output (``provenance/abs_tolerance``, output units;
docs/surrogate_schema.md), below which a large %FS does not warn.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from typing import Any

from .errors import SurrogateError

__all__ = ["ACCURACY_WARNING_PCT", "abs_error", "accuracy_warning", "check_tolerances", "declared_tolerance", "eng",
           "error_text", "number", "tolerance_text", "validation_text"]

log = logging.getLogger(__name__)

#: held-out RMS error (%FS) above which a fit is flagged: the target for the read-out
#: circuits' figures of merit (docs/surrogates.md, issue 7), which every family tried there
#: meets; a log axis fitted as linear was at 5-290 % (issue 15). An output that declares an
#: absolute tolerance is flagged only above that too (a tiny span makes %FS large, issue 17)
ACCURACY_WARNING_PCT = 1.0

#: units that take an SI prefix (3.1e-6 A -> 3.1 uA); any other (LSB, "1") is printed plain
SI_UNITS = frozenset({"A", "V", "J", "s", "W", "S", "ohm", "F", "H", "Hz", "C", "m"})
_PREFIXES = ((1e-18, "a"), (1e-15, "f"), (1e-12, "p"), (1e-9, "n"), (1e-6, "u"), (1e-3, "m"), (1.0, ""),
             (1e3, "k"), (1e6, "M"), (1e9, "G"))


def _plain(x: float) -> str:
    """``x`` to three significant digits, in exponent notation (``1.9e-4``) outside 1e-3 .. 1e4."""
    if x == 0 or 1e-3 <= abs(x) < 1e4:
        return f"{x:.3g}"
    mantissa, exponent = f"{x:.2e}".split("e")
    return f"{float(mantissa):.3g}e{int(exponent)}"


def eng(value: float, unit: str) -> str:
    """``value`` in ``unit`` with three significant digits: an SI unit with its prefix
    (``3.1e-6, "A"`` -> ``"3.1 uA"``), any other plainly (``1.9e-4, "LSB"`` -> ``"1.9e-4 LSB"``;
    ``"1"`` and ``""``: the number alone)."""
    unit = "" if unit == "1" else unit
    if not math.isfinite(value):
        return f"{value} {unit}".strip()
    if unit not in SI_UNITS or value == 0:
        return f"{_plain(value)} {unit}".strip()
    scale, prefix = _PREFIXES[0]
    for s, p in _PREFIXES:
        if abs(value) >= s * (1 - 5e-4):  # 999.96 nA is 1 uA, not "1e+03 nA"
            scale, prefix = s, p
    return f"{value / scale:.3g} {prefix}{unit}"


def abs_error(pct: Any, full_scale: Any) -> float:
    """An error in output units from its % of full scale; NaN when either is missing or NaN."""
    try:
        return float(pct) / 100 * float(full_scale)
    except (TypeError, ValueError):
        return math.nan


def number(value: Any) -> str:
    """A score or time to three significant digits; ``"-"`` for none (None, NaN, text)."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        return "-"
    return f"{v:.3g}" if math.isfinite(v) else "-"


def error_text(what: str, pct: Any, full_scale: Any, unit: str) -> str:
    """``"RMS 1.9e-4 LSB (11.6 %FS)"``; ``"RMS 11.6 %FS"`` without a finite full scale;
    ``"RMS -"`` without a score."""
    shown = number(pct)
    if shown == "-":
        return f"{what} -"
    absolute = abs_error(pct, full_scale)
    return f"{what} {eng(absolute, unit)} ({shown} %FS)" if math.isfinite(absolute) else f"{what} {shown} %FS"


def declared_tolerance(surrogate) -> float | None:
    """The absolute tolerance recorded for a single-output surrogate
    (``provenance["abs_tolerance"]``, output units), or None."""
    value = (surrogate.provenance or {}).get("abs_tolerance")
    return None if value is None else float(value)  # checked on load: a finite number > 0


def tolerance_text(rms_abs: float, tolerance: float | None, unit: str) -> str:
    """``"within tolerance 0.01 LSB"`` (RMS error at or below it), ``"above tolerance ..."``,
    or ``""`` without a tolerance (or a score)."""
    if tolerance is None or not math.isfinite(rms_abs):
        return ""
    return f"{'within' if rms_abs <= tolerance else 'above'} tolerance {eng(tolerance, unit)}"


def validation_text(surrogate, j: int, tolerance: float | None = None) -> str:
    """Output ``j``'s stored held-out error: ``"RMS 1.9e-4 LSB (11.6 %FS), max 2.3e-4 LSB
    (13.8 %FS)"``, then the tolerance's verdict when one is declared (``tolerance``, else the
    surrogate's own). ``""`` for a surrogate that was not validated."""
    v = surrogate.validation
    if v is None:
        return ""
    unit, fs = surrogate.output_units[j], v["full_scale"][j]
    text = f"{error_text('RMS', v['rms_pct'][j], fs, unit)}, {error_text('max', v['max_pct'][j], fs, unit)}"
    if tolerance is None and surrogate.n_outputs == 1:
        tolerance = declared_tolerance(surrogate)
    verdict = tolerance_text(abs_error(v["rms_pct"][j], fs), tolerance, unit)
    return f"{text}, {verdict}" if verdict else text


def check_tolerances(label: str, outputs: Sequence[str], abs_tolerance: Mapping[str, Any] | None) -> dict[str, float]:
    """``abs_tolerance`` (output -> absolute tolerance, output units) as floats, each for one
    of ``outputs`` (of the sweep ``label``), finite and > 0; else :class:`SurrogateError`."""
    tolerances = {}
    for output, value in (abs_tolerance or {}).items():
        if output not in outputs:
            raise SurrogateError(f"{label}: abs_tolerance for {output!r}, not an output of the sweep "
                                 f"({', '.join(outputs)})")
        try:
            tolerances[output] = float(value)
        except (TypeError, ValueError):
            tolerances[output] = math.nan
        if not (math.isfinite(tolerances[output]) and tolerances[output] > 0):
            raise SurrogateError(f"abs_tolerance[{output!r}] must be a finite number > 0, got {value!r}")
    return tolerances


def accuracy_warning(candidate: Mapping[str, Any], scales: Mapping[str, str], full_scale: float, unit: str,
                     tolerance: float | None, name: str) -> str:
    """The warning stored with the surrogate ``name`` whose chosen ``candidate`` (its
    ``rms_pct``, ``max_pct``, ``label``) is above :data:`ACCURACY_WARNING_PCT` held-out RMS
    and, when the output declares a ``tolerance`` (output units), above that too; "" when it
    is not. ``scales``: input -> the scale it was fitted in, named in the warning."""
    if not candidate["rms_pct"] > ACCURACY_WARNING_PCT:
        return ""
    rms = error_text("RMS error", candidate["rms_pct"], full_scale, unit)
    if tolerance is not None and not abs_error(candidate["rms_pct"], full_scale) > tolerance:
        log.info("%s: held-out %s, within the output's tolerance %s: no warning", name, rms, eng(tolerance, unit))
        return ""
    fitted_as = ", ".join(f"{n} {s}" for n, s in scales.items())
    above = f"{ACCURACY_WARNING_PCT:g} %FS" + (f" and the output's tolerance {eng(tolerance, unit)}"
                                               if tolerance is not None else "")
    return (f"held-out {rms}, {error_text('max', candidate['max_pct'], full_scale, unit)}, of {candidate['label']} "
            f"is above {above}; inputs fitted as: {fitted_as}; an input spanning decades may need --input-scale "
            "NAME=log, or the sweep more points")
