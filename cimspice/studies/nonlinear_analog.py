"""The analog field-programmable alternative of the ``reprogrammable-nonlinear`` study: a
differential pair (:class:`cimspice.circuits.diff_pair.DiffPairActivation`) programmed as
sigmoid or tanh by its input gain, characterized in ngspice and fitted into surrogates the
system simulator runs like the PWL unit's."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..characterize import parse_sweep_spec, run_sweep
from ..circuits.diff_pair import SHAPES, DiffPairActivation
from ..circuits.nonlinear import FUNCTIONS, ideal
from ..surrogate import fit_surrogates
from .provenance import fitted

__all__ = ["characterize", "rms_error"]

PROBE_GAIN = 0.1   # V per unit: tanh's range [-4, 4] spans v_d of +-0.4 V, the pair fully steered
V_D_MAX = 0.4      # V, the widest v_d the probe measured


def rms_error(model, function: str, points: int = 801) -> float:
    """RMS of ``model``'s output minus ``function`` over its range (function units)."""
    lo, hi = FUNCTIONS[function][1]
    x = np.linspace(lo, hi, points)
    y = np.asarray(model.predict(x.reshape(-1, 1)), float).reshape(-1)
    return float(np.sqrt(np.mean((y - ideal(function, x)) ** 2)))


def _gain(function: str, vd: np.ndarray, t: np.ndarray) -> float:
    """The input gain (V per unit) whose transfer, read off the probe's measured tanh-shaped
    curve ``t`` at ``vd`` (V), is closest (rms) to ``function`` over its range."""
    lo, hi = FUNCTIONS[function][1]
    x = np.linspace(lo, hi, 201)
    target = ideal(function, x)
    gains = np.linspace(0.002, V_D_MAX / max(abs(lo), abs(hi)), 400)

    def err(g):
        y = np.interp(g * x, vd, t)
        return np.sqrt(np.mean(((y if function == "tanh" else 0.5 * (1 + y)) - target) ** 2))
    return float(gains[np.argmin([err(g) for g in gains])])


def characterize(functions, points: int, tmp: Path, engine) -> tuple[dict, dict, dict, dict]:
    """For each of ``functions`` a differential pair can compute: its gain programmed from a
    probe sweep, then ``points`` ngspice transients over the function's range fitted into
    ``dp_<f>.y``, ``dp_<f>.energy`` (grid-cubic), ``dp_<f>.latency`` (grid-linear). Returns (surrogates, gain per
    function, mean energy per evaluation (J), slowest latency (s))."""
    fs = [f for f in functions if f in SHAPES]
    if not fs:
        return {}, {}, {}, {}
    probe = DiffPairActivation("tanh", gain=PROBE_GAIN)
    probe.load(engine)
    xs = np.linspace(-4.0, 4.0, 41)
    t = np.array([probe.simulate(engine, {"x": float(x)}).values["y"] for x in xs])
    library, gains, energy, latency = {}, {}, {}, {}
    for f in fs:
        gains[f] = _gain(f, PROBE_GAIN * xs, t)
        lo, hi = FUNCTIONS[f][1]
        spec = parse_sweep_spec({"circuit": "diff_pair_activation", "circuit_args": {"function": f, "gain": gains[f]},
                                 "design": "list", "parameters": {"x": [float(v) for v in np.linspace(lo, hi, points)]},
                                 "outputs": ["y", "energy", "latency"]})
        run_sweep(spec, tmp / f"dp_{f}.h5", executor="inline", progress=False)
        for outputs, model in ((["y", "energy"], "grid-cubic"), (["latency"], "grid-linear")):
            # latency jumps to 0 where the output stays in band (x near 0): linear, so its max is a sample's
            library.update(fitted(fit_surrogates(tmp / f"dp_{f}.h5", outputs, models=[model],
                                                 name_template=f"dp_{f}.{{output}}")))
        grid = np.linspace(lo, hi, 101).reshape(-1, 1)
        energy[f] = float(np.mean(library[f"dp_{f}.energy"].predict(grid)))
        latency[f] = float(np.max(library[f"dp_{f}.latency"].predict(grid)))
    return library, gains, energy, latency
