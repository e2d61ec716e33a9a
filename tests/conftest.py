"""Shared fixtures: the process's ngspice engine, an independent `ngspice -b` runner, and
surrogates fitted to an analytic cell sweep."""

from __future__ import annotations

import re
import subprocess
import warnings
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def engine():
    from cimspice.spice import get_engine

    return get_engine()


def ngspice_batch(netlist: str, tmp_path: Path, names: list[str]) -> dict[str, float]:
    """Operating point of ``netlist`` from a separate ``ngspice -b`` process: an oracle that
    shares nothing with the engine but the simulator itself."""
    body = netlist.rstrip().removesuffix(".end").rstrip()
    prints = "\n".join(f"print {n}" for n in names)
    deck = tmp_path / "oracle.cir"
    deck.write_text(f"{body}\n.control\nop\n{prints}\n.endc\n.end\n")
    run = subprocess.run(["ngspice", "-b", str(deck)], capture_output=True, text=True, timeout=120)
    values = {}
    for name in names:
        key = name.lower()
        match = re.search(rf"^{re.escape(key)}\s*=\s*(\S+)", run.stdout, re.MULTILINE)
        assert match, f"ngspice -b printed no {name}:\n{run.stdout}\n{run.stderr}"
        values[name] = float(match.group(1))
    return values


@pytest.fixture
def batch(tmp_path):
    return lambda netlist, names: ngspice_batch(netlist, tmp_path, names)


def rel_err(a, b) -> float:
    a, b = np.asarray(a, float), np.asarray(b, float)
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-300))


@pytest.fixture(scope="session")
def grid_fit(tmp_path_factory):
    """``(path, surrogates)``: a grid sweep of the analytic cell current (tests/surrogate_data.py)
    and what :func:`~cimspice.surrogate.fit_surrogates` fits to it with the fast candidates.
    Fitted once (~6 s) for every test that reads it; none changes it."""
    from surrogate_data import FAST_MODELS, cell_grid_sweep

    from cimspice.surrogate import fit_surrogates

    folder = tmp_path_factory.mktemp("gridfit")
    path = cell_grid_sweep(folder / "cell_grid.h5")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        surrogates = fit_surrogates(path, models=FAST_MODELS)
    return path, surrogates
