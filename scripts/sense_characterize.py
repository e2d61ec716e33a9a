"""Measure the bit-line sense circuits for docs/sense.md: op-amp, TIA, current sense
amplifier and integrator at the three corners, a small Monte Carlo of each offset with
Python-drawn thresholds, and one figure per circuit in docs/img/.

    .venv/bin/python scripts/sense_characterize.py [--quick] [-o docs/img]

Prints the tables as Markdown. Takes ~2 min on one core (--quick: ~30 s, fewer draws).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from cimspice.circuits.devices import CORNERS
from cimspice.circuits.integrator import Integrator, nonlinearity
from cimspice.circuits.opamp import OpAmp
from cimspice.circuits.sense_amp import CurrentSenseAmplifier
from cimspice.circuits.tia import T_STEP, TransimpedanceAmplifier
from cimspice.spice import get_engine


def spread(values: np.ndarray, scale: float = 1.0, unit: str = "") -> str:
    """Sample sigma with its standard error (normal draws: sigma / sqrt(2 (n - 1)))."""
    s = values.std(ddof=1) * scale
    return f"{s:.2f} +- {s / np.sqrt(2 * (len(values) - 1)):.2f}{unit}"


def monte_carlo(engine, circuit, n: int, output: str, point: dict, seed: int = 1) -> np.ndarray:
    circuit.load(engine)
    draws = circuit.draw_mismatch(n, seed=seed)
    return np.array([circuit.simulate(engine, {**point, **{k: float(v[j]) for k, v in draws.items()}}).values[output]
                     for j in range(n)])


def opamp(engine, n_mc: int) -> None:
    print("\n### Op-amp (open loop, v_cm = 0.75 V, 100 fF load)\n")
    print("| corner | temp (C) | A0 (dB) | GBW (MHz) | PM (deg) | r_out (kOhm) | offset (mV) | power (uW) |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for corner in CORNERS:
        amp = OpAmp(corner=corner)
        amp.load(engine)
        for temp in (-40.0, 27.0, 125.0):
            m = amp.simulate(engine, {"temp": temp}).values
            print(f"| {corner} | {temp:g} | {20 * np.log10(m['a0']):.1f} | {m['gbw'] / 1e6:.0f} | "
                  f"{m['phase_margin']:.1f} | {m['r_out'] / 1e3:.1f} | {m['offset'] * 1e3:.2f} | "
                  f"{m['power'] * 1e6:.0f} |")
    offsets = monte_carlo(engine, OpAmp(), n_mc, "offset", {})
    print(f"\nMonte Carlo (TT, 27 C, {n_mc} draws, A_VT = 2.5 mV um): offset mean "
          f"{offsets.mean() * 1e3:.2f} mV, sigma {spread(offsets, 1e3, ' mV')}; "
          f"area {OpAmp().area() * 1e12:.0f} um^2")


def tia(engine, n_mc: int, out: Path) -> None:
    import matplotlib.pyplot as plt

    print("\n### TIA (r_f = 5 kOhm, c_f = 100 fF, c_bl = 50 fF, c_load = 100 fF, v_ref = 0.75 V)\n")
    print("| corner | i_in (uA) | v_out (V) | transimpedance (Ohm) | v_in_error (mV) | v_in_peak (mV) | "
          "settling (ns) | energy_read 10 ns (pJ) | power (uW) |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for corner in CORNERS:
        amp = TransimpedanceAmplifier(corner=corner)
        amp.load(engine)
        for i in (0.0, 20e-6, 50e-6, 100e-6):
            m = amp.simulate(engine, {"i_in": i}).values
            print(f"| {corner} | {i * 1e6:g} | {m['v_out']:.4f} | {m['transimpedance']:.1f} | "
                  f"{m['v_in_error'] * 1e3:.2f} | {m['v_in_peak'] * 1e3:.0f} | {m['settling_time'] * 1e9:.2f} | "
                  f"{m['energy_read'] * 1e12:.2f} | {m['power'] * 1e6:.0f} |")
    amp = TransimpedanceAmplifier()
    amp.load(engine)
    print("\nSettling (ns) of a 0 -> i_in step against the bit-line capacitance (TT, 27 C):\n")
    print("| c_bl (fF) | 20 uA | 50 uA | 100 uA |")
    print("| --- | --- | --- | --- |")
    for c_bl in (10e-15, 50e-15, 200e-15, 500e-15):
        row = [amp.simulate(engine, {"i_in": i, "c_bl": c_bl}).values["settling_time"] for i in (20e-6, 50e-6, 100e-6)]
        print(f"| {c_bl * 1e15:g} | " + " | ".join(f"{x * 1e9:.2f}" for x in row) + " |")
    offsets = monte_carlo(engine, amp, n_mc, "offset_v", {"i_in": 50e-6})
    print(f"\nMonte Carlo (TT, {n_mc} draws): offset_v sigma {spread(offsets, 1e3, ' mV')} "
          f"(offset_i sigma {offsets.std(ddof=1) / amp.r_f * 1e9:.0f} nA = "
          f"{offsets.std(ddof=1) / amp.r_f / amp.i_full_scale * 100:.2f} % of full scale); area "
          f"{amp.area() * 1e12:.0f} um^2")

    amp.load(engine)
    currents = np.linspace(-30e-6, 150e-6, 37)
    v = [amp.simulate(engine, {"i_in": i}).values["v_out"] for i in currents]
    fig, (a, b) = plt.subplots(1, 2, figsize=(9, 3.4))
    a.plot(currents * 1e6, v, "o-", ms=3, label="TIA (TT, 27 C)")
    a.plot(currents * 1e6, 0.75 - currents * amp.r_f, "k--", lw=1, label="0.75 V - I r_f")
    a.set_xlabel("column current i_in (uA)")
    a.set_ylabel("v_out (V)")
    a.legend()
    a.set_title("transfer")
    for i in (20e-6, 50e-6, 100e-6):
        amp.simulate(engine, {"i_in": i})
        amp.set(engine, "iin", 0.0)
        amp.set(engine, "gstep", gain=i)
        r = engine.tran(amp.t_read / 200, T_STEP + 2 * amp.t_read, vectors=["time", "v(out)"])
        amp.set(engine, "gstep", gain=0.0)
        b.plot((r["time"] - T_STEP) * 1e9, r["v(out)"], label=f"{i * 1e6:g} uA step")
    b.set_xlabel("time after the step (ns)")
    b.set_ylabel("v_out (V)")
    b.set_title("step response, c_bl = 50 fF")
    b.legend(loc="center right")
    fig.tight_layout()
    fig.savefig(out / "sense_tia.png", dpi=120)
    plt.close(fig)


def sense_amp(engine, n_mc: int, out: Path) -> None:
    import matplotlib.pyplot as plt

    print("\n### Current sense amplifier (c_load = 2 fF per output)\n")
    print("| corner | i_ref (uA) | delay at +1 % (ns) | delay at +10 % (ns) | energy (fJ) | clock energy (fJ) |")
    print("| --- | --- | --- | --- | --- | --- |")
    for corner in CORNERS:
        amp = CurrentSenseAmplifier(corner=corner, measure_offset=False)
        amp.load(engine)
        for i_ref in (1e-6, 10e-6, 100e-6):
            m1 = amp.simulate(engine, {"i_bl": 1.01 * i_ref, "i_ref": i_ref}).values
            m10 = amp.simulate(engine, {"i_bl": 1.1 * i_ref, "i_ref": i_ref}).values
            print(f"| {corner} | {i_ref * 1e6:g} | {m1['delay'] * 1e9:.3f} | {m10['delay'] * 1e9:.3f} | "
                  f"{m10['energy'] * 1e15:.1f} | {m10['energy_clock'] * 1e15:.2f} |")
    amp = CurrentSenseAmplifier(offset_resolution=2e-3)
    for i_ref in (1e-6, 10e-6):
        offsets = monte_carlo(engine, amp, n_mc, "offset_i", {"i_bl": i_ref, "i_ref": i_ref})
        print(f"\nMonte Carlo (TT, {n_mc} draws, i_ref = {i_ref * 1e6:g} uA): offset_i mean "
              f"{offsets.mean() / i_ref * 100:.2f} %, sigma {spread(offsets, 100 / i_ref, ' %')} of i_ref")
    print(f"\narea {amp.area() * 1e12:.1f} um^2")

    fig, ax = plt.subplots(figsize=(5, 3.4))
    fast = CurrentSenseAmplifier(measure_offset=False)
    fast.load(engine)
    rel = np.geomspace(1e-3, 1.0, 13)
    for i_ref in (1e-6, 10e-6, 100e-6):
        d = [fast.simulate(engine, {"i_bl": i_ref * (1 + x), "i_ref": i_ref}).values["delay"] for x in rel]
        ax.loglog(rel * 100, np.array(d) * 1e9, "o-", ms=3, label=f"i_ref = {i_ref * 1e6:g} uA")
    ax.set_xlabel("(i_bl - i_ref) / i_ref (%)")
    ax.set_ylabel("decision delay (ns)")
    ax.set_title("current sense amplifier, TT 27 C")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "sense_amp_delay.png", dpi=120)
    plt.close(fig)


def integrator(engine, n_mc: int, out: Path) -> None:
    import matplotlib.pyplot as plt

    print("\n### Integrator (c_int = 1 pF, window 5 ns, t_hold 3 ns, c_bl = 50 fF)\n")
    print("| corner | i_in (uA) | t_pulse (ns) | v_out (V) | error (mV) | pedestal (mV) | v_in_peak (mV) | "
          "settling (ns) | reset (ns) | energy (pJ) |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for corner in CORNERS:
        amp = Integrator(corner=corner)
        amp.load(engine)
        for i, t in ((100e-6, 5e-9), (50e-6, 2.5e-9), (20e-6, 1e-9)):
            m = amp.simulate(engine, {"i_in": i, "t_pulse": t}).values
            print(f"| {corner} | {i * 1e6:g} | {t * 1e9:g} | {m['v_out']:.4f} | {m['error'] * 1e3:.2f} | "
                  f"{m['pedestal'] * 1e3:.2f} | {m['v_in_peak'] * 1e3:.0f} | {m['settling_time'] * 1e9:.2f} | "
                  f"{m['reset_time'] * 1e9:.2f} | {m['energy'] * 1e12:.2f} |")
    amp = Integrator()
    amp.load(engine)
    widths = np.linspace(0.25e-9, 5e-9, 20)
    v = np.array([amp.simulate(engine, {"i_in": 100e-6, "t_pulse": w}).values["v_out"] for w in widths])
    q = 100e-6 * widths
    slope = np.polyfit(q, v, 1)[0]
    print(f"\nTransfer at 100 uA, widths 0.25-5 ns: nonlinearity {nonlinearity(q, v) * 100:.3f} % of the span, "
          f"gain {-slope * amp.c_int:.4f} x (1 / c_int)")
    peds = monte_carlo(engine, amp, n_mc, "pedestal", {"i_in": 50e-6, "t_pulse": 2.5e-9})
    print(f"Monte Carlo (TT, {n_mc} draws): pedestal mean {peds.mean() * 1e3:.2f} mV, "
          f"sigma {spread(peds, 1e3, ' mV')}; area {amp.area() * 1e12:.0f} um^2")
    fig, (a, b) = plt.subplots(1, 2, figsize=(9, 3.4))
    a.plot(q * 1e15, v, "o-", ms=3, label="integrator (TT, 27 C)")
    a.plot(q * 1e15, 0.75 - q / amp.c_int, "k--", lw=1, label="0.75 V - Q / c_int")
    a.set_xlabel("charge i_in * t_pulse (fC)")
    a.set_ylabel("v_out (V)")
    a.legend()
    a.set_title("transfer, i_in = 100 uA")
    b.plot(q * 1e15, (v - (0.75 - q / amp.c_int)) * 1e3, "o-", ms=3)
    b.axhline(0.5 * amp.lsb * 1e3, color="grey", lw=0.8)
    b.axhline(-0.5 * amp.lsb * 1e3, color="grey", lw=0.8)
    b.set_xlabel("charge (fC)")
    b.set_ylabel("error (mV); grey: +-0.5 LSB of 6 bits")
    b.set_title("error against Q / c_int")
    fig.tight_layout()
    fig.savefig(out / "sense_integrator.png", dpi=120)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--out", default="docs/img", type=Path)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    engine = get_engine()
    n = 10 if args.quick else 40
    start = time.perf_counter()
    opamp(engine, 10 * n)
    tia(engine, 10 * n, args.out)
    sense_amp(engine, n, args.out)
    integrator(engine, n, args.out)
    print(f"\n({time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
