"""NaN and inf from a user are refused where they enter, with one line naming the array and
how many entries are bad: data files, calibration data, surrogate libraries (the stored model
arrays), and the arrays passed to the crossbar reads, the crossbar solver and ``predict``.
Before, they gave wrong answers with exit status 0 (issue 15)."""

from __future__ import annotations

import re
import subprocess
import sys

import numpy as np
import pytest

from cimspice.sim.errors import SimError
from cimspice.sim.simulate import simulate
from cimspice.sim.zoo import load_dataset

BAD = "entries are not finite (NaN or inf)"


def one_line(text: str) -> str:
    lines = text.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in text, text
    return lines[0]


# ------------------------------------------------------------------ data files and calibration
def test_cli_refuses_a_data_file_of_nan(tmp_path):
    x, y = load_dataset("mlp", "test", n=10)  # 10 x 64 pixels
    np.savez(tmp_path / "nan.npz", x=np.full_like(x, np.nan), y=y)
    run = subprocess.run([sys.executable, "-m", "cimspice.cli", "simulate", "baseline", "--network", "mlp",
                          "--data", "nan.npz", "--samples", "20", "--adc-bits", "-o", "out"],
                         capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert run.returncode != 0
    assert one_line(run.stderr) == f"cimspice: nan.npz: x: 640 of 640 {BAD}"
    assert not (tmp_path / "out").exists()


def test_simulate_refuses_one_inf_in_x_calibration_or_x():
    x, y = load_dataset("mlp", "test", n=50)
    x_cal, _ = load_dataset("mlp", "train", n=64)
    x_cal[3, 5] = np.inf  # once set the input range to inf: every input read as 0 (accuracy 4 %)
    with pytest.raises(SimError, match="^" + re.escape(f"x_calibration: 1 of {x_cal.size} {BAD}") + "$"):
        simulate("ideal", "mlp", data=(x, y, x_cal))
    x[0, 0] = np.nan
    with pytest.raises(SimError, match=rf"^data: x: 1 of {x.size} entries are not finite"):
        simulate("ideal", "mlp", data=(x, y, x_cal))
