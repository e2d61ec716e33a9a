"""Evaluation throughput of each surrogate family on a 3-input cell-current problem.

    .venv/bin/python benchmarks/surrogate.py [--points 1000000] [--quick]

One process. The problem is a smooth 1T1R-like current I(R, V_WL, V_BL) on a
31 x 25 x 25 grid (R log-scaled), the size of the reference characterisation in
docs/FACTS. Each family is fitted once, saved to and reloaded from a library file (so
what is timed is the NumPy evaluator a system study uses), then evaluated on random
in-domain points through ``Surrogate.predict`` (domain check, log transforms, model).

Printed per family: points/s through ``Surrogate.predict``, points/s of the bare model,
the ratio to the same model's scikit-learn ``predict`` (or SciPy's
``RegularGridInterpolator`` for grids) measured in this run, the target and PASS/FAIL.
Targets: >= 1e6 points/s for grid interpolation and polynomials, >= 2e5 for MLPs; the
Gaussian process has none (its cost grows with its training set). Timings are the best
of ``--repeat`` runs; on a shared machine they vary, the ratios less so.

Last, column currents of a 32x32 and 64x64 1T1R crossbar: ngspice's operating point
against the separable surrogate read the system simulator uses, on the same G and V
(target: >= 1e4x faster, agreement within 0.1 % of the largest column current); see
:func:`crossbar_section`.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cimspice.surrogate import (  # noqa: E402
    MLP,
    GaussianProcess,
    GridInterpolator,
    PolynomialRidge,
    Surrogate,
    load_library,
    save_library,
)

INPUTS = ["R", "V_WL", "V_BL"]
LO = np.array([1e3, 0.4, 0.0])
HI = np.array([1e6, 1.2, 0.3])


def cell_current(R, v_wl, v_bl, v0=0.25):
    """Smooth 1T1R-like read current (A)."""
    return (1.0 / R) * v0 * np.sinh(v_bl / v0) * np.tanh((v_wl - 0.2) / 0.3)


def best_time(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=1_000_000, help="evaluation points (default %(default)s)")
    parser.add_argument("--gp-points", type=int, default=50_000,
                        help="evaluation points for the GP (default %(default)s)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--quick", action="store_true",
                        help="smaller GP/MLP training for a fast run (and no 64x64 crossbar)")
    parser.add_argument("--no-crossbar", action="store_true",
                        help="skip the crossbar column-current comparison with ngspice")
    parser.add_argument("--crossbar-only", action="store_true", help="only the crossbar column-current comparison")
    args = parser.parse_args(argv)
    if args.crossbar_only:
        missed = crossbar_section([32] if args.quick else [32, 64], args.repeat)
        print("result:", "PASS" if missed == 0 else f"FAIL ({missed} target(s) missed)")
        return 0 if missed == 0 else 1

    axes = [np.logspace(3, 6, 31), np.linspace(0.4, 1.2, 25), np.linspace(0.0, 0.3, 25)]
    G = np.meshgrid(*axes, indexing="ij")
    X = np.column_stack([g.ravel() for g in G])
    y = cell_current(*X.T)
    rng = np.random.default_rng(0)
    Q = np.column_stack([10 ** rng.uniform(3, 6, args.points), rng.uniform(0.4, 1.2, args.points),
                         rng.uniform(0.0, 0.3, args.points)])

    families = [
        ("grid-linear", GridInterpolator("linear"), 1e6),
        ("grid-cubic", GridInterpolator("cubic"), 1e6),
        ("poly-6", PolynomialRidge(degree=6), 1e6),
        ("mlp-32x32", MLP((32, 32), max_iter=100 if args.quick else 300, max_points=2000), 2e5),
        ("mlp-64x64", MLP((64, 64), max_iter=100 if args.quick else 300, max_points=2000), 2e5),
        ("gp-matern2.5", GaussianProcess(max_points=200 if args.quick else 800), None),
    ]
    fitted = {}
    print(f"fitting on the {X.shape[0]}-point grid (R log-scaled) ...", flush=True)
    for label, model, _ in families:
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            s = Surrogate(model, INPUTS, "I_cell", input_units=["ohm", "V", "V"], output_units=["A"],
                          input_scales={"R": "log"}, name=label).fit(X, y)
        fitted[label] = s
        print(f"  {label:<13} fitted in {time.perf_counter() - t0:6.1f} s", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        lib_path = Path(tmp) / "bench_library.h5"
        save_library(lib_path, fitted)
        library = load_library(lib_path)

    print()
    print(f"evaluation, one process, best of {args.repeat}: {args.points:.0e} points "
          f"({args.gp_points:.0e} for the GP)")
    header = (f"{'family':<13} {'Surrogate pts/s':>16} {'model pts/s':>13} {'x reference':>12}  "
              f"{'reference':<26} {'target':>8}  result")
    print(header)
    print("-" * len(header))
    failures = 0
    for label, _original, target in families:
        s = library[label]
        n = args.gp_points if label.startswith("gp") else args.points
        Xq = Q[:n]
        Z = s.to_model_space(Xq)
        t_sur = best_time(lambda: s.predict(Xq), args.repeat)
        t_model = best_time(lambda: s.model.predict(Z), args.repeat)
        # reference in the same run: the library that fitted it / SciPy for grids
        ref_model = fitted[label].model
        if label.startswith("grid"):
            from scipy.interpolate import RegularGridInterpolator

            rgi = RegularGridInterpolator(ref_model.axes_, ref_model.values_[..., 0],
                                          method="linear" if "linear" in label else "cubic")
            ref_name = "SciPy RegularGridInterp."
            m = min(n, 20_000) if "cubic" in label else n  # SciPy's cubic is slow
            t_ref = best_time(lambda: rgi(Z[:m]), 1) * n / m
        else:
            ref_name = "scikit-learn predict"
            t_ref = best_time(lambda: ref_model.predict_sklearn(Z), 1)
        rate_sur, rate_model = n / t_sur, n / t_model
        ok = target is None or rate_sur >= target
        failures += not ok
        verdict = "no target" if target is None else ("PASS" if ok else "FAIL")
        target_txt = "-" if target is None else f"{target:.0e}"
        print(f"{label:<13} {rate_sur:16.3e} {rate_model:13.3e} {t_ref / t_model:11.2f}x  "
              f"{ref_name:<26} {target_txt:>8}  {verdict}")
    # the NumPy evaluator must agree with what was fitted
    worst = max(
        float(np.max(np.abs(library[k].predict(Q[:2000])
                            - fitted[k].model.predict_sklearn(fitted[k].to_model_space(Q[:2000])))))
        for k, _, _ in families if not k.startswith("grid")
    )
    print(f"\nmax |NumPy - scikit-learn| over 2000 points (poly, MLP, GP): {worst:.2e} A "
          f"(full scale {np.ptp(y):.2e} A)")
    if not args.no_crossbar:
        failures += crossbar_section([32] if args.quick else [32, 64], args.repeat)
    print("result:", "PASS" if failures == 0 else f"FAIL ({failures} target(s) missed)")
    return 0 if failures == 0 else 1


# ------------------------------------------------------------------ crossbar column currents
def crossbar_section(sizes, repeat: int, v_read: float = 0.2, dac_bits: int = 4) -> int:
    """Column currents of a 1T1R crossbar: ngspice operating points against the evaluation
    the system simulator runs (``cimspice.sim``, ``nonidealities.ir_drop: false``): the
    cell's read law in separable form ``I = sum_r f_r(V) @ A_r(G)`` (``crossbar.cell_factors``)
    from a grid-cubic surrogate of a ngspice sweep of one ``cell_1t1r``. Same G, same V,
    same quantity; the wires are ideal (``r_wire = 0``) on both sides, because this read law
    has no IR drop (with wires, the simulator's exact mode is the crossbar solver:
    benchmarks/crossbar.py). Inputs are ``dac_bits`` DAC levels up to ``v_read`` (V), the
    levels the factorization is tabulated on. Returns the number of missed targets."""
    from cimspice.characterize import parse_sweep_spec, run_sweep
    from cimspice.circuits.crossbar import Crossbar
    from cimspice.circuits.devices import RERAM, VDD
    from cimspice.sim.crossbar import SurrogateCell, cell_factors
    from cimspice.spice import get_engine
    from cimspice.surrogate import fit_surrogates

    print(f"\ncrossbar column currents, 1T1R cells (v_wl {VDD} V), ideal wires, {dac_bits}-bit DAC inputs "
          f"up to {v_read} V, G log-uniform in [{RERAM.g_off:.0e}, {RERAM.g_on:.0e}] S")
    spec = {"circuit": "cell_1t1r", "design": "grid", "outputs": ["i_cell"],
            "parameters": {"g": {"start": RERAM.g_off, "stop": RERAM.g_on, "num": 21, "scale": "log"},
                           "v_bl": {"start": 0.0, "stop": v_read, "num": 21}}}
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        run_sweep(parse_sweep_spec(spec, source="benchmark cell sweep"), Path(tmp) / "cell.h5", progress=False)
        (cell_surrogate,) = fit_surrogates(Path(tmp) / "cell.h5", models=["grid-cubic"]).values()
    print(f"  cell surrogate: 21 x 21 ngspice points swept and fitted in {time.perf_counter() - t0:.1f} s "
          f"(held-out max error {float(cell_surrogate.validation['max_pct'][0]):.3g} %FS)")
    cell = SurrogateCell(cell_surrogate)
    rng = np.random.default_rng(1)
    levels = np.arange(2**dac_bits) / (2**dac_bits - 1) * v_read
    header = (f"  {'array':<7} {'vectors':>7} {'ngspice op':>12} {'factoring':>10} {'read':>10} {'speed-up':>10} "
              f"{'reads to 1e4x':>14} {'max |dI|/max I':>15}  target >= 1e4x")
    print(header)
    missed = 0
    for n in sizes:
        batch = 4 if n <= 32 else 2
        G = 10 ** rng.uniform(np.log10(RERAM.g_off), np.log10(RERAM.g_on), (n, n))
        V = levels[rng.integers(0, levels.size, (batch, n))]
        xb = Crossbar(n, n, cell="1T1R", r_wire=0.0)
        t0 = time.perf_counter()
        I_spice = xb.column_currents(G, V)  # builds and loads the deck once, then alter + op per vector
        t_all = time.perf_counter() - t0
        t0 = time.perf_counter()
        get_engine().load(xb.netlist(G), source="benchmark deck")  # what column_currents does before the ops
        t_load = time.perf_counter() - t0
        t_spice = max(t_all - t_load, 0.0) / batch
        t_factor = best_time(lambda: cell_factors(cell, G, levels), repeat)
        factors = cell_factors(cell, G, levels)

        def read():
            return sum(f(V) @ A for A, f in factors)

        t_read = best_time(lambda: [read() for _ in range(100)], repeat) / 100 / batch
        I_sur = read()
        dev = float(np.max(np.abs(I_sur - I_spice)) / np.max(np.abs(I_spice)))
        ratio = t_spice / t_read
        # reads of the programmed array after which even factoring + reads is 1e4x faster
        margin = t_spice / 1e4 - t_read
        reads = f"{int(np.ceil(t_factor / margin)):d}" if margin > 0 else "never"
        ok = ratio >= 1e4 and dev < 1e-3
        missed += not ok
        print(f"  {n}x{n:<4} {batch:>7} {t_spice * 1e3:9.1f} ms {t_factor * 1e3:7.2f} ms "
              f"{t_read * 1e6:7.2f} us {ratio:9.3g}x {reads:>14} {dev:15.2e}  {'PASS' if ok else 'FAIL'}")
    print(f"  (ngspice: wall time of Crossbar.column_currents per vector (alter + op), less the deck's build and load "
          f"timed separately; "
          f"surrogate: one read of a programmed array, best of {repeat} (what the simulator does per input vector); "
          "factoring: the one-time tabulation and SVD of the array's read law when it is programmed; 'reads to 1e4x': "
          f"reads after which factoring plus reads is still 1e4x faster than ngspice; rank {len(factors)})")
    return missed


if __name__ == "__main__":
    sys.exit(main())
