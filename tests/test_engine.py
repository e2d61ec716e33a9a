"""The ngspice engine against analytic answers, against `ngspice -b`, and on purpose failures."""

from __future__ import annotations

import numpy as np
import pytest

from cimspice.spice import (
    ConvergenceError,
    NetlistError,
    ParameterError,
    SimulationTimeout,
    SingularMatrixError,
    TimestepTooSmallError,
)

DIVIDER = """divider
.param r2=1k
V1 a 0 dc 2
R1 a b 1k
R2 b 0 {r2}
.end
"""

RC = """rc step
.param r=1k c=1n
V1 in 0 pwl(0 0 1p 1)
R1 in out {r}
C1 out 0 {c}
.end
"""


def test_divider_matches_analytic(engine):
    engine.load(DIVIDER)
    for r2 in (1e3, 3e3, 47.5, 1e6):
        engine.set_params(r2=r2)
        result = engine.op(["v(b)", "i(v1)"])
        assert result.status == "ok"
        assert result["v(b)"][0] == pytest.approx(2 * r2 / (1e3 + r2), rel=1e-9)
        # SPICE convention: a source delivering power carries negative branch current.
        assert result["i(v1)"][0] == pytest.approx(-2 / (1e3 + r2), rel=1e-9)


def test_alter_changes_device_without_reparse_and_survives_reset(engine):
    engine.load(DIVIDER)
    engine.alter("R1", 3e3)
    assert engine.op("v(b)")["v(b)"][0] == pytest.approx(0.5, rel=1e-9)
    engine.set_params(r2=3e3)  # reset re-parses; the alter must be re-applied
    assert engine.op("v(b)")["v(b)"][0] == pytest.approx(1.0, rel=1e-9)


def _ladder(sections: int) -> str:
    """An R ladder of ``sections`` nodes (one equation each, plus the source's branch)."""
    lines = ["ladder", "V1 n0 0 dc 1"]
    for k in range(1, sections + 1):
        lines += [f"Rs{k} n{k - 1} n{k} 1", f"Rp{k} n{k} 0 1meg"]
    return "\n".join(lines + [".end"])


def test_large_circuits_rerun_alters_on_a_reset_circuit_with_the_same_results(engine, monkeypatch):
    from cimspice.spice.engine import RESET_ALTER_EQUATIONS

    engine.load(_ladder(RESET_ALTER_EQUATIONS // 2))
    assert not engine.reset_on_alter and 0 < engine.equations() < RESET_ALTER_EQUATIONS
    engine.load(_ladder(RESET_ALTER_EQUATIONS + 10))
    assert engine.reset_on_alter and engine.equations() >= RESET_ALTER_EQUATIONS
    # forced on a divider: every alter, option and save holds across the reset before each run
    engine.load(DIVIDER)
    assert not engine.reset_on_alter
    engine.reset_on_alter = True
    engine.save(["v(b)"])
    engine.set_options(temp=50.0)
    sent = []
    command = engine.command
    monkeypatch.setattr(engine, "command", lambda c: sent.append(c) or command(c))   # real ngspice, listened to
    engine.alter("R1", 3e3)
    engine.alter("V1", 4.0)
    result = engine.op()
    assert [c for c in sent if c in ("reset", "op")] == ["reset", "op"]   # one reset for both alters
    assert set(result.vectors) == {"b"} and result["b"][0] == pytest.approx(1.0, rel=1e-9)
    engine.alter("R1", 1e3)                 # the earlier alter of V1 is re-applied with it
    assert engine.op()["b"][0] == pytest.approx(2.0, rel=1e-9)
    assert engine.command("show r1 : temp")[-1].split()[-1].startswith("50")
    with pytest.raises(ParameterError):
        engine.alter("Rnope", 1.0)


def test_a_save_list_keeps_only_its_vectors_across_resets_until_the_next_load(engine):
    engine.load(RC)
    engine.save(["v(out)", "time", "i(v1)"])  # the axis is kept whether named or not
    assert set(engine.tran(1e-6, 2e-6).vectors) == {"time", "out", "v1#branch"}
    engine.set_params(r=2e3)  # ngspice's reset forgets the list: the engine gives it back
    result = engine.tran(1e-7, 5e-6)
    assert set(result.vectors) == {"time", "out", "v1#branch"}
    assert result["out"][-1] == pytest.approx(1 - np.exp(-5e-6 / 2e-6), rel=1e-3)
    engine.save(None)
    assert set(engine.tran(1e-6, 2e-6).vectors) == {"time", "in", "out", "v1#branch"}
    engine.save("v(in)")
    engine.load(RC)
    assert set(engine.op().vectors) == {"in", "out", "v1#branch"}


def test_dc_sweep_is_linear(engine):
    engine.load(DIVIDER)
    result = engine.dc("V1", 0, 1, 0.1, ["v-sweep", "v(b)"])
    np.testing.assert_allclose(result["v(b)"], result["v-sweep"] / 2, rtol=1e-9, atol=1e-15)
    assert len(result["v-sweep"]) == 11


def test_rc_step_matches_exponential(engine):
    engine.load(RC)
    engine.set_params(r=2e3, c=0.5e-9)  # tau = 1 us
    result = engine.tran(1e-8, 5e-6, max_step=1e-8, vectors=["time", "v(out)"])
    t, v = result["time"], result["v(out)"]
    late = t > 1e-8
    np.testing.assert_allclose(v[late], 1 - np.exp(-(t[late] - 1e-12) / 1e-6), atol=2e-3)


def test_ac_corner_is_minus_3db(engine):
    engine.load("rc ac\nV1 in 0 dc 0 ac 1\nR1 in out 1k\nC1 out 0 1n\n.end")
    fc = 1 / (2 * np.pi * 1e3 * 1e-9)
    result = engine.ac(1, fc, fc, ["frequency", "v(out)"], variation="lin")
    assert np.iscomplexobj(result["v(out)"])
    assert abs(result["v(out)"][0]) == pytest.approx(1 / np.sqrt(2), rel=1e-6)
    assert np.angle(result["v(out)"][0], deg=True) == pytest.approx(-45, abs=1e-4)


def test_noise_of_a_resistor_is_4ktr_and_leaves_no_plot(engine):
    """R's thermal noise referred to the source in series with it is flat, sqrt(4kTR) per
    sqrt(Hz) (ngspice 39: k = 1.38064852e-23 J/K, 27 degC); both noise plots are freed."""
    engine.load("rc noise\nV1 in 0 dc 0 ac 1\nR1 in out 10k\nC1 out 0 1p\n.end")
    result = engine.noise("v(out)", "V1", 5, 1.0, 1e9, ["frequency", "inoise_spectrum", "onoise_total"])
    assert result["frequency"].size == 5 * 9 + 1
    np.testing.assert_allclose(result["inoise_spectrum"], np.sqrt(4 * 1.38064852e-23 * 300.15 * 1e4), rtol=1e-6)
    assert result["onoise_total"].shape == (1,)
    assert engine.plot_names() == ["const"]
    with pytest.raises(ParameterError, match="noise output 'i\\(v1\\)': expected v\\(node\\) or v\\(node,ref\\)"):
        engine.noise("i(v1)", "v1", 5, 1.0, 1e9)


def test_temperature_option_applies_and_survives_reset(engine):
    engine.load(".title tc\n.param r2=1k\nV1 a 0 1\nR1 a b 1k tc1=0.01\nR2 b 0 {r2}\n.end")
    engine.set_temperature(127.0)  # R1 = 1k * (1 + 0.01 * 100) = 2k
    assert engine.op("v(b)")["v(b)"][0] == pytest.approx(1 / 3, rel=1e-9)
    engine.set_params(r2=2e3)
    assert engine.op("v(b)")["v(b)"][0] == pytest.approx(0.5, rel=1e-9)


NONLINEAR = """diode and bsim-free nonlinearity
.param vs=0.9
V1 a 0 dc {vs}
R1 a b 220
D1 b c dmod
B1 c 0 I=1e-4*sinh(V(c)/0.1)
.model dmod d is=1e-14 n=1.2 rs=5
.end
"""


def test_engine_agrees_with_ngspice_batch(engine, batch):
    engine.load(NONLINEAR)
    for vs in (0.4, 0.9, 1.7):
        engine.set_params(vs=vs)
        ours = engine.op(["v(b)", "v(c)", "i(v1)"])
        text = NONLINEAR.replace(".param vs=0.9", f".param vs={vs!r}")
        theirs = batch(text, ["v(b)", "v(c)", "i(v1)"])
        for name in ("v(b)", "v(c)", "i(v1)"):
            assert ours[name][0] == pytest.approx(theirs[name], rel=1e-5, abs=1e-12)


def test_file_netlist_resolves_relative_includes(engine, tmp_path):
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "r.lib").write_text(".subckt half a b\nR1 a b 2k\n.ends\n")
    deck = tmp_path / "top.cir"
    deck.write_text("top\n.include models/r.lib\nV1 a 0 1\nX1 a 0 half\n.end\n")
    engine.load(deck)
    assert engine.op("i(v1)")["i(v1)"][0] == pytest.approx(-0.5e-3, rel=1e-9)


def test_plots_do_not_accumulate(engine):
    engine.load(DIVIDER)
    for k in range(200):
        engine.alter("R2", 1e3 + k)
        engine.op("v(b)")
    assert engine.plot_names() == ["const"]
    engine.command("op")  # a raw command keeps its plot: the check above can fail
    assert len(engine.plot_names()) == 2


# ----------------------------------------------------------------------------- failures
def test_parse_error_is_netlist_error(engine):
    with pytest.raises(NetlistError, match="could not parse"):
        engine.load("bad\nV1 a 0 1\nQ1 a b c nosuchmodel\n.end")


def test_singular_matrix_is_recognised(engine):
    engine.load("loop\nV1 a 0 1\nV2 a 0 2\nR1 a 0 1k\n.end")
    with pytest.raises(SingularMatrixError, match="v1#branch|v2#branch") as info:
        engine.op()
    assert "singular matrix" in info.value.log.lower()


def test_timestep_too_small_is_recognised(engine):
    engine.load(
        "stiff\nV1 a 0 pwl(0 0 1n 0 1.000000001n 5)\nB1 a b I=1e-3*(exp(V(a,b)/0.001)-1)\n"
        "C1 b 0 1p\nL1 b 0 1n\n.options reltol=1e-9 abstol=1e-20 vntol=1e-15 chgtol=1e-25\n.end"
    )
    with pytest.raises(TimestepTooSmallError) as info:
        engine.tran(1e-12, 1e-8)
    assert isinstance(info.value, ConvergenceError)


def test_convergence_aids_are_reported_not_raised(engine):
    # A floating resistor pair: plain Newton meets a singular matrix, gmin stepping and the
    # transient op get ngspice through, and the result says so.
    engine.load("float\nV1 a 0 1\nR1 a b 1k\nR2 c d 1k\n.end")
    result = engine.op(["v(b)"])
    assert result.status == "aided"
    assert "gmin stepping" in result.aids
    assert result["v(b)"][0] == pytest.approx(1.0, rel=1e-6)


def test_plain_convergence_has_no_aids(engine):
    engine.load(NONLINEAR)
    result = engine.op("v(c)")
    assert result.status == "ok" and result.aids == ()


def test_timeout_halts_a_long_transient(engine):
    engine.load("long\nV1 a 0 pulse(0 1 0 1n 1n 1u 2u)\nR1 a b 1k\nC1 b 0 1n\n.end")
    with pytest.raises(SimulationTimeout, match="time limit"):
        engine.tran(1e-9, 1.0, timeout=0.2)
    # the engine is usable afterwards, with the same circuit
    result = engine.tran(1e-9, 1e-6, max_step=1e-9, vectors=["time", "v(b)"], timeout=30)
    t, v = result["time"], result["v(b)"]
    assert t[0] == 0 and v[0] == 0  # a fresh run, not the halted one continued
    assert v[-1] == pytest.approx(1 - np.exp(-(1e-6 - 0.5e-9) / 1e-6), abs=2e-3)


def test_unknown_parameter_names_the_declared_ones(engine):
    engine.load(DIVIDER)
    with pytest.raises(ParameterError, match=r"unknown parameter 'r3'.*declares: r2"):
        engine.set_params(r3=1.0)


@pytest.mark.parametrize("value", ["1k", None, float("nan"), float("inf"), True, [1.0]])
def test_non_numeric_values_are_refused_before_ngspice(engine, value):
    engine.load(DIVIDER)
    with pytest.raises(ParameterError, match="r2"):
        engine.set_params(r2=value)


def test_unknown_device_and_vector(engine):
    engine.load(DIVIDER)
    with pytest.raises(ParameterError, match="no such device"):
        engine.alter("R9", 1.0)
    with pytest.raises(ParameterError,
                       match=r"v\(zz\) not in the netlist's vectors \(3 vectors: v\(a\), v\(b\), i\(v1\)\)"):
        engine.op(["v(zz)"])


def test_netlist_file_problems(engine, tmp_path):
    with pytest.raises(NetlistError, match="no such netlist file"):
        engine.load(tmp_path / "missing.cir")
    (tmp_path / "ctl.cir").write_text("t\nV1 a 0 1\nR1 a 0 1k\n.control\nshell rm -rf /\n.endc\n.end\n")
    with pytest.raises(NetlistError, match=r"ctl.cir: line 4: .control blocks are not allowed"):
        engine.load(tmp_path / "ctl.cir")
    (tmp_path / "inc.cir").write_text("t\n.include nothere.lib\nV1 a 0 1\nR1 a 0 1k\n.end\n")
    with pytest.raises(NetlistError, match="nothere.lib not found"):
        engine.load(tmp_path / "inc.cir")
    (tmp_path / "bin.cir").write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(NetlistError, match="bin.cir"):
        engine.load(tmp_path / "bin.cir")


def test_second_engine_in_one_process_is_refused(engine):
    from cimspice.spice import Engine, EngineUnavailableError

    with pytest.raises(EngineUnavailableError, match="one ngspice engine per process"):
        Engine()


def test_monte_carlo_agauss_redrawn_on_reset(engine):
    engine.load("mc\n.param seedless=0\n.param rv=agauss(1k, 100, 1)\nV1 a 0 1\nR1 a 0 {rv}\n.end")
    draws = []
    for k in range(30):
        engine.set_params(seedless=k)
        draws.append(-1 / engine.op("i(v1)")["i(v1)"][0])
    draws = np.array(draws)
    assert len(np.unique(np.round(draws, 6))) > 25
    assert 850 < draws.mean() < 1150 and 50 < draws.std() < 160


def test_a_spiceinit_in_the_working_directory_or_home_is_not_run(tmp_path):
    """ngspice executes .spiceinit (shell commands included) at start-up; the engine must not."""
    import os
    import subprocess
    import sys

    marker_cwd, marker_home = tmp_path / "ran_cwd", tmp_path / "ran_home"
    work, home = tmp_path / "work", tmp_path / "home"
    work.mkdir()
    home.mkdir()
    (work / ".spiceinit").write_text(f"shell touch {marker_cwd}\n")
    (home / ".spiceinit").write_text(f"shell touch {marker_home}\n")
    code = ("from cimspice.spice import get_engine; e = get_engine(); "
            "e.load('t\\nV1 a 0 1\\nR1 a 0 1k\\n.end'); print(e.op(['i(v1)'])['i(v1)'][0])")
    run = subprocess.run([sys.executable, "-c", code], cwd=work, env={**os.environ, "HOME": str(home)},
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert float(run.stdout.split()[-1]) == -1e-3
    assert not marker_cwd.exists() and not marker_home.exists()
    # and the same .spiceinit does run in a plain ngspice started there: the test can fail
    subprocess.run(["ngspice", "-b", "/dev/null"], cwd=work, env={**os.environ, "HOME": str(home)},
                   capture_output=True, timeout=60)
    assert marker_cwd.exists() or marker_home.exists()
