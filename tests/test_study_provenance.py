"""Where a study's numbers come from: what :mod:`cimspice.studies.provenance` records while a
study runs (library keys looked up, cited constants read, ngspice analyses and the model files
their decks include, system simulations) and the report header it writes from that."""

from __future__ import annotations

import pytest

from cimspice.paths import netlist_path
from cimspice.sim import costs as raw
from cimspice.spice.engine import Engine
from cimspice.studies.provenance import RecordedLibrary, collected, collecting, costs, simulate
from cimspice.studies.report import Report


def test_a_library_records_only_the_keys_looked_up():
    lib = RecordedLibrary({"a.x": 1, "a.y": 2, "b.z": 3}, "lib.h5")
    with collecting() as src:
        assert "b.z" in lib and sorted(lib) == ["a.x", "a.y", "b.z"]   # listing and membership are no reads
        assert lib["a.x"] == 1 and lib.get("a.y") == 2
    assert src.reads == {"lib.h5": {"a.x", "a.y"}}
    assert lib["b.z"] == 3 and src.reads == {"lib.h5": {"a.x", "a.y"}}   # outside a study: not recorded


def test_cited_constants_are_recorded_with_their_sources():
    with collecting() as src:
        assert costs.NONLINEAR_ENERGY == raw.NONLINEAR_ENERGY
        assert costs.HOROWITZ["add8"] == raw.HOROWITZ["add8"]
        assert costs.adc_energy(6) == pytest.approx(raw.ADC8_ENERGY / 4)   # scaled from the 8-bit figure
        assert costs.NONLINEAR_UNITS == 2
    assert src.cited["costs.NONLINEAR_ENERGY"]["source"] == raw.NONLINEAR_ENERGY.source
    assert "costs.HOROWITZ['add8']" in src.cited and "costs.HOROWITZ['mult8']" not in src.cited
    assert src.cited["costs.ADC8_ENERGY"]["scalings"] == {"x 2**(6 - 8)"}
    assert src.settings == {"costs.NONLINEAR_UNITS": 2}


def test_ngspice_analyses_and_the_model_files_they_include_are_counted(engine):
    deck = (f'one cell\n.include "{netlist_path("reram_jetcas.lib")}"\nv1 a 0 0.1\n'
            "xr1 a 0 reram_jetcas g=16n\n.end\n")
    original = Engine.run
    with collecting() as src:
        engine.load(deck, source="one cell")
        engine.op(["i(v1)"])
        engine.op(["i(v1)"])
    engine.op(["i(v1)"])                      # after the study: not counted, the engine's own run back
    assert Engine.run is original
    assert src.ngspice == {("one cell", "op"): 2}
    assert {"netlists/reram_jetcas.lib", "netlists/reram.lib"} <= src.models   # nested include followed
    assert f"ngspice** {engine.version}" in src.markdown() and "one cell (2 op)" in src.markdown()


def test_a_simulation_records_its_cited_prices_and_no_library():
    with collecting() as src:
        result = simulate("ideal", "mlp", n_samples=4)
    assert src.simulations == {("mlp", result.system, 4): 1}
    priced = {r["constant"] for rs in result.costs.sources["energy"].values() for r in rs if r["kind"] == "cited"}
    assert priced and priced <= set(src.cited)
    assert not src.reads and "**Component library**: none read." in src.markdown()


def test_report_header_lists_what_the_run_read_and_nothing_typed(tmp_path):
    @collected
    def study():
        RecordedLibrary({"wl_driver.energy_driver": 1.0}, "lib.h5")["wl_driver.energy_driver"]
        float(costs.BUFFER_BIT_ENERGY)
        return Report("A study", tmp_path).write("- setup", 1.0)

    head = study().read_text().split("## Setup")[0]
    assert "`costs.BUFFER_BIT_ENERGY` = 6.74e-14" in head and f"[{raw.ISAAC}]" in head
    assert "`wl_driver` (energy_driver)" in head and "no live runs in this study" in head
    assert "circuits simulated in ngspice" not in head     # the old header's typed claim
    undecorated = Report("Another", tmp_path / "b").write("- setup", 1.0).read_text()
    assert "not collected" in undecorated
