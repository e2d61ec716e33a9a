"""The demo's pipeline end to end at reduced size: ngspice -> sweep file -> surrogate
library -> network simulator, and the simulator's independence from PySpice."""

from __future__ import annotations

import subprocess
import sys

import h5py
import numpy as np
import pytest

from cimspice.demo import DemoConfig, run_demo

TINY = DemoConfig(n_g=7, n_v_bl=9, n_v_wl=5, n_validation=40, hidden=16)


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    summary = run_demo(out, TINY, progress=False)
    return out, summary


def test_demo_writes_every_artefact(demo_dir):
    out, summary = demo_dir
    for name in ("cell_sweep.h5", "cell_validation.h5", "surrogates.h5", "cell_iv.png", "summary.txt", "report.md"):
        assert (out / name).is_file(), name
    assert list(out.glob("*parity*.png")), "no parity plot"
    assert "accuracy" in summary and (out / "summary.txt").read_text().strip() == summary.strip()
    with h5py.File(out / "cell_sweep.h5", "r") as f:
        assert bool(f.attrs["complete"]) and np.all(f["status"][...] == 0)
        assert f.attrs["n_points"] == 7 * 9 * 5


def test_surrogate_error_on_unseen_spice_points(demo_dir):
    out, _ = demo_dir
    from cimspice.surrogate import load_library

    (surrogate,) = load_library(out / "surrogates.h5").values()
    with h5py.File(out / "cell_validation.h5", "r") as f:
        X = np.column_stack([f["inputs"][n][...] for n in surrogate.inputs])
        truth = f["outputs/i_cell"][...]
    error = np.abs(surrogate.predict(X) - truth) / np.ptp(truth)
    # A coarse 7x9x5 grid: looser than the full demo's, still well inside 1 % of full scale.
    assert np.sqrt(np.mean(error ** 2)) < 0.005 and error.max() < 0.03


def test_simulator_runs_without_pyspice(demo_dir):
    out, _ = demo_dir
    code = f"""
import sys
sys.modules["PySpice"] = None  # any import of PySpice now fails
from cimspice.demo import DemoConfig, run_network
print(run_network({str(out / "surrogates.h5")!r}, DemoConfig(hidden=16))["analog"])
"""
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    assert float(run.stdout) > 0.85


def _forward(spec, network, x_train, x_test):
    """Logits of ``network`` on the accelerator ``spec`` (ranges set on ``x_train``)."""
    from cimspice.sim import AnalogBackend

    backend = AnalogBackend(spec)
    backend.calibrate(network, x_train)
    return network.forward(x_test, backend)


def test_ideal_cells_reproduce_float_network():
    from cimspice.demo import demo_system, train_digits_mlp

    net, x_train, x_test, _ = train_digits_mlp(16)
    spec = demo_system(net, DemoConfig(adc_bits=None))
    np.testing.assert_allclose(_forward(spec, net, x_train, x_test), net.forward(x_test), rtol=1e-10, atol=1e-10)


def test_cell_nonlinearity_is_visible_in_the_network(demo_dir):
    """The 1T1R crossbar must not secretly be linear: its layer outputs differ from float."""
    out, _ = demo_dir
    from cimspice.demo import demo_system, train_digits_mlp

    net, x_train, x_test, _ = train_digits_mlp(16)
    spec = demo_system(net, DemoConfig(adc_bits=None), out / "surrogates.h5", "cell_1t1r.i_cell")
    reference = net.forward(x_test)
    deviation = np.abs(_forward(spec, net, x_train, x_test) - reference).max() / np.abs(reference).max()
    assert 1e-3 < deviation < 0.5


@pytest.mark.slow
def test_quick_demo_surrogate_error_is_honest_and_within_half_a_percent(tmp_path):
    """The --quick demo's cell surrogate on 500 fresh off-grid ngspice points (a seed of their
    own): within 0.5 % of full scale, and no worse than the maximum it reports."""
    from cimspice.characterize import parse_sweep_spec, run_sweep
    from cimspice.demo import DEMO_MODELS, cell_sweep_spec
    from cimspice.surrogate import fit_surrogates

    quick = DemoConfig.quick()
    paths = {k: tmp_path / f"{k}.h5" for k in ("grid", "validation", "fresh")}
    run_sweep(parse_sweep_spec(cell_sweep_spec(quick, "grid")), paths["grid"], progress=False)
    run_sweep(parse_sweep_spec(cell_sweep_spec(quick, "lhs")), paths["validation"], progress=False)
    fresh = DemoConfig(n_validation=500)
    run_sweep(parse_sweep_spec(cell_sweep_spec(fresh, "lhs", seed=20261206)), paths["fresh"], progress=False)
    (surrogate,) = fit_surrogates(paths["grid"], validation_sweep_path=paths["validation"],
                                  models=DEMO_MODELS).values()
    with h5py.File(paths["fresh"], "r") as f:
        X = np.column_stack([f["inputs"][n][...] for n in surrogate.inputs])
        truth = f["outputs/i_cell"][...]
    full_scale = surrogate.validation["full_scale"][0]
    fresh_max = 100 * np.max(np.abs(surrogate.predict(X) - truth)) / full_scale
    assert fresh_max < 0.5, fresh_max
    assert fresh_max <= 1.25 * surrogate.validation["max_pct"][0], (fresh_max, surrogate.validation["max_pct"])
