"""Reproduce the measurements of docs/validation.md: a 16x8 layer in ngspice against the
system simulator (the flow of tests/test_sim_spice_validation.py, on more data).

    python scripts/validate_layer.py --bits 4 --seeds 0 1 2 --vectors 40
    python scripts/validate_layer.py --bits 4 --coupling direct
    python scripts/validate_layer.py --bits 5 --seeds 0

For each weight seed: random W (16, 8) in [-1, 1], 256 calibration and ``--vectors`` test
inputs on the 4-bit DAC grid; the simulator's ADC LSB sets the TIA's trimmed r_f; the TIA is
characterized (cimspice sweep + fit) at that r_f; the flash ADC's transition levels are
measured once per resolution. Prints code agreement, mismatch sizes, the agreement of ideal
sense and ADC models on the same currents, the analog error at the ADC input in LSB, and
the ngspice times.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from cimspice.circuits.layer_bench import LayerBench, adc_transfer_points, flash_transitions
from cimspice.cli import main as cli
from cimspice.sim.backend import AnalogBackend
from cimspice.sim.crossbar import CrossbarSolver
from cimspice.sim.mapping import array_layout, quantise_weights
from cimspice.spice import get_engine
from cimspice.surrogate import Surrogate, load_library, save_library
from cimspice.surrogate.models import GridInterpolator

ROWS, OUTS = 16, 8
G_ON, G_OFF, V_READ, R_WIRE, V_REF = 100e-6, 1e-6, 0.1, 1.0, 0.7


def spec(bits, library=None, r_f=None):
    sense = {"type": "ideal"} if library is None else {
        "type": "surrogate", "surrogate": "tia.v_out", "v_ref": V_REF, "transimpedance": r_f}
    adc = {"type": "ideal"} if library is None else {"type": "surrogate", "surrogate": f"adc_flash{bits}.code"}
    return {"array": {"rows": ROWS, "cols": 2 * OUTS, "cell": "linear", "g_on": G_ON, "g_off": G_OFF,
                      "cell_bits": None, "v_read": V_READ},
            "mapping": {"weights": "differential", "slices": 1}, "inputs": {"encoding": "dac", "bits": 4},
            "adc": {**adc, "bits": bits, "partial_sum_bits": bits, "range": "calibrated"}, "sense": sense,
            "nonidealities": {"ir_drop": True, "r_wire": R_WIRE},
            "library": None if library is None else str(library)}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bits", type=int, default=4)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0])
    ap.add_argument("--vectors", type=int, default=40)
    ap.add_argument("--coupling", choices=("copy", "direct"), default="copy")
    ap.add_argument("--steps", type=int, default=8, help="bisection steps of the ADC transition levels")
    ap.add_argument("--bracket", type=float, default=0.5, help="bisection bracket around the ideal levels (LSB)")
    args = ap.parse_args()
    bits, engine = args.bits, get_engine()
    code_max = 2 ** (bits - 1) - 1
    lsb_v = 0.56 / 2 ** bits          # ADC range 0.4025 .. 0.9625 V around v_ref = 0.7 V
    work = Path(tempfile.mkdtemp(prefix="cimspice-validate-"))
    levels, totals = None, []
    for seed in args.seeds:
        rng = np.random.default_rng(seed)
        W = rng.uniform(-1, 1, (ROWS, OUTS))
        x_cal = rng.integers(0, 16, (256, ROWS)) / 15
        x_cal[0] = 1.0
        x = rng.integers(0, 16, (args.vectors, ROWS)) / 15
        m0 = AnalogBackend(spec(bits)).matvec("layer", W)
        m0.calibrate(x_cal)
        lsb = float(m0.tiles[0].lsb[0])
        r_f = lsb_v / lsb
        span = 1.3 * (code_max + 1) * lsb
        (work / "tia.yaml").write_text(f"circuit: tia\ncircuit_args: {{r_f: {r_f!r}}}\ndesign: grid\nparameters:\n"
                                       f"  i_in: {{start: {-span!r}, stop: {span!r}, num: 41}}\n  v_ref: {V_REF}\n"
                                       "outputs: [v_out, energy_read]\n")
        lib = work / f"lib{seed}.h5"
        t0 = time.perf_counter()
        assert cli(["sweep", str(work / "tia.yaml"), "-o", str(work / "tia.h5"), "--no-progress", "--force"]) == 0
        assert cli(["fit", str(work / "tia.h5"), "-o", str(lib), "--outputs", "v_out", "energy_read",
                    "--models", "grid-cubic"]) == 0
        t_tia = time.perf_counter() - t0
        planes = quantise_weights(W, "differential", None, 1)
        G, plus, minus = array_layout(planes, (0, ROWS), (0, OUTS), G_ON, G_OFF)
        bench = LayerBench(G, plus[:, 0], minus[:, 0], r_wire=R_WIRE, r_f=r_f, v_ref=V_REF, adc_bits=bits,
                           lsb_v=lsb_v, coupling=args.coupling)
        t_lv = 0.0
        if levels is None:
            t0 = time.perf_counter()
            levels = flash_transitions(bench.adc, engine, bench.adc_point, steps=args.steps, bracket=args.bracket)
            t_lv = time.perf_counter() - t0
            ideal = bench.v_ref_lo + np.arange(1, 2 ** bits) * lsb_v
            print(f"flash {bits} bit: transition levels minus ideal (LSB): "
                  f"{np.round((levels - ideal) / lsb_v, 3).tolist()}  ({t_lv:.0f} s)")
        u, c = adc_transfer_points(levels, V_REF, lsb_v, bits)
        save_library(lib, Surrogate(GridInterpolator("linear"), ["u"], "code", name=f"adc_flash{bits}.code")
                     .fit(u[:, None], c), append=True)
        m = AnalogBackend(spec(bits, lib, r_f)).matvec("layer", W)
        m.calibrate(x_cal)
        to_codes = (G_ON - G_OFF) * V_READ / (lsb * np.max(np.abs(W)))
        codes_sim = np.rint(m(x) * to_codes).astype(int)
        codes_ideal = np.rint(m0(x) * to_codes).astype(int)
        res = bench.run(x * V_READ, engine)
        diff = res.codes - codes_sim
        # analog error at the ADC input: bench TIA output vs the simulator's currents through its TIA surrogate
        I = CrossbarSolver(ROWS, 2 * OUTS, r_wire=R_WIRE).column_currents(G, x * V_READ)
        D = I[:, plus[:, 0]] - I[:, minus[:, 0]]
        sense = m.backend.sense
        err_lsb = ((V_REF - res.v_out) / r_f - sense.sense(D)) / lsb
        frac = np.abs(sense.sense(D) / lsb - np.rint(sense.sense(D) / lsb))   # distance from code centre
        e_read = load_library(lib)["tia.energy_read"].predict(D.reshape(-1, 1)).mean()
        print(f"seed {seed}: {diff.size} outputs, agreement {np.mean(diff == 0):.2%} (ideal sense+ADC "
              f"{np.mean(res.codes == codes_ideal):.2%}), "
              f"mismatches {dict(zip(*np.unique(diff[diff != 0], return_counts=True)))}, "
              f"codes {codes_sim.min()}..{codes_sim.max()}, r_f {r_f:.0f} ohm; ADC-input error vs simulator "
              f"{np.abs(err_lsb).max():.1e} LSB max, {np.sqrt(np.mean(err_lsb ** 2)):.1e} RMS; outputs within 0.49 LSB "
              f"of a code edge {np.mean(frac > 0.49):.1%}; TIA energy/read {e_read * 1e12:.2f} pJ; "
              f"times: TIA sweep+fit {t_tia:.1f} s, front end {res.t_sense:.1f} s, ADC {res.t_adc:.1f} s "
              f"({res.t_adc / diff.size * 1e3:.0f} ms/conversion)")
        bad = diff != 0
        if bad.any():   # how close to a measured transition level the mismatched ADC inputs were
            gap = np.min(np.abs(res.v_out[bad][:, None] - levels[None, :]), axis=1) / lsb_v
            print(f"  mismatched ADC inputs from the nearest measured transition (LSB): {np.round(gap, 4).tolist()}")
        totals.append((diff == 0).sum() / diff.size)
    print(f"all seeds: agreement {np.mean(totals):.2%}")


if __name__ == "__main__":
    main()
