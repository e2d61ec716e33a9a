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


def test_simulate_function_does_what_the_command_does(tmp_path, capsys):
    """The Python entry takes a data file, runs the ADC sweep and writes the folder the
    command writes, with the same text; a bare network object needs data."""
    import numpy as np
    import pytest

    from cimspice.sim import Sequential, SimError, load_dataset, load_network
    from cimspice.sim.simulate import simulate

    x, y = load_dataset("mlp", "test", n=60)
    np.savez(tmp_path / "d.npz", x=x, y=y, x_calibration=load_dataset("mlp", "train", n=64)[0])
    result = simulate("ideal", "mlp", tmp_path / "d.npz", n_samples=50, adc_bits=[4], output=tmp_path / "py")
    assert result.n_samples == 50 and [r["adc_bits"] for r in result.sweep] == [4, 4]
    assert [p.name for p in result.plots] == ["energy_breakdown.png", "layers.png", "accuracy_vs_adc_bits.png"]
    assert (tmp_path / "py" / "simulate.txt").read_text() == result.to_table() + "\n"
    assert main(["simulate", "ideal", "--network", "mlp", "--data", str(tmp_path / "d.npz"), "--samples", "50",
                 "--adc-bits", "4", "-o", str(tmp_path / "cli")]) == 0
    assert capsys.readouterr().out.strip() == result.to_table().replace(str(tmp_path / "py"), str(tmp_path / "cli"))
    with pytest.raises(SimError, match="no held-out data of its own"):
        simulate("ideal", Sequential("bare", load_network("mlp").layers))
