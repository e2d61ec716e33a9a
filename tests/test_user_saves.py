"""A user netlist's analyses store only the vectors its outputs read (ngspice's ``save``),
from its second point on: a transient of a large circuit then writes a few vectors per time
point instead of one per node. The numbers do not change."""

from __future__ import annotations

from pathlib import Path

from cimspice.circuits.user import NetlistCircuit

LADDER = Path(__file__).parent / "data" / "rc_ladder.cir"
OUTPUTS = {"t_pd": {"meas": "tran TRIG v(in) VAL=0.5 RISE=1 TARG v(out) VAL=0.5 RISE=1"},
           "q": {"energy": {"supply": "v1", "to": "20n"}}}


def test_from_the_second_point_a_transient_keeps_only_what_the_outputs_read(engine):
    circuit = NetlistCircuit(LADDER, OUTPUTS, {"tran": {"step": "10p", "stop": "40n"}})
    circuit.load(engine)
    first = circuit.simulate(engine, {"r": 1500.0}).values
    assert set(engine.tran(1e-10, 1e-9).vectors) == {"time", "in", "out", "v1#branch"}
    again = circuit.simulate(engine, {"r": 1500.0}).values
    assert again == first  # the same solution, whatever is stored
    circuit.load(engine)  # a fresh load (e.g. the worker's retry with aids) saves all again
    assert set(engine.tran(1e-10, 1e-9).vectors) == {"time", "in", "out", "mid", "end", "v1#branch"}
