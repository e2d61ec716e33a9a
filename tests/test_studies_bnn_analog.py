"""The input-splitting study's non-ideal array reads (cimspice/studies/bnn_analog.py): exact
reads give the exact network, IR drop against the crossbar solver's own nodal solve of the
same array, read noise against its variance formula, offsets fixed per amplifier."""

from __future__ import annotations

import numpy as np
import pytest
from test_studies_bnn import _random_net

from cimspice.sim.crossbar import CrossbarSolver
from cimspice.studies.bnn import Readout, predict
from cimspice.studies.bnn_analog import ArrayReads, Nonidealities, program
from cimspice.studies.bnn_costs import Hardware

HW = Hardware()


def _inputs(n, width, seed=0):
    rng = np.random.default_rng(seed)
    return np.where(rng.random((n, width)) > 0.5, 1.0, -1.0).astype(np.float32)


@pytest.mark.parametrize("groups, readout", [((1, 1, 1), Readout(8, 2)), ((1, 1, 1), Readout(None, None)),
                                             ((1, 4, 1), Readout(8, 3)), ((2, 3, 1), Readout(8, 4))])
def test_ideal_arrays_read_the_exact_network(groups, readout):
    net, x = _random_net(groups), _inputs(60, 16)
    reads = program(net, Readout(readout.rows or 64, readout.adc_bits), HW, Nonidealities()) \
        if readout.rows is None else program(net, readout, HW, Nonidealities())
    assert np.array_equal(predict(net, x, readout, reads), predict(net, x, readout))


def test_ir_drop_matches_a_nodal_solve_of_the_array():
    net = _random_net((1, 1, 1))
    layer = net.layers[1]                         # 24 inputs x 24 outputs: one tile, 2 arrays of 24 x 24
    reads = ArrayReads(layer, 1, 24, HW, Nonidealities(r_wire=5.0), np.random.default_rng(0))
    a = _inputs(3, 24, seed=4)
    got = reads.sums(a)[:, 0]
    wb = np.where(layer.w >= 0, 1.0, -1.0)
    G = np.empty((24, 48))
    G[:, 0::2], G[:, 1::2] = np.where(wb > 0, HW.g_on, HW.g_off), np.where(wb > 0, HW.g_off, HW.g_on)
    unit = HW.v_read * (HW.g_on - HW.g_off) / 2
    for v, z in zip(a, got):
        V = HW.v_read * (v > 0)
        I = np.concatenate([CrossbarSolver(24, 24, r_wire=5.0, method="direct").column_currents(G[:, c:c + 24], V)
                            for c in (0, 24)])
        expected = (I[0::2] - I[1::2]) / unit - wb.sum(axis=0)
        assert z == pytest.approx(expected, rel=1e-9, abs=1e-9)
        assert not np.allclose(z, v @ wb, atol=1e-3)      # the drop is there to be seen


def test_read_noise_has_the_variance_of_independent_cells():
    net = _random_net((1, 1, 1))
    layer, sigma = net.layers[0], 0.2
    reads = ArrayReads(layer, 1, 16, HW, Nonidealities(read_noise_sigma=sigma), np.random.default_rng(1))
    a = np.repeat(_inputs(1, 16, seed=5), 4000, axis=0)
    z = reads.sums(a)[:, 0]
    wb = np.where(layer.w >= 0, 1.0, -1.0)
    b = (a[0] > 0).astype(float)
    unit = HW.v_read * (HW.g_on - HW.g_off) / 2
    var = (HW.v_read * sigma / unit) ** 2 * b.sum() * (HW.g_on ** 2 + HW.g_off ** 2) * np.ones(layer.n_out)
    assert z.mean(axis=0) == pytest.approx(a[0] @ wb, abs=4 * np.sqrt(var.max() / 4000))
    assert z.var(axis=0) == pytest.approx(var, rel=0.1)


def test_sense_amplifier_offsets_are_fixed_per_amplifier_and_move_split_decisions():
    net, x = _random_net((1, 4, 1)), _inputs(200, 16, seed=6)
    readout = Readout(8, 3)
    reads = program(net, readout, HW, Nonidealities(sa_offset=20 * HW.v_read * (HW.g_on - HW.g_off)), seed=3)
    first = predict(net, x, readout, reads)
    assert reads[1].offset.shape == (4, net.layers[1].n_out)
    assert np.array_equal(first, predict(net, x, readout, reads))   # a mismatch, not a noise
    assert not np.array_equal(first, predict(net, x, readout))


def test_nonideal_reads_at_two_sizes_take_each_sizes_column_current():
    # the study's per-size step on a small network at 8 and 12 rows (split into 3 and 2 groups)
    from cimspice.studies.bnn_analog import NONIDEAL_CASES, sense_offset_sigma
    from cimspice.studies.input_splitting import _nonideal

    x = _inputs(80, 16, seed=7)
    y = np.random.default_rng(8).integers(0, 5, 80)
    acts = [0.5, 0.3, 0.4, 0.9]                   # hidden layers' mean activity 0.35
    cfg = {"offset_draws": 3, "device_draws": 2}
    got = {rows: _nonideal(cfg, {"unsplit": _random_net((1, 1, 1)), "split": _random_net((1, 24 // rows, 1))},
                           rows, 4, HW, acts, x, y) for rows in (8, 12)}
    for rows, nd in got.items():
        i_col = 0.35 * rows * HW.v_read * (HW.g_on + HW.g_off) / 2    # A: a column's mean current, by hand
        assert nd["i_col"] == pytest.approx(i_col, rel=1e-12)
        assert nd["sa_sigma"] == pytest.approx(sense_offset_sigma(i_col, 3)[0], rel=1e-9)
        assert list(nd["accuracy"]["split"]) == list(NONIDEAL_CASES)
        for design, groups in (("unsplit", (1, 1, 1)), ("split", (1, 24 // rows, 1))):
            net = _random_net(groups)
            exact = float((predict(net, x, Readout(rows, 4)) == y).mean())
            assert nd["accuracy"][design]["ideal"] == (exact, 0.0, 1)
            assert nd["accuracy"][design]["read noise"][2] == 2 and nd["accuracy"][design]["IR drop"][2] == 1
            mean, low = nd["drop"][design]
            assert 0.9 < low <= mean < 1.0                      # 1 ohm wires on 12 x 12 cells: a small drop
    assert got[8]["sa_sigma"] != got[12]["sa_sigma"]
    assert got[12]["drop"]["unsplit"][0] < got[8]["drop"]["unsplit"][0]   # longer wires drop more


def test_gap_between_designs_and_its_standard_error():
    from cimspice.studies.input_splitting_nonideal import gap

    nd = {"accuracy": {"a": {"all of them": (0.90, 0.02, 5)}, "b": {"all of them": (0.92, 0.01, 5)}}}
    g, se = gap(nd)
    assert g == pytest.approx(2.0) and se == pytest.approx(100 * np.sqrt((0.02 ** 2 + 0.01 ** 2) / 4))
