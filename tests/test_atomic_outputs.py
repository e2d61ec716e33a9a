"""A failed or partial step leaves nothing a later step trusts (issue 15, item 3).

A failed `fit` leaves the previous library byte for byte; an interrupted sweep is fitted only
when asked, and the library says so; `simulate` creates its folder only once it succeeded;
count flags and sweep sizes are checked before any work; a wrong output vector stops a
sweep at once with the vectors the netlist has.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys

import h5py
import numpy as np
import pytest

from cimspice.cli import build_parser, main

DIVIDER = "divider\n.param r2=1k vin=1\nV1 in 0 dc {vin}\nR1 in out 1k\nR2 out 0 {r2}\n.end\n"
SPEC = """netlist: div.cir
parameters:
  r2: {start: 1000.0, stop: 5000.0, num: 5}
  vin: {start: 0.0, stop: 2.0, num: 6}
outputs:
  v_out: {vector: "v(out)", unit: "V"}
"""


def sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def good(tmp_path_factory):
    """A finished 30-point sweep file of the divider (ngspice, run once)."""
    from cimspice.characterize import load_sweep_spec, run_sweep

    folder = tmp_path_factory.mktemp("good")
    (folder / "div.cir").write_text(DIVIDER)
    (folder / "spec.yaml").write_text(SPEC)
    run_sweep(load_sweep_spec(folder / "spec.yaml"), folder / "good.h5", executor="inline", progress=False)
    return folder / "good.h5"


def interrupted(good, path):
    """``good`` as a sweep stopped with the 12 points at r2 = 2k and 4k ohm pending (grid
    planes the fit holds out: the rest still spans the domain), ``complete`` false."""
    shutil.copy(good, path)
    with h5py.File(path, "r+") as f:
        pending = np.isin(f["inputs/r2"][...], [2000.0, 4000.0])
        f["status"][pending] = -1
        f["outputs/v_out"][pending] = np.nan
        f.attrs["complete"] = False
    return path


# ----------------------------------------------------------------------------- fit
def test_failed_fit_leaves_the_previous_library_byte_for_byte(good, tmp_path, capsys):
    shutil.copy(good, tmp_path / "good.h5")
    data = good.read_bytes()
    (tmp_path / "truncated.h5").write_bytes(data[: len(data) // 2])
    lib = tmp_path / "lib.h5"
    assert main(["fit", str(tmp_path / "good.h5"), "-o", str(lib), "--models", "poly-2"]) == 0
    before = sha(lib)
    with h5py.File(lib, "r") as f:
        assert "incomplete_sweep" not in f["surrogates/div.v_out"].attrs  # a finished sweep: nothing to say
    capsys.readouterr()
    argv = ["fit", str(tmp_path / "good.h5"), str(tmp_path / "truncated.h5"), "--models", "grid-linear", "-o"]
    assert main([*argv, str(lib)]) == 1
    assert "truncated.h5" in capsys.readouterr().err
    assert sha(lib) == before                                   # not good.h5's new surrogates
    assert main([*argv, str(tmp_path / "new.h5")]) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["good.h5", "lib.h5", "truncated.h5"]  # no temp, no new.h5


def test_interrupted_sweep_is_refused_unless_allowed_and_then_recorded(good, tmp_path):
    part = interrupted(good, tmp_path / "part.h5", )
    lib = tmp_path / "lib.h5"
    run = subprocess.run([sys.executable, "-m", "cimspice.cli", "fit", str(part), "-o", str(lib), "--models",
                          "poly-2"], capture_output=True, text=True, timeout=300)
    assert run.returncode == 1 and not lib.exists()
    assert run.stderr.strip().splitlines() == [
        f"cimspice: {part}: interrupted sweep, 18 of 30 points run (12 pending): finish it with "
        "`cimspice sweep --resume`, or fit it anyway with --allow-incomplete"]

    assert main(["fit", str(part), "-o", str(lib), "--models", "poly-2", "--allow-incomplete"]) == 0
    with h5py.File(lib, "r") as f:
        note = f["surrogates/div.v_out"].attrs["incomplete_sweep"]
    assert note == f"{part}: interrupted sweep, 18 of 30 points run (12 pending)"
    run = subprocess.run([sys.executable, "-m", "cimspice.cli", "inspect", str(lib)], capture_output=True,
                         text=True, timeout=300)
    assert f"WARNING: fitted on an incomplete sweep: {note}" in run.stdout


# ----------------------------------------------------------------------------- simulate
def test_simulate_override_error_names_the_flag_and_creates_no_folder(tmp_path, capsys):
    out = tmp_path / "sim"
    assert main(["simulate", "ideal", "--network", "mlp", "--samples", "20", "--adc-bits", "4", "0",
                 "-o", str(out)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("cimspice: --adc-bits: adc.bits: must be >= 2, got 0"), err
    assert not out.exists()


@pytest.mark.parametrize("argv", [
    ["simulate", "ideal", "--network", "mlp", "--samples", "-5"],
    ["simulate", "ideal", "--network", "mlp", "--samples", "0"],
    ["simulate", "ideal", "--network", "mlp", "--seeds", "0"],
    ["sweep", "s.yaml", "-o", "o.h5", "--workers", "0"],
    ["sweep", "s.yaml", "-o", "o.h5", "--chunk-size", "-1"],
    ["sweep", "s.yaml", "-o", "o.h5", "--recycle-after", "0"],
])
def test_count_flags_refuse_non_positive_values(argv, capsys):
    with pytest.raises(SystemExit) as stop:
        build_parser().parse_args(argv)
    assert stop.value.code == 2
    assert f"argument {argv[-2]}: {int(argv[-1])} is not a positive count" in capsys.readouterr().err


# ----------------------------------------------------------------------------- sweep size
BIG = """circuit: cell_1t1r
parameters:
  g: {start: 1.0e-6, stop: 1.0e-4, num: 100000, scale: log}
  v_bl: {start: 0.0, stop: 0.3, num: 100000}
  v_wl: {start: 0.6, stop: 1.0, num: 100000}
"""


def test_huge_grid_is_refused_with_its_count_before_any_allocation(tmp_path, capsys):
    (tmp_path / "big.yaml").write_text(BIG)
    assert main(["sweep", str(tmp_path / "big.yaml"), "-o", str(tmp_path / "big.h5")]) == 1
    err = capsys.readouterr().err
    assert err == (f"cimspice: {tmp_path / 'big.yaml'}: the sweep has 1,000,000,000,000,000 points, more than "
                   "max_points (10,000,000); sweep fewer, or raise max_points in the spec\n")
    assert not (tmp_path / "big.h5").exists()


def test_max_points_is_settable_and_checks_one_axis_before_spacing_it():
    from cimspice.characterize import parse_sweep_spec
    from cimspice.characterize.errors import SpecError

    spec = {"circuit": "cell_1t1r", "design": "lhs", "samples": 50,
            "parameters": {"v_bl": {"start": 0.0, "stop": 0.3}}, "temperatures": [0, 27, 85]}
    assert parse_sweep_spec(spec).n_points == 150
    with pytest.raises(SpecError, match=r"the sweep has 150 points, more than max_points \(100\)"):
        parse_sweep_spec({**spec, "max_points": 100})
    huge = {"circuit": "cell_1t1r", "parameters": {"v_bl": {"start": 0.0, "stop": 0.3, "num": 10**13}}}
    with pytest.raises(SpecError, match=r"parameters.v_bl.num: 10,000,000,000,000 values, more than max_points"):
        parse_sweep_spec(huge)


# ----------------------------------------------------------------------------- output vectors
def test_wrong_output_vector_stops_the_sweep_with_close_matches_first(tmp_path, capsys):
    (tmp_path / "div.cir").write_text(DIVIDER)
    (tmp_path / "spec.yaml").write_text(SPEC.replace('"v(out)"', '"v(outt)"'))
    assert main(["sweep", str(tmp_path / "spec.yaml"), "-o", str(tmp_path / "out.h5"), "--no-progress"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"cimspice: {tmp_path / 'spec.yaml'}: outputs.v_out: "), err
    assert err.rstrip().endswith("v(outt) not in the netlist's vectors; did you mean v(out)? "
                                 "(3 vectors: v(out), v(in), i(v1))"), err
    assert not (tmp_path / "out.h5").exists()


def test_missing_vector_lists_the_close_match_even_among_many(engine):
    from cimspice.spice import MissingVectorError

    ladder = "".join(f"R{k} n{k:02d} n{k + 1:02d} 1k\n" for k in range(1, 25))
    engine.load(f"ladder\nV1 n01 0 dc 1\n{ladder}Rout n25 out 1k\nRl out 0 1k\n.end\n")
    with pytest.raises(MissingVectorError) as error:
        engine.op(["v(otu)"])
    message = str(error.value)
    assert "v(otu) not in the netlist's vectors; did you mean v(out)? (27 vectors: v(out), v(n01), " in message
    assert message.endswith(", ...)")
