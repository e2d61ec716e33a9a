"""Where chunks run: this process, a local process pool, or a Dask cluster.

All three hand out ``concurrent.futures.Future`` objects, so the runner has one code path.
What differs is what a dead worker looks like:

* local pool: every pending future fails with ``BrokenProcessPool``; :meth:`LocalPool.diagnose`
  reads the workers' exit codes and heartbeat slots to say which point each dead worker
  was running, and the pool is replaced;
* Dask: the scheduler re-runs a task whose worker died and, after ``allowed-failures``
  deaths, fails it with ``KilledWorker``; the nanny replaces the worker.

``ProcessPoolExecutor(max_tasks_per_child=...)`` deadlocks on Python 3.11 to 3.13 once a
worker retires with tasks still queued (CPython gh-115634), so the local pool is recycled
whole: drained, shut down and started again.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
from concurrent.futures import Future, ProcessPoolExecutor

from . import worker
from .errors import SweepError

_log = logging.getLogger(__name__)
_NOISY = ("distributed.scheduler", "distributed.nanny", "distributed.worker", "distributed.core",
          "distributed.worker.state_machine", "distributed.client", "tornado.application")


def _quiet_distributed() -> dict[str, int]:
    """Mute Dask's chatter unless cimspice's own log is at DEBUG; returns the levels to restore.

    distributed sets its logger to INFO, which passes any handler the application installed
    (the CLI's prints WARNING and up): shutdown alone logs "Batched Comm Closed" with a
    CommClosedError traceback at INFO about one run in four. So INFO goes, warnings stay.
    A killed worker makes the scheduler, nanny and client log errors and tracebacks the
    runner already turns into per-point reasons: those loggers are muted entirely.
    """
    if _log.isEnabledFor(logging.DEBUG):
        return {}
    levels = {"distributed": logging.WARNING, **dict.fromkeys(_NOISY, logging.CRITICAL)}
    old = {}
    for name, level in levels.items():
        logger = logging.getLogger(name)
        old[name] = logger.level
        logger.setLevel(max(level, logger.level))
    return old


def death_reason(exitcode: int | None, time_limit: float | None) -> str:
    """Words for how a worker process ended."""
    if exitcode == worker.EXIT_TIMEOUT:
        return worker.timeout_reason(time_limit) if time_limit else "exceeded its time limit"
    if exitcode is not None and exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = f"signal {-exitcode}"
        why = " (killed, e.g. by the out-of-memory killer)" if name == "SIGKILL" else \
              " (crashed)" if name in ("SIGSEGV", "SIGBUS", "SIGABRT", "SIGFPE", "SIGILL") else ""
        return f"worker process died of {name}{why}"
    return f"worker process exited with code {exitcode}"


class InlinePool:
    """Runs each chunk at once in this process: no crash isolation and no time limit (a
    watchdog would end this process). For tests, debugging and notebooks."""

    kind = "inline"
    workers = capacity = 1
    time_limits = False

    def submit(self, fn, *args) -> Future:
        future = Future()
        try:
            future.set_result(fn(*args))
        except Exception as error:  # noqa: BLE001 - delivered through the future, as a pool would
            future.set_exception(error)
        return future

    def close(self, *, kill: bool = False) -> None:
        pass


class LocalPool:
    """``workers`` spawned processes (never forked: the parent holds an ngspice)."""

    kind = "local"
    time_limits = True

    def __init__(self, workers: int, time_limit: float | None):
        self.workers, self.capacity, self.time_limit = workers, 2 * workers, time_limit
        self._context = multiprocessing.get_context("spawn")
        self._start()

    def _start(self) -> None:
        ctx = self._context
        self._slots = ctx.RawArray("d", 3 * self.workers)
        self._counter = ctx.RawValue("i", 0)
        self._pool = ProcessPoolExecutor(self.workers, mp_context=ctx, initializer=worker.init_local,
                                         initargs=(self._slots, self._counter, ctx.Lock(), os.getpid()))
        self._processes = {}
        self.points_run = 0
        self.exit_codes: list[int] = []

    def submit(self, fn, *args) -> Future:
        future = self._pool.submit(fn, *args)
        # The pool forgets its processes once broken; keep them to read their exit codes.
        self._processes.update(self._pool._processes or {})
        return future

    def diagnose(self) -> dict[int, int]:
        """After ``BrokenProcessPool``: ``point index -> exit code`` for each worker that died
        while simulating a point (:func:`death_reason` puts it in words). Workers the pool
        itself terminated afterwards (SIGTERM) and idle ones are left out. Waits until every
        worker has exited."""
        self._pool.shutdown(wait=True, cancel_futures=True)
        codes = {}
        for process in self._processes.values():
            process.join(5.0)
            codes[process.pid] = process.exitcode
        self.exit_codes = sorted({c for c in codes.values() if c not in (None, -signal.SIGTERM)})
        culprits = {}
        for k in range(self.workers):
            pid, index, start = self._slots[3 * k:3 * k + 3]
            code = codes.get(int(pid))
            if start > 0 and code not in (None, 0, -signal.SIGTERM):
                culprits[int(index)] = code
        _log.debug("pool broke: exit codes %s, culprits %s", codes, culprits)
        return culprits

    def restart(self) -> None:
        """A fresh pool (after a break, or to recycle the workers)."""
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._start()

    def close(self, *, kill: bool = False) -> None:
        if kill:
            for process in list(self._processes.values()):
                if process.is_alive():
                    process.kill()
        self._pool.shutdown(wait=not kill, cancel_futures=True)


class DaskPool:
    """A Dask ``Client`` executor: against ``scheduler`` (an address such as
    ``tcp://10.0.0.5:8786``) or, without one, a ``LocalCluster`` of ``workers`` single-threaded
    processes on the loopback interface."""

    kind = "dask"
    time_limits = True

    def __init__(self, workers: int, time_limit: float | None, scheduler: str | None = None):
        try:
            import dask
            import distributed
        except ImportError as error:
            raise SweepError(f"executor dask: {error}; install dask[distributed]") from None
        self.time_limit, self.cluster, self.client = time_limit, None, None
        self._levels = _quiet_distributed()
        try:
            if scheduler:
                self.client = distributed.Client(scheduler, timeout="20s")
            else:
                # A point that killed its worker twice is failed by the scheduler
                # (KilledWorker) and split by the runner; the default (3) only costs restarts.
                # worker-saturation 1.0: a single-threaded worker holds only the task it runs,
                # so a worker's death is not blamed on tasks merely queued there.
                # The scheduler serves HTTP even without a dashboard, on port 8787 (a warning
                # when taken): bound to any free port, with only the health route (the proxy
                # route logs about jupyter-server-proxy when imported).
                with dask.config.set({"distributed.scheduler.allowed-failures": 1,
                                      "distributed.scheduler.worker-saturation": 1.0,
                                      "distributed.worker.multiprocessing-method": "spawn",
                                      "distributed.scheduler.http.routes": ["distributed.http.health"]}):
                    self.cluster = distributed.LocalCluster(
                        n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                        dashboard_address=None, scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
                        silence_logs=logging.ERROR)
                self.client = distributed.Client(self.cluster)
        except (OSError, TimeoutError) as error:
            self.close()
            raise SweepError(f"dask scheduler {scheduler or 'LocalCluster'}: cannot connect: {error}") from None
        threads = sum(self.client.nthreads().values())
        if threads == 0:
            self.client.wait_for_workers(1, timeout=60)
            threads = sum(self.client.nthreads().values())
        self.workers, self.capacity = threads, 2 * threads

    def submit(self, fn, *args) -> Future:
        # Not client.get_executor(): its hand-over fetches the result and only then reads the
        # Dask future's status; a worker dying in between (the failure tests kill them) makes
        # a finished chunk fail with "TypeError: cannot unpack non-iterable Record object"
        # (distributed 2026.8, seen about once in four runs on a loaded machine).
        # pure=False: a re-submitted chunk must run again, not return the cached failure.
        dask_future = self.client.submit(fn, *args, pure=False)
        future: Future = Future()
        future.set_running_or_notify_cancel()
        future.dask_future = dask_future  # keeps the key on the cluster until the result is read
        dask_future.add_done_callback(lambda done: _hand_over(done, future))
        return future

    def close(self, *, kill: bool = False) -> None:
        """Client first, then the cluster (closed the other way round, the client is left
        reconnecting to a scheduler that is gone), each within a time limit: a part that
        does not stop in time is reported, not waited for."""
        wait = 5.0 if kill else 30.0
        try:
            for name, part in (("client", self.client), ("LocalCluster", self.cluster)):
                if part is None:
                    continue
                try:
                    part.close(timeout=wait)
                except (OSError, TimeoutError) as error:
                    _log.warning("dask %s did not shut down within %g s: %s", name, wait, error)
        finally:
            for name, level in self._levels.items():
                logging.getLogger(name).setLevel(level)


def _hand_over(dask_future, future: Future) -> None:
    """Pass a finished Dask future's outcome on: ``result()`` either returns the value or
    raises the task's error, KilledWorker or CancelledError, read in one consistent step."""
    try:
        value = dask_future.result()
    except BaseException as error:  # noqa: BLE001 - every outcome is handed to the runner
        future.set_exception(error)
    else:
        future.set_result(value)


def is_killed_worker(error: BaseException) -> bool:
    """Dask's ``KilledWorker`` (matched by name: distributed is optional)."""
    return type(error).__name__ == "KilledWorker"
