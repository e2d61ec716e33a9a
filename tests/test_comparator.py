"""StrongARM comparator on the 45 nm BSIM4 cards, through the engine.

Oracles: symmetry (no mismatch means no offset), a DC solve of one transistor for the
offset a threshold shift should cause, ngspice's own charge integration for the energy,
linear superposition for Monte Carlo draws, corner and temperature physics.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from cimspice.circuits import CircuitError
from cimspice.circuits.comparator import A_VT, T_DELAY, StrongArmComparator, StrongArmDesign, model_lines, pelgrom_sigma
from cimspice.circuits.waveforms import crossing_time


@pytest.fixture
def comparator(engine):
    # loaded per test: other tests load their own netlists into the process's engine
    c = StrongArmComparator(offset_resolution=5e-5)
    c.load(engine)
    return c


def test_declarations_and_pelgrom_sigmas():
    c = StrongArmComparator()
    names = [p.name for p in c.parameters]
    assert names[:5] == ["vdd", "v_cm", "v_od", "t_clk", "temp"]
    assert set(names[5:]) == {"dvth_in_p", "dvth_in_n", "dvth_ln_p", "dvth_ln_n", "dvth_lp_p", "dvth_lp_n"}
    sig = c.mismatch_sigmas()
    # Pelgrom: a pair differs by A_VT / sqrt(W L), so one device has A_VT / sqrt(2 W L)
    assert sig["dvth_in_p"] == pytest.approx(2.5e-3 * 1e-6 / math.sqrt(2 * 2e-6 * 100e-9))
    assert sig["dvth_ln_p"] == pytest.approx(A_VT / math.sqrt(2 * 1e-6 * 50e-9))
    assert pelgrom_sigma(1e-6, 1e-6) * math.sqrt(2) == pytest.approx(A_VT / 1e-6)
    draws = c.draw_mismatch(4000, seed=1)
    assert np.std(draws["dvth_in_p"]) == pytest.approx(sig["dvth_in_p"], rel=0.05)
    pre = StrongArmComparator(preamp=True)
    assert {"dvth_pa_in_p", "dvth_pa_in_n"} <= {p.name for p in pre.parameters}
    assert pre.area() > c.area() > 0


@pytest.mark.parametrize("kwargs,match", [
    ({"w_in": -1e-6}, "w_in"), ({"l_in": 20e-9}, "l_in"), ({"corner": "fs"}, "corner"),
    ({"bogus": 1.0}, "bogus"), ({"preamp": "yes"}, "preamp"), ({"c_load": -1e-15}, "c_load"),
])
def test_impossible_sizes_are_rejected(kwargs, match):
    with pytest.raises(CircuitError, match=match):
        StrongArmComparator(**kwargs)


@pytest.mark.parametrize("point,match", [
    ({"vdd": 0.3}, "vdd"), ({"v_cm": 1.2, "vdd": 1.0}, "v_cm"), ({"dvth_in_p": 0.5}, "dvth_in_p"),
    ({"t_clk": 0.0}, "t_clk"), ({"nope": 1.0}, "nope"),
])
def test_bad_points_fail_before_ngspice(point, match):
    # engine=None: any attempt to reach ngspice would fail with AttributeError instead
    with pytest.raises(CircuitError, match=match):
        StrongArmComparator().simulate(None, point)


def test_decision_follows_the_sign_of_the_input(comparator, engine):
    for v_od in (0.05, 1e-3, -1e-3, -0.05):
        m = comparator.simulate(engine, {"v_od": v_od})
        assert m.values["decision"] == float(v_od > 0)
        assert m.values["correct"] == 1.0
        assert 10e-12 < m.values["delay"] < 200e-12
    assert math.isnan(comparator.simulate(engine, {"v_od": 0.0}).values["correct"])


def test_ideal_comparator_has_no_offset(comparator, engine):
    v_os = comparator.offset(engine, {})
    assert abs(v_os) <= comparator.offset_resolution


def _equivalent_gate_shift(engine, dvth: float, v_cm: float) -> float:
    """Oracle: the gate-voltage change that restores one input transistor's current after a
    threshold shift dvth, from DC operating points of that transistor alone (bisection)."""
    design = StrongArmDesign()

    def current(v_gate, shift):
        engine.load("\n".join([
            "one input transistor", *model_lines("tt"),
            "vd d 0 dc 1.0", f"vg g 0 dc {v_gate!r}", "vs s 0 dc 0.15",
            f"m1 d g s 0 nmos_vtg w={design.w_in!r} l={design.l_in!r} delvto={shift!r}", ".end"]))
        return -engine.op(["i(vd)"])["i(vd)"][0]

    target = current(v_cm, 0.0)
    lo, hi = 0.0, 3 * dvth
    for _ in range(30):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if current(v_cm + mid, dvth) < target else (lo, mid)
    return 0.5 * (lo + hi)


def test_threshold_shift_on_one_input_moves_the_offset(engine):
    dv = 10e-3
    expected = _equivalent_gate_shift(engine, dv, 0.7)
    assert 9e-3 < expected < 14e-3  # BSIM4 mobility also depends on Vth: a bit more than dv
    c = StrongArmComparator(offset_resolution=5e-5)
    c.load(engine)
    up = c.offset(engine, {"dvth_in_p": dv})
    down = c.offset(engine, {"dvth_in_n": dv})
    # a weaker inp device needs inp higher: positive offset, mirrored for the inn device
    assert up == pytest.approx(expected, rel=0.15)
    assert down == pytest.approx(-up, abs=2 * c.offset_resolution)


def test_energy_equals_integral_of_supply_current_times_voltage(comparator, engine):
    m = comparator.simulate(engine, {"v_od": 0.02, "vdd": 1.0})
    # independent integration: ngspice itself integrates the supply current onto a 1 pF
    # capacitor (an F source copying i(vdd)), started from 0 V by .ic
    text = comparator.netlist().replace(".end", "fint 0 qint vdd 1\ncint qint 0 1p\n.ic v(qint)=0\n.end")
    engine.load(text)
    engine.alter("vdd", 1.0)
    engine.alter("vdd_clk", 1.0)
    engine.alter("vin_p", 0.71)
    engine.alter("vin_n", 0.69)
    r = engine.tran(2e-12, T_DELAY + 2.5e-9, max_step=2e-12, vectors=["time", "v(clk)", "v(qint)"])
    t0 = crossing_time(r["time"], r["v(clk)"], 0.5, direction="rising")
    q = np.interp([t0, t0 + 2e-9], r["time"], r["v(qint)"]) * 1e-12  # charge delivered, C
    energy = 1.0 * (q[0] - q[1])  # F copies i(vdd), which is negative while vdd delivers
    assert energy > 1e-15
    assert m.values["energy"] == pytest.approx(energy, rel=1e-3, abs=0)


def test_delay_grows_logarithmically_as_overdrive_shrinks(comparator, engine):
    ods = [1e-1, 1e-2, 1e-3, 1e-4]
    delays = [comparator.simulate(engine, {"v_od": v}).values["delay"] for v in ods]
    assert all(a < b for a, b in zip(delays, delays[1:]))
    # regeneration: delay ~ tau ln(1 / v_od) at small overdrive; tau of a few ps here
    tau = (delays[3] - delays[2]) / math.log(10)
    assert 2e-12 < tau < 20e-12


def test_corners_and_temperature_order_the_delay(engine):
    delay = {}
    for corner in ("ff", "tt", "ss"):
        c = StrongArmComparator(corner=corner, measure_offset=False)
        c.load(engine)
        delay[corner] = c.simulate(engine, {"v_od": 0.01}).values["delay"]
        if corner == "tt":
            hot = c.simulate(engine, {"v_od": 0.01, "temp": 125.0}).values["delay"]
            cold = c.simulate(engine, {"v_od": 0.01, "temp": -40.0}).values["delay"]
            low = c.simulate(engine, {"v_od": 0.01, "vdd": 0.8}).values["delay"]
    assert delay["ff"] < delay["tt"] < delay["ss"]
    assert cold < delay["tt"] < hot  # at 1.1 V mobility, not threshold, dominates
    assert low > delay["tt"]


def test_monte_carlo_offsets_follow_linear_superposition(engine):
    c = StrongArmComparator(offset_resolution=5e-5)
    c.load(engine)
    sig = c.mismatch_sigmas()
    # sensitivity of the offset to each device's threshold, one device at a time
    sens = {k: c.offset(engine, {k: 2 * s}) / (2 * s) for k, s in sig.items()}
    assert sens["dvth_in_p"] == pytest.approx(-sens["dvth_in_n"], rel=0.05)
    draws = c.draw_mismatch(6, seed=7)
    measured = np.array([c.offset(engine, {k: float(v[i]) for k, v in draws.items()}) for i in range(6)])
    predicted = sum(sens[k] * draws[k] for k in sig)
    sigma_pred = math.sqrt(sum((sens[k] * s) ** 2 for k, s in sig.items()))
    assert 3e-3 < sigma_pred < 10e-3
    assert np.max(np.abs(measured - predicted)) < 0.1 * sigma_pred


def test_preamp_divides_the_latch_offset(engine):
    c = StrongArmComparator(preamp=True, offset_resolution=5e-5)
    c.load(engine)
    latch = c.offset(engine, {"dvth_in_p": 10e-3})
    front = c.offset(engine, {"dvth_pa_in_p": 10e-3})
    assert 8e-3 < front < 14e-3
    assert 0 < latch < front / 3
