"""ngspice characterization of the ``reprogrammable-nonlinear`` study's function units: the PWL
ReRAM unit (DC transfer, energy and latency per evaluation, fitted into surrogates), the
lookup-table baseline (energy and latency per lookup; its transfer is its stored words) and
the winner-take-all max pooling.

The PWL unit's DC transfer is measured with one ``.dc`` sweep per segment over its uniformly
spaced inputs (the segment selected as an ideal comparator bank selects it, as
:meth:`cimspice.circuits.PwlUnit.transfer` does) and an operating point on each side of every
breakpoint: a third of the time of an operating point per input (ngspice 39 re-orders the
matrix on every one), at ``reltol`` 1e-5 so that the sweep agrees with the operating points to 4e-6 of
the output range (at the default 1e-3 a sweep through B-sources is off by up to 7e-4).

The lookup tables' transients (a third of the run's ngspice time, and needed only for the
report's prices, not by the network simulations) run in a process of their own while the
PWL units are characterized and the networks simulated: :func:`start_lut_runs` /
:func:`finish_lut_runs`.
"""

from __future__ import annotations

import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from .. import CimspiceError
from ..characterize import parse_sweep_spec, run_sweep
from ..circuits import LutActivation, PwlUnit
from ..spice import get_engine
from ..surrogate import fit_surrogates
from ..surrogate.sweep import SweepData
from . import StudyError
from .provenance import collecting, current, fitted

__all__ = ["LutModel", "cancel_lut_runs", "characterize_pwl", "characterize_wta", "dc_transfer", "finish_lut_runs",
           "lut_runs", "start_lut_runs"]


class LutModel:
    """The lookup table's transfer (its stored words, ideal comparators) behind the
    simulator's surrogate protocol: one input ``x``, one output."""

    def __init__(self, lut: LutActivation):
        self.lut, self.name = lut, f"lut_{lut.function}.y"
        self.inputs, self.outputs = ["x"], ["y"]
        self.input_units, self.output_units = ["1"], ["1"]
        self.domain = {"x": (lut.x_min, lut.x_max)}

    def predict(self, X, out_of_domain="clip"):
        x = np.clip(np.asarray(X, float).reshape(-1), self.lut.x_min, self.lut.x_max)
        return self.lut.predict(x)


def characterize_pwl(functions, cfg: dict, tmp: Path, progress) -> tuple[dict, dict, dict]:
    """The PWL unit at ``cfg["segments"]`` programmed as each of ``functions``: its DC transfer
    (``cfg["dc_per_segment"]`` points per segment and both sides of every breakpoint) fitted
    into ``pwl_<f>.y``, energy and latency per evaluation (``cfg["energy_points"]`` transients)
    into ``pwl_<f>.energy`` / ``.latency``. Returns (surrogates, mean energy per evaluation
    (J), slowest latency (s)) per function."""
    library, energy, latency = {}, {}, {}
    S = cfg["segments"]
    bar = tqdm(list(functions), desc="PWL units in ngspice", unit="function",
               disable=None if progress is None else not progress)
    engine = get_engine()
    for f in bar:
        bar.set_postfix(function=f)
        unit = PwlUnit(f, S, timing=False)
        lo, hi = unit.program_.x_min, unit.program_.x_max
        dc = dc_transfer(unit, engine, cfg["dc_per_segment"])
        library.update(fitted(fit_surrogates(dc, ["y"], name_template=f"pwl_{f}.{{output}}")))
        spec = parse_sweep_spec({"circuit": "pwl_unit", "circuit_args": {"function": f, "segments": S},
                                 "design": "list",
                                 "parameters": {"x": [float(v) for v in np.linspace(lo, hi, cfg["energy_points"])]},
                                 "outputs": ["energy", "latency"]})
        run_sweep(spec, tmp / f"{f}_energy.h5", executor="inline", progress=False)
        library.update(fitted(fit_surrogates(tmp / f"{f}_energy.h5", models=["grid-linear", "poly-4"],
                                             name_template=f"pwl_{f}.{{output}}")))
        grid = np.linspace(lo, hi, 101).reshape(-1, 1)
        energy[f] = float(np.mean(library[f"pwl_{f}.energy"].predict(grid)))
        latency[f] = float(np.max(library[f"pwl_{f}.latency"].predict(grid)))   # the clock waits for the slowest
    return library, energy, latency


def dc_transfer(unit: PwlUnit, engine, per_segment: int) -> SweepData:
    """``unit``'s (built with ``timing=False``) DC transfer ``y`` at its
    :meth:`~cimspice.circuits.PwlUnit.sweep_points`: ``per_segment`` uniform inputs per segment
    by one ``.dc`` sweep each, both sides of every breakpoint by an operating point (module
    docstring), as a list sweep of input ``x`` for :func:`cimspice.surrogate.fit_surrogates`."""
    p = unit.program_
    xs = unit.sweep_points(per_segment)
    uniform = np.linspace(p.x_min, p.x_max, per_segment * unit.segments + 1)
    on_grid = np.isin(xs, uniform)
    v = p.v_of_x(xs)
    step = float(p.v_of_x(uniform[1]) - p.v_of_x(uniform[0]))
    y = np.full(xs.size, np.nan)
    unit.load(engine)
    engine.set_options(reltol=1e-5)
    vectors = ["i(vcolp)", "i(vcoln)"]
    for k in np.unique(unit.segment_of(v)):
        unit.select(engine, int(k))
        here = unit.segment_of(v) == k
        sweep, single = np.flatnonzero(here & on_grid), np.flatnonzero(here & ~on_grid)
        if sweep.size > 1:
            r = engine.dc("vin", float(v[sweep[0]]), float(v[sweep[-1]]) + step / 2, step, vectors + ["v-sweep"])
            if not np.allclose(r["v-sweep"], v[sweep], rtol=0, atol=1e-9):
                raise StudyError(f"{unit.name}: the .dc sweep of segment {k} did not step through its inputs")
            y[sweep] = unit.output_current(r)
        else:
            single = np.r_[single, sweep]
        for i in single:
            engine.alter("vin", float(v[i]))
            y[i] = unit.output_current(engine.op(vectors))[0]
    units = {q.name: q.unit for q in (*unit.parameters, *unit.measurements)}
    return SweepData(inputs={"x": xs}, outputs={"y": y / p.i_per_y}, input_units={"x": units["x"]},
                     output_units={"y": units["y"]}, input_scales={"x": "linear"}, design="list",
                     n_planned=xs.size, attrs={"circuit": unit.name}, point_index=np.arange(xs.size))


def lut_runs(functions, address_bits: int, points: int) -> tuple[dict, object, float]:
    """The lookup table of each of ``functions`` at ``address_bits``: ``{f: (mean energy per
    lookup (J), slowest latency (s))}`` over ``points`` inputs inside its range, from ngspice
    transients; what the run read (:class:`.provenance.Sources`); its seconds. Runs in the
    calling process (the worker of :func:`start_lut_runs`)."""
    t0 = time.perf_counter()
    with collecting() as src:
        try:
            engine, out = get_engine(), {}
            for f in functions:
                lut = LutActivation(f, address_bits=address_bits)
                lut.load(engine)
                xs = np.linspace(lut.x_min, lut.x_max, points + 2)[1:-1]
                runs = [lut.simulate(engine, {"x": float(x)}).values for x in xs]
                out[f] = (float(np.mean([r["energy"] for r in runs])), float(np.max([r["latency"] for r in runs])))
        except CimspiceError as error:   # its subclasses' extra arguments do not cross processes
            raise StudyError(f"lookup-table transients: {error}") from None
    return out, src, time.perf_counter() - t0


def start_lut_runs(functions, address_bits: int, points: int):
    """:func:`lut_runs` started in a process of its own (a fresh ngspice: one per process);
    pass the handle to :func:`finish_lut_runs`."""
    pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"))
    return pool, pool.submit(lut_runs, list(functions), address_bits, points)


def finish_lut_runs(handle) -> tuple[dict, dict, float]:
    """Wait for :func:`start_lut_runs`; merge what its ngspice ran into this run's sources.
    Returns (energy per lookup (J), latency (s)) per function and the worker's seconds."""
    pool, future = handle
    try:
        out, src, seconds = future.result()
    finally:
        pool.shutdown()
    if current() is not None:
        current().merge(src)
    return {f: e for f, (e, _) in out.items()}, {f: t for f, (_, t) in out.items()}, seconds


def cancel_lut_runs(handle) -> None:
    """Drop :func:`start_lut_runs` after a failure elsewhere (a running transient finishes)."""
    handle[0].shutdown(wait=False, cancel_futures=True)


# Winner-take-all max pooling (MaxPool, inputs="gaps"): maxima up to 1.0 V (the servo clips
# near-ties above ~1.05 V), gaps dense below 50 mV where followers share the tail
# (docs/nonlinear.md: 0.2 mV rms on off-grid windows)
WTA_GAPS = [0.0, 0.01, 0.02, 0.035, 0.055, 0.08, 0.12, 0.18, 0.3]


def characterize_wta(tmp: Path) -> dict:
    """The 4-input winner-take-all over its maximum and the other inputs' gaps, error and
    energy fitted grid-cubic into ``wta.error`` / ``wta.energy``."""
    spec = parse_sweep_spec({"circuit": "max_pool", "circuit_args": {"window": 4, "inputs": "gaps"}, "design": "grid",
                             "parameters": {"v_max": {"start": 0.5, "stop": 1.0, "num": 3},
                                            **{f"d_{i}": WTA_GAPS for i in (1, 2, 3)}},
                             "outputs": ["error", "energy"]})
    run_sweep(spec, tmp / "wta.h5", executor="inline", progress=False)
    return fitted(fit_surrogates(tmp / "wta.h5", models=["grid-cubic"], name_template="wta.{output}"))
