"""docs/designer.md and docs/designer_latch.md, run as written: each doc's files are written,
its `cimspice` commands run through the command line and its Python blocks executed, in
order, in one folder; then the results are checked against the circuit's physics."""

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

DOCS = Path(__file__).resolve().parents[1] / "docs"
DOC, LATCH_DOC = DOCS / "designer.md", DOCS / "designer_latch.md"
# a fenced block: its language, an optional file name, its text
_BLOCK = re.compile(r"^```(\w+)(?: +(\S+))?\n(.*?)^```", re.MULTILINE | re.DOTALL)


def blocks(doc: Path = DOC) -> list[tuple[str, str, str]]:
    return _BLOCK.findall(doc.read_text(encoding="utf-8"))


@pytest.mark.parametrize("doc", [DOC, LATCH_DOC], ids=lambda d: d.stem)
def test_the_doc_shows_files_commands_and_python(doc):
    kinds = [(lang, bool(name)) for lang, name, _ in blocks(doc)]
    assert ("spice", True) in kinds and ("yaml", True) in kinds and ("sh", False) in kinds
    assert ("python", False) in kinds


def run_as_written(doc: Path, folder: Path) -> dict:
    """Write ``doc``'s files into ``folder`` (the working directory), run its commands and
    its Python blocks in order; the Python blocks' namespace."""
    namespace: dict = {}
    for lang, name, text in blocks(doc):
        if name:
            (folder / name).write_text(text)
        elif lang == "sh":
            for line in filter(None, (ln.strip() for ln in text.splitlines())):
                args = shlex.split(line)
                assert args[0] == "cimspice", line
                run = subprocess.run([sys.executable, "-m", "cimspice.cli", *args[1:]], capture_output=True, text=True,
                                     timeout=600, env={**os.environ, "COLUMNS": "120"})
                assert run.returncode == 0, f"{line}\n{run.stdout[-2000:]}\n{run.stderr[-2000:]}"
        elif lang == "python":
            exec(compile(text, f"{doc.name}:python", "exec"), namespace)  # noqa: S102 - the doc's own code
    return namespace


def walked_through(doc: Path, folder: Path, sweep: str, units: dict[str, str]) -> dict:
    """:func:`run_as_written`, then check that every point of the ``sweep`` file succeeded and
    its outputs carry ``units``; the Python blocks' namespace."""
    namespace = run_as_written(doc, folder)
    with h5py.File(sweep, "r") as f:
        assert list(f["status"][...]) == [0] * len(f["status"])
        assert {k: f["outputs"][k].attrs["units"] for k in f["outputs"]} == units
    return namespace


@pytest.mark.slow
def test_the_walkthrough_runs_as_written(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    namespace = walked_through(DOC, tmp_path, "ota.h5", {
        "a0": "V/V", "f_u": "Hz", "pm": "deg", "t_delay": "s", "t_settle": "s", "e_op": "J"})
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


@pytest.mark.slow
def test_the_latch_walkthrough_runs_as_written(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    namespace = walked_through(LATCH_DOC, tmp_path, "latch.h5", {"t_d": "s", "e_op": "J"})
    ds = namespace["ds"]
    assert dict(ds.sizes) == {"corner": 3, "temp": 3, "vod": 3}
    # regeneration: more overdrive, a quicker decision, at every corner and temperature
    assert bool((ds["t_d"].diff("vod") < 0).all())
    assert ds["t_d"].max(["temp", "vod"]).idxmax("corner") == "ss"
    # one output's load charges once per decision: at least cl * vdd^2 of the energy
    assert float(ds["e_op"].min()) > 2e-15 * 1.1**2
    assert Path("report/report.md").is_file() and Path("latch_lib.h5").is_file()
    mc = namespace["mc"]
    assert list(mc["status"].values) == [0] * 180
    # a threshold raised on the inp side works against the overdrive, at every condition
    df = namespace["df"]
    for _, group in df.groupby(["corner", "temp"]):
        fit = np.linalg.lstsq(np.c_[np.ones(len(group)), group.dvth_p, group.dvth_n], group.t_d, rcond=None)[0]
        assert fit[1] > 0 > fit[2]
        assert np.corrcoef(group.dvth_p - group.dvth_n, group.t_d)[0, 1] > 0.8  # the delay is log-shaped in it
    _the_latch_against_independent_oracles(tmp_path / "latch.cir", ds)


def _the_latch_against_independent_oracles(netlist: Path, ds) -> None:
    """The registered `strongarm` bench (its own netlist, clock and delay code) at the same
    sizes gives the same delay, and the energy grows by vdd^2 per farad of output load."""
    from cimspice.circuits.comparator import StrongArmComparator
    from cimspice.circuits.user import NetlistCircuit
    from cimspice.spice import get_engine

    engine = get_engine()
    for corner, temp, vod in [("tt", 27, 0.01), ("ss", 125, 0.002), ("ff", -40, 0.05)]:
        bench = StrongArmComparator(corner=corner, c_load=2e-15, measure_offset=False)
        bench.load(engine)
        point = {"vdd": 1.1, "v_cm": 0.7, "v_od": vod, "t_clk": 1e-9, "temp": temp,
                 **dict.fromkeys(bench.design.mismatch_devices(), 0.0)}
        delay = bench.simulate(engine, point).values["delay"]
        assert float(ds["t_d"].sel(corner=corner, temp=temp, vod=vod)) == pytest.approx(delay, rel=0.01)
    latch = NetlistCircuit(netlist, {"e": {"energy": {"supply": "vdd", "from": "100p", "to": "1.1n"}}},
                           {"tran": {"step": "2p", "stop": "1.2n", "max_step": "2p"}}, corner="tt")
    latch.load(engine)
    energy = [latch.simulate(engine, {"vod": 0.01, "vcm": 0.7, "cl": cl, "dvth_p": 0.0, "dvth_n": 0.0, "temp": 27.0})
              .values["e"] for cl in (2e-15, 12e-15)]
    assert (energy[1] - energy[0]) / 10e-15 == pytest.approx(1.1**2, rel=0.1)
