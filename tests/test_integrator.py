"""Charge integrator (netlists/integrator.lib): output against the charge law
v_out = v_ref - I t / C_int, linearity, reset, and the cycle energy against ngspice's own
integral of the supply power in a separate ngspice process."""

import re
import subprocess

import numpy as np
import pytest

from cimspice.circuits import CircuitError
from cimspice.circuits.integrator import T_EDGE, T_RELEASE, T_RESET, Integrator, nonlinearity


@pytest.fixture(scope="module")
def integrator():
    return Integrator()


def test_output_is_charge_over_capacitance(engine, integrator):
    integrator.load(engine)
    lsb = integrator.lsb  # 0.5 V full scale / 64 = 7.8 mV
    for i_in, t_pulse in [(100e-6, 5e-9), (50e-6, 2e-9), (20e-6, 4.5e-9), (-40e-6, 5e-9), (80e-6, 0.3e-9)]:
        m = integrator.simulate(engine, {"i_in": i_in, "t_pulse": t_pulse}).values
        ideal = 0.75 - i_in * t_pulse / integrator.c_int
        assert m["v_out"] == pytest.approx(ideal, abs=0.25 * lsb), (i_in, t_pulse)
        assert m["error"] == pytest.approx(m["v_out"] - ideal, abs=1e-12)
        # once the pedestal (offset + switch charge injection) is removed, what is left is
        # the op-amp's finite gain and the bit line's slow return: < 1 mV
        assert abs(m["error"] - m["pedestal"]) < 1e-3, (i_in, t_pulse, m)
    assert 0 < abs(m["pedestal"]) < 1e-3


def test_transfer_is_linear_in_charge(engine, integrator):
    integrator.load(engine)
    widths = np.linspace(0.5e-9, 5e-9, 6)
    v = np.array([integrator.simulate(engine, {"i_in": 100e-6, "t_pulse": w}).values["v_out"] for w in widths])
    charge = 100e-6 * widths
    assert nonlinearity(charge, v) < 2e-3
    slope = np.polyfit(charge, v, 1)[0]
    assert slope == pytest.approx(-1 / integrator.c_int, rel=5e-3)
    # the same charge from a different current and width gives the same output
    m = integrator.simulate(engine, {"i_in": 50e-6, "t_pulse": 4e-9}).values
    assert m["v_out"] == pytest.approx(np.interp(2e-13, charge, v), abs=0.5e-3)


def test_nonlinearity_of_known_curves():
    q = np.linspace(0, 1e-12, 11)
    assert nonlinearity(q, 0.75 - q / 1e-12) == pytest.approx(0, abs=1e-12)
    bowed = 0.75 - q / 1e-12 + 0.01 * np.sin(np.pi * q / 1e-12)
    # a half-sine bow of 10 mV on a 1 V line: the least-squares line splits it (~0.6 %)
    assert 0.004 < nonlinearity(q, bowed) < 0.01
    with pytest.raises(CircuitError, match="flat"):
        nonlinearity(q, np.zeros_like(q))


def test_reset_and_zero_input(engine, integrator):
    integrator.load(engine)
    full = integrator.simulate(engine, {"i_in": 100e-6, "t_pulse": 5e-9}).values
    assert 0 < full["reset_time"] < T_RESET
    assert 0 < full["settling_time"] < integrator.t_hold
    # the bit line leaves v_ref while the output ramps: slope / (2 pi GBW) ~ 60 mV
    assert 0.02 < full["v_in_peak"] < 0.15
    none = integrator.simulate(engine, {"i_in": 100e-6, "t_pulse": 0.0}).values
    assert none["v_out"] - 0.75 == pytest.approx(none["pedestal"], abs=0.2e-3)
    assert none["settling_time"] == 0.0


def test_cycle_energy_equals_ngspice_integral_of_supply_power(engine, integrator, tmp_path):
    integrator.load(engine)
    i_in, t_pulse = 70e-6, 3e-9
    energy = integrator.simulate(engine, {"i_in": i_in, "t_pulse": t_pulse}).values["energy"]
    # the input pulse as documented: from t_start, T_EDGE edges, time integral t_pulse
    pulse = " ".join(repr(v) for v in (0.0, 1.0, integrator.t_start, T_EDGE, T_EDGE, t_pulse - T_EDGE, 1.0))
    text = re.sub(r"^vpw pw 0 .*$", f"vpw pw 0 dc 0 pulse({pulse})", integrator.netlist(), flags=re.MULTILINE)
    text = text.replace("gin 0 bl pw 0 0", f"gin 0 bl pw 0 {i_in!r}")
    t_end = integrator.t_sample + T_RESET
    deck = tmp_path / "energy.cir"
    deck.write_text(text.rstrip().removesuffix(".end") + "\n".join([
        "", ".control", "set num_threads=1",
        f"tran 25p {t_end!r}",
        "let p = -v(vdd) * i(vdd)",
        f"meas tran e_cycle integ p from={T_RELEASE!r} to={t_end * (1 - 1e-9)!r}",
        f"meas tran v_s find v(out) at={integrator.t_sample!r}",
        ".endc", ".end", ""]))
    run = subprocess.run(["ngspice", "-b", str(deck)], capture_output=True, text=True, timeout=120)
    found = dict(re.findall(r"^(e_cycle|v_s)\s*=\s*(\S+)", run.stdout, re.MULTILINE))
    assert set(found) == {"e_cycle", "v_s"}, run.stdout + run.stderr
    assert energy == pytest.approx(float(found["e_cycle"]), rel=1e-4, abs=0)  # not approx's default abs=1e-12 J
    # the separate run integrated the same charge: its sample agrees too
    v_out = integrator.simulate(engine, {"i_in": i_in, "t_pulse": t_pulse}).values["v_out"]
    assert v_out == pytest.approx(float(found["v_s"]), abs=1e-5)


def test_bad_values_fail_before_ngspice(integrator):
    with pytest.raises(CircuitError, match="t_pulse: 6e-09 s outside"):
        integrator.simulate(None, {"t_pulse": 6e-9})
    with pytest.raises(CircuitError, match="vdd: 0.7 V outside"):
        integrator.simulate(None, {"vdd": 0.7})
    with pytest.raises(CircuitError, match="integrator: c_int: expected a positive number in F, got 0"):
        Integrator(c_int=0)
    with pytest.raises(CircuitError, match="t_window=5e-11 s is shorter"):
        Integrator(t_window=50e-12)


def test_op_amp_bias_sets_the_static_power_and_the_charge_law_still_holds(engine):
    # a slow column: 2 uA for 60 ns on 0.25 pF, 0.48 V of swing; the op-amp at a tenth of its
    # bias settles slower, so the output is held 30 ns (and the reset observed 40 ns)
    slow = dict(c_int=0.25e-12, t_window=60e-9, i_full_scale=2e-6, adc_bits=8, t_hold=30e-9, t_reset=40e-9)
    low, shipped = Integrator(**slow, ib=1e-6), Integrator(**slow)
    point = {"i_in": 2e-6, "t_pulse": 60e-9}
    low.load(engine)
    m = low.simulate(engine, point).values
    assert m["v_out"] - m["pedestal"] == pytest.approx(0.75 - 2e-6 * 60e-9 / 0.25e-12, abs=5e-3)  # 1 % of 0.48 V
    assert 0 < m["settling_time"] < 30e-9 and 0 < m["reset_time"] < 40e-9
    shipped.load(engine)
    e_shipped = shipped.simulate(engine, point).values["energy"]
    # the supply current is the bias mirrored (tail 4x, sink 20x, ~25x in all): a tenth of the
    # bias, about a tenth of the energy over the same cycle
    assert 0.07 < m["energy"] / e_shipped < 0.2
    with pytest.raises(CircuitError, match="ib: expected a positive number in A"):
        Integrator(ib=0)
