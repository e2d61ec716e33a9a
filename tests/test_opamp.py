"""The two-stage op-amp (netlists/opamp.lib): ac measurements against analytic transfer
functions and a hand small-signal analysis, offset against the mismatch it was given,
and the shared mismatch/validation machinery (cimspice.circuits.analog)."""

import math
import re

import numpy as np
import pytest
from scipy.optimize import brentq

from cimspice.circuits import CircuitError
from cimspice.circuits.analog import A_VT, pelgrom_sigma
from cimspice.circuits.opamp import OPAMP_SIZES, OpAmp, open_loop


def test_open_loop_measures_an_analytic_two_pole_amplifier():
    a_dc, p1, p2 = 2e4, 3e4, 4e8  # V/V, Hz, Hz
    f = np.logspace(0, 10, 101)
    gain = a_dc / ((1 + 1j * f / p1) * (1 + 1j * f / p2))
    a0, f_u, pm = open_loop(f, gain)
    exact_fu = brentq(lambda x: abs(a_dc / ((1 + 1j * x / p1) * (1 + 1j * x / p2))) - 1, 1e6, 1e10)
    exact_pm = 180 - math.degrees(math.atan(exact_fu / p1) + math.atan(exact_fu / p2))
    assert a0 == pytest.approx(a_dc, rel=1e-8)
    assert f_u == pytest.approx(exact_fu, rel=0.01)
    assert pm == pytest.approx(exact_pm, abs=0.5)
    # never below unity gain: no crossover to report
    assert math.isnan(open_loop(f, np.full(f.shape, 10.0 + 0j))[1])


def _device(engine, instance: str, param: str) -> float:
    for line in engine.command(f"print @{instance}[{param}]"):
        match = re.search(r"=\s*([-+0-9.eE]+)\s*$", line)
        if match:
            return float(match.group(1))
    raise AssertionError(f"ngspice printed no {instance}[{param}]")


def test_gain_gbw_and_output_resistance_match_hand_analysis(engine):
    amp = OpAmp()
    amp.load(engine)
    m = amp.simulate(engine, {}).values
    # design targets (netlists/opamp.lib header)
    assert m["a0"] > 1000 and m["phase_margin"] > 60 and 100e6 < m["gbw"] < 1e9
    # hand analysis from the operating point's small-signal parameters, which ngspice
    # computes without any ac analysis: A0 = gm2/(gds2+gds4) * gm6/(gds6+gds7),
    # r_out = 1/(gds6+gds7), GBW = gm2/(2 pi cc)
    engine.op(["v(out)"])
    g = {(d, k): _device(engine, f"m.xop.{d}", k) for d in ("m2", "m4", "m6", "m7") for k in ("gm", "gds")}
    a_hand = g["m2", "gm"] / (g["m2", "gds"] + g["m4", "gds"]) * g["m6", "gm"] / (g["m6", "gds"] + g["m7", "gds"])
    assert m["a0"] == pytest.approx(a_hand, rel=0.05)
    assert m["r_out"] == pytest.approx(1 / (g["m6", "gds"] + g["m7", "gds"]), rel=0.03)
    # the textbook GBW neglects the second pole and the zero: 12 % high here
    assert m["gbw"] == pytest.approx(g["m2", "gm"] / (2 * math.pi * OPAMP_SIZES["cc"]), rel=0.2)


def _gate_shift_for_delvto(engine, delvto: float, v_g: float, v_s: float, v_d: float) -> float:
    """Gate-voltage change (V) that restores one input transistor's drain current after its
    delvto is raised by ``delvto``, at the op-amp's bias: an oracle without the op-amp.
    (BSIM4 moves the threshold by more than delvto itself, ~9 % at this bias.)"""
    from cimspice.paths import netlist_path

    engine.load("\n".join([
        "one input device", f'.lib "{netlist_path("ptm45.lib")}" tt',
        f"vd d 0 {v_d}", f"vg g 0 {v_g}", f"vs s 0 {v_s}",
        f"m1 d g s 0 nmos_vtg w={OPAMP_SIZES['w_in']!r} l={OPAMP_SIZES['l_in']!r}", ".end"]))
    i0 = engine.op(["i(vd)"])["i(vd)"][0]
    engine.alter("m1", delvto=delvto)
    shifts = (delvto, 1.2 * delvto)
    currents = []
    for shift in shifts:
        engine.alter("vg", v_g + shift)
        currents.append(engine.op(["i(vd)"])["i(vd)"][0])
    return float(np.interp(i0, sorted(currents), [shifts[k] for k in np.argsort(currents)]))


def test_offset_follows_the_input_pair_mismatch(engine):
    amp = OpAmp()
    amp.load(engine)
    base = amp.simulate(engine, {}).values["offset"]
    # a higher threshold on the inp device acts as a lower inp: the buffer follows it
    weak_inp = amp.simulate(engine, {"dvth_inp": 5e-3}).values["offset"]
    weak_inn = amp.simulate(engine, {"dvth_inn": 5e-3}).values["offset"]
    # back to no mismatch: the cached alter state is undone, not left behind
    assert amp.simulate(engine, {}).values["offset"] == pytest.approx(base, abs=1e-6)
    engine.op(["v(out)"])
    bias = {n: engine.op([f"v({n})"])[f"v({n})"][0] for n in ("inp", "xop.tail", "xop.o1")}
    shift = _gate_shift_for_delvto(engine, 5e-3, bias["inp"], bias["xop.tail"], bias["xop.o1"])
    assert 5e-3 < shift < 6e-3
    assert weak_inp - base == pytest.approx(-shift, rel=0.03)
    assert weak_inn - base == pytest.approx(shift, rel=0.03)


@pytest.mark.parametrize("corner", ["ff", "ss"])
def test_corners_meet_the_targets(engine, corner):
    amp = OpAmp(corner=corner)
    amp.load(engine)
    for temp in (-40.0, 125.0):
        m = amp.simulate(engine, {"temp": temp}).values
        assert m["a0"] > 1000 and m["phase_margin"] > 60 and m["gbw"] > 100e6, (corner, temp, m)


def test_mismatch_draws_follow_pelgrom():
    amp = OpAmp()
    sigmas = amp.mismatch_sigmas()
    # sigma(VT) of one device is A_VT / sqrt(2 W L): for 8 um x 180 nm at 2.5 mV*um, 1.47 mV
    assert sigmas["dvth_inp"] == pytest.approx(2.5e-3 * 1e-6 / math.sqrt(2 * 8e-6 * 180e-9), rel=1e-12)
    assert A_VT == 2.5e-9 and pelgrom_sigma(1e-6, 1e-6) == pytest.approx(A_VT / math.sqrt(2e-12))
    draws = amp.draw_mismatch(4000, seed=7)
    assert set(draws) == set(sigmas)
    for name, values in draws.items():
        assert values.shape == (4000,)
        assert np.std(values) == pytest.approx(sigmas[name], rel=0.05)
        assert abs(np.mean(values)) < 4 * sigmas[name] / math.sqrt(4000)
    again = amp.draw_mismatch(4000, seed=7)
    assert all(np.array_equal(draws[k], again[k]) for k in draws)


def test_bad_values_fail_before_ngspice():
    amp = OpAmp()
    # engine=None: any call into ngspice would fail differently
    with pytest.raises(CircuitError, match="vdd: 0.5 V outside"):
        amp.simulate(None, {"vdd": 0.5})
    with pytest.raises(CircuitError, match="unknown parameter 'w_in'"):
        amp.simulate(None, {"w_in": 1e-6})
    with pytest.raises(CircuitError, match="corner 'typ'"):
        OpAmp(corner="typ")
    with pytest.raises(CircuitError, match="opamp: w_in: expected a positive number, got -1e-06"):
        OpAmp(w_in=-1e-6)
    with pytest.raises(CircuitError, match="l_in=2e-08 m is below the 50 nm"):
        OpAmp(l_in=20e-9)
    with pytest.raises(CircuitError, match="unknown op-amp size 'w_nope'"):
        OpAmp(w_nope=1e-6)


def test_resized_amplifier_changes_as_its_sizes_say(engine):
    # a doubled Miller capacitor halves the GBW (one dominant pole, GBW = gm / 2 pi cc)
    base, slow = OpAmp(), OpAmp(cc=2 * OPAMP_SIZES["cc"])
    base.load(engine)
    gbw = base.simulate(engine, {}).values["gbw"]
    slow.load(engine)
    assert slow.simulate(engine, {}).values["gbw"] == pytest.approx(gbw / 2, rel=0.1)
    assert "cc=4e-13" in slow.netlist() and "cc=" not in base.netlist().split("opamp", 2)[-1]


def test_monte_carlo_offset_spread_is_the_sum_of_each_devices_share(engine):
    # Each device's share of the offset spread: its Pelgrom sigma times the offset's
    # sensitivity to its threshold (measured one device at a time). Independent draws add
    # in quadrature, so the Monte Carlo sigma over all devices at once must match. This
    # also checks that every draw reaches its own device (a stale alter would not).
    amp = OpAmp()
    amp.load(engine)
    sigmas = amp.mismatch_sigmas()
    base = amp.simulate(engine, {}).values["offset"]
    shares = []
    for name, sigma in sigmas.items():
        up = amp.simulate(engine, {name: 3 * sigma}).values["offset"]
        down = amp.simulate(engine, {name: -3 * sigma}).values["offset"]
        shares.append((up - down) / 6)
    predicted = float(np.sqrt(np.sum(np.square(shares))))
    n = 150
    draws = amp.draw_mismatch(n, seed=3)
    offsets = np.array([amp.simulate(engine, {k: float(v[j]) for k, v in draws.items()}).values["offset"]
                        for j in range(n)])
    # a sample sigma of 150 normal draws is within +-17 % (3 standard errors) of the truth
    assert offsets.std(ddof=1) == pytest.approx(predicted, rel=0.17)
    assert offsets.mean() == pytest.approx(base, abs=3 * predicted / np.sqrt(n))
    # the input pair and its load dominate: together more than 90 % of the variance
    names = list(sigmas)
    pair_and_load = sum(shares[names.index(k)] ** 2 for k in ("dvth_inp", "dvth_inn", "dvth_ld1", "dvth_ld2"))
    assert pair_and_load > 0.9 * predicted ** 2
