"""One 1T1R cell, one access-transistor size: the shipped bench, the cell circuit and the crossbars.

The oracle is the shipped bench itself, ``netlists/cell_1t1r.cir``, run by ``ngspice -b``
(no cimspice code): at a low word-line voltage, where the access transistor's size sets the
current, the cell circuit must reproduce the bench's printed current.
"""

from __future__ import annotations

import re
import subprocess

import numpy as np
import pytest

from cimspice.circuits import Crossbar
from cimspice.circuits.cell import Cell1T1R
from cimspice.circuits.devices import ACCESS_L, ACCESS_W, spice_number
from cimspice.paths import netlist_dir, netlist_path
from cimspice.spice import get_engine

BENCH = netlist_path("cell_1t1r.cir")


def bench_params() -> dict[str, float]:
    line = next(ln for ln in BENCH.read_text().splitlines() if ln.lower().startswith(".param"))
    return {k.lower(): spice_number(v) for k, v in re.findall(r"(\w+)=(\S+)", line)}


def test_the_bench_the_cell_and_the_crossbar_share_one_size():
    params = bench_params()
    assert (params["w_acc"], params["l_acc"]) == pytest.approx((ACCESS_W, ACCESS_L), rel=1e-12, abs=0)
    cell = Cell1T1R()
    assert (cell.w, cell.l) == (ACCESS_W, ACCESS_L)
    xbar = Crossbar(4, 4, cell="1T1R")
    assert (xbar.w_access, xbar.l_access) == (ACCESS_W, ACCESS_L)


@pytest.mark.parametrize("g, v_bl, v_wl", [(1e-4, 0.3, 0.55), (1e-4, 0.2, 1.1), (1e-5, 0.1, 0.7)])
def test_cell_circuit_reproduces_the_shipped_bench(tmp_path, g, v_bl, v_wl):
    text = BENCH.read_text()
    text = re.sub(r"^\.param g=\S+ vbl=\S+ vwl=\S+", f".param g={g!r} vbl={v_bl!r} vwl={v_wl!r}", text, flags=re.M)
    folder = netlist_dir()
    text = text.replace(".lib ptm45.lib tt", f'.lib "{folder / "ptm45.lib"}" tt')
    text = text.replace(".include reram.lib", f'.include "{folder / "reram.lib"}"')
    deck = tmp_path / "bench.cir"
    deck.write_text(text)
    run = subprocess.run(["ngspice", "-b", str(deck)], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    match = re.search(r"i_cell\s*=\s*(\S+)", run.stdout)
    assert match, run.stdout[-2000:] + run.stderr[-2000:]
    expected = float(match.group(1))

    cell = Cell1T1R()
    engine = get_engine()
    cell.load(engine)
    got = cell.simulate(engine, {"g": g, "v_bl": v_bl, "v_wl": v_wl}).values["i_cell"]
    np.testing.assert_allclose(got, expected, rtol=1e-3)  # both solved to ngspice's default reltol
