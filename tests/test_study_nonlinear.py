"""The ``reprogrammable-nonlinear`` study, quick, through the CLI: its tables agree with each
other, both claims (lookup table and differential pair against the array) are judged in their
stated cases, and its header lists what the run read."""

from __future__ import annotations

import re

import numpy as np
import pytest
from study_cli import run_quick_study

from cimspice.circuits import PwlUnit
from cimspice.studies.nonlinear_units import dc_transfer


def test_dc_transfer_by_segment_sweeps_equals_an_operating_point_per_input(engine):
    """The study's transfer (a .dc sweep per segment, an op on each side of each breakpoint)
    against the circuit's own measurement, one operating point per input."""
    unit = PwlUnit("tanh", 4, timing=False)
    sweep = dc_transfer(unit, engine, 3)
    xs = unit.sweep_points(3)
    np.testing.assert_array_equal(sweep.inputs["x"], xs)
    unit.load(engine)
    ops = np.array([unit.simulate(engine, {"x": float(x)}).values["y"] for x in xs])
    assert np.max(np.abs(sweep.outputs["y"] - ops)) < 1e-4 * np.ptp(ops)
    assert sweep.output_units == {"y": "1"} and sweep.design == "list"


@pytest.fixture(scope="module")
def text(tmp_path_factory):
    """The quick report, run once for this module's tests (~1 min)."""
    return run_quick_study("reprogrammable-nonlinear", tmp_path_factory.mktemp("rn") / "rn")


def _cells(line: str) -> list[str]:
    """A Markdown table row's cells."""
    return [c.strip() for c in line.strip().strip("|").split("|")]


@pytest.mark.slow
def test_quick_reprogrammable_nonlinear_study(text):
    assert "[deMoura]" in text
    rows = {}
    for line in text.splitlines():
        cells = _cells(line)
        if len(cells) == 8 and cells[0] == "lstm":
            rows[cells[1]] = cells
    assert set(rows) == {"digital unit", "ReRAM PWL array", "lookup table", "analog differential pair"}
    # on the realistic system: the matrix products are the library's characterized circuits
    assert all(int(r[7].rstrip("%")) >= 90 for r in rows.values()), rows
    assert "transfer_error.png" in text and "latency (ns)" in text
    # the claimed ratio is the table's: lookup-table over array nonlinear energy
    claimed = float(re.search(r"\| 8\.5x \| ([0-9.]+)x \|", text).group(1))
    lut, arr = float(rows["lookup table"][3]), float(rows["ReRAM PWL array"][3])
    assert claimed == pytest.approx(lut / arr, rel=0.02)
    # an 8-segment array keeps the LSTM's float accuracy within two points
    acc = lambda cells: float(re.search(r"accuracy ([0-9.]+) %", cells[2]).group(1))  # noqa: E731
    fl = float(re.search(r"float ([0-9.]+) %", rows["ReRAM PWL array"][2]).group(1))
    assert abs(acc(rows["ReRAM PWL array"]) - fl) <= 2.0
    # sensitivity: its nominal row re-prices to the whole-network table, the tornado is linked,
    # each headline's range is stated, and the study says what it leaves out
    sens = text.split("## Sensitivity: what decides the verdict")[1].split("## What this study does not do")[0]
    nominal = next(c for c in (_cells(line) for line in sens.splitlines()) if c[:2] == ["lstm", "nominal"])
    ratio = lambda cell: float(cell.split("x /")[0])  # noqa: E731
    assert ratio(nominal[3]) == pytest.approx(lut / arr, rel=0.02)
    assert ratio(nominal[5]) == pytest.approx(float(rows["lookup table"][4]) / float(rows["ReRAM PWL array"][4]),
                                              rel=0.01)
    assert "sensitivity_tornado.png" in sens and sens.count("lstm: ") == 4
    assert "differential pair" in text.split("## What this study does not do")[1]
    # the analog alternative: measured per function, and its energy per evaluation is what the
    # network's nonlinear energy divides by its evaluations (the array's likewise)
    pair = {c[0]: c for c in map(_cells, text.split("## The analog alternative")[1].split("##")[0].splitlines())
            if len(c) == 8 and c[0] in ("sigmoid", "tanh")}
    assert set(pair) == {"sigmoid", "tanh"} and all(0 < float(c[4]) < 0.05 for c in pair.values())
    dp = rows["analog differential pair"]
    assert float(dp[5].rstrip("x")) == pytest.approx(float(dp[3]) / arr, abs=0.01)
    # the claims: the table and the pair each judged against the array, each in its stated case
    claims = {c[0]: c for c in map(_cells, text.split("## The paper's claims")[1].split("##")[0].splitlines())
              if c[0].endswith("[deMoura]")}
    analog = next(c for k, c in claims.items() if k.startswith("better than analog"))
    assert len(claims) == 2 and analog[1] == "8.5x" and analog[3] == "differs"
    assert float(analog[2].rstrip("x")) == pytest.approx(float(dp[3]) / arr, rel=0.02)
    assert "on the LSTM" in analog[4] and "within x1.33 of the paper's 8.5x" in analog[4]
    assert "the array loses in every case" in analog[5]


@pytest.mark.slow
def test_quick_reprogrammable_nonlinear_header_lists_what_it_read(text):
    """The header is collected from the run: the library tables its simulations read, the
    tables it fitted, every ngspice circuit it ran (the lookup tables' in a second process)
    with the model files, and the cited constants with their sources; no typed claims."""
    head = text.split("## Setup")[0]
    library = next(line for line in head.splitlines() if line.startswith("- **Component library** `"))
    assert "cimspice/library/default.h5" in library and "`wl_driver` (energy_driver)" in library
    assert "`cell_1t1r` (i_cell)" in library and "pwl_" not in library     # the run's own tables are not the file's
    fitted = next(line for line in head.splitlines() if line.startswith("- **Tables fitted in this run"))
    assert all(f"`{k}_{f}` (energy, y)" in fitted for k in ("pwl", "dp") for f in ("sigmoid", "tanh"))
    ngspice = re.search(r"run live in this study: (\d+) analyses: (.*)\. Model files: (.*)\.", head)
    runs = dict(re.findall(r"(\w+) \(([^)]*)\)", ngspice.group(2)))
    assert set(runs) == {"pwl_unit", "lut_activation", "diff_pair_activation"}
    assert runs["lut_activation"] == "2 tran"                 # 2 functions x 1 lookup, from the worker process
    assert "`netlists/pwl_unit.lib`" in ngspice.group(3)
    assert "`costs.NONLINEAR_ENERGY` = 2.17e-13" in head and "[ISAAC (Shafiee et al., ISCA 2016)]" in head
    assert "lstm on `baseline` (60 samples) x4" in head and "simulated in ngspice, surrogates fitted" not in head
