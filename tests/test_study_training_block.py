"""Training-block study: the ReRAM pulse response measured in ngspice against the model's
closed form, analog training against float training, and the quick report."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
from study_cli import run_quick_study

from cimspice.sim.zoo import load_dataset
from cimspice.spice import get_engine
from cimspice.studies.analog_training import PulseLaw, predict, train_analog, train_float
from cimspice.studies.training_block import _pulse_law


def closed_form_rate(v, temp_c=27.0):
    """dw/dt = k (exp((V - v_set)/v_s) - 1) (1 - w): the Stanford-PKU constants of
    netlists/reram.lib written out here (docs/devices.md)."""
    kb = 8.617333e-5
    T = temp_c + 273.15
    g0, nu0, ea, a0, tox, gamma0, f_min = 0.25e-9, 10.0, 0.6, 0.25e-9, 12e-9, 16.0, 1.4e9
    lnratio = math.log(100e-6 / 1e-6)
    v_th = f_min * tox / gamma0
    k = nu0 / (2 * g0 * lnratio) * math.exp(-(ea - gamma0 * a0 * v_th / tox) / (kb * T))
    v_s = tox * kb * T / (gamma0 * a0)
    return k * (math.exp((v - v_th) / v_s) - 1.0)


@pytest.mark.parametrize("v, t", [(1.2, 5e-9), (1.3, 20e-9)])
def test_pulse_law_matches_the_models_closed_form(v, t):
    law = _pulse_law(get_engine(), v, t)
    expected = closed_form_rate(v) * t  # the 1 ns edges add a little: below threshold most of them
    assert law.a_set == pytest.approx(expected, rel=0.15)
    assert law.a_reset == pytest.approx(law.a_set, rel=1e-3)   # symmetric thresholds in the model
    assert law.energy_set > 0 and law.energy_reset > 0


@pytest.fixture(scope="module")
def digits():
    x, y = load_dataset("mlp", "train")
    xt, yt = load_dataset("mlp", "test")
    return x, y, xt, yt


def test_analog_training_on_an_ideal_device_follows_float(digits):
    x, y, xt, yt = digits
    W_f = train_float(x, y, hidden=24, epochs=3)
    acc_f = np.mean(predict(W_f, xt) == yt)
    # unquantised kernels and exact updates: the analog loop is the float algorithm
    W_a, counts = train_analog(x, y, None, hidden=24, epochs=3, w_range=100.0, adc_bits=None, input_bits=None)
    acc_a = np.mean(predict(W_a, xt) == yt)
    assert acc_f > 0.85
    assert acc_a == pytest.approx(acc_f, abs=0.01), (acc_f, acc_a)
    assert counts["opu"] == 3 * len(x) and counts["set"] == 0
    # the HfOx law's pulses: it still learns, below the ideal device
    W_d, counts = train_analog(x, y, PulseLaw(0.0083, 0.0083), hidden=24, epochs=3, w_range=3.0)
    acc_d = np.mean(predict(W_d, xt) == yt)
    assert 0.6 < acc_d and counts["set"] > 0 and counts["reset"] > 0


def test_pulse_law_moves_states_as_stated():
    law = PulseLaw(0.1, 0.2)
    w = np.array([0.0, 0.5, 1.0])
    np.testing.assert_allclose(law.apply(w, 1, 0), 1 - (1 - w) * np.exp(-0.1))
    np.testing.assert_allclose(law.apply(w, 0, 2), w * np.exp(-0.4))
    assert np.all((law.apply(w, 50, 0) <= 1) & (law.apply(w, 0, 50) >= 0))


@pytest.mark.slow
def test_quick_training_block_report(tmp_path):
    text = run_quick_study("training-block", tmp_path / "tb", timeout=600)
    assert "[Marinella]" in text
    # the VMM energy per MAC is the sum of its components, both printed in the report
    total = float(re.search(r"^\| VMM \| ([0-9.]+) \|", text, re.M).group(1))
    parts = [float(v) for v in re.findall(r"^\| VMM \| \w+ \| ([0-9.]+) \|", text, re.M)]
    assert len(parts) == 4 and total == pytest.approx(sum(parts), rel=1e-3)
