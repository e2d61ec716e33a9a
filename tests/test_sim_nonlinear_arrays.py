"""The LSTM with its sigmoid and tanh on reprogrammable PWL ReRAM arrays: surrogates from
ngspice sweeps of the PWL unit (circuit pwl_unit), energy per evaluation from its transient."""

from __future__ import annotations

import numpy as np
import pytest

from cimspice.characterize import parse_sweep_spec, run_sweep
from cimspice.circuits.pwl_unit import PwlUnit
from cimspice.sim import SimError
from cimspice.sim.simulate import simulate
from cimspice.sim.spec import load_system_spec
from cimspice.surrogate import fit_surrogates, load_library, save_library

SEGMENTS = 8


def _sweep(tmp, function, xs, outputs, timing):
    spec = parse_sweep_spec({"circuit": "pwl_unit", "circuit_args": {"function": function, "segments": SEGMENTS,
                                                                    "timing": timing},
                             "design": "list", "parameters": {"x": [float(v) for v in xs]}, "outputs": outputs})
    path = tmp / f"{function}_{'t' if timing else 'dc'}.h5"
    run_sweep(spec, path, executor="inline", progress=False)
    return path


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("pwl")
    lib = tmp / "lib.h5"
    for f in ("sigmoid", "tanh"):
        xs = PwlUnit(f, SEGMENTS, timing=False).sweep_points(8)
        save_library(lib, fit_surrogates(_sweep(tmp, f, xs, ["y"], False), name_template=f"pwl_{f}.{{output}}"),
                     append=lib.exists())
    # energy per evaluation from the transient with the comparator bank, for tanh only
    # (sigmoid keeps the digital unit's price: both paths are exercised)
    xs = np.linspace(-4.0, 4.0, 5)
    save_library(lib, fit_surrogates(_sweep(tmp, "tanh", xs, ["energy"], True), models=["grid-linear", "poly-4"],
                                     name_template="pwl_tanh.{output}"), append=True)
    return lib


def _spec(library, energy=None):
    nonlinear = {"where": "reram_array", "surrogates": {"sigmoid": "pwl_sigmoid.y", "tanh": "pwl_tanh.y"}}
    if energy is not None:
        nonlinear["energy"] = energy
    return load_system_spec("ideal").updated({"nonlinear": nonlinear, "library": str(library)})


@pytest.mark.slow
def test_lstm_on_pwl_arrays_keeps_accuracy_and_prices_measured_energy(library):
    digital = simulate("ideal", "lstm", n_samples=120)
    arrays = simulate(_spec(library), "lstm", n_samples=120)
    measured = simulate(_spec(library, {"tanh": "pwl_tanh.energy"}), "lstm", n_samples=120)
    # 8 segments: the activations are within a few % of full scale; accuracy follows float
    assert abs(arrays.analog_metric - digital.analog_metric) <= 0.05
    assert measured.analog_metric == arrays.analog_metric        # pricing changes no result
    ev = measured.costs.events
    assert ev["array_nonlinear:tanh"] > 0 and ev["array_nonlinear:sigmoid"] > 0
    # the tanh evaluations' energy is the surrogate's over the inputs that occurred: each
    # evaluation between the surrogate's least and largest energy on its domain
    e = load_library(library)["pwl_tanh.energy"]
    grid = np.linspace(*e.domain["x"], 201).reshape(-1, 1)
    lo, hi = float(e.predict(grid).min()), float(e.predict(grid).max())
    per_eval = ev["nonlinear_energy:tanh"] / ev["array_nonlinear:tanh"]
    assert lo * (1 - 1e-9) <= per_eval <= hi * (1 + 1e-9)
    # what changed is only the tanh part of the nonlinear energy
    from cimspice.sim import costs
    expected = arrays.costs.energy["nonlinear"] - ev["array_nonlinear:tanh"] * costs.NONLINEAR_ENERGY \
        + ev["nonlinear_energy:tanh"]
    assert measured.costs.energy["nonlinear"] == pytest.approx(expected, rel=1e-9, abs=0)


def test_bad_nonlinear_energy_spec_fails_before_work(library):
    with pytest.raises(SimError, match="nonlinear.energy: 'gelu' has an energy surrogate but no surrogate"):
        _spec(library, {"gelu": "pwl_tanh.energy"})
    with pytest.raises(SimError, match="nonlinear.energy.tanh.*not in the library"):
        simulate(_spec(library, {"tanh": "missing.energy"}), "lstm", n_samples=5)
