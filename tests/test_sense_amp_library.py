"""The shipped library's sense amplifier, characterized at its reference (``i_ref``, and the
bit line's relative ``overdrive`` above it), and the input-splitting study's reading of it.

Oracles: the circuit run afresh in ngspice at off-grid points (nominal, and a corner at an
off-grid temperature), and the study's point computed here by hand from its cells (one unit
of a partial sum: 0.1 V x (10 - 1) uS / 2 = 0.45 uA) and the amplifier's window formula."""

from __future__ import annotations

import numpy as np
import pytest

from cimspice.circuits import get_circuit
from cimspice.circuits.sense_amp import Q_DECIDE, T_EVAL_MIN
from cimspice.library.blocks import CATALOGUE
from cimspice.paths import default_library_path
from cimspice.studies import StudyError
from cimspice.studies.bnn_costs import Hardware, read_prices
from cimspice.studies.bnn_latency_area import read_time_area
from cimspice.surrogate import Surrogate, load_blocks, load_library
from cimspice.surrogate.models import PolynomialRidge

UNIT = 0.1 * (10e-6 - 1e-6) / 2      # A: the study's cells, by hand


@pytest.fixture(scope="module")
def shipped():
    return load_library(default_library_path()), load_blocks(default_library_path())


def _errors(circuit, engine, table_of, points, temp=None):
    """% of full scale of each output's table against a fresh ngspice run, and the table's
    stated validation maximum: [(output, point, error, stated)]."""
    b = CATALOGUE["sense_amp"]
    circuit.load(engine)
    out = []
    for point in points:
        full = {**point, **({} if temp is None else {"temp": temp})}
        truth = circuit.simulate(engine, full).values
        assert truth["decision"] == 1.0
        for output in b.outputs:
            s = table_of(output)
            pred = float(s.predict({k: [full[k]] for k in s.inputs})[0])
            out.append((output, point, 100 * abs(pred - truth[output]) / s.validation["full_scale"][0],
                        s.validation["max_pct"][0]))
    return out


def test_the_block_is_swept_at_its_reference(shipped):
    library, _ = shipped
    for output in CATALOGUE["sense_amp"].outputs:
        s = library[f"sense_amp.{output}"]
        assert s.inputs == ["i_ref", "overdrive", "vdd"]
        lo, hi = s.domain["i_ref"]
        assert lo <= 5e-6 and hi >= 200e-6
        # the study's reads, one unit over 35-140 uA columns (and 8.8 uA in its --quick case)
        assert s.domain["overdrive"][0] <= UNIT / 140e-6 and s.domain["overdrive"][1] >= UNIT / 8.8e-6


def test_nominal_tables_at_fresh_off_grid_points(shipped, engine):
    library, _ = shipped
    b = CATALOGUE["sense_amp"]
    points = [{"i_ref": 27.3e-6, "overdrive": 0.0213, "vdd": 1.07}, {"i_ref": 113e-6, "overdrive": 0.37, "vdd": 0.93},
              {"i_ref": 6.1e-6, "overdrive": 1.7e-3, "vdd": 1.24}]
    for output, point, err, stated in _errors(get_circuit(b.circuit, **b.args()), engine,
                                              lambda o: library[f"sense_amp.{o}"], points):
        assert err <= 2 * stated, (output, point, err, stated)


def test_a_corner_table_at_an_off_grid_temperature_against_fresh_ngspice(shipped, engine):
    """The ss corner at 55 degC, between the grid's 27 and 85."""
    library, blocks = shipped
    b = CATALOGUE["sense_amp"]
    assert "sense_amp@ss" in blocks and library["sense_amp.energy@ss"].domain["temp"] == (-40.0, 125.0)
    points = [{"i_ref": 41.7e-6, "overdrive": 0.0131, "vdd": 1.13}, {"i_ref": 9.2e-6, "overdrive": 0.52, "vdd": 0.87}]
    for output, point, err, stated in _errors(get_circuit(b.circuit, **b.args(), corner="ss"), engine,
                                              lambda o: library[f"sense_amp.{o}@ss"], points, temp=55.0):
        assert err <= 2 * stated, (output, point, err, stated)


@pytest.mark.parametrize("rows", [128, 512])
def test_the_study_reads_the_amplifier_with_its_reference_at_the_column_current(shipped, rows):
    library, blocks = shipped
    hw = Hardware()
    i_col = 0.5 * rows * 0.1 * (10e-6 + 1e-6) / 2      # half the rows driven, mean of on and off
    p = read_prices(rows, 6, i_col, hw, library, blocks)
    rec = p.sources["sense_amp.energy"]
    assert rec["at"] == pytest.approx({"i_ref": i_col, "overdrive": UNIT / i_col, "vdd": 1.1}, rel=1e-12)
    assert "note" not in rec
    table = library["sense_amp.energy"]
    assert p.sa == pytest.approx(float(table.predict({"i_ref": [i_col], "overdrive": [UNIT / i_col],
                                                      "vdd": [1.1]})[0]), rel=1e-12)
    # the window the energy was integrated over: set by the reference, the smaller current
    assert p.t_sa == pytest.approx(T_EVAL_MIN + Q_DECIDE / i_col, rel=1e-12)
    f = read_time_area(rows, p, hw, library, blocks)
    assert f.sources["t_delay"]["at"] == rec["at"] and f.sources["t_delay"]["key"] == "sense_amp.delay"
    assert 0 < f.t_delay < f.t_eval == p.t_sa


def test_a_point_outside_the_table_is_clipped_and_said_so(shipped):
    library, blocks = shipped
    hw = Hardware()
    lo_ref = library["sense_amp.energy"].domain["i_ref"][0]
    hi_od = library["sense_amp.energy"].domain["overdrive"][1]
    i_col = 0.1e-6                       # a column far below the table: both inputs outside
    assert i_col < lo_ref and UNIT / i_col > hi_od
    p = read_prices(32, 6, i_col, hw, library, blocks)
    rec = p.sources["sense_amp.energy"]
    assert rec["at"]["i_ref"] == lo_ref and rec["at"]["overdrive"] == hi_od
    assert "column current 0.1 uA clipped" in rec["note"] and "overdrive 4.5 clipped" in rec["note"]
    assert p.t_sa == pytest.approx(T_EVAL_MIN + Q_DECIDE / lo_ref, rel=1e-12)


def test_a_table_over_the_bit_line_current_is_refused_with_the_command_that_rebuilds_it(shipped):
    """A library built before the block was swept at its reference reads it over i_bl."""
    library, blocks = shipped
    X = np.array([[i, v] for i in (15e-6, 50e-6, 200e-6) for v in (0.8, 1.1, 1.3)])
    old = Surrogate(PolynomialRidge(degree=1), ["i_bl", "vdd"], "energy", name="sense_amp.energy").fit(
        X, 20e-15 + 1e-9 * X[:, 0])
    with pytest.raises(StudyError, match=r"over i_bl, vdd, not at its reference.*--only sense_amp"):
        read_prices(128, 6, 35e-6, Hardware(), {**library, "sense_amp.energy": old}, blocks)
