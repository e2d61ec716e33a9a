"""Width laws: one output of a circuit characterized at several sizes, as a straight line
``value(w) = intercept + slope * w`` in the size, for sizes the library does not hold.

The CAM row is the case in point. Its energy per 1-bit-mismatch compare is the match line's
charge, C_ml * vdd^2, plus the search lines' share and the sense inverter's; C_ml grows by
one cell's compare-stack drains and its wire per bit, so the energy is linear in the row
width ``word_bits``. :func:`library_width_law` reads the library's ``cam_row_{w}b`` blocks
(:func:`~cimspice.library.blocks.cam_block`) at one point (nominal supply by default),
fits the line by least squares and scores it by leaving each width out in turn (fit on the
others, predict it): ``held_out``. The law is plain numbers (:meth:`WidthLaw.to_dict`)
with where it came from (library file and hash, blocks and their fingerprints, surrogates,
the point), so a study can keep it without the library or ngspice.

Validity (measured with the bench, :func:`cimspice.circuits.cam.search_energy`, 256 rows,
3 active bits, 1.1 V, tt, 27 degC): the law is the energy of a compare whose match line
swings fully. The bench's unit cycle gives that up to ~128 bits; at 256 bits its 0.9 ns
evaluation leaves the line at 80 mV (energy 6 % under the law), at 367 bits at 0.21 V
(18 % under), and a 961-bit line is not even precharged by its set-up. With every phase of
the cycle stretched (``stretch`` 2, 3 and 8) the bench is 0.6 %, 1.3 % and 4.4 % above the
law fitted to 8-128 bits at 256, 367 and 961 bits: the longer cycle adds the match line's
leakage. Rows that wide need a slower cycle (or a segmented match line) to work at all; the
law prices their compare, not their timing. The match energy is not linear in the width
(search lines plus leakage): its law is no guide outside the widths it was fitted on.
Numbers: docs/library.md, "The CAM row and its width law".
"""

from __future__ import annotations

import datetime as _dt
import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .. import __version__
from ..circuits import get_circuit
from ..circuits.base import CircuitError
from ..surrogate import SurrogateError, file_sha256, load_blocks, load_library
from .errors import LibraryError

__all__ = ["WidthLaw", "fit_width_law", "library_width_law"]


@dataclass(frozen=True)
class WidthLaw:
    """``value(w) = intercept + slope * w`` (``unit``; ``slope`` in ``unit`` per size unit)
    fitted to ``values`` at ``widths``; ``held_out[i]`` is the relative error of predicting
    ``values[i]`` from a fit to the other widths; ``source`` says where the values came from."""

    output: str
    unit: str
    intercept: float
    slope: float
    widths: tuple[float, ...]
    values: tuple[float, ...]
    held_out: tuple[float, ...]
    source: Mapping[str, Any] = field(default_factory=dict)

    def predict(self, widths) -> np.ndarray:
        """The law at ``widths`` (any shape), in ``unit``."""
        return self.intercept + self.slope * np.asarray(widths, dtype=np.float64)

    @property
    def residuals(self) -> np.ndarray:
        """(law - value) / value at each fitted width: (n,)."""
        values = np.asarray(self.values)
        return (self.predict(self.widths) - values) / values

    @property
    def max_held_out(self) -> float:
        """The largest leave-one-out error, relative."""
        return float(np.max(np.abs(self.held_out)))

    def to_dict(self) -> dict[str, Any]:
        """Plain numbers and strings (JSON-ready)."""
        data = asdict(self)
        data.update(widths=list(self.widths), values=list(self.values), held_out=list(self.held_out),
                    source=dict(self.source))
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> WidthLaw:
        """The law :meth:`to_dict` wrote."""
        try:
            return cls(str(data["output"]), str(data["unit"]), float(data["intercept"]), float(data["slope"]),
                       *(tuple(float(x) for x in data[k]) for k in ("widths", "values", "held_out")),
                       dict(data.get("source", {})))
        except KeyError as missing:
            raise LibraryError(f"width law: field {missing} missing") from None


def _line(widths: np.ndarray, values: np.ndarray) -> tuple[float, float]:
    """Least-squares (intercept, slope)."""
    slope, intercept = np.polyfit(widths, values, 1)
    return float(intercept), float(slope)


def fit_width_law(widths: Sequence[float], values: Sequence[float], *, output: str = "", unit: str = "",
                  source: Mapping[str, Any] | None = None) -> WidthLaw:
    """The least-squares line through ``values`` (n,) at ``widths`` (n,), with each width's
    leave-one-out error. Needs at least 3 distinct widths, all values finite and nonzero."""
    w = np.asarray(widths, dtype=np.float64)
    v = np.asarray(values, dtype=np.float64)
    where = f"width law {output}".rstrip()
    if w.ndim != 1 or w.shape != v.shape:
        raise LibraryError(f"{where}: widths and values must be 1-D of one length, got {w.shape} and {v.shape}")
    if np.unique(w).size < 3 or not np.all(np.isfinite(w)) or np.any(w <= 0):
        raise LibraryError(f"{where}: needs at least 3 distinct positive widths, got {w.tolist()}")
    if not np.all(np.isfinite(v)) or np.any(v == 0):
        raise LibraryError(f"{where}: values must be finite and nonzero, got {v.tolist()}")
    intercept, slope = _line(w, v)
    held_out = []
    for k in range(w.size):
        keep = np.arange(w.size) != k
        a, b = _line(w[keep], v[keep])
        held_out.append((a + b * w[k] - v[k]) / v[k])
    return WidthLaw(output, unit, intercept, slope, tuple(w.tolist()), tuple(v.tolist()), tuple(held_out),
                    dict(source or {}))


def library_width_law(path: str | Path, *, circuit: str = "cam_row", size: str = "word_bits",
                      output: str = "energy_mismatch", point: Mapping[str, float] | None = None,
                      corner: str = "") -> WidthLaw:
    """The width law of ``output`` across the library's blocks of ``circuit`` that differ
    only in the constructor argument ``size``, each block's surrogate evaluated at ``point``
    (its inputs; others at the circuit's defaults: the nominal supply, 27 degC).
    ``corner`` picks the ``@corner`` surrogates of a corner build."""
    path = Path(path)
    try:
        records, surrogates = load_blocks(path), load_library(path)
    except SurrogateError as error:
        raise LibraryError(str(error)) from None
    blocks = _blocks_by_size(path, records, circuit, size)
    widths, values, names, unit, at = [], [], [], "", {}
    for w, (block, args) in sorted(blocks.items()):
        name = f"{block}.{output}" + (f"@{corner}" if corner else "")
        if name not in surrogates:
            raise LibraryError(f"{path}: no surrogate {name} (block {block} does not fit {output!r})")
        s = surrogates[name]
        at = _point(circuit, args, s.inputs, point or {}, name)
        widths.append(w)
        values.append(float(s.predict({k: [v] for k, v in at.items()})[0]))
        names.append(name)
        unit = s.output_units[0]
    common = {k: v for k, v in next(iter(blocks.values()))[1].items() if k != size}
    source = {"library": str(path), "library_sha256": file_sha256(path), "circuit": circuit, "size": size,
              "circuit_args": json.dumps(common, sort_keys=True), "corner": corner, "point": json.dumps(at),
              "surrogates": json.dumps(names),
              "block_fingerprints": json.dumps({b: records[b]["fingerprint"] for b, _ in blocks.values()}),
              "cimspice_version": __version__, "fitted": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")}
    return fit_width_law(widths, values, output=output, unit=unit, source=source)


def _blocks_by_size(path: Path, records: Mapping[str, Mapping], circuit: str, size: str) -> dict[int, tuple]:
    """``{size value: (block, circuit args)}`` of the library's ``circuit`` blocks; their
    other arguments must agree (else the points are not one family)."""
    out: dict[int, tuple] = {}
    others = None
    for block, record in records.items():
        if record.get("circuit") != circuit:
            continue
        args = json.loads(record["circuit_args"])
        if size not in args:
            raise LibraryError(f"{path}: block {block} has no {size!r} argument")
        rest = {k: v for k, v in args.items() if k != size}
        if others is not None and rest != others:
            raise LibraryError(f"{path}: {circuit} blocks differ in more than {size}: {others} vs {rest} ({block})")
        others = rest
        out[args[size]] = (block, args)
    if len(out) < 3:
        raise LibraryError(f"{path}: a width law needs {circuit} blocks at 3 or more {size} values, "
                           f"found {sorted(out) or 'none'}")
    return out


def _point(circuit: str, args: Mapping, inputs: Sequence[str], point: Mapping[str, float], name: str) -> dict:
    """The surrogate's inputs: ``point``, else the circuit's default for each."""
    unknown = set(point) - set(inputs)
    if unknown:
        raise LibraryError(f"width law: {name} has no input {sorted(unknown)[0]!r} (inputs: {', '.join(inputs)})")
    try:
        c = get_circuit(circuit, **args)
        return {k: float(point[k]) if k in point else c.parameter(k).default for k in inputs}
    except CircuitError as error:
        raise LibraryError(f"width law: {name}: {error}") from None
