"""One ngspice per process, driven through libngspice: load once, change in place, run.

PySpice's high-level simulator re-serialises the circuit on every call, never removes old
circuits (memory grows by megabytes per run on a crossbar) and treats ngspice's
informational stderr lines as errors. This engine keeps PySpice's binding to the shared
library (``NgSpiceShared``: ctypes/cffi plumbing, vector access) and replaces the rest:

* a netlist is loaded once; parameters change in place (``alterparam`` + ``reset``) or
  device values do (``alter``, no re-parse), and analyses are run as ngspice commands. On a
  large circuit (:data:`RESET_ALTER_EQUATIONS`) an analysis after an ``alter`` runs on the
  circuit reset with every alter re-applied, which is faster there;
* result vectors are copied out of the shared library and their plot destroyed at once,
  and a replaced circuit is removed, so resident memory stays flat over many runs;
* the console output of every command is classified (:mod:`cimspice.spice.log`) into
  success, success after convergence aids, or a typed :class:`SpiceError`.

ngspice is a C library with global state: one engine per process. Parallel work uses
processes (started with ``spawn`` or ``forkserver``, never a ``fork`` of a process that has
already loaded ngspice).
"""

from __future__ import annotations

import difflib
import functools
import logging
import re
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..validate import require_number
from .errors import (
    EngineUnavailableError,
    MissingVectorError,
    NetlistError,
    ParameterError,
    SimulationTimeout,
    SpiceError,
)
from .log import classify
from .netlist import declared_params, prepare_netlist
from .observers import LISTENERS, notify
from .shared import make_shared, pyspice_ffi

_log = logging.getLogger(__name__)

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*$")
# libngspice keeps every command in its control structures; clearing them now and then
# keeps memory flat over hundreds of thousands of runs (measured in benchmarks/engine.py).
_COMMANDS_BETWEEN_RESETS = 2000


@dataclass
class Result:
    """The vectors of one analysis, copied out of ngspice.

    ``vectors`` maps each requested name (as given) to a float64 or complex128 array:
    shape (1,) for ``op``, (n_points,) for ``dc``/``tran``/``ac``. ``status`` is ``"ok"``
    or ``"aided"`` (converged only after ``aids`` such as gmin or source stepping).
    """

    analysis: str
    vectors: dict[str, np.ndarray]
    status: str = "ok"
    aids: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    log: str = field(default="", repr=False)

    def __getitem__(self, name: str) -> np.ndarray:
        return self.vectors[name]


@functools.lru_cache(maxsize=4096)  # the same few names at every point of a sweep
def vector_key(name: str) -> str:
    """ngspice's own name of a vector: ``v(out)`` -> ``out``, ``i(vdd)`` -> ``vdd#branch``."""
    key = name.strip().lower()
    match = re.fullmatch(r"([vi])\((.+)\)", key)
    if match:
        kind, inner = match.groups()
        return inner if kind == "v" else f"{inner}#branch"
    return key


#: vectors that are an analysis's axis (or a noise result), not a node voltage or a branch current
_AXES = re.compile(r"time|frequency|[a-z]+-sweep|[io]noise_(?:spectrum|total)")
#: how many vectors a missing-vector message lists (close matches first)
_LISTED = 20


def _as_written(key: str) -> str:
    """A vector as a netlist's user names it: ``out`` -> ``v(out)``, ``vdd#branch`` -> ``i(vdd)``;
    an axis (``time``, ``v-sweep``) as it is."""
    if key.endswith("#branch"):
        return f"i({key.removesuffix('#branch')})"
    return key if _AXES.fullmatch(key) else f"v({key})"


def missing_vector(name: str, keys: list[str]) -> str:
    """One line for a vector ``name`` that is not among ngspice's ``keys``: the close
    matches (difflib) first, then the others, e.g. ``v(outt) not in the netlist's vectors;
    did you mean v(out)? (12 vectors: v(out), v(in), i(v1), ...)``."""
    have = sorted({_as_written(k) for k in keys}, key=lambda v: (v.startswith("i("), v))
    close = difflib.get_close_matches(name.strip().lower(), have, n=3, cutoff=0.8)  # not v(zz) -> v(b)
    listed = close + [v for v in have if v not in close]
    more = ", ..." if len(listed) > _LISTED else ""
    hint = f"; did you mean {' or '.join(close)}?" if close else ""
    return f"{name} not in the netlist's vectors{hint} ({len(have)} vectors: {', '.join(listed[:_LISTED])}{more})"


def _check_value(name: str, value) -> float:
    return require_number(value, f"parameter {name!r}", ParameterError)


def _check_name(name: str, what: str = "parameter") -> str:
    if not isinstance(name, str) or not _valid_name(name):
        raise ParameterError(f"{what} name {name!r} is not a valid ngspice identifier")
    return name.lower()


@functools.lru_cache(maxsize=4096)  # the same few names at every point of a sweep
def _valid_name(name: str) -> bool:
    return _NAME.match(name) is not None


#: equations (``rusage equations``) from which an analysis after an ``alter`` runs on the
#: circuit reset with its alters re-applied: ngspice's operating point after an in-place
#: ``alter`` slows down with the circuit's size, while a reset costs a re-elaboration.
#: Measured on n x n 1T1R crossbars (benchmarks/engine.py's, one ``alter`` of a source per
#: point, CPU time in one process, load 5-6), reset + alter + op over alter + op: 16x16
#: (1,058 equations) 1.62, 24x24 (2,354) 1.18, 28x28 (3,194) 1.04, 32x32 (4,162) 0.95,
#: 40x40 (6,482) 0.78
RESET_ALTER_EQUATIONS = 3500


class Engine:
    """The process's ngspice, running one circuit at a time.

    Use :func:`get_engine` rather than this constructor: libngspice can be initialised only
    once per process.

    Examples
    --------
    >>> eng = get_engine()
    >>> eng.load("divider\\nV1 a 0 1\\nR1 a b 1k\\nR2 b 0 {r2}\\n.param r2=1k\\n.end")
    >>> eng.set_params(r2=3e3)
    >>> eng.op(["v(b)"])["v(b)"]
    array([0.75])
    """

    _created = False

    def __init__(self):
        if Engine._created:
            raise EngineUnavailableError("one ngspice engine per process: use cimspice.spice.get_engine()")
        self._shared = make_shared()
        Engine._created = True
        self._lib = self._shared._ngspice_shared
        self._ffi = pyspice_ffi()
        self._commands = 0
        self.source = ""
        self.netlist = ""
        self._params: dict[str, float] = {}
        self._alters: dict[tuple[str, str], float] = {}
        self._saved: tuple[str, ...] = ()  # ngspice's names of the vectors save() keeps
        self._options: dict[str, float] = {}
        self.reset_on_alter = False   # set by load(): the circuit's size (RESET_ALTER_EQUATIONS)
        self._altered = False         # an alter since the last reset
        self.version = self._read_version()
        # Debian's libngspice evaluates devices in OpenMP threads (2 by default): on a shared
        # 2-core machine that made a small transient 3-8 s instead of 40 ms, and parallel
        # sweeps use processes anyway.
        self.command("set num_threads=1")
        # Every transient prints its initial solution, one console line per node, and each
        # line is a call into Python: 3.5 us a node, 20-27 % of a transient of a 20- to
        # 2000-node RC ladder (measured). Nothing here reads that table.
        self.command("set noinit")

    # ------------------------------------------------------------------ low level
    def command(self, command: str) -> list[str]:
        """Run one ngspice command; return the console lines it printed (unclassified)."""
        if len(command) > 1023:
            raise SpiceError(f"ngspice command longer than 1023 characters: {command[:60]}...")
        self._commands += 1
        if self._commands % _COMMANDS_BETWEEN_RESETS == 0:
            self._lib.ngSpice_Command(self._ffi.NULL)
        self._shared._lines = lines = []
        self._lib.ngSpice_Command(command.encode("ascii"))
        return lines

    def _checked(self, command: str, analysis: str = "") -> list[str]:
        lines = self.command(command)
        outcome = classify(lines, analysis=analysis, source=self.source)
        if outcome.error is not None:
            raise outcome.error
        return lines

    def _read_version(self) -> str:
        for line in self.command("version -f"):
            match = re.search(r"\*\* ngspice-(\S+)", line)
            if match:
                return match.group(1)
        return "unknown"

    # ------------------------------------------------------------------ circuits
    def load(self, netlist: str | Path, *, source: str | None = None, trusted: bool = False) -> None:
        """Load a circuit, replacing (and freeing) the previous one.

        Parameters
        ----------
        netlist : str or Path
            Netlist text (first line is the title, as in any SPICE deck) or a path to a file.
            ``.include``/``.lib`` paths relative to the file are resolved against its folder.
        source : str, optional
            Name used in error messages; defaults to the file path or ``"<netlist>"``.
        trusted : bool
            Netlists are data: unless this is set, the deck and the files it includes must
            pass :func:`cimspice.spice.sandbox.check_deck` (no commands, includes only from
            the netlist's folder and ``netlists/``). Set it only for a deck already checked.
        """
        text, origin = prepare_netlist(netlist, trusted=trusted)
        self.remove()
        self.source = source or origin
        lines = [ln for ln in text.splitlines() if ln.strip()] + [""]
        keep = [self._ffi.new("char[]", ln.encode("utf-8")) for ln in lines] + [self._ffi.NULL]
        self._shared._lines = log = []
        self._lib.ngSpice_Circ(self._ffi.new("char *[]", keep))
        outcome = classify(log, source=self.source)
        if outcome.error is not None or not any("circuit:" in ln.lower() for ln in log):
            self.command("remcirc")
            error = outcome.error or NetlistError("ngspice did not accept the circuit", log="\n".join(log))
            raise NetlistError(str(error).removeprefix(f"{self.source}: "), log=error.log, source=self.source)
        self.netlist = text
        self._params.clear()
        self._alters.clear()
        self._options.clear()
        self._saved = ()
        self.reset_on_alter = self.equations() >= RESET_ALTER_EQUATIONS
        self._altered = False

    def equations(self) -> int:
        """The loaded circuit's number of equations (ngspice ``rusage equations``; 0 if unknown)."""
        match = re.search(r"Circuit Equations\s*=\s*(\d+)", "\n".join(self.command("rusage equations")))
        return int(match.group(1)) if match else 0

    def remove(self) -> None:
        """Free the loaded circuit and every plot (no-op when nothing is loaded)."""
        if self.netlist:
            self.command("destroy all")
            self.command("remcirc")
            self.netlist = ""

    def _require_circuit(self) -> None:
        if not self.netlist:
            raise NetlistError("no circuit loaded: call Engine.load() first")

    def set_params(self, **params: float) -> None:
        """Set ``.param`` values (``alterparam``) and re-elaborate the circuit (``reset``).

        ``agauss``/``gauss`` parameters are re-drawn by the reset, which is how Monte Carlo
        runs work. Earlier :meth:`alter` and :meth:`set_options` calls are re-applied.
        """
        self._require_circuit()
        values = {_check_name(k): _check_value(k, v) for k, v in params.items()}
        for name, value in values.items():
            try:
                self._checked(f"alterparam {name}={value!r}")
            except ParameterError:
                declared = ", ".join(declared_params(self.netlist)) or "none"
                raise ParameterError(f"unknown parameter {name!r} (the netlist declares: {declared})",
                                     source=self.source) from None
        self._params.update(values)
        self._reset()

    def _reset(self) -> None:
        """Re-elaborate the circuit (``reset``: the ``.param`` values, fresh device instances)
        and re-apply every alter, option and save."""
        self._checked("reset")
        for (device, param), value in self._alters.items():
            self._alter(device, param, value)
        for name, value in self._options.items():
            self._checked(f"option {name}={value!r}")
        self._save_commands()  # reset forgets the save list too
        self._altered = False

    def alter(self, device: str, value: float | None = None, **instance_params: float) -> None:
        """Change a device in place without re-parsing: ``alter("R1", 2e3)`` or
        ``alter("M1", w=1e-6)``. Cheapest way to move one value between runs."""
        self._require_circuit()
        device = _check_name(device, "device")
        changes = {"": value} if value is not None else {}
        changes.update({_check_name(k): v for k, v in instance_params.items()})
        if not changes:
            raise ParameterError(f"alter {device}: no value given")
        for param, v in changes.items():
            v = _check_value(f"{device} {param}".strip(), v)
            self._alter(device, param, v)     # now, so an unknown device is refused here
            self._alters[(device, param)] = v
        self._altered = True

    def _alter(self, device: str, param: str, value: float) -> None:
        self._checked(f"alter {device} {param} = {value!r}" if param else f"alter {device} = {value!r}")

    def set_options(self, **options: float) -> None:
        """Simulator options (``temp``, ``reltol``, ``gmin``...), kept across resets."""
        self._require_circuit()
        for name, value in options.items():
            name, value = _check_name(name, "option"), _check_value(name, value)
            self._checked(f"option {name}={value!r}")
            self._options[name] = value

    def save(self, vectors=None) -> None:
        """Keep only ``vectors`` (``"v(out)"``, ``"i(vdd)"``; an analysis's axis is always kept)
        in the results of the analyses that follow, as a netlist's ``.save`` does; ``None``:
        every node voltage and source current again (as after :meth:`load`, ``.save`` lines
        of the netlist included). Kept across :meth:`set_params`.

        A transient stores every saved vector at every time point: on a 1000-node RC ladder,
        keeping one made it 8-16 % faster and 32 MB smaller (measured). A noise analysis
        needs its own vectors saved: ngspice refuses to run one with a save list.
        """
        self._require_circuit()
        self.command("delete all")
        keys = () if vectors is None else (vector_key(v) for v in ([vectors] if isinstance(vectors, str) else vectors))
        self._saved = tuple(dict.fromkeys(k for k in keys if not _AXES.fullmatch(k)))
        self._save_commands()

    def _save_commands(self) -> None:
        line = ""
        for key in self._saved:  # several commands: one is at most 1023 characters
            if line and len(line) + len(key) > 1000:
                self._checked(line)
                line = ""
            line = f"{line} {key}" if line else f"save {key}"
        if line:
            self._checked(line)

    def set_temperature(self, celsius: float) -> None:
        """Circuit temperature in degrees Celsius (SPICE's convention)."""
        self.set_options(temp=celsius)

    # ------------------------------------------------------------------ analyses
    def op(self, vectors=None, *, timeout: float | None = None) -> Result:
        """DC operating point. ``vectors``: names such as ``"v(out)"``, ``"i(vdd)"``;
        ``None`` reads every vector."""
        return self.run("op", vectors, timeout=timeout)

    def dc(self, source: str, start: float, stop: float, step: float, vectors=None, *,
           timeout: float | None = None) -> Result:
        """DC sweep of one independent source (V or A); the sweep axis is vector ``"v-sweep"``
        (or ``"i-sweep"``)."""
        source = _check_name(source, "source")
        a, b, c = (_check_value(n, v) for n, v in (("start", start), ("stop", stop), ("step", step)))
        return self.run(f"dc {source} {a!r} {b!r} {c!r}", vectors, timeout=timeout)

    def tran(self, step: float, stop: float, start: float = 0.0, max_step: float | None = None,
             vectors=None, *, uic: bool = False, timeout: float | None = None) -> Result:
        """Transient analysis (seconds); the time axis is vector ``"time"``."""
        args = [_check_value(n, v) for n, v in (("step", step), ("stop", stop), ("start", start))]
        if max_step is not None:
            args.append(_check_value("max_step", max_step))
        words = " ".join(repr(a) for a in args) + (" uic" if uic else "")
        return self.run(f"tran {words}", vectors, timeout=timeout)

    def ac(self, points: int, fstart: float, fstop: float, vectors=None, *, variation: str = "dec",
           timeout: float | None = None) -> Result:
        """Small-signal AC analysis (hertz); the axis is vector ``"frequency"``, values complex."""
        if variation not in ("dec", "oct", "lin"):
            raise ParameterError(f"ac variation {variation!r}: expected dec, oct or lin")
        f1, f2 = _check_value("fstart", fstart), _check_value("fstop", fstop)
        return self.run(f"ac {variation} {int(points)} {f1!r} {f2!r}", vectors, timeout=timeout)

    def noise(self, output: str, source: str, points: int, fstart: float, fstop: float, vectors=None, *,
              variation: str = "dec", timeout: float | None = None) -> Result:
        """Small-signal noise analysis (hertz) of ``output`` (``"v(out)"`` or ``"v(out,ref)"``)
        referred to the independent ``source``. Vectors: ``"frequency"``,
        ``"onoise_spectrum"`` (V/sqrt(Hz) or A/sqrt(Hz)) and ``"inoise_spectrum"`` (in the
        source's unit per sqrt(Hz)), and ngspice's integrated ``"onoise_total"`` /
        ``"inoise_total"`` (shape (1,)); both of ngspice's plots are freed afterwards."""
        if variation not in ("dec", "oct", "lin"):
            raise ParameterError(f"noise variation {variation!r}: expected dec, oct or lin")
        if not re.fullmatch(r"v\(\s*[\w.:#]+\s*(,\s*[\w.:#]+\s*)?\)", output.strip().lower()):
            raise ParameterError(f"noise output {output!r}: expected v(node) or v(node,ref)")
        source = _check_name(source, "source")
        f1, f2 = _check_value("fstart", fstart), _check_value("fstop", fstop)
        command = f"noise {output.strip().lower()} {source} {variation} {int(points)} {f1!r} {f2!r}"
        return self.run(command, vectors, timeout=timeout)

    def run(self, command: str, vectors=None, *, timeout: float | None = None) -> Result:
        """Run one analysis command and return its vectors; the plot is freed afterwards.
        Listeners (:func:`cimspice.spice.observers.observing`) hear of it, failed or not.

        Raises a :class:`~cimspice.spice.errors.ConvergenceError` subclass when the
        analysis aborts, :class:`SimulationTimeout` past ``timeout`` seconds.
        """
        self._require_circuit()
        if self._altered and self.reset_on_alter:
            self._reset()
        try:
            analysis = command.split()[0].lower()
            # noise makes two plots (spectra, then totals); every other analysis one
            earlier = set(self.plot_names()) if analysis == "noise" else None
            before = self._current_plot()
            try:
                lines = self.command(command) if timeout is None else self._run_with_timeout(command, timeout)
            finally:
                extra = [] if earlier is None else [p for p in self.plot_names() if p not in earlier]
                if earlier is not None and sys.exc_info()[0] is not None:  # halted: free what it made
                    for name in extra:
                        self.command(f"destroy {name}")
            outcome = classify(lines, analysis=analysis, source=self.source)
            plot = self._current_plot()
            plots = [plot] + [p for p in extra if p != plot] if plot != before else extra
            try:
                if outcome.error is not None:
                    raise outcome.error
                if not plots:
                    raise SpiceError(f"{analysis} produced no results", log="\n".join(lines), source=self.source)
                data = self._read_vectors(plots, vectors)
            finally:
                for name in plots:
                    self.command(f"destroy {name}")
            return Result(analysis, data, outcome.status, outcome.aids, outcome.warnings, "\n".join(lines))
        finally:
            if LISTENERS:  # the whole cost when nobody listens (per point: benchmarks/engine.py)
                notify(self, command)

    def _run_with_timeout(self, command: str, timeout: float) -> list[str]:
        done = self._shared._bg_done
        done.clear()
        lines = self.command(f"bg_{command}")
        if not done.wait(timeout):
            self.command("bg_halt")
            done.wait(5.0)
            plot = self._current_plot()
            if plot.startswith(command.split()[0].lower()):
                self.command(f"destroy {plot}")
            raise SimulationTimeout(f"{command.split()[0]} exceeded its time limit of {timeout:g} s",
                                    log="\n".join(lines), source=self.source)
        return lines

    def plot_names(self) -> list[str]:
        """Result sets ngspice holds now (``const`` is its built-in one)."""
        array = self._lib.ngSpice_AllPlots()
        names, i = [], 0
        while array[i] != self._ffi.NULL:
            names.append(self._ffi.string(array[i]).decode())
            i += 1
        return names

    def _current_plot(self) -> str:
        return self._ffi.string(self._lib.ngSpice_CurPlot()).decode()

    def _read_vectors(self, plots: list[str], vectors) -> dict[str, np.ndarray]:
        """Vectors from the first of ``plots`` that has each (``None``: all of them)."""
        if vectors is None:
            names = [v for plot in plots for v in self._all_vectors(plot)]
            keys = names
        else:
            names = [vectors] if isinstance(vectors, str) else list(vectors)
            keys = [vector_key(n) for n in names]
        out = {}
        for name, key in zip(names, keys):
            for plot in plots:
                info = self._lib.ngGet_Vec_Info(f"{plot}.{key}".encode())
                if info != self._ffi.NULL:
                    break
            else:
                have = [v for p in plots for v in self._all_vectors(p)]
                raise MissingVectorError(missing_vector(name, have), vector=name, source=self.source)
            n = info.v_length
            if info.v_compdata != self._ffi.NULL:
                raw = np.frombuffer(self._ffi.buffer(info.v_compdata, 16 * n), dtype=np.complex128)
            else:
                raw = np.frombuffer(self._ffi.buffer(info.v_realdata, 8 * n), dtype=np.float64)
            out[name] = raw.copy()
        return out

    def _all_vectors(self, plot: str) -> list[str]:
        array = self._lib.ngSpice_AllVecs(plot.encode())
        names, i = [], 0
        while array[i] != self._ffi.NULL:
            names.append(self._ffi.string(array[i]).decode())
            i += 1
        return names


_engine: Engine | None = None
_engine_lock = threading.Lock()


def get_engine() -> Engine:
    """The process's ngspice engine, created on first use."""
    global _engine
    with _engine_lock:
        if _engine is None:
            _engine = Engine()
        return _engine
