"""Running a sweep: points in chunks, one ngspice engine per worker process, results
streamed to the sweep file as they arrive."""

from __future__ import annotations

import logging
import multiprocessing
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from ..spice import SpiceError, get_engine
from .points import sweep_points
from .spec import SweepSpec
from .store import AIDED, FAILED, OK, SweepWriter

_log = logging.getLogger(__name__)

# Tighter than ngspice's defaults would be slower; these only loosen what a failing point
# needs: more Newton iterations, a gmin floor, and relaxed relative tolerance.
RETRY_OPTIONS = {"itl1": 500, "itl2": 500, "gmin": 1e-10, "reltol": 1e-3}


@dataclass
class ChunkResult:
    index: np.ndarray
    outputs: dict[str, np.ndarray]
    status: np.ndarray
    messages: list[str]
    ngspice_version: str


# The circuit object loaded in this process's engine, by (name, netlist hash). Tasks carry a
# pickled copy of the circuit; its cached state (values already applied to the engine)
# would not describe this engine, so the loaded instance is the one used.
_loaded: tuple[tuple[str, str], object] | None = None


def _init_worker(circuit) -> None:
    global _loaded
    circuit.load(get_engine())
    _loaded = ((circuit.name, circuit.netlist_sha256()), circuit)


def run_chunk(circuit, outputs: tuple[str, ...], index: np.ndarray, points: dict[str, np.ndarray]) -> ChunkResult:
    """Simulate the points of one chunk in this process's engine.

    A point that fails is retried once with convergence aids (:data:`RETRY_OPTIONS`), then
    recorded as failed with ngspice's reason; the chunk goes on.
    """
    engine = get_engine()
    if _loaded is None or _loaded[0] != (circuit.name, circuit.netlist_sha256()):
        _init_worker(circuit)
    circuit = _loaded[1]
    n = len(index)
    values = {name: np.full(n, np.nan) for name in outputs}
    status = np.full(n, OK, dtype=np.int8)
    messages = [""] * n
    for k in range(n):
        point = {name: float(v[k]) for name, v in points.items()}
        try:
            measured = circuit.simulate(engine, point)
        except SpiceError as first:
            try:
                circuit.load(engine)
                engine.set_options(**RETRY_OPTIONS)
                measured = circuit.simulate(engine, point)
                measured = type(measured)(measured.values, "aided", measured.aids + ("relaxed tolerances",))
            except SpiceError as error:
                status[k] = FAILED
                messages[k] = f"{type(error).__name__}: {error}\n{error.log_excerpt()}"
                _log.debug("point %d failed: %s (first try: %s)", index[k], error, first)
                continue
            finally:
                circuit.load(engine)  # drop the relaxed options for the next point
        for name in outputs:
            values[name][k] = measured.values[name]
        if measured.status == "aided":
            status[k] = AIDED
            messages[k] = "converged after " + ", ".join(measured.aids)
    return ChunkResult(np.asarray(index), values, status, messages, engine.version)


def _chunks(n: int, size: int):
    for start in range(0, n, size):
        yield np.arange(start, min(n, start + size))


def run_sweep(spec: SweepSpec, out: str | Path, *, workers: int = 1, chunk_size: int = 256,
              overwrite: bool = False, progress: bool | None = None) -> dict[str, int]:
    """Run every point of ``spec`` and write the sweep file ``out``.

    Parameters
    ----------
    workers : number of processes, each with its own ngspice; 1 runs in this process.
    chunk_size : points per task: large enough to hide scheduling cost.
    progress : show a tqdm bar (default: only on a terminal).

    Returns the status counts (``ok``, ``aided``, ``failed``, ``pending``).
    """
    points = sweep_points(spec)
    circuit = spec.circuit
    # Load once here first: a netlist ngspice cannot parse fails before any file is written.
    _init_worker(circuit)
    with SweepWriter(out, spec, points, overwrite=overwrite) as writer:
        n = writer.n_points
        bar = tqdm(total=n, unit="pt", desc=f"sweep {circuit.name}", disable=None if progress is None else not progress)
        failed = 0

        def record(result: ChunkResult) -> None:
            nonlocal failed
            writer.write(result.index, result.outputs, result.status, result.messages)
            failed += int(np.sum(result.status == FAILED))
            bar.update(len(result.index))
            bar.set_postfix(failed=failed)

        tasks = [(idx, {k: v[idx] for k, v in points.items()}) for idx in _chunks(n, chunk_size)]
        version = "unknown"
        if workers <= 1:
            for idx, pts in tasks:
                result = run_chunk(circuit, spec.outputs, idx, pts)
                version = result.ngspice_version
                record(result)
        else:
            context = multiprocessing.get_context("spawn")  # never fork a process holding ngspice
            with ProcessPoolExecutor(workers, mp_context=context, initializer=_init_worker,
                                     initargs=(circuit,)) as pool:
                futures = [pool.submit(run_chunk, circuit, spec.outputs, idx, pts) for idx, pts in tasks]
                for future in as_completed(futures):
                    result = future.result()
                    version = result.ngspice_version
                    record(result)
        bar.close()
        writer.set_attrs(ngspice_version=version)
        counts = writer.finish()
    _log.info("sweep %s: %s", out, counts)
    return counts
