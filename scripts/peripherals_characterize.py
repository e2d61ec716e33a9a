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
            res[label]["temp"] = {t: c.simulate(engine, {"v_od": 0.01, "temp": t}).values
                                  for t in (-40.0, 27.0, 125.0)}
            res[label]["vdd"] = {v: c.simulate(engine, {"v_od": 0.01, "vdd": v}).values
                                 for v in (0.8, 0.9, 1.0, 1.1, 1.2)}
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
        ax.hist(offsets * 1e3, bins=15, alpha=0.6,
                label=f"{label}: sigma {np.std(offsets, ddof=1) * 1e3:.2f} mV (n={n})")
    ax.set_xlabel("input-referred offset (mV)")
    ax.set_ylabel("count")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "peripherals_comparator_offset.png", dpi=120)
    plt.close(fig)
    return res


def measure_adc(engine, bits: int, name: str, make, spc: int, m_sine: int) -> dict:
    """One ADC: ramp test (``spc`` samples per code), coherent sine (``m_sine`` samples), or
    if both are 0 a few random inputs. The codes are kept so figures can be redrawn."""
    adc = make()
    entry: dict = {"area": adc.area(), "t_conversion_cycles": adc.cycles_per_conversion()}
    p = {k.name: k.default for k in adc.parameters}
    lo, hi = p["v_ref_lo"], p["v_ref_hi"]
    entry.update(v_ref_lo=lo, v_ref_hi=hi)
    if spc:
        t0 = time.time()
        v = lo + (np.arange(spc * 2 ** bits) + 0.5) * (hi - lo) / (spc * 2 ** bits)
        conv = adc.convert(engine, v)
        entry.update(ramp=adc.ramp_metrics(conv, p), ramp_v=v.tolist(), ramp_codes=conv.codes.tolist(), spc=spc,
                     energy_by_source={k: x / len(v) for k, x in conv.energy_by_source.items()},
                     ramp_seconds=time.time() - t0, energy_per_conversion=conv.energy_per_conversion,
                     t_conversion=conv.t_conversion)
    if m_sine:
        t0 = time.time()
        j = am.coherent_cycles(m_sine, m_sine / 9)
        vs = am.sine_input(m_sine, j, lo, hi, amplitude=0.98)
        conv = adc.convert(engine, vs)
        sine = am.sine_test(conv.codes, j)
        ideal = am.sine_test(am.ideal_quantiser(vs, bits, lo, hi), j)
        entry.update(enob=sine.enob, sinad=sine.sinad, sfdr=sine.sfdr, enob_ideal=ideal.enob, n_sine=m_sine,
                     sine_cycles=j, sine_codes=conv.codes.tolist(), sine_seconds=time.time() - t0,
                     energy_per_conversion_sine=conv.energy_per_conversion, t_conversion=conv.t_conversion)
        entry.setdefault("energy_per_conversion", conv.energy_per_conversion)
    if not spc and not m_sine:
        t0 = time.time()
        vs = np.random.default_rng(1).uniform(lo, hi, 8)
        conv = adc.convert(engine, vs)
        err = conv.codes - am.ideal_quantiser(vs, bits, lo, hi)
        entry.update(energy_per_conversion=conv.energy_per_conversion, t_conversion=conv.t_conversion,
                     random_code_error_max=float(np.max(np.abs(err))), random_code_error_mean=float(np.mean(err)),
                     random_n=len(vs), random_seconds=time.time() - t0,
                     energy_by_source={k: x / len(vs) for k, x in conv.energy_by_source.items()})
    print(f"{bits}-bit {name}: energy {entry['energy_per_conversion']:.3g} J, "
          f"ENOB {entry.get('enob', float('nan')):.2f}, "
          f"INL {entry.get('ramp', {}).get('inl_max', float('nan')):.2f}", flush=True)
    return entry


def plot_adcs(block: dict, bits: int, path: Path) -> None:
    """Transfer curve, DNL/INL and sine spectrum of each ADC of one resolution."""
    fig, axes = plt.subplots(3, 3, figsize=(11, 8))
    for row, name in enumerate(("flash", "sar", "ramp")):
        e = block.get(name, {})
        if "ramp_codes" not in e:
            axes[row, 0].set_axis_off()
            axes[row, 1].set_axis_off()
        if "ramp_codes" in e:
            v, codes = np.array(e["ramp_v"]), np.array(e["ramp_codes"])
            lo, hi = e["v_ref_lo"], e["v_ref_hi"]
            dnl, inl = am.dnl_inl(am.transition_levels(v, codes, bits), method="endpoint")
            axes[row, 0].step(v, codes, where="mid", label="ngspice")
            axes[row, 0].plot(v, am.ideal_quantiser(v, bits, lo, hi), "--", lw=0.8, label="ideal")
            axes[row, 0].set_title(f"{name} {bits}-bit transfer")
            axes[row, 0].set_xlabel("v_in (V)")
            axes[row, 0].legend(fontsize=7)
            axes[row, 1].plot(np.arange(1, 2 ** bits - 1), dnl, ".-", label="DNL")
            axes[row, 1].plot(np.arange(1, 2 ** bits), inl, ".-", label="INL")
            axes[row, 1].set_ylim(min(-0.3, dnl.min(), inl.min()) - 0.05, max(0.3, dnl.max(), inl.max()) + 0.05)
            axes[row, 1].set_title(f"{name}: DNL, INL (LSB; resolution 1/{e['spc']})")
            axes[row, 1].set_xlabel("code")
            axes[row, 1].legend(fontsize=7)
        if "sine_codes" in e:
            codes = np.array(e["sine_codes"], dtype=float)
            spectrum = np.abs(np.fft.rfft(codes - codes.mean())) ** 2
            axes[row, 2].plot(10 * np.log10(spectrum / spectrum.max() + 1e-16), lw=0.8)
            axes[row, 2].set_ylim(-100, 5)
            axes[row, 2].set_title(f"{name}: sine, ENOB {e['enob']:.2f} (ideal {e['enob_ideal']:.2f})")
            axes[row, 2].set_xlabel("bin")
            axes[row, 2].set_ylabel("dB")
        elif e:
            axes[row, 2].text(0.05, 0.5, f"{name}: {e.get('random_n', 0)} random inputs,\n"
                              f"max |code error| {e.get('random_code_error_max', float('nan')):.0f} LSB",
                              transform=axes[row, 2].transAxes)
            axes[row, 2].set_axis_off()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


PLANS = {  # name, constructor, ramp-test samples per code, sine samples
    "adc4": [("flash", lambda: FlashADC(4), 4, 64), ("sar", lambda: SarADC(4), 4, 64),
             ("ramp", lambda: RampADC(4, n_columns=4), 4, 64)],
    "adc4_mismatch": [("flash", lambda: FlashADC(4, mismatch_seed=1), 4, 64),
                      ("sar", lambda: SarADC(4, mismatch_seed=1), 4, 64),
                      ("ramp", lambda: RampADC(4, n_columns=4, mismatch_seed=1), 4, 64)],
    "adc6": [("flash", lambda: FlashADC(6), 2, 128), ("sar", lambda: SarADC(6), 2, 128),
             ("ramp", lambda: RampADC(6, n_columns=8), 2, 128)],
    "adc8": [("flash", lambda: FlashADC(8), 0, 0), ("sar", lambda: SarADC(8), 1, 256),
             ("ramp", lambda: RampADC(8, n_columns=16), 1, 256)],
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="docs/img")
    parser.add_argument("--only", nargs="*", default=["comparator", *PLANS])
    parser.add_argument("--archs", nargs="*", default=["flash", "sar", "ramp"],
                        help="ADC architectures to (re)measure; the others keep their stored results "
                             "(give none to redraw the figures from the stored results)")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / "peripherals_results.json"
    results = json.loads(path.read_text()) if path.exists() else {}
    engine = get_engine()
    if "comparator" in args.only:
        results["comparator"] = comparator_block(engine, out)
        save(results, path)
    for block, plan in PLANS.items():
        if block not in args.only:
            continue
        bits = int(block[3])
        stored = results.setdefault(block, {})
        for name, make, spc, m_sine in plan:
            if name in args.archs:
                stored[name] = measure_adc(engine, bits, name, make, spc, m_sine)
                save(results, path)
        plot_adcs(stored, bits, out / f"peripherals_{block}.png")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
