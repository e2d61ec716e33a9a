"""The paper's device card (netlists/reram_jetcas.lib) read by ngspice and by Python, and the
one-pulse bench on any card against the model's closed-form switching rate."""

from __future__ import annotations

import math

import numpy as np
import pytest

from cimspice.circuits import CircuitError
from cimspice.circuits.devices import RERAM, reram_card
from cimspice.circuits.pulse import PulseBench
from cimspice.paths import netlist_path

JETCAS = reram_card("reram_jetcas.lib", "reram_jetcas")


def closed_form_rate(v, lnratio, temp_c=27.0):
    """dw/dt = k (exp((V - v_set)/v_s) - 1) (1 - w): the Stanford-PKU constants of
    netlists/reram.lib written out here (docs/devices.md); k scales as 1 / ln(g_on/g_off)."""
    kb = 8.617333e-5
    T = temp_c + 273.15
    g0, nu0, ea, a0, tox, gamma0, f_min = 0.25e-9, 10.0, 0.6, 0.25e-9, 12e-9, 16.0, 1.4e9
    v_th = f_min * tox / gamma0
    k = nu0 / (2 * g0 * lnratio) * math.exp(-(ea - gamma0 * a0 * v_th / tox) / (kb * T))
    v_s = tox * kb * T / (gamma0 * a0)
    return k * (math.exp((v - v_th) / v_s) - 1.0)


def test_device_card_states_the_papers_numbers_and_ngspice_reads_them(batch):
    # R_ON = 1 V / 32 nA (electromigration), 10 nA per cell for 20 mV of IR drop, 10x window
    assert (JETCAS.g_on, JETCAS.g_off, JETCAS.i_write_max, JETCAS.i_read_max) == (32e-9, 3.2e-9, 32e-9, 10e-9)
    v = JETCAS.read_voltage()
    deck = "\n".join(["card read", f'.include "{netlist_path("reram_jetcas.lib")}"', f"vr te 0 dc {v!r}",
                      "xr te 0 reram_jetcas g=32n", ".end"])
    i = -batch(deck, ["i(vr)"])["i(vr)"]
    assert i == pytest.approx(10e-9, rel=1e-6)  # the card's subcircuit, read by ngspice, at its read voltage


@pytest.mark.parametrize("card", [RERAM, JETCAS], ids=["reram", "jetcas"])
@pytest.mark.parametrize("v, t", [(1.2, 5e-9), (1.3, 20e-9)])
def test_pulse_bench_matches_the_models_closed_form(engine, card, v, t):
    bench = PulseBench(card)
    s = bench.response(engine, v, t, 0.5)
    r = bench.response(engine, -v, t, 0.5)
    expected = closed_form_rate(v, math.log(card.g_on / card.g_off)) * t  # the 1 ns edges add a little
    assert s.a == pytest.approx(expected, rel=0.15)
    assert r.a == pytest.approx(s.a, rel=1e-3)   # symmetric thresholds in the model
    assert s.duration == pytest.approx(t + 2e-9, rel=0.01)
    # energy: the read law over the trapezoid lies between its values at the conductances
    # the pulse starts and ends at
    time = np.linspace(0.0, t + 2e-9, 20001)
    u = np.clip(np.minimum(time, t + 2e-9 - time) / 1e-9, 0.0, 1.0)

    def energy(amplitude, w):
        g, v_t = card.g_off * (card.g_on / card.g_off) ** w, amplitude * u
        p = v_t * g * card.v0 * np.sinh(v_t / card.v0)
        return float(np.sum(0.5 * (p[1:] + p[:-1]) * np.diff(time)))

    for res in (s, r):
        lo, hi = sorted((energy(res.v, res.w0), energy(res.v, res.w1)))
        assert 0.99 * lo <= res.energy <= 1.01 * hi, (res, lo, hi)


def test_pulse_below_threshold_is_refused_by_width_for(engine):
    with pytest.raises(CircuitError, match="does not switch"):
        PulseBench(JETCAS).width_for(engine, 1.0, 0.01, 0.5)
    with pytest.raises(CircuitError, match="no .subckt no_such_card"):
        reram_card("reram_jetcas.lib", "no_such_card")
