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

from cimspice.circuits.dac import RowDAC
from cimspice.library.blocks import CATALOGUE, Block
from cimspice.library.errors import LibraryError
from cimspice.paths import default_library_path
from cimspice.surrogate import load_library


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
