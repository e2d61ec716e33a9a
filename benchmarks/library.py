"""Wall time of ``cimspice library build``: from scratch, unchanged, and after one block changed.

    .venv/bin/python benchmarks/library.py [--workers N] [--only BLOCK ...] [--full]

Prints, measured in one run (nothing asserted):

1. the ``--quick`` build from scratch (every block of the quick set, or ``--only``);
2. the same build again with nothing changed (every block "unchanged": no ngspice, no fit);
3. the build after one block's definition changed (the TIA's quick ``i_in`` range narrowed,
   through a modified catalogue, as editing ``cimspice/library/blocks.py`` would): only
   that block is simulated and fitted again;
4. with ``--full``, the full build from scratch (tens of minutes on 2 cores).

The ratios of 2 and 3 to 1 are what incremental builds save. Each block's line (its
status and seconds) is printed as the build goes.
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
import time
from pathlib import Path


def timed(label: str, **kwargs) -> float:
    from cimspice.library import build_library

    print(f"--- {label}")
    start = time.perf_counter()
    results = build_library(echo=lambda line: print("   ", line), progress=False, **kwargs)
    seconds = time.perf_counter() - start
    failed = [r.name for r in results if r.status == "failed"]
    print(f"    {seconds:.1f} s" + (f" ({len(failed)} failed: {', '.join(failed)})" if failed else ""))
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--only", nargs="+", help="blocks of the quick build (default: the whole quick set)")
    parser.add_argument("--full", action="store_true", help="also time the full build from scratch")
    args = parser.parse_args()

    from cimspice.library import CATALOGUE

    tia = CATALOGUE["tia"]
    touched = {**CATALOGUE, "tia": dataclasses.replace(
        tia, quick_ranges={**tia.quick_ranges, "i_in": (0.0, 5e-5, 5, "linear")})}
    common = dict(only=args.only, quick=True, workers=args.workers)
    with tempfile.TemporaryDirectory() as tmp:
        library = Path(tmp) / "quick.h5"
        scratch = timed("--quick build from scratch", path=library, **common)
        unchanged = timed("the same build, nothing changed", path=library, **common)
        one = timed("after changing one block (tia)", path=library, catalogue=touched, **common)
        print(f"\nquick build {scratch:.1f} s; unchanged rebuild {unchanged:.2f} s ({unchanged / scratch:.3f}x); "
              f"one block changed {one:.1f} s ({one / scratch:.3f}x)")
        if args.full:
            full = timed("full build from scratch", path=Path(tmp) / "full.h5", workers=args.workers)
            print(f"full build {full / 60:.1f} min ({full / scratch:.1f}x the quick build)")


if __name__ == "__main__":
    main()
