"""A 16-point system design sweep on 1 and 2 worker processes, against the machine's own
CPU calibration, measured in one run.

    python benchmarks/explore.py [--samples 200] [--repeats 1] [--network mlp|cnn]

What ``cimspice simulate baseline --network mlp --sweep adc.bits=4,6 --sweep
array.rows=32,64 --sweep inputs.bits=4,8 --sweep mapping.slices=1,2 --workers N`` does (cimspice.sim.explore): 16
design points of the library-driven ``baseline`` (every non-ideality on), each a full
simulation of the shipped MLP on ``--samples`` held-out digits, serially and on 2 local
processes (this one and a worker, forked on Linux, spawned elsewhere, which takes points once
it has started: its start-up is in the time). The speed-up of 2 workers over 1 is compared
with the speed-up of a pure-CPU Python task from 1 to 2 processes (benchmarks/sweep.py's
calibration), measured alternately in the same run, because the machine's two cores may be
shared. Each process of a parallel sweep runs BLAS and its row tiles on one thread; the serial
run is also timed that way, the like-for-like yardstick of the calibration's single-threaded
processes (a serial run's BLAS and tile threads use the second core too). Results of the two runs are
checked equal (the parallel sweep is exact, not approximately the serial one).

Target (issue #19): speed-up >= 0.9x the calibration's.
"""

from __future__ import annotations

import argparse
import multiprocessing
import time

from sweep import _burn, cpu_seconds

from cimspice.sim.explore import design_points, explore, one_thread

SWEEPS = [("adc.bits", [4, 6]), ("array.rows", [32, 64]), ("inputs.bits", [4, 8]), ("mapping.slices", [1, 2])]


def sweep_seconds(points, workers: int, samples: int, network: str = "mlp") -> tuple[float, list]:
    """Wall seconds and results of the sweep; ``workers`` 0: serially on one thread, BLAS's
    and the row tiles' (as each process of a parallel sweep runs), the like-for-like
    yardstick of the speed-up."""
    start = time.perf_counter()
    if workers == 0:
        with one_thread():
            results = explore(points, network, workers=1, n_samples=samples)
    else:
        results = explore(points, network, workers=workers, n_samples=samples)
    return time.perf_counter() - start, results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=200, help="held-out digits per design point")
    parser.add_argument("--repeats", type=int, default=1, help="alternated rounds; the best of each is kept")
    parser.add_argument("--network", default="mlp", help="shipped network of every point (default: %(default)s; "
                        "cnn: about 4x the work per point)")
    args = parser.parse_args()
    points = design_points("baseline", SWEEPS)
    assert len(points) == 16
    ctx = multiprocessing.get_context("spawn")
    work = 12_000_000
    t_sweep, t_cpu, runs = {0: [], 1: [], 2: []}, {1: [], 2: []}, {}
    with ctx.Pool(1) as pool1, ctx.Pool(2) as pool2:
        pool2.map(_burn, [1, 1])
        pool1.map(_burn, [1])
        for _ in range(args.repeats):
            for w in (1, 2, 0):
                if w:
                    t_cpu[w].append(cpu_seconds(w, work, pool1 if w == 1 else pool2))
                seconds, runs[w] = sweep_seconds(points, w, args.samples, args.network)
                t_sweep[w].append(seconds)
    same = all(a.analog_metrics == b.analog_metrics and a.costs.total_energy == b.costs.total_energy
               for a, b in zip(runs[1], runs[2]))
    cpu = min(t_cpu[1]) / min(t_cpu[2])
    sweep = min(t_sweep[1]) / min(t_sweep[2])
    print(f"16-point design sweep of baseline on the {args.network}, {args.samples} digits per point")
    print(f"   1 worker {min(t_sweep[1]):.1f} s, 2 workers {min(t_sweep[2]):.1f} s: speed-up {sweep:.2f}; "
          f"1 worker on one thread {min(t_sweep[0]):.1f} s: speed-up {min(t_sweep[0]) / min(t_sweep[2]):.2f}")
    print(f"   pure-CPU calibration (Python loop, 1 vs 2 processes): speed-up {cpu:.2f}")
    print(f"   {sweep / cpu:.2f}x the calibration's speed-up (target >= 0.9; against the one-thread serial run "
          f"{min(t_sweep[0]) / min(t_sweep[2]) / cpu:.2f}x); parallel results equal serial: {same}")


if __name__ == "__main__":
    main()
