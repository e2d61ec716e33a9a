"""The associative processor's CAM row as a registered circuit (``cam_row``): it measures
what the study's bench functions measure, refuses bad arguments in one line, and
``cimspice library build --only cam_row_8b --quick`` runs end to end."""

from __future__ import annotations

import contextlib
import io

import pytest

from cimspice.circuits import CircuitError, get_circuit
from cimspice.circuits.cam import search_energy, write_energy
from cimspice.cli import main
from cimspice.library import CATALOGUE
from cimspice.surrogate import load_blocks, load_library


def test_registered_row_measures_what_the_bench_functions_do(engine):
    row = get_circuit("cam_row", word_bits=16, rows=32, active_bits=2)
    m = row.simulate(engine, {"vdd": 1.0, "temp": 27.0}).values
    s = search_energy(engine, word_bits=16, rows=32, active_bits=2, vdd=1.0)
    w = write_energy(engine, rows=32, vdd=1.0)
    assert m["energy_match"] == pytest.approx(s["match"], rel=1e-9)
    assert m["energy_mismatch"] == pytest.approx(s["mismatch"], rel=1e-9)
    assert m["energy_write_cell"] == pytest.approx(w["cell"], rel=1e-9)
    assert m["energy_write_bit_line"] == pytest.approx(w["same"], rel=1e-9)
    assert m["t_search"] == pytest.approx(s["t_search"], rel=1e-9)
    assert 0 < m["energy_match"] < m["energy_mismatch"]     # a match keeps its line charged
    assert 1e-12 < m["t_search"] < 0.9e-9                   # sensed within the evaluation window
    assert s["ml_mismatch"] < 0.05 < 0.95 < s["ml_match"]   # the line discharged / held (V, 1.0 V supply)


@pytest.mark.parametrize("args, message", [
    ({"word_bits": 0}, "word_bits"), ({"word_bits": 257}, "word_bits"), ({"word_bits": 8.0}, "word_bits"),
    ({"word_bits": True}, "word_bits"), ({"rows": 0}, "rows"), ({"rows": 5000}, "rows"),
    ({"active_bits": 0}, "active_bits"), ({"word_bits": 4, "active_bits": 5}, "exceeds word_bits"),
    ({"corner": "xx"}, "corner"), ({"width": 8}, "unexpected keyword"),
])
def test_bad_arguments_are_one_line_circuit_errors(args, message):
    with pytest.raises(CircuitError, match=message) as info:
        get_circuit("cam_row", **args)
    assert "\n" not in str(info.value) and "cam_row" in str(info.value)


def test_bad_supply_is_refused_before_ngspice_runs(engine):
    with pytest.raises(CircuitError, match="vdd") as info:
        get_circuit("cam_row").simulate(engine, {"vdd": 1.5})
    assert "\n" not in str(info.value)
    with pytest.raises(CircuitError, match="vdd"):
        search_energy(engine, vdd=0.5)


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    """``cimspice library build --only cam_row_8b --quick`` into a fresh folder: its path."""
    path = tmp_path_factory.mktemp("camlib") / "lib.h5"
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(["library", "build", "--only", "cam_row_8b", "--quick", "-o", str(path), "--no-progress"])
    assert code == 0, out.getvalue()
    return path


def test_quick_build_of_the_8_bit_row(library, engine):
    block = CATALOGUE["cam_row_8b"]
    surrogates, records = load_library(library), load_blocks(library)
    assert sorted(surrogates) == sorted(f"cam_row_8b.{o}" for o in block.outputs)
    row = get_circuit("cam_row", **block.args(quick=True))
    assert records["cam_row_8b"]["area"] == pytest.approx(row.area()) and row.area() > 0
    fresh = row.simulate(engine, {"vdd": 1.05}).values  # off the quick grid's nodes (0.9, 1.0, 1.1, 1.2 V)
    for output, s in surrogates.items():
        name = output.split(".")[1]
        assert s.predict({"vdd": [1.05]})[0] == pytest.approx(fresh[name], rel=0.02), name
