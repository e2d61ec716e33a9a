"""Waveform measurements against analytic waveforms."""

import numpy as np
import pytest

from cimspice.circuits import CircuitError
from cimspice.circuits.waveforms import crossing_time, settling_time, supply_energy


def test_crossing_of_a_ramp_is_exact_on_a_nonuniform_axis():
    rng = np.random.default_rng(0)
    t = np.sort(np.concatenate([[0.0, 1.0], rng.uniform(0, 1, 50)]))
    y = 2.0 * t - 0.5  # crosses 0.3 at t = 0.4
    assert crossing_time(t, y, 0.3, direction="rising") == pytest.approx(0.4, abs=1e-15)
    assert np.isnan(crossing_time(t, y, 0.3, direction="falling"))
    assert np.isnan(crossing_time(t, y, 5.0))


def test_crossing_after_skips_earlier_crossings():
    t = np.linspace(0, 2 * np.pi, 20001)
    y = np.sin(t)
    assert crossing_time(t, y, 0.5, direction="rising") == pytest.approx(np.pi / 6, abs=1e-7)
    assert crossing_time(t, y, 0.5, direction="falling") == pytest.approx(5 * np.pi / 6, abs=1e-7)
    assert crossing_time(t, y, 0.0, direction="either", after=1.0) == pytest.approx(np.pi, abs=1e-7)


def test_settling_time_of_a_first_order_step():
    tau = 1e-9
    t = np.linspace(0, 20e-9, 200001)
    y = 1 - np.exp(-t / tau)
    # within 1 % of the final value after tau * ln(100)
    assert settling_time(t, y, final=1.0, tolerance=0.01) == pytest.approx(tau * np.log(100), rel=1e-6, abs=0)
    assert np.isnan(settling_time(t[:100], y[:100], final=1.0, tolerance=0.01))


def test_supply_energy_of_a_capacitor_charge():
    # Charging C to V through R from an ideal supply V draws C V^2 from it, whatever R.
    c, v, r = 1e-12, 1.0, 1e3
    t = np.linspace(0, 30 * r * c, 300001)
    i = v / r * np.exp(-t / (r * c))
    assert supply_energy(t, v, i) == pytest.approx(c * v**2, rel=1e-6, abs=0)
    # half of it before t = R C ln 2 ... computed independently
    t_half = r * c * np.log(2)
    assert supply_energy(t, v, i, stop=t_half) == pytest.approx(c * v**2 * 0.5, rel=1e-6, abs=0)


def test_bad_waveforms_are_refused():
    with pytest.raises(CircuitError, match="time must be 1-D"):
        crossing_time([0.0], [1.0], 0.5)
    with pytest.raises(CircuitError, match="non-decreasing"):
        supply_energy([0, 2, 1], 1.0, [1, 1, 1])
    with pytest.raises(CircuitError, match="outside the simulated"):
        supply_energy([0, 1, 2], 1.0, [1, 1, 1], stop=3)
    with pytest.raises(CircuitError, match="tolerance"):
        settling_time([0, 1], [0, 1], tolerance=0)
