"""Measure the numbers and plots of docs/peripherals.md: StrongARM comparator and the flash,
SAR and ramp ADCs, through the engine (real ngspice).

    .venv/bin/python scripts/peripherals_characterize.py [--out docs/img] [--only comparator adc4 adc6 adc8]

Results go to OUT/peripherals_results.json (updated after every block, so a long run can be
read while it goes on) and figures to OUT/peripherals_*.png. Measured run times on one core
of this 2-core machine (shared): comparator 2 min, 4-bit ADCs 6 min (with the mismatch
instance), 6-bit 16 min, 8-bit about an hour.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from cimspice.circuits import adc_metrics as am  # noqa: E402
from cimspice.circuits.adc_flash import FlashADC  # noqa: E402
from cimspice.circuits.adc_ramp import RampADC  # noqa: E402
from cimspice.circuits.adc_sar import SarADC  # noqa: E402
from cimspice.circuits.comparator import StrongArmComparator  # noqa: E402
from cimspice.spice import get_engine  # noqa: E402


def save(results: dict, path: Path) -> None:
    path.write_text(json.dumps(results, indent=1, sort_keys=True))


def comparator_block(engine, out: Path) -> dict:
    res: dict = {}
    ods = np.geomspace(1e-6, 0.3, 12)
    fig, ax = plt.subplots(figsize=(5.5, 3.8))
    for label, kwargs in (("TT", {}), ("FF", {"corner": "ff"}), ("SS", {"corner": "ss"}),
                          ("TT + pre-amplifier", {"preamp": True})):
        c = StrongArmComparator(measure_offset=False, **kwargs)
        c.load(engine)
        values = [c.simulate(engine, {"v_od": float(v)}).values for v in ods]
        delays = [v["delay"] for v in values]
        ax.semilogx(ods * 1e3, np.array(delays) * 1e12, "o-", ms=3, label=label)
        at10 = c.simulate(engine, {"v_od": 0.01}).values
        res[label] = {"delay_vs_od": {"v_od": ods.tolist(), "delay": delays},
                      "delay_10mV": at10["delay"], "energy_10mV": at10["energy"],
                      "energy_clock_10mV": at10["energy_clock"], "area": c.area()}
        if label == "TT":
            res[label]["temp"] = {t: c.simulate(engine, {"v_od": 0.01, "temp": t}).values for t in (-40.0, 27.0, 125.0)}
            res[label]["vdd"] = {v: c.simulate(engine, {"v_od": 0.01, "vdd": v}).values for v in (0.8, 0.9, 1.0, 1.1, 1.2)}
    ax.set_xlabel("overdrive v_od (mV)")
    ax.set_ylabel("decision delay (ps)")
    ax.set_title("StrongARM comparator, 45 nm, VDD 1.1 V, Vcm 0.7 V")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "peripherals_comparator_delay.png", dpi=120)
    plt.close(fig)

    # Monte Carlo offset, Pelgrom draws, bisection to 0.1 mV
    fig, ax = plt.subplots(figsize=(5.5, 3.5))
    for label, kwargs, n in (("bare", {}, 100), ("pre-amplifier", {"preamp": True}, 50)):
        c = StrongArmComparator(offset_resolution=1e-4, **kwargs)
        c.load(engine)
        draws = c.draw_mismatch(n, seed=2024)
        t0 = time.time()
        offsets = np.array([c.offset(engine, {k: float(v[i]) for k, v in draws.items()}) for i in range(n)])
        res[f"mc_{label}"] = {"n": n, "sigma": float(np.std(offsets, ddof=1)), "mean": float(np.mean(offsets)),
                              "offsets": offsets.tolist(), "seconds": time.time() - t0,
                              "pelgrom_sigmas": c.mismatch_sigmas()}
        ax.hist(offsets * 1e3, bins=15, alpha=0.6, label=f"{label}: sigma {np.std(offsets, ddof=1) * 1e3:.2f} mV (n={n})")
    ax.set_xlabel("input-referred offset (mV)")
    ax.set_ylabel("count")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "peripherals_comparator_offset.png", dpi=120)
    plt.close(fig)
    return res


def adc_block(engine, out: Path, bits: int, plan: list, tag: str = "") -> dict:
    res: dict = {}
    fig, axes = plt.subplots(3, 3, figsize=(11, 8))
    for row, (name, make, spc, m_sine) in enumerate(plan):
        adc = make()
        entry: dict = {"area": adc.area(), "t_conversion_cycles": adc.cycles_per_conversion()}
        p = {k.name: k.default for k in adc.parameters}
        lo, hi = p["v_ref_lo"], p["v_ref_hi"]
        t0 = time.time()
        if spc:
            v = lo + (np.arange(spc * 2 ** bits) + 0.5) * (hi - lo) / (spc * 2 ** bits)
            conv = adc.convert(engine, v)
            metrics = adc.ramp_metrics(conv, p)
            levels = am.transition_levels(v, conv.codes, bits)
            dnl, inl = am.dnl_inl(levels, method="endpoint")
            entry.update(ramp=metrics, energy_by_source={k: x / len(v) for k, x in conv.energy_by_source.items()},
                         ramp_seconds=time.time() - t0, energy_per_conversion=conv.energy_per_conversion,
                         t_conversion=conv.t_conversion)
            ax = axes[row, 0]
            ax.step(v, conv.codes, where="mid", label="ngspice")
            ax.plot(v, am.ideal_quantiser(v, bits, lo, hi), "--", lw=0.8, label="ideal")
            ax.set_title(f"{name} {bits}-bit transfer")
            ax.set_xlabel("v_in (V)")
            ax.legend(fontsize=7)
            axes[row, 1].plot(np.arange(1, 2 ** bits - 1), dnl, ".-", label="DNL")
            axes[row, 1].plot(np.arange(1, 2 ** bits), inl, ".-", label="INL")
            axes[row, 1].set_title(f"{name}: LSB (resolution 1/{spc})")
            axes[row, 1].legend(fontsize=7)
        if m_sine:
            t1 = time.time()
            j = am.coherent_cycles(m_sine, m_sine / 9)
            vs = am.sine_input(m_sine, j, lo, hi, amplitude=0.98)
            conv = adc.convert(engine, vs)
            sine = am.sine_test(conv.codes, j)
            ideal = am.sine_test(am.ideal_quantiser(vs, bits, lo, hi), j)
            entry.update(enob=sine.enob, sinad=sine.sinad, sfdr=sine.sfdr, enob_ideal=ideal.enob, n_sine=m_sine,
                         sine_seconds=time.time() - t1, energy_per_conversion_sine=conv.energy_per_conversion,
                         t_conversion=conv.t_conversion)
            entry.setdefault("energy_per_conversion", conv.energy_per_conversion)
            spectrum = np.abs(np.fft.rfft(conv.codes - conv.codes.mean())) ** 2
            axes[row, 2].plot(10 * np.log10(spectrum / spectrum.max() + 1e-16), lw=0.8)
            axes[row, 2].set_title(f"{name}: sine, ENOB {sine.enob:.2f} (ideal {ideal.enob:.2f})")
            axes[row, 2].set_xlabel("bin")
        if not spc and not m_sine:
            t1 = time.time()
            vs = np.random.default_rng(1).uniform(lo, hi, plan_random(bits))
            conv = adc.convert(engine, vs)
            err = conv.codes - am.ideal_quantiser(vs, bits, lo, hi)
            entry.update(energy_per_conversion=conv.energy_per_conversion, t_conversion=conv.t_conversion,
                         random_code_error_max=float(np.max(np.abs(err))), random_code_error_mean=float(np.mean(err)),
                         random_n=len(vs), random_seconds=time.time() - t1,
                         energy_by_source={k: x / len(vs) for k, x in conv.energy_by_source.items()})
        res[name] = entry
        print(f"{bits}-bit {name}: {json.dumps(entry, default=float)[:400]}", flush=True)
    fig.tight_layout()
    fig.savefig(out / f"peripherals_adc{bits}{tag}.png", dpi=110)
    plt.close(fig)
    return res


def plan_random(bits: int) -> int:
    return 8 if bits >= 8 else 32


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="docs/img")
    parser.add_argument("--only", nargs="*", default=["comparator", "adc4", "adc6", "adc8"])
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / "peripherals_results.json"
    results = json.loads(path.read_text()) if path.exists() else {}
    engine = get_engine()
    if "comparator" in args.only:
        results["comparator"] = comparator_block(engine, out)
        save(results, path)
    plans = {
        4: [("flash", lambda: FlashADC(4), 4, 64), ("sar", lambda: SarADC(4), 4, 64),
            ("ramp", lambda: RampADC(4, n_columns=4), 4, 64)],
        6: [("flash", lambda: FlashADC(6), 2, 128), ("sar", lambda: SarADC(6), 2, 128),
            ("ramp", lambda: RampADC(6, n_columns=8), 2, 128)],
        8: [("flash", lambda: FlashADC(8), 0, 0), ("sar", lambda: SarADC(8), 1, 256),
            ("ramp", lambda: RampADC(8, n_columns=16), 1, 256)],
    }
    for bits in (4, 6, 8):
        if f"adc{bits}" in args.only:
            results[f"adc{bits}"] = adc_block(engine, out, bits, plans[bits])
            if bits == 4:  # one fabricated instance: Pelgrom mismatch in every comparator
                results["adc4_mismatch"] = adc_block(engine, out, 4, [
                    ("flash", lambda: FlashADC(4, mismatch_seed=1), 4, 64),
                    ("sar", lambda: SarADC(4, mismatch_seed=1), 4, 64),
                    ("ramp", lambda: RampADC(4, n_columns=4, mismatch_seed=1), 4, 64)], tag="_mismatch")
            save(results, path)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
