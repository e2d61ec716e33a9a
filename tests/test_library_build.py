"""``cimspice library build``: a --quick build of cheap blocks from scratch, its surrogates
checked against fresh ngspice points, and the incremental rule (nothing changed: nothing
simulated; one block touched: only that block simulated)."""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import io
import json
import shutil

import numpy as np
import pytest
from surrogate_data import shown_errors

from cimspice.characterize import parse_sweep_spec, sweep_points
from cimspice.circuits import get_circuit
from cimspice.cli import main
from cimspice.library import CATALOGUE, Block, LibraryError, build_library, select
from cimspice.paths import netlist_dir
from cimspice.surrogate import load_blocks, load_library

BLOCKS = ("tia", "sense_amp")  # 15 + 8 points each in --quick, ~0.1 s per point


def _sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _sweep_files(folder) -> dict[str, tuple[str, int]]:
    """Every sweep file under a work folder -> (sha256, mtime in ns)."""
    return {str(p.relative_to(folder)): (_sha(p), p.stat().st_mtime_ns) for p in sorted(folder.rglob("*.h5"))}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """A --quick library of BLOCKS built from scratch through the CLI: (folder, stdout)."""
    folder = tmp_path_factory.mktemp("library")
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(["library", "build", "-o", str(folder / "lib.h5"), "--quick", "--only", *BLOCKS,
                     "--no-progress"])
    assert code == 0, out.getvalue()
    return folder, out.getvalue()


@pytest.fixture
def copy(built, tmp_path):
    """A copy of the built library and its work folder (mtimes kept) to build again into."""
    shutil.copytree(built[0], tmp_path / "lib", copy_function=shutil.copy2)
    return tmp_path / "lib"


@pytest.mark.slow
def test_quick_build_records_provenance_and_area(built):
    folder, stdout = built
    library, blocks = load_library(folder / "lib.h5"), load_blocks(folder / "lib.h5")
    assert sorted(library) == sorted(f"{b}.{o}" for b in BLOCKS for o in CATALOGUE[b].outputs)
    assert stdout.count(" built in ") == len(BLOCKS)
    for name, s in library.items():
        block = name.split(".")[0]
        p, work = s.provenance, folder / "lib.h5.d" / block
        # hashes recomputed here from the files themselves
        assert p["training_sweep_sha256"] == _sha(work / "train.h5")
        assert p["validation_sweep_sha256"] == _sha(work / "validation.h5")
        cards = json.loads(p["model_cards"])
        assert "ptm45.lib" in cards
        assert all(cards[c] == _sha(netlist_dir() / c) for c in cards)
        assert p["library_block"] == block and p["block_fingerprint"] == blocks[block]["fingerprint"]
        assert p["process_corner"] == "tt" and json.loads(p["temperatures"]) == [27.0]
        assert p["ngspice_version"] and len(p["netlist_fingerprint"]) == 64
        assert 0 < s.validation["max_pct"][0] < 5 and s.validation["n_points"] == CATALOGUE[block].quick_samples
    for block in BLOCKS:
        circuit = get_circuit(CATALOGUE[block].circuit, **CATALOGUE[block].args(quick=True))
        assert blocks[block]["circuit"] == CATALOGUE[block].circuit
        assert blocks[block]["area"] == pytest.approx(circuit.area()) and blocks[block]["area"] > 0


@pytest.mark.slow
def test_quick_surrogates_agree_with_fresh_ngspice_points(built, engine):
    """The oracle: the circuits run once more in this process's ngspice at new random
    points inside the quick ranges; each surrogate is within twice its stated validation
    maximum (that maximum is over 8 points, not a bound)."""
    library = load_library(built[0] / "lib.h5")
    rng = np.random.default_rng(2024)
    for block in BLOCKS:
        b = CATALOGUE[block]
        circuit = get_circuit(b.circuit, **b.args(quick=True))
        circuit.load(engine)
        for _ in range(4):
            point = {}
            for name, (lo, hi, _, scale) in b.quick_ranges.items():
                point[name] = float(10 ** rng.uniform(np.log10(lo), np.log10(hi)) if scale == "log"
                                    else rng.uniform(lo, hi))
            truth = circuit.simulate(engine, point).values
            for output in b.outputs:
                s = library[f"{block}.{output}"]
                pred = float(s.predict({n: [point[n]] for n in s.inputs})[0])
                err = 100 * abs(pred - truth[output]) / s.validation["full_scale"][0]
                assert err <= 2 * s.validation["max_pct"][0], (block, output, point, err)


@pytest.mark.slow
def test_nothing_changed_nothing_simulated(copy):
    before, lib_before = _sweep_files(copy / "lib.h5.d"), load_library(copy / "lib.h5")
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["library", "build", "-o", str(copy / "lib.h5"), "--quick", "--only", *BLOCKS,
                     "--no-progress"]) == 0
    assert out.getvalue().count(": unchanged") == len(BLOCKS), out.getvalue()
    assert _sweep_files(copy / "lib.h5.d") == before
    after = load_library(copy / "lib.h5")
    assert sorted(after) == sorted(lib_before)
    assert all(after[n].provenance == lib_before[n].provenance for n in after)


@pytest.mark.slow
def test_touching_one_block_resimulates_only_it(copy):
    before = _sweep_files(copy / "lib.h5.d")
    tia = CATALOGUE["tia"]
    narrower = dataclasses.replace(tia, quick_ranges={**tia.quick_ranges, "i_in": (0.0, 5e-5, 5, "linear")})
    catalogue = {**CATALOGUE, "tia": narrower}
    results = build_library(copy / "lib.h5", only=BLOCKS, quick=True, catalogue=catalogue, progress=False)
    assert {r.name: r.status for r in results} == {"tia": "built", "sense_amp": "unchanged"}
    after = _sweep_files(copy / "lib.h5.d")
    for name, state in before.items():
        assert (after[name] == state) == name.startswith("sense_amp"), name
    s = load_library(copy / "lib.h5")["tia.v_out"]
    assert s.domain_max[s.inputs.index("i_in")] == pytest.approx(5e-5)


@pytest.mark.slow
def test_corner_builds_add_tables_beside_the_nominal_ones(copy, caplog):
    """Corners are added to a library, not swapped in: the nominal tables a system without
    a corner reads stay, each corner has its own record, and a record is only "unchanged"
    when its corner was built by the same sweep."""
    lib = copy / "lib.h5"
    nominal = load_library(lib)
    run = dict(only=["tia"], quick=True, progress=False)
    assert [r.status for r in build_library(lib, corners=("tt", "ss"), temps=(-40, 27, 125), **run)] == ["built"]
    assert "3 temperatures; the grid-cubic candidate needs 4 nodes" in caplog.text
    library, records = load_library(lib), load_blocks(lib)
    outputs = CATALOGUE["tia"].outputs
    assert set(library) == set(nominal) | {f"tia.{o}@{c}" for o in outputs for c in ("tt", "ss")}
    assert all(library[n].provenance == nominal[n].provenance for n in nominal)
    assert {"tia", "tia@tt", "tia@ss"} <= set(records)
    assert records["tia@ss"]["corner"] == "ss" and records["tia@ss"]["fingerprint"] == records["tia@tt"]["fingerprint"]
    assert records["tia@ss"]["surrogates"] == sorted(f"tia.{o}@ss" for o in outputs)
    # tt is the circuits' own corner: its table at 27 degC is the nominal table's circuit,
    # from another sweep and fit; they agree within the two stated validation errors
    nom, tt, ss = nominal["tia.v_out"], library["tia.v_out@tt"], library["tia.v_out@ss"]
    points = {k: np.linspace(*nom.domain[k], 9) for k in nom.inputs}
    points.update({k: np.full(9, np.mean(tt.domain[k])) for k in tt.inputs if k not in points})
    points["temp"] = np.full(9, 27.0)
    both = nom.validation["max_pct"][0] + tt.validation["max_pct"][0]
    diff = tt.predict({k: points[k] for k in tt.inputs}) - nom.predict({k: points[k] for k in nom.inputs})
    assert np.max(np.abs(diff)) <= both / 100 * nom.validation["full_scale"][0]
    # slow transistors move the output (the two corners are different circuits)
    assert not np.allclose(ss.predict({k: points[k] for k in ss.inputs}),
                           tt.predict({k: points[k] for k in tt.inputs}), rtol=0, atol=1e-6)
    assert [r.status for r in build_library(lib, corners=("tt", "ss"), temps=(-40, 27, 125), **run)] == ["unchanged"]
    # one corner alone is another sweep: it replaces ss's tables and record, keeps tt's
    assert [r.status for r in build_library(lib, corners=("ss",), **run)] == ["built"]
    records = load_blocks(lib)
    assert records["tia@ss"]["fingerprint"] != records["tia@tt"]["fingerprint"]
    assert "temp" not in load_library(lib)["tia.v_out@ss"].inputs
    assert set(load_library(lib)) == set(library)
    assert [r.status for r in build_library(lib, corners=("tt", "ss"), temps=(-40, 27, 125), **run)] == ["refit"]


def test_catalogue_specs_parse_and_validation_points_are_off_grid():
    """Every block's full and quick specs are valid sweeps of its circuit (names,
    arguments, ranges in bounds, outputs measured) spaced in the block's scales, and no
    validation point lies on a grid node."""
    for block in CATALOGUE.values():
        for quick in (False, True):
            specs = block.sweep_specs(quick=quick)
            train = parse_sweep_spec(specs["train"], source=f"{block.name} train")
            validation = parse_sweep_spec(specs["validation"], source=f"{block.name} validation")
            for spec in (train, validation):
                assert {a.name: a.scale for a in spec.axes} == {n: r[3] for n, r in block.grid(quick).items()}
            grid, off = sweep_points(train), sweep_points(validation)
            on_node = np.ones(len(off["vdd" if "vdd" in off else next(iter(off))]), dtype=bool)
            for name, values in grid.items():
                on_node &= np.isin(off[name], np.unique(values))
            assert not on_node.any(), block.name


def test_temperatures_and_corners_enter_the_sweeps():
    specs = CATALOGUE["tia"].sweep_specs(quick=True, corners=("tt", "ss"), temps=(-40, 27, 125))
    train = parse_sweep_spec(specs["train"])
    validation = parse_sweep_spec(specs["validation"])
    assert train.corners == validation.corners == ("tt", "ss")
    assert np.unique(sweep_points(train)["temp"]).tolist() == [-40.0, 27.0, 125.0]
    temps = sweep_points(validation)["temp"]
    # the same off-grid temperatures at each corner
    assert temps.min() >= -40 and temps.max() <= 125 and np.unique(temps).size == CATALOGUE["tia"].quick_samples
    passive = parse_sweep_spec(CATALOGUE["avg_pool"].sweep_specs(corners=("ss",), temps=(85,))["train"])
    assert passive.corners == () and "temp" not in sweep_points(passive)  # no cards, no temp parameter


def test_selection_by_block_or_circuit():
    assert [b.name for b in select(CATALOGUE, ["adc_sar"])] == [
        b.name for b in CATALOGUE.values() if b.circuit == "adc_sar" and not b.heavy]
    assert [b.name for b in select(CATALOGUE, ["adc_sar_8b"])] == ["adc_sar_8b"]  # heavy, named
    assert not any(b.heavy for b in select(CATALOGUE))
    with pytest.raises(LibraryError, match="nosuch"):
        select(CATALOGUE, ["nosuch"])
    with pytest.raises(LibraryError, match="ranges"):
        Block("x", "tia", ranges={"i_in": (0, 1, 3)}, outputs=("v_out",), why="")


@pytest.mark.parametrize("argv, message", [
    (["--only", "nosuch"], "--only nosuch: no such block"),
    (["--corners", "tt,xx"], "corner 'xx'"),
    (["--temps", "hot"], "--temps hot"),
])
def test_cli_refuses_bad_options_in_one_line(tmp_path, capsys, argv, message):
    assert main(["library", "build", "-o", str(tmp_path / "lib.h5"), *argv]) == 1
    err = capsys.readouterr().err
    assert err.startswith("cimspice: ") and message in err and err.count("\n") == 1
    assert not (tmp_path / "lib.h5").exists()


def test_cli_reads_negative_temperatures_as_a_value():
    from cimspice.cli import build_parser

    args = build_parser().parse_args(["library", "build", "--temps", "-40,27,125", "--corners", "tt,ss"])
    assert (args.temps, args.corners) == ("-40,27,125", "tt,ss")


def test_block_records_survive_appends_and_stale_surrogates_go(tmp_path):
    """save_library keeps /blocks records across appends (e.g. `cimspice fit -o` into a
    built library) and drops the surrogates it is told to remove."""
    from cimspice.surrogate import SweepData, fit_surrogates, save_library

    x = np.linspace(0.0, 1.0, 6)
    sweep = SweepData.from_arrays({"x": x}, {"a": x ** 2, "b": 1 - x, "c": 2 * x}, design="grid", grid={"x": x},
                                  circuit="toy")
    fitted = fit_surrogates(sweep, models=["grid-linear"], holdout=0.3)
    path = tmp_path / "lib.h5"
    save_library(path, {k: fitted[k] for k in ("toy.a", "toy.b")}, blocks={"toy": {"area": 1e-12, "circuit": "toy"}})
    save_library(path, {"toy.c": fitted["toy.c"]}, append=True)
    assert load_blocks(path) == {"toy": {"area": 1e-12, "circuit": "toy"}}
    save_library(path, {"toy.a": fitted["toy.a"]}, append=True, replace=True, remove=["toy.b"],
                 blocks={"other": {"surrogates": ["toy.a"]}})
    assert sorted(load_library(path)) == ["toy.a", "toy.c"]
    assert load_blocks(path) == {"toy": {"area": 1e-12, "circuit": "toy"}, "other": {"surrogates": ["toy.a"]}}


@pytest.mark.slow
def test_datasheet_has_a_page_per_block_with_the_library_numbers(built, tmp_path):
    folder, _ = built
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["library", "datasheet", str(folder / "lib.h5"), "-o", str(tmp_path / "ds")]) == 0
    index = (tmp_path / "ds" / "index.md").read_text()
    surrogates, records = load_library(folder / "lib.h5"), load_blocks(folder / "lib.h5")
    for block in {name.split(".", 1)[0] for name in surrogates}:
        assert f"[{block}]({block}.md)" in index
        page = (tmp_path / "ds" / f"{block}.md").read_text()
        if records.get(block, {}).get("area"):
            assert f"area {records[block]['area'] * 1e12:.4g} um^2" in page
        for name in (n for n in surrogates if n.startswith(f"{block}.")):
            v, unit = surrogates[name].validation, surrogates[name].output_units[0]
            row = next(line for line in page.splitlines() if line.startswith(f"| `{name}` |"))
            for what in ("rms", "max"):  # in the output's unit and in %FS
                [(absolute, pct)] = shown_errors(row, what.upper() if what == "rms" else what, unit)
                assert pct == pytest.approx(v[f"{what}_pct"][0], rel=6e-3), (name, row)
                assert absolute == pytest.approx(v[f"{what}_pct"][0] / 100 * v["full_scale"][0], rel=6e-3), row
            assert (tmp_path / "ds" / f"{name}.png").stat().st_size > 1000


def test_datasheet_of_a_file_that_is_no_library_is_one_line(tmp_path, capsys):
    bad = tmp_path / "not_a_library.h5"
    bad.write_bytes(b"not hdf5")
    assert main(["library", "datasheet", str(bad), "-o", str(tmp_path / "ds")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "not_a_library.h5" in err[0]
    assert not (tmp_path / "ds").exists()
