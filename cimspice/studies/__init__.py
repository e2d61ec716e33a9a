"""Studies: the four papers' experiments, rerun on the characterized circuits.

``cimspice study NAME [-o DIR] [--quick]`` runs one and writes ``DIR/report.md`` with its
figures: setup, tables, plots, and each of the paper's headline claims beside the value
measured in that run. Everything is recomputed from ngspice characterization through the
system simulator; the papers' figures live in :mod:`.sources`.
"""

from __future__ import annotations

import importlib
from pathlib import Path

from .. import CimspiceError

__all__ = ["STUDIES", "StudyError", "run_study"]

# name -> (module, one-line description)
STUDIES = {
    "input-splitting": ("input_splitting", "Kim et al. ISLPED 2018: split layers, low-resolution ADCs, retraining"),
    "training-block": ("training_block", "Marinella et al. JETCAS 2018: VMM, MVM^T and outer-product update on an "
                                         "analog ReRAM block, analog training"),
    "reprogrammable-nonlinear": ("reprogrammable_nonlinear", "de Moura & Carro TRETS 2023: activations and softmax on "
                                                             "reprogrammed ReRAM arrays against lookup tables"),
    "ternary-associative": ("ternary_associative", "de Lima et al. 2024: ternary weights on a CAM associative "
                                                   "processor against crossbars"),
}


class StudyError(CimspiceError):
    """An unknown study or a study that cannot run."""


def run_study(name: str, out_dir, quick: bool = False, progress: bool | None = None) -> Path:
    """Run study ``name`` (one of :data:`STUDIES`) into ``out_dir``, created, and return the
    path of its report (``cimspice study``). ``quick``: a test's reduced sizes (minutes, not
    tens); ``progress``: a progress bar (default: only on a terminal).

    Example::

        import cimspice
        report = cimspice.run_study("input-splitting", "out/", quick=True)  # out/report.md and its figures
    """
    if name not in STUDIES:
        raise StudyError(f"unknown study {name!r} (known: {', '.join(sorted(STUDIES))})")
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise StudyError(f"{out}: cannot create the report folder: {error.strerror or error}") from None
    if not out.is_dir():
        raise StudyError(f"{out}: not a folder")
    module = importlib.import_module(f".{STUDIES[name][0]}", __name__)
    return module.run(out, quick=quick, progress=progress)
