"""``cimspice demo``: the whole flow, at small scale, on real parts.

1. sweep a 1T1R cell (ReRAM state g, bit-line voltage, word-line voltage) in ngspice on a
   grid, plus an off-grid Latin-hypercube set for validation;
2. write both sweeps to HDF5 sweep files;
3. fit a surrogate of the cell current, validate it on the off-grid points, store it as
   arrays in an HDF5 surrogate library;
4. run an MLP trained on scikit-learn's digits with every matrix-vector product on crossbars,
   through :func:`cimspice.sim.simulate.simulate` as ``cimspice simulate`` does: once with
   ideal cells, once with that cell from the library, and once on the shipped ``baseline``
   system, whose cell, row drivers and ADCs are the shipped component library's
   (docs/library.md);
5. print a summary, the baseline's energy per inference with each component's source and the
   characterized share, and save plots.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import CimspiceError
from .circuits.devices import RERAM, VDD

_log = logging.getLogger(__name__)

DEMO_MODELS = ("grid-linear", "grid-cubic", "poly-6")


@dataclass(frozen=True)
class DemoConfig:
    """Sizes of the demo. Voltages in V; the network's hidden width in neurons."""

    n_g: int = 21
    n_v_bl: int = 25
    n_v_wl: int = 13
    # off-grid points that score the fit: enough that the reported maximum error holds on
    # fresh points (80 reported 0.2 % where fresh points reached 1.3 %; tests/test_demo.py)
    n_validation: int = 2000
    v_bl_max: float = 0.3
    v_wl_min: float = 0.5
    v_read: float = 0.2       # read voltage of the largest input (below the SET threshold)
    v_wl: float = VDD         # word lines of the arrays are driven at the supply
    hidden: int = 32
    adc_bits: int | None = 8
    workers: int = 1

    @classmethod
    def quick(cls) -> DemoConfig:
        # 9 word-line voltages: 7 left 0.46 % of full scale near v_wl 0.55 V (target 0.5 %)
        return cls(n_g=9, n_v_bl=13, n_v_wl=9, n_validation=1000, hidden=16)


def cell_sweep_spec(config: DemoConfig, design: str, seed: int = 7) -> dict:
    """The demo's sweep of the 1T1R cell: ``design`` "grid" (training) or "lhs" (off-grid
    validation points, ``config.n_validation`` of them drawn with ``seed``)."""
    g = {"start": RERAM.g_off, "stop": RERAM.g_on, "scale": "log"}
    v_bl = {"start": 0.0, "stop": config.v_bl_max}
    v_wl = {"start": config.v_wl_min, "stop": 1.2}
    if design == "grid":
        g["num"], v_bl["num"], v_wl["num"] = config.n_g, config.n_v_bl, config.n_v_wl
        return {"circuit": "cell_1t1r", "design": "grid",
                "parameters": {"g": g, "v_bl": v_bl, "v_wl": v_wl}, "outputs": ["i_cell"]}
    # Validation points inside the grid's hull but off its nodes: the fit never sees them.
    return {"circuit": "cell_1t1r", "design": "lhs", "samples": config.n_validation, "seed": seed,
            "parameters": {"g": g, "v_bl": v_bl, "v_wl": v_wl}, "outputs": ["i_cell"]}


def run_demo(out_dir: Path, config: DemoConfig = DemoConfig(), *, progress: bool = True) -> str:
    """Run the demo into ``out_dir`` (created) and return the printed summary."""
    from .characterize import parse_sweep_spec, run_sweep
    from .sim.results import energy_table
    from .surrogate import fit_surrogates, load_library, save_library, write_report
    from .surrogate.accuracy import validation_text

    out_dir = Path(out_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise CimspiceError(f"{out_dir}: cannot create the output folder: {error.strerror}") from None

    sweep_path, validation_path = out_dir / "cell_sweep.h5", out_dir / "cell_validation.h5"
    library_path = out_dir / "surrogates.h5"
    counts = {}
    for path, design in ((sweep_path, "grid"), (validation_path, "lhs")):
        spec = parse_sweep_spec(cell_sweep_spec(config, design), source=f"demo {design} spec")
        counts[design] = run_sweep(spec, path, workers=config.workers, overwrite=True, progress=progress)
        if counts[design]["failed"]:
            _log.warning("%s: %d points failed", path, counts[design]["failed"])

    # The families that fit a full grid in seconds; `cimspice fit` tries the slower GP and MLP too.
    surrogates = fit_surrogates(sweep_path, outputs=["i_cell"], models=DEMO_MODELS,
                                validation_sweep_path=validation_path)
    save_library(library_path, surrogates)
    write_report(library_path, validation_path, out_dir)

    library = load_library(library_path)
    cell_surrogate = next(iter(library.values()))
    network = run_network(library_path, config)
    plot_iv_family(sweep_path, out_dir / "cell_iv.png")

    lines = [
        "cimspice demo",
        f"  sweep       {sweep_path}: {counts['grid']['ok'] + counts['grid']['aided']} points "
        f"({counts['grid']['failed']} failed), validation {validation_path}: "
        f"{counts['lhs']['ok'] + counts['lhs']['aided']} off-grid points",
        f"  surrogate   {library_path}: {cell_surrogate.model_label}, error on the off-grid SPICE points: "
        f"{validation_text(cell_surrogate, 0)}",
        f"  network     MLP 64-{config.hidden}-10 on digits ({network['n_test']} test images), "
        f"cells at v_read={config.v_read} V, v_wl={config.v_wl} V, {config.adc_bits}-bit ADC",
        f"  accuracy    float {network['float']:.2%}   ideal-cell crossbar {network['ideal']:.2%}   "
        f"1T1R crossbar (SPICE surrogate) {network['analog']:.2%}",
        f"  baseline    the same MLP on the shipped `baseline` system (library {network['library']}): "
        f"accuracy {network['baseline'].analog_metric:.2%}",
        *energy_table(network["baseline"].costs),
        f"  plots       {out_dir / 'cell_iv.png'}, parity and error plots in {out_dir}",
    ]
    summary = "\n".join(lines)
    (out_dir / "summary.txt").write_text(summary + "\n")
    return summary


def train_digits_mlp(hidden: int, seed: int = 0):
    """A ReLU MLP 64-``hidden``-10 trained on scikit-learn's bundled digits (no download);
    returns ``(network, x_train, x_test, y_test)``, the network a
    :class:`~cimspice.sim.network.Sequential` of raw pixel values in [0, 16]."""
    import warnings

    from sklearn.datasets import load_digits
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.model_selection import train_test_split
    from sklearn.neural_network import MLPClassifier

    from .sim.network import Sequential

    X, y = load_digits(return_X_y=True)
    x_train, x_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=seed, stratify=y)
    clf = MLPClassifier(hidden_layer_sizes=(hidden,), max_iter=400, random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(x_train / 16.0, y_train)
    # Fold the 1/16 input scaling into the first layer so the network takes raw pixels.
    weights = [clf.coefs_[0] / 16.0] + list(clf.coefs_[1:])
    layers, arrays = [], {}
    for k, (W, b) in enumerate(zip(weights, clf.intercepts_)):
        layers.append({"type": "dense", "name": f"fc{k}"})
        arrays[f"fc{k}.W"], arrays[f"fc{k}.b"] = W, b
        if k < len(weights) - 1:
            layers.append({"type": "activation", "name": f"relu{k}", "kind": "relu"})
    network = Sequential.from_config("digits-mlp", layers, arrays, {"source": "cimspice.demo"})
    return network, x_train, x_test, y_test


def demo_system(network, config: DemoConfig, library=None, surrogate: str | None = None) -> dict:
    """The demo's accelerator for ``network``, as a system spec (docs/system.md): every layer
    on one array big enough for it, weights as differential pairs of continuous
    conductances in [g_off, g_on] of the shipped ReRAM, rows driven by ideal DAC voltages up
    to ``config.v_read``, one ``config.adc_bits`` ADC per column pair with its range
    calibrated; ReLU and biases digital. Ideal (linear) cells, or with ``surrogate`` (a key
    of the surrogate library file ``library``) that cell, its word line at ``config.v_wl``."""
    shapes = [W.shape for W in network.matrices().values()]
    array = {"rows": max(r for r, _ in shapes), "cols": 2 * max(c for _, c in shapes), "g_on": RERAM.g_on,
             "g_off": RERAM.g_off, "v_read": config.v_read, "cell_bits": None}
    spec = {"name": "demo-ideal-cells", "array": array, "mapping": {"weights": "differential", "slices": 1},
            "inputs": {"encoding": "dac", "bits": None}, "adc": {"bits": config.adc_bits, "range": "calibrated"},
            "tiling": {"split": "none"}}
    if surrogate is not None:
        array.update(cell="surrogate", surrogate=surrogate, fixed={"v_wl": config.v_wl})
        spec.update(name="demo-1t1r-cells", library=str(library), nonidealities={"cell_nonlinearity": True})
    return spec


def run_network(library_path, config: DemoConfig) -> dict:
    """Float, ideal-crossbar and 1T1R-crossbar accuracy of the digits MLP on its test images,
    each through :func:`~cimspice.sim.simulate.simulate` (ranges calibrated on the training
    images); the cell is the first surrogate of the library file ``library_path``."""
    from .sim.simulate import simulate
    from .surrogate import load_library

    cell = next(iter(load_library(library_path)))
    network, x_train, x_test, y_test = train_digits_mlp(config.hidden)
    data = (x_test, y_test, x_train)
    ideal = simulate(demo_system(network, config), network, data)
    cell = simulate(demo_system(network, config, library_path, cell), network, data)
    baseline = simulate("baseline", network, data)
    return {"n_test": len(y_test), "float": ideal.float_metric, "ideal": ideal.analog_metric,
            "analog": cell.analog_metric, "baseline": baseline, "library": baseline.spec.library}


def plot_iv_family(sweep_path: Path, png: Path) -> None:
    """Cell current against bit-line voltage, one curve per programmed state, at the
    highest and a middle word-line voltage."""
    import h5py
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with h5py.File(sweep_path, "r") as f:
        order = list(f.attrs["grid_order"])
        axes = {name: f["grid"][name][...] for name in order}
        current = f["outputs"]["i_cell"][...].reshape([len(axes[n]) for n in order])
    g, v_bl, v_wl = axes["g"], axes["v_bl"], axes["v_wl"]
    fig, panels = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
    for panel, k in zip(panels, (len(v_wl) // 2, len(v_wl) - 1)):
        for j in np.linspace(0, len(g) - 1, 5).round().astype(int):
            panel.plot(v_bl, current[j, :, k] * 1e6, label=f"g = {g[j] * 1e6:.3g} µS")
            panel.plot(v_bl, g[j] * RERAM.v0 * np.sinh(v_bl / RERAM.v0) * 1e6, "k:", lw=0.8)
        panel.set_title(f"1T1R cell, v_wl = {v_wl[k]:.2f} V (dotted: ReRAM alone)")
        panel.set_xlabel("bit-line voltage v_bl (V)")
    panels[0].set_ylabel("cell current (µA)")
    panels[0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(png, dpi=120)
    plt.close(fig)
