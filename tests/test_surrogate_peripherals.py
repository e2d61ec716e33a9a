"""A comparator surrogate is true to ngspice at points the fit never saw.

Reduced version of the `strongarm` block of `cimspice library build` (docs/surrogates.md):
a small grid of the StrongARM comparator (delay and energy against overdrive, log-scaled,
and supply) and a few off-grid Latin-hypercube points, both through ngspice; the
surrogates are fitted on the grid alone and compared with ngspice's values at the off-grid
points, read from the sweep file with plain h5py.
"""

from __future__ import annotations

import h5py
import numpy as np

from cimspice.characterize import parse_sweep_spec, run_sweep
from cimspice.surrogate import fit_surrogates, load_library, save_library

RANGES = {"v_od": {"start": 1.0e-4, "stop": 0.05, "scale": "log"}, "vdd": {"start": 0.9, "stop": 1.2}}
NUM = {"v_od": 5, "vdd": 4}
N_OFF_GRID = 6


def _sweep(path, design):
    params = {k: dict(v, **({"num": NUM[k]} if design == "grid" else {})) for k, v in RANGES.items()}
    spec = {"circuit": "strongarm", "circuit_args": {"measure_offset": False}, "design": design,
            "parameters": params, "outputs": ["delay", "energy"]}
    if design == "lhs":
        spec.update(samples=N_OFF_GRID, seed=5)
    # inline: this process's ngspice, no worker to spawn (the points are few and well-behaved)
    counts = run_sweep(parse_sweep_spec(spec, source=f"test {design}"), path, executor="inline", overwrite=True,
                       progress=False)
    assert counts["failed"] == 0
    return path


def test_comparator_delay_and_energy_within_1pct_of_full_scale_off_grid(tmp_path):
    grid, lhs = _sweep(tmp_path / "grid.h5", "grid"), _sweep(tmp_path / "lhs.h5", "lhs")
    fitted = fit_surrogates(grid, outputs=["delay", "energy"], models=["grid-cubic", "poly-4"],
                            holdout="planes", input_scales={"v_od": "log"})
    save_library(tmp_path / "lib.h5", fitted)
    library = load_library(tmp_path / "lib.h5")
    with h5py.File(grid, "r") as f:
        full_scale = {o: float(np.ptp(f["outputs"][o][...])) for o in ("delay", "energy")}
    with h5py.File(lhs, "r") as f:
        assert np.all(f["status"][...] <= 1)
        X = {n: f["inputs"][n][...] for n in RANGES}
        truth = {o: f["outputs"][o][...] for o in ("delay", "energy")}
    # Off-grid: no validation point shares a v_od or vdd with a grid node.
    with h5py.File(grid, "r") as f:
        for n in RANGES:
            assert np.min(np.abs(X[n][:, None] - f["grid"][n][...][None, :])) > 1e-6 * np.ptp(f["grid"][n][...])
    for output in ("delay", "energy"):
        s = library[f"strongarm.{output}"]
        pred = s.predict(X)
        err = np.abs(pred - truth[output]) / full_scale[output]
        assert err.max() <= 0.01, f"{output}: max error {100 * err.max():.3g} % of full scale ({s.model_label})"
    # The physics the table carries: a latch decides faster the larger the overdrive.
    d = library["strongarm.delay"].predict({"v_od": np.geomspace(1e-4, 0.05, 7), "vdd": np.full(7, 1.1)})
    assert np.all(np.diff(d) < 0)
