"""Benchmark of the crossbar: fast solver against ngspice on the same netlists, scaling, batching.

Run from the repository root::

    .venv/bin/python benchmarks/crossbar.py [--plot DIR] [--quick]

The ngspice decks are the ones :class:`cimspice.circuits.crossbar.Crossbar` builds, for the
three cell types: ``R`` (linear), ``1R`` (the ReRAM compact model; solver cell ``SinhCell``
with the model's ``v0``) and ``1T1R`` (ReRAM + BSIM4 access transistor; solver cell
``SurrogateArrayCell`` on a grid-cubic surrogate of a ngspice sweep of one cell, fitted here).

Everything printed is measured in this one run; the targets sit beside the measurements
with PASS/FAIL. Wall-clock times on a shared 2-core machine are noisy, so the fast solver's
times are the best of a few repeats and the machine's load average is printed. ngspice is
timed by its own ``rusage time`` ("Total analysis time": the ``op`` alone, no start-up or
parsing) and, for reference, by the wall time of the ``ngspice -b`` process minus that of a
trivial deck.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import scipy

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a source tree

from cimspice.circuits.crossbar import Crossbar  # noqa: E402
from cimspice.circuits.devices import RERAM  # noqa: E402
from cimspice.sim.crossbar import CrossbarSolver, SinhCell, SurrogateArrayCell  # noqa: E402

V0 = 0.25  # sinh voltage scale (V) of the benchmark cells
R_WIRE = 1.0  # ohm per segment
RNG = np.random.default_rng(7)


def array(rows, cols, scale=1.0):
    """G (rows, cols) uniform in [1e-6, 1e-4] S times scale."""
    return RNG.uniform(1e-6, 1e-4, (rows, cols)) * scale


def best_time(fn, repeats=3):
    best = np.inf
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def verdict(ok):
    return "PASS" if ok else "FAIL"


def fmt(seconds):
    return f"{seconds * 1e3:9.2f} ms" if seconds < 1 else f"{seconds:9.3f} s "


# ------------------------------------------------------------------------------- ngspice
def netlist(G, V, r_wire, cell):
    """The Crossbar deck with an op, its timing and the column currents printed."""
    n_cols = G.shape[1]
    body = Crossbar(*G.shape, cell=cell, r_wire=r_wire).netlist(G, V).removesuffix(".end")
    return body + "\n".join([".control", "op", "rusage time", "set numdgt=12",
                             *(f"print i(vs{j})" for j in range(n_cols)), ".endc", ".end"]) + "\n"


def cell_1t1r_surrogate(workdir):
    """grid-cubic surrogate of i_cell(g, v_bl, v_sl) from a ngspice sweep of one 1T1R cell."""
    from cimspice.characterize import parse_sweep_spec, run_sweep
    from cimspice.surrogate import fit_surrogates

    spec = {"circuit": "cell_1t1r", "design": "grid", "outputs": ["i_cell"],
            "parameters": {"g": {"start": RERAM.g_off, "stop": RERAM.g_on, "num": 13, "scale": "log"},
                           "v_bl": {"start": 0.0, "stop": 0.55, "num": 23},
                           "v_sl": {"start": 0.0, "stop": 0.15, "num": 7}}}
    path = Path(workdir) / "cell.h5"
    t = time.perf_counter()
    run_sweep(parse_sweep_spec(spec, source="benchmark 1T1R cell"), path, progress=False)
    (surrogate,) = fit_surrogates(path, outputs=["i_cell"], models=["grid-cubic"]).values()
    print(f"1T1R cell surrogate: {13 * 23 * 7} ngspice points swept and fitted in "
          f"{time.perf_counter() - t:.1f} s; held-out max error "
          f"{float(surrogate.validation['max_pct'][0]):.3f} % of full scale")
    return surrogate


def run_ngspice(deck_text, workdir):
    """(analysis time s, process wall time s, column currents or None)."""
    deck = Path(workdir) / "deck.cir"
    deck.write_text(deck_text)
    t = time.perf_counter()
    proc = subprocess.run(["ngspice", "-b", str(deck)], capture_output=True, text=True,
                          timeout=3600)
    wall = time.perf_counter() - t
    m = re.search(r"Total analysis time \(seconds\) = ([\d.eE+-]+)", proc.stdout)
    analysis = float(m.group(1)) if m else float("nan")
    values = dict(re.findall(r"^i\(vs(\d+)\)\s*=\s*(\S+)", proc.stdout, flags=re.M))
    currents = (np.array([float(values[str(j)]) for j in range(len(values))])
                if values else None)
    return analysis, wall, currents


def ngspice_startup(workdir):
    deck = "* trivial\nV1 a 0 1\nR1 a 0 1k\n.control\nop\n.endc\n.end\n"
    return min(run_ngspice(deck, workdir)[1] for _ in range(5))


def section(title):
    print(f"\n== {title}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plot", metavar="DIR", help="write crossbar_ir_drop.png there")
    parser.add_argument("--quick", action="store_true",
                        help="skip the 64x64 ngspice runs and the 1024x1024 solve")
    args = parser.parse_args(argv)
    results = []  # (target, measured text, pass)

    print(f"cimspice crossbar solver benchmark  python {platform.python_version()}  "
          f"numpy {np.__version__}  scipy {scipy.__version__}  cpus {os.cpu_count()}")
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())} "
          f"(a shared machine: other processes slow every number below)")

    # ------------------------------------------------------------------ vs ngspice
    if shutil.which("ngspice"):
        section(f"fast solver vs ngspice -b (one op, r_wire = {R_WIRE} ohm, 1 input vector)")
        with tempfile.TemporaryDirectory() as workdir:
            startup = ngspice_startup(workdir)
            print(f"ngspice start-up (trivial deck): {fmt(startup)}")
            print(f"{'array':>8} {'cell':>6} {'ngspice op':>12} {'ngspice wall-start':>19} "
                  f"{'ours':>12} {'speed-up':>9} {'max dev':>9}")
            surrogate = cell_1t1r_surrogate(workdir)
            sizes = [32] if args.quick else [32, 64]
            for n in sizes:
                for cellname in ("R", "1R", "1T1R"):
                    G = np.exp(RNG.uniform(np.log(RERAM.g_off), np.log(RERAM.g_on), (n, n)))
                    V = RNG.uniform(0.1, 0.5, n)
                    analysis, wall, ref = run_ngspice(netlist(G, V, R_WIRE, cellname), workdir)
                    cell = {"R": None, "1R": SinhCell(RERAM.v0),
                            "1T1R": SurrogateArrayCell(surrogate)}[cellname]

                    def ours():
                        return CrossbarSolver(n, n, r_wire=R_WIRE, cell=cell
                                              ).column_currents(G, V)

                    ours_t = best_time(ours, 5)
                    dev = np.abs(ours() - ref).max() / np.abs(ref).max()
                    ratio = analysis / ours_t
                    print(f"{n:>5}x{n:<3} {cellname:>6} {fmt(analysis)} {fmt(wall - startup):>19}"
                          f" {fmt(ours_t)} {ratio:8.0f}x {dev:9.1e}")
                    if n == 64:
                        results.append((f">= 100x faster than ngspice op, 64x64 {cellname}",
                                        f"{ratio:.0f}x", ratio >= 100))
                    results.append((f"within 0.1 % of column full scale of ngspice, {n}x{n} {cellname}",
                                    f"{100 * dev:.4f} %", dev <= 1e-3))
        print("(max dev: largest column-current difference / largest column current; ngspice "
              "runs at its default reltol=1e-3 here; 1T1R carries the cell surrogate's own error)")
    else:
        print("\nngspice not on PATH: skipping the ngspice comparison")

    # ------------------------------------------------------------------- method choice
    section("direct (sparse LU) vs iterative (line-preconditioned Schur CG), linear, 1 vector")
    print(f"{'array':>10} {'direct':>12} {'iterative':>12} {'iters':>6}")
    for n in (4, 16, 64, 128, 256):
        G, V = array(n, n), RNG.uniform(0.1, 0.5, n)
        t = {}
        for method in ("direct", "iterative"):
            t[method] = best_time(lambda: CrossbarSolver(n, n, r_wire=R_WIRE, method=method
                                                         ).solve(G, V), 3 if n < 256 else 1)
        iters = CrossbarSolver(n, n, r_wire=R_WIRE, method="iterative").solve(G, V
                                                                             ).linear_iterations
        print(f"{n:>6}x{n:<4}{fmt(t['direct'])} {fmt(t['iterative'])} {iters:>6}")

    # ------------------------------------------------------------------------ scaling
    section("scaling, linear cells, 1 input vector, method='auto' (fresh G each run)")
    sizes = (128, 256, 512) if args.quick else (128, 256, 512, 1024)
    for n in sizes:
        G, V = array(n, n), RNG.uniform(0.1, 0.5, n)
        solver = CrossbarSolver(n, n, r_wire=R_WIRE)
        t = best_time(lambda: CrossbarSolver(n, n, r_wire=R_WIRE).column_currents(G, V),
                      3 if n <= 256 else 1)
        op = solver.solve(G, V)
        print(f"{n:>6}x{n:<5} {fmt(t)}   ({op.linear_iterations} CG iterations)")
        if n == 1024:
            results.append(("1024x1024 linear, 1 vector < 10 s", f"{t:.2f} s", t < 10))
    n = 128
    G, V = array(n, n), RNG.uniform(0.1, 0.5, (64, n))
    t = best_time(lambda: CrossbarSolver(n, n, r_wire=R_WIRE).column_currents(G, V))
    print(f"   128x128 linear, 64 input vectors: {fmt(t)}")
    results.append(("128x128 linear, 64 vectors < 1 s", f"{t:.3f} s", t < 1))
    G1 = array(64, 64, 10.0)
    V1 = RNG.uniform(0.1, 0.5, 64)
    t = best_time(lambda: CrossbarSolver(64, 64, r_wire=R_WIRE, cell=SinhCell(V0)
                                         ).column_currents(G1, V1), 5)
    print(f"   64x64 sinh, 1 input vector: {fmt(t)}")

    # ------------------------------------------------------------------------ batching
    section("batch of 100 input vectors in one call vs 100 calls of one vector")
    print("(calls of one vector on one solver reuse the cached line factorisations; 'fresh' "
          "builds a new solver each call)")
    print(f"{'case':>22} {'batch':>12} {'100 calls':>12} {'fresh':>12} {'ratio':>7}")
    for n, cellname in ((64, "linear"), (128, "linear"), (256, "linear"), (64, "sinh")):
        cell = SinhCell(V0) if cellname == "sinh" else None
        G = array(n, n, 10.0 if cell else 1.0)
        V = RNG.uniform(0.1, 0.5, (100, n))
        solver = CrossbarSolver(n, n, r_wire=R_WIRE, cell=cell)
        t_batch = best_time(lambda: CrossbarSolver(n, n, r_wire=R_WIRE, cell=cell
                                                   ).column_currents(G, V), 2)
        t_calls = best_time(lambda: [solver.column_currents(G, v) for v in V], 2)
        t_fresh = best_time(lambda: [CrossbarSolver(n, n, r_wire=R_WIRE, cell=cell
                                                    ).column_currents(G, v) for v in V], 1)
        ratio = t_fresh / t_batch
        via = "V @ W" if cell is None and 100 >= solver.transfer_batch else "batched Krylov"
        print(f"{n:>6}x{n:<4}{cellname:>6} {via:>6} {fmt(t_batch)} {fmt(t_calls)} "
              f"{fmt(t_fresh)} {ratio:6.1f}x  ({t_calls / t_batch:.1f}x the cached calls)")
        if cell is None:  # the target: "factorisations reused where the network is linear"
            results.append((f"batch-100 far cheaper than 100 single solves, {n}x{n} {cellname}",
                            f"{ratio:.2f}x fresh, {t_calls / t_batch:.2f}x cached "
                            f"(>= 3x counted as far)", ratio >= 3))
    print("(nonlinear cells: every input vector has its own Jacobians, so a batch shares no\n"
          " factorisation; it gains only NumPy call overhead. Reported, not a target.)")
    n = 128
    G, V = array(n, n), RNG.uniform(0.1, 0.5, (1000, n))
    t_w = best_time(lambda: CrossbarSolver(n, n, r_wire=R_WIRE).column_currents(G, V), 1)
    solver = CrossbarSolver(n, n, r_wire=R_WIRE)
    t_100 = best_time(lambda: [solver.column_currents(G, v) for v in V[:100]], 1)
    print(f"   128x128 linear, 1000 vectors in one call (transfer matrix W by condensation + "
          f"V @ W): {fmt(t_w)}; 1000 single calls (extrapolated from 100): {fmt(10 * t_100)}"
          f"  -> {10 * t_100 / t_w:.1f}x")

    # ------------------------------------------------------------------------- plot
    if args.plot:
        plot_ir_drop(Path(args.plot))

    section("targets")
    for target, measured, ok in results:
        print(f"  {verdict(ok)}  {target}: {measured}")
    print(f"load average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


def plot_ir_drop(outdir):
    """Column-current loss against the ideal V.G product vs array size and wire resistance."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    outdir.mkdir(parents=True, exist_ok=True)
    sizes = [8, 16, 32, 64, 128, 256]
    fig, ax = plt.subplots(figsize=(6, 4))
    for r in (0.1, 0.5, 1.0, 2.0, 5.0):
        loss = []
        for n in sizes:
            G = np.random.default_rng(n).uniform(1e-6, 1e-4, (n, n))
            V = np.full(n, 0.3)
            I = CrossbarSolver(n, n, r_wire=r).column_currents(G, V)
            loss.append(100.0 * (1.0 - I.sum() / (V @ G).sum()))
        ax.plot(sizes, loss, "o-", label=f"{r:g} ohm/segment")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("array size n (n x n)")
    ax.set_ylabel("column-current loss vs ideal V.G (%)")
    ax.set_title("IR drop, linear cells G ~ U[1e-6, 1e-4] S, all rows at 0.3 V")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(title="r_wire")
    fig.tight_layout()
    path = outdir / "crossbar_ir_drop.png"
    fig.savefig(path, dpi=120)
    print(f"\nplot written: {path}")


if __name__ == "__main__":
    sys.exit(main())
