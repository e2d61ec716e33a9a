"""ngspice's ``.meas`` language, read from a sweep spec and evaluated in NumPy on the vectors
an analysis returned (never by ngspice: a sweep runs no ``.control`` code).

A measurement is the text after ``.meas`` without its result name::

    tran TRIG v(in) VAL=0.55 RISE=1 TARG v(out) VAL=0.55 FALL=1
    tran WHEN v(out)=0.5 TD=1n CROSS=LAST
    tran FIND v(out) AT=10n          tran FIND i(vdd) WHEN v(out)=v(in) RISE=2
    tran AVG|MIN|MAX|MIN_AT|MAX_AT|PP|RMS|INTEG v(out) [FROM=t] [TO=t]
    tran DERIV v(out) AT=5n          ac WHEN vdb(out)=0          dc FIND v(out) AT=0.6

Vectors: ``v(node)``, ``v(a,b)`` (a - b), ``i(source)``, a vector's own name; on ``ac``
results also ``vm()``, ``vdb()``, ``vp()`` (radians, as ngspice 39), ``vr()``, ``vi()``, and
plain ``v()`` is the real part, as in ngspice. Numbers are SPICE numbers (``1n``, ``0.55``).

Each function computes what ngspice 39 computes for it (:mod:`.measure_math` has the rules;
tests compare with ``ngspice -b`` on the same netlist), with two differences: a crossing
between the first two samples after ``TD`` counts (ngspice 39 counts a rising one there at
the wrong place and misses a falling one), and ``DERIV``, which ngspice 39 does not compute,
is the slope of the parabola through the three samples around the point. Keywords ngspice
reads but ignores are refused rather than ignored: ``TD`` outside ``tran`` and outside
``TRIG``/``TARG``/``WHEN`` clauses, ``FROM``/``TO`` outside the window functions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from ..validate import did_you_mean, spice_number
from . import measure_math as mm
from .errors import CircuitError

ANALYSES = ("tran", "ac", "dc")
WINDOWED = ("avg", "min", "max", "min_at", "max_at", "pp", "rms", "integ")
FUNCTIONS = ("trig", "when", "find", "deriv", *WINDOWED)
EDGES = ("rise", "fall", "cross")
#: unit of each analysis's axis (dc: of the swept source, set when the sweep is known)
AXIS_UNITS = {"tran": "s", "ac": "Hz"}
_PARTS = {"": "", "r": "", "m": "", "i": "", "db": "dB", "p": "rad"}
_PROBE = re.compile(r"([vi])(db|m|r|i|p)?\(([^(),=\s]+)(?:,([^(),=\s]+))?\)")
_BARE = re.compile(r"[a-z_][\w.#:-]*")


class MeasureError(CircuitError):
    """A measurement that cannot be taken at one point (no such crossing, a point outside
    the analysis's axis): that point fails with this reason; the sweep goes on."""


@dataclass(frozen=True)
class Probe:
    """A vector as a ``.meas`` line names it: ``v(out)``, ``vdb(out)``, ``v(a,b)``, ``i(vdd)``."""

    text: str
    kind: str  # "v", "i", or "" for a vector named as it is
    nodes: tuple[str, ...]
    part: str = ""  # ac only: "", "r", "i", "m", "p" (rad), "db"

    @property
    def vectors(self) -> tuple[str, ...]:
        """The engine's names of the vectors it reads (ground ``0`` reads none)."""
        if not self.kind:
            return self.nodes
        return tuple(f"{self.kind}({n})" for n in self.nodes if n != "0")

    @property
    def unit(self) -> str:
        """``V``, ``A``, ``dB``, ``rad``; ``""`` for a vector named as it is."""
        base = {"v": "V", "i": "A"}.get(self.kind, "")
        return _PARTS[self.part] or base

    def values(self, data: dict[str, np.ndarray]) -> np.ndarray:
        """The probe's real values: the part of a complex (ac) vector it names."""
        signal = self.signal(data)
        if signal.dtype == np.float64:  # what tran and dc return
            return signal
        if not np.iscomplexobj(signal) or self.part in ("", "r"):
            return np.asarray(np.real(signal), dtype=np.float64)  # no copy: nothing writes to it
        if self.part == "i":
            return signal.imag
        if self.part == "p":
            return np.angle(signal)
        magnitude = np.abs(signal)
        if self.part == "m":
            return magnitude
        with np.errstate(divide="ignore"):
            return 20.0 * np.log10(magnitude)

    def signal(self, data: dict[str, np.ndarray]) -> np.ndarray:
        """The vector it names, complex for ac results (``v(a,b)``: ``v(a) - v(b)``)."""
        if not self.kind:
            return data[self.nodes[0]]
        first, *rest = self.nodes
        signal = data[f"{self.kind}({first})"] if first != "0" else 0.0
        if rest and rest[0] != "0":
            signal = signal - data[f"{self.kind}({rest[0]})"]
        if isinstance(signal, np.ndarray):
            return signal
        return np.broadcast_to(signal, next(iter(data.values())).shape)  # v(0): ground


@dataclass(frozen=True)
class Condition:
    """Where a probe reaches a level (a number, or another probe): the ``count``-th (-1:
    last) crossing of kind ``edge`` (``rise``, ``fall``, ``cross``; ``first``: the first of
    either) at or after ``td``; or, for ``TRIG AT=``/``TARG AT=``, the position ``at``."""

    probe: Probe | None
    level: float = 0.0
    other: Probe | None = None
    edge: str = "first"
    count: int = 1
    td: float = 0.0
    at: float | None = None

    def locate(self, x: np.ndarray, data: dict) -> float:
        if self.at is not None:
            return self.at
        # x rises: the samples at or after TD are a tail of it (views, no copies)
        keep = slice(int(np.searchsorted(x, self.td)) if self.td else 0, None)
        level = self.other.values(data)[keep] if self.other else self.level
        return mm.crossing(x[keep], self.probe.values(data)[keep], level,
                           "cross" if self.edge == "first" else self.edge, self.count)

    def describe(self) -> str:
        """Why :meth:`locate` found nothing, e.g. ``v(out) has no 2nd fall through 0.55``."""
        target = self.other.text if self.other else f"{self.level:g}"
        after = f" after TD={self.td:g}" if self.td else ""
        if self.edge == "first" or self.count == -1:
            verb = {"rise": "rises through", "fall": "falls through"}.get(self.edge, "crosses")
            return f"{self.probe.text} never {verb} {target}{after}"
        edge = "crossing of" if self.edge == "cross" else f"{self.edge} through"
        return f"{self.probe.text} has no {_ordinal(self.count)} {edge} {target}{after}"


@dataclass(frozen=True)
class Meas:
    """One parsed ``.meas`` line: ``analysis``, ``function`` and what it reads."""

    text: str
    analysis: str
    function: str
    probe: Probe | None = None
    trig: Condition | None = None
    targ: Condition | None = None
    when: Condition | None = None
    at: float | None = None
    start: float = -np.inf
    stop: float = np.inf
    probes: tuple[Probe, ...] = field(default=(), repr=False)

    @property
    def vectors(self) -> tuple[str, ...]:
        """Every engine vector it reads, the analysis's axis not included."""
        return tuple(dict.fromkeys(v for p in self.probes for v in p.vectors))

    def unit(self, axis_unit: str) -> str:
        """The result's unit, given the unit of the analysis's axis (``""`` when unknown)."""
        f, u = self.function, self.probe.unit if self.probe else ""
        if f in ("trig", "when", "min_at", "max_at"):
            return axis_unit
        if f == "integ":
            return f"{u}*{axis_unit}" if u and axis_unit else ""
        if f == "deriv":
            return f"{u}/{axis_unit}" if u and axis_unit else ""
        return u

    def evaluate(self, x: np.ndarray, data: dict[str, np.ndarray]) -> float:
        """The measured value on axis ``x`` (real, rising: never falling from one sample to
        the next, as every analysis's axis) and ``data`` (engine vector name -> array);
        :class:`MeasureError` with the reason when it cannot be taken."""
        f = self.function
        if f == "trig":
            trig = self._position(self.trig, x, data, "TRIG")
            return self._position(self.targ, x, data, "TARG") - trig
        if f == "when":
            return self._position(self.when, x, data, "WHEN")
        y = self.probe.values(data)
        if f in ("find", "deriv"):
            at = self.at if self.when is None else self._position(self.when, x, data, "WHEN")
            value = mm.value_at_rising(x, y, at) if f == "find" else mm.derivative_at(x, y, at)
            if np.isnan(value):
                raise MeasureError(f"{self.text}: {at:g} outside the {self.analysis} axis [{x[0]:g}, {x[-1]:g}]")
            return value
        return self._window(x, y)

    def _position(self, condition: Condition, x, data, label: str) -> float:
        position = condition.locate(x, data)
        if np.isnan(position):
            raise MeasureError(f"{self.text}: {label} {condition.describe()}")
        return position

    def _window(self, x: np.ndarray, y: np.ndarray) -> float:
        f = self.function
        if f in ("rms", "integ"):
            xs, ys = mm.windowed(x, y, self.start, self.stop)
            value = mm.integral(xs, ys ** 2 if f == "rms" else ys) if xs.size > 1 else np.nan
            if f == "rms" and xs.size > 1:
                value = np.sqrt(value / (xs[-1] - xs[0]))
        else:
            inside = mm.window(x, self.start, self.stop)
            xs, ys = x[inside], y[inside]
            value = np.nan if xs.size == 0 else _statistic(f, xs, ys)
        if np.isnan(value):
            raise MeasureError(f"{self.text}: too few samples between {self.start:g} and {self.stop:g} "
                               f"(the {self.analysis} axis: [{x[0]:g}, {x[-1]:g}])")
        return float(value)


def _statistic(f: str, x: np.ndarray, y: np.ndarray) -> float:
    if f == "avg":
        return mm.average(x, y)
    if f == "pp":
        return float(y.max() - y.min())
    # ngspice keeps the last of equal extremes
    k = y.size - 1 - int(np.argmin(y[::-1]) if f.startswith("min") else np.argmax(y[::-1]))
    return float(x[k] if f.endswith("_at") else y[k])


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


# ---------------------------------------------------------------------------- reading
def parse_meas(text: str, where: str = "meas") -> Meas:
    """Read one measurement (``"tran TRIG v(in) VAL=0.5 RISE=1 TARG ..."``); a
    :class:`CircuitError` naming ``where`` and the problem for anything ngspice would not
    read the same way."""
    if not isinstance(text, str) or not text.strip():
        raise CircuitError(f"{where}: expected a .meas line such as 'tran WHEN v(out)=0.5', got {text!r}")
    words = _words(text)
    analysis, function, rest = words[0], (words[1:2] or [""])[0], words[2:]
    if analysis not in ANALYSES:
        raise CircuitError(f"{where}: a measurement starts with its analysis ({', '.join(ANALYSES)}), not "
                           f"{analysis!r}{did_you_mean(analysis, ANALYSES)}")
    if function not in FUNCTIONS:
        raise CircuitError(f"{where}: {function.upper() or 'nothing'} is not a .meas function (known: "
                           f"{', '.join(f.upper() for f in FUNCTIONS)}){did_you_mean(function, FUNCTIONS)}")
    reader = _Reader(" ".join(words), analysis, where)
    return reader.read(function, rest)


def parse_probe(text, where: str, analysis: str = "tran") -> Probe:
    """A vector name as a measurement reads it (``v(out)``, ``v(a,b)``, ``i(vdd)``), or a
    :class:`CircuitError` naming ``where``."""
    if not isinstance(text, str) or not text.strip():
        raise CircuitError(f"{where}: expected a vector such as 'v(out)', got {text!r}")
    word = _words(text)
    if len(word) != 1:
        raise CircuitError(f"{where}: {text!r} is not one vector (v(node), v(a,b), i(source))")
    return _Reader(text, analysis, where).probe(word[0])


def _words(text: str) -> list[str]:
    """Lower-cased words, with blanks inside parentheses and around ``=`` removed."""
    text = text.strip().lower()
    text = re.sub(r"\(([^()]*)\)", lambda m: "(" + re.sub(r"\s+", "", m.group(1)) + ")", text)
    return re.sub(r"\s*=\s*", "=", text).split()


@dataclass
class _Reader:
    text: str
    analysis: str
    where: str
    probes: list = field(default_factory=list)

    def fail(self, reason: str) -> CircuitError:
        return CircuitError(f"{self.where}: {reason}")

    def read(self, function: str, words: list[str]) -> Meas:
        make = lambda **kw: Meas(self.text, self.analysis, function, probes=tuple(self.probes), **kw)  # noqa: E731
        if function == "trig":
            if "targ" not in words:
                raise self.fail("TRIG needs a TARG clause")
            cut = words.index("targ")
            trig, targ = self.condition(words[:cut], "TRIG"), self.condition(words[cut + 1:], "TARG")
            return make(trig=trig, targ=targ)
        if function == "when":
            return make(when=self.when(words))
        if not words:
            raise self.fail(f"{function.upper()} needs a vector")
        probe = self.probe(words[0])
        if function in ("find", "deriv"):
            if words[1:2] == ["when"]:
                return make(probe=probe, when=self.when(words[2:]))
            keys = self.keys(words[1:], ("at",), function.upper())
            if "at" not in keys:
                raise self.fail(f"{function.upper()} {probe.text} needs AT=x or WHEN ...")
            return make(probe=probe, at=keys["at"])
        keys = self.keys(words[1:], ("from", "to"), function.upper())
        start, stop = keys.get("from", -np.inf), keys.get("to", np.inf)
        if stop <= start:
            raise self.fail(f"TO={stop:g} is not after FROM={start:g}")
        return make(probe=probe, start=start, stop=stop)

    def condition(self, words: list[str], label: str) -> Condition:
        if not words:
            raise self.fail(f"{label} needs a vector, or AT=x")
        if words[0].startswith("at="):
            keys = self.keys(words, ("at",), label)
            return Condition(None, at=keys["at"])
        probe = self.probe(words[0])
        keys = self.keys(words[1:], ("val", "td", *EDGES), label)
        if "val" not in keys:
            raise self.fail(f"{label} {probe.text} needs VAL=")
        edge = self.edge(keys, label, required=True)
        return Condition(probe, level=keys["val"], edge=edge, count=keys[edge], td=keys.get("td", 0.0))

    def when(self, words: list[str]) -> Condition:
        if not words or "=" not in words[0]:
            raise self.fail("WHEN needs vector=value or vector=vector")
        left, _, right = words[0].partition("=")
        probe = self.probe(left)
        try:
            level, other = spice_number(right, "", CircuitError), None
        except CircuitError:
            level, other = 0.0, self.probe(right)
        keys = self.keys(words[1:], ("td", *EDGES), "WHEN")
        edge = self.edge(keys, "WHEN", required=False)
        count = keys[edge] if edge != "first" else 1
        return Condition(probe, level=level, other=other, edge=edge, count=count, td=keys.get("td", 0.0))

    def edge(self, keys: dict, label: str, *, required: bool) -> str:
        given = [e for e in EDGES if e in keys]
        if len(given) > 1:
            raise self.fail(f"{label}: give one of RISE, FALL, CROSS, not {' and '.join(g.upper() for g in given)}")
        if not given and required:
            raise self.fail(f"{label} needs RISE=n, FALL=n or CROSS=n (n a count, or LAST)")
        return given[0] if given else "first"

    def probe(self, text: str) -> Probe:
        match = _PROBE.fullmatch(text)
        if match:
            kind, part, first, second = match.groups()
            if part and kind != "v":
                raise self.fail(f"{text}: only v() takes m, db, p, r, i (as in ngspice)")
            if part and self.analysis != "ac":
                raise self.fail(f"{text}: v{part}() reads complex results, from ac only")
            probe = Probe(text, kind, (first,) if second is None else (first, second), part or "")
        elif _BARE.fullmatch(text):
            probe = Probe(text, "", (text,))
        else:
            raise self.fail(f"{text!r} is not a vector (v(node), v(a,b), i(source), vdb(node)...)")
        self.probes.append(probe)
        return probe

    def keys(self, words: list[str], allowed: tuple[str, ...], label: str) -> dict[str, float]:
        known = ("val", "td", "from", "to", "at", *EDGES)
        out: dict[str, float] = {}
        for word in words:
            key, equal, value = word.partition("=")
            if not equal or not value:
                raise self.fail(f"{label}: {word!r} is not KEY=value{did_you_mean(key, known)}")
            if key not in known:
                raise self.fail(f"{label}: unknown {key.upper()}{did_you_mean(key, known)}")
            if key not in allowed or (key == "td" and self.analysis != "tran"):
                where = "outside tran" if key == "td" and key in allowed else f"in {label}"
                raise self.fail(f"{label}: {key.upper()} is not used {where} (ngspice ignores it there)")
            if key in out:
                raise self.fail(f"{label}: {key.upper()} given twice")
            out[key] = self.count(key, value, label) if key in EDGES else spice_number(
                value, f"{self.where}: {label} {key.upper()}", CircuitError)
        return out

    def count(self, key: str, value: str, label: str) -> int:
        if value == "last":
            return -1
        if not value.isdigit() or int(value) < 1:
            raise self.fail(f"{label}: {key.upper()}={value}: expected a count (1, 2, ...) or LAST")
        return int(value)
