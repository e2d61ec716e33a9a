"""The shipped component library and the baseline system that runs on it (issue #17).

Oracles: the library's own surrogates evaluated here directly (not through the simulator),
event counts derived from the inputs by hand, fresh ngspice runs of a ``--quick`` rebuild, and
the build's own fingerprints of the current netlists and catalogue.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import yaml

from cimspice.characterize import parse_sweep_spec
from cimspice.library.blocks import CATALOGUE
from cimspice.library.provenance import block_fingerprint
from cimspice.paths import default_library_path
from cimspice.sim.errors import SimError
from cimspice.sim.network import Sequential
from cimspice.sim.simulate import simulate
from cimspice.sim.spec import load_system_spec
from cimspice.surrogate import load_blocks, load_library, read_sweep

SHIPPED = default_library_path()


@pytest.fixture(scope="module")
def shipped():
    return load_library(SHIPPED)


def test_shipped_library_is_small_and_holds_what_the_baseline_reads(shipped):
    assert SHIPPED.stat().st_size < 8e6
    spec = load_system_spec("baseline")
    keys = [key for _, key in spec.library_keys()]
    assert keys and all(k in shipped for k in keys)
    # the baseline's blocks, by role
    assert {"cell_1t1r.i_cell", "wl_driver.energy_driver", "adc_sar_6b.energy_per_conversion",
            "adc_sar_6b.t_conversion", "sample_hold.energy"} <= set(keys)


def test_shipped_library_is_current():
    """Every shipped block was built from today's netlists, model cards and catalogue: a
    change to any of them without `cimspice library build -o cimspice/library/default.h5`
    fails here (the build's own fingerprint, recomputed)."""
    stale = []
    for name, record in load_blocks(SHIPPED).items():
        block = CATALOGUE[name.partition("@")[0]]      # a corner build's record: block@corner
        made = block.sweep_specs(corners=record["corners"], temps=json.loads(record.get("build_temps", "[]")))
        specs = {kind: parse_sweep_spec(data, source=f"{name}/{kind}.yaml", text=yaml.safe_dump(data, sort_keys=False))
                 for kind, data in made.items()}
        if block_fingerprint(block, specs) != record["fingerprint"]:
            stale.append(name)
        assert record["quick"] is False and record["area"] > 0
    assert not stale, f"rebuild the shipped library: {stale} changed"


def _one_layer(n_in=32, n_out=6, n=20, seed=0):
    rng = np.random.default_rng(seed)
    net = Sequential.from_config("one", [{"type": "dense", "name": "fc"}],
                                 {"fc.W": rng.normal(size=(n_in, n_out)), "fc.b": np.zeros(n_out)}, {})
    x = rng.uniform(0, 1, size=(n, n_in))
    return net, x, rng.integers(0, n_out, n)


def test_one_layer_energy_is_the_hand_summed_library_energies(shipped):
    """Drivers and ADCs of a one-layer network: events counted by hand from the inputs, priced
    with the library's surrogates evaluated here at the spec's operating point."""
    net, x, y = _one_layer()
    result = simulate("baseline", net, (x, y, x))
    spec = result.spec
    op = spec.operating_point
    e_pulse = float(shipped["wl_driver.energy_driver"].predict(
        {"v_read": [spec.array.v_read], "c_row": [op["c_row"]], "vdd": [op["vdd"]]})[0])
    e_conv = float(shipped["adc_sar_6b.energy_per_conversion"].predict({"vdd": [op["vdd"]]})[0])
    e_sample = float(shipped["sample_hold.energy"].predict({"v_in": [op["v_in"]], "vdd": [op["vdd"]]})[0])
    # bit-serial: one pulse per 1 bit of each row's 8-bit code (range calibrated on x itself)
    codes = np.rint(x / x.max() * (2 ** spec.inputs.bits - 1)).astype(int)
    pulses = sum(bin(int(c)).count("1") for c in codes.ravel()) / len(x)
    # one conversion per differential column pair and slice, per input bit (inputs >= 0: one phase)
    conversions = net.matrices()["fc"].shape[1] * spec.mapping.slices * spec.inputs.bits
    assert result.costs.energy["drivers"] == pytest.approx(pulses * e_pulse, rel=1e-9, abs=0)
    assert result.costs.energy["adc"] == pytest.approx(conversions * e_conv, rel=1e-9, abs=0)
    # one column sample per conversion, beside the TIA's reads (tests/test_sense_circuit.py)
    sources = result.costs.sources["energy"]
    by_key = {r["key"]: r["value"] for r in sources["sense"]}
    assert set(by_key) == {"sample_hold.energy", "tia_array.energy_read"}
    assert by_key["sample_hold.energy"] == pytest.approx(conversions * e_sample, rel=1e-9, abs=0)
    assert result.costs.energy["sense"] == pytest.approx(sum(by_key.values()), rel=1e-12)
    assert [r["key"] for r in sources["drivers"]] == ["wl_driver.energy_driver"]
    assert [r["key"] for r in sources["adc"]] == ["adc_sar_6b.energy_per_conversion"]


def test_baseline_cnn_energy_is_mostly_characterized(tmp_path):
    out = tmp_path / "run"
    simulate("baseline", "cnn", n_samples=40, output=out)
    res = json.loads((out / "results.json").read_text())
    share = res["characterized_fraction"]
    assert share["energy"] >= 0.9, share
    library = str(SHIPPED)
    for component in ("drivers", "adc", "sense"):
        records = res["sources"]["energy"][component]
        assert all(r["kind"] == "characterized" and r["library"] == library for r in records), records
    area = res["sources"]["area"]
    assert area["adc"][0]["kind"] == "characterized" and area["adc"][0]["area_model"].startswith("cimspice.circuits")


@pytest.mark.parametrize("change, block", [({"adc": {"circuit": "adc_flash"}}, "adc_flash_6b"),
                                           ({"adc": {"circuit": "adc_ramp"}}, "adc_ramp_6b"),
                                           ({"inputs": {"driver": "row_dac"}}, "row_dac")])
def test_a_block_the_library_lacks_is_refused_with_the_command_that_adds_it(change, block):
    spec = load_system_spec("baseline").updated(change)
    net, x, y = _one_layer()
    with pytest.raises(SimError, match=rf"has no '{block}\.[a-z_]+'; add block {block} with `cp .*default\.h5 "
                                       rf"library\.h5 && cimspice library build -o library\.h5 --only {block}`"):
        simulate(spec, net, (x, y, x))


def test_a_stray_operating_point_name_is_refused():
    base = load_system_spec("baseline")
    spec = base.updated({"operating_point": {**base.operating_point, "vddd": 1.0}})
    net, x, y = _one_layer()
    with pytest.raises(SimError, match=r"operating_point: 'vddd' is not an input of any table of the library .*; "
                                       r"did you mean 'vdd'\?"):
        simulate(spec, net, (x, y, x))


@pytest.mark.slow
def test_quick_rebuild_agrees_with_the_shipped_surrogates(tmp_path, shipped):
    """A --quick build from scratch (fresh ngspice runs): the shipped surrogates predict its
    off-grid validation points within their own stated validation error."""
    from cimspice.library import build_library

    lib = tmp_path / "quick.h5"
    results = list(build_library(lib, only=["tia", "wl_driver"], quick=True, workers=1, progress=False))
    assert [r.status for r in results] == ["built", "built"], [str(r) for r in results]
    checked = 0
    for block in ("tia", "wl_driver"):
        sweep = read_sweep(tmp_path / "quick.h5.d" / block / "validation.h5")
        for output, truth in sweep.outputs.items():
            s = shipped[f"{block}.{output}"]
            predicted = np.ravel(s.predict({n: sweep.inputs[n] for n in s.inputs}))
            error_pct = 100 * np.max(np.abs(predicted - truth)) / float(s.validation["full_scale"][0])
            stated = float(s.validation["max_pct"][0])
            assert error_pct <= 1.5 * stated + 0.05, (block, output, error_pct, stated)
            checked += 1
    assert checked == 5


def test_baseline_converts_through_the_sars_measured_transitions(shipped):
    """The baseline's ADC is the 6-bit SAR's measured transfer: its absolute transitions,
    composed here from the library's bit weights and offsets at the spec's supply (the weight
    test: T_k = offset + decision_offset + sum_j b_j (2**j + e_j)), met in reverse order behind
    the inverting TIA (tests/test_sense_circuit.py)."""
    from cimspice.sim.backend import AnalogBackend
    from cimspice.sim.peripherals import MeasuredAdc

    backend = AnalogBackend("baseline")
    adc = backend.adc(6)
    vdd = backend.spec.operating_point["vdd"]

    def read(name):
        return float(shipped[f"adc_sar_6b.{name}"].predict({"vdd": [vdd]})[0])

    weights = 2.0 ** np.arange(6) + [read(f"weight_err_{j}") for j in range(1, 7)]
    codes = np.arange(1, 64)
    levels = read("offset") + read("decision_offset") + ((codes[:, None] >> np.arange(6)) & 1) @ weights
    assert isinstance(adc, MeasuredAdc)
    np.testing.assert_allclose(adc.inl, -(levels - codes)[::-1], rtol=0, atol=1e-12)
    # a real converter: it converts 0.05-0.2 LSB low (docs/validation.md), monotonic
    assert -0.2 < read("offset") + read("decision_offset") < -0.05
    assert np.all(np.diff(levels) > 0)


CORNERS = ("tt", "ff", "ss")


def test_shipped_library_holds_the_baseline_at_corners_beside_its_nominal_tables(shipped):
    """`library build --corners tt,ff,ss --temps -40,27,85,125` of the baseline's blocks: each
    key the baseline reads is there as named and at each corner, over -40..125 degC, with
    a record per corner."""
    records = load_blocks(SHIPPED)
    for _, key in load_system_spec("baseline").library_keys():
        assert key in shipped and "temp" not in shipped[key].inputs
        for corner in CORNERS:
            table = shipped[f"{key}@{corner}"]
            assert table.domain["temp"] == (-40.0, 125.0), key
            record = records[f"{key.split('.')[0]}@{corner}"]
            assert record["corner"] == corner and json.loads(record["build_temps"]) == [-40.0, 27.0, 85.0, 125.0]
            assert f"{key}@{corner}" in record["surrogates"]


@pytest.mark.parametrize("key", ["adc_sar_6b.energy_per_conversion", "sample_hold.energy", "wl_driver.energy_driver",
                                 "tia_array.v_out", "tia_array.energy_read", "cell_1t1r.i_cell"])
def test_tt_at_27_degC_is_the_nominal_table(shipped, key):
    """tt is the circuits' own corner: its table at 27 degC and the nominal table describe one
    circuit from two sweeps and fits; they agree within their two stated validation maxima."""
    nominal, tt = shipped[key], shipped[f"{key}@tt"]
    rng = np.random.default_rng(7)
    lo, hi = (np.array([nominal.domain[k][i] for k in nominal.inputs]) for i in (0, 1))
    X = {k: rng.uniform(lo[j], hi[j], 50) for j, k in enumerate(nominal.inputs)}
    diff = tt.predict({**X, "temp": np.full(50, 27.0)}) - nominal.predict(X)
    both = (nominal.validation["max_pct"][0] + tt.validation["max_pct"][0]) / 100 * nominal.validation["full_scale"][0]
    assert np.max(np.abs(diff)) <= both, (np.max(np.abs(diff)), both)


def test_a_corner_table_at_an_off_grid_temperature_against_fresh_ngspice(shipped, engine):
    """The oracle: the baseline's TIA run once more at the ss corner, 55 degC (between the
    grid's 27 and 85) and an off-grid current and supply; each table within twice its stated
    validation maximum."""
    from cimspice.circuits import get_circuit

    b = CATALOGUE["tia_array"]
    circuit = get_circuit(b.circuit, **b.args(), corner="ss")
    circuit.load(engine)
    for point in ({"i_in": 1.37e-4, "vdd": 1.17}, {"i_in": -2.21e-4, "vdd": 1.02}):
        truth = circuit.simulate(engine, {**point, **b.fixed, "temp": 55.0}).values
        for output in b.outputs:
            s = shipped[f"tia_array.{output}@ss"]
            pred = float(s.predict({k: [{**point, "temp": 55.0}[k]] for k in s.inputs})[0])
            err = 100 * abs(pred - truth[output]) / s.validation["full_scale"][0]
            assert err <= 2 * s.validation["max_pct"][0], (output, point, err)


def test_baseline_at_a_corner_reads_the_corner_tables(tmp_path):
    """`simulate baseline --corner ss --temp 85`: every characterized figure names its @ss
    table at 85 degC; the same network at tt 27 degC costs what the nominal run costs."""
    hot = simulate(load_system_spec("baseline").updated({"corner": "ss", "temp": 85}), "mlp", n_samples=30)
    records = [r for quantity in ("energy", "latency") for rs in hot.costs.sources[quantity].values() for r in rs
               if r["kind"] == "characterized"]
    assert records and all(r["key"].endswith("@ss") and r["corner"] == "ss" and r["temp"] == 85.0 for r in records)
    tt = simulate(load_system_spec("baseline").updated({"corner": "tt", "temp": 27}), "mlp", n_samples=30)
    nominal = simulate("baseline", "mlp", n_samples=30)
    assert tt.costs.total_energy == pytest.approx(nominal.costs.total_energy, rel=0.02)
    assert hot.costs.total_energy != pytest.approx(nominal.costs.total_energy, rel=1e-3)


def test_the_baseline_sense_is_read_from_dense_tables(shipped):
    """The baseline's TIA transfer and energy per read are tabulated (read by index
    arithmetic on every conversion), the energy, more curved, on a denser grid: without a
    table every read would call the grid-cubic surrogate (4x the CNN's inference time)."""
    from cimspice.sim.backend import AnalogBackend
    from cimspice.sim.readout import sense_energy

    sense = AnalogBackend(load_system_spec("baseline")).sense
    assert sense_energy(sense) is not None
    rng = np.random.default_rng(3)
    for surrogate in (sense.surrogate, sense.energy_surrogate):
        table = sense._table(surrogate)
        assert table is not None and table[-1] in sense._TABLE_POINTS
        lo, hi = surrogate.domain[surrogate.inputs[0]]
        i = rng.uniform(lo, hi, 2000)
        exact = np.asarray(surrogate.predict(i[:, None])).ravel()
        assert np.max(np.abs(sense._interp(i, table) - exact)) <= 2e-7 * np.ptp(exact)


def test_doc_rows_of_a_copied_library_count_each_corners_own_validation_points(tmp_path):
    """Where its validation sweeps are not beside the library, the doc table takes each
    surrogate's stored errors; a corner table's point count is its own, not its corner set's."""
    import shutil

    from cimspice.library.doctable import validation_rows

    copy = tmp_path / "a" / "b" / "c" / "d" / "e" / "default.h5"   # deep: no sweep path resolves from it
    copy.parent.mkdir(parents=True)
    shutil.copy(SHIPPED, copy)
    rows = {r["surrogate"]: r for r in validation_rows(copy)}
    records, surrogates = load_blocks(copy), load_library(copy)
    row, record = rows["wl_driver.settling_time@ff"], records["wl_driver@ff"]
    assert row["truth"] is None                                  # stored errors: no sweep beside the copy
    assert row["n_validation"] == surrogates["wl_driver.settling_time@ff"].validation["n_points"]
    assert row["n_validation"] * 3 == int(record["validation_points"])   # tt, ff and ss share the record's count
