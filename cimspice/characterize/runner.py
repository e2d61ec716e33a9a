"""Running a sweep: points in chunks, one ngspice engine per worker, results streamed to
the sweep file's journal as they arrive, worker deaths isolated to the point that caused them.
"""

from __future__ import annotations

import logging
import math
import os
import sys
import time
from collections import Counter, deque
from concurrent.futures import FIRST_COMPLETED, wait
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from ..spice import MissingVectorError
from .errors import SpecError, SweepError
from .executors import DaskPool, InlinePool, LocalPool, death_reason, is_killed_worker
from .journal import Record
from .points import sweep_points
from .spec import SweepSpec, load_sweep_spec
from .store import SweepStore
from .worker import AIDED, EXIT_TIMEOUT, FAILED, OK, load_circuit, run_chunk, timeout_reason

_log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 60.0       # s per point when neither the spec nor the caller sets one
RECYCLE_AFTER = 50_000       # points per worker before the pool is replaced
CHECKPOINT_INTERVAL = 30.0   # s between folds of the journal into the sweep file
_JOURNAL_FOLD_BYTES = 64 << 20
_MAX_UNEXPLAINED_BREAKS = 3  # pool deaths in a row with no point to blame and no progress
#: The environment local workers start with (set while a sweep runs, when they are spawned):
#: numpy's OpenBLAS would start a thread pool as it loads, and a second thread in a worker
#: makes libngspice's transients about 20 % slower (worker.py says why). Workers do no BLAS
#: work that threads would speed up.
WORKER_ENV = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}


@dataclass(eq=False)
class Task:
    """Points run together. ``retry``: why they run again, straight away with convergence
    aids; ``strikes``: worker deaths this (single) point has caused without attribution."""

    index: np.ndarray
    corner: int = 0
    retry: str | None = None
    strikes: int = 0
    alone: bool = False  # ran with nothing else in flight (from quarantine)


@dataclass
class SweepSummary:
    """What a sweep did. ``summary["ok"]`` etc. read :attr:`counts`."""

    path: Path
    counts: dict[str, int]
    n_points: int
    ran: int = 0
    elapsed: float = 0.0
    restarts: int = 0
    recycles: int = 0
    executor: str = "local"
    workers: int = 1
    reasons: list[tuple[str, int]] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return self.counts["pending"] == 0

    def __getitem__(self, key: str) -> int:
        return self.counts[key]

    def __str__(self) -> str:
        c = self.counts
        rate = self.ran / self.elapsed if self.elapsed > 0 else float("nan")
        lines = [f"{self.path}: {c['ok']} ok, {c['aided']} converged with aids, {c['failed']} failed, "
                 f"{c['pending']} pending of {self.n_points} points"
                 + ("" if self.complete else " (incomplete: continue with --resume)"),
                 f"  this run: {self.ran} points in {self.elapsed:.1f} s ({rate:.0f} points/s) on "
                 f"{self.workers} {self.executor} worker{'s' * (self.workers != 1)}, {self.restarts} worker restarts"
                 + (f", {self.recycles} pool recycles" if self.recycles else "")]
        lines += [f"  failed: {n} x {reason}" for reason, n in self.reasons]
        return "\n".join(lines)


def _tasks(pending: np.ndarray, corners: np.ndarray | None, size: int):
    """Chunks of pending points; a chunk never spans two corners (one circuit per chunk)."""
    if len(pending) == 0:
        return
    cuts = [0, len(pending)]
    if corners is not None:
        codes = corners[pending]
        cuts = [0, *(np.flatnonzero(np.diff(codes)) + 1).tolist(), len(pending)]
    for lo, hi in zip(cuts[:-1], cuts[1:]):
        corner = 0 if corners is None else int(corners[pending[lo]])
        for start in range(lo, hi, size):
            yield Task(pending[start:min(hi, start + size)], corner)


class _Run:
    """The state of one run: queues, futures in flight, counts; see :func:`run_sweep`."""

    def __init__(self, spec, points, store, pool, *, chunk_size, time_limit, recycle_after, checkpoint, bar):
        self.spec, self.points, self.store, self.pool, self.bar = spec, points, store, pool, bar
        self.names = [name for name in points if name != "corner"]
        self.time_limit = time_limit if pool.time_limits else None
        self.recycle_after, self.checkpoint = recycle_after, checkpoint
        pending = store.pending()
        self.fresh = _tasks(pending, points.get("corner"), chunk_size)
        self.queue: deque[Task] = deque()       # re-queued work, before fresh chunks
        self.quarantine: deque[Task] = deque()  # suspects of an unexplained death: one at a time
        self.in_flight: dict = {}
        self.counts = store.counts()
        self.reasons: Counter = Counter()
        self.ran = self.restarts = self.recycles = self.unexplained = 0
        self.draining = False
        self.last_fold = time.monotonic()

    # ------------------------------------------------------------------ submitting
    def _next(self) -> Task | None:
        if self.queue:
            return self.queue.popleft()
        return next(self.fresh, None)

    def _submit(self, task: Task) -> None:
        columns = {name: self.points[name][task.index] for name in self.names}
        future = self.pool.submit(run_chunk, self.spec.circuits[task.corner], self.spec.outputs, task.index,
                                  columns, self.time_limit, task.retry)
        self.in_flight[future] = task

    def _fill(self) -> bool:
        """Submit what may run now; False when nothing is left to submit."""
        if self.quarantine:
            if not self.in_flight:
                task = self.quarantine.popleft()
                task.alone = True
                self._submit(task)
            return True
        if self.draining:
            if self.in_flight:
                return True
            task = self._next()
            if task is None:
                return False
            self.queue.appendleft(task)
            self.pool.restart()
            self.draining = False
            self.recycles += 1
            _log.info("worker pool recycled")
        while len(self.in_flight) < self.pool.capacity:
            task = self._next()
            if task is None:
                return bool(self.in_flight)
            self._submit(task)
        return True

    # ------------------------------------------------------------------ results
    def _record(self, record: Record) -> None:
        self.store.append(record)
        n = len(record.index)
        self.ran += n
        self.unexplained = 0
        for code, key in ((OK, "ok"), (AIDED, "aided"), (FAILED, "failed")):
            self.counts[key] += int(np.sum(record.status == code))
        self.counts["pending"] -= n
        for k, message in record.messages.items():
            if record.status[k] == FAILED and (len(self.reasons) < 50 or message.splitlines()[0][:120] in self.reasons):
                self.reasons[message.splitlines()[0][:120]] += 1
        if isinstance(self.pool, LocalPool):
            self.pool.points_run += n
            if self.pool.points_run >= self.recycle_after * self.pool.workers:
                self.draining = True
        self.bar.update(n)
        self.bar.set_postfix_str(f"failed={self.counts['failed']} aided={self.counts['aided']} "
                                 f"restarts={self.restarts}", refresh=False)

    def _fail(self, index: int, corner: int, reason: str) -> None:
        outputs = {name: np.full(1, np.nan) for name in self.spec.outputs}
        self._record(Record(np.array([index], dtype=np.int64), np.array([FAILED], dtype=np.int8), outputs,
                            {0: reason}, ""))

    def _split(self, task: Task, into: deque, front: bool = True) -> None:
        half = len(task.index) // 2
        parts = [Task(task.index[:half], task.corner), Task(task.index[half:], task.corner)]
        for part in (reversed(parts) if front else parts):
            (into.appendleft if front else into.append)(part)

    def _pool_broke(self, first: Task) -> None:
        culprits = self.pool.diagnose()
        broken = [first]
        for future, task in list(self.in_flight.items()):
            del self.in_flight[future]
            if not future.cancelled() and future.exception() is None:
                self._record(future.result())
            else:
                broken.append(task)
        self.pool.restart()
        self.restarts += 1
        self.draining = False
        hits = [[int(i) for i in task.index if int(i) in culprits] for task in broken]
        if any(hits):
            for task, hit in zip(broken, hits):
                rest = task.index[~np.isin(task.index, hit)]
                if len(rest):
                    self.queue.appendleft(Task(rest, task.corner, task.retry))
                for i in hit:
                    self._died(Task(np.array([i]), task.corner, task.retry, task.strikes), culprits[i])
            return
        # Nobody to blame (died between points, or heartbeats unavailable): run the suspects
        # one at a time; a death with one task in flight convicts that task.
        self.unexplained += 1
        if self.unexplained > _MAX_UNEXPLAINED_BREAKS:
            codes = getattr(self.pool, "exit_codes", None)
            raise SweepError(f"worker processes keep dying outside any point ({self.unexplained} times in a row "
                             f"without progress{f'; exit codes {codes}' if codes else ''}); see the log with --debug")
        if len(broken) == 1:
            self._convicted(broken[0], "worker process died")
        else:
            self.quarantine.extend(broken)

    def _died(self, task: Task, exitcode: int) -> None:
        """A single point its worker died on (exit code ``exitcode``). The watchdog's kill is
        a timeout, failed as one: rerun with aids it could only come out "aided" or not
        depending on the machine's load, and aids fix convergence, not duration."""
        if exitcode == EXIT_TIMEOUT and self.time_limit:
            self._fail(int(task.index[0]), task.corner, timeout_reason(self.time_limit))
        else:
            self._struck(task, death_reason(exitcode, self.time_limit))

    def _struck(self, task: Task, reason: str) -> None:
        """A single point a worker died on: retried once alone with aids, then failed."""
        i = int(task.index[0])
        if task.retry is None and task.strikes == 0:
            self.queue.appendleft(Task(task.index, task.corner, retry=reason, strikes=1))
        elif task.retry in (None, reason):
            self._fail(i, task.corner, f"{reason} (twice: also when retried alone with convergence aids)")
        else:
            self._fail(i, task.corner, f"{reason} when retried alone with convergence aids; first: {task.retry}")

    def _convicted(self, task: Task, reason: str) -> None:
        if len(task.index) == 1:
            self._struck(task, reason)
        else:
            self._split(task, self.quarantine)

    def _killed(self, task: Task, error: BaseException) -> None:
        """Dask failed the task after workers died running it (KilledWorker): bisect it down
        to single points, and convict a point only when it kills workers running alone (a
        task merely queued on a dying worker counts as a suspect for Dask too)."""
        self.restarts += 1
        if len(task.index) > 1:
            self._split(task, self.queue)
        elif not task.alone:
            self.quarantine.append(Task(task.index, task.corner))
        else:
            deaths = getattr(error, "allowed_failures", None)
            deaths = f"{deaths + 1} times " if isinstance(deaths, int) else ""
            limit = f" or the {self.time_limit:g} s time limit per point" if self.time_limit else ""
            self._fail(int(task.index[0]), task.corner, f"worker processes died on this point {deaths}while it ran "
                                                        f"alone (crash, out-of-memory kill{limit})")

    # ------------------------------------------------------------------ loop
    def run(self) -> None:
        while self._fill():
            done, _ = wait(list(self.in_flight), timeout=0.5, return_when=FIRST_COMPLETED)
            for future in done:
                if future not in self.in_flight:
                    continue  # handled with a broken pool below
                task = self.in_flight.pop(future)
                error = future.exception()
                if error is None:
                    self._record(future.result())
                elif isinstance(error, BrokenProcessPool):
                    self._pool_broke(task)
                elif is_killed_worker(error):
                    self._killed(task, error)
                elif isinstance(error, MissingVectorError):  # the output that reads it, if known
                    where = f"outputs.{error.output}" if error.output else "outputs"
                    reason = error.reason if error.output else str(error)
                    raise SpecError(f"{self.spec.source}: {where}: {reason}".splitlines()[0])
                else:
                    raise SweepError(f"worker failed on points {int(task.index[0])}..{int(task.index[-1])}: "
                                     f"{type(error).__name__}: {error}".splitlines()[0])
            if (time.monotonic() - self.last_fold > self.checkpoint
                    or self.store.journal_bytes() > _JOURNAL_FOLD_BYTES):
                self.store.fold()
                self.last_fold = time.monotonic()


@contextmanager
def _worker_environment(executor: str):
    """:data:`WORKER_ENV` in ``os.environ`` for a local pool's lifetime, then as it was."""
    saved = {key: os.environ.get(key) for key in WORKER_ENV}
    if executor == "local":
        os.environ.update(WORKER_ENV)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def run_sweep(spec: SweepSpec | str | Path | dict, out: str | Path, *, workers: int = 1, executor: str = "local",
              scheduler: str | None = None, chunk_size: int | None = None, resume: bool = False,
              overwrite: bool = False, timeout: float | None = None, recycle_after: int = RECYCLE_AFTER,
              checkpoint: float = CHECKPOINT_INTERVAL, progress: bool | None = None) -> SweepSummary:
    """Run every pending point of ``spec`` into the sweep file ``out`` (``cimspice sweep``).

    Example::

        import cimspice
        summary = cimspice.run_sweep("cell.yaml", "cell.h5", workers=4)  # the spec: docs/sweep_schema.md
        print(summary.counts)  # points ok, aided, failed, pending

    Parameters
    ----------
    spec : a YAML sweep spec file, its contents as a mapping, or a :class:`SweepSpec`
        (:func:`~cimspice.characterize.spec.load_sweep_spec`).
    workers : worker processes (each with its own ngspice); for Dask without a scheduler,
        the size of the LocalCluster.
    executor : ``"local"`` (process pool), ``"dask"`` (``scheduler`` address, or a
        LocalCluster), or ``"inline"`` (this process: no isolation, no time limit).
    chunk_size : points per task (default: up to 256, smaller for short sweeps).
    resume : continue ``out`` (only its pending points run); refused if it holds another spec.
    overwrite : replace an existing ``out``.
    timeout : seconds per point (default: the spec's ``timeout``, else 60 s).
    recycle_after : points each local worker runs before the pool is replaced.
    checkpoint : seconds between updates of ``out`` (results are safe in its journal at once).
    progress : tqdm bar (default: only on a terminal).

    Returns a :class:`SweepSummary`; ``out`` is ``complete`` when no point is pending.
    """
    if executor not in ("local", "dask", "inline"):
        raise SweepError(f"executor {executor!r} is not one of local, dask, inline")
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise SweepError(f"workers: {workers!r} is not a positive integer")
    if chunk_size is not None and (not isinstance(chunk_size, int) or chunk_size < 1):
        raise SweepError(f"chunk_size: {chunk_size!r} is not a positive integer")
    for name, value in (("timeout", timeout), ("checkpoint", checkpoint), ("recycle_after", recycle_after)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))
                                  or not value > 0):
            raise SweepError(f"{name}: {value!r} is not a positive number")
    spec = load_sweep_spec(spec)
    time_limit = float(timeout or spec.timeout or DEFAULT_TIMEOUT)
    points = sweep_points(spec)
    # Each instance must load: a netlist ngspice cannot parse fails before any file is written.
    for circuit in spec.circuits:
        load_circuit(circuit)
    started = time.monotonic()
    store = SweepStore(out, spec, points, resume=resume, overwrite=overwrite)
    with _worker_environment(executor):
        pool = bar = run = None
        try:
            n_pending = int(store.counts()["pending"])
            if n_pending:
                pool = (InlinePool() if executor == "inline" else LocalPool(workers, time_limit)
                        if executor == "local" else DaskPool(workers, time_limit, scheduler))
            # Chunks big enough to hide scheduling, small enough that every worker gets several.
            n_workers = pool.workers if pool is not None else workers
            size = chunk_size or max(1, min(256, math.ceil(n_pending / (8 * n_workers))))
            bar = tqdm(total=store.n_points, initial=store.n_points - n_pending, unit="pt", smoothing=0.05,
                       desc=f"sweep {spec.circuit.name}", disable=None if progress is None else not progress)
            run = _Run(spec, points, store, pool or InlinePool(), chunk_size=size, time_limit=time_limit,
                       recycle_after=recycle_after, checkpoint=checkpoint, bar=bar)
            run.run()
        except BaseException:
            if store.created and (run is None or run.ran == 0):
                store.discard()  # e.g. no scheduler to connect to: leave no empty file behind
            raise
        finally:
            if bar is not None:
                bar.close()
            if pool is not None:
                pool.close(kill=sys.exc_info()[0] is not None)  # on an error or Ctrl-C, do not wait
            store.close()  # folds whatever the journal holds, also after an error or Ctrl-C
    summary = SweepSummary(Path(out), store.counts(), store.n_points, run.ran, time.monotonic() - started,
                           run.restarts, run.recycles, pool.kind if pool else executor, n_workers,
                           run.reasons.most_common(5))
    _log.info("%s", summary)
    return summary
