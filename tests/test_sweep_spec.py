"""Sweep specs: Monte Carlo, corners, temperatures, units, the spec hash, and netlist safety.
No simulation runs here; spec parsing loads nothing into ngspice."""

from __future__ import annotations

import os

import numpy as np
import pytest
import yaml

from cimspice.characterize import SpecError, load_sweep_spec, parse_sweep_spec, sweep_points
from cimspice.paths import netlist_path

DIVIDER = "divider\n.param r2=1k vin=1 d_lng=0\nV1 a 0 dc {vin}\nR1 a b 1k\nR2 b 0 {r2*exp(-d_lng)}\n.end\n"


@pytest.fixture
def divider(tmp_path):
    path = tmp_path / "div.cir"
    path.write_text(DIVIDER)
    return path


def mc_spec(divider, **change):
    data = {"netlist": str(divider), "design": "montecarlo", "samples": 4000, "seed": 11,
            "parameters": {"d_lng": {"sigma": 0.1, "mean": 0.02}, "vin": {"values": [0.5, 1.0, 2.0]}},
            "outputs": {"v_b": {"vector": "v(b)", "unit": "V"}}}
    data.update(change)
    return parse_sweep_spec(data, source=str(divider.parent / "spec.yaml"))


def test_montecarlo_draws_are_normal_seeded_and_crossed_with_the_grid(divider):
    spec = mc_spec(divider)
    points = sweep_points(spec)
    n = 4000
    assert len(points["d_lng"]) == 3 * n
    draws = points["d_lng"][:n]
    # The same N device instances at every grid point (sample fastest).
    for k in range(3):
        np.testing.assert_array_equal(points["d_lng"][k * n:(k + 1) * n], draws)
        assert np.all(points["vin"][k * n:(k + 1) * n] == [0.5, 1.0, 2.0][k])
    # Normal(0.02, 0.1): mean within 4 standard errors, sigma within 5 %, 68 % within 1 sigma.
    assert abs(draws.mean() - 0.02) < 4 * 0.1 / np.sqrt(n)
    assert draws.std(ddof=1) == pytest.approx(0.1, rel=0.05)
    assert np.mean(np.abs(draws - 0.02) < 0.1) == pytest.approx(0.6827, abs=0.03)
    # Drawn in Python from the recorded seed: reproducible, and a new seed gives new draws.
    np.testing.assert_array_equal(sweep_points(mc_spec(divider))["d_lng"], points["d_lng"])
    other = sweep_points(mc_spec(divider, seed=12))["d_lng"][:n]
    assert not np.allclose(other, draws)
    np.testing.assert_allclose(draws, 0.02 + 0.1 * np.random.default_rng(11).standard_normal(n))


def test_montecarlo_draws_outside_the_circuits_bounds_are_refused():
    data = {"circuit": "cell_1t1r", "design": "montecarlo", "samples": 2000, "seed": 1,
            "parameters": {"v_sl": {"sigma": 0.05}}}
    with pytest.raises(SpecError, match=r"spec.yaml: parameters.v_sl: draw -0.1\d* V \(-[23]\.\d sigma\) "
                                        r"outside the circuit's bounds \[-0.1, 0.3\] V"):
        parse_sweep_spec(data, source="spec.yaml")


@pytest.mark.parametrize("change, message", [
    ({"design": "grid", "parameters": {"v_bl": {"sigma": 0.01}}},
     "parameters.v_bl.sigma: a drawn parameter needs design 'montecarlo'"),
    ({"design": "montecarlo", "samples": 10, "parameters": {"v_bl": {"values": [0.1]}}},
     "needs at least one parameter with a sigma"),
    ({"design": "montecarlo", "parameters": {"v_sl": {"sigma": 0.001}}},
     "samples: design 'montecarlo' needs a positive integer"),
    ({"design": "montecarlo", "samples": 5, "parameters": {"v_sl": {"sigma": -0.01}}},
     "v_sl.sigma: -0.01 must be positive"),
    ({"design": "montecarlo", "samples": 5, "parameters": {"v_sl": {"sigma": "10m3"}}},
     "v_sl.sigma: expected a number in V (e.g. 0.6, 600m, 1.2u, 10meg), got '10m3'"),
    ({"corners": ["tt", "xx"]}, "corners: cell_1t1r: corner 'xx' is not one of tt, ff, ss"),
    ({"corners": ["tt", "tt"]}, "corners: expected a list of distinct corner names"),
    ({"corners": ["ss"], "circuit_args": {"corner": "ff"}}, "give the corner in circuit_args or in corners"),
    ({"temperatures": ["300K"]}, "temp: 300000 degC outside the circuit's bounds"),  # K is kilo in SPICE
    ({"temperatures": [-100]}, "temp: -100 degC outside the circuit's bounds [-40, 125] degC"),
    ({"temperatures": [27], "parameters": {"temp": {"values": [0.0]}}}, "either here or as parameters.temp"),
    ({"parameters": {"v_bl": {"values": ["0.1 V"]}}},
     "parameters.v_bl.values: expected a number in V (e.g. 0.6, 600m, 1.2u, 10meg), got '0.1 V'"),
    ({"parameters": {"temp": "27 C"}},
     "parameters.temp: expected a number in degC (e.g. 0.6, 600m, 1.2u, 10meg), got '27 C'"),
    ({"timeout": "10 s"}, "timeout: expected a number in s (e.g. 0.6, 600m, 1.2u, 10meg), got '10 s'"),
    ({"timeout": 0}, "timeout: 0 must be a positive number of seconds"),
    ({"analysis": "tran"}, "analysis: only a user netlist takes one"),
])
def test_bad_fields_name_the_file_and_field(change, message):
    data = {"circuit": "cell_1t1r", "parameters": {"v_bl": {"values": [0.1, 0.2]}}, "outputs": ["i_cell"]}
    data.update(change)
    with pytest.raises(SpecError, match="^spec.yaml: .*" + message.replace("(", r"\(").replace(")", r"\)")
                       .replace("[", r"\[").replace("]", r"\]")):
        parse_sweep_spec(data, source="spec.yaml")


def test_corners_and_temperatures_cross_every_point():
    spec = parse_sweep_spec({"circuit": "cell_1t1r", "corners": ["ss", "ff"], "temperatures": [0, 50],
                             "parameters": {"v_bl": {"values": [0.1, 0.2, 0.3]}, "v_wl": 0.9}})
    assert [c.corner for c in spec.circuits] == ["ss", "ff"]
    assert spec.circuits[0].netlist() != spec.circuits[1].netlist()
    p = sweep_points(spec)
    assert len(p["v_bl"]) == 2 * 2 * 3
    np.testing.assert_array_equal(p["corner"], np.repeat([0, 1], 6))
    np.testing.assert_array_equal(p["temp"], np.tile(np.repeat([0.0, 50.0], 3), 2))
    np.testing.assert_array_equal(p["v_bl"], np.tile([0.1, 0.2, 0.3], 4))
    assert np.all(p["v_wl"] == 0.9)


def test_spec_hash_ignores_formatting_but_not_content(tmp_path):
    (tmp_path / "model.lib").write_text("* a model\n.param rmod=2k\n")
    (tmp_path / "div.cir").write_text("divider\n.include model.lib\n.param r2=1k\nV1 a 0 dc 1\nR1 a b {rmod}\n"
                                      "R2 b 0 {r2}\n.end\n")
    text = ("netlist: div.cir  # the bench\ndesign: grid\nparameters:\n  r2: {start: 1000, stop: 3000, num: 3}\n"
            "outputs:\n  v: {vector: v(b), unit: V}\n")
    (tmp_path / "a.yaml").write_text(text)
    (tmp_path / "b.yaml").write_text(yaml.safe_dump({"outputs": {"v": {"unit": "V", "vector": "v(b)"}},
                                                     "parameters": {"r2": {"num": 3, "stop": 3.0e3, "start": 1.0e3}},
                                                     "netlist": "div.cir", "timeout": 5.0}))
    a, b = load_sweep_spec(tmp_path / "a.yaml"), load_sweep_spec(tmp_path / "b.yaml")
    assert a.text != b.text and a.sha256 == b.sha256  # comments, order, 1e3 vs 1000, timeout
    (tmp_path / "c.yaml").write_text(text.replace("num: 3", "num: 4"))
    assert load_sweep_spec(tmp_path / "c.yaml").sha256 != a.sha256
    # Editing an included model file changes the hash; moving the whole folder does not.
    (tmp_path / "model.lib").write_text("* a model\n.param rmod=2.2k\n")
    edited = load_sweep_spec(tmp_path / "a.yaml").sha256
    assert edited != a.sha256
    moved = tmp_path / "moved"
    moved.mkdir()
    for name in ("model.lib", "div.cir", "a.yaml"):
        os.rename(tmp_path / name, moved / name)
    assert load_sweep_spec(moved / "a.yaml").sha256 == edited


BENCH = "bench\n.param vin=1\nV1 a 0 dc {vin}\nR1 a 0 1k\n"


@pytest.mark.parametrize("body, message", [
    (BENCH + "shell touch /tmp/cimspice-pwned\n", "line 5: 'shell' is an ngspice command"),
    (BENCH + ".exec\nshell ls\n.endc\n", "line 5: .exec blocks are not allowed"),
    (BENCH + ".control\nop\n.endc\n", "line 5: .control blocks are not allowed"),
    (BENCH + ".include /etc/hostname\n", "line 5: include /etc/hostname lies outside the netlist's folder"),
    (BENCH + ".lib ../outside.lib tt\n", "line 5: include ../outside.lib (= "),
    (BENCH + ".include link.lib\n", r"include link.lib (= /.*/outside.lib) lies outside"),  # symlink, resolved
    (BENCH + ".include sub/nested.lib\n", "nested.lib: line 2: ngspice runs comment lines starting"),
    (BENCH + ".include missing.lib\n", "line 5: included file"),
])
def test_unsafe_netlists_are_refused(tmp_path, body, message):
    work = tmp_path / "work"
    (work / "sub").mkdir(parents=True)
    (tmp_path / "outside.lib").write_text("* outside\n.param q=1\n")
    (work / "link.lib").symlink_to(tmp_path / "outside.lib")
    (work / "sub" / "nested.lib").write_text("* nested\n*# shell touch /tmp/cimspice-pwned\n")
    (work / "bench.cir").write_text(body + ".end\n")
    with pytest.raises(SpecError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_sweep_spec({"netlist": str(work / "bench.cir"), "parameters": {"vin": {"values": [1.0]}},
                          "outputs": {"i": {"vector": "i(v1)", "unit": "A"}}}, source=str(work / "spec.yaml"))
    assert not os.path.exists("/tmp/cimspice-pwned")


def test_safe_includes_and_comments_are_accepted(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "r.lib").write_text("* shell and system in a comment are fine\n.param rr=2k ; exec here too\n")
    (tmp_path / "bench.cir").write_text(
        f"shell of a bench (the title is not a command)\n.include sub/r.lib\n.include \"{netlist_path('reram.lib')}\"\n"
        ".param vin=1\nV1 a 0 dc {vin}\nR1 a 0 {rr}\nxr a 0 reram g=10u\n.end\n")
    spec = parse_sweep_spec({"netlist": str(tmp_path / "bench.cir"), "parameters": {"vin": {"values": [1.0]}},
                             "outputs": {"i": {"vector": "i(v1)", "unit": "A"}}})
    assert [p.name for p in spec.circuit.parameters] == ["vin", "temp"]
