"""The row DAC as a library block (cimspice.library.dac_blocks) and the simulator's DAC inputs
priced from it code by code (cimspice.sim.dac_block).

Oracles: the catalogue's own ranges (integer nodes and draws), the code histogram counted
here from the inputs by hand and the shipped surrogates evaluated here directly, fresh
ngspice runs of the `dac` circuit. The tests that read ``dac_8b`` / ``dac_4b`` use the
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
from cimspice.sim.backend import AnalogBackend
from cimspice.sim.errors import SimError
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
def test_one_layer_dac_energy_is_the_hand_summed_per_code_library_energies(shipped):
    """Every conversion priced at its own code's energy: the codes counted here from the
    inputs, each code's energy from the shipped surrogates at the spec's operating point."""
    net, x, y = _one_layer()
    result = simulate(load_system_spec("baseline").updated(DAC8), net, (x, y, x), library=shipped)
    spec, costs = result.spec, result.costs
    # one read per vector at 8-bit levels; range calibrated on x itself; x >= 0: one phase
    codes = np.rint(x / x.max() * 255).astype(int)
    histogram = np.bincount(codes.ravel(), minlength=256)
    at = {"g_row": spec.array.cols * (spec.array.g_on + spec.array.g_off) / 2, "vdd": spec.operating_point["vdd"]}

    def table(output, code):
        c = np.atleast_1d(code).astype(float)
        return shipped[f"dac_8b.{output}"].predict({"code": c, **{k: np.full(c.size, v) for k, v in at.items()}})

    settling = float(table("settling_time", 255)[0])
    hold = settling + spec.array.t_read - CATALOGUE["dac_8b"].fixed["t_conv"]
    per_code = table("energy_driver", np.arange(256)) + table("power_driver", np.arange(256)) * hold
    assert costs.energy["drivers"] == pytest.approx(histogram @ per_code / len(x), rel=1e-9, abs=0)
    assert costs.events["dac_conversions"] == histogram.sum() / len(x)
    drivers = costs.sources["energy"]["drivers"]
    assert [r["key"] for r in drivers] == ["dac_8b.energy_driver"] and drivers[0]["kind"] == "characterized"
    # each read waits for the full-scale settling; the DAC's area per row from its record
    waits = [r for r in costs.sources["latency"]["arrays"] if r.get("key") == "dac_8b.settling_time"]
    assert len(waits) == 1 and waits[0]["value"] == pytest.approx(settling, rel=1e-9)
    area = costs.sources["area"]["drivers"]
    assert area[0]["kind"] == "characterized" and "dac_8b" in area[0]["key"]


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

