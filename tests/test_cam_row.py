"""The associative processor's CAM row as a registered circuit (``cam_row``), its library
blocks and the width law fitted across them: the circuit measures what the study's bench
functions measure, the energies grow with the row as a line, the law predicts a width it
was not fitted on, and ``cimspice library build --only cam_row_8b --quick`` runs end to end."""

from __future__ import annotations

import contextlib
import io
import json
import shutil

import numpy as np
import pytest

from cimspice.circuits import CircuitError, get_circuit
from cimspice.circuits.cam import search_energy, write_energy
from cimspice.cli import main
from cimspice.library import CATALOGUE, LibraryError
from cimspice.library.width_law import WidthLaw, fit_width_law, library_width_law
from cimspice.surrogate import load_blocks, load_library

#: the law's stated accuracy on a width it was not fitted on (8-64 bits, 1.1 V): the
#: measured leave-one-out errors are 0.1-2 %
HELD_OUT_TOLERANCE = 0.03


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


def test_mismatch_energy_is_linear_in_the_width_and_the_law_predicts_a_held_out_width(engine):
    widths = (8, 16, 32, 64)
    runs = [get_circuit("cam_row", word_bits=w, rows=256).simulate(engine, {}).values for w in widths]
    mismatch = np.array([r["energy_mismatch"] for r in runs])
    assert np.all(np.diff(mismatch) > 0)
    assert all(r["energy_match"] < r["energy_mismatch"] for r in runs)
    law = fit_width_law(widths, mismatch, output="energy_mismatch", unit="J")
    assert law.max_held_out < HELD_OUT_TOLERANCE
    # the held-out prediction, spelled out for the interior width 32 (fit on 8, 16, 64)
    slope, intercept = np.polyfit([8, 16, 64], mismatch[[0, 1, 3]], 1)
    assert law.held_out[2] == pytest.approx((intercept + slope * 32 - mismatch[2]) / mismatch[2])
    # the match line's charge per bit: a few tenths of a fF per cell (two compare-stack drains)
    c_per_bit = law.slope / 1.1 ** 2
    assert 0.1e-15 < c_per_bit < 1e-15


def test_fit_recovers_an_exact_line_and_refuses_too_few_widths():
    law = fit_width_law([4, 8, 16, 32], [3.0 + 0.5 * w for w in (4, 8, 16, 32)], output="e", unit="J")
    assert law.intercept == pytest.approx(3.0) and law.slope == pytest.approx(0.5)
    assert law.max_held_out < 1e-12 and np.abs(law.residuals).max() < 1e-12
    assert WidthLaw.from_dict(json.loads(json.dumps(law.to_dict()))) == law
    for widths, values in (([8, 16], [1.0, 2.0]), ([8, 8, 16], [1.0, 1.1, 2.0]), ([8, 16, 32], [1.0, np.nan, 2.0])):
        with pytest.raises(LibraryError) as info:
            fit_width_law(widths, values, output="e")
        assert "\n" not in str(info.value)


@pytest.mark.parametrize("args, message", [
    ({"word_bits": 0}, "word_bits"), ({"word_bits": 257}, "word_bits"), ({"word_bits": 8.0}, "word_bits"),
    ({"word_bits": True}, "word_bits"), ({"rows": 0}, "rows"), ({"rows": 5000}, "rows"),
    ({"active_bits": 0}, "active_bits"), ({"word_bits": 4, "active_bits": 5}, "exceeds word_bits"),
    ({"corner": "xx"}, "corner"), ({"width": 8}, "unknown argument .width."),
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
    with pytest.raises(LibraryError, match="3 or more word_bits") as info:
        library_width_law(library)
    assert "\n" not in str(info.value)


@pytest.mark.slow
def test_width_law_from_the_library_blocks(library, engine, tmp_path):
    shutil.copytree(library.parent, tmp_path / "lib", copy_function=shutil.copy2)
    library = tmp_path / "lib" / library.name
    out = io.StringIO()
    with contextlib.redirect_stdout(out):  # two more widths into a copy of the library
        code = main(["library", "build", "--only", "cam_row_8b", "cam_row_16b", "cam_row_32b", "--quick",
                     "-o", str(library), "--no-progress"])
    assert code == 0 and "cam_row_8b: unchanged" in out.getvalue(), out.getvalue()
    law = library_width_law(library)
    assert law.widths == (8.0, 16.0, 32.0) and law.unit == "J" and law.max_held_out < HELD_OUT_TOLERANCE
    # the law's points are the nominal-supply energies ngspice gives now
    fresh = [get_circuit("cam_row", word_bits=w, rows=256).simulate(engine, {}).values["energy_mismatch"]
             for w in (8, 16, 32)]
    assert law.values == pytest.approx(fresh, rel=1e-6)
    source = law.source
    assert json.loads(source["point"]) == {"vdd": 1.1} and json.loads(source["circuit_args"]) == {
        "active_bits": 3, "rows": 256}
    assert set(json.loads(source["block_fingerprints"])) == {"cam_row_8b", "cam_row_16b", "cam_row_32b"}
    assert len(source["library_sha256"]) == 64
