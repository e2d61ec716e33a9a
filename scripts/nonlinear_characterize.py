"""Reproduce docs/nonlinear.md: transfer curves, error tables, energy/latency, programming
cost per function switch, area, and the energy ratio against the LUT baseline.

    .venv/bin/python scripts/nonlinear_characterize.py [--quick] [-o docs/img]

Writes docs/img/nonlinear_*.png and docs/img/nonlinear_results.json; prints Markdown tables.
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path

import numpy as np

from cimspice.circuits.lut_baseline import LutActivation
from cimspice.circuits.nonlinear import FUNCTIONS, transfer_error
from cimspice.circuits.programming import ArrayProgrammer
from cimspice.circuits.pwl_unit import PwlUnit
from cimspice.spice import get_engine

ORDER = ("sigmoid", "tanh", "relu", "gelu", "exp")
SIGMA_LNG = 0.05  # device-to-device sigma of ln G for the open-loop Monte Carlo


def lut_error(function, n_bits):
    lut = LutActivation(function, address_bits=min(n_bits, 6))
    if n_bits > 6:  # the NumPy model only (same ROM rule), for the equal-accuracy search
        lut.address_bits = n_bits
        n = 2 ** n_bits
        c = lut.x_min + (np.arange(n) + 0.5) * (lut.x_max - lut.x_min) / n
        lut.words = np.round((FUNCTIONS[function][0](c) - lut.y_lo) / (lut.y_hi - lut.y_lo) * 255).astype(int)
    x = np.linspace(lut.x_min, lut.x_max, 20001)
    return transfer_error(function, x, lut.predict(x))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("-o", "--out", default="docs/img")
    ap.add_argument("--tables", action="store_true",
                    help="only print the Markdown tables of OUT/nonlinear_results.json")
    ap.add_argument("--library", metavar="PATH",
                    help="only build a surrogate library of every function (see --segments)")
    ap.add_argument("--segments", type=int, default=16)
    ap.add_argument("--pooling", action="store_true",
                    help="only characterize the pooling circuits (merged into the JSON)")
    ap.add_argument("--system", action="store_true", help="only run the shipped LSTM and GPT with array nonlinearities "
                    "of 4, 8, 16 segments (ideal arrays otherwise)")
    args = ap.parse_args()
    if args.system:
        system_study()
        return
    if args.library:
        build_library(Path(args.library), args.segments)
        return
    if args.pooling:
        path = Path(args.out) / "nonlinear_results.json"
        res = json.loads(path.read_text())
        res["pooling"] = pooling(get_engine())
        path.write_text(json.dumps(res, indent=1))
        print(json.dumps(res["pooling"], indent=1))
        return
    if args.tables:
        res = json.loads((Path(args.out) / "nonlinear_results.json").read_text())
        tables(res)
        plots(res, Path(args.out), sorted({int(k.split("/")[1]) for k in res["errors"]}))
        return
    logging.basicConfig(level=logging.WARNING)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    engine = get_engine()
    seg_list = (4, 8) if args.quick else (4, 8, 16, 32)
    n_mc = 2 if args.quick else 8
    res = {"errors": {}, "energy": {}, "programming": {}, "area": {}, "lut": {}, "ratio": {}, "curves": {}}
    t_start = time.time()

    # 1. transfer error, nominal and Monte Carlo; energy and latency from the StrongARM transient
    for S in seg_list:
        for f in ORDER:
            unit = PwlUnit(f, S, timing=False)  # DC netlist: transfer and Monte Carlo
            unit.load(engine)
            x, y = unit.transfer(engine, 401)
            nom = transfer_error(f, x, y)
            mc = unit.monte_carlo(engine, SIGMA_LNG, n_mc, n_points=201, seed=S)
            res["errors"][f"{f}/{S}"] = {"nominal": nom, "mc_max_pct_mean": float(np.mean([m["max_pct"] for m in mc])),
                                         "mc_max_pct_worst": float(np.max([m["max_pct"] for m in mc])),
                                         "mc_rms_pct_mean": float(np.mean([m["rms_pct"] for m in mc]))}
            xs = np.linspace(unit.program_.x_min, unit.program_.x_max, 5)[1:-1] + 0.013
            unit = PwlUnit(f, S)  # with the StrongARM bank: energy and latency
            unit.load(engine)
            ts = []
            for xv in xs:
                engine.alter("vin", float(unit.program_.v_of_x(xv)))
                ts.append(unit.evaluate_transient(engine))
            res["energy"][f"{f}/{S}"] = {"energy": float(np.mean([t["energy"] for t in ts])),
                                         "energy_drivers": float(np.mean([t["energy_drivers"] for t in ts])),
                                         "latency": float(np.max([t["latency"] for t in ts]))}
            res["area"][str(S)] = unit.area()
            print(f"[{time.time() - t_start:6.0f} s] {f} S={S}: max {nom['max_pct']:.2f} % rms {nom['rms_pct']:.2f} %, "
                  f"MC max {res['errors'][f'{f}/{S}']['mc_max_pct_mean']:.2f} %, "
                  f"E {res['energy'][f'{f}/{S}']['energy']:.3g} J", flush=True)

    # 2. one array reprogrammed through every function in turn (write-verify, states carried)
    for S in seg_list:
        unit = PwlUnit("sigmoid", S, timing=False)
        prog = ArrayProgrammer((S, 4), initial=None, seed=0)
        seq = ORDER + ("sigmoid",)
        for f in seq:
            target = unit.program(f).conductances
            rep = prog.program(engine, target)
            key = f"{S}/{f}" if f"{S}/{f}" not in res["programming"] else f"{S}/{f}(again)"
            res["programming"][key] = rep.summary()
            if S == (16 if not args.quick else 8) and key.endswith(f):
                unit.load(engine)
                unit.set_conductances(engine, rep.conductance)
                x, y = unit.transfer(engine, 401)
                res["curves"][f] = {"x": x.tolist(), "y": y.tolist(), "error": transfer_error(f, x, y)}
            print(f"[{time.time() - t_start:6.0f} s] programmed S={S} -> {f}: {rep.summary()}", flush=True)

    # 2b. device variation with write-verify: the verify loop reads the real (varied) device
    for S in seg_list:
        unit = PwlUnit("sigmoid", S, timing=False)
        prog = ArrayProgrammer((S, 4), sigma_lng=SIGMA_LNG, sigma_vth=0.02, seed=100 + S)
        for f in ORDER:
            rep = prog.program(engine, unit.program(f).conductances)
            unit.load(engine)
            unit.set_conductances(engine, rep.conductance)
            res["errors"][f"{f}/{S}"]["mc_verified"] = transfer_error(f, *unit.transfer(engine, 401))
            print(f"[{time.time() - t_start:6.0f} s] verified with variation S={S} {f}: "
                  f"{res['errors'][f'{f}/{S}']['mc_verified']['max_pct']:.2f} %", flush=True)

    # 3. LUT baseline energies (simulated up to 6 address bits) and equal-accuracy ratio
    lut_bits = (3, 4) if args.quick else (3, 4, 5, 6)
    for f in ORDER:
        for n in lut_bits:
            lut = LutActivation(f, address_bits=n)
            lut.load(engine)
            xs = np.linspace(lut.x_min, lut.x_max, 4)[1:-1] + 0.011
            ms = [lut.simulate(engine, {"x": float(x)}).values for x in xs]
            res["lut"][f"{f}/{n}"] = {"energy": float(np.mean([m["energy"] for m in ms])),
                                      "latency": float(np.max([m["latency"] for m in ms])),
                                      "error": lut_error(f, n), "area": lut.area()}
            print(f"[{time.time() - t_start:6.0f} s] LUT {f} N={n}: {res['lut'][f'{f}/{n}']['energy']:.3g} J",
                  flush=True)
    for f in ORDER:
        e_n = np.array([res["lut"][f"{f}/{n}"]["energy"] for n in lut_bits])
        slope, icpt = np.polyfit(2.0 ** np.array(lut_bits), e_n, 1)  # energy grows with the comparator count
        for S in seg_list:
            target = res["errors"][f"{f}/{S}"]["nominal"]["max_pct"]
            n_eq = next((n for n in range(2, 13) if lut_error(f, n)["max_pct"] <= target), None)
            if n_eq is None:  # 8-bit words never get there: compare with the largest table tried
                res["ratio"][f"{f}/{S}"] = {"lut_bits": None, "ratio": None,
                                            "note": "LUT with 8-bit words never reaches this error"}
                continue
            e_lut = res["lut"][f"{f}/{n_eq}"]["energy"] if n_eq in lut_bits else float(slope * 2 ** n_eq + icpt)
            res["ratio"][f"{f}/{S}"] = {"lut_bits": n_eq, "lut_energy": e_lut, "extrapolated": n_eq not in lut_bits,
                                        "ratio": e_lut / res["energy"][f"{f}/{S}"]["energy"]}

    (out / "nonlinear_results.json").write_text(json.dumps(res, indent=1))
    plots(res, out, seg_list)
    tables(res)
    print(f"done in {time.time() - t_start:.0f} s")


# SAR ADC energy per conversion (J) measured in docs/peripherals.md (TT, 2 ns clock): 4, 6,
# 8 bits; geometric interpolation between, 1.8x per bit beyond (the 6->8 bit growth)
SAR_ENERGY = {4: 0.409e-12, 6: 1.06e-12, 8: 3.41e-12}


def sar_energy(n):
    if n in SAR_ENERGY:
        return SAR_ENERGY[n]
    if n < 4:
        return SAR_ENERGY[4] * (SAR_ENERGY[6] / SAR_ENERGY[4]) ** ((n - 4) / 2)
    if n < 8:
        lo = 4 if n < 6 else 6
        return float(np.sqrt(SAR_ENERGY[lo] * SAR_ENERGY[lo + 2]))
    return SAR_ENERGY[8] * (SAR_ENERGY[8] / SAR_ENERGY[6]) ** ((n - 8) / 2)


def tables(res):
    segs = sorted({int(k.split("/")[1]) for k in res["errors"]})
    print("\n| function | segments | max err nominal (% FS) | RMS nominal | MC max (mean / worst of runs) | "
          "MC RMS (mean) | write-verify with variation: max / RMS |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for f in ORDER:
        for S in segs:
            e = res["errors"][f"{f}/{S}"]
            v = e.get("mc_verified", {})
            print(f"| {f} | {S} | {e['nominal']['max_pct']:.2f} | {e['nominal']['rms_pct']:.2f} | "
                  f"{e['mc_max_pct_mean']:.2f} / {e['mc_max_pct_worst']:.2f} | {e['mc_rms_pct_mean']:.2f} | "
                  f"{v.get('max_pct', float('nan')):.2f} / {v.get('rms_pct', float('nan')):.2f} |")
    print("\n| segments | energy / evaluation (pJ) | of which row drivers (fJ) | latency (ps) | area (um^2) |")
    print("| --- | --- | --- | --- | --- |")
    for S in segs:
        es = [res["energy"][f"{f}/{S}"] for f in ORDER]
        print(f"| {S} | {min(e['energy'] for e in es) * 1e12:.3f}-{max(e['energy'] for e in es) * 1e12:.3f} | "
              f"{min(e['energy_drivers'] for e in es) * 1e15:.2f}-{max(e['energy_drivers'] for e in es) * 1e15:.2f} | "
              f"{max(e['latency'] for e in es) * 1e12:.0f} | {res['area'][str(S)] * 1e12:.0f} |")
    print("\n| segments | switch | pulses | energy (nJ) | time (us) | max residual (nS) | converged |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for k, v in res["programming"].items():
        S, f = k.split("/", 1)
        print(f"| {S} | -> {f} | {v['pulses']} | {v['energy'] * 1e9:.2f} | {v['time'] * 1e6:.1f} | "
              f"{v['residual_max'] * 1e9:.0f} | {v['converged']} |")
    print("\n| function | LUT N | energy (pJ) | latency (ps) | max err (% FS) | area (um^2) |")
    print("| --- | --- | --- | --- | --- | --- |")
    for k, v in res["lut"].items():
        f, n = k.split("/")
        print(f"| {f} | {n} | {v['energy'] * 1e12:.3f} | {v['latency'] * 1e12:.0f} | {v['error']['max_pct']:.2f} | "
              f"{v['area'] * 1e12:.0f} |")
    print("\n| function | segments | PWL energy (pJ) | LUT N at the nominal error: energy (pJ), ratio | "
          "LUT N at the write-verify error: energy (pJ), ratio | "
          "SAR-quantised LUT at the write-verify error: ratio (at least) |")
    print("| --- | --- | --- | --- | --- | --- |")
    for f in ORDER:
        bits = sorted(int(k.split("/")[1]) for k in res["lut"] if k.startswith(f + "/"))
        e_n = np.array([res["lut"][f"{f}/{n}"]["energy"] for n in bits])
        slope, icpt = np.polyfit(2.0 ** np.array(bits), e_n, 1)  # grows with the comparator count

        def lut_at(err_pct):
            n = next((n for n in range(2, 13) if lut_error(f, n)["max_pct"] <= err_pct), None)
            if n is None:
                return None, None, ""
            if n in bits:
                return n, res["lut"][f"{f}/{n}"]["energy"], ""
            return n, float(slope * 2 ** n + icpt), "*"

        for S in segs:
            e = res["energy"][f"{f}/{S}"]["energy"]
            cells = []
            for err in (res["errors"][f"{f}/{S}"]["nominal"]["max_pct"],
                        res["errors"][f"{f}/{S}"]["mc_verified"]["max_pct"]):
                n, el, mark = lut_at(err)
                cells.append("not reached with 8-bit words" if n is None
                             else f"N={n}: {el * 1e12:.2f}{mark}, {el / e:.1f}x")
            n, _, _ = lut_at(res["errors"][f"{f}/{S}"]["mc_verified"]["max_pct"])
            sar = "-" if n is None else f"{sar_energy(n) / e:.1f}x"
            print(f"| {f} | {S} | {e * 1e12:.3f} | {cells[0]} | {cells[1]} | {sar} |")
    print("\n(* LUT energy extrapolated linearly in 2^N from the simulated N = 3..6)")


def build_library(path: Path, segments: int) -> None:
    """Sweep every function's PWL unit (DC transfer, both sides of every breakpoint) with
    ``cimspice sweep`` and fit ``pwl_<function>.y`` into one surrogate library."""
    import subprocess
    import sys
    import tempfile

    from cimspice.surrogate import fit_surrogates
    from cimspice.surrogate.library import save_library

    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        for f in ORDER:
            xs = PwlUnit(f, segments, timing=False).sweep_points(16)
            spec = Path(tmp) / f"{f}.yaml"
            spec.write_text(f"circuit: pwl_unit\ncircuit_args:\n  function: {f}\n  segments: {segments}\n"
                            f"  timing: false\ndesign: list\nparameters:\n"
                            f"  x: [{', '.join(repr(float(v)) for v in xs)}]\noutputs: [y, i_out]\n")
            sweep = Path(tmp) / f"{f}.h5"
            run = subprocess.run([sys.executable, "-m", "cimspice.cli", "sweep", str(spec), "-o", str(sweep),
                                  "--workers", "1"],
                                 capture_output=True, text=True)
            if run.returncode:
                raise SystemExit(run.stderr)
            fitted = fit_surrogates(sweep, outputs=["y"], name_template=f"pwl_{f}.{{output}}")
            save_library(path, fitted, append=path.exists(), replace=True)
            s = fitted[f"pwl_{f}.y"]
            print(f"pwl_{f}.y: {s.validation}")


SYSTEM_SPEC = """name: ideal_pwl{segments}
array: {{rows: 64, cols: 64, cell: linear, cell_bits: null, v_read: 0.2}}
mapping: {{weights: differential, slices: 1}}
inputs: {{encoding: dac, bits: null}}
adc: {{type: ideal, bits: null, partial_sum_bits: null}}
tiling: {{split: partial_sums}}
nonlinear: {{where: reram_array,
            surrogates: {{sigmoid: pwl_sigmoid.y, tanh: pwl_tanh.y, gelu: pwl_gelu.y, exp: pwl_exp.y}}}}
library: {library}
"""


def system_study(samples: int = 200) -> None:
    """Every nonlinearity of the shipped LSTM and GPT through the PWL unit's surrogates."""
    import subprocess
    import sys
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        for segments in (4, 8, 16):
            lib = Path(tmp) / f"lib{segments}.h5"
            build_library(lib, segments)
            spec = Path(tmp) / f"spec{segments}.yaml"
            spec.write_text(SYSTEM_SPEC.format(segments=segments, library=lib))
            for net in ("lstm", "gpt"):
                run = subprocess.run([sys.executable, "-m", "cimspice.cli", "simulate", str(spec), "--network", net,
                                      "--samples", str(samples), "-o", str(Path(tmp) / f"{net}{segments}")],
                                     capture_output=True, text=True)
                if run.returncode:
                    raise SystemExit(run.stderr)
                print(f"segments {segments} {net}: {run.stdout.splitlines()[1].strip()}", flush=True)


def pooling(engine) -> dict:
    from cimspice.circuits.pooling import AveragePool, MaxPool

    out = {"avg": [], "max": {}}
    avg = AveragePool(window=4)
    avg.load(engine)
    for vmax in (0.05, 0.1, 0.2, 0.3):
        v = np.linspace(0, vmax, 4)
        m = avg.simulate(engine, {**{f"v_{i}": float(v[i]) for i in range(4)}, "g": 50e-6}).values
        out["avg"].append({"v_max": vmax, "error_rel": m["error"] / float(v.mean()), "energy": m["energy"]})
    mp = MaxPool(window=4)
    mp.load(engine)
    rng = np.random.default_rng(0)
    for gap in (0.0, 0.02, 0.05, 0.1):
        errs = []
        for _ in range(40):
            v = rng.uniform(0.6, 0.95, 4)
            k = int(np.argmax(v))
            v = np.where(np.arange(4) == k, v, np.minimum(v, v[k] - gap))
            errs.append(mp.simulate(engine, {f"v_{i}": float(np.clip(v[i], 0.5, 1.1))
                                             for i in range(4)}).values["error"])
        out["max"][str(gap)] = {"mean": float(np.mean(errs)), "max_abs": float(np.max(np.abs(errs)))}
    out["max_energy"] = mp.simulate(engine, {}).values["energy"]
    out["max_area"], out["avg_area"] = mp.area(), avg.area()
    return out


def plots(res, out, seg_list):
    import matplotlib
    import matplotlib.ticker
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 5, figsize=(17, 3.4))
    for ax, f in zip(axes, ORDER):
        c = res["curves"].get(f)
        if c is None:
            continue
        x = np.array(c["x"])
        ax.plot(x, FUNCTIONS[f][0](x), "k-", lw=1, label="ideal")
        ax.plot(x, c["y"], "r-", lw=1, label="ngspice, after write-verify")
        ax.set_title(f"{f}: max err {c['error']['max_pct']:.2f} % FS")
        ax.set_xlabel("x")
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out / "nonlinear_transfer.png", dpi=110)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(5, 3.6))
    for k, f in enumerate(ORDER):
        c = f"C{k}"
        ax.loglog(seg_list, [res["errors"][f"{f}/{S}"]["nominal"]["max_pct"] for S in seg_list], "o-", color=c, label=f)
        if all("mc_verified" in res["errors"][f"{f}/{S}"] for S in seg_list):
            ax.loglog(seg_list, [res["errors"][f"{f}/{S}"]["mc_verified"]["max_pct"] for S in seg_list], "s--",
                      color=c, alpha=0.6)
    ax.set_xticks(seg_list, [str(S) for S in seg_list])
    ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    ax.set_title("solid: nominal; dashed: write-verify, device variation", fontsize=8)
    ax.set_xlabel("segments")
    ax.set_ylabel("max error (% FS), ngspice")
    ax.legend(fontsize=7)
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(out / "nonlinear_error.png", dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    main()
