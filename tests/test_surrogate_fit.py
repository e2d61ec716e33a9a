"""Reading sweep files, fitting and selecting surrogates, and the report, on sweeps of an
analytic cell current written by hand (tests/surrogate_data.py)."""

from __future__ import annotations

import json
import warnings

import h5py
import numpy as np
import pytest
from surrogate_data import (
    BL_AXIS,
    R_AXIS,
    WL_AXIS,
    cell_grid_sweep,
    cell_lhs_sweep,
    write_sweep,
)

from cimspice.surrogate import (
    MLP,
    SurrogateError,
    file_sha256,
    fit_surrogates,
    holdout_split,
    load_library,
    read_sweep,
    save_library,
    write_report,
)


# ------------------------------------------------------------------------------- sweeps
def test_read_sweep_keeps_usable_points_and_checks_schema(tmp_path):
    n = R_AXIS.size * WL_AXIS.size * BL_AXIS.size
    status = np.zeros(n, np.int8)
    status[[3, 10]] = 2
    status[11] = 1
    status[12] = -1
    path = cell_grid_sweep(tmp_path / "g.h5", status=status)
    data = read_sweep(path)
    assert data.n_points == n - 3 and data.n_failed == 2 and data.n_pending == 1
    assert data.input_names == ["R", "V_WL", "V_BL"]
    assert data.input_units["R"] == "ohm" and data.input_scales == {"R": "log", "V_WL": "linear", "V_BL": "linear"}
    assert data.design == "grid" and list(data.grid) == ["R", "V_WL", "V_BL"]
    assert 11 in data.point_index and 3 not in data.point_index and 12 not in data.point_index
    assert data.sha256 == file_sha256(path) and data.attrs["circuit"] == "cell_1t1r"

    write_sweep(tmp_path / "v3.h5", {"a": [1.0]}, {"b": [1.0]}, "list", version=3)
    with pytest.raises(SurrogateError, match=r"v3\.h5: sweep schema_version 3 is newer"):
        read_sweep(tmp_path / "v3.h5")
    with h5py.File(tmp_path / "nostatus.h5", "w") as f:
        f.attrs.update(schema="cimspice.sweep", schema_version=1, design="list")
        f.create_dataset("inputs/a", data=[1.0])
        f.create_dataset("outputs/b", data=[1.0])
    with pytest.raises(SurrogateError, match=r"nostatus\.h5: dataset /status is missing"):
        read_sweep(tmp_path / "nostatus.h5")
    with h5py.File(tmp_path / "other.h5", "w") as f:
        f.attrs["schema"] = "something.else"
    with pytest.raises(SurrogateError, match="not a cimspice sweep file"):
        read_sweep(tmp_path / "other.h5")
    with h5py.File(path, "a") as f:
        del f["grid/V_BL"]
    with pytest.raises(SurrogateError, match="/grid/V_BL is missing"):
        read_sweep(path)


# ------------------------------------------------------------------- fitting/selection
def test_holdout_planes_are_off_the_training_grid():
    G = np.meshgrid(R_AXIS, WL_AXIS, [0.0, 1.0], indexing="ij")
    X = np.column_stack([g.ravel() for g in G])
    train, validate, text = holdout_split(X, "planes", grid=[R_AXIS, WL_AXIS, np.array([0.0, 1.0])])
    assert not np.any(train & validate) and np.all(train | validate)
    for j, axis in enumerate((R_AXIS, WL_AXIS)):
        kept = np.unique(X[train, j])
        assert kept[0] == axis[0] and kept[-1] == axis[-1] and kept.size == (axis.size + 1) // 2
    # every held-out point lies strictly between training planes along some axis
    for x in X[validate]:
        assert x[0] not in X[train, 0] or x[1] not in X[train, 1]
    assert "coarse grid" in text


def test_fit_surrogates_grid_selects_best_and_records_candidates(grid_fit):
    path, surrogates = grid_fit
    assert list(surrogates) == ["cell_1t1r.I_cell"]
    s = surrogates["cell_1t1r.I_cell"]
    labels = [c["label"] for c in s.candidates]
    assert labels == ["grid-linear", "grid-cubic", "poly-4", "gp-matern2.5", "mlp-16x16"]
    ok = [c for c in s.candidates if c["status"] == "ok"]
    assert len(ok) == 5
    best = min(ok, key=lambda c: c["rms_pct"])
    assert [c["label"] for c in s.candidates if c["selected"]] == [best["label"]] == [s.model_label]
    # on this smooth function the cubic spline beats linear interpolation by far
    rms = {c["label"]: c["rms_pct"] for c in ok}
    assert rms["grid-cubic"] < rms["grid-linear"] / 3
    assert s.validation["rms_pct"][0] == best["rms_pct"] < 0.5
    sizes = [a.size for a in (R_AXIS, WL_AXIS, BL_AXIS)]  # odd: every other plane keeps both ends
    assert s.validation["n_points"] == np.prod(sizes) - np.prod([(n + 1) // 2 for n in sizes])
    # refitted on all points: full domain, and a grid model reproduces every node
    data = read_sweep(path)
    np.testing.assert_array_equal(s.domain_min, [R_AXIS[0], WL_AXIS[0], BL_AXIS[0]])
    if s.model_kind == "grid":
        np.testing.assert_allclose(s.predict(data.X()), data.outputs["I_cell"],
                                   rtol=0, atol=1e-12 * np.ptp(data.outputs["I_cell"]))
    assert s.input_scales == ["log", "linear", "linear"] and s.input_units == ["ohm", "V", "V"]
    assert s.output_units == ["A"]
    assert s.provenance["source_sweep_sha256"] == file_sha256(path)
    assert s.provenance["source_circuit"] == "cell_1t1r"


def test_fit_surrogates_with_validation_sweep_and_off_grid_accuracy(grid_fit, tmp_path):
    path, _ = grid_fit
    lhs = cell_lhs_sweep(tmp_path / "lhs.h5")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = fit_surrogates(path, models=["grid-linear", "grid-cubic", "poly-4"], validation_sweep_path=lhs,
                             name_template="{output}")
    s = out["I_cell"]
    assert s.validation["n_points"] == 200 and "validation sweep lhs.h5" in s.validation["method"]
    assert s.provenance["validation_sweep_sha256"] == file_sha256(lhs)
    # independent check at the off-grid points against the analytic function
    data = read_sweep(lhs)
    rms_pct = (100 * np.sqrt(np.mean((s.predict(data.inputs) - data.outputs["I_cell"]) ** 2))
               / np.ptp(read_sweep(path).outputs["I_cell"]))
    assert rms_pct == pytest.approx(s.validation["rms_pct"][0], rel=1e-9)
    assert s.model_label == "grid-cubic" and rms_pct < 0.2


def test_fit_surrogates_random_design_failed_points_and_tolerance(tmp_path):
    n = 160
    status = np.zeros(n, np.int8)
    status[:7] = 2
    rng = np.random.default_rng(9)
    x = rng.uniform(-1, 1, (n, 2))
    y = 0.2 + x[:, 0] - 0.5 * x[:, 1] ** 2 + 0.1 * x[:, 0] * x[:, 1]
    y[:7] = np.nan
    y2 = y.copy()
    y2[20] = np.nan  # a missing measurement at an otherwise ok point
    path = write_sweep(tmp_path / "rand.h5", {"a": x[:, 0], "b": x[:, 1], "T": np.full(n, 27.0)}, {"y": y, "y2": y2},
                       "random", status=status)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = fit_surrogates(path, models=["grid-linear", "poly-2", "poly-4", MLP((8,), max_iter=200)], holdout=0.25,
                             tolerance_pct=1.0)
    s = out["cell_1t1r.y"]
    status_by = {c["label"]: c["status"] for c in s.candidates}
    assert status_by["grid-linear"] == "failed" and "full grid" in s.candidates[0]["reason"]
    assert status_by["poly-2"] == status_by["poly-4"] == "ok"
    assert s.model_label == "poly-2"  # exact, and cheaper than poly-4
    assert "cheapest" in s.provenance["selection"]
    assert s.inputs == ["a", "b"] and json.loads(s.provenance["fixed_inputs"]) == {"T": [27.0, "V"]}
    assert s.candidates[1]["n_train"] + s.candidates[1]["n_validation"] == n - 7
    assert out["cell_1t1r.y2"].candidates[1]["n_train"] + out["cell_1t1r.y2"].candidates[1]["n_validation"] == n - 8
    with pytest.raises(SurrogateError, match="unknown model"):
        fit_surrogates(path, models=["spline-9"])
    with pytest.raises(SurrogateError, match="no output"):
        fit_surrogates(path, outputs=["nope"])


def test_fit_library_collects_several_sweeps_and_refits_in_place(tmp_path):
    from cimspice.surrogate import fit_library

    grid = cell_grid_sweep(tmp_path / "grid.h5")
    rng = np.random.default_rng(2)
    x = rng.uniform(0, 1, (60, 2))
    other = write_sweep(tmp_path / "other.h5", {"a": x[:, 0], "b": x[:, 1]}, {"q": 1 + x[:, 0] * x[:, 1]}, "random",
                        circuit="sense_amp")
    lib = tmp_path / "lib.h5"
    text = fit_library([grid, other], lib, models=["grid-linear", "poly-2"])
    assert sorted(load_library(lib)) == ["cell_1t1r.I_cell", "sense_amp.q"]
    assert "sense_amp.q" in text and "cell_1t1r.I_cell" in text
    fit_library([other], lib, models=["poly-3"])  # same sweep again: replaced, the other kept
    loaded = load_library(lib)
    assert sorted(loaded) == ["cell_1t1r.I_cell", "sense_amp.q"] and loaded["sense_amp.q"].model_label == "poly-3"
    with pytest.raises(SurrogateError, match="in none of the sweeps"):
        fit_library([other], lib, outputs=["I_cell", "nope"])


# ------------------------------------------------------------------------------- report
def test_write_report_tables_and_plots(grid_fit, tmp_path):
    path, surrogates = grid_fit
    lib = save_library(tmp_path / "lib.h5", surrogates)
    lhs = cell_lhs_sweep(tmp_path / "lhs.h5", n=80)
    report = write_report(lib, lhs, tmp_path / "report")
    text = report.read_text()
    assert "| cell_1t1r.I_cell | I_cell [A] |" in text
    for label in ("grid-linear", "grid-cubic", "poly-4", "gp-matern2.5", "mlp-16x16"):
        assert label in text
    pngs = sorted(p.name for p in (tmp_path / "report").glob("*.png"))
    assert pngs == ["cell_1t1r.I_cell__I_cell_error_hist.png", "cell_1t1r.I_cell__I_cell_parity.png"]
    for p in pngs:
        assert (tmp_path / "report" / p).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "in-sample" not in text
    in_sample = write_report(surrogates, path, tmp_path / "report2").read_text()
    assert "in-sample" in in_sample
    assert "no plots" in write_report(lib, None, tmp_path / "report3").read_text()
