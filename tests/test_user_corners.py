"""Corners of a user netlist: its `.lib FILE SECTION` lines swapped per corner, the shipped 45 nm
cards by themselves and the user's own model files through `corner_libs`; crossed with
temperatures and Monte Carlo. Oracle: `ngspice -b` on decks written with each section."""

from __future__ import annotations

import json

import h5py
import numpy as np
import pytest

from cimspice.characterize import SpecError, parse_sweep_spec, run_sweep
from cimspice.characterize.spec import montecarlo_draws
from cimspice.paths import netlist_path

# An NMOS on the shipped cards, named by their bare file name (found in netlists/).
NMOS = """nmos on
.lib ptm45.lib tt
.param vg=0.8 dvth=0
Vd d 0 dc 1.1
Vg g 0 dc {vg}
M1 d g 0 0 nmos_vtg w=450n l=50n delvto={dvth}
.end
"""
MODELS = """* three corners of a resistor
.lib typical
.param rmod=1k
.endl typical
.lib slow
.param rmod=2k
.endl slow
.lib fast
.param rmod=500
.endl fast
"""
OWN = "own models\n.lib models.lib typical\n.param vin=1\nV1 a 0 dc {vin}\nR1 a 0 {rmod}\n.end\n"


def _sweep(tmp_path, spec: dict, netlist: str, name: str = "bench"):
    (tmp_path / f"{name}.cir").write_text(netlist)
    parsed = parse_sweep_spec({"netlist": f"{name}.cir", **spec}, source=str(tmp_path / "spec.yaml"))
    run_sweep(parsed, tmp_path / f"{name}.h5", executor="inline", progress=False)
    return parsed, h5py.File(tmp_path / f"{name}.h5", "r")


def _oracle_deck(corner: str, temp: float, vg: float, dvth: float = 0.0) -> str:
    temp, vg, dvth = float(temp), float(vg), float(dvth)
    return NMOS.replace(".lib ptm45.lib tt", f'.lib "{netlist_path("ptm45.lib")}" {corner}\n.temp {temp!r}').replace(
        ".param vg=0.8 dvth=0", f".param vg={vg!r} dvth={dvth!r}")


def test_shipped_cards_swap_their_corner_sections(tmp_path, batch):
    spec, f = _sweep(tmp_path, {"corners": ["tt", "ff", "ss"], "temperatures": [-40, 125],
                                "parameters": {"vg": [0.6, 1.1]}, "outputs": {"i": {"vector": "i(vd)", "unit": "A"}}},
                     NMOS)
    with f:
        assert list(f["status"][...]) == [0] * 12
        current = -f["outputs/i"][...]
        corners, temps, vgs = f["inputs/corner"][...], f["inputs/temp"][...], f["inputs/vg"][...]
        netlists = json.loads(f.attrs["corner_netlists"])
    labels = ["tt", "ff", "ss"]
    for corner in labels:
        assert f'ptm45.lib" {corner}' in netlists[corner]
    for k in (0, 3, 5, 6, 9, 11):
        expected = -batch(_oracle_deck(labels[corners[k]], temps[k], vgs[k]), ["i(vd)"])["i(vd)"]
        assert current[k] == pytest.approx(expected, rel=1e-5)  # ngspice prints 6 digits
    on = current.reshape(3, 2, 2)[:, :, 1]  # (corner, temp) at vg = 1.1 V
    assert np.all(on[1] > on[0]) and np.all(on[0] > on[2])  # ff > tt > ss
    assert spec.corner_libs == {}


def test_own_model_files_swap_through_corner_libs(tmp_path):
    (tmp_path / "models.lib").write_text(MODELS)
    spec, f = _sweep(tmp_path, {"corners": ["tt", "ss", "ff"],
                                "corner_libs": {"models.lib": {"tt": "typical", "ss": "slow", "ff": "FAST"}},
                                "parameters": {"vin": [0.5, 1.0]}, "outputs": {"i": {"vector": "i(v1)", "unit": "A"}}},
                     OWN)
    with f:
        np.testing.assert_allclose(-f["outputs/i"][...], np.array([0.5, 1, 0.25, 0.5, 1, 2]) * 1e-3, rtol=1e-9)
    assert spec.normalized()["corner_libs"] == {"models.lib": {"tt": "typical", "ss": "slow", "ff": "FAST"}}


def test_corners_temperatures_and_monte_carlo_cross(tmp_path, batch):
    spec, f = _sweep(tmp_path, {"design": "montecarlo", "samples": 3, "seed": 11, "corners": ["ss", "ff"],
                                "temperatures": [27, 85], "parameters": {"vg": 0.8, "dvth": {"sigma": "20m"}},
                                "outputs": {"i": {"vector": "i(vd)", "unit": "A"}}}, NMOS)
    draws = montecarlo_draws(spec)["dvth"]
    with f:
        assert f.attrs["n_points"] == 12 and list(f["status"][...]) == [0] * 12
        current, sample = -f["outputs/i"][...], f["mc_sample"][...]
        corners, temps = f["inputs/corner"][...], f["inputs/temp"][...]
    for k in (1, 10):
        deck = _oracle_deck(["ss", "ff"][corners[k]], temps[k], 0.8, float(draws[sample[k]]))
        assert current[k] == pytest.approx(-batch(deck, ["i(vd)"])["i(vd)"], rel=1e-5)
    assert len(set(np.round(current[:3], 12))) == 3  # each sample is its own device


@pytest.mark.parametrize("netlist, change, message", [
    (NMOS, {"corners": ["tt", "fs"]},
     "corners: ptm45.lib has no section for corner 'fs' (give corner_libs: {ptm45.lib: {fs: SECTION}})"),
    (OWN, {"corners": ["tt", "ss"], "corner_libs": {"models.lib": {"tt": "typical", "ss": "slower"}}},
     "corner_libs.models.lib.ss: section 'slower' not in models.lib (its sections: typical, slow, fast)"),
    (OWN, {"corners": ["tt"]}, "corners: bench.cir has no .lib FILE SECTION line of a corner library to swap (the "
                               "shipped ptm45.lib swaps itself; map your own model files in corner_libs)"),
    (OWN, {"corner_libs": {"models.lib": {"tt": "typical"}}},
     "corner_libs: maps a user netlist's model files to the sections of its corners; give it with netlist and corners"),
    (NMOS, {"corners": ["tt"], "corner_libs": {"models.lib": {"tt": "typical"}}},
     "corner_libs.models.lib: the netlist has no .lib line of it to swap (only the deck's own lines are, not those "
     "of files it includes)"),
    (OWN, {"corners": ["tt"], "corner_libs": {"missing.lib": {"tt": "typical"}}},
     "corner_libs.missing.lib: no such file (looked in {folder} and the shipped netlists/)"),
])
def test_a_corner_that_cannot_be_swapped_is_refused_before_any_point(tmp_path, netlist, change, message):
    (tmp_path / "models.lib").write_text(MODELS)
    (tmp_path / "bench.cir").write_text(netlist)
    data = {"netlist": "bench.cir", "parameters": {"vin" if netlist is OWN else "vg": [1.0]},
            "outputs": {"i": {"vector": "i(v1)" if netlist is OWN else "i(vd)"}}, **change}
    with pytest.raises(SpecError) as info:
        parse_sweep_spec(data, source=str(tmp_path / "spec.yaml"))
    assert str(info.value) == f"{tmp_path / 'spec.yaml'}: {message.replace('{folder}', str(tmp_path))}"


def test_every_corner_section_passes_the_sandbox(tmp_path):
    """A corner section reading a file from outside the netlist's folder is refused, as any
    include is: the deck of every corner is checked."""
    (tmp_path / "lib").mkdir()
    (tmp_path / "outside.inc").write_text("* not to be read\n.param rmod=3k\n")
    (tmp_path / "lib" / "models.lib").write_text(MODELS + ".lib odd\n.include ../outside.inc\n.endl odd\n")
    (tmp_path / "lib" / "bench.cir").write_text(OWN)
    with pytest.raises(SpecError, match=r"include \.\./outside\.inc .* lies outside the netlist's folder"):
        parse_sweep_spec({"netlist": "bench.cir", "corners": ["tt", "odd"],
                          "corner_libs": {"models.lib": {"tt": "typical", "odd": "odd"}},
                          "parameters": {"vin": [1.0]}, "outputs": {"i": {"vector": "i(v1)"}}},
                         source=str(tmp_path / "lib" / "spec.yaml"))
