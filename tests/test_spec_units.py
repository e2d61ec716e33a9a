"""Units and values in sweep specs: a declared unit reaches the sweep file, SPICE numbers are
read as ngspice reads them (ngspice itself is the oracle), misspelt keys get a close match."""

from __future__ import annotations

import re
import subprocess
import tempfile
from pathlib import Path

import h5py
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import cimspice
from cimspice import CimspiceError
from cimspice.characterize import SpecError, load_sweep_spec, parse_sweep_spec
from cimspice.sim.errors import SimError
from cimspice.sim.spec import load_system_spec
from cimspice.validate import spice_number

DIVIDER = "divider\n.param r2=1k vin=600mV\nV1 a 0 dc {vin}\nR1 a b 1k\nR2 b 0 {r2}\n.end\n"
SPEC = """netlist: div.cir
parameters:
  r2: {values: [1k, 3k], unit: ohm}
  vin: {start: 0, stop: 600m, num: 3}
analysis: {tran: {step: 1n, stop: 10n}}
outputs:
  v_out: {vector: "v(b)", unit: V}
timeout: 30
"""


def test_declared_units_and_spice_numbers_reach_the_sweep_file(tmp_path):
    (tmp_path / "div.cir").write_text(DIVIDER)
    (tmp_path / "spec.yaml").write_text(SPEC)
    summary = cimspice.run_sweep(tmp_path / "spec.yaml", tmp_path / "out.h5", progress=False)
    assert summary.counts["failed"] == 0
    with h5py.File(tmp_path / "out.h5", "r") as f:
        units = {name: f["inputs"][name].attrs["units"] for name in f["inputs"]}
        r2, vin, v_out = f["inputs/r2"][...], f["inputs/vin"][...], f["outputs/v_out"][...]
        assert f["outputs/v_out"].attrs["units"] == "V"
    # r2 from the spec, vin from its .param value "600mV"
    assert units == {"r2": "ohm", "vin": "V"}
    np.testing.assert_array_equal(r2, [1e3] * 3 + [3e3] * 3)
    np.testing.assert_array_equal(vin, [0.0, 0.3, 0.6] * 2)
    np.testing.assert_allclose(v_out, vin * r2 / (1e3 + r2), rtol=1e-9, atol=1e-15)


def _netlist_spec(tmp_path, parameters, outputs=None) -> dict:
    (tmp_path / "div.cir").write_text(DIVIDER)
    return {"netlist": str(tmp_path / "div.cir"), "parameters": parameters,
            "outputs": outputs or {"v_out": {"vector": "v(b)", "unit": "V"}}}


@pytest.mark.parametrize("parameters, message", [
    # the netlist says vin is in V ("600mV")
    ({"vin": {"values": [0.1], "unit": "mV"}}, "parameters.vin.unit: 'mV' but div.vin is in 'V'"),
    ({"r2": {"values": [1e3], "unit": 3}}, "parameters.r2.unit: expected a unit symbol such as 'V', got 3"),
])
def test_a_conflicting_or_malformed_unit_is_refused_in_one_line(tmp_path, parameters, message):
    with pytest.raises(SpecError) as info:
        parse_sweep_spec(_netlist_spec(tmp_path, parameters), source="spec.yaml")
    assert str(info.value) == f"spec.yaml: {message}"


def test_spice_numbers_give_the_same_spec_hash_as_plain_ones(tmp_path):
    plain = {"circuit": "cell_1t1r", "circuit_args": {"w": 4.5e-7},
             "parameters": {"g": {"start": 1e-6, "stop": 1e-4, "num": 3}, "v_bl": [0.05, 0.2], "v_wl": 1.1},
             "temperatures": [27, 125], "timeout": 30}
    spice = {"circuit": "cell_1t1r", "circuit_args": {"w": "450n"},
             "parameters": {"g": {"start": "1u", "stop": "100uS", "num": 3}, "v_bl": ["50m", "200mV"],
                            "v_wl": "1.1V"}, "temperatures": ["27", 125], "timeout": "30s"}
    a, b = parse_sweep_spec(plain), parse_sweep_spec(spice)
    assert b.circuit.w == 4.5e-7 and b.timeout == 30.0 and b.sha256 == a.sha256
    net = _netlist_spec(tmp_path, {"r2": [1e3, 2e3]})
    one = parse_sweep_spec({**net, "analysis": {"tran": {"step": 1e-9, "stop": 1e-8}}})
    two = parse_sweep_spec({**net, "analysis": {"tran": {"step": "1n", "stop": "10ns"}}})
    assert two.circuit.analysis_values() == {"tran": {"step": 1e-9, "stop": 1e-8}} and two.sha256 == one.sha256


@pytest.mark.parametrize("change, message", [
    ({"parameters": {"v_bl": {"values": ["0.1.2"]}}}, "parameters.v_bl.values: expected a number in V "
     "(e.g. 0.6, 600m, 1.2u, 10meg), got '0.1.2'"),
    ({"parameters": {"v_bl": {"start": "1k5", "stop": 0.3, "num": 2}}}, "parameters.v_bl.start: expected a number "
     "in V (e.g. 0.6, 600m, 1.2u, 10meg), got '1k5'"),   # ngspice reads 1000, not 1500
    ({"parameters": {"v_bl": "2mil"}}, "parameters.v_bl: '2mil' is ambiguous: ngspice reads 'mil' as 25.4u in a "
     "device value and as milli in a .param; write 5.08e-05 or 0.002"),
    ({"circuit_args": {"w": "450nn1"}}, "circuit_args.w: expected a number (e.g. 0.6, 600m, 1.2u, 10meg), got "
     "'450nn1'"),
    ({"temperatures": ["1e999"]}, "temperatures: expected a finite number in degC, got '1e999'"),
])
def test_a_bad_spice_number_names_the_file_field_and_text(change, message):
    data = {"circuit": "cell_1t1r", "parameters": {"v_wl": [1.0, 1.1]}, **change}
    with pytest.raises(SpecError) as info:
        parse_sweep_spec(data, source="spec.yaml")
    assert str(info.value) == f"spec.yaml: {message}"


# ----------------------------------------------------------------- ngspice as the oracle
def ngspice_values(texts: list[str]) -> tuple[list[float], list[float]]:
    """How ``ngspice -b`` reads each text as a device value and as a ``.param`` value: the
    resistances of ``r<i>`` (``text`` as written) and ``rp<i>`` (``{v<i>}``, ``.param v<i>=text``),
    printed with 17 digits. (A capacitor would take ``600mV`` for a model name, and a zero
    resistance becomes 1 mOhm: the texts are non-zero.)"""
    n = len(texts)
    lines = ["spice numbers"]
    lines += [f".param v{i}={t}" for i, t in enumerate(texts)]
    lines += [f"r{i} n{i} 0 {t}\nrp{i} m{i} 0 {{v{i}}}" for i, t in enumerate(texts)]
    lines += ["v0 n0 0 dc 0", ".control", "set numdgt=17", "op"]
    lines += [f"print @r{i}[resistance] @rp{i}[resistance]" for i in range(n)]
    lines += [".endc", ".end"]
    with tempfile.TemporaryDirectory() as folder:
        deck = Path(folder) / "numbers.cir"
        deck.write_text("\n".join(lines) + "\n")
        run = subprocess.run(["ngspice", "-b", str(deck)], capture_output=True, text=True, timeout=60, cwd=folder)
    found = dict(re.findall(r"^@(\w+)\[resistance\]\s*=\s*(\S+)", run.stdout, re.MULTILINE))
    assert len(found) == 2 * n, f"ngspice read {len(found)} of {2 * n} values:\n{run.stdout}\n{run.stderr}"
    return [float(found[f"r{i}"]) for i in range(n)], [float(found[f"rp{i}"]) for i in range(n)]


TABLE = ["600m", "1.2u", "10meg", "1MEG", "1Meg", "1k", "5n", "2p", "3f", "1g", "1t", "2.5T", "1G", "1.2uF",
         "600mV", "1mA", "7Hz", "10kohm", "1megohm", "3F", "1fF", "1e3k", "1E-3MEG", "1e-3m", ".5k", "5.k", "1.e2",
         "1e+2u", "-2p", "+3f", "0.25", "42", "1ms", "1me", "1e", "1x", "-0.5e-2"]


def test_spice_numbers_are_read_as_ngspice_reads_them():
    device, param = ngspice_values(TABLE)
    ours = [spice_number(t, "x") for t in TABLE]
    for text, mine, dev, par in zip(TABLE, ours, device, param):
        assert mine == pytest.approx(dev, rel=1e-15, abs=0) and mine == pytest.approx(par, rel=1e-15, abs=0), text


MANTISSAS = st.from_regex(r"\A[-+]?(?:[0-9]{1,4}(?:\.[0-9]{0,4})?|\.[0-9]{1,4})(?:[eE][-+]?[0-9]{1,2})?\Z")
NONZERO = MANTISSAS.filter(lambda m: re.search("[1-9]", m.lower().partition("e")[0]))
SCALES = st.sampled_from(["", "t", "g", "meg", "k", "m", "u", "n", "p", "f"]).flatmap(
    lambda s: st.sampled_from(sorted({s, s.upper(), s.capitalize()})))
UNITS = st.sampled_from(["", "V", "A", "F", "Hz", "ohm", "s", "W"])


@st.composite
def spice_texts(draw):
    scale = draw(SCALES)
    return draw(NONZERO) + scale + (draw(UNITS) if scale else "")


@settings(max_examples=3, deadline=None)
@given(st.lists(spice_texts(), min_size=40, max_size=40))
def test_generated_spice_numbers_agree_with_ngspice(texts):
    device, param = ngspice_values(texts)
    for text, dev, par in zip(texts, device, param):
        assert spice_number(text, "x") == pytest.approx(dev, rel=1e-15, abs=1e-300), text
        assert spice_number(text, "x") == pytest.approx(par, rel=1e-15, abs=1e-300), text


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_a_float_written_out_reads_back_exactly(x):
    assert spice_number(repr(x), "x") == x
    assert spice_number(repr(x).upper(), "x") == x
    assert spice_number(x, "x") == x


@given(MANTISSAS, st.sampled_from(["t", "g", "meg", "k", "m", "u", "n", "p", "f"]), UNITS)
def test_a_scale_is_a_shift_of_the_exponent_in_any_case_and_with_any_unit(mantissa, scale, unit):
    shift = {"t": 12, "g": 9, "meg": 6, "k": 3, "m": -3, "u": -6, "n": -9, "p": -12, "f": -15}[scale]
    number, _, exponent = mantissa.lower().partition("e")
    expected = float(f"{number}e{int(exponent or 0) + shift}")
    for text in (mantissa + scale, mantissa + scale.upper() + unit, mantissa.upper() + scale.capitalize() + unit):
        assert spice_number(text, "x") == expected, text


@given(st.text(min_size=1, max_size=12))
def test_any_text_is_a_number_or_a_one_line_refusal(text):
    try:
        assert np.isfinite(spice_number(text, "spec.yaml: parameters.v"))
    except CimspiceError as error:
        assert str(error).startswith("spec.yaml: parameters.v: ") and "\n" not in str(error)


# ----------------------------------------------------------------- did you mean
@pytest.mark.parametrize("data, message", [
    ({"circuit": "cell_1t1r", "parameters": {"v_bl": [0.1]}, "ouputs": ["i_cell"]},
     "unknown field(s) ouputs; did you mean 'outputs'?"),
    ({"circuit": "cell_1t1r", "parameters": {"v_bl": {"valeus": [0.1]}}},
     "parameters.v_bl: unknown key(s) valeus; did you mean 'values'?"),
    ({"circuit": "cell_1t1r", "parameters": {"v_bll": [0.1]}},
     "parameters: circuit cell_1t1r: unknown parameter 'v_bll' (known: g, v_bl, v_wl, v_sl, temp); "
     "did you mean 'v_bl'?"),
    ({"circuit": "cell_1t1r", "parameters": {"v_bl": [0.1]}, "outputs": ["i_cel"]},
     "outputs: circuit cell_1t1r: unknown measurement 'i_cel' (known: i_cell); did you mean 'i_cell'?"),
    ({"circuit": "cell_1t1", "parameters": {"v_bl": [0.1]}}, "did you mean 'cell_1t1r'?"),
    ({"circuit": "cell_1t1r", "circuit_args": {"ww": 4.5e-7}, "parameters": {"v_bl": [0.1]}},
     "circuit: circuit cell_1t1r: unknown argument 'ww' (known: w, l, corner); did you mean 'w'?"),
])
def test_a_misspelt_key_gets_the_close_match(data, message):
    with pytest.raises(SpecError) as info:
        parse_sweep_spec(data, source="spec.yaml")
    assert str(info.value).startswith("spec.yaml: ") and str(info.value).endswith(message)


@pytest.mark.parametrize("change, message", [
    ({"outputs": {"v_out": {"vector": "v(b)", "units": "V"}}},
     "outputs.v_out: unknown key(s) units; did you mean 'unit'?"),   # was dropped: the file had no unit
    ({"analysis": {"tran": {"stpe": 1e-9, "stop": 1e-8}}},
     "analysis.tran: unknown 'stpe'; missing step; did you mean 'step'?"),
    ({"analysis": {"trans": {"step": 1e-9, "stop": 1e-8}}}, "analysis: 'trans' is not one of op, dc, ac, noise, tran; "
     "did you mean 'tran'?"),
])
def test_a_misspelt_netlist_key_gets_the_close_match(tmp_path, change, message):
    data = {**_netlist_spec(tmp_path, {"r2": [1e3]}), **change}
    with pytest.raises(SpecError) as info:
        parse_sweep_spec(data, source="spec.yaml")
    assert str(info.value) == f"spec.yaml: {message}"


def test_the_system_spec_reader_gives_the_same_hint(tmp_path):
    (tmp_path / "system.yaml").write_text("name: mine\nadc: {bitz: 6}\n")
    with pytest.raises(SimError) as info:
        load_system_spec(tmp_path / "system.yaml")
    assert str(info.value) == f"{tmp_path / 'system.yaml'}: adc.bitz: unknown field; did you mean 'bits'?"


def test_a_spec_file_error_is_one_line_with_the_hint(tmp_path):
    (tmp_path / "spec.yaml").write_text("circuit: cell_1t1r\nparameters:\n  v_bl: [100m]\ndesing: grid\n")
    with pytest.raises(SpecError) as info:
        load_sweep_spec(tmp_path / "spec.yaml")
    assert str(info.value) == f"{tmp_path / 'spec.yaml'}: unknown field(s) desing; did you mean 'design'?"
