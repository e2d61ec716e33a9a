"""``simulate(system, network)``: a trained network on a described accelerator, float
against analog, with energy, latency and area per inference (``cimspice simulate``).

::

    from cimspice.sim.simulate import simulate, sweep, sweep_table
    result = simulate("system.yaml", "cnn", n_samples=500, seeds=3)
    print(result.to_table())
    rows = sweep("system.yaml", "cnn", adc_bits=[3, 4, 5, 6, 8], splits=["partial_sums", "input_splitting"])

Device variation and read noise are drawn from ``seed``; with ``seeds > 1`` every figure is
the mean over seeds ``spec.seed, spec.seed + 1, ...`` with a 95 % confidence interval
(Student t) on the analog metric and the energy.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..validate import require_finite
from .accounting import CostReport, mean_report, summarise
from .backend import AnalogBackend
from .corners import library_corners
from .diagnosis import format_layers, layer_table
from .errors import SimError
from .library_cache import load_spec_library
from .network import Network
from .results import breakdown, corner_table, write_results
from .spec import SystemSpec, load_system_spec
from .zoo import load_dataset, load_network
from .zoo.store import onnx_data_source

__all__ = ["SimulationResult", "simulate", "simulate_corners", "sweep", "sweep_table"]

log = logging.getLogger(__name__)


def _ci95(values) -> float:
    """Half-width of the 95 % confidence interval of the mean (0 for one value)."""
    v = np.asarray(values, float)
    if len(v) < 2:
        return 0.0
    # imported here: scipy.stats takes 0.5-0.7 s to import, which every design-sweep worker
    # paid at start-up for an interval only ``seeds > 1`` needs
    from scipy import stats

    return float(stats.t.ppf(0.975, len(v) - 1) * v.std(ddof=1) / np.sqrt(len(v)))


@dataclass
class SimulationResult:
    """Outcome of :func:`simulate`. Energies in J per inference, latency in s, area in m^2."""

    network: str
    system: str
    metric: str
    n_samples: int
    float_metric: float
    analog_metrics: list
    costs: CostReport
    energy_per_seed: list
    plans: list
    seeds: list
    seconds: float = 0.0
    spec: SystemSpec | None = field(default=None, repr=False)
    sweep: list = field(default_factory=list)   # rows of :func:`sweep` (``adc_bits``), else empty
    plots: list = field(default_factory=list)   # PNG paths written (``output``), else empty
    layers: list = field(default_factory=list)  # per-layer diagnosis (cimspice.sim.diagnosis), first seed
    design: dict = field(default_factory=dict)  # the knobs set on the spec (--set/--sweep), field -> value
    per_layer: bool = False                     # print the per-layer table in to_table()

    @property
    def analog_metric(self) -> float:
        return float(np.mean(self.analog_metrics))

    @property
    def analog_ci(self) -> float:
        return _ci95(self.analog_metrics)

    @property
    def energy_ci(self) -> float:
        return _ci95(self.energy_per_seed)

    def to_table(self) -> str:
        """The result as plain text: the metric, the energy, latency and area tables with each
        component's source, the arrays, then the ADC sweep and the plots when there are any
        (what ``cimspice simulate`` prints)."""
        c, spec = self.costs, self.spec
        fmt = (lambda v: f"{v:.2%}") if self.metric == "accuracy" else (lambda v: f"{v:.3f}")
        ci = f" +- {fmt(self.analog_ci) if self.metric == 'accuracy' else f'{self.analog_ci:.3f}'}" \
            if len(self.seeds) > 1 else ""
        where = "" if spec is None or spec.corner is None and spec.temp is None else \
            f" at corner {spec.corner or 'as characterized'}" + ("" if spec.temp is None else f", {spec.temp:g} degC")
        lines = [f"cimspice simulate: network {self.network!r} on system {self.system!r}{where} "
                 f"({self.n_samples} held-out samples, {len(self.seeds)} device seed(s))",
                 f"  {self.metric:<12} float {fmt(self.float_metric)}   analog {fmt(self.analog_metric)}{ci}", ""]
        lines += breakdown(c, self.energy_ci if len(self.seeds) > 1 else None)
        lines += ["", f"  arrays used             {c.arrays} of {self.plans[0].rows}x{self.plans[0].cols}" if self.plans
                  else "  arrays used             0"]
        for plan in self.plans:
            lines.append(f"    {plan.describe()}")
        if self.per_layer and self.layers:
            lines += ["", "  per layer (error against the float product of the same inputs; first seed)",
                      *format_layers(self.layers)]
        text = "\n".join(lines)
        if self.sweep:
            text += "\n\n  " + metric_label(self.metric) + " against ADC resolution\n" + "\n".join(
                "  " + line for line in sweep_table(self.sweep).splitlines())
        if self.plots:
            text += f"\n\n  plots       {', '.join(map(str, self.plots))}"
        return text


def _network(network) -> tuple[Network, str]:
    """The network object and its label from a zoo name, a file path or a :class:`Network`
    (one imported from ONNX labelled by its file, as when given the path: ``cimspice simulate
    --onnx-batch-axis`` passes the imported network)."""
    if isinstance(network, Network):
        onnx = network.info.get("source") == "onnx"
        return network, network.info.get("path", network.name) if onnx else network.name
    return load_network(network), str(network)


def _data(net: Network, network, data, n_samples, calibration_samples) -> tuple:
    """``(x, y, x_calibration)``: ``data`` as given (arrays, or an ``.npz`` path), else the
    held-out set of the zoo network or network file ``network``; the first ``n_samples``."""
    if data is None:
        source = net.info.get("path") if isinstance(network, Network) else network
        if isinstance(network, Network) and net.info.get("source") == "onnx":
            # from the network as imported: its file read again might give another batch axis
            source = onnx_data_source(net.info, net.info.get("path", net.name))
        if source is None:
            raise SimError(f"network {net.name!r}: no held-out data of its own; pass data=(x, y, x_calibration) "
                           "or an .npz file")
        x, y = load_dataset(source, "test", n=n_samples)
        x_cal, _ = load_dataset(source, "train", n=calibration_samples)
    elif isinstance(data, (str, os.PathLike)):
        from .data_file import read_data_file

        return read_data_file(data, n=n_samples, calibration_samples=calibration_samples)
    else:
        x, y, x_cal = data
        x, y = x[:n_samples], y[:n_samples]
        require_finite(x, "data: x", SimError)  # x_calibration: checked by calibrate
    if len(x) == 0:
        raise SimError(f"network {net.name!r}: no held-out samples (n_samples={n_samples})")
    return x, y, x_cal


def simulate(system, network, data=None, *, n_samples: int | None = None, seeds: int = 1,
             calibration_samples: int = 256, library: dict | None = None, adc_bits=(),
             output=None, per_layer: bool = False, program_cache=None) -> SimulationResult:
    """Run ``network`` on the accelerator ``system``: float and analog accuracy (or
    perplexity), energy, latency and area per inference.

    Parameters
    ----------
    system : str, path, mapping or SystemSpec
        A shipped system by name ("baseline", "ideal"), a YAML system spec, or its contents.
    network : str, path or Network
        A shipped network ("mlp", "cnn", "resnet", "lstm", "gpt"), a network file (``.h5``), an ONNX
        model (``.onnx``, docs/onnx.md), or a network object.
    data : optional
        Evaluation data: ``(x, y, x_calibration)`` arrays or an ``.npz`` file of them;
        default the network's held-out set. NaN or inf in ``x`` or ``x_calibration`` is an error.
    n_samples : int, optional
        Evaluation samples (digits) or 64-token windows (GPT), the first ones; default all.
    seeds : int
        Device-variation / noise seeds to average over (confidence intervals need >= 2).
    calibration_samples : int
        Samples used to set input and ADC ranges.
    library : mapping, optional
        An already loaded surrogate library (default: the spec's ``library`` file).
    adc_bits : sequence of int
        ADC resolutions of an accuracy and energy sweep around the result, with and without
        input splitting (``result.sweep``); empty: no sweep.
    output : path, optional
        Folder for ``simulate.txt`` (:meth:`SimulationResult.to_table`), ``results.json``
        (every figure with its source, docs/system.md) and the plots ``energy_breakdown.png``
        and ``accuracy_vs_adc_bits.png`` (``result.plots``). It is created only once every
        result is in: a run that fails leaves no folder.
    program_cache : path, optional
        HDF5 file of the arrays' IR-drop transfer matrices (:mod:`.program_cache`), read
        where it has them and added to: a second run of the same network, spec and seeds
        skips most of programming, with the same results bit for bit. Created by the first
        run that solves an array.

    The library's tables are read at the spec's ``corner`` and ``temp`` (null: as named and
    characterized); :func:`simulate_corners` runs every corner the library holds.

    Errors in the spec, an ``adc_bits`` value it refuses, an ``output`` that cannot be
    written, a ``program_cache`` that is not one, or a spec that does not fit the network
    raise :class:`SimError` before any simulation work.

    Example::

        import cimspice
        result = cimspice.simulate("baseline", "cnn", n_samples=200)
        print(result.float_metric, result.analog_metric, result.costs.total_energy)  # J per inference
    """
    t0 = time.perf_counter()
    spec = load_system_spec(system)
    if int(seeds) < 1:
        raise SimError(f"seeds: expected a positive integer, got {seeds!r}")
    for bits in adc_bits:
        spec.updated({"adc": {"bits": int(bits)}}, source="adc_bits")  # as sweep() will
    out = None if output is None else Path(output)
    if out is not None:
        _check_writable(out)
    net, label = _network(network)
    first = AnalogBackend(spec, library=library, program_cache=program_cache)
    plans = first.prepare(net)                      # every fit and library check, before any work
    x, y, x_cal = data = _data(net, network, data, n_samples, calibration_samples)
    float_metric = net.score(x, y)
    metrics, energies, reports = [], [], []
    seed_list = [spec.seed + i for i in range(int(seeds))]
    for i, seed in enumerate(seed_list):
        backend = first if i == 0 else AnalogBackend(spec, library=first.surrogates, seed=seed,
                                                     program_cache=first.program_cache)
        backend.calibrate(net, x_cal)
        metrics.append(net.score(x, y, backend))
        peak = max((c["buffer_bits"] for c in backend.ledger.counts.values()), default=0) / len(x)
        report = summarise(backend, plans, len(x), peak)
        reports.append(report)
        energies.append(report.total_energy)
        log.info("seed %d: %s %.4f, %.3e J per inference", seed, net.metric, metrics[-1], energies[-1])
    costs = mean_report(reports)  # mean energy over seeds; latency and area do not depend on the draw
    result = SimulationResult(label, spec.name, net.metric, len(x), float_metric, metrics, costs, energies, plans,
                              seed_list, time.perf_counter() - t0, spec)
    result.layers, result.per_layer = layer_table(first.ledger, costs), per_layer
    if adc_bits:
        result.sweep = sweep(spec, net, data, adc_bits=adc_bits, splits=("partial_sums", "input_splitting"),
                             seeds=seeds, library=library, program_cache=first.program_cache)
    if out is not None:
        _write(result, out)
    return result


def simulate_corners(system, network, data=None, *, corners=None, n_samples: int | None = None, seeds: int = 1,
                     calibration_samples: int = 256, library: dict | None = None, adc_bits=(),
                     output=None, program_cache=None) -> list[SimulationResult]:
    """:func:`simulate` at each process corner: ``corners`` (default every corner at which the
    library holds a table the spec reads), at the spec's ``temp``; ``adc_bits``: each corner's
    ADC sweep (none by default). Returns one result per corner; with ``output``, each corner's
    files go to ``output/CORNER/`` and :func:`cimspice.sim.results.corner_table` to
    ``output/corners.txt``. ``program_cache``: as for :func:`simulate`.

    Raises :class:`SimError` before any work when the library holds no corner tables.
    """
    spec = load_system_spec(system)
    out = None if output is None else Path(output)
    if out is not None:
        _check_writable(out)
    library = load_spec_library(spec) if library is None else library
    keys = [key for _, key in spec.library_keys()]
    corners = list(corners) if corners else library_corners(library, keys)
    if not corners:
        raise SimError(f"{spec.source}: corner: the library {spec.library} holds no corner tables of the keys the "
                       f"spec reads ({', '.join(keys) or 'none'}); add them with "
                       "`cimspice library build --corners tt,ff,ss`")
    net, _ = _network(network)
    data = _data(net, network, data, n_samples, calibration_samples)
    results = [simulate(spec.updated({"corner": c}), net, data, seeds=seeds, library=library, adc_bits=adc_bits,
                        output=None if out is None else out / c, program_cache=program_cache) for c in corners]
    if out is not None:
        (out / "corners.txt").write_text(corner_table(results) + "\n")
    return results


def _write(result: SimulationResult, out: Path) -> None:
    """``out/simulate.txt``, ``out/results.json`` and the plots (listed in ``result.plots``),
    ``out`` created."""
    from .diagnosis import plot_layers
    from .plots import plot_energy_breakdown, plot_sweep

    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise SimError(f"{out}: cannot create the output folder: {error.strerror}") from None
    result.plots = [plot_energy_breakdown(result, out / "energy_breakdown.png")]
    if result.layers:
        result.plots.append(plot_layers(result.layers, out / "layers.png",
                                        f"{result.network} on {result.system}: per layer"))
    if result.sweep:
        result.plots.append(plot_sweep(result.sweep, out / "accuracy_vs_adc_bits.png"))
    (out / "simulate.txt").write_text(result.to_table() + "\n")
    write_results(result, out / "results.json")


def sweep(system, network, data=None, *, adc_bits=(None,), array_sizes=(None,), splits=(None,),
          n_samples: int | None = None, seeds: int = 1, calibration_samples: int = 256,
          library: dict | None = None, program_cache=None) -> list[dict]:
    """Accuracy (or perplexity) and energy over ADC resolution x array size x row split.

    ``system``, ``network``, ``data``, ``n_samples``, ``program_cache``, ...: as for :func:`simulate`.
    ``adc_bits``: values for ``adc.bits`` (None keeps the spec's); ``array_sizes``: square
    sizes ``n`` (n x n arrays) or ``(rows, cols)``; ``splits``: ``tiling.split`` values.
    Returns one dict per combination: ``adc_bits``, ``rows``, ``cols``, ``split``,
    ``metric``, ``float``, ``analog``, ``ci``, ``energy``, ``arrays``, ``area``.
    """
    base = load_system_spec(system)
    net, _ = _network(network)
    data = _data(net, network, data, n_samples, calibration_samples)
    rows = []
    for split in splits:
        for size in array_sizes:
            for bits in adc_bits:
                changes: dict = {}
                if bits is not None:
                    changes["adc"] = {"bits": int(bits)}
                if size is not None:
                    r, c = (size, size) if np.isscalar(size) else size
                    changes["array"] = {"rows": int(r), "cols": int(c)}
                if split is not None:
                    changes["tiling"] = {"split": split}
                spec = base.updated(changes) if changes else base
                res = simulate(spec, net, data, seeds=seeds, library=library, program_cache=program_cache)
                rows.append({"adc_bits": spec.adc.bits, "rows": spec.array.rows, "cols": spec.array.cols,
                             "split": spec.tiling.split, "metric": res.metric, "float": res.float_metric,
                             "analog": res.analog_metric, "ci": res.analog_ci, "energy": res.costs.total_energy,
                             "adc_energy": res.costs.energy["adc"], "arrays": res.costs.arrays,
                             "area": res.costs.total_area})
    return rows


def sweep_table(rows: list[dict]) -> str:
    """Rows of :func:`sweep` as a plain-text table."""
    if not rows:
        return "(no sweep points)"
    metric = rows[0]["metric"]
    head = (f"{'split':<16}{'array':>9}{'adc bits':>9}{'float ' + metric[:4]:>12}{'analog ' + metric[:4]:>12}"
            f"{'energy (J)':>12}{'adc (J)':>11}{'arrays':>8}{'area mm^2':>11}")
    out = [head]
    for r in rows:
        fmt = (lambda v: f"{v:.2%}") if metric == "accuracy" else (lambda v: f"{v:.3f}")
        out.append(f"{r['split']:<16}{str(r['rows']) + 'x' + str(r['cols']):>9}{str(r['adc_bits']):>9}"
                   f"{fmt(r['float']):>12}{fmt(r['analog']):>12}{r['energy']:>12.3e}{r['adc_energy']:>11.2e}"
                   f"{r['arrays']:>8}{r['area'] * 1e6:>11.4f}")
    return "\n".join(out)


def _check_writable(out) -> None:
    """Refuse, before the run, an output folder that could not be created or written."""
    if out.exists() and not out.is_dir():
        raise SimError(f"{out}: exists and is not a folder")
    parent = out
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir() or not os.access(parent, os.W_OK | os.X_OK):
        raise SimError(f"{out}: cannot write in {parent}")


def metric_label(metric: str) -> str:
    """What a network's metric is called in the tables."""
    return "accuracy" if metric == "accuracy" else "perplexity"
