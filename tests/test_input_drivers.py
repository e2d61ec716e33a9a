"""Input drivers (cimspice.circuits.wl_driver, cimspice.circuits.dac) against oracles that
share no code with them: the series solution of the distributed RC line, charge and energy
bookkeeping by hand, a DC divider through the line's input impedance, the textbook R-2R
transfer. `cimspice sweep` runs both in tests/test_peripheral_sweeps.py."""

from __future__ import annotations

import math

import numpy as np
import pytest

from cimspice.circuits import CircuitError
from cimspice.circuits.dac import RowDAC, linearity
from cimspice.circuits.row_load import ROW_SEGMENTS, energies
from cimspice.circuits.tia import TransimpedanceAmplifier
from cimspice.circuits.wl_driver import WordLineDriver

OPEN = 1e-9  # S: the smallest g_row, an open row (its current is 1e-9 of the loaded one's)


def line_far_end(t, rc):
    """Far-end step response (fraction of the step) of an open-ended uniform RC line of total
    ``rc`` (s) driven by an ideal source: the separation-of-variables series of the
    diffusion equation, v = 1 - sum_k 4 (-1)^k / ((2k+1) pi) exp(-(2k+1)^2 pi^2 t / (4 rc))."""
    k = np.arange(200)[:, None]
    n = 2 * k + 1
    return 1.0 - np.sum(4 * (-1.0) ** k / (n * np.pi) * np.exp(-n ** 2 * np.pi ** 2 * np.atleast_1d(t) / (4 * rc)),
                        axis=0)


def first_time(f, target, hi):
    """The t in [0, hi] with f(t) = target for increasing f, by bisection."""
    lo = 0.0
    for _ in range(100):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if f(mid) < target else (lo, mid)
    return 0.5 * (lo + hi)


def row_input_impedance(r, g):
    """DC input resistance (ohm) of a uniform line of wire r (ohm) and shunt g (S), open at
    the far end, and its far-to-near voltage ratio: Z0 coth(gamma), 1 / cosh(gamma)."""
    gamma = math.sqrt(r * g)
    return math.sqrt(r / g) / math.tanh(gamma), 1.0 / math.cosh(gamma)


@pytest.fixture(scope="module")
def wl(engine):
    driver = WordLineDriver()
    driver.load(engine)
    return driver


def test_far_end_settling_and_delay_follow_the_distributed_rc_line(wl, engine):
    # A slow line (RC = 10 ns) on a driver of ~10 ohm whose chains switch in ~30 ps: the
    # driver resistance (0.1 % of r_row) and the chain delay (0.3 % of the settling time)
    # are below the stated 2 % tolerance, so the line alone sets the far end's response.
    r, c = 1e4, 1e-12
    m = wl.simulate(engine, {"r_row": r, "c_row": c, "g_row": OPEN, "t_pulse": 100e-9}).values
    rc = r * c
    settle = first_time(lambda t: line_far_end(t, rc)[0], 1 - wl.tolerance, 20 * rc)
    delay = first_time(lambda t: line_far_end(t, rc)[0], 0.5, 20 * rc)
    assert settle == pytest.approx(4 * rc / np.pi ** 2 * np.log(4 / (np.pi * wl.tolerance)), rel=1e-3, abs=0)
    assert m["settling_time"] == pytest.approx(settle, rel=0.02, abs=0)
    assert m["delay"] == pytest.approx(delay, rel=0.02, abs=0)
    # the Elmore single-pole estimate (RC/2, ln 100 for 1 %) bounds it from above
    assert m["settling_time"] < rc / 2 * np.log(1 / wl.tolerance)


def test_pulse_energy_is_the_row_charge_and_the_cell_current_times_the_rail(wl, engine):
    v_read, t_pulse = 0.2, 10e-9
    base = {"v_read": v_read, "t_pulse": t_pulse, "r_row": 64.0}

    def energy(**load):
        return wl.simulate(engine, {**base, **load}).values

    # capacitive: the read rail delivers a row's charge C v_read at v_read. The chains' gate
    # energy from vdd is the same for any row; the switches' own charge (their gate coupling
    # into the row) moves by a few fJ with the row and stops moving once the row dominates
    # it, so two large rows compare to the stated 2 %.
    big, bigger = energy(c_row=1e-12, g_row=OPEN), energy(c_row=1e-11, g_row=OPEN)
    assert big["energy"] >= 1e-12 * v_read ** 2
    assert bigger["energy"] - big["energy"] == pytest.approx((1e-11 - 1e-12) * v_read ** 2, rel=0.02, abs=0)
    # resistive: the DC current of the divider (driver r_out + the line's input resistance)
    # flows for t_pulse at v_read
    g = 2e-3
    small, res = energy(c_row=1e-15, g_row=OPEN), energy(c_row=1e-15, g_row=g)
    z_in, _ = row_input_impedance(64.0, g)
    current = v_read / (small["r_out"] + z_in)
    assert res["energy"] - small["energy"] == pytest.approx(v_read * current * t_pulse, rel=0.02, abs=0)
    # of which the cells dissipate I^2 / g (the wire takes I^2 r / 3 of a current falling
    # linearly along the row, the driver I^2 r_out)
    assert res["energy_cells"] == pytest.approx(current ** 2 / g * t_pulse, rel=0.02, abs=0)
    assert res["energy_driver"] == pytest.approx(res["energy"] - res["energy_cells"], rel=1e-12, abs=0)


def test_delivered_voltage_is_the_hand_divider_of_the_output_resistance(wl, engine):
    # r_out measured on its own (op + ac at 1 Hz, open row); then a loaded row's far end
    # against the divider r_out : line, by hand
    r_out = wl.simulate(engine, {"g_row": OPEN}).values["r_out"]
    assert 3.0 < r_out < 30.0  # a w_out = 32 um NMOS at 0.9 V of gate drive
    for g in (5e-4, 3.2e-3):
        m = wl.simulate(engine, {"g_row": g, "r_row": 64.0}).values
        z_in, ratio = row_input_impedance(64.0, g)
        expected = 0.2 * z_in / (r_out + z_in) * ratio
        assert m["v_far"] == pytest.approx(expected, abs=5e-4)  # 0.25 % of v_read
        assert m["v_error"] == pytest.approx(m["v_far"] - 0.2, abs=1e-12)


def test_rails_the_switches_cannot_pass_are_refused_before_ngspice(engine):
    with pytest.raises(CircuitError, match="NMOS switches need v_ref \\+ v_read <= vdd - 0.5 V"):
        WordLineDriver().simulate(engine, {"v_ref": 0.6})
    with pytest.raises(CircuitError, match="PMOS switches need v_ref >= 0.5 V"):
        WordLineDriver(switches="pmos").simulate(engine, {"v_ref": 0.2})
    with pytest.raises(CircuitError, match="switches 'cmos' is not one of nmos, pmos, tg"):
        WordLineDriver(switches="cmos")
    with pytest.raises(CircuitError, match="code must be an integer"):
        RowDAC(4).simulate(engine, {"code": 2.5})
    with pytest.raises(CircuitError, match="dac_bits: expected an integer in \\[1, 10\\]"):
        RowDAC(11)


@pytest.fixture(scope="module")
def dac(engine):
    d = RowDAC(4)
    d.load(engine)
    return d


def test_dac_transfer_is_the_ideal_r2r_within_one_lsb_and_monotonic(dac, engine):
    # the textbook R-2R ladder: v_ref + v_read * code / 2**N, on the nominal (baseline) row
    levels = dac.transfer(engine)
    lsb = 0.2 / 16
    ideal = 0.6 + lsb * np.arange(16)
    assert np.max(np.abs(levels - ideal)) < lsb
    assert np.all(np.diff(levels) > 0)
    inl, dnl = linearity(levels)
    assert np.max(np.abs(inl)) < 0.5 and np.max(np.abs(dnl)) < 0.5
    # the point measurement agrees with the sweep of operating points
    m = dac.simulate(engine, {"code": 11}).values
    assert m["v_out"] == pytest.approx(levels[11], abs=1e-6)
    assert m["error_lsb"] == pytest.approx((levels[11] - ideal[11]) / lsb, abs=1e-3)


def test_linearity_of_a_hand_made_transfer():
    levels = np.array([0.0, 1.0, 2.5, 3.0])  # endpoint step 1; the middle step 1.5 wide
    inl, dnl = linearity(levels)
    np.testing.assert_allclose(inl, [0.0, 0.0, 0.5, 0.0])
    np.testing.assert_allclose(dnl, [0.0, 0.5, -0.5])


def test_dac_conversion_energy_grows_as_the_row_charge_from_vdd(dac, engine):
    # open row, full-scale step from v_ref: the buffer's class-A output stage draws the
    # row's charge C dV from vdd, so E(c1) - E(c2) = (c1 - c2) dV vdd (the op-amp's bias and
    # the ladder's current are the same for both loads and cancel)
    code, vdd = 15, 1.1
    runs = [dac.simulate(engine, {"code": code, "c_row": c, "g_row": OPEN}).values for c in (2e-12, 0.2e-12)]
    dv = runs[0]["v_out"] - 0.6
    assert runs[0]["energy"] - runs[1]["energy"] == pytest.approx((2e-12 - 0.2e-12) * dv * vdd, rel=0.03, abs=0)
    assert runs[0]["settling_time"] < 10e-9  # both settled inside the conversion window


def test_dac_settles_within_the_read_window_on_the_nominal_row(dac, engine):
    t_read = TransimpedanceAmplifier().t_read  # the sense circuit's read window
    for code in (1, 8, 15):
        m = dac.simulate(engine, {"code": code}).values
        assert 0 < m["settling_time"] < t_read
        assert m["energy"] > m["energy_cells"] > 0


def test_energy_window_tolerates_ngspice_stopping_a_rounding_error_short():
    # ngspice's last time point can fall one rounding error short of the requested stop
    # (seen at t_conv = 12.3 ns): the energy over [start, stop] is still the integral to it
    stop = 1.2345679e-08
    t = np.array([0.0, 5e-9, np.nextafter(stop, 0.0)])
    result = {"time": t, "i(vdd)": np.full(3, -1e-3), "i(vhi)": np.zeros(3), "i(vlo)": np.zeros(3),
              **{f"v(row{k})": np.zeros(3) for k in range(ROW_SEGMENTS + 1)}}
    point = {"vdd": 1.0, "v_ref": 0.0, "v_read": 0.2, "g_row": 1e-3}
    e = energies(result, point, 0.0, stop)
    assert e["energy"] == pytest.approx(1e-3 * stop, rel=1e-12, abs=0)
    assert e["energy_cells"] == 0.0
