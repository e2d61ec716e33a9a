"""The row DAC as a library block (cimspice.library.dac_blocks) and the simulator's DAC inputs
priced from it code by code (cimspice.sim.dac_block).

Oracles: the catalogue's own ranges (integer nodes and draws), the code histogram counted
here from the inputs by hand and the shipped surrogates evaluated here directly, each
layer's row load summed here from the conductances the backend programmed, fresh ngspice
runs of the `dac` circuit. The tests that read ``dac_8b`` / ``dac_4b`` use the
shipped library (``library: default``): they need it rebuilt with those blocks
(``cimspice library build -o cimspice/library/default.h5``).
"""

from __future__ import annotations

import numpy as np
import pytest
from test_default_library import _one_layer  # 32 inputs in [0, 1), 6 outputs, 20 vectors

from cimspice.circuits.dac import RowDAC
from cimspice.library.blocks import CATALOGUE, Block
from cimspice.library.errors import LibraryError
from cimspice.paths import default_library_path
from cimspice.sim.accounting import summarise
from cimspice.sim.backend import AnalogBackend
from cimspice.sim.errors import SimError
from cimspice.sim.network import Sequential
from cimspice.sim.simulate import simulate
from cimspice.sim.spec import load_system_spec
from cimspice.surrogate import load_library

DAC8 = {"inputs": {"encoding": "dac", "bits": 8, "dac": "dac_8b"}}


@pytest.fixture(scope="module")
def shipped():
    return load_library(default_library_path())


# ---------------------------------------------------------------------------- the catalogue
def test_integer_code_nodes_and_off_grid_integer_validation_draws():
    block = CATALOGUE["dac_8b"]
    specs = block.sweep_specs()
    nodes = specs["train"]["parameters"]["code"]["values"]
    assert nodes[0] == 0 and nodes[-1] == 255 and all(isinstance(c, int) for c in nodes) and len(nodes) == 64
    drawn = specs["validation"]["parameters"]
    codes = np.array(drawn["code"]["values"])
    assert codes.size == block.samples and np.all(codes == np.rint(codes))
    assert not np.isin(codes, nodes).any() and codes.min() >= 0 and codes.max() <= 255
    # a Latin hypercube over the off-grid codes: 4 draws (+-1 where a stratum's edge falls
    # between two integers) in each tenth of them
    off = np.setdiff1d(np.arange(256), nodes)
    tenths = np.bincount(np.searchsorted(off, codes) * 10 // off.size, minlength=10)
    assert tenths.min() >= 3 and tenths.max() <= 5, tenths
    # the real-valued inputs are drawn off their nodes, inside their ranges
    for name in ("g_row", "vdd"):
        lo, hi, _, _ = block.ranges[name]
        values = np.array(drawn[name]["values"])
        assert np.all((values > lo) & (values < hi)) and np.unique(values).size == block.samples
    # every code of a 4-bit DAC is a node: its draws are integers on them
    four = CATALOGUE["dac_4b"].sweep_specs()
    assert four["train"]["parameters"]["code"]["values"] == list(range(16))
    assert set(four["validation"]["parameters"]["code"]["values"]) <= set(range(16))


@pytest.mark.parametrize("ranges, message", [
    ({"i_in": (0.0, 1e-4, 3, "linear")}, "integers names 'code', which is not one of its ranges"),
    ({"code": (0.5, 15, 4, "linear")}, "must run linearly between integers"),
    ({"code": (1, 15, 4, "log")}, "must run linearly between integers"),
    ({"code": (0, 3, 5, "linear")}, "at most one node per integer"),
])
def test_integer_axes_are_checked(ranges, message):
    with pytest.raises(LibraryError, match=message):
        Block("x", "dac", ranges=ranges, outputs=("energy",), why="", integers=("code",))


def test_blocks_without_integers_keep_their_definition():
    assert "integers" not in CATALOGUE["wl_driver"].definition()
    assert CATALOGUE["dac_8b"].definition()["integers"] == ("code",)


# ---------------------------------------------------------------------------- the circuit
def test_power_driver_prices_a_longer_hold(engine):
    """Holding a settled level 10 ns longer costs power_driver x 10 ns of energy_driver."""
    dac = RowDAC(8)
    dac.load(engine)
    point = {**CATALOGUE["dac_8b"].fixed, "code": 201, "g_row": 2e-3}
    short = dac.simulate(engine, point).values
    long = dac.simulate(engine, {**point, "t_conv": point["t_conv"] + 10e-9}).values
    assert long["energy_driver"] - short["energy_driver"] == pytest.approx(short["power_driver"] * 10e-9, rel=1e-3)
    assert 0 < short["power_driver"] < short["power"]


@pytest.mark.parametrize("block", ["dac_4b", "dac_8b"])
def test_surrogate_at_an_off_grid_code_matches_a_fresh_ngspice_run(block, shipped, engine):
    b = CATALOGUE[block]
    rng = np.random.default_rng(17)
    nodes = b.nodes("code")
    off = np.setdiff1d(np.arange(b.ranges["code"][1] + 1), nodes)
    code = int(rng.choice(off)) if off.size else int(rng.integers(0, b.ranges["code"][1] + 1))
    point = {"code": code, **{n: float(rng.uniform(*b.ranges[n][:2])) for n in ("g_row", "vdd")}}
    dac = RowDAC(**b.circuit_args)
    dac.load(engine)
    truth = dac.simulate(engine, {**b.fixed, **point}).values
    for output in b.outputs:
        s = shipped[f"{block}.{output}"]
        predicted = float(s.predict({n: [point[n]] for n in s.inputs})[0])
        error_pct = 100 * abs(predicted - truth[output]) / float(s.validation["full_scale"][0])
        assert error_pct <= float(s.validation["max_pct"][0]), (output, point, error_pct)


# ---------------------------------------------------------------------------- the simulator
def _table(shipped, output, code, g_row, vdd):
    """``dac_8b.output`` read straight from the shipped library at codes ``code``, load ``g_row`` (S)."""
    c = np.atleast_1d(code).astype(float)
    return shipped[f"dac_8b.{output}"].predict({"code": c, "g_row": np.full(c.size, g_row),
                                                "vdd": np.full(c.size, vdd)})


def _per_code(shipped, spec, g_row):
    """(J per conversion at each of the 256 codes, s of the top code's settling) at ``g_row``."""
    vdd = spec.operating_point["vdd"]
    settling = float(_table(shipped, "settling_time", 255, g_row, vdd)[0])
    hold = settling + spec.array.t_read - CATALOGUE["dac_8b"].fixed["t_conv"]
    codes = np.arange(256)
    return _table(shipped, "energy_driver", codes, g_row, vdd) + _table(shipped, "power_driver", codes, g_row, vdd) \
        * hold, settling


def _row_loads(backend, layer):
    """S: the mean over ``layer``'s array rows of the sum of each row's conductances as the
    backend programmed them (every cell the simulator holds on that row)."""
    sums = [G[r].sum() for tile in backend.matrices[layer].tiles for _, G, _, _ in tile.arrays for r in range(len(G))]
    return float(np.mean(sums))


@pytest.mark.parametrize("g_row", [None, 2.0e-3])
def test_one_layer_dac_energy_is_the_hand_summed_per_code_library_energies(g_row, shipped):
    """Every conversion priced at its own code's energy: the codes counted here from the
    inputs, each code's energy from the shipped surrogates at the layer's programmed row load
    (summed here from the backend's conductances), or at the spec's operating_point.g_row."""
    net, x, y = _one_layer()
    spec = load_system_spec("baseline").updated(DAC8)
    if g_row is not None:
        spec = spec.updated({"operating_point": {**spec.operating_point, "g_row": g_row}})
    result = simulate(spec, net, (x, y, x), library=shipped)
    costs = result.costs
    programmed = AnalogBackend(spec, library=shipped)      # the same seed programs the same arrays
    programmed.calibrate(net, x)
    load = _row_loads(programmed, "fc") if g_row is None else g_row
    # one read per vector at 8-bit levels; range calibrated on x itself; x >= 0: one phase
    codes = np.rint(x / x.max() * 255).astype(int)
    histogram = np.bincount(codes.ravel(), minlength=256)
    per_code, settling = _per_code(shipped, spec, load)
    assert costs.energy["drivers"] == pytest.approx(histogram @ per_code / len(x), rel=1e-9, abs=0)
    assert costs.events["dac_conversions"] == histogram.sum() / len(x)
    drivers = costs.sources["energy"]["drivers"]
    assert [r["key"] for r in drivers] == ["dac_8b.energy_driver"] and drivers[0]["kind"] == "characterized"
    assert drivers[0]["g_row"] == {"fc": pytest.approx(load, rel=1e-12)}
    where = "programmed arrays" if g_row is None else "operating_point.g_row"
    assert where in drivers[0]["model"] and ("g_row" in drivers[0].get("at", {})) == (g_row is not None)
    # each read waits for the full-scale settling; the DAC's area per row from its record
    waits = [r for r in costs.sources["latency"]["arrays"] if r.get("key") == "dac_8b.settling_time"]
    assert len(waits) == 1 and waits[0]["value"] == pytest.approx(settling, rel=1e-9)
    area = costs.sources["area"]["drivers"]
    assert area[0]["kind"] == "characterized" and "dac_8b" in area[0]["key"]


def _two_layers(n_small_out=16, spread=0.1, n=20, seed=5):
    """A layer of near-zero weights (one at full scale sets its range, the rest within
    ``spread`` of it: 0.1 makes digits 0-2 of 15, cells near g_off; under 1/30 all 0, every
    other cell at g_off), a ReLU, a layer of full-scale weights (+-max: every pair at g_on /
    g_off); inputs in [0, 1)."""
    rng = np.random.default_rng(seed)
    small = rng.uniform(-spread, spread, size=(32, n_small_out))
    small[0, 0] = 1.0
    full = np.where(rng.random((n_small_out, 16)) < 0.5, -1.0, 1.0)
    net = Sequential.from_config("two", [{"type": "dense", "name": "small"},
                                         {"type": "activation", "name": "relu", "kind": "relu"},
                                         {"type": "dense", "name": "full"}],
                                 {"small.W": small, "small.b": np.zeros(n_small_out), "full.W": full,
                                  "full.b": np.zeros(16)}, {})
    return net, rng.uniform(0, 1, size=(n, 32))


def test_each_layer_is_priced_at_the_load_its_programmed_rows_carry(shipped):
    """Two layers on one backend: each layer's g_row is the mean row sum of its programmed
    conductances (summed here), its DAC energy the library's tables at that g_row (read here)
    over the codes it drove, each read waits for the top code's settling at that g_row; the
    near-zero layer's rows carry less and its conversions cost less; the analog outputs are
    those of the same arrays without the DAC block, bit for bit."""
    net, x = _two_layers()
    spec = load_system_spec("baseline").updated(DAC8)
    backend = AnalogBackend(spec, library=shipped)
    plans = backend.prepare(net)
    backend.calibrate(net, x)
    logits = net.forward(x, backend)
    costs = summarise(backend, plans, len(x))
    record = backend.records["inputs.dac"]
    loads, per_code = {}, {}
    for layer in ("small", "full"):
        loads[layer] = _row_loads(backend, layer)
        assert record["g_row"][layer] == pytest.approx(loads[layer], rel=1e-12)
        per_code[layer], settling = _per_code(shipped, spec, loads[layer])
        counts = backend.ledger.counts[layer]
        assert costs.energy_by_layer[layer]["drivers"] == pytest.approx(counts["dac_codes"] @ per_code[layer] / len(x),
                                                                        rel=1e-9, abs=0)
        assert counts["time:dac_settle"] == pytest.approx(settling, rel=1e-9)   # x >= 0, ReLU: one read each
    # the physics: fewer siemens on a row draw less current from the DAC at every level above v_ref
    assert loads["small"] < 0.25 * loads["full"]
    assert np.all(per_code["small"][1:] < per_code["full"][1:])
    assert "programmed arrays" in record["model"] and "small 0." in record["model"]
    # the outputs: the same arrays read without the DAC block (cited DAC pricing)
    cited = AnalogBackend(spec.updated({"inputs": {"dac": None}}), library=shipped)
    cited.calibrate(net, x)
    np.testing.assert_array_equal(net.forward(x, cited), logits)


def test_a_layer_whose_rows_carry_a_load_outside_the_tables_is_refused_or_clipped(shipped):
    """Six outputs of near-zero weights: 24 cells a row, all but one at g_off (1 uS), far below
    the 64 uS dac_8b was characterized from. Refused when programmed, naming the layer, the
    load and the range; with array.out_of_domain: clip, priced at the range's edge and
    recorded so."""
    net, x = _two_layers(n_small_out=6, spread=0.02)
    spec = load_system_spec("baseline").updated(DAC8)
    with pytest.raises(SimError, match=r"inputs\.dac: layer small's rows carry g_row = \d\.\d+e-05 S \(its "
                                       r"programmed arrays\), outside dac_8b's characterized g_row range "
                                       r"\[6\.4e-05, 0\.0064\] S: .* array\.out_of_domain: clip"):
        AnalogBackend(spec, library=shipped).calibrate(net, x)
    clipped = AnalogBackend(spec.updated({"array": {"out_of_domain": "clip"}}), library=shipped)
    clipped.calibrate(net, x)
    record = clipped.records["inputs.dac"]
    assert record["g_row"]["small"] == 6.4e-5
    carried = _row_loads(clipped, "small")
    assert carried < 6.4e-5 and record["g_row_carried"]["small"] == pytest.approx(carried, rel=1e-12)
    assert "clipped onto the characterized [6.4e-05, 0.0064] S (array.out_of_domain: clip) at small" in record["model"]


def test_the_dac_block_prices_dac_inputs_only(shipped):
    """A spec may name both row drivers (one --set switches the encoding): bit-serial inputs
    use inputs.driver; DAC inputs without inputs.dac keep the cited constant."""
    net, x, y = _one_layer()
    base = load_system_spec("baseline").updated({"inputs": {"dac": "dac_8b"}})

    def drivers(spec):
        return simulate(spec, net, (x, y, x), library=shipped).costs.sources["energy"]["drivers"]

    assert [r["key"] for r in drivers(base)] == ["wl_driver.energy_driver"]
    cited = drivers(base.updated({"inputs": {"encoding": "dac", "dac": None}}))
    assert [(r["kind"], r["constant"]) for r in cited] == [("cited", "costs.DAC1_ENERGY")]


@pytest.mark.parametrize("inputs, extra, message", [
    # the named block's resolution is not inputs.bits: the right one is named
    ({"bits": 8, "dac": "dac_4b"}, {}, r"inputs\.dac: dac_4b is a DAC of 4 bits and inputs\.bits is 8: name a block of "
                                       r"8 bits \(the catalogue's dac_8b\)"),
    # a resolution the library does not hold: the command that adds it
    ({"bits": 6, "dac": "dac_6b"}, {}, r"has no 'dac_6b\.energy_driver'; add block dac_6b with `cp .*default\.h5 "
                                       r"library\.h5 && cimspice library build -o library\.h5 --only dac_6b`"),
    ({"bits": 8, "dac": "wl_driver"}, {}, r"wl_driver is not a row-DAC block \(circuit wl_driver, not dac\)"),
    ({"bits": 8, "dac": "dac_8b"}, {"array": {"v_read": 0.3}},
     r"dac_8b puts its top code 0\.2 V above v_ref, array\.v_read is 0\.3 V"),
])
def test_a_dac_block_that_does_not_fit_is_refused(inputs, extra, message, shipped):
    spec = load_system_spec("baseline").updated({"inputs": {"encoding": "dac", **inputs}, **extra})
    with pytest.raises(SimError, match=message):
        AnalogBackend(spec, library=shipped)   # before any work


@pytest.mark.parametrize("inputs, message", [
    ({"bits": None}, r"inputs\.dac: dac_8b has a resolution; an ideal DAC \(bits: null\) has no circuit"),
    ({"signed": "bipolar"}, r"inputs\.dac: dac_8b makes levels from v_ref up only"),
])
def test_spec_refuses_a_dac_block_with_ideal_or_bipolar_inputs(inputs, message):
    with pytest.raises(SimError, match=message):
        load_system_spec("ideal").updated({"inputs": {**DAC8["inputs"], **inputs}, "library": "default"})



def test_seeds_give_one_dac_source_line_averaged_over_the_programmings(shipped):
    """Each seed programs the arrays anew, so each prices the DAC at its own g_row. Averaged
    over seeds that is one source (one line of the breakdown), whose energy and g_row are the
    seeds' means, each seed's own figures kept under ``draws``."""
    spec = load_system_spec("baseline").updated(DAC8)
    single = [simulate(spec.updated({"seed": s}), "cnn", n_samples=20, library=shipped) for s in (0, 1)]
    both = simulate(spec, "cnn", n_samples=20, seeds=2, library=shipped)
    drivers = both.costs.sources["energy"]["drivers"]
    assert len(drivers) == 1
    ones = [r.costs.sources["energy"]["drivers"][0] for r in single]
    assert ones[0]["g_row"] != ones[1]["g_row"]                          # the draws differ
    assert drivers[0]["value"] == pytest.approx(np.mean([r["value"] for r in ones]), rel=1e-12)
    for layer, g in drivers[0]["g_row"].items():
        assert g == pytest.approx(np.mean([r["g_row"][layer] for r in ones]), rel=1e-12)
    assert [d["g_row"] for d in drivers[0]["draws"]] == [r["g_row"] for r in ones]
