"""The binarized MLP of the input-splitting study and its pricing: inference against
explicit per-neuron arithmetic, training, the ADC read-out, the library's prices."""

from __future__ import annotations

import numpy as np
import pytest

from cimspice import CimspiceError
from cimspice.paths import default_library_path
from cimspice.sim.zoo import load_dataset
from cimspice.studies.bnn import BinaryMLP, Readout, binarize_inputs, calibrate, predict, train_bnn
from cimspice.studies.bnn_costs import Hardware, energy, layer_uses, read_prices
from cimspice.studies.input_splitting import baseline_bits, paper_bits
from cimspice.surrogate import load_blocks, load_library


@pytest.fixture(scope="module")
def shipped():
    """The shipped component library: (tables, block records)."""
    return load_library(default_library_path()), load_blocks(default_library_path())


def _random_net(groups, seed=1):
    rng = np.random.default_rng(seed)
    net = BinaryMLP.new((16, 24, 24, 5), groups, seed=seed)
    for layer in net.layers:   # arbitrary batch norms, some negative scales
        n = len(layer.gamma)
        layer.gamma[:] = rng.normal(0, 1, n)
        layer.beta[:] = rng.normal(0, 1, n)
        layer.mean[:] = rng.normal(0, 3, n)
        layer.var[:] = rng.uniform(0.5, 20, n)
    return net


def _explicit(net, x, rows=None, bits=None):
    """Class of each row of ``x`` computed neuron by neuron: batch norm, sign, group majority."""
    out = []
    for v in x:
        a = v
        for i, layer in enumerate(net.layers):
            w = np.where(layer.w >= 0, 1, -1)
            g, n_out = layer.groups, layer.n_out
            r = layer.n_in // g
            nxt = np.zeros(n_out)
            for j in range(n_out):
                votes = 0
                for k in range(g):
                    f = k * n_out + j
                    z = sum(a[m] * w[m, j] for m in range(k * r, (k + 1) * r))
                    tiles = 1 if rows is None else -(-layer.n_in // rows)
                    if g == 1 and tiles > 1 and bits is not None:   # row tiles through a full-scale ADC
                        t = layer.n_in // tiles
                        step = max(2.0, 2.0 * t / (2 ** bits - 1))
                        z = sum(np.clip(round((sum(a[m] * w[m, j] for m in range(q * t, (q + 1) * t)) + t) / step)
                                        * step - t, -t, t) for q in range(tiles))
                    y = layer.gamma[f] * (z - layer.mean[f]) / np.sqrt(layer.var[f] + 1e-5) + layer.beta[f]
                    if i == len(net.layers) - 1:
                        nxt[j] = y
                    votes += 1 if y >= 0 else -1
                if i < len(net.layers) - 1:
                    nxt[j] = 1 if votes >= 0 else -1
            a = nxt
        out.append(int(np.argmax(a)))
    return np.array(out)


def test_split_inference_is_batch_norm_sign_and_majority_per_neuron():
    rng = np.random.default_rng(0)
    x = np.where(rng.random((40, 16)) > 0.5, 1.0, -1.0).astype(np.float32)
    for groups in ((1, 1, 1), (1, 4, 1), (2, 3, 1)):
        net = _random_net(groups)
        assert np.array_equal(predict(net, x), _explicit(net, x)), groups


def test_partial_sums_through_the_adc_match_explicit_quantisation():
    rng = np.random.default_rng(2)
    x = np.where(rng.random((40, 16)) > 0.5, 1.0, -1.0).astype(np.float32)
    net = _random_net((1, 1, 1))
    # 16- and 24-input layers on 8-row arrays: 2 and 3 tiles, 2-bit ADCs (coarse), 4 bits (lossless at 8 rows)
    assert np.array_equal(predict(net, x, Readout(8, 2)), _explicit(net, x, rows=8, bits=2))
    assert np.array_equal(predict(net, x, Readout(8, paper_bits(8))), predict(net, x))


def test_bnn_learns_the_digits_and_splitting_keeps_most_of_it():
    x, y = load_dataset("mlp", "train")
    xt, yt = load_dataset("mlp", "test")
    xb, xtb = binarize_inputs(x), binarize_inputs(xt)
    net = calibrate(train_bnn(BinaryMLP.new((64, 128, 128, 10), (1, 1, 1)), xb, y, epochs=3), xb)
    acc = (predict(net, xtb) == yt).mean()
    assert acc > 0.8
    split = calibrate(train_bnn(net.split((1, 4, 1)), xb, y, epochs=1, lr=2.0 ** -7), xb)
    assert (predict(split, xtb) == yt).mean() > acc - 0.1


def test_baseline_at_the_papers_resolution_is_refused_with_the_command_that_adds_it(shipped):
    library, blocks = shipped
    assert paper_bits(128) == 8 and paper_bits(512) == 10
    assert baseline_bits(128, library) == (8, 8)          # the shipped weight-tested 8-bit SAR
    assert baseline_bits(512, library) == (10, 10)        # and the 10-bit one
    # a library without the 10-bit SAR: its highest below, a stated deviation, or refused
    library = {k: v for k, v in library.items() if not k.startswith("adc_sar_10b.")}
    blocks = {k: v for k, v in blocks.items() if k != "adc_sar_10b"}
    assert baseline_bits(512, library) == (9, 10)
    bits, _ = baseline_bits(512, library, "paper")
    with pytest.raises(Exception, match=r"adc_sar_10b.*cimspice library build .*--only adc_sar_10b"):
        read_prices(512, bits, 40e-6, library=library, blocks=blocks)


def test_split_design_reads_hidden_layers_with_sense_amplifiers_only(shipped):
    sizes, acts = (64, 512, 512, 10), (0.4, 0.5, 0.5)
    base, split = layer_uses(sizes, acts, 128, False), layer_uses(sizes, acts, 128, True)
    assert [u.readout for u in base] == ["sa", "adc", "adc"] and [u.readout for u in split] == ["sa", "split", "adc"]
    p = read_prices(128, 6, 40e-6, library=shipped[0], blocks=shipped[1])
    e_base, e_split = energy(base, p, 128), energy(split, p, 128)
    # conversions: 512 outputs x 4 row tiles, then 10 x 4 in the last layer (both designs)
    assert e_base["ADCs"] == pytest.approx((512 * 4 + 10 * 4) * p.adc)
    assert e_split["ADCs"] == pytest.approx(10 * 4 * p.adc)
    assert e_split["sense amplifiers"] == pytest.approx((512 + 512 * 4) * p.sa)
    assert e_base["word-line drivers"] == e_split["word-line drivers"]


def test_sense_amplifier_price_is_the_library_table_at_the_column_current(shipped):
    library, blocks = shipped
    table = library["sense_amp.energy"]
    hw = Hardware()
    i = hw.column_current(256, 0.5)
    p = read_prices(256, 6, i, hw, library, blocks)
    # the reference at the column current, the bit line one unit of a partial sum (0.45 uA) above
    at = {"i_ref": [i], "overdrive": [0.45e-6 / i], "vdd": [hw.vdd]}
    assert p.sa == pytest.approx(float(table.predict(at)[0]))
    assert p.sources["sense_amp.energy"]["key"] == "sense_amp.energy"
    with pytest.raises(CimspiceError, match="vdd"):     # outside the characterized supplies
        read_prices(256, 6, i, Hardware(vdd=2.0), library, blocks)
