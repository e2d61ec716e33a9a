"""The .meas language (cimspice.circuits.measure) against ngspice's own .meas: the same netlist
swept by cimspice (measured in NumPy on the engine's vectors) and run by `ngspice -b` with the
same lines as .meas cards; every function on tran, ac and dc results. DERIV, which ngspice 39
does not compute, against the analytic RC step."""

from __future__ import annotations

import math
import struct
from pathlib import Path

import numpy as np
import pytest
from meas_oracle import TWO_POLE, ngspice_meas, sweep_outputs, with_param

from cimspice.characterize import SpecError, parse_sweep_spec
from cimspice.circuits import CircuitError
from cimspice.circuits import measure_math as mm
from cimspice.circuits.measure import parse_meas

# An RC ladder driven by a pulse train (shared with benchmarks/sweep.py): crossings rising and
# falling, several of each, and two nodes that cross each other. 10 ps steps: ngspice's
# INTEG/RMS take Simpson's rules.
TRAN = (Path(__file__).parent / "data" / "rc_ladder.cir").read_text()
TRAN_MEAS = {
    "d1": "tran TRIG v(in) VAL=0.5 RISE=1 TARG v(out) VAL=0.5 RISE=1",
    "d2": "tran TRIG v(in) VAL=0.5 FALL=2 TARG v(out) VAL=0.3 FALL=2",
    "d3": "tran TRIG AT=5n TARG v(mid) VAL=0.4 CROSS=3",
    "d4": "tran TRIG v(in) VAL=0.5 RISE=LAST TARG v(out) VAL=0.5 FALL=LAST",
    "d5": "tran TRIG v(in) VAL=0.5 TD=12n RISE=1 TARG v(mid) VAL=0.2 TD=12n RISE=1",
    "w1": "tran WHEN v(out)=0.6",
    "w2": "tran WHEN v(out)=v(mid) TD=1.5n CROSS=2",
    "w3": "tran WHEN v(mid)=0.3 FALL=LAST",
    "w4": "tran WHEN v(out) = 0.2 TD=15n RISE=2",
    "f1": "tran FIND v(out) AT=2.5n",
    "f2": "tran FIND i(v1) WHEN v(out)=0.5 RISE=2",
    "a1": "tran AVG v(out)",
    "a2": "tran AVG v(out) FROM=3n TO=17n",
    "m1": "tran MIN v(mid) FROM=5n TO=25n",
    "m2": "tran MAX v(out) FROM=2n",
    "m3": "tran MIN_AT v(mid) FROM=5n TO=25n",
    "m4": "tran MAX_AT i(v1)",
    "p1": "tran PP v(out) FROM=1n TO=9n",
    "r1": "tran RMS v(out) FROM=2.33n TO=31.7n",
    "r2": "tran RMS i(v1)",
    "i1": "tran INTEG i(v1) FROM=1n TO=11n",
    "i2": "tran INTEG v(out)",
}
# Two gm-C stages (meas_oracle.TWO_POLE): every part of a complex vector.
AC = TWO_POLE
AC_MEAS = {
    "a0": "ac FIND vm(out) AT=10", "adb": "ac FIND vdb(out) AT=1k", "ugf": "ac WHEN vdb(out)=0",
    "pm": "ac FIND vp(out) WHEN vdb(out)=0", "bw": "ac WHEN vdb(out)=57", "re": "ac FIND v(out) AT=1e6",
    "im": "ac FIND vi(out) AT=1e6", "rr": "ac FIND vr(out) AT=2e6", "mx": "ac MAX vm(out) FROM=1e3 TO=1e7",
    "mn": "ac MIN vp(out) FROM=1e3 TO=1e7", "mxa": "ac MAX_AT vi(out)", "av": "ac AVG vm(out) FROM=1e3 TO=1e7",
    "ig": "ac INTEG vm(out) FROM=1e3 TO=1e7", "rm": "ac RMS vdb(out) FROM=1e4 TO=3e7", "pp": "ac PP vdb(out)",
    "tt": "ac TRIG vdb(out) VAL=40 FALL=1 TARG vdb(out) VAL=20 FALL=1",
}
# A tanh transfer and a diode branch on a swept source.
DC = """dc transfer
.param rl=1k
V1 in 0 dc 0
B1 out 0 V = 0.55 - 0.5*tanh(8*(v(in)-0.6))
R1 out 0 {rl}
D1 in d dmod
R2 d 0 100
.model dmod d is=1e-14
.end
"""
DC_MEAS = {
    "w1": "dc WHEN v(out)=0.55", "w2": "dc WHEN v(out)=v(in)", "f1": "dc FIND v(out) AT=0.3",
    "f2": "dc FIND i(v1) WHEN v(out)=0.2", "a1": "dc AVG v(out)", "a2": "dc AVG i(v1) FROM=0.5 TO=1.1",
    "m1": "dc MIN i(v1)", "m2": "dc MAX v(out) FROM=0.2 TO=0.8", "m3": "dc MAX_AT v(d)", "p1": "dc PP v(out)",
    "r1": "dc RMS v(out) FROM=0.1 TO=1.0", "i1": "dc INTEG i(v1)", "i2": "dc INTEG v(d) FROM=0.62 TO=1.13",
    "t1": "dc TRIG v(out) VAL=0.9 FALL=1 TARG v(out) VAL=0.2 FALL=1",
}
CASES = {
    "tran": (TRAN, "r", [1e3, 1.5e3], {"tran": {"step": "10p", "stop": "40n"}}, ".tran 10p 40n", TRAN_MEAS),
    "ac": (AC, "r2", [1e5, 2e5], {"ac": {"start": 10, "stop": "1g", "points": 50}}, ".ac dec 50 10 1g", AC_MEAS),
    "dc": (DC, "rl", [1e3, 2e3], {"dc": {"source": "v1", "start": 0, "stop": 1.2, "step": "5m"}},
           ".dc v1 0 1.2 5m", DC_MEAS),
}


@pytest.mark.parametrize("case", list(CASES))
def test_every_meas_function_gives_what_ngspice_prints(tmp_path, case):
    netlist, param, values, analysis, card, meas = CASES[case]
    outputs = {name: {"meas": text} for name, text in meas.items()}
    ours, messages, status = sweep_outputs(tmp_path, netlist, {"analysis": analysis, "parameters": {param: values},
                                                                "outputs": outputs})
    assert status == [0] * len(values), messages
    for k, value in enumerate(values):
        deck = with_param(netlist, param, value)
        oracle, log = ngspice_meas(deck, card, meas, tmp_path)
        assert set(oracle) >= set(meas), f"ngspice measured only {sorted(oracle)}:\n{log[-3000:]}"
        for name in meas:
            # ngspice prints 6 significant digits (5 for WHEN, RMS, INTEG)
            assert ours[name][k] == pytest.approx(oracle[name], rel=1.1e-5, abs=1e-30), (case, value, name)


def test_units_follow_the_analysis_and_the_vector(tmp_path):
    netlist, param, values, analysis, _, _ = CASES["tran"]
    outputs = {"t": {"meas": "tran WHEN v(out)=0.5"}, "v": {"meas": "tran FIND v(out) AT=2n"},
               "q": {"meas": "tran INTEG i(v1)"}, "d": {"meas": "tran DERIV v(out) AT=2n"}}
    (tmp_path / "b.cir").write_text(netlist)
    spec = parse_sweep_spec({"netlist": "b.cir", "analysis": analysis, "parameters": {param: values},
                             "outputs": outputs}, source=str(tmp_path / "s.yaml"))
    assert [m.unit for m in spec.circuit.measurements] == ["s", "V", "A*s", "V/s"]
    with pytest.raises(SpecError, match=r"outputs.t.unit: 'ns', but meas is in 's' \(values are SI\)"):
        parse_sweep_spec({"netlist": "b.cir", "analysis": analysis, "parameters": {param: values},
                          "outputs": {"t": {"meas": "tran WHEN v(out)=0.5", "unit": "ns"}}},
                         source=str(tmp_path / "s.yaml"))


def test_a_difference_of_two_nodes_is_their_difference(tmp_path):
    """v(a,b) (ngspice 39's .meas has no such vector) against ngspice's FIND of each node."""
    outputs = {"d": {"meas": "tran FIND v(out,mid) AT=3n"}, "w": {"meas": "tran WHEN v(out, mid)=0 TD=1.5n FALL=1"}}
    ours, messages, _ = sweep_outputs(tmp_path, TRAN, {"analysis": CASES["tran"][3], "parameters": {"r": [1e3]},
                                                       "outputs": outputs})
    oracle, _ = ngspice_meas(TRAN, ".tran 10p 40n", {"a": "tran FIND v(out) AT=3n", "b": "tran FIND v(mid) AT=3n",
                                                     "w": "tran WHEN v(out)=v(mid) TD=1.5n FALL=1"}, tmp_path)
    assert ours["d"][0] == pytest.approx(oracle["a"] - oracle["b"], rel=1e-5), messages
    assert ours["w"][0] == pytest.approx(oracle["w"], rel=1.1e-5)


def test_deriv_is_the_slope_of_the_rc_step():
    """ngspice 39 does not compute DERIV: the oracle is the RC step, v = 1 - exp(-t/RC)."""
    rc = 1e-9
    t = np.concatenate([np.linspace(0, 2e-9, 301), np.linspace(2e-9, 10e-9, 97)[1:]])  # two step sizes
    v = {"v(out)": 1 - np.exp(-t / rc)}
    at_point = parse_meas("tran DERIV v(out) AT=1.234n").evaluate(t, v)
    assert at_point == pytest.approx(math.exp(-1.234) / rc, rel=1e-4)
    when = parse_meas("tran DERIV v(out) WHEN v(out)=0.5").evaluate(t, v)
    assert when == pytest.approx(0.5 / rc, rel=1e-4)
    coarse = parse_meas("tran DERIV v(out) AT=5n").evaluate(t, v)  # 83 ps steps: still second order
    assert coarse == pytest.approx(math.exp(-5) / rc, rel=2e-3)


def test_a_measurement_that_cannot_be_taken_fails_its_point_with_the_reason(tmp_path):
    """RC = 100 ns never reaches 0.9 V in 10 ns: that point fails, the others are measured."""
    netlist = "rc\n.param r=1k\nV1 in 0 pwl(0 0 10p 1)\nR1 in out {r}\nC1 out 0 1p\n.end\n"
    outputs = {"t90": {"meas": "tran WHEN v(out)=0.9"}, "v_end": {"meas": "tran FIND v(out) AT=10n"}}
    ours, messages, status = sweep_outputs(tmp_path, netlist, {
        "analysis": {"tran": {"step": "10p", "stop": "10n"}}, "parameters": {"r": [1e3, 1e5, 2e3]},
        "outputs": outputs})
    assert status == [0, 2, 0]
    assert messages[1] == "MeasureError: outputs.t90: tran when v(out)=0.9: WHEN v(out) never crosses 0.9"
    np.testing.assert_allclose(ours["t90"][[0, 2]], np.array([1e-9, 2e-9]) * math.log(10) + 5e-12, rtol=2e-3)
    assert np.isnan(ours["v_end"][1])


@pytest.mark.parametrize("text, message", [
    ("tran AVERAGE v(out)", "AVERAGE is not a .meas function (known: TRIG, WHEN, FIND, DERIV, AVG, MIN, MAX, "
                            "MIN_AT, MAX_AT, PP, RMS, INTEG); did you mean 'avg'?"),
    ("trans WHEN v(out)=1", "a measurement starts with its analysis (tran, ac, dc), not 'trans'; did you mean 'tran'?"),
    ("tran AVG v(out) TD=1n", "AVG: TD is not used in AVG (ngspice ignores it there)"),
    ("ac WHEN vdb(out)=0 TD=1", "WHEN: TD is not used outside tran (ngspice ignores it there)"),
    ("tran WHEN v(out)=0.5 FROM=1n", "WHEN: FROM is not used in WHEN (ngspice ignores it there)"),
    ("tran TRIG v(in) RISE=1 TARG v(out) VAL=0.5 RISE=1", "TRIG v(in) needs VAL="),
    ("tran TRIG v(in) VAL=0.5 TARG v(out) VAL=0.5", "TRIG needs RISE=n, FALL=n or CROSS=n (n a count, or LAST)"),
    ("tran TRIG v(in) VAL=0.5 RISE=1 FALL=1 TARG v(out) VAL=0.5 RISE=1", "TRIG: give one of RISE, FALL, CROSS, "
                                                                        "not RISE and FALL"),
    ("tran WHEN v(out)=0.5 RISE=0", "WHEN: RISE=0: expected a count (1, 2, ...) or LAST"),
    ("tran FIND vdb(out) AT=1n", "vdb(out): vdb() reads complex results, from ac only"),
    ("tran FIND v(out) VALUE=1", "FIND: unknown VALUE; did you mean 'val'?"),
    ("tran MAX v(out) FROM=5n TO=1n", "TO=1e-09 is not after FROM=5e-09"),
])
def test_a_meas_line_ngspice_would_read_differently_is_refused(text, message):
    with pytest.raises(CircuitError) as info:
        parse_meas(text, "outputs.x.meas")
    assert str(info.value) == f"outputs.x.meas: {message}"


def _ngspice_integral(x, y) -> float:
    """measure_rms_integral's loop in ngspice 39's com_measure2.c, transcribed sample by sample."""
    def ulps_equal(a: float, b: float) -> bool:  # AlmostEqualUlps(a, b, 100) for a, b >= 0
        ia, ib = (struct.unpack("<q", struct.pack("<d", v))[0] for v in (a, b))
        return a == b or abs(ia - ib) <= 100
    width = [x[k + 1] - x[k] for k in range(len(x) - 1)] + [0.0, 0.0]
    i, total = 0, 0.0
    while i < len(x) - 1:
        if ulps_equal(width[i], width[i + 1]) and ulps_equal(width[i], width[i + 2]):
            total += 3 * width[i] * (y[i] + 3 * (y[i + 1] + y[i + 2]) + y[i + 3]) / 8.0
            i += 3
        elif ulps_equal(width[i], width[i + 1]):
            total += width[i] * (y[i] + 4 * y[i + 1] + y[i + 2]) / 3.0
            i += 2
        else:
            total += width[i] * (y[i] + y[i + 1]) / 2
            i += 1
    return total


@pytest.mark.parametrize("seed", range(6))
def test_integ_takes_ngspice_rules_run_by_run_and_where_widths_drift(seed):
    """Runs of 1..7 equal widths between odd ones, and (odd seeds) widths drifting by 60 ulps
    a step, so that neighbours are equal but not every pair in a run is."""
    rng = np.random.default_rng(seed)
    widths = np.concatenate([np.full(rng.integers(1, 8), rng.uniform(1, 2)) for _ in range(60)])
    if seed % 2:
        widths = widths.view(np.int64) + 60 * np.arange(widths.size)
        widths = widths.view(np.float64)
    x = np.concatenate([[0.0], np.cumsum(widths)])
    y = np.sin(x / 7) + 0.1 * rng.standard_normal(x.size)
    assert mm.integral(x, y) == pytest.approx(_ngspice_integral(list(x), list(y)), rel=1e-13)


# A divider: v(b,c) = r2 / (r1 + r2 + r3) * v1, exactly, and in a transient its final value.
DIVIDER = """divider
.param r2=1k
V1 a 0 dc 1 pulse(0 1 0 1n 1n 10n 20n)
R1 a b 1k
R2 b c {r2}
R3 c 0 2k
.end
"""


@pytest.mark.parametrize("analysis", ["op", {"tran": {"step": "0.1n", "stop": "5n"}}])
def test_a_vector_output_of_two_nodes_is_their_difference(tmp_path, analysis):
    r2 = [1e3, 3e3]
    outputs = {"d": {"vector": "v(b, c)", "unit": "V"}, "dn": {"vector": "V(c,b)"}, "c": {"vector": "v(c,0)"},
               "i": {"vector": "i(v1)"}}
    ours, messages, status = sweep_outputs(tmp_path, DIVIDER, {"analysis": analysis, "parameters": {"r2": r2},
                                                               "outputs": outputs})
    assert list(status) == [0, 0], messages
    expected = np.array([r / (3e3 + r) for r in r2])
    assert ours["d"] == pytest.approx(expected, rel=1e-9)
    assert ours["dn"] == pytest.approx(-expected, rel=1e-9)
    assert ours["c"] == pytest.approx([2e3 / (3e3 + r) for r in r2], rel=1e-9)
    assert ours["i"] == pytest.approx([-1 / (3e3 + r) for r in r2], rel=1e-9)
    assert ours["_units"]["d"] == "V"


@pytest.mark.parametrize("vector, message", [
    ("v(b,c", r"outputs.d.vector: 'v\(b,c' is not a vector \(v\(node\), v\(a,b\), i\(source\)"),
    ("v(b,c,a)", r"outputs.d.vector: 'v\(b,c,a\)' is not a vector"),
    ("vdb(b)", r"outputs.d.vector: .*vdb\(b\): vdb\(\) reads complex results, from ac only"),
    ("v(0)", r"outputs.d.vector: v\(0\) is ground, 0 V at every point"),
])
def test_a_bad_vector_output_is_one_line_naming_it(tmp_path, vector, message):
    (tmp_path / "d.cir").write_text(DIVIDER)
    with pytest.raises(SpecError, match=message) as caught:
        parse_sweep_spec({"netlist": "d.cir", "parameters": {"r2": [1e3]}, "outputs": {"d": {"vector": vector}}},
                         source=str(tmp_path / "s.yaml"))
    assert "\n" not in str(caught.value)


def test_a_vector_of_a_node_the_netlist_lacks_stops_the_sweep_naming_it(tmp_path):
    with pytest.raises(SpecError, match=r"bench.yaml: outputs.d: v\(zz\) not in the netlist's vectors") as caught:
        sweep_outputs(tmp_path, DIVIDER, {"parameters": {"r2": [1e3]}, "outputs": {"d": {"vector": "v(b,zz)"}}})
    assert "\n" not in str(caught.value)


def test_a_measurement_of_a_missing_vector_names_the_output_the_vector_and_the_nearest(tmp_path, capsys):
    """The path a user takes: ``cimspice sweep spec.yaml`` with a typo in a .meas line's node."""
    from cimspice.cli import main

    (tmp_path / "ladder.cir").write_text(TRAN)
    (tmp_path / "spec.yaml").write_text(
        "netlist: ladder.cir\nanalysis: {tran: {step: 10p, stop: 40n}}\nparameters: {r: [1000, 1500]}\n"
        "outputs:\n  v_end: {vector: v(end)}\n"
        "  t_pd: {meas: tran TRIG v(in) VAL=0.5 RISE=1 TARG v(outt) VAL=0.5 RISE=1}\n")
    assert main(["sweep", str(tmp_path / "spec.yaml"), "-o", str(tmp_path / "out.h5"), "--no-progress"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert err.startswith(f"cimspice: {tmp_path / 'spec.yaml'}: outputs.t_pd: v(outt) not in the netlist's vectors; "
                          "did you mean v(out)? (6 vectors: v(out), "), err
    assert not (tmp_path / "out.h5").exists()
