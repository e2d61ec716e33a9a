"""ResNet-18 through ONNX on the simulator: one-time programming cost and per-image cost
apart, against float NumPy inference of the same graph, and peak memory, measured in one run.

    python benchmarks/onnx_resnet.py [--batch 8] [--calibration 2] [--repeats 2] [--imagenet]

The network is tests/onnx_models.py's ResNet-18 (basic blocks, strided 1x1 projection
shortcuts, BatchNormalization folded at import, global average pooling, Gemm; seeded random
weights) in CIFAR shape (3x32x32, 10 classes) or with ``--imagenet`` in ImageNet shape
(3x224x224, 1000 classes), written with ``onnx.helper`` and read by ``load_onnx``. Inputs
are seeded standard-normal images. Configurations, each in its own process (so each peak
resident memory is its own):

- ``float``            the imported graph on the float NumPy backend (the reference);
- ``ideal``            cimspice/sim/systems/ideal.yaml (every non-ideality off);
- ``baseline dac``     baseline.yaml with ``--set inputs.encoding=dac`` (one read per input
  vector, 8-bit DAC levels), every non-ideality on, surrogate mode;
- ``baseline serial``  baseline.yaml as shipped: 8-bit bit-serial inputs (8 reads per vector).

Each analog configuration also times the float inference of the same batch in its own
process, alternating with its analog runs (float, analog, float, analog ...), so the two see
the same load on the shared machine; its ratios are over that float time, in wall time and
in the process's CPU time (``time.process_time``, every thread).

Programming is the one-time cost before the first image: ``AnalogBackend(spec)`` (checks;
the library file's read, once per process, is timed apart as ``library``) plus ``calibrate``
on ``--calibration`` images (every matrix programmed: its conductances, the IR-drop transfer
matrices, the input and ADC ranges). Each analog configuration programs three times in its
process, in this order: without a cache (``programming``), into an empty programmed-chip
cache (``writing``: a first run with ``--program-cache``), and from that cache (``cached``: a
second run of the same network, spec and seed; docs/system.md). The three chips are checked
equal (the outputs of one forward pass, bit for bit), and the last one is timed per image.
Per image is the forward pass of a batch of ``--batch`` images divided by the batch (best of
``--repeats``).
Peak memory is the process's peak resident set (``resource.getrusage``), the network and
its batch included. ``no ref`` is the per-image time without the per-layer diagnosis's
float product of every analog matrix call (``AnalogBackend.float_reference``, on by default).

Targets (issue #19) are stated for ResNet-18 at 3x224x224, every non-ideality on, DAC inputs,
surrogate mode: per image <= 6x the float NumPy inference; bit-serial inputs <= 20x; peak
memory under 4 GB for a batch of 8. They are printed beside the measured figures, which
are not asserted anywhere.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import timeit
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))       # the ONNX model builders of the tests

# baseline's operating point holds c_row, an input of the bit-serial word-line driver's table
# only: with DAC inputs no table reads it, which the backend refuses, so the DAC point drops it
DAC = ["inputs.encoding=dac"]
CONFIGS = {"float": None, "ideal": ("ideal", []), "baseline dac": ("baseline", DAC),
           "baseline serial": ("baseline", [])}
TARGETS = {"baseline dac": "<= 6x", "baseline serial": "<= 20x"}
MEMORY_TARGET = 4e9  # B, batch of 8 (issue #19)


def _peak_rss() -> float:
    """Peak resident set of this process, B (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024.0


def _load() -> str:
    """The 1, 5 and 15 minute load averages."""
    return ", ".join(f"{v:.1f}" for v in os.getloadavg())


def _best(f, repeats: int) -> float:
    """The fastest of ``repeats`` calls of ``f``, s."""
    return min(timeit.repeat(f, number=1, repeat=repeats))


def _timed(f) -> tuple[tuple[float, float], object]:
    """((wall s, CPU s of this process, every thread), result) of one call of ``f``."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = f()
    return (time.perf_counter() - wall, time.process_time() - cpu), result


def _programmed(spec, net, x_cal, **options):
    """(backend, plans): ``net`` programmed on ``spec`` and calibrated on ``x_cal``."""
    from cimspice.sim.backend import AnalogBackend

    backend = AnalogBackend(spec, **options)
    plans = backend.prepare(net)
    backend.calibrate(net, x_cal)
    return backend, plans


def _program_three_ways(config, spec, net, x_cal, x, cache: Path, out: dict):
    """Program ``net`` without a cache, into the empty ``cache`` and from it; each's wall and
    CPU s into ``out``. Every chip must read ``x`` to the same outputs, bit for bit. Returns
    the last (backend, plans)."""
    runs = [("programming", {}), ("writing", {"program_cache": cache}), ("cached", {"program_cache": cache})]
    reference = None
    for label, options in runs:
        backend = None                     # the last chip freed first (its cycles too): one in memory at a time
        gc.collect()
        (out[label], out[f"{label}_cpu"]), (backend, plans) = _timed(lambda: _programmed(spec, net, x_cal, **options))
        y = net.forward(x, backend)
        if reference is not None and not np.array_equal(y, reference):
            sys.exit(f"{config}: the {label} chip reads other outputs than the first")
        reference = y
    out["cache_hits"], out["cache_misses"] = backend.program_cache.hits, backend.program_cache.misses
    out["cache_bytes"] = cache.stat().st_size if cache.exists() else 0
    return backend, plans


def _alternated(f_float, f_analog, repeats: int) -> tuple[float, float, float, float]:
    """The fastest of ``repeats`` calls of each of ``f_float`` and ``f_analog`` called in
    turn, so that both see the same moments of the shared machine's load: (float wall,
    analog wall, float CPU, analog CPU), s, each the least of its ``repeats``."""
    runs = [(_timed(f_float)[0], _timed(f_analog)[0]) for _ in range(repeats)]
    return (min(f[0] for f, _ in runs), min(a[0] for _, a in runs),
            min(f[1] for f, _ in runs), min(a[1] for _, a in runs))


def measure(config: str, path: Path, batch: int, calibration: int, repeats: int, shape: tuple) -> dict:
    """One configuration in this process: seconds of programming (each way, module
    docstring) and per image, peak RSS."""
    from cimspice.sim.explore import apply_settings, parse_setting
    from cimspice.sim.library_cache import load_spec_library
    from cimspice.sim.onnx_import import load_onnx
    from cimspice.sim.spec import load_system_spec

    net = load_onnx(path)
    rng = np.random.default_rng(0)
    x, x_cal = rng.normal(size=(batch, *shape)), rng.normal(size=(calibration, *shape))
    out = {"config": config, "programming": None, "arrays": None}
    if CONFIGS[config] is None:
        out["per_image"] = _best(lambda: net.forward(x), repeats) / batch
    else:
        system, settings = CONFIGS[config]
        spec = apply_settings(load_system_spec(system), [parse_setting(s) for s in settings])
        # the library file is read once per process: read before the timed runs, so each pays the same
        out["library"] = _timed(lambda: load_spec_library(spec))[0][0]
        with tempfile.TemporaryDirectory() as tmp:
            backend, plans = _program_three_ways(config, spec, net, x_cal, x[:1], Path(tmp) / "chip.h5", out)
        out["arrays"], out["threads"] = sum(plan.arrays for plan in plans), backend.threads
        t_float, t_analog, c_float, c_analog = _alternated(lambda: net.forward(x), lambda: net.forward(x, backend),
                                                           repeats)
        out["float_here"], out["per_image"] = t_float / batch, t_analog / batch
        out["cpu_ratio"] = c_analog / c_float
        backend.float_reference = False     # the per-layer diagnosis's float product, off
        t_float, t_analog, c_float, c_analog = _alternated(lambda: net.forward(x), lambda: net.forward(x, backend),
                                                           repeats)
        out["float_here_no_ref"], out["per_image_no_ref"] = t_float / batch, t_analog / batch
        out["cpu_ratio_no_ref"] = c_analog / c_float
    out["peak_rss"] = _peak_rss()
    return out


def _child(config: str, args, path: Path) -> dict:
    """``measure`` in a fresh interpreter (its own peak memory); the result as a JSON line."""
    cmd = [sys.executable, __file__, "--one", config, "--model", str(path), "--batch", str(args.batch),
           "--calibration", str(args.calibration), "--repeats", str(args.repeats)]
    cmd += ["--imagenet"] * args.imagenet
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode:
        sys.exit(f"{config}: failed\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _ratios(r: dict, f: float) -> tuple[float, float | None]:
    """Per image over the float inference timed in the same process (alternating), or over
    the float configuration's own run; and the same without the float reference."""
    ratio = r["per_image"] / r.get("float_here", f)
    no_ref = r["per_image_no_ref"] / r.get("float_here_no_ref", f) if "per_image_no_ref" in r else None
    return ratio, no_ref


def _report(results: list[dict], args, shape) -> None:
    f = results[0]["per_image"]
    print(f"ResNet-18 {'ImageNet' if args.imagenet else 'CIFAR'} shape ({'x'.join(map(str, shape))}) through ONNX, "
          f"batch of {args.batch} images, calibration on {args.calibration}, best of {args.repeats}")
    print(f"{'config':<17}{'arrays':>8}{'programming (s)':>17}{'per image (s)':>15}{'float here':>12}{'x float':>9}"
          f"{'no ref':>8}{'CPU x':>7}{'no ref':>8}{'peak RSS':>10}  target (issue #19: 3x224x224)")
    for r in results:
        prog = "-" if r["programming"] is None else f"{r['programming']:.1f}"
        arrays = "-" if r["arrays"] is None else str(r["arrays"])
        ratio, no_ref = _ratios(r, f)
        no_ref = f"{no_ref:>8.1f}" if no_ref is not None else f"{'-':>8}"
        cpu = "".join(f"{r[k]:>{w}.1f}" if k in r else f"{'-':>{w}}" for k, w in (("cpu_ratio", 7),
                                                                                 ("cpu_ratio_no_ref", 8)))
        here = f"{r.get('float_here', f):>12.4f}"
        print(f"{r['config']:<17}{arrays:>8}{prog:>17}{r['per_image']:>15.4f}{here}{ratio:>9.1f}{no_ref}{cpu}"
              f"{r['peak_rss'] / 1e9:>8.2f} GB  {TARGETS.get(r['config'], '')}")
    for r in results[1:]:
        if r["config"] in TARGETS:
            limit = float(TARGETS[r["config"]].split()[-1].rstrip("x"))
            ratio = _ratios(r, f)[0]
            print(f"{'meets' if ratio <= limit else 'misses'}  {r['config']}: {ratio:.1f}x float per image "
                  f"(target {TARGETS[r['config']]}); programming {r['programming'] / r['float_here']:.0f} float "
                  f"images' worth, once")
    _report_programming(results)
    print("(float here: the float inference per image timed in the same process, alternating with the "
          "analog runs; x float and no ref are over it. no ref: without the per-layer diagnosis's float "
          "product of every analog call. CPU x: the same ratios in CPU time of the process, every thread: "
          "less at the mercy of other jobs on the shared cores, but OpenBLAS's threads count while they spin)")
    threads = {r["threads"] for r in results if "threads" in r}
    print(f"(analog row tiles on {', '.join(map(str, sorted(threads)))} thread(s), AnalogBackend.threads; the float "
          f"inference on NumPy's BLAS threads)")
    peak = max(r["peak_rss"] for r in results)
    print(f"{'meets' if peak < MEMORY_TARGET else 'misses'}  peak memory {peak / 1e9:.2f} GB for a batch of "
          f"{args.batch} (target < {MEMORY_TARGET / 1e9:.0f} GB for a batch of 8)")


def _report_programming(results: list[dict]) -> None:
    """Programming each way (wall s, CPU s in brackets), the cached run's speed-up, the cache's
    answers and size."""
    print(f"\n{'programming':<17}{'arrays':>8}{'library':>9}{'no cache':>16}{'writing':>16}{'cached':>16}{'x':>6}"
          f"{'cache hits':>17}{'file':>10}")
    for r in (r for r in results if r["programming"] is not None):
        cell = lambda k: f"{r[k]:.1f} ({r[k + '_cpu']:.1f})"   # noqa: E731
        print(f"{r['config']:<17}{r['arrays']:>8}{r['library']:>9.1f}{cell('programming'):>16}{cell('writing'):>16}"
              f"{cell('cached'):>16}{r['programming'] / r['cached']:>6.1f}"
              f"{r['cache_hits']:>8} of {r['cache_hits'] + r['cache_misses']:<6}{r['cache_bytes'] / 1e6:>7.0f} MB")
    print("(s, wall and in brackets CPU; the library file read once before them. no cache: as `cimspice simulate` "
          "without --program-cache; writing: a first run with it (an empty file); cached: a second run; x: no cache "
          "over cached. The three chips' outputs checked equal, bit for bit)")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=8, help="images per forward pass (default: %(default)s)")
    parser.add_argument("--calibration", type=int, default=2, help="calibration images (default: %(default)s)")
    parser.add_argument("--repeats", type=int, default=2,
                        help="forward passes timed per configuration, best kept (default: %(default)s)")
    parser.add_argument("--imagenet", action="store_true", help="3x224x224 and 1000 classes instead of CIFAR")
    parser.add_argument("--one", choices=list(CONFIGS), help=argparse.SUPPRESS)
    parser.add_argument("--model", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    shape = (3, 224, 224) if args.imagenet else (3, 32, 32)
    if args.one:
        print(json.dumps(measure(args.one, args.model, args.batch, args.calibration, args.repeats, shape)))
        return
    from onnx_models import resnet18

    with tempfile.TemporaryDirectory() as tmp:
        path = resnet18(Path(tmp) / "resnet18.onnx", imagenet=args.imagenet, classes=1000 if args.imagenet else 10)
        results = []
        before = _load()
        for config in CONFIGS:
            results.append(_child(config, args, path))
            print(f"  {json.dumps(results[-1])}", file=sys.stderr, flush=True)   # partial results survive
    _report(results, args, shape)
    print(f"load average before {before}, at the end {_load()} (the machine is shared)")


if __name__ == "__main__":
    main()
