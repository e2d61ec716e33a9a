"""A wheel built from the repository, installed into a clean venv, runs the demo."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_wheel_in_clean_venv_runs_demo(tmp_path):
    dist = tmp_path / "dist"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", dist, REPO],
                   check=True, capture_output=True, timeout=600)
    wheel = next(dist.glob("cimspice-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    for shipped in ("cimspice/netlists/reram.lib", "cimspice/netlists/ptm45.lib", "cimspice/cli.py",
                    "cimspice/py.typed"):
        assert shipped in names, f"{shipped} missing from {wheel.name}"
    metadata = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
    assert "License-Expression: BSD-3-Clause" in metadata
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names), "LICENSE missing from the wheel"

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", venv], check=True, timeout=300)
    subprocess.run([venv / "bin" / "pip", "install", "-q", "--disable-pip-version-check", wheel],
                   check=True, capture_output=True, timeout=1200)
    # Run from an empty folder, so nothing of the source tree can be imported by accident.
    work = tmp_path / "work"
    work.mkdir()
    run = subprocess.run([venv / "bin" / "cimspice", "demo", "--quick", "--no-progress", "-o", "out"],
                         cwd=work, capture_output=True, text=True, timeout=1200)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "accuracy" in run.stdout
    for name in ("cell_sweep.h5", "surrogates.h5", "cell_iv.png", "summary.txt"):
        assert (work / "out" / name).is_file(), name
    located = subprocess.run([venv / "bin" / "python", "-c", "import cimspice.paths as p; print(p.netlist_dir())"],
                             cwd=work, capture_output=True, text=True, check=True).stdout.strip()
    assert located.startswith(str(venv)), located
    # the trained networks and shipped system specs are package data of the wheel
    sim = subprocess.run([venv / "bin" / "cimspice", "simulate", "ideal", "--network", "cnn", "--samples", "60",
                          "--adc-bits", "-o", "sim"], cwd=work, capture_output=True, text=True, timeout=600)
    assert sim.returncode == 0, sim.stderr[-3000:]
    assert "accuracy" in sim.stdout and (work / "sim" / "energy_breakdown.png").is_file()
