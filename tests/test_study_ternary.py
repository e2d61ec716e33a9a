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


@pytest.mark.slow
def test_quick_ternary_associative_report(tmp_path):
    text = run_quick_study("ternary-associative", tmp_path / "ta")
    assert "[deLima]" in text and "equal the integer reference exactly" in text
    claimed = float(re.search(r"\| 7\.5x \| ([0-9.]+)x \|", text).group(1))
    ap = float(re.search(r"^\| AP \(bit-exact integer arithmetic\) \| [0-9.]+ % \| ([0-9.]+) \|", text, re.M).group(1))
    xb = float(re.search(r"^\| crossbar \| [0-9.]+ % \| ([0-9.]+) ", text, re.M).group(1))
    assert claimed == pytest.approx(xb / ap, rel=0.02)
    # compares priced at the MLP's own row widths, each simulated at that width
    widths = re.findall(r"^\| NOR CAM row, 3 active columns, 256-row array \(a layer of the MLP\) \| (\d+) \|", text,
                        re.M)
    assert len(widths) == 2 and all(int(w) > 64 for w in widths)
