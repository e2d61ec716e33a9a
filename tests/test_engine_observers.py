"""The engine's listeners (:mod:`cimspice.spice.observers`): told of each analysis run through
the engine while subscribed, with the deck's model files, and of nothing outside that."""

from __future__ import annotations

import pytest

from cimspice.paths import netlist_dir, netlist_path
from cimspice.spice import MissingVectorError
from cimspice.spice.observers import LISTENERS, observing

CELL = (f'one cell\n.include "{netlist_path("reram_jetcas.lib")}"\nv1 a 0 0.1\n'
        "xr1 a 0 reram_jetcas g=16n\n.end\n")


def test_a_listener_hears_each_analysis_while_subscribed_and_nothing_after(engine):
    seen = []
    engine.load(CELL, source="one cell")
    engine.op(["i(v1)"])                                  # before: not heard
    with observing(seen.append):
        current = engine.op(["i(v1)"])["i(v1)"]
        engine.dc("v1", 0.0, 0.2, 0.1, ["i(v1)"])
        with pytest.raises(MissingVectorError):
            engine.op(["v(nowhere)"])                     # failed, and still ran: heard
    engine.op(["i(v1)"])                                  # after: not heard
    assert [(r.source, r.analysis) for r in seen] == [("one cell", "op"), ("one cell", "dc"), ("one cell", "op")]
    assert seen[1].command == "dc v1 0.0 0.2 0.1" and seen[0].version == engine.version
    assert seen[0].netlist == engine.netlist and current[0] < 0       # the circuit that ran
    shipped = netlist_dir().resolve()
    assert seen[0].model_files == (shipped / "reram_jetcas.lib", shipped / "reram.lib")   # nested include followed
    assert not LISTENERS


def test_a_listener_that_leaves_by_an_error_is_unsubscribed(engine):
    seen = []
    engine.load(CELL)
    with pytest.raises(RuntimeError), observing(seen.append):
        raise RuntimeError("the study failed")
    engine.op(["i(v1)"])
    assert not seen and not LISTENERS
