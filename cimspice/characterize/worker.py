"""What runs in a worker process: chunks of points through the process's ngspice engine.

Kept light on purpose (numpy and the engine only): every worker imports it, and memory per
worker is what limits how many run side by side.

Time limit: a watchdog thread in the worker ends the process (exit code
:data:`EXIT_TIMEOUT`) when one point runs past its limit. ngspice's own halt (``bg_halt``)
needs every analysis run in its background thread, which doubles the cost of a small
operating point (0.13 -> 0.34 ms measured), and it cannot stop a hung ``op`` at all; a dead
worker is something the runner handles anyway. Each point's start is written to a heartbeat
slot the parent can read (shared memory for the local pool), so the parent knows which
point a dead worker was running.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from array import array

import numpy as np

from ..circuits.base import Measured
from ..spice import MissingVectorError, SimulationTimeout, SpiceError, get_engine
from .journal import Record

PENDING, OK, AIDED, FAILED = -1, 0, 1, 2
EXIT_TIMEOUT = 124  # as coreutils timeout(1)
EXIT_ORPHAN = 125   # the parent died: nobody will read the results

# Loosens only what a failing point needs: more Newton iterations, a gmin floor, a
# relaxed relative tolerance; tighter defaults would slow every point.
RETRY_OPTIONS = {"itl1": 500, "itl2": 500, "gmin": 1e-10, "reltol": 1e-3}
_TICK = 0.05  # s between watchdog checks

# One engine per process, but a Dask worker may run tasks in several threads.
_lock = threading.Lock()
# The circuit object loaded in this process's engine, by (class, name, netlist hash). Tasks
# carry a pickled copy; its cached state (values already applied) would not describe this
# engine, so the loaded instance is the one used.
_loaded: tuple[tuple, object] | None = None
# Heartbeat: [pid, point index, start time (time.monotonic, 0 when idle)] at _beat[_at:].
_beat = array("d", [0.0, -1.0, 0.0])
_at = 0
_limit: float | None = None
_parent: int | None = None  # pid whose death ends this worker (default: the parent at start)
_watchdog: threading.Thread | None = None


def init_local(slots, counter, counter_lock, parent: int) -> None:
    """Local-pool initializer: claim a heartbeat slot in the shared array; watch ``parent``."""
    global _beat, _at, _parent
    _parent = parent
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle: it stops us
    with counter_lock:
        k = counter.value
        counter.value += 1
    _beat, _at = slots, 3 * k
    slots[_at], slots[_at + 1], slots[_at + 2] = os.getpid(), -1.0, 0.0
    _start_watchdog()  # now, not at the first chunk: an idle orphan must go too


def _start_watchdog() -> None:
    global _watchdog
    if _watchdog is None:
        _watchdog = threading.Thread(target=_watch, name="cimspice-watchdog", daemon=True)
        _watchdog.start()


def _watch() -> None:
    parent = _parent or os.getppid()
    while True:
        time.sleep(_TICK)
        if os.getppid() != parent:
            os._exit(EXIT_ORPHAN)
        limit, start = _limit, _beat[_at + 2]
        if limit and start > 0 and time.monotonic() - start > limit:
            os._exit(EXIT_TIMEOUT)


def _circuit_in_engine(circuit, engine):
    global _loaded
    key = (type(circuit).__qualname__, circuit.name, circuit.netlist_sha256())
    if _loaded is None or _loaded[0] != key:
        circuit.load(engine)
        _loaded = (key, circuit)
    return _loaded[1]


def load_circuit(circuit) -> None:
    """Load ``circuit`` in this process's engine (raises its NetlistError if ngspice refuses)."""
    global _loaded
    _loaded = None
    _circuit_in_engine(circuit, get_engine())


def _with_aids(circuit, engine, point) -> Measured:
    _beat[_at + 2] = time.monotonic()  # the retry gets a time limit of its own
    try:
        circuit.load(engine)
        engine.set_options(**RETRY_OPTIONS)
        measured = circuit.simulate(engine, point)
    finally:
        circuit.load(engine)  # drop the relaxed options for the next point
    return Measured(measured.values, "aided", measured.aids + ("relaxed tolerances",))


def _failure(error: Exception) -> str:
    text = f"{type(error).__name__}: {error}"
    if isinstance(error, SpiceError) and error.log:
        text += "\n" + error.log_excerpt()
    return text


def timeout_reason(time_limit: float) -> str:
    """The failure message of a point that ran past ``time_limit`` (s)."""
    return f"timeout after {time_limit:g} s"


def _measure(circuit, engine, point, retry: str | None) -> tuple[Measured | None, str]:
    """One point: ``(measured, "")`` or ``(None, why it failed)``. A SpiceError is retried
    once with convergence aids; a timeout is not (more iterations only take longer)."""
    try:
        if retry is not None:
            return _with_aids(circuit, engine, point), ""
        try:
            return circuit.simulate(engine, point), ""
        except (SimulationTimeout, MissingVectorError):
            raise
        except SpiceError as first:
            try:
                return _with_aids(circuit, engine, point), ""
            except SpiceError as error:
                return None, (f"{_failure(error)}\n(first try: {type(first).__name__}; "
                              f"then retried with convergence aids)")
    except MissingVectorError:
        raise  # a wrong output name is wrong at every point: the runner stops the sweep
    except Exception as error:  # noqa: BLE001 - a measurement bug fails this point, not the sweep
        return None, _failure(error) if retry is None else f"{retry}; retried alone with aids: {_failure(error)}"


def run_chunk(circuit, outputs: tuple[str, ...], index: np.ndarray, columns: dict[str, np.ndarray],
              time_limit: float | None = None, retry: str | None = None) -> Record:
    """Simulate the points ``index`` (inputs in ``columns``) in this process's engine.

    A point that fails is retried once with convergence aids (:data:`RETRY_OPTIONS`), then
    recorded as failed with ngspice's reason and log excerpt; the chunk goes on. A
    :class:`MissingVectorError` (an output the circuit does not have) is raised instead.
    ``time_limit`` (s per point) starts the watchdog: never pass it in a process whose death
    would lose more than this chunk. A point that finishes past the limit fails as a
    timeout too, so the outcome does not hang on whether the watchdog looked in time.
    ``retry`` re-runs points straight away with aids and says why (a worker died on them).
    """
    global _limit
    with _lock:
        engine = get_engine()
        circuit = _circuit_in_engine(circuit, engine)
        if time_limit is not None:
            _start_watchdog()
        _limit = time_limit
        n = len(index)
        values = np.full((len(outputs), n), np.nan)
        status = np.full(n, OK, dtype=np.int8)
        messages: dict[int, str] = {}
        names = list(columns)
        beat, at = _beat, _at
        for k, row in enumerate(zip(*[columns[c].tolist() for c in names])):
            beat[at + 1], beat[at + 2] = float(index[k]), time.monotonic()
            try:
                measured, failure = _measure(circuit, engine, dict(zip(names, row)), retry)
                # from the last attempt's start, as the watchdog counts (a retry restarts it)
                if time_limit is not None and time.monotonic() - beat[at + 2] > time_limit:
                    failure = timeout_reason(time_limit)
            finally:
                beat[at + 2] = 0.0
            if failure:
                status[k], messages[k] = FAILED, failure
                continue
            for j, name in enumerate(outputs):
                values[j, k] = measured.values[name]
            if measured.status == "aided":
                status[k] = AIDED
                messages[k] = "converged after " + ", ".join(measured.aids)
                if retry is not None:
                    messages[k] += f" (retried alone after: {retry})"
        _limit = None
        return Record(np.asarray(index, dtype=np.int64), status,
                      {name: values[j] for j, name in enumerate(outputs)}, messages, engine.version)
