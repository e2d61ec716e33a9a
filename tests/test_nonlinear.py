"""The PWL ReRAM function unit: fitted programs stay in the device window, the ngspice transfer
equals the cells' read law written out here, the error against each ideal function is what the
fit promises, the StrongARM transient selects the right segment, and a sweep -> fit gives a
surrogate that reproduces the circuit."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest

from cimspice.circuits import CircuitError, get_circuit
from cimspice.circuits.nonlinear import FUNCTIONS, fit_program, transfer_error
from cimspice.circuits.pwl_unit import PwlUnit

G_ON, G_OFF, V0 = 100e-6, 1e-6, 0.25  # netlists/reram.lib defaults, restated for the oracle
V_LO, V_HI, V_CM, V_REF = 0.5, 0.9, 0.7, 0.2


def oracle_y(program, x):
    """Read law by hand: the segment the input voltage falls in, its four cells' currents
    I = G v0 sinh(V/v0) into the two virtual-ground columns, difference over i_per_y."""
    g, S = program.conductances, program.segments
    out = []
    for xi in np.atleast_1d(x):
        v = V_LO + (V_HI - V_LO) * (xi - program.x_min) / (program.x_max - program.x_min)
        k = min(int((v - V_LO) / ((V_HI - V_LO) / S)), S - 1)
        i_p = g[k, 0] * V0 * math.sinh((v - V_CM) / V0) + g[k, 2] * V0 * math.sinh(V_REF / V0)
        i_n = g[k, 1] * V0 * math.sinh((v - V_CM) / V0) + g[k, 3] * V0 * math.sinh(V_REF / V0)
        out.append((i_p - i_n) / program.i_per_y)
    return np.array(out)


@pytest.mark.parametrize("function", sorted(FUNCTIONS))
@pytest.mark.parametrize("segments", [4, 8, 16, 32])
def test_program_stays_in_the_device_window_and_error_falls_with_segments(function, segments):
    p = fit_program(function, segments)
    assert p.conductances.shape == (segments, 4)
    assert np.all(p.conductances >= G_OFF - 1e-15) and np.all(p.conductances <= G_ON + 1e-15)
    # one cell of every differential pair sits at g_off (the other carries the coefficient);
    # atol=0, since allclose's default 1e-8 S is 1 % of G_OFF
    assert np.allclose(np.minimum(p.conductances[:, 0], p.conductances[:, 1]), G_OFF, atol=0)
    x = np.linspace(p.x_min, p.x_max, 3001)
    e = transfer_error(function, x, p.predict(x))
    # error of a PWL interpolant falls as 1/S^2 where the function is smooth (relu: the
    # sinh basis); allow the bound a generous constant
    assert e["max_pct"] < 300.0 / segments ** 2 + 0.05


def test_bad_arguments_fail_with_one_clear_error():
    with pytest.raises(CircuitError, match="function 'softplus'"):
        fit_program("softplus", 8)
    with pytest.raises(CircuitError, match="segments"):
        PwlUnit("tanh", segments=1)
    with pytest.raises(CircuitError, match="x_range"):
        fit_program("tanh", 8, (1.0, -1.0))
    with pytest.raises(CircuitError, match="both x_min and x_max"):
        PwlUnit("tanh", x_min=-1.0)
    unit = PwlUnit("tanh", 4)
    with pytest.raises(CircuitError, match="parameter x"):
        unit.check_points({"x": [9.0]})


@pytest.mark.parametrize("function", sorted(FUNCTIONS))
def test_ngspice_transfer_is_the_read_law_and_within_the_fit_error(engine, function):
    unit = PwlUnit(function, 4, timing=function == "tanh")  # with and without the comparator bank
    unit.load(engine)
    x, y = unit.transfer(engine, 81)
    fs = float(np.ptp(FUNCTIONS[function][0](np.linspace(unit.program_.x_min, unit.program_.x_max, 401))))
    # away from breakpoints (where either neighbour is right) ngspice equals the hand oracle
    v = unit.program_.v_of_x(x)
    b = unit.breakpoints()
    away = np.min(np.abs(v[:, None] - b[None, :]), axis=1) > 1e-6
    np.testing.assert_allclose(y[away], oracle_y(unit.program_, x[away]), atol=1e-3 * fs)
    fit = transfer_error(function, np.linspace(unit.program_.x_min, unit.program_.x_max, 3001),
                         unit.program_.predict(np.linspace(unit.program_.x_min, unit.program_.x_max, 3001)))
    measured = transfer_error(function, x, y)
    assert measured["max_pct"] <= fit["max_pct"] + 0.1
    assert measured["max_pct"] < 11.0  # 4 segments: sigmoid/tanh 10.3 %, exp 9.1 % of full scale


def test_dc_only_netlist_gives_the_same_transfer_as_the_full_one(engine):
    # the multiplexers carry no DC current: leaving them and the comparators out is exact
    curves = []
    for timing in (True, False):
        unit = PwlUnit("gelu", 4, timing=timing)
        unit.load(engine)
        curves.append(unit.transfer(engine, 41)[1])
    np.testing.assert_allclose(curves[0], curves[1], atol=1e-4 * 4.17)


def test_transient_selects_the_segment_and_matches_dc(engine):
    unit = PwlUnit("sigmoid", 4)
    unit.load(engine)
    for x in (-5.0, -1.0, 3.0):
        dc = unit.simulate(engine, {"x": x})
        k = int(unit.segment_of(unit.program_.v_of_x(x)))
        t = unit.evaluate_transient(engine)
        assert t["selected"] == [k]
        # the copy of the StrongARM decision drives the same decoder and cells: same current
        assert t["i_out"] == pytest.approx(dc.values["i_out"], rel=2e-3, abs=2e-9)
        assert 0 < dc.values["latency"] < unit.t_clk / 2
        # energy: at least the cells' own dissipation over the evaluation half-period
        assert dc.values["energy"] > 1e-15


def test_monte_carlo_redraws_devices_and_zero_sigma_is_nominal(engine):
    unit = PwlUnit("tanh", 4, timing=False)
    unit.load(engine)
    nominal = transfer_error("tanh", *unit.transfer(engine, 41))
    zero = unit.monte_carlo(engine, 0.0, 1, n_points=41, sigma_offset=0.0)
    assert zero[0]["max"] == pytest.approx(nominal["max"], rel=1e-6)
    runs = unit.monte_carlo(engine, 0.2, 3, n_points=41, seed=1)
    assert len({round(r["rms"], 9) for r in runs}) == 3  # every run drew new devices
    assert max(r["rms"] for r in runs) > nominal["rms"]
    # sigma back at 0: nominal again
    assert transfer_error("tanh", *unit.transfer(engine, 41))["max"] == pytest.approx(nominal["max"], rel=1e-6)


def test_area_grows_with_segments():
    a4, a16 = PwlUnit("tanh", 4).area(), PwlUnit("tanh", 16).area()
    assert 0 < a4 < a16 < 5 * a4


@pytest.mark.slow
def test_sweep_then_fit_gives_a_surrogate_of_the_ngspice_transfer(engine, tmp_path):
    """The system simulator's contract: one input (x, function units), one output (y)."""
    from cimspice.surrogate import load_library

    segments = 8
    unit = PwlUnit("tanh", segments, timing=False)
    # grid: uniform points plus both sides of every breakpoint, so interpolation sees each kink
    lo, hi = unit.program_.x_min, unit.program_.x_max
    kinks = unit.program_.x_of_v(unit.breakpoints())
    xs = np.unique(np.r_[np.linspace(lo, hi, 49), kinks - 1e-4, kinks + 1e-4])
    spec = tmp_path / "spec.yaml"
    spec.write_text("circuit: pwl_unit\ncircuit_args:\n  function: tanh\n  segments: 8\n  timing: false\n"
                    f"design: list\nparameters:\n  x: [{', '.join(repr(float(v)) for v in xs)}]\noutputs: [y, i_out]\n")
    sweep, lib = tmp_path / "sweep.h5", tmp_path / "lib.h5"
    for args in (["sweep", str(spec), "-o", str(sweep), "--workers", "1"],
                 ["fit", str(sweep), "-o", str(lib), "--outputs", "y"]):
        run = subprocess.run([sys.executable, "-m", "cimspice.cli", *args], capture_output=True, text=True, timeout=600)
        assert run.returncode == 0, run.stderr
    library = load_library(lib)
    (name,) = [n for n in library if n.endswith(".y")]
    surrogate = library[name]
    assert list(surrogate.inputs) == ["x"]
    held_out = np.random.default_rng(7).uniform(lo, hi, 15)
    unit.load(engine)
    truth = np.array([unit.simulate(engine, {"x": float(x)}).values["y"] for x in held_out])
    pred = surrogate.predict(held_out.reshape(-1, 1))
    assert np.max(np.abs(pred - truth)) < 0.01 * 2.0  # tanh: full scale 2
    assert get_circuit("pwl_unit", function="exp", segments=4).program_.function == "exp"


def test_lut_baseline_reads_its_rom_word_through_the_transistors(engine):
    from cimspice.circuits.lut_baseline import LutActivation

    lut = LutActivation("tanh", address_bits=3)
    lut.load(engine)
    for x in (-1.3, 0.7):  # words with bits set (a zero word changes no output)
        m = lut.simulate(engine, {"x": x}).values
        # the word stored for x's interval, computed here from the function at its centre
        k = int((x + 4.0) / 8.0 * 8)
        word = round((math.tanh(-4.0 + (k + 0.5) * 1.0) - math.tanh(-4.0)) / (2 * math.tanh(4.0)) * 255)
        assert m["code"] == word
        assert 0 < m["latency"] < lut.t_clk / 2 and m["energy"] > 7 * 10e-15  # 7 comparators at >10 fJ


def test_differential_pair_steers_its_tail_as_tanh_and_sigmoid(engine):
    from cimspice.circuits.devices import VDD

    tanh = get_circuit("diff_pair_activation", function="tanh", gain=0.1)
    tanh.load(engine)
    ys = {x: tanh.simulate(engine, {"x": x}).values for x in (-4.0, -0.5, 0.0, 0.5, 4.0)}
    assert ys[0.0]["y"] == pytest.approx(0.0, abs=1e-6)
    assert ys[0.5]["y"] == pytest.approx(-ys[-0.5]["y"], rel=1e-3) and 0.1 < ys[0.5]["y"] < math.tanh(0.5)
    assert ys[4.0]["y"] > 0.95  # fully steered: the whole tail in one load
    # the tail and its mirror reference from vdd over one evaluation, and a settling output
    assert ys[4.0]["energy"] == pytest.approx(2 * VDD * tanh.i_tail * tanh.t_clk, rel=0.05)
    assert 0 < ys[4.0]["latency"] < tanh.t_clk
    sigmoid = get_circuit("diff_pair_activation", function="sigmoid", gain=0.05)
    sigmoid.load(engine)
    assert sigmoid.simulate(engine, {"x": 1.0}).values["y"] == pytest.approx((1 + ys[0.5]["y"]) / 2, rel=1e-3)
    with pytest.raises(CircuitError, match="gelu"):
        get_circuit("diff_pair_activation", function="gelu")
