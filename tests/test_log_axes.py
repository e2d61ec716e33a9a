"""Log-spaced sweep axes (issue 15): recorded in the sweep file, fitted in log10 by default,
overridable with ``cimspice fit --input-scale``, and poor fits flagged.

The circuit is a resistor divider whose lower resistor spans four decades:
``v_out = vin * r2 / (1 kohm + r2)`` is a logistic step in log(r2) and nearly flat in r2
away from the knee, so a fit on the linear axis is poor and one in log(r2) is not.
"""

from __future__ import annotations

import shutil

import h5py
import numpy as np
import pytest

from cimspice.characterize import SpecError, SweepStore, load_sweep_spec, run_sweep, sweep_points
from cimspice.cli import main
from cimspice.surrogate import load_library, read_sweep
from cimspice.surrogate.errors import SurrogateError

DIVIDER = "divider\n.param r2=1k vin=1\nV1 a 0 dc {vin}\nR1 a b 1k\nR2 b 0 {r2}\n.end\n"
GRID = """netlist: div.cir
parameters:
  r2: {start: 10.0, stop: 1.0e5, num: 17, scale: log}
  vin: {values: [0.0, 1.0]}
outputs:
  v_out: {vector: "v(b)", unit: "V"}
"""
# Off-grid oracle points: the geometric midpoints of the grid's r2 nodes (a quarter decade
# apart), at vin = 1 V, run through ngspice as a list sweep.
R2_OFF = 10.0 ** (1.125 + 0.25 * np.arange(16))
OFF_GRID = f"""netlist: div.cir
design: list
parameters:
  r2: {{values: {[float(r) for r in R2_OFF]}}}
  vin: {{values: {[1.0] * len(R2_OFF)}}}
outputs:
  v_out: {{vector: "v(b)", unit: "V"}}
"""
MODELS = ["--models", "grid-linear", "grid-cubic"]


def write(folder, name, text):
    (folder / "div.cir").write_text(DIVIDER)
    (folder / name).write_text(text)
    return folder / name


@pytest.fixture(scope="module")
def sweeps(tmp_path_factory):
    """The log grid (17 x 2 points) and the off-grid ngspice values, each swept once."""
    folder = tmp_path_factory.mktemp("log_axes")
    grid, off = folder / "grid.h5", folder / "off.h5"
    run_sweep(load_sweep_spec(write(folder, "grid.yaml", GRID)), grid, executor="inline", progress=False)
    run_sweep(load_sweep_spec(write(folder, "off.yaml", OFF_GRID)), off, executor="inline", progress=False)
    return grid, read_sweep(off)


def fit(capsys, sweep, library, *options):
    """``cimspice fit`` in this process -> (exit status, printed summary, stderr)."""
    status = main(["fit", str(sweep), "-o", str(library), *MODELS, *options])
    out = capsys.readouterr()
    return status, out.out, out.err


def off_grid_error_pct(library, oracle) -> float:
    """Max |surrogate - ngspice| at the off-grid points, % of the 1 V full scale."""
    s = load_library(library)["div.v_out"]
    pred = s.predict({"r2": oracle.inputs["r2"], "vin": oracle.inputs["vin"]})
    return float(100 * np.max(np.abs(pred - oracle.outputs["v_out"])))


def downgrade(src, dst, *, version=1, scale=None):
    """A copy of ``src`` as an older writer left it: ``schema_version`` ``version`` and
    each input's ``scale`` set to ``scale`` (None: no attribute)."""
    shutil.copy(src, dst)
    with h5py.File(dst, "r+") as f:
        f.attrs["schema_version"] = version
        for d in f["inputs"].values():
            if scale is None:
                del d.attrs["scale"]
            else:
                d.attrs["scale"] = scale
    return dst


def test_log_axis_is_recorded_and_fitted_in_log_space(sweeps, tmp_path, capsys):
    grid, oracle = sweeps
    with h5py.File(grid, "r") as f:
        assert f.attrs["schema_version"] == 2
        assert f["inputs/r2"].attrs["scale"] == "log" and f["inputs/vin"].attrs["scale"] == "linear"
    assert read_sweep(grid).input_scales == {"r2": "log", "vin": "linear"}

    status, summary, _ = fit(capsys, grid, tmp_path / "log.h5")
    assert status == 0 and load_library(tmp_path / "log.h5")["div.v_out"].input_scales == ["log", "linear"]
    assert "r2               [-]      log" in summary
    status, summary, _ = fit(capsys, grid, tmp_path / "lin.h5", "--input-scale", "r2=linear")
    assert status == 0 and load_library(tmp_path / "lin.h5")["div.v_out"].input_scales == ["linear", "linear"]
    assert "r2               [-]      linear" in summary

    # Against ngspice between the grid's nodes: the log fit is far closer than the linear one.
    log_err, lin_err = off_grid_error_pct(tmp_path / "log.h5", oracle), off_grid_error_pct(tmp_path / "lin.h5", oracle)
    assert log_err < 0.1 and lin_err > 0.5 and log_err < lin_err / 20, (log_err, lin_err)


def test_fit_warns_when_the_chosen_model_is_above_one_percent(sweeps, tmp_path, capsys):
    grid, _ = sweeps
    status, summary, _ = fit(capsys, grid, tmp_path / "lin.h5", "--input-scale", "r2=linear")
    assert status == 0
    warning = [line for line in summary.splitlines() if "WARNING" in line]
    assert len(warning) == 1 and "held-out RMS error" in warning[0] and "above 1 %FS" in warning[0], summary
    assert "r2 linear" in warning[0]
    with h5py.File(tmp_path / "lin.h5", "r") as f:
        assert "above 1 %FS" in f["surrogates/div.v_out/validation"].attrs["warning"]
    assert main(["inspect", str(tmp_path / "lin.h5")]) == 0
    assert warning[0] in capsys.readouterr().out

    status, summary, _ = fit(capsys, grid, tmp_path / "log.h5")  # within 1 %: no warning
    assert status == 0 and "WARNING" not in summary
    with h5py.File(tmp_path / "log.h5", "r") as f:
        assert "warning" not in f["surrogates/div.v_out/validation"].attrs


def test_old_schema_file_reads_as_linear_and_takes_an_override(sweeps, tmp_path, capsys):
    grid, _ = sweeps
    old = downgrade(grid, tmp_path / "v1.h5")
    assert read_sweep(old).input_scales == {"r2": "linear", "vin": "linear"}
    status, _, _ = fit(capsys, old, tmp_path / "default.h5")
    assert status == 0 and load_library(tmp_path / "default.h5")["div.v_out"].input_scales == ["linear", "linear"]
    status, _, _ = fit(capsys, old, tmp_path / "override.h5", "--input-scale", "r2=log")
    assert status == 0 and load_library(tmp_path / "override.h5")["div.v_out"].input_scales == ["log", "linear"]

    # From version 2 the attribute is part of the schema: a file without it is malformed.
    with pytest.raises(SurrogateError, match=r"v2\.h5: /inputs/\w+: no 'scale' attribute"):
        read_sweep(downgrade(grid, tmp_path / "v2.h5", version=2))


def test_a_resumed_version_1_file_records_the_axis_scale(tmp_path):
    spec = load_sweep_spec(write(tmp_path, "grid.yaml", GRID))
    out = tmp_path / "out.h5"
    SweepStore(out, spec, sweep_points(spec)).close()  # started, nothing run: every point pending
    with h5py.File(out, "r+") as f:  # as a version 1 writer left it: the declared scale
        f.attrs["schema_version"] = 1
        for d in f["inputs"].values():
            d.attrs["scale"] = "linear"
    assert run_sweep(spec, out, resume=True, executor="inline", progress=False).complete
    with h5py.File(out, "r") as f:
        assert f.attrs["schema_version"] == 2 and f["inputs/r2"].attrs["scale"] == "log"


def test_log_scale_on_non_positive_values_is_refused(sweeps, tmp_path, capsys):
    spec = write(tmp_path, "bad.yaml", GRID.replace("vin: {values: [0.0, 1.0]}",
                                                    "vin: {values: [0.0, 1.0], scale: log}"))
    with pytest.raises(SpecError, match=r"bad\.yaml: parameters\.vin: a log scale needs positive values, got 0"):
        load_sweep_spec(spec)

    grid, _ = sweeps
    status, _, err = fit(capsys, grid, tmp_path / "lib.h5", "--input-scale", "vin=log")
    assert status == 1 and len(err.strip().splitlines()) == 1, err
    assert "grid.h5: input 'vin' has values down to 0 and cannot be log-scaled" in err
    assert not (tmp_path / "lib.h5").exists()
    status, _, err = fit(capsys, grid, tmp_path / "lib.h5", "--input-scale", "r3=log")
    assert status == 1 and "input scale(s) given for ['r3'], an input of none of the sweeps" in err
    assert not (tmp_path / "lib.h5").exists()
