"""Studies: the quick input-splitting study through the CLI, the NumPy trainers behind the studies
(the reprogrammable-nonlinear study: tests/test_study_nonlinear.py)."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest
from study_cli import run_quick_study

from cimspice.sim.simulate import simulate
from cimspice.sim.spec import load_system_spec
from cimspice.sim.zoo import load_dataset
from cimspice.studies.training import split_bounds, train_mlp, train_split_aware


def _system(rows: int, adc_bits: int, partial_sum_bits: int, split: str):
    """Only the ADCs non-ideal: 4-bit differential cells, 8-bit DAC inputs."""
    return load_system_spec("ideal").updated({
        "name": f"{split}-{rows}-{adc_bits}b", "array": {"rows": rows, "cols": rows, "cell_bits": 4},
        "inputs": {"encoding": "dac", "bits": 8},
        "adc": {"bits": adc_bits, "partial_sum_bits": partial_sum_bits, "range": "calibrated"},
        "tiling": {"split": split}})


@pytest.fixture(scope="module")
def digits():
    x, y = load_dataset("mlp", "train")
    xt, yt = load_dataset("mlp", "test")
    return x, y, xt, yt


@pytest.fixture(scope="module")
def float_mlp(digits):
    x, y, _, _ = digits
    return train_mlp(x, y, hidden=(64, 64), epochs=20)


def test_split_bounds_match_the_simulators_tiling():
    assert split_bounds(64, 64) == [(0, 64)]
    assert split_bounds(128, 32) == [(0, 32), (32, 64), (64, 96), (96, 128)]
    b = split_bounds(100, 32)
    assert len(b) == 4 and b[0][0] == 0 and b[-1][1] == 100 and all(r1 - r0 <= 32 for r0, r1 in b)


def test_float_training_learns_the_digits(digits, float_mlp):
    _, _, xt, yt = digits
    assert float_mlp.network("m").score(xt, yt) > 0.93


def test_split_aware_retraining_recovers_coarse_adcs(digits, float_mlp):
    # 2-bit ADCs on 16-row arrays wreck the network as trained; retraining for the split
    # structure must recover much of it, judged by the system simulator on held-out digits
    x, y, xt, yt = digits
    data = (xt[:200], yt[:200], x[:256])
    spec = _system(16, 2, 8, "input_splitting")
    before = simulate(spec, float_mlp.network("f"), data).analog_metric
    retrained = train_split_aware(float_mlp, x, y, 16, 2, 8, epochs=8, x_calibration=x[:256])
    after = simulate(spec, retrained.network("r"), data).analog_metric
    assert after > before + 0.05, (before, after)


@pytest.mark.slow
def test_quick_input_splitting_study_writes_a_consistent_report(tmp_path):
    text = run_quick_study("input-splitting", tmp_path / "study")
    claims = [line for line in text.splitlines() if "[Kim]" in line]
    assert len(claims) == 3 and all("arrays" in c for c in claims)   # each with its case
    # the claimed ratios are the energy table's, at the headline array size
    adc_claim = float(re.search(r"\| 32x \| ([0-9.]+)x \|", claims[0]).group(1))
    chip_claim = float(re.search(r"\| 3x \| ([0-9.]+)x \|", claims[1]).group(1))
    rows = re.search(r"(\d+)x\d+ arrays", claims[0]).group(1)
    energy = {}
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if len(cells) == 11 and cells[0] == rows:
            energy[cells[1]] = (float(cells[9]), float(cells[10]))
    base, split = energy["partial sums"], energy["input splitting"]
    assert adc_claim == pytest.approx(base[0] / split[0], rel=0.02)
    assert chip_claim == pytest.approx(base[1] / split[1], rel=0.02)
    assert "## Sensitivity" in text and "## What this study does not do" in text and "sense_amp.energy" in text
    # non-ideal arrays at every size: with none, both designs read exactly what the accuracy table's
    # exact reads give (partial sums through the priced ADC, split retrained)
    accuracy = {c[0]: c for c in ([x.strip() for x in line.strip("|").split("|")] for line in text.splitlines())
                if len(c) == 9 and c[0].isdigit()}
    nonideal = text.split("## Accuracy through non-ideal arrays")[1].split("\n## ")[0]
    tables = [[[x.strip() for x in line.strip("|").split("|")] for line in block.splitlines()[2:]]
              for block in nonideal.split("\n\n") if block.startswith("| ")]
    per_size, cases, verdicts = tables
    results = json.loads((tmp_path / "study" / "results.json").read_text())["rows"]
    assert len(accuracy) == 2 and [r[0] for r in per_size] == [r[0] for r in verdicts] == list(accuracy)
    for size, acc in accuracy.items():
        table = [r for r in cases if r[0] == size]
        assert [r[1].split(" (")[0] for r in table] == ["ideal", "IR drop", "programming spread", "read noise",
                                                       "sense-amplifier offset", "all of them"]
        assert table[0][2:] == [acc[5].replace(" ", ""), acc[7].replace(" ", "")]
        nd = results[size]["nonideal"]
        assert nd["accuracy"]["partial sums"]["ideal"]["mean"] == pytest.approx(float(acc[5][:-2]) / 100, abs=5e-5)
        # the offset's Monte Carlo ran at this size's column current, which grows with the rows
        assert f"{nd['i_col_A'] * 1e6:.1f} uA" == per_size[[r[0] for r in per_size].index(size)][2]
        assert f"of {nd['i_col_A'] * 1e6:.0f} uA)" in table[4][1]
    (small, s), (large, b) = sorted((int(k), v["nonideal"]) for k, v in results.items())
    assert b["i_col_A"] == pytest.approx(s["i_col_A"] * large / small, rel=1e-9) and b["sa_offset_sigma_A"] != s[
        "sa_offset_sigma_A"]
    assert "accuracy_nonideal_vs_rows.png" in nonideal and f"{small} rows: partial sums" in claims[2]
    assert "sense_amp (" in text and "tran)" in text    # the offset's Monte Carlo ran in ngspice
    # latency and area beside the energy: the report's totals are results.json's, no claim judged on them
    got = results[rows]
    cells = [[x.strip() for x in line.strip("|").split("|")] for line in text.splitlines() if line.startswith("| ")]
    latency = {c[1]: float(c[-1]) for c in cells if len(c) == 8 and c[0] == rows}
    area = {c[1]: float(c[-1]) for c in cells if len(c) == 10 and c[0] == rows}
    for design, label in (("baseline", "partial sums"), ("split", "input splitting")):
        assert latency[label] == pytest.approx(sum(got["latency_s"][design].values()) * 1e9, abs=0.06)
        assert area[label] == pytest.approx(sum(got["area_m2"][design].values()) * 1e6, abs=6e-4)
    assert got["ratios"]["latency_ratio"] == pytest.approx(latency["partial sums"] / latency["input splitting"],
                                                           rel=1e-3)
    assert "no claim on them is judged" in text and got["sources"]["latency_area"]["t_conv"]["key"].startswith("adc_")


def test_unknown_study_is_a_one_line_error():
    run = subprocess.run([sys.executable, "-m", "cimspice.cli", "study", "nope"], capture_output=True, text=True)
    assert run.returncode != 0 and "nope" in run.stderr


def test_report_folder_that_cannot_exist_is_a_one_line_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    run = subprocess.run([sys.executable, "-m", "cimspice.cli", "study", "training-block", "--quick", "-o",
                          str(blocker / "report")], capture_output=True, text=True, timeout=120)
    assert run.returncode == 1 and "cannot create the report folder" in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1 and blocker.read_text() == "not a folder"
