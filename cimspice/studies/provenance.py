"""Where a study's numbers come from, collected while it runs, for its report's header.

A study's ``run`` is decorated with :func:`collected`. While it runs, a :class:`Sources`
records what its numbers are computed from, as they are read (nothing here is typed text):

- the component library: each file loaded through :func:`load_library` / :func:`load_blocks`
  (a :class:`RecordedLibrary` records every key looked up in it) and the keys each system
  simulation's spec reads (:func:`simulate`);
- surrogates fitted in the run to its own ngspice sweeps (:meth:`Sources.fitted`);
- live ngspice analyses, by circuit and analysis, and the model files their decks include:
  the study listens to the engine (:func:`cimspice.spice.observers.observing`) while it runs;
- the cited constants of :mod:`cimspice.sim.costs` with their sources: those the study's own
  code reads through :data:`costs` (a recording view of that module) and those the system
  simulator priced with (the cited records in each result's cost sources);
- the system simulations run (network, system, samples).

:meth:`Sources.markdown` renders the list; :meth:`.report.Report.write` puts it in the header.
"""

from __future__ import annotations

import contextlib
import functools
import re
from collections import Counter
from collections.abc import Mapping
from pathlib import Path

from ..paths import netlist_dir
from ..sim import costs as _costs
from ..spice.observers import observing

__all__ = ["RecordedLibrary", "Sources", "collected", "collecting", "costs", "current", "fitted", "load_blocks",
           "load_library", "record_card", "simulate"]

_ACTIVE: list = []   # the Sources of the study running in this process (innermost last)
FITTED = "fitted in this run to its ngspice sweeps"


def current() -> Sources | None:
    """The :class:`Sources` of the study running now, or None."""
    return _ACTIVE[-1] if _ACTIVE else None


class RecordedLibrary(Mapping):
    """A loaded library (name -> surrogate, or block -> record) that records each key looked up
    (``lib[key]``, ``lib.get(key)``) as read from ``origin``; membership tests and listing the
    names are not reads. ``tables``: the plain dict, for code that walks every table."""

    def __init__(self, tables: Mapping, origin: str):
        self.tables, self.origin = dict(tables), origin

    def __getitem__(self, key):
        value = self.tables[key]
        src = current()
        if src is not None:
            src.read(self.origin, key)
            src.files.add(self.origin.removesuffix("#blocks"))
        return value

    def __contains__(self, key) -> bool:
        return key in self.tables

    def __iter__(self):
        return iter(self.tables)

    def __len__(self) -> int:
        return len(self.tables)


def _plain(library):
    return library.tables if isinstance(library, RecordedLibrary) else library


class Sources:
    """What one study run read; see the module docstring."""

    def __init__(self):
        self.reads: dict[str, set] = {}         # origin (library file, or how made) -> keys read
        self.origins: dict[str, str] = {}       # key -> the origin it was loaded from
        self.files: set[str] = set()            # library files among the origins
        self.blocks: dict[str, set] = {}        # library file -> blocks whose records were read
        self.ngspice: Counter = Counter()       # (circuit, analysis) -> analyses run
        self.models: set[str] = set()           # model files the ngspice decks included
        self.ngspice_version = ""
        self.cited: dict[str, dict] = {}        # constant name -> {"source", "figure", "scalings"}
        self.settings: dict[str, object] = {}   # costs.py values without a source record
        self.simulations: Counter = Counter()   # (network, system, samples) -> runs
        self.cards: dict[str, dict] = {}        # device card read in Python -> its values

    # ------------------------------------------------------------------ recording
    def read(self, origin: str, key: str) -> None:
        self.reads.setdefault(origin, set()).add(key)

    def fitted(self, surrogates: Mapping, how: str = FITTED) -> Mapping:
        """Mark ``surrogates`` (name -> surrogate) as made in this run (``how``); returns them."""
        self.origins.update(dict.fromkeys(surrogates, how))
        return surrogates

    def cite(self, figure) -> None:
        """Record a :class:`cimspice.sim.costs.Cited` figure (or its ``record()`` dict)."""
        r = figure if isinstance(figure, dict) else figure.record()
        entry = self.cited.setdefault(r["constant"], {"source": r["source"], "figure": r["figure"], "scalings": set()})
        if r.get("scaling"):
            entry["scalings"].add(r["scaling"].split(";")[0])

    def ngspice_run(self, run) -> None:
        """Record one :class:`cimspice.spice.observers.AnalysisRun` (an engine listener)."""
        self.ngspice[(run.source or "<netlist>", run.analysis)] += 1
        self.ngspice_version = run.version or self.ngspice_version
        self.models.update(_shown_model(path) for path in run.model_files)

    def simulation(self, result, library) -> None:
        """Record one :class:`cimspice.sim.simulate.SimulationResult`: the library keys its
        spec reads (attributed to where ``library`` loaded each from, else the spec's file),
        the blocks whose records it reads, and the cited figures it priced with."""
        spec = result.spec
        self.simulations[(result.network, spec.name, result.n_samples)] += 1
        file = str(spec.library) if spec.library else "(no library file)"
        self.files.add(file)
        for _, key in spec.library_keys():
            self.read(self.origins.get(key, file), key)
        for _, key in spec.block_keys():
            self.blocks.setdefault(file, set()).add(key.split(".")[0])
        for per_component in result.costs.sources.values():
            for records in per_component.values():
                for record in records:
                    self._walk(record)

    def _walk(self, record: dict) -> None:
        if record.get("kind") == "cited":
            self.cite(record)
        for value in record.values():
            if isinstance(value, dict) and "kind" in value:
                self._walk(value)

    def merge(self, other: Sources) -> None:
        """Add what ``other`` (a worker process's collection) recorded."""
        self.ngspice.update(other.ngspice)
        self.cards.update(other.cards)
        self.models |= other.models
        self.ngspice_version = self.ngspice_version or other.ngspice_version
        for origin, keys in other.reads.items():
            self.reads.setdefault(origin, set()).update(keys)
        self.files |= other.files
        for name, entry in other.cited.items():
            self.cited.setdefault(name, entry)

    # ------------------------------------------------------------------ rendering
    def markdown(self) -> str:
        """The header's list, one bullet per kind of source (Markdown)."""
        files = sorted(f for f in self.files if self.reads.get(f) or self.reads.get(f"{f}#blocks"))
        lines = [_library_line(f, self.reads.get(f, set()),
                               self.blocks.get(f, set()) | self.reads.get(f"{f}#blocks", set())) for f in files]
        if not files:
            lines.append("- **Component library**: none read.")
        made = sorted(o for o in self.reads if o not in self.files and not o.endswith("#blocks"))
        lines += [f"- **Tables {how}**, read: {_grouped(self.reads[how])}." for how in made]
        lines.append(self._ngspice_line())
        if self.cards:
            cards = "; ".join(f"`{name}` (" + ", ".join(f"{k} {v:.3g}" for k, v in values.items()) + ")"
                              for name, values in sorted(self.cards.items()))
            lines.append(f"- **Device cards** the study read (their values reach ngspice as parameters): {cards}.")
        if self.simulations:
            runs = "; ".join(f"{net} on `{system}`" + (f" ({n} sample{'s' * (n != 1)})" if n else "")
                             + (f" x{k}" if k > 1 else "") for (net, system, n), k in sorted(self.simulations.items()))
            lines.append(f"- **System simulator** (`cimspice.sim.simulate`), {sum(self.simulations.values())} "
                         f"runs: {runs}.")
        lines.append(self._cited_line())
        return "\n".join(lines)

    def _ngspice_line(self) -> str:
        if not self.ngspice:
            return "- **ngspice**: no live runs in this study."
        circuits: dict = {}
        for (circuit, analysis), n in sorted(self.ngspice.items()):
            circuits.setdefault(circuit, []).append(f"{n} {analysis}")
        runs = "; ".join(f"{c} ({', '.join(a)})" for c, a in circuits.items())
        models = ", ".join(f"`{m}`" for m in sorted(self.models)) or "none"
        return (f"- **ngspice** {self.ngspice_version} (libngspice), run live in this study: "
                f"{sum(self.ngspice.values())} analyses: {runs}. Model files: {models}.")

    def _cited_line(self) -> str:
        if not self.cited and not self.settings:
            return "- **Cited constants** (`cimspice/sim/costs.py`): none used."
        by_source: dict = {}
        for name, entry in sorted(self.cited.items()):
            shown = f"`{name}` = {entry['figure']:.3g}" + (f" ({', '.join(sorted(entry['scalings']))})"
                                                          if entry["scalings"] else "")
            by_source.setdefault(entry["source"], []).append(shown)
        cited = "; ".join(f"[{source}] {', '.join(names)}" for source, names in sorted(by_source.items()))
        out = f"- **Cited constants** (`cimspice/sim/costs.py`), by source: {cited or 'none'}."
        if self.settings:
            out += (" Settings of that file without a source record: "
                    + ", ".join(f"`{k}` = {v:g}" for k, v in sorted(self.settings.items())) + ".")
        return out


def _shown_model(path: Path) -> str:
    """A model file as the header names it: ``netlists/NAME`` under the shipped folder."""
    shipped = netlist_dir().resolve()
    return f"netlists/{path.relative_to(shipped)}" if path.is_relative_to(shipped) else str(path)


def _grouped(keys) -> str:
    """``a.x, a.y, b.z`` as ``a (x, y), b (z)``; numbered tables ``inl_1 .. inl_63`` as one
    ``inl_{1..63}``."""
    groups: dict = {}
    for key in keys:
        block, _, table = key.partition(".")
        groups.setdefault(block, []).append(table)
    return ", ".join(f"`{b}` ({_numbered(t)})" if any(t) else f"`{b}`" for b, t in sorted(groups.items()))


def _numbered(tables: list[str]) -> str:
    runs: dict = {}
    for t in tables:
        m = re.fullmatch(r"(.*_)(\d+)", t)
        stem, n = (m.group(1), int(m.group(2))) if m else (t, None)
        runs.setdefault(stem, []).append(n)
    out = []
    for stem, ns in sorted(runs.items()):
        numbers = sorted(n for n in ns if n is not None)
        if len(numbers) > 2:
            out.append(f"{stem}{{{numbers[0]}..{numbers[-1]}}}" + ("" if numbers[-1] - numbers[0] + 1 == len(numbers)
                                                                   else f" ({len(numbers)})"))
        else:
            out += [f"{stem}{n}" if n is not None else stem for n in sorted(ns, key=lambda v: -1 if v is None else v)]
    return ", ".join(out)


def _library_line(path: str, keys, blocks) -> str:
    """One library file: its header (schema version, writer, last change) and what was read."""
    import h5py

    shown = _shown_path(path)
    try:
        with h5py.File(path, "r") as fh:
            a = fh.attrs
            head = (f"schema {a.get('schema', '?')} v{a.get('schema_version', '?')}, written by cimspice "
                    f"{a.get('cimspice_version', '?')}, last changed {a.get('modified', a.get('created', '?'))}")
    except OSError:
        head = "header unreadable"
    tables = f"{len(keys)} tables read: {_grouped(keys)}" if keys else "no tables read"
    recs = f"; block records read: {', '.join(f'`{b}`' for b in sorted(blocks))}" if blocks else ""
    return f"- **Component library** `{shown}` ({head}): {tables}{recs}."


def _shown_path(path: str) -> str:
    """``path`` relative to the cimspice package's folder when inside it."""
    from .. import __file__ as package

    root = Path(package).resolve().parent.parent
    p = Path(path).resolve()
    return str(p.relative_to(root)) if p.is_relative_to(root) else str(path)


# ---------------------------------------------------------------------------- hooks
@contextlib.contextmanager
def collecting():
    """Collect into a fresh :class:`Sources` while the block runs; it listens to the
    engine's analyses meanwhile."""
    src = Sources()
    _ACTIVE.append(src)
    try:
        with observing(src.ngspice_run):
            yield src
    finally:
        _ACTIVE.remove(src)


def collected(run):
    """Decorate a study's ``run``: its report's header lists what the run read."""
    @functools.wraps(run)
    def wrapper(*args, **kwargs):
        with collecting():
            return run(*args, **kwargs)
    return wrapper


def fitted(surrogates: Mapping, how: str = FITTED) -> Mapping:
    """:meth:`Sources.fitted` on the running study's sources (a no-op outside a study)."""
    src = current()
    return src.fitted(surrogates, how) if src is not None else surrogates


def record_card(card, lib: str = "reram.lib", subckt: str = "reram"):
    """Record a ReRAM device card the study read (a :class:`cimspice.circuits.devices.ReramCard`,
    or the shipped :data:`~cimspice.circuits.devices.RERAM` model of ``lib``/``subckt``);
    returns it."""
    src = current()
    if src is not None:
        name = f"netlists/{getattr(card, 'lib', lib)}: {getattr(card, 'subckt', subckt)}"
        src.cards[name] = {k: getattr(card, k) for k in ("g_on", "g_off", "v0", "i_read_max", "i_write_max")
                           if getattr(card, k, None) is not None}
    return card


def load_library(path) -> RecordedLibrary:
    """:func:`cimspice.surrogate.load_library`, every table looked up recorded as read from ``path``."""
    from ..surrogate import load_library as load

    lib = RecordedLibrary(load(path), str(path))
    src = current()
    if src is not None:
        src.files.add(str(path))
        for key in lib.tables:
            src.origins.setdefault(key, str(path))
    return lib


def load_blocks(path) -> RecordedLibrary:
    """:func:`cimspice.surrogate.load_blocks`, every block record looked up recorded."""
    from ..surrogate import load_blocks as load

    src = current()
    if src is not None:
        src.files.add(str(path))
    return RecordedLibrary(load(path), f"{path}#blocks")


def simulate(system, network, data=None, *, library=None, **kwargs):
    """:func:`cimspice.sim.simulate.simulate` (``library`` may be a :class:`RecordedLibrary`),
    its reads and cited figures recorded."""
    from ..sim.simulate import simulate as run

    result = run(system, network, data, library=_plain(library), **kwargs)
    src = current()
    if src is not None:
        src.simulation(result, library)
    return result


class _CostsView:
    """:mod:`cimspice.sim.costs` with each figure the study reads recorded: a cited figure
    (or one in a dict of them, or one a function of the module returns) with its source, a
    plain number as a setting without a source record."""

    def __getattr__(self, name: str):
        value = getattr(_costs, name)
        src = current()
        if src is None or isinstance(value, str | type):
            return value
        if isinstance(value, _costs.Cited):
            src.cite(value)
        elif isinstance(value, dict):
            return _CitedDict(value, name)
        elif callable(value):
            return _citing(value)
        elif isinstance(value, int | float):
            src.settings[f"costs.{name}"] = value
        return value


class _CitedDict(dict):
    def __init__(self, figures: dict, name: str):
        super().__init__(figures)
        self.name = name

    def __getitem__(self, key):
        value = super().__getitem__(key)
        src = current()
        if src is not None and isinstance(value, _costs.Cited):
            src.cite(value)
        return value


def _citing(function):
    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        value = function(*args, **kwargs)
        src = current()
        if src is not None and isinstance(value, _costs.Cited):
            src.cite(value)
        return value
    return wrapper


#: the simulator's cited constants, as the studies read them (each read recorded)
costs = _CostsView()
