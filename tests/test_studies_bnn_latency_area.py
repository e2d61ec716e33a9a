"""Latency and area of the input-splitting study's two designs against a hand computation
from the shipped library's own figures, read here with h5py (not through the study's or the
surrogates' code): the word-line driver's settling and the sample-and-hold's acquisition
(their networks re-evaluated from the stored weights), the SAR's conversion time (a grid
node), and the block records' areas."""

from __future__ import annotations

import math
from dataclasses import replace

import h5py
import numpy as np
import pytest

from cimspice.circuits.sense_amp import Q_DECIDE, T_EDGE, T_EVAL_MIN, T_PRECHARGE
from cimspice.paths import default_library_path
from cimspice.sim import costs
from cimspice.studies import StudyError
from cimspice.studies.bnn_costs import Hardware, layer_uses, read_prices
from cimspice.studies.bnn_latency_area import circuits, latency, read_time_area, summary
from cimspice.surrogate import load_blocks, load_library

ROWS, BITS, ACT = 128, 8, 0.5
SIZES = (64, 256, 256, 10)     # 4, 8 and 2 arrays of 128 x 128: layer 2 split in 2 groups


@pytest.fixture(scope="module")
def shipped():
    return load_library(default_library_path()), load_blocks(default_library_path())


@pytest.fixture(scope="module")
def hand():
    """The library's figures at the case's point, read with h5py: s and m^2."""
    hw = Hardware()
    with h5py.File(default_library_path(), "r") as fh:
        s, b = fh["surrogates"], fh["blocks"]

        def mlp(key, x):
            g = s[key]
            scales = [v.decode() if isinstance(v, bytes) else v for v in g.attrs["input_scales"]]
            z = np.array([math.log10(v) if sc == "log" else v for v, sc in zip(x, scales)])
            m = g["model"]
            a = (z - m["x_offset"][()]) / m["x_scale"][()]
            n = int(m.attrs["n_layers"])
            for i in range(n):
                a = a @ m[f"weights_{i}"][()] + m[f"biases_{i}"][()]
                if i < n - 1:
                    a = np.tanh(a)
            return float(a[0] * m["y_scale"][()][0] + m["y_offset"][()][0])

        conv = s[f"adc_sar_{BITS}b.t_conversion"]["model"]
        assert conv["axis_0"][0] == pytest.approx(hw.vdd)     # vdd 1.1 V is the table's first node
        i_col = ACT * ROWS * hw.v_read * (hw.g_on + hw.g_off) / 2
        lo, hi = s["sense_amp.energy"]["domain_min"][0], s["sense_amp.energy"]["domain_max"][0]
        i_sa = min(max(i_col, lo), hi)
        return {
            "settle": mlp("wl_driver.settling_time", (hw.v_read, hw.c_cell * ROWS, hw.vdd)),
            "acq": mlp("sample_hold.t_acq", (hw.v_in, hw.vdd)),
            "conv": 10.0 ** float(conv["values"][0, 0]),            # log-scaled output
            "cycle": 2 * T_EDGE + T_EVAL_MIN + Q_DECIDE / i_sa + T_PRECHARGE,
            "op": 1 / (16 * 1.2e9),                                 # ISAAC's clock over the 16 lanes
            **{f"a_{k}": float(b[k].attrs["area"]) for k in ("cell_1t1r", "wl_driver", "sense_amp",
                                                               "sample_hold", f"adc_sar_{BITS}b")}}


def _figures(shipped):
    library, blocks = shipped
    hw = Hardware()
    p = read_prices(ROWS, BITS, hw.column_current(ROWS, ACT), hw, library, blocks)
    return read_time_area(ROWS, p, hw, library, blocks)


def _uses():
    acts = (ACT,) * 3
    return {"baseline": layer_uses(SIZES, acts, ROWS, False), "split": layer_uses(SIZES, acts, ROWS, True)}


def test_latency_is_the_hand_sum_of_the_librarys_times(shipped, hand):
    f, u = _figures(shipped), _uses()
    h = hand
    # layer 1 (64 -> 256, one array deep): a sense amplifier per pair decides once; nothing merged
    first = h["settle"] + h["cycle"]
    # layer 3 (256 -> 10, 2 row tiles, ADCs in both): 10 pairs in use, one ADC: 10 conversions;
    # 10 adds of the two tiles and 9 compares of the arg-max
    last = h["settle"] + h["acq"] + 10 * h["conv"] + 19 * h["op"]
    # layer 2 (256 -> 256, 2 row tiles): 64 pairs per array through one ADC, or a sense
    # amplifier per pair; 256 adds (partial sums, or group bits) and 256 compares either way
    base_2 = h["settle"] + h["acq"] + 64 * h["conv"] + 512 * h["op"]
    split_2 = h["settle"] + h["cycle"] + 512 * h["op"]
    hw = Hardware()
    assert sum(latency(u["baseline"], f, ROWS, hw).values()) == pytest.approx(first + base_2 + last, rel=1e-6)
    assert sum(latency(u["split"], f, ROWS, hw).values()) == pytest.approx(first + split_2 + last, rel=1e-6)
    assert f.t_delay < f.t_eval            # the characterized decision falls inside the window


def test_area_is_the_hand_count_of_the_librarys_blocks(shipped, hand):
    f, u = _figures(shipped), _uses()
    h = hand
    arrays = 4 + 8 + 2
    common = arrays * ROWS * ROWS * h["a_cell_1t1r"] + arrays * ROWS * h["a_wl_driver"] \
        + 16 * 9 * 36e-12 / 8 + 512 / 8 * 0.083e-6 / 65536     # merge lanes of 9 bits; a 512-bit layer's buffer
    # baseline: sense amplifiers on layer 1's 4 arrays (64 each); a sample-and-hold per pair and
    # one ADC on each of the other 10; split: only the last layer's 2 arrays keep them
    base = common + 4 * 64 * h["a_sense_amp"] + 10 * 64 * h["a_sample_hold"] + 10 * h[f"a_adc_sar_{BITS}b"]
    split = common + 12 * 64 * h["a_sense_amp"] + 2 * 64 * h["a_sample_hold"] + 2 * h[f"a_adc_sar_{BITS}b"]
    s = summary(u, f, ROWS, Hardware())
    assert sum(s["area"]["baseline"].values()) == pytest.approx(base, rel=1e-6)
    assert sum(s["area"]["split"].values()) == pytest.approx(split, rel=1e-6)
    assert s["circuits"]["split"] == {"arrays": 14, "word-line drivers": 14 * 128, "sense amplifiers": 768,
                                      "sample-and-holds": 128, "ADCs": 2}
    assert s["area_ratio"] == pytest.approx(base / split, rel=1e-6)
    assert f.sources["a_adc"]["key"] == f"adc_sar_{BITS}b" and f.sources["t_conv"]["key"].endswith("t_conversion")


def test_column_multiplexing_moves_latency_and_circuits_the_expected_way(shipped, hand):
    f, u = _figures(shipped), _uses()
    h, hw = hand, Hardware()

    def total(design, h_):
        return sum(latency(u[design], f, ROWS, h_).values())

    fewer = replace(hw, pairs_per_adc=8)        # 8 ADCs per array: 8 conversions each
    assert total("baseline", hw) - total("baseline", fewer) == pytest.approx((56 + 2) * h["conv"], rel=1e-6)
    assert total("split", hw) - total("split", fewer) == pytest.approx(2 * h["conv"], rel=1e-6)
    shared = replace(hw, pairs_per_sa=4)        # each amplifier decides 4 pairs in turn
    assert total("split", shared) - total("split", hw) == pytest.approx(6 * h["cycle"], rel=1e-6)
    assert total("baseline", shared) - total("baseline", hw) == pytest.approx(3 * h["cycle"], rel=1e-6)
    times = [total("baseline", replace(hw, pairs_per_adc=m)) for m in (1, 2, 8, 32, 64, 1000)]
    assert times == sorted(times) and times[-1] == times[-2]     # an ADC serves at most its array's pairs
    assert circuits(u["baseline"], ROWS, fewer)["ADCs"] == 8 * circuits(u["baseline"], ROWS, hw)["ADCs"]
    assert circuits(u["split"], ROWS, shared)["sense amplifiers"] == 768 // 4


@pytest.mark.parametrize("field, value", [("pairs_per_adc", 0), ("pairs_per_sa", 2.5), ("pairs_per_sa", True)])
def test_multiplexing_that_is_not_a_count_of_pairs_is_refused(field, value):
    with pytest.raises(StudyError, match=f"{field} = {value!r}: must be a whole number") as err:
        Hardware(**{field: value})
    assert len(str(err.value).splitlines()) == 1


def test_missing_library_figures_are_refused_with_what_to_build(shipped):
    library, blocks = shipped
    hw = Hardware()
    p = read_prices(ROWS, BITS, hw.column_current(ROWS, ACT), hw, library, blocks)
    no_settle = {k: v for k, v in library.items() if k != "wl_driver.settling_time"}
    with pytest.raises(StudyError, match=r"no 'wl_driver.settling_time'.*--only wl_driver"):
        read_time_area(ROWS, p, hw, no_settle, blocks)
    bare = {**blocks, "sense_amp": {k: v for k, v in blocks["sense_amp"].items() if k != "area"}}
    with pytest.raises(StudyError, match=r"block sense_amp: its record gives no area"):
        read_time_area(ROWS, p, hw, library, bare)
    # a cell block without an area falls back to the cited 1T1R cell: 4 F x 12 F at 45 nm
    no_cell = {**blocks, "cell_1t1r": {k: v for k, v in blocks["cell_1t1r"].items() if k != "area"}}
    f = read_time_area(ROWS, p, hw, library, no_cell)
    assert f.a_cell == pytest.approx(48 * 45e-9 ** 2)
    assert f.sources["a_cell"]["kind"] == "cited" and "NeuroSim" in f.sources["a_cell"]["source"]
    assert f.t_op == pytest.approx(float(costs.DIGITAL_OP_TIME))
