"""What runs in a worker process: chunks of points through the process's ngspice engine.

Kept light on purpose (numpy and the engine only): every worker imports it, and memory per
worker is what limits how many run side by side.

A local worker runs no thread besides its main one. Once a process has a second thread,
glibc's malloc and free take their arena lock on every call, and libngspice allocates 19
blocks per transient time point (its check for ``autostop`` copies the plot's variables):
a 40 ns transient of tests/data/rc_ladder.cir (4056 time points) took 17.3-18.7 ms of CPU
with one idle thread in the process against 14.0-16.3 ms without (least of 12 runs, in each
of 6 processes). So:

* Time limit: each point arms a ``SIGALRM`` timer (``setitimer``) for its limit; the signal's
  default action ends the process, exit code :data:`EXIT_TIMEOUT`, and the runner records
  the point as a timeout. A signal also stops a hung ``op`` inside ngspice, which ngspice's
  own halt (``bg_halt``) cannot, and ``bg_`` runs would double the cost of a small operating
  point (0.13 -> 0.34 ms measured) and start a thread.
* The parent's death: on Linux the kernel's parent-death signal (``PR_SET_PDEATHSIG``) ends
  the worker; elsewhere, and in a Dask worker (threaded anyway), a thread polls for it.
* The runner starts local workers with ``OPENBLAS_NUM_THREADS=1`` (numpy's OpenBLAS would
  start its thread pool at import).

Each point's start is written to a heartbeat slot the parent can read (shared memory for the
local pool), so the parent knows which point a dead worker was running.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
import time
from array import array

import numpy as np

from ..circuits.base import Measured
from ..spice import MissingVectorError, SimulationTimeout, SpiceError, get_engine
from .journal import Record

PENDING, OK, AIDED, FAILED = -1, 0, 1, 2
EXIT_TIMEOUT = -signal.SIGALRM  # as multiprocessing reports a worker ended by its point's SIGALRM timer
EXIT_ORPHAN = 125   # the parent died: nobody will read the results
_PR_SET_PDEATHSIG = 1  # prctl(2) option, <linux/prctl.h>

# Loosens only what a failing point needs: more Newton iterations, a gmin floor, a
# relaxed relative tolerance; tighter defaults would slow every point.
RETRY_OPTIONS = {"itl1": 500, "itl2": 500, "gmin": 1e-10, "reltol": 1e-3}
_TICK = 0.05  # s between the orphan watch's checks

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
_local = False  # a local-pool worker: its parent's death ends it without a thread (Linux)


def init_local(slots, counter, counter_lock, parent: int) -> None:
    """Local-pool initializer: claim a heartbeat slot in the shared array; end with ``parent``."""
    global _beat, _at, _parent, _local
    _parent, _local = parent, True
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle: it stops us
    signal.signal(signal.SIGALRM, signal.SIG_DFL)  # a point's time limit ends the process
    with counter_lock:
        k = counter.value
        counter.value += 1
    _beat, _at = slots, 3 * k
    slots[_at], slots[_at + 1], slots[_at + 2] = os.getpid(), -1.0, 0.0
    _end_with_parent()  # now, not at the first chunk: an idle orphan must go too


def _end_with_parent() -> None:
    """End this process when its parent dies: the kernel's parent-death signal on Linux (no
    thread, see the module's docstring), else a thread that polls."""
    if sys.platform.startswith("linux"):
        try:
            if ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL) == 0:
                if os.getppid() != _parent:  # it died before prctl took effect
                    os._exit(EXIT_ORPHAN)
                return
        except (OSError, AttributeError):
            pass
    _start_watchdog()


def _start_watchdog() -> None:
    global _watchdog
    if _watchdog is None:
        _watchdog = threading.Thread(target=_watch, name="cimspice-orphan-watch", daemon=True)
        _watchdog.start()


def _watch() -> None:
    parent = _parent or os.getppid()
    while True:
        time.sleep(_TICK)
        if os.getppid() != parent:
            os._exit(EXIT_ORPHAN)


def _start_clock() -> None:
    """A point (or its retry) starts now: the heartbeat says so, and its time limit runs."""
    _beat[_at + 2] = time.monotonic()
    if _limit:
        signal.setitimer(signal.ITIMER_REAL, _limit)


def _stop_clock() -> None:
    if _limit:
        signal.setitimer(signal.ITIMER_REAL, 0.0)
    _beat[_at + 2] = 0.0


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
    _start_clock()  # the retry gets a time limit of its own
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
    ``time_limit`` (s per point) arms a ``SIGALRM`` timer whose default action ends the
    process: never pass it in a process whose death would lose more than this chunk. A point
    that finishes past the limit before the signal ends the process fails as a timeout too.
    ``retry`` re-runs points straight away with aids and says why (a worker died on them).
    """
    global _limit
    with _lock:
        engine = get_engine()
        circuit = _circuit_in_engine(circuit, engine)
        if time_limit is not None and not _local:
            _start_watchdog()  # a Dask worker: watch for its parent's death as before
        _limit = time_limit
        try:
            return _run_points(circuit, engine, outputs, index, columns, time_limit, retry)
        finally:
            _limit = None


def _run_points(circuit, engine, outputs, index, columns, time_limit, retry) -> Record:
    n = len(index)
    values = np.full((len(outputs), n), np.nan)
    status = np.full(n, OK, dtype=np.int8)
    messages: dict[int, str] = {}
    names = list(columns)
    beat, at = _beat, _at
    for k, row in enumerate(zip(*[columns[c].tolist() for c in names])):
        beat[at + 1] = float(index[k])
        _start_clock()
        try:
            measured, failure = _measure(circuit, engine, dict(zip(names, row)), retry)
            # from the last attempt's start, as the timer counts (a retry restarts it)
            if time_limit is not None and time.monotonic() - beat[at + 2] > time_limit:
                failure = timeout_reason(time_limit)
        finally:
            _stop_clock()
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
    return Record(np.asarray(index, dtype=np.int64), status,
                  {name: values[j] for j, name in enumerate(outputs)}, messages, engine.version)
