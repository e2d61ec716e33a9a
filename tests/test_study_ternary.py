"""Ternary-associative study: the AP's bit-serial arithmetic against integer arithmetic, the
CAM circuits' function in ngspice, and the quick report."""

from __future__ import annotations

import re

import numpy as np
import pytest
from study_cli import run_quick_study

from cimspice.circuits.cam import search_energy, write_energy
from cimspice.spice import get_engine
from cimspice.studies.associative import AssociativeProcessor, pass_schedule
from cimspice.studies.ternary_associative import _reference, _run_ap
from cimspice.studies.ternary_costs import ApCosts, ap_energy
from cimspice.studies.ternary_resnet import MatrixLayer, ap_layers, layer_shapes, pass_rates, write_resnet18


@pytest.mark.parametrize("op", ["add", "sub"])
def test_in_place_arithmetic_is_exact_and_costs_8_passes_per_bit(op):
    rng = np.random.default_rng(1)
    n, wa, wb = 300, 6, 14
    a, b = rng.integers(0, 2 ** wa, n), rng.integers(-2 ** 12, 2 ** 12, n)
    ap = AssociativeProcessor(n, wa + wb + 1)
    ap.store(0, wa, a)
    ap.store(wa, wb, b)
    ap.inplace(op, 0, wa, wb, wa + wb, a_width=wa)
    np.testing.assert_array_equal(ap.load(wa, wb), b + a if op == "add" else b - a)
    assert len(pass_schedule(op)) == 4                 # four changing truth-table rows
    # 4 compares per bit of A, 2 above it (A = 0 there), and one write each plus the carry clear
    assert ap.counts.compares == 4 * wa + 2 * (wb - wa)
    assert ap.counts.writes == ap.counts.compares + 1


def test_ternary_network_on_the_ap_equals_integer_arithmetic():
    rng = np.random.default_rng(2)
    ternary = [(rng.choice([-1, 0, 1], (12, 7)), 1.0), (rng.choice([-1, 0, 1], (7, 3)), 1.0)]
    xq = rng.integers(0, 16, (9, 12))
    shifts = [2]
    out, counts, layers = _run_ap(ternary, shifts, xq, 4)
    np.testing.assert_array_equal(out, _reference(ternary, shifts, xq, 4))
    expected = xq @ ternary[0][0]
    h = np.minimum(np.maximum(expected, 0) >> 2, 15)
    np.testing.assert_array_equal(out, h @ ternary[1][0])  # written out independently
    assert counts.matched_rows + counts.mismatched_rows == 9 * counts.compares
    # each layer's row: inputs, accumulators (input bits + log2 fan-in + sign) and a carry
    assert [L.width for L in layers] == [12 * 4 + 7 * (4 + 4 + 1) + 1, 7 * 4 + 3 * (4 + 3 + 1) + 1]
    assert sum(L.counts.compares for L in layers) == counts.compares


def test_cam_row_decides_and_costs_more_on_a_mismatch():
    e = get_engine()
    s = search_energy(e, word_bits=4, rows=16, active_bits=2)
    assert s["ml_match"] > 0.8 and s["ml_mismatch"] < 0.1          # the match line's decision
    assert s["mismatch"] > 2 * s["match"] > 0
    more = search_energy(e, word_bits=4, rows=256, active_bits=2)
    assert more["lines_match"] > s["lines_match"]                   # more rows on the search lines
    w = write_energy(e, rows=16)
    assert w["q_flip"] > 1.0 and w["q_same"] > 1.0                  # the cell holds a 1 after the write
    assert w["flip"] > w["same"] > 0


def test_counted_passes_equal_the_executed_ones():
    """ResNet-18's AP passes are counted from layer shapes: on a small net the count equals
    what the AP executes, layer by layer (ReLU on the hidden layer, none on the last)."""
    rng = np.random.default_rng(3)
    ternary = [(rng.choice([-1, 0, 1], (20, 9)), 1.0), (rng.choice([-1, 0, 1], (9, 4)), 1.0)]
    xq = rng.integers(0, 16, (40, 20))
    _, counts, executed = _run_ap(ternary, [1], xq, 4)
    shapes = [MatrixLayer(name, T.shape[0], T.shape[1], 1, float(np.mean(T != 0)))
              for name, (T, _) in zip(("hidden", "fc"), ternary)]
    counted = ap_layers(shapes, pass_rates(counts, 40), 4, images=40)
    for c, e in zip(counted, executed):
        assert (c.counts.compares, c.counts.writes, c.width) == (e.counts.compares, e.counts.writes, e.width)
        assert c.loaded == e.loaded and c.moved_out == e.moved_out


def test_batch_shares_the_line_drives_only():
    """Search lines and bit lines are driven once per pass for the whole array: per inference
    they divide by the rows in use; match lines, flipped cells and data movement do not."""
    rng = np.random.default_rng(4)
    _, counts, layers = _run_ap([(rng.choice([-1, 0, 1], (10, 5)), 1.0)], [], rng.integers(0, 16, (8, 10)), 4)
    cam = ApCosts(lambda w: 2e-15 + 0.01e-15 * w, lambda w: 3e-15 + 0.4e-15 * w, 250e-15, 50e-15, 4e-15, 256, {})
    one, full = ap_energy(layers, cam, 1), ap_energy(layers, cam, 256)
    for k in ("match lines", "write cells", "data movement"):
        assert one[k] == full[k] > 0
    assert one["search lines"] == pytest.approx(counts.compares * 250e-15)            # one array's lines per compare
    assert one["write bit lines"] == pytest.approx(counts.written_columns * 50e-15)
    assert one["search lines"] == pytest.approx(256 * full["search lines"])


def test_ternary_resnet18_imports_with_the_counted_shapes(tmp_path):
    pytest.importorskip("onnx")
    from cimspice.sim.onnx_import import load_onnx

    path, layers = write_resnet18(tmp_path / "r.onnx", stages=(4, 8, 8, 8), size=8)
    mats = load_onnx(path).matrices()
    assert sorted(W.shape for W in mats.values()) == sorted((m.fan_in, m.outputs) for m in layers)
    for W in mats.values():                            # ternary: one magnitude besides zero
        assert np.unique(np.round(np.abs(W[W != 0]), 6)).size == 1 and 0 < np.mean(W != 0) < 1
    # CIFAR ResNet-18 (3x3 stem, no pool): 0.56 G multiply-accumulates per image, as published
    full = layer_shapes(write_resnet18(tmp_path / "full.onnx")[1])
    assert full["macs"] == pytest.approx(0.556e9, rel=0.002) and full["matrices"] == 21


@pytest.mark.slow
def test_quick_ternary_associative_report(tmp_path):
    text = run_quick_study("ternary-associative", tmp_path / "ta")
    assert "[deLima]" in text and "equal the integer reference exactly" in text
    claimed = float(re.search(r"\| 7\.5x \| ([0-9.]+)x \|", text).group(1))
    resnet = float(re.search(r"Crossbar over AP: \*\*([0-9.]+)x\*\* per image", text).group(1))
    assert claimed == pytest.approx(resnet, rel=0.01)
    ap = float(re.search(r"^\| AP \(bit-exact integer arithmetic\) \| [0-9.]+ % \| ([0-9.]+) \|", text, re.M).group(1))
    xb = float(re.search(r"^\| crossbar \(component library\) \| [0-9.]+ % \| ([0-9.]+) ", text, re.M).group(1))
    batch32 = float(re.search(r"^\| 32 \| ([0-9.]+)x \|", text, re.M).group(1))
    assert batch32 == pytest.approx(xb / ap, rel=0.02)
    # every crossbar component from the library or a cited constant, none from the ideal system
    sources = re.findall(r"^\| crossbar: \w+ \| [0-9.e+-]+ \| [0-9.e+-]+ % \| (.+) \|$", text, re.M)
    assert sources and all(s.startswith(("library", "cited", "sum V*I")) for s in sources)
    assert "library tia_array.energy_read" in text and "library adc_sar_6b.energy_per_conversion" in text
    assert "tornado.png" in text and "## What this study does not do" in text
