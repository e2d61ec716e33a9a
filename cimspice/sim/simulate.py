"""``simulate(system_spec, network_name, n_samples)``: a trained network on a described
accelerator, float against analog, with energy, latency and area per inference.

::

    from cimspice.sim.simulate import simulate, sweep
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

import numpy as np
from scipy import stats

from ..validate import require_finite
from .accounting import COMPONENTS, CostReport, summarise
from .backend import AnalogBackend
from .errors import SimError
from .network import Network
from .spec import SystemSpec, load_system_spec
from .zoo import load_dataset, load_network

__all__ = ["SimulationResult", "run", "simulate", "sweep", "sweep_table"]

log = logging.getLogger(__name__)


def _ci95(values) -> float:
    """Half-width of the 95 % confidence interval of the mean (0 for one value)."""
    v = np.asarray(values, float)
    if len(v) < 2:
        return 0.0
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
        """The result as a plain-text table."""
        c = self.costs
        fmt = (lambda v: f"{v:.2%}") if self.metric == "accuracy" else (lambda v: f"{v:.3f}")
        ci = f" +- {fmt(self.analog_ci) if self.metric == 'accuracy' else f'{self.analog_ci:.3f}'}" \
            if len(self.seeds) > 1 else ""
        lines = [f"cimspice simulate: network {self.network!r} on system {self.system!r} "
                 f"({self.n_samples} held-out samples, {len(self.seeds)} device seed(s))",
                 f"  {self.metric:<12} float {fmt(self.float_metric)}   analog {fmt(self.analog_metric)}{ci}",
                 "", f"  {'energy per inference':<24}{'J':>12}{'share':>9}"]
        total = c.total_energy or 1.0
        for comp in COMPONENTS:
            lines.append(f"  {comp:<24}{c.energy[comp]:>12.3e}{c.energy[comp] / total:>9.1%}")
        e_ci = f" +- {self.energy_ci:.2e}" if len(self.seeds) > 1 else ""
        lines.append(f"  {'total':<24}{c.total_energy:>12.3e}{e_ci}")
        lines += ["", f"  latency per inference   {c.latency:.3e} s (arrays {c.latency_parts['arrays']:.2e}, "
                      f"digital {c.latency_parts['digital']:.2e}, nonlinear {c.latency_parts['nonlinear']:.2e})",
                  f"  area                    {c.total_area * 1e6:.4f} mm^2 "
                  f"({', '.join(f'{k} {v * 1e6:.4f}' for k, v in c.area.items() if v)})",
                  f"  arrays used             {c.arrays} of {self.plans[0].rows}x{self.plans[0].cols}" if self.plans
                  else "  arrays used             0"]
        for plan in self.plans:
            lines.append(f"    {plan.describe()}")
        return "\n".join(lines)


def _data(network: Network, name, n_samples, calibration_samples):
    x, y = load_dataset(name, "test", n=n_samples)
    x_cal, _ = load_dataset(name, "train", n=calibration_samples)
    if len(x) == 0:
        raise SimError(f"network {name!r}: no held-out samples (n_samples={n_samples})")
    return x, y, x_cal


def simulate(system_spec, network_name, n_samples: int | None = None, *, seeds: int = 1,
             calibration_samples: int = 256, library: dict | None = None, network: Network | None = None,
             data=None) -> SimulationResult:
    """Run ``network_name`` (a zoo name or network file) on the accelerator ``system_spec``
    (YAML path, mapping or :class:`SystemSpec`).

    Parameters
    ----------
    n_samples : int, optional
        Held-out samples (digits) or 64-token windows (GPT); default all.
    seeds : int
        Device-variation / noise seeds to average over (confidence intervals need >= 2).
    calibration_samples : int
        Training samples used to set input and ADC ranges.
    library : mapping, optional
        An already loaded surrogate library (default: the spec's ``library`` file).
    network, data : optional
        A network object and ``(x, y, x_calibration)`` to use instead of loading
        ``network_name`` from the zoo; NaN or inf in ``x`` or ``x_calibration`` is an error.

    Errors in the spec, or a spec that does not fit the network, raise :class:`SimError`
    before any simulation work.
    """
    t0 = time.perf_counter()
    spec = load_system_spec(system_spec)
    if int(seeds) < 1:
        raise SimError(f"seeds: expected a positive integer, got {seeds!r}")
    net = network if network is not None else load_network(network_name)
    first = AnalogBackend(spec, library=library)
    plans = first.prepare(net)                      # every fit and library check, before any work
    if data is not None:
        x, y, x_cal = data
        require_finite(x, "data: x", SimError)  # x_calibration: checked by calibrate
    else:
        x, y, x_cal = _data(net, network_name, n_samples, calibration_samples)
    float_metric = net.score(x, y)
    metrics, energies, reports = [], [], []
    seed_list = [spec.seed + i for i in range(int(seeds))]
    for i, seed in enumerate(seed_list):
        backend = first if i == 0 else AnalogBackend(spec, library=first.library, seed=seed)
        backend.calibrate(net, x_cal)
        metrics.append(net.score(x, y, backend))
        peak = max((c["buffer_bits"] for c in backend.ledger.counts.values()), default=0) / len(x)
        report = summarise(backend.ledger, spec, plans, len(x), peak, adc_energy=backend.adc_energy,
                           pool_area=backend.pool_area)
        reports.append(report)
        energies.append(report.total_energy)
        log.info("seed %d: %s %.4f, %.3e J per inference", seed, net.metric, metrics[-1], energies[-1])
    costs = reports[0]
    if len(reports) > 1:  # mean energy over seeds; latency and area do not depend on the draw
        costs.energy = {k: float(np.mean([r.energy[k] for r in reports])) for k in COMPONENTS}
    return SimulationResult(str(network_name), spec.name, net.metric, len(x), float_metric, metrics, costs,
                            energies, plans, seed_list, time.perf_counter() - t0, spec)


def sweep(system_spec, network_name, *, adc_bits=(None,), array_sizes=(None,), splits=(None,),
          n_samples: int | None = None, seeds: int = 1, calibration_samples: int = 256,
          library: dict | None = None, data=None) -> list[dict]:
    """Accuracy (or perplexity) and energy over ADC resolution x array size x row split.

    ``adc_bits``: values for ``adc.bits`` (None keeps the spec's); ``array_sizes``: square
    sizes ``n`` (n x n arrays) or ``(rows, cols)``; ``splits``: ``tiling.split`` values.
    Returns one dict per combination: ``adc_bits``, ``rows``, ``cols``, ``split``,
    ``metric``, ``float``, ``analog``, ``ci``, ``energy``, ``arrays``, ``area``.
    ``data``: ``(x, y, x_calibration)`` instead of the network's held-out set.
    """
    base = load_system_spec(system_spec)
    net = load_network(network_name)
    data = data if data is not None else _data(net, network_name, n_samples, calibration_samples)
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
                res = simulate(spec, network_name, seeds=seeds, library=library, network=net, data=data)
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


def run(system_spec, network_name, out_dir, *, n_samples: int | None = None, seeds: int = 1,
        adc_bits=(3, 4, 5, 6, 8), library: dict | None = None, data=None) -> str:
    """What ``cimspice simulate SYSTEM --network NAME`` does: :func:`simulate`, an ADC
    resolution sweep around it (with and without input splitting), plots
    ``energy_breakdown.png`` and ``accuracy_vs_adc_bits.png`` in ``out_dir``, and the text
    of both tables (also written to ``out_dir/simulate.txt``). ``data``:
    ``(x, y, x_calibration)`` instead of the network's held-out set (see :func:`simulate`).

    Every ``adc_bits`` value is checked first (an error names ``--adc-bits``), and
    ``out_dir`` is created only once every result is in: a run that fails leaves no folder."""
    from pathlib import Path

    from .plots import plot_energy_breakdown, plot_sweep

    spec = load_system_spec(system_spec)
    for bits in adc_bits:
        spec.updated({"adc": {"bits": int(bits)}}, source="--adc-bits")  # as sweep() will
    out = Path(out_dir)
    _check_writable(out)
    result = simulate(spec, network_name, n_samples, seeds=seeds, library=library, data=data)
    rows = sweep(spec, network_name, adc_bits=adc_bits, splits=("partial_sums", "input_splitting"),
                 n_samples=n_samples, seeds=seeds, library=library, data=data) if adc_bits else []
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise SimError(f"{out}: cannot create the output folder: {error.strerror}") from None
    energy_png = plot_energy_breakdown(result, out / "energy_breakdown.png")
    text = result.to_table()
    if rows:
        sweep_png = plot_sweep(rows, out / "accuracy_vs_adc_bits.png")
        text += "\n\n  " + metric_label(result.metric) + " against ADC resolution\n" + "\n".join(
            "  " + line for line in sweep_table(rows).splitlines())
        text += f"\n\n  plots       {energy_png}, {sweep_png}"
    else:
        text += f"\n\n  plots       {energy_png}"
    (out / "simulate.txt").write_text(text + "\n")
    return text


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
    return "accuracy" if metric == "accuracy" else "perplexity"
