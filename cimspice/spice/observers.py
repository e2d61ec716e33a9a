"""Who hears of the analyses the engine runs: a registry of listeners.

:meth:`cimspice.spice.engine.Engine.run` tells every listener of each analysis it ran
(succeeded or not) with an :class:`AnalysisRun`: the circuit, the command, the deck and the
model files it includes. A study's report header lists them
(:mod:`cimspice.studies.provenance`). Subscribe for the length of a block:

>>> seen = []
>>> with observing(seen.append):
...     get_engine().op()          # doctest: +SKIP
>>> [run.analysis for run in seen]  # doctest: +SKIP
['op']

When nobody listens, an analysis costs the engine one test of an empty list. This module
does not import ngspice: a listener can subscribe where ngspice is not installed.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from .errors import NetlistError
from .sandbox import includes

__all__ = ["AnalysisRun", "included_files", "observing"]


@dataclass(frozen=True)
class AnalysisRun:
    """One analysis the engine ran.

    ``source``: the circuit's name as loaded (a file path, or the ``source`` given);
    ``command``: the ngspice command (``"op"``, ``"dc vin 0 1 0.1"``); ``netlist``: the deck
    as ngspice got it (include paths absolute); ``version``: ngspice's; ``model_files``: the
    files the deck includes, nested includes followed, each once, in the order met.
    """

    source: str
    command: str
    netlist: str
    version: str
    model_files: tuple[Path, ...]

    @property
    def analysis(self) -> str:
        """The analysis, lower-case: ``"op"``, ``"dc"``, ``"tran"``, ``"ac"``, ``"noise"``."""
        return self.command.split()[0].lower()


Listener = Callable[[AnalysisRun], None]

#: the listeners subscribed now; the engine tests this list before building a record
LISTENERS: list[Listener] = []


@contextlib.contextmanager
def observing(listener: Listener) -> Iterator[Listener]:
    """Call ``listener(run)`` after each analysis the engine runs while the block runs.

    A listener must not raise: it is called from the engine's ``finally``, where an error
    would hide the analysis's own.
    """
    LISTENERS.append(listener)
    try:
        yield listener
    finally:
        LISTENERS.remove(listener)


def notify(engine, command: str) -> None:
    """Tell every listener that ``engine`` ran ``command`` on its loaded deck."""
    run = AnalysisRun(engine.source, command, engine.netlist, engine.version, included_files(engine.netlist))
    for listener in tuple(LISTENERS):
        listener(run)


@functools.lru_cache(maxsize=8)  # a study runs a few circuits many times over
def included_files(deck: str) -> tuple[Path, ...]:
    """The files ``deck`` includes (``.include``, ``.inc*``, ``.lib FILE SECTION``), the
    files they include followed, each once; read as the netlist sandbox reads a deck. Files
    that are not there are left out, and unreadable ones not followed (nor refused: a
    trusted deck's includes were never checked)."""
    found: list[Path] = []
    todo = [include.target for include in includes(deck, Path.cwd())]
    while todo:
        path = todo.pop(0)
        if path in found or not path.is_file():
            continue
        found.append(path)
        try:
            todo += [include.target for include in includes(path.read_text(encoding="utf-8"), path.parent,
                                                              has_title=False)]
        except (OSError, UnicodeDecodeError, NetlistError):   # a trusted deck's includes are unchecked
            continue
    return tuple(found)
