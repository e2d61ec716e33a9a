"""`cimspice simulate`: the table and plots, and one-line errors for bad requests."""

from __future__ import annotations

import re

from cimspice.cli import main


def test_simulate_ideal_system_reports_analog_equal_to_float(tmp_path, capsys):
    assert main(["simulate", "ideal", "--network", "mlp", "--samples", "150", "--adc-bits", "-o", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    float_acc, analog_acc = re.search(r"accuracy\s+float ([\d.]+)%\s+analog ([\d.]+)%", out).groups()
    assert float_acc == analog_acc
    assert (tmp_path / "energy_breakdown.png").stat().st_size > 1000
    assert (tmp_path / "simulate.txt").read_text().strip() == out.strip()


def test_simulate_bad_requests_are_one_line_errors(tmp_path, capsys):
    assert main(["simulate", "baseline", "--network", "resnet50", "-o", str(tmp_path / "a")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "resnet50" in err
    bad = tmp_path / "bad.yaml"
    bad.write_text("array: {rows: -4, cols: 64}\n")
    assert main(["simulate", str(bad), "--network", "mlp", "-o", str(tmp_path / "b")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "bad.yaml" in err
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()
