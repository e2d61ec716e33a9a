"""docs/designer.md, run as written: its files are written, its `cimspice` commands run through
the command line and its Python blocks executed, in order, in one folder; then the results
are checked against the circuit's physics."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest

DOC = Path(__file__).resolve().parents[1] / "docs" / "designer.md"
# a fenced block: its language, an optional file name, its text
_BLOCK = re.compile(r"^```(\w+)(?: +(\S+))?\n(.*?)^```", re.MULTILINE | re.DOTALL)


def blocks() -> list[tuple[str, str, str]]:
    return _BLOCK.findall(DOC.read_text(encoding="utf-8"))


def test_the_doc_shows_files_commands_and_python():
    kinds = [(lang, bool(name)) for lang, name, _ in blocks()]
    assert ("spice", True) in kinds and ("yaml", True) in kinds and ("sh", False) in kinds
    assert ("python", False) in kinds


@pytest.mark.slow
def test_the_walkthrough_runs_as_written(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    for lang, name, text in blocks():
        if name:
            (tmp_path / name).write_text(text)
        elif lang == "sh":
            for line in filter(None, (ln.strip() for ln in text.splitlines())):
                args = shlex.split(line)
                assert args[0] == "cimspice", line
                run = subprocess.run([sys.executable, "-m", "cimspice.cli", *args[1:]], capture_output=True, text=True,
                                     timeout=600, env={**os.environ, "COLUMNS": "120"})
                assert run.returncode == 0, f"{line}\n{run.stdout[-2000:]}\n{run.stderr[-2000:]}"
        elif lang == "python":
            exec(compile(text, f"{DOC.name}:python", "exec"), namespace)  # noqa: S102 - the doc's own code
    with h5py.File("ota.h5", "r") as f:
        assert list(f["status"][...]) == [0] * 27
        assert {k: f["outputs"][k].attrs["units"] for k in f["outputs"]} == {
            "a0": "V/V", "f_u": "Hz", "pm": "deg", "t_delay": "s", "t_settle": "s", "e_op": "J"}
    ds = namespace["ds"]
    assert dict(ds.sizes) == {"corner": 3, "temp": 3, "ib": 3}
    # the bias draws 2 ib from 1.1 V for the 10 ns window, give or take the tail mirror's error
    ratio = ds["e_op"] / (2 * ds["ib"] * 1.1 * 10e-9)
    assert float(np.abs(ratio.sel(corner="tt", temp=27) - 1).max()) < 0.03
    assert float(np.abs(ratio - 1).max()) < 0.15
    assert float(ds["pm"].min()) > 60 and float(ds["pm"].max()) < 90  # one dominant pole at the output
    assert float(ds["a0"].min()) > 30 and bool((ds["f_u"] > 1e8).all())
    # a faster OTA (more bias) is quicker to follow the step
    assert bool((ds["t_delay"].diff("ib") < 0).all())
    mc = namespace["mc"]
    slope = np.polyfit(mc["dvth"].values, mc["v_out"].values, 1)[0]
    assert -1.3 < slope < -0.9  # the buffer follows m1's threshold shift, inverted
    assert Path("report/report.md").is_file() and Path("ota_mc_lib.h5").is_file()
