"""Provenance of every figure of ``cimspice simulate``, ``results.json``, and library corners.

The characterized figures come from real ngspice sweeps of the StrongARM comparator's energy
(the mechanism is the same for any ADC energy surrogate), fitted the way a user would; the
oracles are the papers' figures written out here, the events counted by hand for a
one-layer network, and the library's own tables evaluated with ``predict``.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from cimspice.characterize import parse_sweep_spec, run_sweep
from cimspice.cli import main
from cimspice.sim import SimError, costs
from cimspice.sim.layers import Dense
from cimspice.sim.network import Sequential
from cimspice.sim.results import engineering
from cimspice.sim.simulate import simulate
from cimspice.sim.spec import load_system_spec
from cimspice.surrogate import fit_surrogates, load_library, save_library

KEY = "strongarm.energy"
VDD = 1.05          # V, the operating point the ADC energy is read at


def _library(path, num, **sweep):
    spec = parse_sweep_spec({"circuit": "strongarm", "circuit_args": {"measure_offset": False}, "design": "grid",
                             "outputs": ["energy"], "parameters": {"vdd": {"start": 0.95, "stop": 1.15, "num": num}},
                             **sweep})
    run_sweep(spec, path.with_suffix(".sweep.h5"), executor="inline", progress=False)
    save_library(path, fit_surrogates(path.with_suffix(".sweep.h5"), models=["grid-linear"]))
    return path


@pytest.fixture(scope="module")
def plain_library(tmp_path_factory):
    """strongarm.energy(vdd), no corners, characterized at the nominal 27 degC."""
    return _library(tmp_path_factory.mktemp("plain") / "lib.h5", 4)


@pytest.fixture(scope="module")
def corner_library(tmp_path_factory):
    """strongarm.energy@tt and @ss, each over (vdd, temp in 27..85 degC)."""
    return _library(tmp_path_factory.mktemp("corners") / "lib.h5", 3, corners=["tt", "ss"], temperatures=[27, 85])


def _adc_spec(library, **top):
    """`ideal` with 6-bit ADCs priced by the characterized energy (10-bit partial sums cited)."""
    return load_system_spec("ideal").updated({"adc": {"bits": 6, "partial_sum_bits": 10, "energy": {6: KEY},
                                                      "energy_at": {"vdd": VDD}},
                                              "library": str(library), "array": {"rows": 32, "cols": 32}, **top})


def _numbers(value):
    """Every number in a JSON tree."""
    if isinstance(value, dict):
        return [n for v in value.values() for n in _numbers(v)]
    if isinstance(value, list):
        return [n for v in value for n in _numbers(v)]
    return [value] if isinstance(value, (int, float)) and not isinstance(value, bool) else []


def test_results_json_has_every_field_and_every_figure_its_source(tmp_path, capsys):
    assert main(["simulate", "ideal", "--network", "mlp", "--samples", "40", "--seeds", "2", "--adc-bits",
                 "-o", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    r = json.loads((tmp_path / "results.json").read_text())
    components = ["arrays", "drivers", "sense", "adc", "nonlinear", "digital", "buffers"]
    assert list(r["energy_j"]) == [*components, "total"] and list(r["area_m2"]) == [*components, "total"]
    assert set(r["latency_s"]) == {"arrays", "digital", "nonlinear", "total"}
    assert set(r["metric"]) >= {"name", "float", "analog"} and r["metric"]["name"] == "accuracy"
    assert set(r["characterized_fraction"]) == {"energy", "latency", "area"}
    assert (r["system"], r["network"], r["n_samples"], r["seeds"]) == ("ideal", "mlp", 40, [0, 1])
    assert r["library"] is None and r["cimspice_version"] and r["schema"] == "cimspice.results"
    assert all(math.isfinite(n) for n in _numbers(r))
    for quantity, unit in (("energy", "energy_j"), ("latency", "latency_s"), ("area", "area_m2")):
        for comp, value in r[unit].items():
            if comp == "total":
                assert value == pytest.approx(sum(v for k, v in r[unit].items() if k != "total"), rel=1e-12, abs=0)
                continue
            records = r["sources"][quantity].get(comp, [])
            # every nonzero figure is made of sourced parts (means over the two seeds included)
            assert sum(rec["value"] for rec in records) == pytest.approx(value, rel=1e-12, abs=1e-30)
            assert all(rec["kind"] in ("cited", "characterized", "computed", "spec") for rec in records)
    # no library: every figure is cited, a spec value, or computed from the spec's own cell law
    assert r["characterized_fraction"] == {"energy": 0.0, "latency": 0.0, "area": 0.0}
    adc = r["sources"]["energy"]["adc"]
    assert adc[0]["constant"] == "costs.ADC8_ENERGY" and adc[0]["source"].startswith("ISAAC (Shafiee et al.")
    arrays = r["sources"]["energy"]["arrays"][0]
    assert arrays["kind"] == "computed" and arrays["from"] == "sum V*I*t_read of the simulated array currents"
    # the printed table: a source column and engineering units, no raw floats
    energy_rows = out.split("energy per inference")[1].split("latency per inference")[0]
    assert "source" in out and "cited ADC8_ENERGY" in energy_rows and "computed sum V*I*t_read" in energy_rows
    assert "e-0" not in energy_rows and engineering(r["energy_j"]["total"], "J") in energy_rows


def test_characterized_fraction_is_the_characterized_components_share(plain_library, tmp_path):
    result = simulate(_adc_spec(plain_library), "mlp", n_samples=40, output=tmp_path)
    r = json.loads((tmp_path / "results.json").read_text())
    records = [rec for recs in r["sources"]["energy"].values() for rec in recs]
    by_hand = sum(rec["value"] for rec in records if rec["kind"] == "characterized") / r["energy_j"]["total"]
    assert r["characterized_fraction"]["energy"] == pytest.approx(by_hand, rel=1e-12, abs=0)
    # and that share is the 6-bit conversions at the library's energy, nothing else
    e = float(load_library(plain_library)[KEY].predict({"vdd": [VDD]})[0])
    conversions = result.costs.events["adc:6"]
    assert 0 < by_hand < 1
    assert by_hand == pytest.approx(conversions * e / r["energy_j"]["total"], rel=1e-9, abs=0)
    (characterized,) = [rec for rec in records if rec["kind"] == "characterized"]
    assert characterized["key"] == KEY and characterized["library"] == str(plain_library)
    assert characterized["at"] == {"vdd": VDD} and characterized["temp"] == 27.0
    assert r["library"]["sha256"] and len(r["library"]["sha256"]) == 64


def test_one_layer_energy_is_the_hand_summed_events_times_the_cited_figures(tmp_path):
    rng = np.random.default_rng(4)
    W = rng.normal(size=(8, 3))
    x = rng.uniform(0.1, 1.0, (5, 8))
    x[:, 0] = 0.0                               # a row at 0 V is not driven
    x_cal = rng.uniform(0.0, 1.0, (50, 8))
    net = Sequential("one", [Dense("fc", W)])
    simulate("ideal", net, (x, np.zeros(5, int), x_cal), output=tmp_path)
    r = json.loads((tmp_path / "results.json").read_text())
    # ideal: continuous DAC inputs (priced as 8 bits), ideal ADCs (priced as 16 bits), one
    # 64x64 array, differential pairs of one slice: 3 conversions per inference
    adc16 = 16e-3 / (8 * 1.28e9) * 2 ** 8                 # ISAAC 8-bit figure x 2**(16-8), Walden
    dac8 = 4e-3 * 100e-9 / (8 * 128) * 2 ** 7             # ISAAC 1-bit pulse x 2**(8-1)
    sample = 10e-6 * 100e-9 / (8 * 128)                   # ISAAC sample-and-hold
    shift_add = 0.2e-3 / (8 * 1.28e9)                     # ISAAC
    add = 0.4e-12                                         # Horowitz fp16 add (the bias)
    buffer_bit = 20.7e-3 / (256 * 1.2e9)                  # ISAAC eDRAM
    # array: sum V^2 (G+ + G-) t_read, V = x / x_max * v_read, |W|/w_max on one cell of each pair
    g_on, g_off, v_read, t_read = 100e-6, 1e-6, 0.2, 100e-9
    G = 2 * g_off + np.abs(W) / np.abs(W).max() * (g_on - g_off)
    v = x / x_cal.max() * v_read
    arrays = float(np.sum(v ** 2 @ G)) * t_read / len(x)
    expected = {"arrays": arrays, "drivers": 7 * dac8, "sense": 3 * sample, "adc": 3 * adc16,
                "digital": 3 * shift_add + 3 * add, "buffers": (8 + 3) * 16 * buffer_bit, "nonlinear": 0.0}
    for comp, value in expected.items():
        assert r["energy_j"][comp] == pytest.approx(value, rel=1e-9, abs=1e-30), comp
    assert r["energy_j"]["total"] == pytest.approx(sum(expected.values()), rel=1e-9, abs=0)
    # one read of t_read (it outlasts 3 conversions at 1.28 GS/s) and 6 digital operations on 16 lanes
    assert r["latency_s"]["total"] == pytest.approx(t_read + 6 / (16 * 1.2e9), rel=1e-12, abs=0)
    assert r["events"]["time:read"] == pytest.approx(t_read, abs=0) and r["events"]["adc:None"] == 3
    assert r["sources"]["latency"]["arrays"] == [{"kind": "spec", "field": "array.t_read", "setting": t_read,
                                                  "value": pytest.approx(t_read, abs=0)}]


def test_corner_reads_the_corner_tables_at_the_temperature(corner_library):
    lib = load_library(corner_library)
    e = {c: float(lib[f"{KEY}@{c}"].predict({"vdd": [VDD], "temp": [85.0]})[0]) for c in ("tt", "ss")}
    assert abs(e["ss"] / e["tt"] - 1) > 0.01                          # the corners differ
    runs = {c: simulate(_adc_spec(corner_library, corner=c, temp=85), "mlp", n_samples=30) for c in ("tt", "ss")}
    adc = {c: [rec for rec in run.costs.sources["energy"]["adc"] if rec["kind"] == "characterized"][0]
           for c, run in runs.items()}
    assert adc["ss"]["value"] / adc["tt"]["value"] == pytest.approx(e["ss"] / e["tt"], rel=1e-9)
    assert runs["ss"].costs.events == runs["tt"].costs.events            # same work, other tables
    assert (adc["ss"]["key"], adc["ss"]["corner"], adc["ss"]["temp"]) == (f"{KEY}@ss", "ss", 85.0)


@pytest.mark.parametrize("top, match", [
    ({"corner": "ff"}, r"adc\.energy\.6: no table 'strongarm\.energy@ff'.*corners ss, tt.*"
                       r"cimspice library build --corners ff"),
    ({"corner": "ss", "temp": 150}, r"temp: 150 degC is outside 'strongarm\.energy@ss'.*\[27, 85\]"),
    ({}, r"surrogate 'strongarm\.energy' is not in the library.*at corners ss, tt"),
])
def test_missing_corner_or_temperature_is_refused_with_the_command_that_adds_it(corner_library, top, match):
    with pytest.raises(SimError, match=match) as error:
        simulate(_adc_spec(corner_library, **top), "mlp", n_samples=5)
    assert "\n" not in str(error.value)


def test_temperature_of_a_table_without_a_temp_input(plain_library):
    with pytest.raises(SimError, match=r"characterized at 27 degC only.*--temps 27,85"):
        simulate(_adc_spec(plain_library, temp=85), "mlp", n_samples=5)
    at_27 = simulate(_adc_spec(plain_library, temp=27), "mlp", n_samples=20)
    assert at_27.costs.total_energy == simulate(_adc_spec(plain_library), "mlp", n_samples=20).costs.total_energy


def test_a_temperature_without_a_corner_reads_the_nominal_corner(plain_library, corner_library, tmp_path):
    """A library with the nominal table and corner tables beside it (what a corner build adds):
    no corner and no temperature reads the nominal table; a temperature it was not
    characterized at reads the tt table there, and the source record says so."""
    both = tmp_path / "both.h5"
    save_library(both, {**load_library(plain_library), **load_library(corner_library)})
    nominal, hot = (simulate(_adc_spec(both, **top), "mlp", n_samples=20) for top in ({}, {"temp": 85}))
    assert nominal.costs.total_energy == simulate(_adc_spec(plain_library), "mlp", n_samples=20).costs.total_energy
    adc = [r for r in hot.costs.sources["energy"]["adc"] if r["kind"] == "characterized"][0]
    assert (adc["key"], adc["corner"], adc["temp"]) == (f"{KEY}@tt", "tt", 85.0)
    tt = float(load_library(corner_library)[f"{KEY}@tt"].predict({"vdd": [VDD], "temp": [85.0]})[0])
    nom = [r for r in nominal.costs.sources["energy"]["adc"] if r["kind"] == "characterized"][0]
    assert adc["value"] / nom["value"] == pytest.approx(
        tt / float(load_library(plain_library)[KEY].predict({"vdd": [VDD]})[0]), rel=1e-9)
    at_27 = simulate(_adc_spec(both, temp=27), "mlp", n_samples=20)      # the nominal table holds 27 degC
    assert [r for r in at_27.costs.sources["energy"]["adc"] if r["kind"] == "characterized"][0]["key"] == KEY


def test_corner_all_gives_one_table(corner_library, tmp_path, capsys):
    spec = tmp_path / "sys.yaml"
    spec.write_text(json.dumps(_adc_spec(corner_library).to_dict()))
    assert main(["simulate", str(spec), "--network", "mlp", "--samples", "20", "--corner", "all", "--temp", "85",
                 "-o", str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    rows = {line.split()[0]: line for line in out.splitlines()[2:]}
    assert set(rows) == {"ss", "tt"}
    for corner, row in rows.items():
        r = json.loads((tmp_path / "out" / corner / "results.json").read_text())
        assert (r["corner"], r["temp"]) == (corner, 85.0)
        assert engineering(r["energy_j"]["total"], "J") in row and engineering(r["latency_s"]["total"], "s") in row
        assert f"{r['metric']['analog']:.2%}" in row
    assert (tmp_path / "out" / "corners.txt").read_text().strip() == "\n".join(out.splitlines()[1:]).strip()
    assert main(["simulate", "ideal", "--network", "mlp", "--corner", "all", "-o", str(tmp_path / "x")]) == 1
    assert "corner" in capsys.readouterr().err


@pytest.mark.parametrize("value, unit, text", [
    (7.292e-08, "J", "72.9 nJ"), (1.5625e-12, "J", "1.56 pJ"), (1e-7, "s", "100 ns"), (9.9996e-7, "J", "1.00 uJ"),
    (6.48e-5, "s", "64.8 us"), (2.11e-9, "m^2", "2110 um^2"), (1.02e-8, "m^2", "0.0102 mm^2"),
    (0.0615e-6, "m^2", "0.0615 mm^2"), (0.0, "J", "0 J"), (-3e-12, "J", "-3.00 pJ"),
])
def test_engineering_units(value, unit, text):
    assert engineering(value, unit) == text


def test_every_cost_figure_cites_its_source():
    figures = {name: v for name, v in vars(costs).items() if isinstance(v, float) and name.isupper()}
    figures |= {f"{name}[{k!r}]": v for name, d in vars(costs).items() if isinstance(d, dict) and name.isupper()
                for k, v in d.items()}
    assert len(figures) > 30
    for name, figure in figures.items():
        assert isinstance(figure, costs.Cited) and figure.source, name
        record = figure.record()
        assert record["kind"] == "cited" and record["constant"].startswith("costs.") and record["figure"] == figure
    assert costs.ADC8_ENERGY.record() == {"kind": "cited", "constant": "costs.ADC8_ENERGY",
                                          "source": "ISAAC (Shafiee et al., ISCA 2016)", "figure": 16e-3 / (8 * 1.28e9)}
    six = costs.adc_energy(6).record()
    assert six["constant"] == "costs.ADC8_ENERGY" and "Walden" in six["source"] and "2**(6 - 8)" in six["scaling"]
