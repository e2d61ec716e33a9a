"""Training-block study: the pulse width the device law sets, the block's time-coded array
read against a dense nodal solve, the integrator sized for it in ngspice, the paper's
latencies against its abstract, analog training against float training, and the quick report."""

from __future__ import annotations

import math
import re
from dataclasses import replace

import numpy as np
import pytest
from oracles import mna_column_currents
from study_cli import run_quick_study

from cimspice.circuits.devices import reram_card
from cimspice.sim.zoo import load_dataset
from cimspice.studies.analog_training import PulseLaw, predict, reference, train_analog, train_float
from cimspice.studies.block_array import read_block, wire_resistance
from cimspice.studies.block_circuits import V_SWING, Bench, size_integrator
from cimspice.studies.sources import CLAIMS, MARINELLA_LATENCY

JETCAS = reram_card("reram_jetcas.lib", "reram_jetcas")


def test_pulse_width_follows_the_device_law(engine):
    bench = Bench(engine)
    g_ref, g_unit = reference(JETCAS, 3.0)
    w_ref = math.log(g_ref / JETCAS.g_off) / math.log(JETCAS.g_on / JETCAS.g_off)
    laws = {v: bench.pulse_law(JETCAS, v, 3.0, 8) for v in (1.1, 1.2)}
    for law in laws.values():
        w1 = 1 - (1 - w_ref) * math.exp(-law.a_set)
        step = (JETCAS.g_off * (JETCAS.g_on / JETCAS.g_off) ** w1 - g_ref) / g_unit
        assert step == pytest.approx(2 * 3.0 / 2 ** 8, rel=1e-3)  # one 8-bit weight step per SET pulse
    # below the model's steep threshold the same step takes several times longer
    assert laws[1.1].t_set > 3 * laws[1.2].t_set and laws[1.2].t_set > 2e-9


def test_block_read_integrates_the_nodal_solution(tmp_path):
    rng = np.random.default_rng(3)
    n, bits, t_lsb, v, r = 6, 3, 1e-9, 0.25, 200.0
    G = rng.uniform(JETCAS.g_off, JETCAS.g_on, (n, n))
    codes = np.array([0, 1, 3, 2, 3, 1])
    read = read_block(G, codes, t_lsb=t_lsb, input_bits=bits, v_read=v, v0=JETCAS.v0, r_wire=r, slices=3)
    cell = lambda a, b, g: g * JETCAS.v0 * np.sinh((a - b) / JETCAS.v0)  # noqa: E731
    # one slice per code step: the staircase is exact; each step from the dense MNA oracle
    q = sum(t_lsb * np.asarray(mna_column_currents(G, v * (codes > k), r, r, cell_current=cell)) for k in range(3))
    np.testing.assert_allclose(read.charge, q, rtol=1e-7)
    np.testing.assert_allclose(read.charge_ideal_sliced, read.charge_ideal, rtol=1e-12)
    assert read.slicing_error < 1e-12 and 0 < read.wire_error < 0.05 and read.energy < read.energy_ideal
    np.testing.assert_allclose(read.i_peak, mna_column_currents(G, v * (codes > 0), r, r, cell_current=cell),
                               rtol=1e-7)
    # the paper's bound: 20 mV along 1024 cells at 10 nA each
    assert wire_resistance(1024, 10e-9, 0.02) * 10e-9 * 1024 * 1025 / 2 == pytest.approx(0.02)


def test_sized_integrator_uses_its_swing_and_settles(engine):
    q_fs, i_peak, window, hold = 0.1e-12, 2e-6, 63e-9, 32e-9
    d = size_integrator(q_fs, i_peak, window, hold, adc_bits=8, rows=1024)
    assert d.c_int == pytest.approx(q_fs / V_SWING) and d.ib < 1.01e-6   # a tenth of the shipped bias
    bench = Bench(engine)
    m = bench.integrator(d)
    # full scale uses the swing, at the mean current and at the peak current's slope (within 1 %)
    assert 0.75 - m["v_out"] == pytest.approx(V_SWING, abs=4 * m["lsb"])
    assert m["gain_error_lsb"] < 2.5 and m["peak_error_lsb"] < 2.5
    assert m["reset_time"] < d.t_reset and m["settling_time"] < hold
    # the same cycle with the op-amp at its shipped bias: its static power sets the energy
    shipped = bench.integrator(replace(d, ib=10e-6))
    assert m["energy"] < shipped["energy"] * 3 * d.ib / 10e-6


def test_latency_table_gives_the_abstracts_ratios():
    analog = sum(MARINELLA_LATENCY["analog"])
    for block, key in (("digital ReRAM", "marinella.latency_vs_reram"), ("SRAM", "marinella.latency_vs_sram")):
        # the abstract rounds (34.4x to 34x)
        assert sum(MARINELLA_LATENCY[block]) / analog == pytest.approx(CLAIMS[key].value, rel=0.02)


@pytest.fixture(scope="module")
def digits():
    x, y = load_dataset("mlp", "train")
    xt, yt = load_dataset("mlp", "test")
    return x, y, xt, yt


def test_analog_training_on_an_ideal_device_follows_float(digits):
    x, y, xt, yt = digits
    W_f = train_float(x, y, hidden=24, epochs=3)
    acc_f = np.mean(predict(W_f, xt) == yt)
    # unquantised kernels and exact updates: the analog loop is the float algorithm
    W_a, counts = train_analog(x, y, None, hidden=24, epochs=3, w_range=100.0, adc_bits=None, input_bits=None)
    acc_a = np.mean(predict(W_a, xt) == yt)
    assert acc_f > 0.85
    assert acc_a == pytest.approx(acc_f, abs=0.01), (acc_f, acc_a)
    assert counts["opu"] == 3 * len(x) and counts["set"] == 0
    # the HfOx law's pulses on the paper's window: it still learns, below the ideal device
    W_d, counts = train_analog(x, y, PulseLaw(0.0107, 0.0107), hidden=24, epochs=3, w_range=3.0, card=JETCAS)
    acc_d = np.mean(predict(W_d, xt) == yt)
    assert 0.5 < acc_d < acc_f and counts["set"] > 0 and counts["reset"] > 0


def test_pulse_law_moves_states_as_stated():
    law = PulseLaw(0.1, 0.2)
    w = np.array([0.0, 0.5, 1.0])
    np.testing.assert_allclose(law.apply(w, 1, 0), 1 - (1 - w) * np.exp(-0.1))
    np.testing.assert_allclose(law.apply(w, 0, 2), w * np.exp(-0.4))
    assert np.all((law.apply(w, 50, 0) <= 1) & (law.apply(w, 0, 50) >= 0))


@pytest.mark.slow
def test_quick_training_block_report(tmp_path):
    text = run_quick_study("training-block", tmp_path / "tb", timeout=600)
    # every claim of the abstract, each with the case fixed before comparing
    for key in ("mac_energy", "energy_vs_reram", "latency_vs_reram", "energy_vs_sram", "latency_vs_sram", "accuracy"):
        assert CLAIMS[f"marinella.{key}"].text in text
    assert text.count("; agrees if") == 6
    # the VMM energy per MAC is the sum of its components, both printed in the report
    total = float(re.search(r"^\| VMM \| ([0-9.]+) \|", text, re.M).group(1))
    parts = [float(v) for v in re.findall(r"^\| VMM \| [a-zA-Z ]+ \| ([0-9.]+) \|", text, re.M)]
    assert len(parts) == 4 and total == pytest.approx(sum(parts), rel=2e-3)
    # the sensitivity table: ten assumptions, each at two values, and the tornado
    assert len(re.findall(r"^\| [^|]+ \([^|]+ / [^|]+\) \| [0-9.]+ / [0-9.]+ \|", text, re.M)) == 10
    assert "tornado.png" in text and "## What this study does not do" in text
    # the header: the device cards as the run read them, the circuits ngspice ran, no library
    head = text.split("## Setup")[0]
    assert "`netlists/reram_jetcas.lib: reram_jetcas` (g_on 3.2e-08, g_off 3.2e-09, v0 0.25" in head
    assert "pulse_bench (" in head and "integrator (" in head and "**Component library**: none read." in head
    # the card's window checked against the measured TaOx devices of the paper's accuracy analysis
    check = text.split("## The device card: what it was checked against")[1].split("\n## ")[0]
    assert "| g_on / g_off | 10.0x |" in check and "| inside |" in check and "sandialabs/cross-sim-data" in check
