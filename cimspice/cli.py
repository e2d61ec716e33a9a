"""The ``cimspice`` command line.

Errors the user can fix come out as one line on stderr (``cimspice: <file>: <problem>``)
and a non-zero exit; ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from . import CimspiceError, __version__

EXIT_ERROR, EXIT_USAGE, EXIT_INTERRUPTED = 1, 2, 130


def _demo(args) -> int:
    from .demo import DemoConfig, run_demo

    config = DemoConfig.quick() if args.quick else DemoConfig()
    summary = run_demo(Path(args.output), config, progress=not args.no_progress)
    print(summary)
    return 0


def _sweep(args) -> int:
    from .characterize import load_spec, run_sweep

    spec = load_spec(args.spec)
    counts = run_sweep(spec, args.output, workers=args.workers, overwrite=args.force,
                       progress=not args.no_progress)
    print(f"{args.output}: {counts['ok']} ok, {counts['aided']} converged with aids, "
          f"{counts['failed']} failed, {counts['pending']} pending")
    return 0 if counts["failed"] == 0 and counts["pending"] == 0 else 3


def _fit(args) -> int:
    from .surrogate import fit_library

    print(fit_library(args.sweeps, args.output, outputs=args.outputs, models=args.models))
    return 0


def _inspect(args) -> int:
    from .surrogate import inspect_library

    print(inspect_library(args.library))
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

    p = sub.add_parser("sweep", help="run a sweep spec through ngspice into an HDF5 sweep file")
    p.add_argument("spec", help="YAML sweep specification")
    p.add_argument("-o", "--output", required=True, help="sweep file to write (.h5)")
    p.add_argument("--workers", type=int, default=1, help="worker processes (default: %(default)s)")
    p.add_argument("--force", action="store_true", help="replace an existing output file")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=_sweep)

    p = sub.add_parser("fit", help="fit surrogates to sweep files into an HDF5 surrogate library")
    p.add_argument("sweeps", nargs="+", help="sweep files (.h5)")
    p.add_argument("-o", "--output", required=True, help="surrogate library to write or extend (.h5)")
    p.add_argument("--outputs", nargs="+", help="outputs to fit (default: all)")
    p.add_argument("--models", nargs="+", help="candidate model families (default: all that apply)")
    p.set_defaults(func=_fit)

    p = sub.add_parser("inspect", help="list the surrogates of a library with domains and errors")
    p.add_argument("library")
    p.set_defaults(func=_inspect)
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


if __name__ == "__main__":
    sys.exit(main())
