"""The derived outputs of a user netlist (energy, settling, 10-90 % edges, DC gain, bandwidth,
unity-gain frequency, phase margin, integrated noise) against analytic circuits and against
ngspice's own .meas (or its noise totals) on the same netlist."""

from __future__ import annotations

import math

import numpy as np
import pytest
from meas_oracle import TWO_POLE, ngspice_meas, sweep_outputs, with_param
from scipy.optimize import brentq

from cimspice.characterize import SpecError, parse_sweep_spec

# ngspice 39's Boltzmann constant (src/include/ngspice/const.h) and its default 27 degC
BOLTZMANN, KELVIN = 1.38064852e-23, 300.15

# A 1 V step (1 ps edge at 1 ns) into R-C, back to 0 at 21 ns, from a source named vdd.
STEP = """rc step
.param r=1k
Vdd in 0 dc 0 pulse(0 1 1n 1p 1p 20n 40n)
R1 in out {r}
C1 out 0 1p
.end
"""
STEP_TRAN = {"tran": {"step": "5p", "stop": "40n", "max_step": "5p"}}


def test_energy_is_the_integral_of_the_supply_power(tmp_path):
    """Energy from vdd into R-C over the charge: C V^2 (half stored, half burnt in R); the
    same window by ngspice's INTEG of the power as a B-source node of the oracle deck."""
    outputs = {"e": {"energy": {"supply": "vdd", "from": 0, "to": "20n"}, "unit": "J"},
               "e_all": {"energy": {"supply": "vdd"}}, "e_mid": {"energy": {"supply": "VDD", "from": "1.5n",
                                                                           "to": "3.25n"}}}
    ours, messages, status = sweep_outputs(tmp_path, STEP, {"analysis": STEP_TRAN, "parameters": {"r": [1e3, 2e3]},
                                                            "outputs": outputs})
    assert status == [0, 0], messages
    assert ours["_units"]["e"] == "J"
    # the edge's 1 ps, when the source is below 1 V, takes 5e-4; ngspice's own error (reltol 1e-3) the rest
    np.testing.assert_allclose(ours["e"], 1e-12, rtol=2e-3)
    # at 0 V the source delivers nothing; on the 1 ps falling edge it takes a little back
    assert np.all(ours["e_all"] < ours["e"]) and np.allclose(ours["e_all"], ours["e"], rtol=1e-3)
    power = STEP.replace(".end", "Bp p 0 V = v(in)*(-i(vdd))\n.end")
    oracle, log = ngspice_meas(power, ".tran 5p 40n 0 5p", {"e": "tran INTEG v(p) FROM=0 TO=20n",
                                                            "m": "tran INTEG v(p) FROM=1.5n TO=3.25n"}, tmp_path)
    assert ours["e"][0] == pytest.approx(oracle["e"], rel=2e-5), log[-2000:]
    assert ours["e_mid"][0] == pytest.approx(oracle["m"], rel=2e-5)


def test_settling_and_edges_of_an_rc_step(tmp_path):
    """RC = 1 ns: settling to 10 mV of 1 V is RC ln(100) after the step, 10-90 % edges RC ln 9;
    against ngspice's WHEN ... CROSS=LAST and its TRIG/TARG at the levels its MIN/MAX give."""
    outputs = {"t_set": {"settling": {"vector": "v(out)", "tolerance": "10m", "from": "1n", "to": "20n",
                                      "final": 1.0}},
               "t_rel": {"settling": {"vector": "v(out)", "tolerance": "1%", "from": "1n", "to": "20n"}},
               "t_r": {"rise": {"vector": "v(out)", "to": "20n"}}, "t_f": {"fall": {"vector": "v(out)", "from": "20n"}},
               "t_r2080": {"rise": {"vector": "v(out)", "to": "20n", "low": "20%", "high": 0.8}}}
    ours, messages, status = sweep_outputs(tmp_path, STEP, {"analysis": STEP_TRAN, "parameters": {"r": [1e3]},
                                                            "outputs": outputs})
    assert status == [0], messages
    assert set(ours["_units"].values()) == {"s"}
    step = 1e-9 + 0.5e-12  # the middle of the 1 ps edge
    # the band's edge is crossed after 20 ns only on the falling edge; settled within [1n, 20n]
    oracle, log = ngspice_meas(STEP, ".tran 5p 40n 0 5p", {"s": "tran WHEN v(out)=0.99 RISE=LAST",
                                                           "lo": "tran MIN v(out) TO=20n",
                                                           "hi": "tran MAX v(out) TO=20n",
                                                           "lo2": "tran MIN v(out) FROM=20n",
                                                           "hi2": "tran MAX v(out) FROM=20n"}, tmp_path)
    assert ours["t_set"][0] == pytest.approx(oracle["s"] - 1e-9, rel=2e-5), log[-2000:]
    assert ours["t_set"][0] == pytest.approx(step - 1e-9 + 1e-9 * math.log(100), rel=2e-3)
    # 1 % of the step to the value at 20 ns (1 - exp(-19)) is 10 mV around it
    assert ours["t_rel"][0] == pytest.approx(ours["t_set"][0], rel=1e-4)
    swing, swing2 = oracle["hi"] - oracle["lo"], oracle["hi2"] - oracle["lo2"]
    lo, lo2 = oracle["lo"], oracle["lo2"]
    edges, _ = ngspice_meas(STEP, ".tran 5p 40n 0 5p", {
        "r": f"tran TRIG v(out) VAL={lo + 0.1 * swing!r} RISE=1 TARG v(out) VAL={lo + 0.9 * swing!r} RISE=1",
        "r2": f"tran TRIG v(out) VAL={lo + 0.2 * swing!r} RISE=1 TARG v(out) VAL={lo + 0.8 * swing!r} RISE=1",
        "f": f"tran TRIG v(out) VAL={lo2 + 0.9 * swing2!r} TD=20n FALL=1 TARG v(out) "
             f"VAL={lo2 + 0.1 * swing2!r} TD=20n FALL=1"}, tmp_path)
    # ngspice prints VAL levels to 7 digits in these lines' results: 1e-5 of a ns edge
    assert ours["t_r"][0] == pytest.approx(edges["r"], rel=1e-5)
    assert ours["t_r2080"][0] == pytest.approx(edges["r2"], rel=1e-5)
    assert ours["t_f"][0] == pytest.approx(edges["f"], rel=1e-5)
    assert ours["t_r"][0] == pytest.approx(1e-9 * math.log(9), rel=2e-3)
    assert ours["t_r2080"][0] == pytest.approx(1e-9 * math.log(4), rel=2e-3)


def test_a_step_that_never_settles_fails_its_point(tmp_path):
    ours, messages, status = sweep_outputs(tmp_path, STEP, {
        "analysis": STEP_TRAN, "parameters": {"r": [1e3]},
        "outputs": {"t": {"settling": {"vector": "v(out)", "tolerance": "1m", "from": "1n", "to": "20n",
                                       "final": 0.5}}}})
    assert status == [2]
    assert messages[0] == "MeasureError: outputs.t: v(out) is not inside its band at 2e-08 s"


AC_OUTPUTS = {"a0": {"dc_gain": "v(out)"}, "f_3db": {"bandwidth": "v(out)"}, "f_u": {"unity_gain": "v(out)"},
              "pm": {"phase_margin": "v(out)"}}


def _two_pole(f, c2):
    p1, p2 = 1 / (2 * math.pi * 1e5 * 1.59155e-9), 1 / (2 * math.pi * 1e5 * c2)
    return 1e3 / ((1 + 1j * f / p1) * (1 + 1j * f / p2)), p1, p2


@pytest.mark.parametrize("c2", [0.530516e-12, 0.1e-12])
def test_ac_figures_of_a_two_pole_amplifier(tmp_path, c2):
    """Against the analytic transfer function, and against ngspice's .meas of the same sweep
    (WHEN vdb=0, FIND vp WHEN vdb=0: linear in f, so within 1e-4)."""
    ours, messages, status = sweep_outputs(tmp_path, TWO_POLE, {
        "analysis": {"ac": {"start": 10, "stop": "1g", "points": 50}}, "parameters": {"c2": [c2]},
        "outputs": AC_OUTPUTS})
    assert status == [0], messages
    assert ours["_units"] == {"a0": "V/V", "f_3db": "Hz", "f_u": "Hz", "pm": "deg"}
    gain = lambda f: abs(_two_pole(f, c2)[0])  # noqa: E731
    _, p1, p2 = _two_pole(1.0, c2)
    f_u = brentq(lambda f: gain(f) - 1, 1e3, 1e9)
    assert ours["a0"][0] == pytest.approx(gain(10.0), rel=1e-9)
    assert ours["f_3db"][0] == pytest.approx(brentq(lambda f: gain(f) - gain(10.0) / math.sqrt(2), 10, 1e7), rel=2e-5)
    assert ours["f_u"][0] == pytest.approx(f_u, rel=2e-5)
    assert ours["pm"][0] == pytest.approx(180 - math.degrees(math.atan(f_u / p1) + math.atan(f_u / p2)), abs=2e-3)
    deck = with_param(TWO_POLE, "c2", c2)
    oracle, log = ngspice_meas(deck, ".ac dec 50 10 1g", {
        "a0": "ac FIND vm(out) AT=10", "ugf": "ac WHEN vdb(out)=0", "ph": "ac FIND vp(out) WHEN vdb(out)=0",
        "bw": f"ac WHEN vdb(out)={20 * math.log10(gain(10.0)) - 10 * math.log10(2)!r}"}, tmp_path)
    assert ours["a0"][0] == pytest.approx(oracle["a0"], rel=1e-6), log[-2000:]
    assert ours["f_u"][0] == pytest.approx(oracle["ugf"], rel=1e-4)
    assert ours["f_3db"][0] == pytest.approx(oracle["bw"], rel=1e-4)
    assert ours["pm"][0] == pytest.approx(180 + math.degrees(oracle["ph"]), abs=0.02)


def test_single_pole_gm_c_and_an_inverting_input(tmp_path):
    """gm R / (1 + j f/fp): f_u = fp sqrt(A0^2 - 1), phase margin 180 - atan(f_u/fp); the
    same read through a 2 V ac input (``input: v(in)``) and inverted (G from out to 0)."""
    netlist = ("gm-C\n.param r=100k\nV1 in 0 dc 0 ac 2\nG1 0 out in 0 1m\nR1 out 0 {r}\nC1 out 0 1p\n"
               "G2 outn 0 in 0 1m\nR2 outn 0 {r}\nC2 outn 0 1p\n.end\n")
    outputs = {"a0": {"dc_gain": {"vector": "v(out)", "input": "v(in)"}},
               "f_u": {"unity_gain": {"vector": "v(out)", "input": "v(in)"}},
               "pm": {"phase_margin": {"vector": "v(out)", "input": "v(in)"}},
               "pm_inv": {"phase_margin": {"vector": "v(outn)", "input": "v(in)"}},
               "f_3db": {"bandwidth": {"vector": "v(outn)", "input": "v(in)"}}}
    ours, messages, status = sweep_outputs(tmp_path, netlist, {
        "analysis": {"ac": {"start": 1, "stop": "10g", "points": 40}}, "parameters": {"r": [1e5, 3e5]},
        "outputs": outputs})
    assert status == [0, 0], messages
    for k, r in enumerate([1e5, 3e5]):
        a0, fp = 1e-3 * r, 1 / (2 * math.pi * r * 1e-12)
        f_u = fp * math.sqrt(a0 ** 2 - 1)
        assert ours["a0"][k] == pytest.approx(a0 / math.sqrt(1 + (1 / fp) ** 2), rel=1e-9)
        assert ours["f_u"][k] == pytest.approx(f_u, rel=1e-6)  # a single pole is a power law: exact
        assert ours["f_3db"][k] == pytest.approx(fp, rel=5e-4)  # log-log across the knee, 40 points a decade
        assert ours["pm"][k] == pytest.approx(180 - math.degrees(math.atan(f_u / fp)), abs=1e-3)
        assert ours["pm_inv"][k] == pytest.approx(ours["pm"][k], abs=1e-9)


def test_a_gain_that_never_falls_through_unity_fails_its_point(tmp_path):
    netlist = "rc divider\n.param r=1k\nV1 in 0 dc 0 ac 1\nR1 in out {r}\nR2 out 0 {r}\nC1 out 0 1p\n.end\n"
    _, messages, status = sweep_outputs(tmp_path, netlist, {
        "analysis": {"ac": {"start": 1, "stop": "1g", "points": 10}}, "parameters": {"r": [1e3]},
        "outputs": {"f_u": {"unity_gain": "v(out)"}}})
    assert status == [2]
    assert messages[0] == "MeasureError: outputs.f_u: the gain never falls through 1 in [1, 1e+09] Hz"


def test_integrated_noise_of_an_rc(tmp_path):
    """R's noise 4kTR, flat at the input (exact for any band), and through the RC at the output,
    4kTR fp (atan(f2/fp) - atan(f1/fp)); over the analysis's whole range ngspice's onoise_total."""
    netlist = "rc\n.param r=1k\nV1 in 0 dc 0 ac 1\nR1 in out {r}\nC1 out 0 1p\n.end\n"
    outputs = {"vn_in": {"input_noise": {"from": "1k", "to": "100meg"}},
               "vn_out": {"output_noise": {"from": "1k", "to": "100meg"}},
               "vn_all": {"output_noise": {"from": 1, "to": "1g"}}}
    ours, messages, status = sweep_outputs(tmp_path, netlist, {
        "analysis": {"noise": {"output": "v(out)", "source": "v1", "start": 1, "stop": "1g", "points": 10}},
        "parameters": {"r": [1e3, 4e3]}, "outputs": outputs})
    assert status == [0, 0], messages
    assert ours["_units"] == {"vn_in": "V", "vn_out": "V", "vn_all": "V"}
    for k, r in enumerate([1e3, 4e3]):
        four_ktr, fp = 4 * BOLTZMANN * KELVIN * r, 1 / (2 * math.pi * r * 1e-12)
        assert ours["vn_in"][k] == pytest.approx(math.sqrt(four_ktr * (1e8 - 1e3)), rel=1e-6)
        band = fp * (math.atan(1e8 / fp) - math.atan(1e3 / fp))
        assert ours["vn_out"][k] == pytest.approx(math.sqrt(four_ktr * band), rel=2e-3)  # 10 points a decade
        deck = with_param(netlist, "r", r)
        oracle, log = ngspice_meas(deck, "", {}, tmp_path, control="noise v(out) v1 dec 10 1 1g\nsetplot noise2\n"
                                                                   "print onoise_total")
        assert ours["vn_all"][k] == pytest.approx(oracle["onoise_total"], rel=1e-6), log[-2000:]


@pytest.mark.parametrize("change, message", [
    ({"outputs": {"e": {"energy": {"supply": "vcc"}}}},
     "outputs.e.supply: no voltage source 'vcc' at the netlist's top level (its voltage sources: vdd)"),
    ({"outputs": {"t": {"settling": {"vector": "v(out)", "tolerance": "-1m"}}}},
     "outputs.t.tolerance: expected a positive band (1m, or 1% of the step), got '-1m'"),
    ({"outputs": {"t": {"rise": {"vector": "v(out)", "low": 0.9, "high": 0.1}}}},
     "outputs.t: expected 0 <= low < high <= 1 (fractions of the swing), got 0.9, 0.1"),
    ({"outputs": {"t": {"rise": "v(out)", "unit": "ns"}}}, "outputs.t.unit: 'ns', but rise is in 's' (values are SI)"),
    ({"outputs": {"g": {"dc_gain": "v(out)"}}}, "outputs.g: dc_gain reads a ac analysis; add ac to the spec's "
                                                 "analysis"),
    ({"outputs": {"t": {"rise": "v(out)", "fall": "v(out)"}}},
     "outputs.t: expected {vector: 'v(out)', unit: 'V'} or one of meas, energy, settling, rise, fall, dc_gain, "
     "bandwidth, unity_gain, phase_margin, input_noise, output_noise (not rise and fall together)"),
    ({"outputs": {"t": {"settle": "v(out)"}}}, "outputs.t: expected {vector: 'v(out)', unit: 'V'} or one of meas, "
                                               "energy, settling, rise, fall, dc_gain, bandwidth, unity_gain, "
                                               "phase_margin, input_noise, output_noise; did you mean 'settling'?"),
    ({"analysis": {"tran": {"step": "5p", "stop": "40n"}, "ac": {"start": 1, "stop": "1g", "points": 10}}},
     "analysis.ac: no output reads it, so every point would run it for nothing"),
    ({"analysis": {"dc": {"source": "v1", "start": 0, "stop": 1, "step": 0.1}}},
     "analysis.dc.source: no independent source 'v1' at the netlist's top level (its V and I sources: vdd)"),
    ({"analysis": {"noise": {"output": "i(vdd)", "source": "vdd", "start": 1, "stop": 1e6, "points": 10}}},
     "analysis.noise.output: a noise output is a voltage, v(node) or v(node,ref), not 'i(vdd)'"),
])
def test_a_derived_output_that_cannot_be_measured_is_refused_with_its_field(tmp_path, change, message):
    (tmp_path / "step.cir").write_text(STEP)
    data = {"netlist": "step.cir", "analysis": STEP_TRAN, "parameters": {"r": [1e3]},
            "outputs": {"t": {"rise": "v(out)"}}, **change}
    with pytest.raises(SpecError) as info:
        parse_sweep_spec(data, source=str(tmp_path / "spec.yaml"))
    assert str(info.value) == f"{tmp_path / 'spec.yaml'}: {message}"
