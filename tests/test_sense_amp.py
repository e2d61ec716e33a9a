"""Current-mode latch sense amplifier (netlists/sense_amp.lib): decisions, the ideal
(mismatch-free) limit of zero offset, threshold shifts predicted from a mirror's
gm/Id, corner ordering, and the cycle energies against ngspice's own integrals on a converged
time grid."""

import re
import subprocess

import pytest

from cimspice.circuits import CircuitError
from cimspice.circuits.sense_amp import T_CLK, T_EDGE, CurrentSenseAmplifier


def test_decides_both_ways_and_delay_grows_as_the_difference_shrinks(engine):
    sa = CurrentSenseAmplifier(measure_offset=False)
    sa.load(engine)
    delays = []
    for i_bl in (15e-6, 11e-6, 10.1e-6, 9.9e-6, 5e-6):
        m = sa.simulate(engine, {"i_bl": i_bl, "i_ref": 10e-6}).values
        assert m["decision"] == float(i_bl > 10e-6) and m["correct"] == 1.0, (i_bl, m)
        delays.append(m["delay"])
    assert delays[0] < delays[1] < delays[2]  # 50 %, 10 %, 1 % above the reference
    assert delays[4] < delays[3]
    assert 1e-12 < delays[0] and delays[2] < sa.eval_window(10.1e-6, 10e-6)


def test_offset_is_zero_without_mismatch(engine):
    # the circuit is symmetric: the decision flips where the currents are equal, to within
    # the bisection's resolution
    sa = CurrentSenseAmplifier(offset_resolution=1e-3)
    sa.load(engine)
    for i_ref in (2e-6, 20e-6):
        offset = sa.simulate(engine, {"i_bl": i_ref, "i_ref": i_ref}).values["offset_i"]
        assert abs(offset) <= 1e-3 * i_ref


def _gm_over_id(engine, sa, i: float) -> float:
    """gm/Id of the bit-line mirror's diode at current i, from ngspice's operating point."""
    sa.simulate(engine, {"i_bl": i, "i_ref": i})
    engine.op(["v(bl)"])
    values = {}
    for param in ("gm", "id"):
        for line in engine.command(f"print @m.xsa.mmin_b[{param}]"):
            match = re.search(r"=\s*([-+0-9.eE]+)\s*$", line)
            if match:
                values[param] = float(match.group(1))
    return values["gm"] / values["id"]


def test_a_known_threshold_shift_moves_the_decision_threshold_as_predicted(engine):
    sa = CurrentSenseAmplifier(offset_resolution=2e-3)
    sa.load(engine)
    i_ref, dvth = 10e-6, 3e-3
    point = {"i_bl": i_ref, "i_ref": i_ref}
    weak_out = sa.simulate(engine, {**point, "dvth_mout_b": dvth}).values["offset_i"]
    weak_in = sa.simulate(engine, {**point, "dvth_min_b": dvth}).values["offset_i"]
    # a weaker bit-line mirror output copies less current: the bit line must carry more to
    # win, by the fraction (gm/Id) * dVT of its mirror; a weaker diode has the opposite effect
    predicted = _gm_over_id(engine, sa, i_ref) * dvth * i_ref
    assert weak_out == pytest.approx(predicted, rel=0.3)
    assert weak_in == pytest.approx(-predicted, rel=0.3)
    # the latch itself: a weaker bit-line-side NMOS also needs more bit-line current
    assert sa.simulate(engine, {**point, "dvth_ln_b": 10e-3}).values["offset_i"] > 0


def test_fast_corner_decides_faster_than_slow(engine):
    delays = {}
    for corner in ("ff", "tt", "ss"):
        sa = CurrentSenseAmplifier(corner=corner, measure_offset=False)
        sa.load(engine)
        delays[corner] = sa.simulate(engine, {"i_bl": 11e-6, "i_ref": 10e-6}).values["delay"]
    assert delays["ff"] < delays["tt"] < delays["ss"]


def test_relative_input_is_the_absolute_circuit_at_i_bl_from_the_overdrive(engine):
    """The oracle: the original interface, loaded afresh and run at i_bl = i_ref (1 + overdrive)."""
    relative = CurrentSenseAmplifier(relative_input=True, offset_resolution=2e-3)
    absolute = CurrentSenseAmplifier(offset_resolution=2e-3)
    assert [p.name for p in relative.parameters[:3]] == ["i_ref", "overdrive", "vdd"]
    assert relative.netlist() == absolute.netlist()
    points = [(35e-6, 0.0129, 1.1, False), (7e-6, 1.5, 0.9, False), (120e-6, 3e-3, 1.25, True)]
    for i_ref, overdrive, vdd, offset in points:
        for sa in (relative, absolute):
            sa.measure_offset = offset
        relative.load(engine)
        r = relative.simulate(engine, {"i_ref": i_ref, "overdrive": overdrive, "vdd": vdd}).values
        absolute.load(engine)
        a = absolute.simulate(engine, {"i_bl": i_ref * (1 + overdrive), "i_ref": i_ref, "vdd": vdd}).values
        assert r["decision"] == a["decision"] == 1.0 and r["correct"] == 1.0
        for k in ("delay", "energy", "energy_clock") + (("offset_i",) if offset else ()):
            assert r[k] == pytest.approx(a[k], rel=1e-9), (k, i_ref, overdrive)
    assert relative.currents(relative.point({"i_ref": 20e-6, "overdrive": 0.5})) == pytest.approx((30e-6, 20e-6))
    with pytest.raises(CircuitError, match="overdrive: 5 1 outside"):
        relative.simulate(None, {"overdrive": 5.0})
    with pytest.raises(CircuitError, match="i_bl"):
        relative.simulate(None, {"i_bl": 12e-6})


@pytest.fixture(scope="module")
def cycle_energies(engine, tmp_path_factory):
    """``(measured, integrals)``: the amplifier's energies of one cycle (its own transient: 400
    steps, the clock a PWL source with graded corners) and ngspice's ``meas integ`` of the
    supply and clock power, J, on the same deck with the clock written as a PULSE source
    (the same waveform, not the amplifier's corners) and a 100x finer step, where they have
    converged (within 0.1 % of a 200000-step run)."""
    sa = CurrentSenseAmplifier(measure_offset=False)
    sa.load(engine)
    point = {"i_bl": 14e-6, "i_ref": 10e-6}
    m = sa.simulate(engine, point).values
    t_eval = sa.eval_window(**point)
    t_end = T_CLK + 2 * T_EDGE + t_eval + 1e-9
    text, n_clk = re.subn(r"(?m)^vclk clk 0 .*$",
                          f"vclk clk 0 dc 0 pulse(0 1.1 {T_CLK!r} {T_EDGE!r} {T_EDGE!r} {t_eval!r} 1)", sa.netlist())
    text = text.replace("ibl 0 bl dc 12u", "ibl 0 bl dc 14u")
    assert n_clk == 1 and "14u" in text and "pwl" not in text
    deck = tmp_path_factory.mktemp("sense_amp_energy") / "energy.cir"
    step = t_end / 40000
    deck.write_text(text.rstrip().removesuffix(".end") + "\n".join([
        "", ".control", "set num_threads=1",
        f"tran {step!r} {t_end!r} 0 {step!r}",
        "let p = -v(vdd) * i(vdd)",
        "let pc = -v(clk) * i(vclk)",
        f"meas tran e_vdd integ p from={T_CLK!r} to={t_end * (1 - 1e-9)!r}",
        f"meas tran e_clk integ pc from={T_CLK!r} to={t_end * (1 - 1e-9)!r}",
        ".endc", ".end", ""]))
    run = subprocess.run(["ngspice", "-b", str(deck)], capture_output=True, text=True, timeout=120)
    found = dict(re.findall(r"^(e_vdd|e_clk)\s*=\s*(\S+)", run.stdout, re.MULTILINE))
    assert set(found) == {"e_vdd", "e_clk"}, run.stdout + run.stderr
    return m, {k: float(v) for k, v in found.items()}


def test_cycle_energy_equals_ngspice_integral_of_supply_power(cycle_energies):
    m, found = cycle_energies
    # a finer grid, not the amplifier's 400-step waveform: on that one meas integ's Simpson rules and
    # the trapezoid differ by 0.5 % (a ringing supply current); its trapezoid is 0.2 % above this
    assert m["energy"] == pytest.approx(found["e_vdd"], rel=5e-3, abs=0)
    # at least the latch's two sides swung once: C V^2 with a few fF per side
    assert 5e-15 < m["energy"] < 500e-15


def test_clock_energy_equals_ngspice_integral_of_clock_power(cycle_energies):
    m, found = cycle_energies
    # a small net of the rising and falling edges' energies (4.0 fJ of +-6 fJ): 1 %; with the
    # edges sampled only by the transient's own t_end / 400 steps it was 13 % high
    assert m["energy_clock"] == pytest.approx(found["e_clk"], rel=1e-2, abs=0)


def test_bad_values_fail_before_ngspice():
    sa = CurrentSenseAmplifier()
    with pytest.raises(CircuitError, match="i_bl: 0 A outside"):
        sa.simulate(None, {"i_bl": 0.0})
    with pytest.raises(CircuitError, match="vdd: 0.5 V outside"):
        sa.simulate(None, {"vdd": 0.5})
    with pytest.raises(CircuitError, match="dvth_ln_b: 0.3 V outside"):
        sa.simulate(None, {"dvth_ln_b": 0.3})
    with pytest.raises(CircuitError, match="offset_range=1.5"):
        CurrentSenseAmplifier(offset_range=1.5)
