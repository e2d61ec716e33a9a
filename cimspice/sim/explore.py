"""Design-space exploration: a system's spec fields changed from the command line, one
design point or the cartesian product of several values, each simulated as
:func:`~cimspice.sim.simulate.simulate` does.

::

    cimspice simulate baseline --network cnn --set adc.bits=5 --set array.rows=128
    cimspice simulate baseline --network cnn --sweep adc.bits=3,4,5,6 --sweep array.rows=64,128 --seeds 3

A setting is ``section.field=VALUE`` with VALUE in YAML (``5``, ``0.2``, ``null``,
``partial_sums``, ``{v_wl: 1.0}``); a sweep gives comma-separated values (a value holding a
comma is written in YAML brackets: ``array.fixed=[{v_wl: 1.0}]`` is not needed for scalars).
Each is validated as the YAML spec is, and an error names the flag: ``--sweep adc.bits=1:
adc.bits: expected an integer 2..24 ...``. Every design point is validated before the first
one runs. Points run serially, on local processes (``workers``) or on a Dask scheduler
(``scheduler``, an address); each point is deterministic (its seeds are the spec's), so the
results do not depend on where it ran.

:func:`write_exploration` writes ``results.json`` (one entry per design point, with its
knobs), ``results.csv`` (one row per point) and ``pareto.png`` (the metric against energy
per inference, points labelled by their knobs, the Pareto front drawn).
"""

from __future__ import annotations

import csv
import itertools
import json
from pathlib import Path
from typing import Any

import yaml

from .backend import read_libraries, seed_library_cache
from .errors import SimError
from .spec import SystemSpec, load_system_spec

__all__ = ["apply_settings", "design_points", "explore", "pareto_front", "parse_setting", "parse_sweep",
           "write_exploration"]


def _nested(field: str, value: Any) -> dict:
    """``"adc.bits", 5`` -> ``{"adc": {"bits": 5}}``."""
    out: Any = value
    for part in reversed(field.split(".")):
        out = {part: out}
    return out


def _yaml_value(text: str, flag: str) -> Any:
    try:
        return yaml.safe_load(text) if text.strip() else None
    except yaml.YAMLError as error:
        raise SimError(f"{flag}: {text!r} is not a YAML value: {str(error).splitlines()[0]}") from None


def parse_setting(text: str, flag: str = "--set") -> tuple[str, Any]:
    """``"adc.bits=5"`` -> ``("adc.bits", 5)``; the value read as YAML."""
    field, sep, value = str(text).partition("=")
    field = field.strip()
    if not sep or not field or any(not p for p in field.split(".")):
        raise SimError(f"{flag} {text!r}: expected FIELD=VALUE, e.g. adc.bits=5 (fields: docs/system.md)")
    return field, _yaml_value(value, f"{flag} {text}")


def parse_sweep(text: str) -> tuple[str, list]:
    """``"adc.bits=3,4,5"`` -> ``("adc.bits", [3, 4, 5])``: comma-separated YAML values, or one
    YAML list (``adc.bits=[3, 4]``)."""
    field, _ = parse_setting(text.split("=", 1)[0] + "=0", "--sweep")
    raw = text.split("=", 1)[1].strip()
    if raw.startswith("["):
        values = _yaml_value(raw, f"--sweep {text}")
    else:
        values = [_yaml_value(v, f"--sweep {text}") for v in raw.split(",")]
    if not isinstance(values, list) or not values:
        raise SimError(f"--sweep {text!r}: expected FIELD=V1,V2,... with at least one value")
    return field, values


def apply_settings(spec: SystemSpec, settings: list[tuple[str, Any]], flag: str = "--set") -> SystemSpec:
    """``spec`` with each ``(field, value)`` set, validated one by one (an error names the flag)."""
    source = spec.source
    for field, value in settings:
        spec = spec.updated(_nested(field, value), source=f"{flag} {field}={value}")
    return spec.updated({}, source=source)   # later errors (library, network) name the spec file


def design_points(spec, sweeps: list[tuple[str, list]]) -> list[tuple[dict, SystemSpec]]:
    """Every combination of ``sweeps`` values on ``spec``: ``[(knobs, spec), ...]``, knobs
    ``{field: value}`` in sweep order; all validated before any runs."""
    spec = load_system_spec(spec)
    fields = [f for f, _ in sweeps]
    if len(set(fields)) != len(fields):
        raise SimError(f"--sweep: a field is swept twice ({', '.join(fields)})")
    points = []
    for combo in itertools.product(*(values for _, values in sweeps)):
        knobs = dict(zip(fields, combo))
        points.append((knobs, apply_settings(spec, list(knobs.items()), "--sweep")))
    return points


def init_worker(libraries: dict) -> None:
    """A design sweep's worker process: it starts with the libraries its parent read
    (:func:`~.backend.read_libraries`) and reads its row tiles on one thread, as the pool
    already runs a process per core (two tile threads in each of two workers would share
    two cores)."""
    from . import row_tile

    seed_library_cache(libraries)
    row_tile.THREADS_PER_PROCESS = 1


def _run_point(spec, network, data, kwargs):
    from .simulate import simulate

    return simulate(spec, network, data, **kwargs)


def explore(points: list[tuple[dict, SystemSpec]], network, data=None, *, workers: int = 1,
            scheduler: str | None = None, progress: bool = False, **kwargs) -> list:
    """Simulate each design point (``kwargs``: :func:`simulate`'s ``n_samples``, ``seeds``,
    ...); returns the :class:`SimulationResult` of each, in order, with its ``design``."""
    from .simulate import _data, _network

    net, label = _network(network)
    data = _data(net, network, data, kwargs.pop("n_samples", None), kwargs.pop("calibration_samples", 256))
    specs = [spec for _, spec in points]
    if scheduler:
        from dask.distributed import Client

        with Client(scheduler) as client:
            futures = [client.submit(_run_point, s, net, data, kwargs, pure=False) for s in specs]
            results = client.gather(futures)
    elif workers > 1 and len(specs) > 1:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        # each worker starts with the libraries this process has read (6 s a read of the
        # shipped file, which was most of a worker's time on a 16-point MLP sweep)
        with ProcessPoolExecutor(min(workers, len(specs)), mp_context=multiprocessing.get_context("spawn"),
                                 initializer=init_worker, initargs=(read_libraries(specs),)) as pool:
            results = list(pool.map(_run_point, specs, itertools.repeat(net), itertools.repeat(data),
                                    itertools.repeat(kwargs)))
    else:
        from tqdm import tqdm

        results = [_run_point(s, net, data, kwargs) for s in tqdm(specs, desc="design points", unit="point",
                                                                      disable=not progress)]
    for (knobs, _), result in zip(points, results):
        result.design, result.network = dict(knobs), label
    return results


def pareto_front(results: list) -> list[int]:
    """Indices of the points no other point beats on both energy (lower) and metric (higher
    accuracy, lower perplexity), by energy."""
    sign = 1.0 if results[0].metric == "accuracy" else -1.0
    order = sorted(range(len(results)), key=lambda i: (results[i].costs.total_energy, -sign * results[i].analog_metric))
    front, best = [], -float("inf")
    for i in order:
        score = sign * results[i].analog_metric
        if score > best:
            front.append(i)
            best = score
    return front


def _label(knobs: dict) -> str:
    return ", ".join(f"{k.rsplit('.', 1)[-1]}={v}" for k, v in knobs.items())


def write_exploration(results: list, out: Path) -> list[Path]:
    """``out/results.json``, ``out/results.csv``, ``out/pareto.png`` (``out`` created)."""
    from .accounting import COMPONENTS
    from .results import results_dict

    out = Path(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise SimError(f"{out}: cannot create the output folder: {error.strerror}") from None
    points = [results_dict(r) for r in results]
    (out / "results.json").write_text(json.dumps({"schema": "cimspice.exploration", "schema_version": 1,
                                                  "points": points}, indent=1, allow_nan=False) + "\n")
    knobs = list(results[0].design)
    with open(out / "results.csv", "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow([*knobs, "metric", "float", "analog", "analog_ci95", "energy_j",
                         *(f"energy_{c}_j" for c in COMPONENTS), "latency_s", "area_m2", "characterized_energy"])
        for r in results:
            c = r.costs
            writer.writerow([*(r.design[k] for k in knobs), r.metric, r.float_metric, r.analog_metric, r.analog_ci,
                             c.total_energy, *(c.energy[k] for k in COMPONENTS), c.latency, c.total_area,
                             c.characterized_fraction()["energy"]])
    return [out / "results.json", out / "results.csv", _plot_pareto(results, out / "pareto.png")]


def _plot_pareto(results: list, png: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .simulate import metric_label

    metric = metric_label(results[0].metric)
    scale = 100.0 if results[0].metric == "accuracy" else 1.0
    e = [r.costs.total_energy for r in results]
    m = [r.analog_metric * scale for r in results]
    ci = [r.analog_ci * scale for r in results]
    fig, ax = plt.subplots(figsize=(7.5, 5))
    ax.errorbar(e, m, yerr=ci if any(ci) else None, fmt="o", color="tab:blue", ecolor="0.6", capsize=3)
    front = pareto_front(results)
    ax.plot([e[i] for i in front], [m[i] for i in front], "-", color="tab:red", label="Pareto front")
    for i, r in enumerate(results):
        ax.annotate(_label(r.design), (e[i], m[i]), textcoords="offset points", xytext=(4, 4), fontsize=7)
    _energy_axis(ax.xaxis, e)
    ax.set_xlabel("energy per inference")
    ax.set_ylabel(f"{metric} (%)" if scale == 100.0 else metric)
    ax.set_title(f"{results[0].network} on {results[0].system}: {metric} against energy")
    ax.legend()
    fig.tight_layout()
    fig.savefig(png, dpi=110)
    plt.close(fig)
    return png


def _energy_axis(axis, energies) -> None:
    """An energy axis in engineering units (``1.3 uJ``, not ``1.3e3`` of nJ): logarithmic
    when the points span a decade or more, linear within one (where a log axis labels only
    its minor ticks, in scientific notation)."""
    from matplotlib.ticker import EngFormatter, NullFormatter

    lo, hi = min(energies), max(energies)
    if lo > 0 and hi / lo >= 10:
        axis.axes.set_xscale("log")
        axis.set_minor_formatter(NullFormatter())
    axis.set_major_formatter(EngFormatter(unit="J"))
