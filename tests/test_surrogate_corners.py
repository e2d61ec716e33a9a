"""Process corners are categorical: one surrogate per corner (the NLDM convention).

Real sweeps of the 1T1R cell through ngspice at corners tt, ff and ss (a grid for the fit,
off-grid Latin-hypercube points for validation); the oracle is ngspice's own currents at
the validation points, read from the sweep file with plain h5py.
"""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from cimspice.characterize import parse_sweep_spec, run_sweep
from cimspice.cli import main as cli_main
from cimspice.surrogate import SurrogateError, fit_surrogates, load_library, read_sweep, write_report
from cimspice.surrogate.library import select_corner, surrogate_corner

CORNERS = ["tt", "ff", "ss"]
# A low word-line voltage keeps the transistor in the current path, so the corners differ.
PARAMS = {
    "g": {"start": 1.0e-6, "stop": 1.0e-4, "scale": "log"},
    "v_bl": {"start": 0.0, "stop": 0.3},
    "v_wl": {"start": 0.45, "stop": 0.9},
}
NUM = {"g": 9, "v_bl": 9, "v_wl": 7}
N_VALIDATION = 20
MODELS = ["grid-linear", "grid-cubic"]


def _sweep(path, design, corners=CORNERS, samples=N_VALIDATION, seed=3):
    params = {k: dict(v) for k, v in PARAMS.items()}
    spec = {"circuit": "cell_1t1r", "design": design, "outputs": ["i_cell"], "parameters": params}
    if corners:
        spec["corners"] = list(corners)
    if design == "grid":
        for k, n in NUM.items():
            params[k]["num"] = n
    else:
        spec.update(samples=samples, seed=seed)
    # inline: this process's ngspice, no worker process to spawn for a few seconds of op points
    counts = run_sweep(parse_sweep_spec(spec, source=f"test {design} spec"), path, executor="inline", overwrite=True,
                       progress=False)
    assert counts["failed"] == 0
    return path


@pytest.fixture(scope="module")
def sweeps(tmp_path_factory):
    d = tmp_path_factory.mktemp("corners")
    return _sweep(d / "grid.h5", "grid"), _sweep(d / "lhs.h5", "lhs"), d


def _spice(path, corner):
    """(X, i_cell) of one corner's points, read with h5py alone."""
    with h5py.File(path, "r") as f:
        labels = list(f.attrs["corners"])
        code = f["inputs/corner"][...].astype(int)
        use = (code == labels.index(corner)) & (f["status"][...] == 0)
        X = np.column_stack([f["inputs"][n][...][use] for n in ("g", "v_bl", "v_wl")])
        return X, f["outputs/i_cell"][...][use]


def test_reader_keeps_the_corner_out_of_the_inputs(sweeps):
    grid, _, _ = sweeps
    data = read_sweep(grid)
    assert "corner" not in data.inputs and set(data.inputs) == {"g", "v_bl", "v_wl"}
    assert data.corner_labels == CORNERS and data.corners == CORNERS
    assert data.n_points == 3 * 9 * 9 * 7
    assert list(data.grid) == ["g", "v_bl", "v_wl"]
    ff = data.select_corner("ff")
    assert ff.corner is None and ff.attrs["corner"] == "ff" and ff.n_points == 9 * 9 * 7
    X, i_ff = _spice(grid, "ff")
    order = np.lexsort(X.T[::-1])
    mine = np.lexsort(ff.X(["g", "v_bl", "v_wl"]).T[::-1])
    np.testing.assert_array_equal(ff.outputs["i_cell"][mine], i_ff[order])
    with pytest.raises(SurrogateError, match=r"no corner 'sf' \(the sweep ran \['tt', 'ff', 'ss'\]\)"):
        data.select_corner("sf")


def test_one_surrogate_per_corner_each_true_to_its_own_corner(sweeps):
    grid, lhs, _ = sweeps
    fitted = fit_surrogates(grid, models=MODELS, validation_sweep_path=lhs)
    assert sorted(fitted) == sorted(f"cell_1t1r.i_cell@{c}" for c in CORNERS)
    errors = {}
    for corner in CORNERS:
        s = fitted[f"cell_1t1r.i_cell@{corner}"]
        assert s.inputs == ["g", "v_bl", "v_wl"] and surrogate_corner(s) == corner
        assert s.validation["n_points"] == N_VALIDATION
        for other in CORNERS:
            X, truth = _spice(lhs, other)
            inside = s.in_domain(X)
            err = (s.predict(X[inside]) - truth[inside]) / float(s.validation["full_scale"][0])
            errors[corner, other] = float(np.sqrt(np.mean(err**2)))
        # The stored score is this corner's own validation points, recomputed here from the file.
        assert errors[corner, corner] * 100 == pytest.approx(float(s.validation["rms_pct"][0]), rel=1e-6)
    for corner in CORNERS:
        assert errors[corner, corner] < 0.01  # within 1 % of full scale on unseen SPICE points
        for other in set(CORNERS) - {corner}:
            # Another corner's table is wrong by far more: a corner-blind fit would be too.
            assert errors[corner, other] > 5 * errors[corner, corner]
    # The same off-grid points run at every corner: the tables reproduce SPICE's
    # corner-to-corner difference, not only each corner's values.
    (X, tt), (_, ff), (_, ss) = (_spice(lhs, c) for c in CORNERS)
    assert np.allclose(X, _spice(lhs, "ss")[0])
    spice_delta = ff - ss
    fit_delta = fitted["cell_1t1r.i_cell@ff"].predict(X) - fitted["cell_1t1r.i_cell@ss"].predict(X)
    assert np.corrcoef(spice_delta, fit_delta)[0, 1] > 0.9


def test_cli_fit_writes_corner_keys_and_select_corner_finds_them(sweeps, capsys):
    grid, lhs, d = sweeps
    lib = d / "lib.h5"
    assert cli_main(["fit", str(grid), "-o", str(lib), "--models", *MODELS]) == 0
    out = capsys.readouterr().out
    for corner in CORNERS:
        assert f"cell_1t1r.i_cell@{corner}" in out
    library = load_library(lib)
    ss = select_corner(library, "ss")
    assert list(ss) == ["cell_1t1r.i_cell"] and ss["cell_1t1r.i_cell"] is library["cell_1t1r.i_cell@ss"]
    with h5py.File(lib, "r") as f:
        assert f["surrogates/cell_1t1r.i_cell@ss/provenance"].attrs["corner"] == "ss"
    with pytest.raises(SurrogateError,
                       match=r"no surrogate at corner 'sf' \(corners in the library: \['ff', 'ss', 'tt'\]\)"):
        select_corner(library, "sf")
    report = write_report(lib, lhs, d / "report").read_text()
    for corner in CORNERS:  # each table scored on its own corner's 20 points
        row = next(line for line in report.splitlines() if line.startswith(f"| cell_1t1r.i_cell@{corner} |"))
        assert row.rstrip(" |").split("|")[-2].strip() == str(N_VALIDATION)


def test_validation_sweep_without_corners_is_refused(sweeps):
    grid, _, d = sweeps
    plain = _sweep(d / "plain.h5", "lhs", corners=None, samples=6)
    with pytest.raises(SurrogateError, match="validation sweep has no corners but the training sweep"):
        fit_surrogates(grid, models=["grid-linear"], validation_sweep_path=plain)
    with pytest.raises(SurrogateError, match="validation sweep ran corners"):
        fit_surrogates(plain, models=["poly-2"], validation_sweep_path=grid)
