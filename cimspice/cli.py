"""The ``cimspice`` command line.

Errors the user can fix come out as one line on stderr (``cimspice: <file>: <problem>``)
and a non-zero exit; ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import sys
from pathlib import Path

from . import CimspiceError, __version__

EXIT_ERROR, EXIT_USAGE, EXIT_INTERRUPTED = 1, 2, 130
EXIT_POINTS_FAILED = 3  # sweep finished, some points failed (reasons in the file)


def _count(text: str) -> int:
    """argparse type of a count flag (--samples, --workers, ...): an integer >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is not a positive count")
    return value


def _demo(args) -> int:
    from .demo import DemoConfig, run_demo

    config = DemoConfig.quick() if args.quick else DemoConfig()
    summary = run_demo(Path(args.output), config, progress=not args.no_progress)
    print(summary)
    return 0


def _sweep(args) -> int:
    from . import run_sweep
    from .characterize import load_sweep_spec

    if args.resume and args.force:
        raise CimspiceError("sweep: --resume and --force exclude each other")
    executor = args.executor or ("dask" if args.scheduler else "local")
    if args.scheduler and executor != "dask":
        raise CimspiceError("sweep: --scheduler needs --executor dask")
    spec = load_sweep_spec(args.spec)
    try:
        summary = run_sweep(spec, args.output, workers=args.workers, executor=executor, scheduler=args.scheduler,
                            chunk_size=args.chunk_size, resume=args.resume, overwrite=args.force,
                            timeout=args.timeout, recycle_after=args.recycle_after, checkpoint=args.checkpoint,
                            progress=False if args.no_progress else None)
    except KeyboardInterrupt:
        print(f"cimspice: interrupted; {args.output} keeps every finished point: continue with --resume",
              file=sys.stderr)
        return EXIT_INTERRUPTED
    print(summary)
    if summary.counts["pending"]:
        return EXIT_INTERRUPTED
    return 0 if summary.counts["failed"] == 0 else EXIT_POINTS_FAILED


def _fit(args) -> int:
    from . import fit_library

    print(fit_library(args.sweeps, args.output, outputs=args.outputs, models=args.models,
                      validation_sweep_path=args.validation, name_template=args.name,
                      input_scales=dict(args.input_scale or ()), allow_incomplete=args.allow_incomplete,
                      progress=False if args.no_progress else None, report=args.report))
    if args.report:
        print(f"wrote {Path(args.report) / 'report.md'} (a parity plot and an error histogram per surrogate)")
    return 0


def _export(args) -> int:
    from .surrogate.export import export_csv

    if args.output == "-":
        export_csv(args.sweep, sys.stdout)
    else:
        print(f"wrote {export_csv(args.sweep, args.output)}")
    return 0


def _input_scale(text: str) -> tuple[str, str]:
    """``NAME=log`` or ``NAME=linear`` (``cimspice fit --input-scale``) -> (name, scale)."""
    name, _, scale = text.partition("=")
    if not name or scale not in ("linear", "log"):
        raise argparse.ArgumentTypeError(f"{text!r}: expected NAME=log or NAME=linear, e.g. v_od=log")
    return name, scale


def _study(args) -> int:
    from . import run_study

    path = run_study(args.name, args.output or f"cimspice-study-{args.name}", quick=args.quick,
                     progress=False if args.no_progress else None)
    print(f"wrote {path}")
    return 0


def _inspect(args) -> int:
    from .surrogate import inspect_library

    print(inspect_library(args.library))
    return 0


def _simulate(args) -> int:
    from . import simulate
    from .sim.explore import apply_settings, parse_setting, parse_sweep
    from .sim.spec import load_system_spec

    spec = load_system_spec(args.system)
    spec = apply_settings(spec, [parse_setting(text) for text in args.set or ()])
    network = _network(args)
    if args.sweep:
        return _explore(args, spec, [parse_sweep(text) for text in args.sweep], network)
    every_corner = args.corner == "all"
    adc_bits = args.adc_bits or ()   # the accuracy sweep over ADC resolution is opt-in
    for bits in adc_bits:  # an error names the flag, before any work
        spec.updated({"adc": {"bits": bits}}, source="--adc-bits")
    for field, value in (("corner", None if every_corner else args.corner), ("temp", args.temp)):
        if value is not None:
            spec.updated({field: value}, source=f"--{field}")   # an error names the flag,
            spec = spec.updated({field: value})                  # later ones the spec file
    if every_corner:
        from .sim.results import corner_table
        from .sim.simulate import simulate_corners

        results = simulate_corners(spec, network, args.data, n_samples=args.samples, seeds=args.seeds,
                                   adc_bits=tuple(adc_bits), output=args.output, program_cache=args.program_cache)
        print(f"cimspice simulate: network {args.network!r} on system {spec.name!r} at every corner of "
              f"{spec.library} ({results[0].n_samples} held-out samples; per corner: {args.output}/CORNER/)\n"
              + corner_table(results))
        return 0
    result = simulate(spec, network, args.data, n_samples=args.samples, seeds=args.seeds,
                      adc_bits=tuple(adc_bits), output=args.output, per_layer=args.per_layer,
                      program_cache=args.program_cache)
    print(result.to_table())
    return 0


def _network(args):
    """``--network`` as given, or with ``--onnx-batch-axis`` the ONNX file imported with the
    batch on that axis of its input."""
    if args.onnx_batch_axis is None:
        return args.network
    if not str(args.network).lower().endswith(".onnx"):
        raise CimspiceError(f"simulate: --onnx-batch-axis applies to an ONNX network (PATH.onnx), not "
                            f"{args.network!r}")
    from .sim.onnx_import import load_onnx

    return load_onnx(args.network, batch_axis=args.onnx_batch_axis)


def _explore(args, spec, sweeps, network) -> int:
    """``simulate --sweep``: every combination of the swept values, a table, results.csv and
    the Pareto plot."""
    from .sim.explore import design_points, explore, write_exploration
    from .sim.results import engineering
    from .sim.simulate import _check_writable

    if args.adc_bits or args.corner:
        raise CimspiceError("simulate: --sweep runs design points; sweep adc.bits with --sweep adc.bits=..., "
                            "not --adc-bits, and choose one corner with --set corner=NAME")
    points = design_points(spec, sweeps)
    _check_writable(Path(args.output))
    results = explore(points, network, args.data, n_samples=args.samples, seeds=args.seeds,
                      workers=args.workers, scheduler=args.scheduler, progress=sys.stderr.isatty(),
                      program_cache=args.program_cache)
    files = write_exploration(results, Path(args.output))
    knobs = list(points[0][0])
    fmt = (lambda v: f"{v:.2%}") if results[0].metric == "accuracy" else (lambda v: f"{v:.3f}")
    print(f"cimspice simulate: network {args.network!r} on system {spec.name!r}, {len(points)} design points")
    print("  " + "".join(f"{k:>22}" for k in knobs) + f"{'float':>10}{'analog':>10}{'+-':>8}{'energy':>11}"
          f"{'latency':>11}{'area':>13}")
    for r in results:
        c = r.costs
        print("  " + "".join(f"{str(r.design[k]):>22}" for k in knobs) + f"{fmt(r.float_metric):>10}"
              f"{fmt(r.analog_metric):>10}{fmt(r.analog_ci) if len(r.seeds) > 1 else '-':>8}"
              f"{engineering(c.total_energy, 'J'):>11}"
              f"{engineering(c.latency, 's'):>11}{engineering(c.total_area, 'm^2'):>13}")
    print(f"  files       {', '.join(map(str, files))}")
    return 0


def _library_datasheet(args) -> int:
    from .library.datasheet import write_datasheet

    print(f"wrote {write_datasheet(args.library, args.output)}")
    return 0


def _library_build(args) -> int:
    from .library import LibraryError, build_library
    from .library.doctable import update_doc

    def numbers(text: str | None, flag: str, kind=float) -> list:
        try:
            return [kind(x.strip()) for x in text.split(",")] if text else []
        except ValueError:
            raise LibraryError(f"library build: {flag} {text}: expected a comma-separated list") from None

    executor = args.executor or ("dask" if args.scheduler else "local")
    if args.scheduler and executor != "dask":
        raise LibraryError("library build: --scheduler needs --executor dask")
    try:
        results = build_library(args.output, only=args.only, quick=args.quick,
                                corners=numbers(args.corners, "--corners", str), temps=numbers(args.temps, "--temps"),
                                workers=args.workers, executor=executor, scheduler=args.scheduler, work=args.work,
                                force=args.force, progress=False if args.no_progress else None, echo=print)
    except KeyboardInterrupt:
        print(f"cimspice: interrupted; {args.output} keeps every block it finished and the sweep files every "
              "point: the same command continues", file=sys.stderr)
        return EXIT_INTERRUPTED
    counts = {s: sum(r.status == s for r in results) for s in ("built", "refit", "unchanged", "failed")}
    print(f"{args.output}: " + ", ".join(f"{n} {s}" for s, n in counts.items()) +
          f" in {sum(r.seconds for r in results):.0f} s")
    if args.doc:
        update_doc(args.output, args.doc, args.img)
        print(f"wrote the tables of {args.doc}")
    failed = [r.name for r in results if r.status == "failed"]
    if failed:
        raise LibraryError(f"library build: {len(failed)} block(s) failed: {', '.join(failed)} (reasons above)")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cimspice", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"cimspice {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks and debug logs")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("demo", help="the whole flow on a 1T1R cell: sweep, surrogate, network")
    p.add_argument("-o", "--output", default="cimspice-demo", help="output folder (default: %(default)s)")
    p.add_argument("--quick", action="store_true", help="reduced sizes (about a minute)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.set_defaults(func=_demo)

    p = sub.add_parser("sweep", help="run a sweep spec through ngspice into an HDF5 sweep file",
                       description="Run a sweep spec through ngspice into an HDF5 sweep file. Exit status: "
                                   "0 all points done, 3 some points failed, 130 interrupted (resumable), "
                                   "1 an error.")
    p.add_argument("spec", help="YAML sweep specification")
    p.add_argument("-o", "--output", required=True, help="sweep file to write (.h5)")
    p.add_argument("--workers", type=_count, default=1, help="worker processes (default: %(default)s)")
    p.add_argument("--executor", choices=("local", "dask"), help="local process pool (default) or Dask")
    p.add_argument("--scheduler", metavar="ADDRESS", help="Dask scheduler, e.g. tcp://10.0.0.5:8786 "
                   "(without it, --executor dask starts a LocalCluster of --workers processes)")
    p.add_argument("--resume", action="store_true", help="continue an interrupted sweep file (same spec only)")
    p.add_argument("--force", action="store_true", help="replace an existing output file")
    p.add_argument("--timeout", type=float, metavar="S", help="time limit per point in seconds "
                   "(default: the spec's timeout, else 60)")
    p.add_argument("--chunk-size", type=_count, metavar="N", help="points per task (default: automatic, <= 256)")
    p.add_argument("--recycle-after", type=_count, default=50_000, metavar="N",
                   help="points per worker before the local pool is replaced (default: %(default)s)")
    p.add_argument("--checkpoint", type=float, default=30.0, metavar="S",
                   help="seconds between updates of the output file (default: %(default)s)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=_sweep)

    p = sub.add_parser("fit", help="fit surrogates to sweep files into an HDF5 surrogate library")
    p.add_argument("sweeps", nargs="+", help="sweep files (.h5)")
    p.add_argument("-o", "--output", required=True, help="surrogate library to write or extend (.h5)")
    p.add_argument("--outputs", nargs="+", help="outputs to fit (default: all)")
    p.add_argument("--models", nargs="+", help="candidate model families (default: all that apply)")
    p.add_argument("--name", default="{circuit}.{output}", metavar="TEMPLATE",
                   help="surrogate names, from {circuit}, {output} and {corner} (default: %(default)s; e.g. "
                   "pwl_tanh.{output} for one function of the reprogrammable unit)")
    p.add_argument("--validation", metavar="SWEEP.h5", help="off-grid sweep of the same circuit that scores and "
                   "selects the candidates (default: points held out of the training sweep)")
    p.add_argument("--input-scale", type=_input_scale, action="append", metavar="NAME=log|linear",
                   help="fit input NAME in log10 or linearly (repeatable; default: the scale the sweep file "
                   "records for its axis)")
    p.add_argument("--allow-incomplete", action="store_true", help="fit an interrupted sweep's finished points "
                   "(refused without it; the surrogates record it)")
    p.add_argument("--report", metavar="DIR", help="write DIR/report.md with a parity plot and an error histogram "
                   "per surrogate (on the --validation sweep, else on the held-out points that chose its model)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=_fit)

    p = sub.add_parser("export", help="a sweep file as a CSV table: one row per point (inputs, outputs, status)",
                       description="Write every point of a sweep file as a CSV row: inputs, outputs, status. The "
                                   "first line is a # comment with each column's unit and the status codes. In "
                                   "Python, cimspice.surrogate.open_sweep_dataset(SWEEP.h5) gives an xarray.Dataset.")
    p.add_argument("sweep", help="sweep file (.h5)")
    p.add_argument("-o", "--output", required=True, help="CSV file to write, or - for stdout")
    p.set_defaults(func=_export)

    p = sub.add_parser("simulate", help="a trained network on a described accelerator: accuracy, energy, "
                       "latency, area")
    p.add_argument("system", help="system spec (YAML), or a shipped one: baseline, ideal")
    p.add_argument("--network", required=True, help="shipped network (mlp, cnn, resnet, lstm, gpt), a network file, or "
                   "an ONNX model (PATH.onnx, see docs/onnx.md)")
    p.add_argument("--onnx-batch-axis", type=int, metavar="AXIS", help="the axis of the ONNX model's input that "
                   "holds the batch, e.g. 1 for a time-major (T, N, F) model exported at batch 1 (default: the "
                   "file's one dynamic axis, else 0; docs/onnx.md). The data stay batch-first, (N, ...)")
    p.add_argument("--data", metavar="FILE.npz", help="evaluation data: arrays x, y (and x_calibration) "
                   "instead of the held-out digits (needed by ONNX models not shaped like them)")
    p.add_argument("-o", "--output", default="cimspice-simulate", help="output folder: simulate.txt, results.json "
                   "(every figure with its source), plots (default: %(default)s)")
    p.add_argument("--samples", type=_count, metavar="N", help="test samples (default: the whole held-out set)")
    p.add_argument("--seeds", type=_count, default=1, help="noise seeds averaged (default: %(default)s)")
    p.add_argument("--adc-bits", type=int, nargs="*", metavar="B",
                   help="ADC resolutions of an accuracy sweep beside the run, both row splits (default: none; "
                   "a design sweep of any field: --sweep)")
    p.add_argument("--corner", metavar="NAME", help="process corner of the library's tables (each key read as "
                   "key@NAME), or 'all': one run per corner the library holds, one table of them")
    p.add_argument("--temp", type=float, metavar="DEGC", help="temperature the library's tables are evaluated at "
                   "(their temp input; default: as characterized)")
    p.add_argument("--set", action="append", metavar="FIELD=VALUE", help="override a spec field, e.g. adc.bits=5 "
                   "(YAML value, validated as the spec file; repeatable)")
    p.add_argument("--sweep", action="append", metavar="FIELD=V1,V2", help="simulate every combination of these "
                   "values (repeatable): results.json, results.csv and pareto.png in the output folder")
    p.add_argument("--workers", type=_count, default=1, help="processes for --sweep: this one and N - 1 more "
                   "(forked on Linux, spawned elsewhere; default: %(default)s)")
    p.add_argument("--scheduler", metavar="ADDRESS", help="Dask scheduler for --sweep (e.g. tcp://10.0.0.5:8786)")
    p.add_argument("--per-layer", action="store_true", help="print the per-layer diagnosis (always in results.json "
                   "and layers.png)")
    p.add_argument("--program-cache", metavar="FILE.h5", help="keep the arrays' IR-drop transfer matrices in this "
                   "HDF5 file and reuse them: a rerun of the same network, spec and seeds skips most of programming, "
                   "with the same results bit for bit (created if missing; docs/system.md)")
    p.set_defaults(func=_simulate)

    from .studies import STUDIES

    p = sub.add_parser("study", help="rerun a paper's experiment on the characterized circuits: a report "
                       "with tables, plots and the paper's claims beside ours")
    p.add_argument("name", choices=sorted(STUDIES), help="; ".join(f"{k}: {v[1]}" for k, v in STUDIES.items()))
    p.add_argument("-o", "--output", help="report folder (default: cimspice-study-NAME)")
    p.add_argument("--quick", action="store_true", help="reduced sizes (a test's; minutes, not tens)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=_study)

    library = sub.add_parser("library", help="the characterized component library: build it, read its datasheet")
    library_commands = library.add_subparsers(dest="library_command", required=True)
    p = library_commands.add_parser(
        "build", help="characterize the catalogue's blocks into one surrogate library (incremental)",
        description="Characterize the catalogue's blocks (docs/library.md) through ngspice, each with a training "
                    "grid and an off-grid validation sweep, into one surrogate library. Blocks whose fingerprint "
                    "did not change are left alone; interrupted sweeps are resumed.")
    p._negative_number_matcher = re.compile(r"^-\d[\d.,]*$")  # --temps -40,27,125 is a value, not a flag
    p.add_argument("-o", "--output", default="library.h5", help="surrogate library to write or update "
                   "(default: %(default)s)")
    p.add_argument("--only", nargs="+", metavar="BLOCK", help="these blocks, or every block of these circuits "
                   "(default: the whole catalogue but its heavy blocks)")
    p.add_argument("--quick", action="store_true", help="small grids and the quick set of blocks (minutes)")
    p.add_argument("--corners", metavar="C,C", help="process corners, e.g. tt,ff,ss: one surrogate per corner "
                   "(default: none, the circuits' tt cards)")
    p.add_argument("--temps", metavar="T,T", help="temperatures in degC, e.g. -40,27,85,125: a temp input of "
                   "every block (default: 27 only; give 4 or more: grid-cubic needs 4 nodes an axis)")
    p.add_argument("--workers", type=_count, default=1, help="worker processes (default: %(default)s)")
    p.add_argument("--executor", choices=("local", "dask"), help="local process pool (default) or Dask")
    p.add_argument("--scheduler", metavar="ADDRESS", help="Dask scheduler, e.g. tcp://10.0.0.5:8786")
    p.add_argument("--work", metavar="DIR", help="folder of the sweep files (default: OUTPUT.d)")
    p.add_argument("--force", action="store_true", help="simulate and fit the selected blocks again")
    p.add_argument("--doc", metavar="FILE.md", help="then rewrite FILE's marked tables from the library "
                   "(e.g. docs/surrogates.md)")
    p.add_argument("--img", metavar="DIR", help="with --doc: a parity plot per block in DIR")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.set_defaults(func=_library_build)

    p = library_commands.add_parser("datasheet", help="a page per block of a library (Markdown + PNG): ranges, "
                                    "held-out errors, provenance, area, figures")
    p.add_argument("library", help="surrogate library (.h5), e.g. from cimspice library build")
    p.add_argument("-o", "--output", default="datasheet", help="output folder (default: %(default)s)")
    p.set_defaults(func=_library_datasheet)

    p = sub.add_parser("inspect", help="list the surrogates of a library with domains and errors")
    p.add_argument("library")
    p.set_defaults(func=_inspect)
    from . import circuits_cmd

    circuits_cmd.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.debug else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        return args.func(args)
    except CimspiceError as error:
        if args.debug:
            raise
        print(f"cimspice: {error}".splitlines()[0], file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("cimspice: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:   # output piped into `head`: the reader has what it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
