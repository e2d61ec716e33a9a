"""Study ``reprogrammable-nonlinear``: de Moura & Carro (ACM TRETS 2023) on our circuits.

The same ReRAM arrays that multiply are reprogrammed as the network's nonlinearities. The
paper reports up to 8.5x over analog and digital field-programmable approaches on CNN, LSTM
and GPT models. Here, in one run:

1. ngspice characterizes the PWL ReRAM function unit (:class:`cimspice.circuits.PwlUnit`,
   docs/nonlinear.md) programmed as each function the networks need: its DC transfer over
   the input range (both sides of every breakpoint), fitted into a surrogate, and its
   energy per evaluation from the transient with the comparator bank, fitted against the
   input; and the digital lookup-table baseline (:class:`cimspice.circuits.LutActivation`:
   flash quantiser, decoder, NOR ROM on the same 45 nm cards) for its energy per lookup;
2. the system simulator runs the shipped LSTM, GPT and CNN with their nonlinearities
   (a) on digital units at the simulator's cited price (ISAAC's sigmoid unit), (b) on the
   reprogrammed arrays, transfer and energy from the surrogates, (c) on the lookup tables,
   the table's own quantised transfer and its measured energy. ReLU stays a digital compare
   in every case (an array evaluating it costs more than the compare; docs/nonlinear.md).
   The CNN also runs with its max pooling on the winner-take-all circuit
   (:class:`cimspice.circuits.pooling.MaxPool`, characterized here); the LSTM also on the
   analog alternative, a differential pair (:mod:`.nonlinear_analog`).

Characterization: :mod:`.nonlinear_units` (the lookup tables' transients in a second process
while the rest runs); report: :mod:`.nonlinear_report`.
"""

from __future__ import annotations

import contextlib
import logging
import tempfile
import time
from pathlib import Path

import numpy as np

from ..circuits import LutActivation
from ..paths import default_library_path
from ..sim.spec import load_system_spec
from ..spice import get_engine
from ..surrogate import load_library as load_plain_library
from ..surrogate import save_library
from . import nonlinear_analog as analog
from .nonlinear_report import ARRAY, DIFF_PAIR, LUT, plot_errors, write_report
from .nonlinear_units import (
    LutModel,
    cancel_lut_runs,
    characterize_pwl,
    characterize_wta,
    finish_lut_runs,
    start_lut_runs,
)
from .provenance import collected, costs, fitted, load_library, simulate

__all__ = ["run"]

log = logging.getLogger(__name__)

NETWORK_FUNCTIONS = {"lstm": ("sigmoid", "tanh"), "gpt": ("gelu", "exp"), "cnn": ()}
DEFAULT = dict(segments=16, networks=("lstm", "gpt", "cnn"), samples={"lstm": None, "gpt": 16, "cnn": None},
               dc_per_segment=8, energy_points=7, lut_bits=6, lut_points=3, dp_points=33)
QUICK = dict(segments=8, networks=("lstm",), samples={"lstm": 60}, dc_per_segment=4, energy_points=5, lut_bits=4,
             lut_points=1, dp_points=17)
LUT_WORDS = "computed in this run from the lookup tables' stored words (their transfer, ideal comparators)"


def _system(tmp: Path, library: dict) -> tuple:
    """The realistic system the networks run on: ``baseline`` (1T1R cells, word-line drivers,
    SAR ADCs, all from the shipped component library) with this run's PWL, pair and WTA
    tables beside the library's; returns ``(spec, tables)``."""
    save_library(tmp / "library.h5", library)      # this run's surrogates as a system would load them
    shipped = load_library(default_library_path())
    return load_system_spec("baseline"), {**shipped.tables, **load_plain_library(tmp / "library.h5")}


def _tie_error(wta: dict) -> tuple[float, float]:
    """The winner-take-all's error at a 4-way tie (V) at the middle of its input range, and
    that range (V): what a ReLU layer's zeros tying in a window cost."""
    s = wta["wta.error"]
    lo, hi = s.domain["v_max"]
    point = {"v_max": [0.5 * (lo + hi)], **{f"d_{i}": [0.0] for i in (1, 2, 3)}}
    return float(np.ravel(s.predict(point))[0]), hi - lo


def _unit_energy(events: dict, lut_e: dict | None) -> float:
    """Energy of the function evaluations alone (J per inference) from a run's ``events``:
    the table's energy per lookup ``lut_e`` (per function; softmax evaluates exp) times its
    lookups when given, else the characterized units' summed surrogate energy, else the
    cited digital price times the array's evaluations (a table before its re-pricing), else
    times the digital units' evaluations."""
    arr = {k.split(":", 1)[1]: c for k, c in events.items() if k.startswith("array_nonlinear:")}
    if lut_e is not None:
        return float(sum(c * lut_e["exp" if k == "softmax" else k] for k, c in arr.items()))
    measured = [e for k, e in events.items() if k.startswith("nonlinear_energy:")]
    if measured:
        return float(sum(measured))
    digital = sum(c for k, c in events.items() if k.startswith("nonlinear:"))
    return float((sum(arr.values()) if arr else digital) * costs.NONLINEAR_ENERGY)


def _mode_rows(modes: dict, lut_e: dict) -> dict:
    """Per mode: metric (its name, the float network's, the samples), nonlinear energy (the
    LUT's measured energy per lookup in place of the unit's cited price), of it the function
    evaluations' own (``unit``, J), total energy, evaluations."""
    rows = {}
    for mode, r in modes.items():
        e_nl = r.costs.energy["nonlinear"]
        unit = _unit_energy(r.costs.events, lut_e if mode == LUT else None)
        if mode == LUT:  # the table's measured energy per lookup, not the unit's price
            e_nl += unit - _unit_energy(r.costs.events, None)
        total = r.costs.total_energy - r.costs.energy["nonlinear"] + e_nl
        rows[mode] = {"metric": r.analog_metric, "float": r.float_metric, "metric_name": r.metric,
                      "samples": r.n_samples, "nonlinear": e_nl, "total": total, "unit": unit,
                      "share": r.costs.characterized_fraction()["energy"],
                      "evaluations": sum(c for k, c in r.costs.events.items() if "nonlinear" in k
                                         and not k.startswith("nonlinear_energy"))}
    return rows


def _modes(net: str, base, library: dict, n) -> dict:
    """The network ``net`` on ``base`` with its nonlinearities on each unit: mode -> result."""
    fs = NETWORK_FUNCTIONS[net]
    modes = {"digital unit": simulate(base, net, n_samples=n, library=library)}
    # on arrays: the functions on PWL units, average pooling on equal-conductance columns
    reram = base.updated({"nonlinear": {"where": "reram_array" if fs else "digital",
                                        "surrogates": {f: f"pwl_{f}.y" for f in fs},
                                        "energy": {f: f"pwl_{f}.energy" for f in fs},
                                        "avg_pooling": "reram_array"}})
    modes[ARRAY] = simulate(reram, net, n_samples=n, library=library)
    if net == "cnn":  # and max pooling on the source-follower winner-take-all
        wta = reram.updated({"nonlinear": {"max_pooling": "wta", "max_pooling_error": "wta.error",
                                           "max_pooling_energy": "wta.energy"}})
        modes["ReRAM arrays + WTA max pooling"] = simulate(wta, net, n_samples=n, library=library)
    if fs:
        lut = base.updated({"nonlinear": {"where": "reram_array", "surrogates": {f: f"lut_{f}.y" for f in fs}}})
        modes[LUT] = simulate(lut, net, n_samples=n, library=library)
    if fs and all(f"dp_{f}.y" in library for f in fs):   # a differential pair has sigmoid's and tanh's shape only
        pair = base.updated({"nonlinear": {"where": "reram_array", "surrogates": {f: f"dp_{f}.y" for f in fs},
                                           "energy": {f: f"dp_{f}.energy" for f in fs}}})
        modes[DIFF_PAIR] = simulate(pair, net, n_samples=n, library=library)
    return modes


@contextlib.contextmanager
def _stage(stages: dict, name: str):
    t0 = time.perf_counter()
    yield
    stages[name] = time.perf_counter() - t0
    log.info("reprogrammable-nonlinear: %s in %.0f s", name, stages[name])


def _characterize_and_simulate(cfg, functions, tmp: Path, progress, stages) -> tuple:
    """Every ngspice characterization of the main process and every network simulation:
    (library, PWL energy and latency, the pair's figures, WTA surrogates, mode results per network)."""
    with _stage(stages, "PWL units: ngspice sweeps and fits"):
        library, pwl_e, pwl_t = characterize_pwl(functions, cfg, tmp, progress)
    with _stage(stages, "differential pairs: ngspice and fits"):
        dp_library, *dp = analog.characterize(functions, cfg["dp_points"], tmp, get_engine())
    library.update(dp_library)
    wta = {}
    if "cnn" in cfg["networks"]:
        with _stage(stages, "winner-take-all: ngspice grid and fit"):
            wta = characterize_wta(tmp)
    library.update(wta)
    base, library = _system(tmp, library)
    tables = {f: LutModel(LutActivation(f, address_bits=cfg["lut_bits"])) for f in functions}
    library.update(fitted({m.name: m for m in tables.values()}, LUT_WORDS))   # NumPy models: in memory only
    modes = {}
    for net in cfg["networks"]:
        with _stage(stages, f"{net}: system simulations"):
            modes[net] = _modes(net, base, library, cfg["samples"].get(net))
    return library, pwl_e, pwl_t, dp, wta, modes


@collected
def run(out_dir, quick: bool = False, progress: bool | None = None) -> Path:
    t0 = time.perf_counter()
    cfg = QUICK if quick else DEFAULT
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    functions = sorted({f for n in cfg["networks"] for f in NETWORK_FUNCTIONS[n]})
    stages: dict = {}
    luts = start_lut_runs(functions, cfg["lut_bits"], cfg["lut_points"])   # needed only for the prices
    try:
        with tempfile.TemporaryDirectory() as name:
            library, pwl_e, pwl_t, dp, wta, modes = _characterize_and_simulate(cfg, functions, Path(name), progress,
                                                                               stages)
    except BaseException:
        cancel_lut_runs(luts)
        raise
    with _stage(stages, "waiting for the lookup tables"):
        lut_e, lut_t, lut_seconds = finish_lut_runs(luts)
    stages["lookup tables: ngspice transients (second process, concurrent)"] = lut_seconds
    results = {net: _mode_rows(m, lut_e) for net, m in modes.items()}
    error_png = plot_errors(library, functions, cfg, out)
    errors = {f: {k: analog.rms_error(library[f"{k}_{f}.y"], f) for k in ("pwl", "lut", "dp")
                  if f"{k}_{f}.y" in library} for f in functions}
    return write_report(out, cfg, functions, results, {"pwl": pwl_e, "lut": lut_e}, {"pwl": pwl_t, "lut": lut_t},
                        wta and _tie_error(wta), error_png, time.perf_counter() - t0,
                        dict(zip(("gain", "energy", "latency"), dp), errors=errors), stages)
