"""Measure the numbers and the plot of docs/peripherals.md, "Input drivers": the word-line
driver (wl_driver) and the R-2R row DAC (dac) against row load and resolution, TT, 27 degC.

    .venv/bin/python scripts/drivers_characterize.py [--out docs/img]

Writes OUT/drivers_results.json and OUT/drivers.png. About a minute on one core of this
2-core machine (the 10-bit DAC's transfer, 1024 operating points, is half of it).
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

from cimspice.circuits.dac import RowDAC, linearity  # noqa: E402
from cimspice.circuits.wl_driver import WordLineDriver  # noqa: E402
from cimspice.spice import get_engine  # noqa: E402

ROWS_C = (10e-15, 100e-15, 1e-12)        # F: row capacitance
ROWS_G = {"open": 1e-9, "mid-window": 3.2e-3}  # S: no cells / 64 cells at 50 uS
DAC_BITS = (1, 2, 4, 6, 8, 10)


def timed(circuit, engine, point: dict) -> dict:
    """One simulate() with its wall time (s) as ``seconds``."""
    t0 = time.perf_counter()
    values = dict(circuit.simulate(engine, point).values)
    values["seconds"] = time.perf_counter() - t0
    return values


def wl_block(engine) -> dict:
    res: dict = {"load": [], "variants": {}, "corners": {}}
    driver = WordLineDriver()
    driver.load(engine)
    res["area"], res["n_stages"], res["widths"] = driver.area(), driver.n_stages, driver.widths
    for label, g in ROWS_G.items():
        for c in ROWS_C:
            load = {"g_row": g, "c_row": c}
            res["load"].append({"rows": label, **load, **timed(driver, engine, load)})
    for corner in ("tt", "ff", "ss"):
        d = WordLineDriver(corner=corner)
        d.load(engine)  # one netlist in the engine at a time: each instance loads its own
        res["corners"][corner] = timed(d, engine, {})
    for switches, v_ref in (("nmos", 0.0), ("pmos", 0.6), ("tg", 0.6)):
        d = WordLineDriver(switches=switches)
        d.load(engine)
        res["variants"][switches] = {"v_ref": v_ref, "area": d.area(), **timed(d, engine, {"v_ref": v_ref})}
    return res


def dac_block(engine) -> dict:
    res: dict = {"bits": {}, "load": []}
    for bits in DAC_BITS:
        dac = RowDAC(bits)
        dac.load(engine)
        t0 = time.perf_counter()
        levels = dac.transfer(engine)
        seconds = time.perf_counter() - t0
        inl, dnl = linearity(levels)
        top = 2 ** bits - 1
        res["bits"][bits] = {"area": dac.area(), "inl_max": float(np.max(np.abs(inl))),
                             "dnl_max": float(np.max(np.abs(dnl))), "transfer_seconds": seconds,
                             "error_lsb_max": float(np.max(np.abs(levels - 0.6 - 0.2 * np.arange(top + 1) / 2 ** bits))
                                                    / (0.2 / 2 ** bits)),
                             "full_scale": timed(dac, engine, {"code": top}),
                             "mid": timed(dac, engine, {"code": 2 ** (bits - 1)})}
    dac = RowDAC(6)
    dac.load(engine)
    for label, g in ROWS_G.items():
        for c in ROWS_C:
            load = {"g_row": g, "c_row": c}
            res["load"].append({"rows": label, **load, **timed(dac, engine, {"code": 63, **load})})
    return res


def plot(wl: dict, dac: dict, path: Path) -> None:
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 3.8))
    for label in ROWS_G:
        rows = [r for r in wl["load"] if r["rows"] == label]
        c = np.array([r["c_row"] for r in rows]) * 1e15
        a.loglog(c, [r["energy_driver"] * 1e15 for r in rows], "o-", label=f"energy_driver, {label} row")
        a.loglog(c, [r["settling_time"] * 1e12 for r in rows], "s--", label=f"settling 1 % (ps), {label} row")
    a.set_xlabel("row capacitance c_row (fF)")
    a.set_ylabel("fJ per pulse / ps")
    a.set_title("wl_driver, 0.2 V pulse, 64 ohm row, TT 27 C")
    a.grid(True, which="both", alpha=0.3)
    a.legend(fontsize=7)
    bits = sorted(dac["bits"])
    b.semilogy(bits, [dac["bits"][n]["full_scale"]["energy_driver"] * 1e12 for n in bits], "o-",
               label="energy_driver (pJ), full-scale step")
    b.semilogy(bits, [dac["bits"][n]["full_scale"]["settling_time"] * 1e9 for n in bits], "s--",
               label="settling to 0.5 LSB (ns)")
    b.semilogy(bits, [dac["bits"][n]["inl_max"] for n in bits], "^:", label="max |INL| (LSB)")
    b.set_xlabel("dac_bits")
    b.set_title("dac, 0.6-0.8 V, mid-window row, 10 ns, TT 27 C")
    b.grid(True, which="both", alpha=0.3)
    b.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("docs/img"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    engine = get_engine()
    results = {"wl_driver": wl_block(engine), "dac": dac_block(engine)}
    (args.out / "drivers_results.json").write_text(json.dumps(results, indent=1, sort_keys=True))
    plot(results["wl_driver"], results["dac"], args.out / "drivers.png")


if __name__ == "__main__":
    main()
