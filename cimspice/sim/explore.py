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
import logging
import sys
import time
import warnings
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import yaml

from .crossbar.transfer import one_blas_thread
from .errors import SimError
from .library_cache import read_libraries, seed_library_cache
from .spec import SystemSpec, load_system_spec

__all__ = ["apply_settings", "design_points", "explore", "longest_first", "one_thread", "pareto_front", "parse_setting",
           "parse_sweep", "write_exploration"]

log = logging.getLogger(__name__)


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


#: whether the process that calls :func:`explore` with ``workers`` runs design points itself,
#: beside ``workers - 1`` started ones (False: ``workers`` started ones do them all; tests)
PARENT_RUNS_POINTS = True
#: how worker processes start: "fork" on Linux, where a forked worker starts in milliseconds
#: with the tables, network and data already in its memory (unless an HDF5 file is open here:
#: :func:`_hdf5_files_open`); "spawn" elsewhere (macOS's system libraries are not fork-safe),
#: where a worker imports cimspice (1-2 s) and is sent them
START_METHOD = "fork" if sys.platform.startswith("linux") else "spawn"
#: what a worker's points share, sent once by its parent: (specs, order, network, data,
#: simulate's kwargs)
_SHARED: tuple = ()
#: a sweep's claims, shared by its processes (:func:`_claim`): ``(lock, counts)``, counts[0]
#: the next position in the order to run, counts[1] the points done, counts[2 + j] the points
#: task ``j`` took
_CLAIMS: tuple = ()
#: a worker's BLAS limit, held for its life. A design sweep runs a process per core, and
#: OpenBLAS's own threads then spin against the other processes: a 16-point CNN sweep's
#: serial run took 3.3-3.4 s of CPU with them and 1.7-2.1 s on one BLAS thread, in the
#: same wall time (2026-12-07, load 2-3)
_ONE_BLAS_THREAD: list = []


@contextmanager
def one_thread():
    """This process's row tiles and BLAS on one thread each while inside (restored after):
    how every process of a parallel design sweep runs, a process per core."""
    from . import row_tile

    threads, row_tile.THREADS_PER_PROCESS = row_tile.THREADS_PER_PROCESS, 1
    try:
        with one_blas_thread():
            yield
    finally:
        row_tile.THREADS_PER_PROCESS = threads


def init_worker(libraries, claims: tuple = ()) -> None:
    """A design sweep's worker process: it imports what a point needs, then starts with the
    libraries its parent read (:func:`~.library_cache.read_libraries`), and reads its row tiles on
    one thread, as the pool already runs a process per core (two tile threads in each of two
    workers would share two cores). ``libraries``: the entries, or a queue on which the
    parent sends them with the points' shared arguments once it has read them (the worker
    imports meanwhile); None sent: the parent failed, no point will come. A forked worker
    (``libraries`` None) has all of it already. ``claims``: the sweep's shared claims
    (:func:`_claim`)."""
    global _SHARED, _CLAIMS
    _CLAIMS = claims
    from . import kernels, row_tile, simulate  # noqa: F401 - a point's imports, numba's too

    kernels.available()
    row_tile.THREADS_PER_PROCESS = 1
    _ONE_BLAS_THREAD.append(one_blas_thread())    # for the worker's life: a process per core already
    if libraries is None:
        return
    if not isinstance(libraries, dict):
        message = _receive(libraries)
        if message is None:
            return
        libraries, *shared = message
        _SHARED = tuple(shared)
    seed_library_cache(libraries)


def _receive(queue):
    """This worker's message on ``queue`` (a ``SimpleQueue`` holding one per worker), waiting
    as long as the parent process lives."""
    import multiprocessing

    parent = multiprocessing.parent_process()
    while queue.empty():
        if parent is not None and not parent.is_alive():
            raise SystemExit("design sweep worker: the parent process is gone")
        time.sleep(0.02)
    return queue.get()


def _claim(claims: tuple, n: int, task: int | None = None) -> int | None:
    """The next position of a sweep's order to run (``n`` positions), or None when all are
    taken or the sweep stopped; ``task``: the worker task taking it (counted)."""
    lock, counts = claims
    with lock:
        k = counts[0]
        if k >= n:
            return None
        counts[0] = k + 1
        if task is not None:
            counts[2 + task] += 1
        return k


def _done(claims: tuple) -> int:
    """One more point of the sweep done; how many are."""
    lock, counts = claims
    with lock:
        counts[1] += 1
        return counts[1]


def _stop(claims: tuple, n: int) -> None:
    """No more points are taken (an error: the sweep fails)."""
    lock, counts = claims
    with lock:
        counts[0] = max(counts[0], n)


def _worker_points(task: int) -> list:
    """Worker task ``task`` of a sweep: points claimed from the shared counter, each run as
    soon as the last is done, until none is left: ``[(index, result), ...]``. Claiming here,
    not from the parent, keeps the parent's threads out of the way: on a machine whose
    cores both run points they waited for a core, and the worker for them, 2-4 ms a point."""
    if not _SHARED:                             # the parent could not send them: it has failed
        return []
    specs, order, net, data, kwargs = _SHARED
    done = []
    while (k := _claim(_CLAIMS, len(order), task)) is not None:
        i = order[k]
        try:
            done.append((i, _run_point(specs[i], net, data, kwargs)))
            _done(_CLAIMS)
        except BaseException:
            _stop(_CLAIMS, len(order))
            raise
    return done


def longest_first(specs: list, net, data, kwargs: dict) -> list[int]:
    """The indices of ``specs``, the points estimated longest first (:mod:`.point_cost`):
    processes that take points as they come free then end together, the last points being
    the shortest. The list's order where no estimate can be made (the float network fails
    on a sample: the points' own runs say why)."""
    from .point_cost import point_costs, vectors_per_sample

    x = data[0]
    try:
        with one_blas_thread():
            vectors = vectors_per_sample(net, x[:1])
            costs = point_costs(specs, net, vectors, len(x), kwargs.get("seeds", 1))
    except Exception as error:  # noqa: BLE001 - only the order is at stake; each point reports its own error
        log.debug("design sweep: no cost estimate (%s); points in the list's order", error)
        return list(range(len(specs)))
    return sorted(range(len(specs)), key=lambda i: -costs[i])


def _run_point(spec, network, data, kwargs):
    from .simulate import simulate

    return simulate(spec, network, data, **kwargs)


def _hdf5_files_open() -> bool:
    """Whether this process holds an HDF5 file open. A forked child would share the HDF5
    library's state of it, and a file it then opened again would be that state (HDF5 keeps
    one per file); so with one open, workers are spawned. The library and the programmed-chip
    cache close theirs after each read."""
    import h5py

    return h5py.h5f.get_obj_count(h5py.h5f.OBJ_ALL, h5py.h5f.OBJ_FILE) > 0


def _send(inbox, workers: int, message) -> None:
    """``message()`` put on ``inbox`` once for each of ``workers`` spawned workers; what is
    not sent (it could not be made or pickled: raised here) is a None, on which a worker ends."""
    sent = 0
    try:
        shared = message()
        while sent < workers:
            inbox.put(shared)
            sent += 1
    finally:
        for _ in range(workers - sent):
            inbox.put(None)


def _run_local(specs: list, net, data, kwargs: dict, workers: int, order: list[int] | None = None,
               progress: bool = False) -> list:
    """Each of ``specs`` simulated on this process and ``workers - 1`` started ones (all
    ``workers`` without :data:`PARENT_RUNS_POINTS`), each taking the next point of ``order``
    (indices; default the list's) as it comes free, from a counter they share
    (:func:`_claim`); the results in the list's order.

    Forked (:data:`START_METHOD`), a worker starts with the tables every point reads
    (:func:`~.library_cache.read_libraries`, read here first), the network and the data in its
    memory: a few milliseconds. A spawned worker takes 1-2 s to start (imports, numba's
    cached loops), several MLP design points' worth, so this process does not wait for it:
    the workers start first and import while this process reads the tables (it needs them
    for its own points anyway) and sends them with the network and data to each worker.
    A sweep done before a worker starts ends then (the worker finds no point left, and
    exits with the pool). ``progress``: a bar of the points done, in every process."""
    import multiprocessing
    from concurrent.futures import FIRST_EXCEPTION, ProcessPoolExecutor, wait

    from tqdm import tqdm

    global _SHARED
    order = list(range(len(specs))) if order is None else list(order)
    n = len(order)
    fork = START_METHOD == "fork" and not _hdf5_files_open()
    ctx = multiprocessing.get_context("fork" if fork else "spawn")
    spawned = workers - 1 if PARENT_RUNS_POINTS else workers
    # a SimpleQueue pickles in put(), in this thread: what cannot be sent raises here, at once
    inbox = None if fork else ctx.SimpleQueue()
    claims = (ctx.Lock(), ctx.RawArray("q", 2 + spawned))
    results: list = [None] * len(specs)
    t0 = time.perf_counter()
    if fork:
        read_libraries(specs)               # parsed into this process's cache, which the workers inherit
        _SHARED = (specs, order, net, data, kwargs)
    # this process runs its points on one thread from before the fork on: OpenBLAS re-creates
    # its thread pool at the first limit set after a fork, and those threads spin against
    # the workers (crossbar.transfer.one_blas_thread); a forked worker inherits the limits
    limits = ExitStack()
    if PARENT_RUNS_POINTS:
        limits.enter_context(one_thread())
    pool, tasks, error, bar = None, [], None, None
    try:
        pool = ProcessPoolExecutor(spawned, mp_context=ctx, initializer=init_worker,
                                   initargs=(None if fork else inbox, claims))
        with warnings.catch_warnings():
            # Python >= 3.12 warns of fork in a process with threads. Here they are OpenBLAS's
            # idle pool, which OpenBLAS shuts down before a fork (pthread_atfork) and makes
            # anew only when a limit is set (none is: one_blas_thread), and an earlier run's
            # row-tile threads, waiting idle (a child makes its own); no point runs yet, and
            # with fork the executor starts every worker at this first submit, before its own
            # thread.
            warnings.filterwarnings("ignore", message=r".*multi-threaded.*fork", category=DeprecationWarning)
            tasks = [pool.submit(_worker_points, j) for j in range(spawned)]     # starts them now
        if not fork:
            _send(inbox, spawned, lambda: (read_libraries(specs), specs, order, net, data, kwargs))
        # after the fork: a bar may start a thread of its own
        bar = tqdm(total=n, desc="design points", unit="point", disable=not progress)
        if PARENT_RUNS_POINTS:
            try:
                while (k := _claim(claims, n)) is not None:
                    results[order[k]] = _run_point(specs[order[k]], net, data, kwargs)
                    bar.update(_done(claims) - bar.n)
            except Exception as failed:  # noqa: BLE001 - raised below, once the workers have finished theirs
                error = failed
            log.debug("design sweep: this process done after %.2f s", time.perf_counter() - t0)
            _stop(claims, n)                    # closed (an error: no more points); a task not yet started takes none
            with claims[0]:
                took = [j for j in range(spawned) if claims[1][2 + j]]
            for j in set(range(spawned)) - set(took):
                broken = tasks[j].exception() if tasks[j].done() else None
                if broken is not None:
                    log.warning("design sweep: a worker process did not start (%s); its points ran here",
                                str(broken).splitlines()[0] if str(broken) else type(broken).__name__)
        else:
            took = list(range(spawned))
        waiting = [tasks[j] for j in took]
        while waiting:
            done, pending = wait(waiting, timeout=0.2, return_when=FIRST_EXCEPTION)
            bar.update(claims[1][1] - bar.n)
            for task in done:
                if (failed := task.exception()) is not None:
                    _stop(claims, n)
                    error = error or failed
                    continue
                for i, result in task.result():
                    results[i] = result
            waiting = list(pending)
    finally:
        _stop(claims, n)                        # (an interrupt: the workers take no more points)
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
        limits.close()
        if bar is not None:
            bar.close()
        if fork:
            _SHARED = ()
    if error is not None:
        raise error
    log.debug("design sweep: %d points in %.2f s, %d of them on %d workers", len(specs),
              time.perf_counter() - t0, sum(claims[1][2:]), spawned)
    return results


def explore(points: list[tuple[dict, SystemSpec]], network, data=None, *, workers: int = 1,
            scheduler: str | None = None, progress: bool = False, **kwargs) -> list:
    """Simulate each design point (``kwargs``: :func:`simulate`'s ``n_samples``, ``seeds``,
    ...); returns the :class:`SimulationResult` of each, in order, with its ``design``.
    ``workers``: processes running points, this one and ``workers - 1`` more, forked on
    Linux (:func:`_run_local`); ``scheduler``: a Dask scheduler's address instead."""
    from .simulate import _data, _network

    net, label = _network(network)
    data = _data(net, network, data, kwargs.pop("n_samples", None), kwargs.pop("calibration_samples", 256))
    _check_fits(points, net)
    specs = [spec for _, spec in points]
    if scheduler:
        from dask.distributed import Client, as_completed
        from tqdm import tqdm

        order = longest_first(specs, net, data, kwargs)
        with Client(scheduler) as client:
            futures = {i: client.submit(_run_point, specs[i], net, data, kwargs, pure=False) for i in order}
            for _ in tqdm(as_completed(list(futures.values())), total=len(specs), desc="design points", unit="point",
                          disable=not progress):
                pass
            results = client.gather([futures[i] for i in range(len(specs))])
    elif workers > 1 and len(specs) > 1:
        results = _run_local(specs, net, data, kwargs, min(workers, len(specs)),
                             longest_first(specs, net, data, kwargs), progress)
    else:
        from tqdm import tqdm

        results = [_run_point(s, net, data, kwargs) for s in tqdm(specs, desc="design points", unit="point",
                                                                      disable=not progress)]
    for (knobs, _), result in zip(points, results):
        result.design, result.network = dict(knobs), label
    return results


def _check_fits(points: list, net) -> None:
    """Every design point's arrays take the network's matrices (the tiling), checked before
    any point runs; a point that cannot is refused, named by its knobs (it failed only when
    its turn came, after the points before it had run)."""
    from .mapping import plan_matrix

    shapes = [(name, W.shape) for name, W in net.matrices().items()]
    for knobs, spec in points:
        for name, (n_in, n_out) in shapes:
            try:
                plan_matrix(name, n_in, n_out, spec)
            except SimError as error:
                point = ", ".join(f"{k}={v}" for k, v in knobs.items())
                raise SimError(f"design point {point}: {error}") from None


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
