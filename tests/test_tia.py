"""Transimpedance amplifier (netlists/tia.lib): transfer against the finite-gain formula
with the op-amp's separately measured open-loop gain and output resistance, against an
ideal-op-amp (VCVS) version of the bench written here, and its read energy against
ngspice's own integral of the supply power in a separate ngspice process."""

import re
import subprocess

import numpy as np
import pytest

from cimspice.circuits import CircuitError
from cimspice.circuits.opamp import OpAmp
from cimspice.circuits.tia import T_STEP, TransimpedanceAmplifier


def test_transimpedance_is_the_finite_gain_prediction(engine):
    # Op-amp alone, open loop, output at v_cm = v_ref: gain A and output resistance R_o.
    # With an ideal current into the virtual ground (feedback factor 1):
    #   v_out = A (v_ref - v_bl),  v_bl = v_out + i r_f + R_o-drop  =>
    #   -dv_out/di = (A r_f - R_o) / (1 + A)
    amp = OpAmp()
    amp.load(engine)
    ol = amp.simulate(engine, {"v_cm": 0.75, "c_load": 100e-15}).values
    r_f = 5e3
    predicted = (ol["a0"] * r_f - ol["r_out"]) / (1 + ol["a0"])
    tia = TransimpedanceAmplifier(r_f=r_f)
    tia.load(engine)
    m = tia.simulate(engine, {"i_in": 0.0, "v_ref": 0.75}).values
    # the error itself (~3 ohm) is predicted to 1 %
    assert r_f - m["transimpedance"] == pytest.approx(r_f - predicted, rel=0.01)
    assert 0 < r_f - predicted < r_f * 1e-3  # and it is small: 0.06 % here
    # the DC virtual-ground error at zero current is the op-amp's offset
    assert m["v_in_error"] == pytest.approx(ol["offset"], abs=2e-5)
    assert m["offset_i"] == pytest.approx(m["offset_v"] / r_f, abs=0)


def _ideal_tia_vout(batch, r_f, c_f, v_ref, currents):
    """The same bench with a VCVS of gain 1e6 in place of the transistor op-amp, solved by a
    separate ngspice process."""
    out = []
    for i in currents:
        netlist = "\n".join([
            "ideal-op-amp TIA", f"vref ref 0 dc {v_ref}", f"iin 0 bl dc {float(i)!r}",
            "eop out 0 ref bl 1e6", f"rf out bl {r_f!r}", f"cf out bl {c_f!r}", "cbl bl 0 50f", ".end"])
        out.append(batch(netlist, ["v(out)"])["v(out)"])
    return np.array(out)


def test_transfer_matches_an_ideal_opamp_within_half_an_lsb(engine, batch):
    tia = TransimpedanceAmplifier()
    tia.load(engine)
    currents = np.array([-20e-6, 0.0, 30e-6, 60e-6, 100e-6])
    v = np.array([tia.simulate(engine, {"i_in": i}).values["v_out"] for i in currents])
    ideal = _ideal_tia_vout(batch, tia.r_f, tia.c_f, 0.75, currents)
    np.testing.assert_allclose(ideal, 0.75 - currents * tia.r_f, atol=1e-6)  # the oracle itself
    assert np.max(np.abs(v - ideal)) < 0.5 * tia.lsb
    slope, _ = np.polyfit(currents, v, 1)
    ideal_slope, _ = np.polyfit(currents, ideal, 1)
    assert slope == pytest.approx(ideal_slope, rel=2e-3)


def test_read_energy_equals_ngspice_integral_of_supply_power(engine, tmp_path):
    tia = TransimpedanceAmplifier()
    tia.load(engine)
    i_in = 60e-6
    energy = tia.simulate(engine, {"i_in": i_in}).values["energy_read"]
    # the state simulate() applied, written into the netlist for a separate ngspice run
    text = tia.netlist().replace("gstep 0 bl step 0 0", f"gstep 0 bl step 0 {i_in!r}")
    assert f"{i_in!r}" in text
    deck = tmp_path / "energy.cir"
    deck.write_text(text.rstrip().removesuffix(".end") + "\n".join([
        "", ".control", "set num_threads=1",
        f"tran {tia.t_read / 200!r} {T_STEP + 2 * tia.t_read!r}",
        "let p = -v(vdd) * i(vdd)",
        f"meas tran e_read integ p from={T_STEP!r} to={T_STEP + tia.t_read!r}",
        ".endc", ".end", ""]))
    run = subprocess.run(["ngspice", "-b", str(deck)], capture_output=True, text=True, timeout=120)
    match = re.search(r"^e_read\s*=\s*(\S+)", run.stdout, re.MULTILINE)
    assert match, run.stdout + run.stderr
    assert energy == pytest.approx(float(match.group(1)), rel=1e-4, abs=0)  # ngspice prints 6 digits
    # and the order of magnitude is the static power over the window: a class-A amplifier
    static = tia.simulate(engine, {"i_in": i_in}).values["power"]
    assert energy == pytest.approx(static * tia.t_read, rel=0.1, abs=0)


def test_offset_follows_input_mismatch_and_settling_follows_bitline_capacitance(engine):
    tia = TransimpedanceAmplifier()
    tia.load(engine)
    base = tia.simulate(engine, {"i_in": 50e-6}).values
    weak = tia.simulate(engine, {"i_in": 50e-6, "dvth_inp": 4e-3}).values
    # the inp device weaker: as if v_ref were ~4 mV lower (BSIM4's delvto acts ~9 % larger)
    assert -4.8e-3 < weak["offset_v"] - base["offset_v"] < -4e-3
    assert weak["v_out"] - base["v_out"] == pytest.approx(weak["offset_v"] - base["offset_v"], rel=0.01)
    settle = [tia.simulate(engine, {"i_in": 100e-6, "c_bl": c}).values["settling_time"] for c in (10e-15, 200e-15)]
    assert 0 < settle[0] < settle[1] < 2 * tia.t_read
    assert base["v_in_peak"] > abs(base["v_in_error"])  # the step disturbs the bit line more than DC


def test_bad_values_fail_before_ngspice():
    tia = TransimpedanceAmplifier()
    with pytest.raises(CircuitError, match="i_in: 0.001 A outside"):
        tia.simulate(None, {"i_in": 1e-3})
    with pytest.raises(CircuitError, match="vdd: 0.6 V outside"):
        tia.simulate(None, {"vdd": 0.6})
    with pytest.raises(CircuitError, match="tia: r_f: expected a positive number in ohm, got -1000.0"):
        TransimpedanceAmplifier(r_f=-1e3)
    with pytest.raises(CircuitError, match=r"adc_bits: expected an integer in \[1, 16\], got 0"):
        TransimpedanceAmplifier(adc_bits=0)
    with pytest.raises(CircuitError, match="corner 'fs'"):
        TransimpedanceAmplifier(corner="fs")
