"""The analog backend: layers' matrix products on crossbar tiles, everything counted.

``AnalogBackend(spec)`` answers the calls of :class:`cimspice.sim.execution.Backend` with
:class:`cimspice.sim.tile.AnalogMatrix` tiles, nonlinearities computed digitally (or by a
ReRAM-array surrogate when the spec says ``reram_array``), activation products digitally,
and a :class:`Ledger` of every event for :mod:`.accounting`::

    backend = AnalogBackend(spec)
    backend.prepare(network)          # tiling plan and library checks: errors before any work
    backend.calibrate(network, x_cal) # input and ADC ranges
    logits = network.forward(x, backend)
"""

from __future__ import annotations

import difflib
import os
from collections import Counter, defaultdict

import numpy as np

from ..surrogate.lazy import table_inputs
from ..validate import require_finite
from . import costs
from .components import BlockFigures
from .corners import at_operating_point, corners_of, table_record
from .crossbar import CrossbarSolver, LinearCell, SinhCell, SurrogateCell
from .errors import SimError
from .execution import Backend, FloatNonlinearity, pool_windows
from .layers import Layer, MaxPool2d
from .library_cache import load_spec_blocks, load_spec_library
from .mapping import plan_matrix
from .peripherals import MeasuredAdc, SurrogateSense, adc_from_spec, sense_from_spec
from .program_cache import ProgramCache
from .row_tile import available_cpus
from .sense_circuit import mirrored_inl
from .spec import SystemSpec, load_system_spec
from .tile import AnalogMatrix

__all__ = ["AnalogBackend", "Ledger", "nonlinear_kinds"]


class Ledger:
    """Events per layer: ``counts[layer][event]``. Energies are in J, times in s, the rest
    are numbers of events (see docs/system.md for the event names)."""

    def __init__(self):
        self.counts: dict[str, Counter] = defaultdict(Counter)
        # per layer, sums for the diagnosis (cimspice.sim.diagnosis): not events, never priced
        self.diagnosis: dict[str, Counter] = defaultdict(Counter)

    def add(self, layer: str, event: str, amount) -> None:
        self.counts[layer][event] += amount

    def diagnose(self, layer: str, **amounts) -> None:
        self.diagnosis[layer].update(amounts)

    def clear(self) -> None:
        self.counts.clear()
        self.diagnosis.clear()

    def total(self, event: str) -> float:
        return sum(c[event] for c in self.counts.values())


def nonlinear_kinds(network) -> set[str]:
    """Nonlinearity kinds a network evaluates (activations, sigmoid/tanh of LSTMs, softmax, gelu)."""
    kinds: set[str] = set()
    for layer in _layers(network):
        if isinstance(layer, Layer):
            kinds.update(getattr(layer, "kinds", lambda: set())())
    return kinds


def _layers(network):
    """Every layer of ``network``, nested ones (blocks) included."""
    out = []

    def walk(obj):
        out.append(obj)
        for value in vars(obj).values():
            for item in (value if isinstance(value, list) else [value]):
                if isinstance(item, Layer):
                    walk(item)

    for layer in network.layers:
        walk(layer)
    return out


class _CountedNonlinearity:
    """A digital nonlinear unit: the exact function, each evaluation counted."""

    def __init__(self, name: str, kind: str, backend: AnalogBackend):
        self.name, self.kind, self.backend = name, kind, backend
        self._f = FloatNonlinearity(kind)

    def __call__(self, x):
        y = self._f(x)
        if not self.backend.calibrating:
            led = self.backend.ledger
            if self.kind == "relu":
                led.add(self.name, "digital:max", np.size(x))
            elif self.kind == "softmax":
                led.add(self.name, "nonlinear:exp", np.size(x))
                led.add(self.name, "digital:add", np.size(x))
                led.add(self.name, "digital:mul", np.size(x))
            else:
                led.add(self.name, f"nonlinear:{self.kind}", np.size(x))
        return y


class _SurrogateNonlinearity(_CountedNonlinearity):
    """A nonlinearity on a reprogrammable ReRAM array, from its characterized surrogate.

    Contract with the surrogate: one input (the pre-activation) and one output (the
    activation), both in the network's units; inputs outside its characterized range are
    clipped onto it. ``softmax`` uses the ``exp`` surrogate, then a digital normalisation.
    """

    def __init__(self, name, kind, backend, surrogate, energy=None):
        super().__init__(name, kind, backend)
        self.surrogate, self.energy = surrogate, energy

    def _count(self, kind, x):
        """Count evaluations; with an energy surrogate, also the energy of these inputs (J)."""
        led = self.backend.ledger
        led.add(self.name, f"array_nonlinear:{kind}", int(np.size(x)))
        if self.energy is not None and np.size(x):
            e = self.energy.predict(np.asarray(x, float).reshape(-1, 1), out_of_domain="clip")
            led.add(self.name, f"nonlinear_energy:{kind}", float(np.sum(e)))

    def _eval(self, x):
        y = self.surrogate.predict(np.asarray(x, float).reshape(-1, 1), out_of_domain="clip")
        return np.asarray(y, float).reshape(np.shape(x))

    def __call__(self, x):
        if self.backend.calibrating:
            return self._f(x)
        x = np.asarray(x, float)
        led = self.backend.ledger
        if self.kind == "softmax":
            finite = np.isfinite(x)
            z = np.where(finite, x - np.max(x, axis=-1, keepdims=True), 0.0)
            e = np.where(finite, self._eval(z), 0.0)
            self._count("exp", z[finite])
            led.add(self.name, "digital:add", np.size(x))
            led.add(self.name, "digital:mul", np.size(x))
            return e / e.sum(axis=-1, keepdims=True)
        self._count(self.kind, x)
        return self._eval(x)


class AnalogBackend(Backend):
    """Runs layers on the accelerator described by ``spec`` (path, dict or :class:`SystemSpec`).

    Parameters
    ----------
    spec : SystemSpec or YAML path or mapping
    library : mapping name -> surrogate, optional
        An already loaded surrogate library; by default ``spec.library`` is loaded. Its tables
        are read at ``spec.corner`` and ``spec.temp`` (:mod:`.corners`): ``self.library`` maps
        each key the spec names onto that table, ``self.surrogates`` is the library as given.
    seed : int, optional
        Overrides ``spec.seed`` (device variation and read-noise draws).
    float_reference : bool
        Each analog matrix product also computes the float network's product of the same
        inputs for the per-layer diagnosis's error (``rel_rms``, ``snr_db``): one float
        product per call, the float inference's own cost again. On by default (results.json
        always carries it); ``False`` leaves those two columns empty (benchmarks time both).
    threads : int, optional
        Threads reading a matrix's row tiles (surrogate mode; the results are those of one
        thread, bit for bit): each reads every tile over its own range of the input vectors
        (:mod:`.vector_split`), or, where the vectors are few, each reads one tile at a time.
        Default: the CPUs this process may run on.
    program_cache : path or ProgramCache, optional
        An HDF5 file of the arrays' IR-drop transfer matrices (:mod:`.program_cache`): those
        already in it are read instead of solved (the same results, bit for bit), new ones
        are added at the end of :meth:`calibrate`. Checked here; none by default.

    ``records`` holds the source record (:mod:`.provenance`) of every table the spec reads,
    by spec field (``adc.energy.6``, ``sense.energy``, ...); ``adc_energy`` / ``adc_time``
    the characterized J / s per conversion by resolution.
    """

    def __init__(self, spec, library: dict | None = None, seed: int | None = None, cell=None,
                 float_reference: bool = True, threads: int | None = None, program_cache=None):
        super().__init__()
        self.float_reference = bool(float_reference)
        self.threads = max(1, int(threads)) if threads is not None else available_cpus()
        spec = load_system_spec(spec)
        if seed is not None:
            spec = spec.updated({"seed": int(seed)})
        self.spec: SystemSpec = spec
        self.surrogates = library if library is not None else load_spec_library(spec)
        self.library, self._tables = at_operating_point(self.surrogates, spec)
        self._check_library()
        self.records = {field: self._record(field, key) for field, key in spec.library_keys() if key in self.library}
        # block records (areas) come from the spec's library file, also when its tables were given
        # already loaded; an in-memory library without a file has none
        on_disk = library is None or (spec.library is not None and os.path.isfile(spec.library))
        self.blocks = BlockFigures.read(spec, self.library, load_spec_blocks(spec) if on_disk else {},
                                        self._record_at)
        self.records.update(self.blocks.records)
        self.adc_energy, self.adc_time = dict(self.blocks.adc_energy), dict(self.blocks.adc_time)
        self._check_operating_point()
        self.cell = cell if cell is not None else self._cell()
        self.sense = self.blocks.sense or sense_from_spec(spec.sense, self.library)
        self._pool_range: dict = {}   # input range of each circuit-pooling layer (calibration)
        # circuit-pooling layer -> area (m^2) of its per-window circuits, one per window of
        # one inference, all evaluated at once; layers run in turn and share them; and the
        # source record of that area
        self.pool_area: dict = {}
        self.pool_area_source: dict = {}
        self.ledger = Ledger()
        self.rng = np.random.default_rng([spec.seed, 1])
        self.calibrating = False
        self._solvers: dict = {}
        self._adcs: dict = {}
        self.program_cache = program_cache if program_cache is None or isinstance(program_cache, ProgramCache) \
            else ProgramCache(program_cache)

    # ------------------------------------------------------------------ construction
    def _require(self, field: str, key: str | None) -> None:
        if key not in self.library:
            known = ", ".join(sorted(self.library)) or "none"
            corners = corners_of(self.library, key) if key else []
            hint = f"; it has {key!r} at corners {', '.join(corners)}: choose one with `corner:` " \
                   "(cimspice simulate --corner)" if corners else ""
            raise SimError(f"{self.spec.source}: {field}: surrogate {key!r} is not in the library "
                           f"{self.spec.library} (it has: {known}){hint}")

    def _record(self, field: str, key: str) -> dict:
        """The source record of the table read for ``key`` (spec ``field``)."""
        at = self.spec.adc.energy_at if field.startswith(("adc.energy.", "adc.time.")) else None
        return table_record(self.spec, field, key, self.library[key], self._tables.get(key, key), at)

    def _record_at(self, field: str, key: str, at: dict) -> dict:
        return table_record(self.spec, field, key, self.library[key], self._tables.get(key, key), at)

    def _check_operating_point(self) -> None:
        """Every ``operating_point`` name is an input of some table of the library (a misspelt
        one would otherwise be ignored; one that only a block the spec does not use now
        takes, e.g. the driver's ``c_row`` with DAC inputs, is allowed)."""
        if not self.spec.operating_point:
            return
        inputs = table_inputs(self.library) | {"temp"}      # a lazy library's without parsing them
        stray = sorted(set(self.spec.operating_point) - inputs)
        if stray:
            close = difflib.get_close_matches(stray[0], sorted(inputs), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise SimError(f"{self.spec.source}: operating_point: {stray[0]!r} is not an input of any table of the "
                           f"library {self.spec.library}{hint}")

    def _check_library(self) -> None:
        s = self.spec
        if s.array.cell == "surrogate":
            self._require("array.surrogate", s.array.surrogate)
        if s.adc.type == "surrogate":
            self._require("adc.surrogate", s.adc.surrogate)
        if s.sense.type == "surrogate":
            self._require("sense.surrogate", s.sense.surrogate)
            if s.sense.energy is not None:
                self._require("sense.energy", s.sense.energy)
        for what in ("energy", "time"):     # their values: BlockFigures.read, with the blocks'
            for bits, key in getattr(s.adc, what).items():
                self._require(f"adc.{what}.{bits}", key)

    def conversion_time(self, bits) -> float:
        """s per conversion of one ADC at ``bits``: characterized (``adc.time``) or cited."""
        return self.adc_time.get(bits, costs.ADC_CONVERSION_TIME)

    def _check_energy_unit(self, field: str, surrogate) -> None:
        self._check_unit(field, surrogate, "J", "an energy (J)")

    def _check_unit(self, field: str, surrogate, unit: str, what: str) -> None:
        """The surrogate's first output is in ``unit`` (or unitless)."""
        given = (list(getattr(surrogate, "output_units", [unit])) or [unit])[0]
        if given not in ("", unit):
            raise SimError(f"{self.spec.source}: {field}: {surrogate.name} gives {given}, not {what}")

    def _cell(self):
        a, n = self.spec.array, self.spec.nonidealities
        if not n.cell_nonlinearity or a.cell == "linear":
            return LinearCell()
        if a.cell == "sinh":
            return SinhCell(a.v0)
        surrogate = self.library[a.surrogate]
        try:
            cell = SurrogateCell(surrogate, fixed=a.fixed, out_of_domain=a.out_of_domain)
        except SimError as error:
            raise SimError(f"{self.spec.source}: array.fixed: {error}") from None
        lo, hi = surrogate.domain.get(cell.v_input, (-np.inf, np.inf))
        if a.v_read > hi or lo > 0:
            raise SimError(f"{self.spec.source}: array.v_read: {a.v_read:g} V is outside the cell surrogate's "
                           f"characterized {cell.v_input} range [{lo:g}, {hi:g}] V")
        return cell

    def solver(self, rows: int, cols: int, exact: bool = False) -> CrossbarSolver:
        """The crossbar solver for an array of this size (cached)."""
        n = self.spec.nonidealities
        key = (rows, cols, exact)
        if key not in self._solvers:
            r = n.r_wire if n.ir_drop else 0.0
            self._solvers[key] = CrossbarSolver(rows, cols, r_wire=r, cell=self.cell if exact else None)
        return self._solvers[key]

    def adc(self, bits):
        if bits not in self._adcs:
            inl = self.blocks.adc_inl.get(bits)
            if inl is not None and isinstance(self.sense, SurrogateSense):
                inl = mirrored_inl(inl)
            self._adcs[bits] = MeasuredAdc(bits, inl) if inl is not None else \
                adc_from_spec(self.spec.adc, bits, self.library)
        return self._adcs[bits]

    # ---------------------------------------------------------------- network level
    def prepare(self, network) -> list:
        """Check that ``network`` fits this accelerator (tiling, library); returns the plans.
        Raises :class:`SimError` before any work."""
        plans = [plan_matrix(name, *W.shape, self.spec) for name, W in network.matrices().items()]
        if self.spec.nonlinear.where == "reram_array":
            for kind in sorted(nonlinear_kinds(network) - {"relu"}):
                key = self.spec.nonlinear.surrogates.get("exp" if kind == "softmax" else kind)
                if key is None:
                    raise SimError(f"{self.spec.source}: nonlinear.surrogates: network {network.name!r} needs a "
                                   f"ReRAM-array surrogate for {kind!r}; none named")
                self._require(f"nonlinear.surrogates.{kind}", key)
                e_key = self.spec.nonlinear.energy.get("exp" if kind == "softmax" else kind)
                if e_key is not None:
                    self._require(f"nonlinear.energy.{kind}", e_key)
                    s = self.library[e_key]
                    if len(s.inputs) != 1:
                        raise SimError(f"{self.spec.source}: nonlinear.energy.{kind}: {e_key!r} must map the "
                                       f"pre-activation to an energy (J); has inputs {list(s.inputs)}")
                    self._check_energy_unit(f"nonlinear.energy.{kind}", s)
        if self.spec.nonlinear.max_pooling == "wta":
            self._check_wta(network)
        return plans

    def _check_wta(self, network) -> None:
        """The winner-take-all surrogates exist, take (v_max, d_1 ..) for every max-pooling
        window of ``network``, and the energy one gives J."""
        nl = self.spec.nonlinear
        windows = sorted({layer.k ** 2 for layer in _layers(network) if isinstance(layer, MaxPool2d)})
        for field in ("max_pooling_error", "max_pooling_energy"):
            key = getattr(nl, field)
            self._require(f"nonlinear.{field}", key)
            s = self.library[key]
            for n in windows:
                want = ["v_max"] + [f"d_{i}" for i in range(1, n)]
                if list(s.inputs) != want:
                    raise SimError(f"{self.spec.source}: nonlinear.{field}: {key!r} has inputs {list(s.inputs)}; a "
                                   f"{n}-input max-pooling window needs {want} (circuit max_pool, inputs: gaps, "
                                   f"window: {n})")
        self._check_energy_unit("nonlinear.max_pooling_energy", self.library[nl.max_pooling_energy])
        self._check_unit("nonlinear.max_pooling_error", self.library[nl.max_pooling_error], "V",
                         "a voltage error (V)")

    def calibrate(self, network, x) -> None:
        """Program every matrix and set input and ADC ranges from inputs ``x`` (a forward pass
        in float records what each matrix sees). NaN or inf in ``x`` is refused: one would
        set a range to inf or NaN and read every later input as zero."""
        require_finite(x, "x_calibration", SimError)
        self.prepare(network)
        self.calibrating = True
        try:
            network.forward(x, self)          # programs every matrix on first use
        except BaseException:
            if self.program_cache is not None:
                self.program_cache.discard()
            raise
        finally:
            self.calibrating = False
        if self.program_cache is not None:
            self.program_cache.flush()
        for m in self._matvecs.values():
            m.calibrate()
        self.ledger.clear()

    # ------------------------------------------------------------- backend interface
    def make_matvec(self, name, W):
        return AnalogMatrix(name, W, self)

    def make_nonlinearity(self, name, kind):
        nl = self.spec.nonlinear
        if nl.where == "reram_array" and kind != "relu":
            k = "exp" if kind == "softmax" else kind
            energy = self.library[nl.energy[k]] if k in nl.energy else None
            return _SurrogateNonlinearity(name, kind, self, self.library[nl.surrogates[k]], energy)
        return _CountedNonlinearity(name, kind, self)

    def act_matmul(self, name, A, B):
        if not self.calibrating:
            self.ledger.add(name, "digital:mac", int(np.prod(A.shape[:-1])) * B.shape[-1] * A.shape[-1])
        return np.matmul(A, B)

    def digital(self, name, op, count):
        if not self.calibrating:
            self.ledger.add(name, f"digital:{op}", int(count))

    def pool(self, name, kind, x, k):
        if kind == "avg" and self.spec.nonlinear.avg_pooling == "reram_array":
            return self._array_avg_pool(name, x, k)
        if kind == "max" and self.spec.nonlinear.max_pooling == "wta":
            return self._wta_max_pool(name, x, k)
        y = super().pool(name, kind, x, k)
        if not self.calibrating:
            self.ledger.add(name, "pool_compare" if kind == "max" else "digital:add", x.size)
        return y

    def _array_avg_pool(self, name, x, k):
        """Average pooling on one column of equal cells per window: inputs as row voltages up
        to ``POOL_V_MAX`` (the layer's range, calibrated), the column current through the
        cell's read law ``g v0 sinh(v/v0)`` divided by ``k^2 g`` (the circuit's pooled value,
        sinh curvature included), and the cells' energy ``sum V I t_read``."""
        if self.calibrating:
            self._pool_range[name] = max(self._pool_range.get(name, 0.0), float(np.max(np.abs(x))))
            return super().pool(name, "avg", x, k)
        full = self._pool_range.get(name) or float(np.max(np.abs(x))) or 1.0
        v = np.clip(x / full, -1.0, 1.0) * costs.POOL_V_MAX
        a = self.spec.array
        if self.spec.nonidealities.cell_nonlinearity and a.cell != "linear":  # as the arrays' cells
            i_cell = a.v0 * np.sinh(v / a.v0)                              # current per unit g
        else:
            i_cell = v
        y = super().pool(name, "avg", i_cell, k) / costs.POOL_V_MAX * full  # I / (k^2 g), back to units
        led = self.ledger
        led.add(name, "pool_array_energy", float(np.sum(v * i_cell)) * costs.POOL_CELL_G * costs.POOL_T_READ)
        led.add(name, "pool_array_drives", int(np.count_nonzero(v)))
        windows = v.size // (k * k * len(v))
        unit = (self.spec.array.cell_area or costs.CELL_AREA) + costs.dac_area(1)   # one cell and its driver
        cell = "array.cell_area" if self.spec.array.cell_area else "costs.CELL_AREA"
        self.pool_area[name] = windows * k * k * unit
        self.pool_area_source[name] = costs.Cited(unit, costs.ISAAC, f"{cell} + costs.DAC1_AREA",
                                                  f"x {k * k} per window").record()
        # the windows' columns read in parallel: one read of the pooling arrays per inference
        led.add(name, "time:pool_avg", costs.POOL_T_READ)
        return y

    def _wta_max_pool(self, name, x, k):
        """Max pooling on one source-follower winner-take-all per window: the layer's
        calibrated range onto the circuit's input range (the ``v_max`` domain of its error
        surrogate), the pooled voltage ``max + error(v_max, d_1 ..)`` with the gaps of the
        other inputs sorted (the followers are identical) and capped at the surrogate's
        domain (a follower that far below is off), back to the layer's units; the
        circuits' energy from their surrogate."""
        if self.calibrating:
            lo, hi = self._pool_range.get(name, (np.inf, -np.inf))
            self._pool_range[name] = (min(lo, float(np.min(x))), max(hi, float(np.max(x))))
            return super().pool(name, "max", x, k)
        nl = self.spec.nonlinear
        error, energy = self.library[nl.max_pooling_error], self.library[nl.max_pooling_energy]
        x_lo, x_hi = self._pool_range.get(name) or (float(np.min(x)), float(np.max(x)))
        if not x_hi > x_lo:
            x_hi = x_lo + 1.0
        v_lo, v_hi = error.domain["v_max"]
        N, C, H, W = x.shape
        win = pool_windows(name, x, k).transpose(0, 1, 2, 4, 3, 5).reshape(-1, k * k)
        v = v_lo + (v_hi - v_lo) * np.clip((win - x_lo) / (x_hi - x_lo), 0.0, 1.0)
        v = -np.sort(-v, axis=1)                                   # v[:, 0] the maximum
        gaps = {"v_max": v[:, 0]}
        for i in range(1, k * k):
            gaps[f"d_{i}"] = np.minimum(v[:, 0] - v[:, i], error.domain[f"d_{i}"][1])
        y_v = v[:, 0] + np.ravel(error.predict(gaps, out_of_domain="clip"))
        y = x_lo + (y_v - v_lo) / (v_hi - v_lo) * (x_hi - x_lo)
        led = self.ledger
        led.add(name, "pool_wta_energy", float(np.sum(energy.predict(gaps, out_of_domain="clip"))))
        led.add(name, "time:pool_wta", costs.POOL_WTA_T_EVAL)
        self.pool_area[name] = len(win) // N * (k * k + 3) * costs.POOL_WTA_DEVICE_AREA
        self.pool_area_source[name] = costs.POOL_WTA_DEVICE_AREA.record()
        return y.reshape(N, C, H // k, W // k)

    @property
    def matrices(self) -> dict:
        """Programmed matrices by name (after :meth:`calibrate`)."""
        return dict(self._matvecs)
