"""Max pooling on the source-follower winner-take-all in the system simulator
(nonlinear.max_pooling: wta), against the circuit itself in ngspice
(cimspice.circuits.pooling.MaxPool)."""

from __future__ import annotations

import numpy as np
import pytest

from cimspice.characterize import parse_sweep_spec, run_sweep
from cimspice.circuits.base import CircuitError
from cimspice.circuits.pooling import MaxPool
from cimspice.sim import SimError
from cimspice.sim.backend import AnalogBackend
from cimspice.sim.simulate import simulate
from cimspice.sim.spec import load_system_spec
from cimspice.spice import get_engine
from cimspice.surrogate import fit_surrogates, save_library

# gaps below the maximum: dense where followers share the tail current; at 0.3 V a follower is
# off (0.03 mV of error). Maxima up to 1.0 V: above VDD - 60 mV the servo clips near-ties.
GAPS = [0.0, 0.01, 0.02, 0.035, 0.055, 0.08, 0.12, 0.18, 0.3]


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("wta")
    spec = parse_sweep_spec({"circuit": "max_pool", "circuit_args": {"window": 4, "inputs": "gaps"}, "design": "grid",
                             "parameters": {"v_max": {"start": 0.5, "stop": 1.0, "num": 3},
                                            **{f"d_{i}": GAPS for i in (1, 2, 3)}},
                             "outputs": ["error", "energy"]})
    run_sweep(spec, tmp / "wta.h5", executor="inline", progress=False)
    volt = parse_sweep_spec({"circuit": "max_pool", "circuit_args": {"window": 4}, "design": "grid",
                             "parameters": {f"v_{i}": {"start": 0.5, "stop": 1.1, "num": 3} for i in range(4)},
                             "outputs": ["error"]})
    run_sweep(volt, tmp / "volt.h5", executor="inline", progress=False)
    lib = tmp / "lib.h5"
    save_library(lib, fit_surrogates(tmp / "wta.h5", models=["grid-cubic"], name_template="wta.{output}"))
    save_library(lib, fit_surrogates(tmp / "volt.h5", models=["grid-linear"], name_template="wta_volt.{output}"),
                 append=True)
    return lib


def _spec(library, **nonlinear):
    nl = {"max_pooling": "wta", "max_pooling_error": "wta.error", "max_pooling_energy": "wta.energy", **nonlinear}
    return load_system_spec("ideal").updated({"nonlinear": nl, "library": str(library)})


def test_gap_inputs_are_the_same_circuit():
    engine = get_engine()
    gaps, volts = MaxPool(4, inputs="gaps"), MaxPool(4)
    gaps.load(engine)
    a = gaps.simulate(engine, {"v_max": 0.9, "d_1": 0.015, "d_2": 0.04, "d_3": 0.3}).values
    volts.load(engine)
    # the same four voltages in another order: identical followers, the same output
    b = volts.simulate(engine, {"v_0": 0.86, "v_1": 0.6, "v_2": 0.9, "v_3": 0.885}).values
    assert a["y"] == pytest.approx(b["y"], abs=1e-9)
    assert a["energy"] == pytest.approx(b["energy"], rel=1e-6, abs=0)
    assert a["error"] > 0.005                  # close inputs share the tail: the output reads high
    from cimspice.sim import costs
    assert 7 * costs.POOL_WTA_DEVICE_AREA == pytest.approx(MaxPool(4).area(), rel=1e-4, abs=0)  # the sim's constant
    with pytest.raises(CircuitError, match="inputs='sorted' is not 'voltages' or 'gaps'"):
        MaxPool(4, inputs="sorted")


def test_pooled_values_follow_the_circuit_in_ngspice(library):
    rng = np.random.default_rng(3)
    # 2x2 windows of a ReLU layer's outputs in [0, 4]: some clear winners, some near-ties
    x = rng.uniform(0.0, 4.0, (1, 3, 4, 4))
    x[0, 0, :2, :2] = [[3.0, 2.95], [2.9, 1.0]]
    b = AnalogBackend(_spec(library))
    b.calibrating = True
    b.pool("p", "max", np.concatenate([x, np.zeros_like(x[:, :1]), np.full_like(x[:, :1], 4.0)], axis=1), 2)
    b.calibrating = False
    y = b.pool("p", "max", x, 2)
    assert y.shape == (1, 3, 2, 2)
    engine = get_engine()
    pool = MaxPool(4)
    pool.load(engine)
    spice_y, spice_e = [], 0.0
    windows = x.reshape(1, 3, 2, 2, 2, 2).transpose(0, 1, 2, 4, 3, 5).reshape(-1, 4)
    for w in windows:
        v = 0.5 + 0.5 * w / 4.0                                       # [0, 4] onto [0.5, 1.0] V
        m = pool.simulate(engine, {f"v_{i}": float(vi) for i, vi in enumerate(v)}).values
        spice_y.append((m["y"] - 0.5) / 0.5 * 4.0)
        spice_e += m["energy"]
    spice_y = np.array(spice_y).reshape(y.shape)
    # the surrogate's error (test grid: 0.2 mV rms, 1 mV worst on 450 off-grid windows)
    np.testing.assert_allclose(y, spice_y, atol=1.5e-3 / 0.5 * 4.0)
    exact = x.reshape(1, 3, 2, 2, 2, 2).max(axis=(3, 5))
    assert y[0, 0, 0, 0] - exact[0, 0, 0, 0] > 0.05                   # the near-tie reads high, as in ngspice
    assert b.ledger.counts["p"]["pool_wta_energy"] == pytest.approx(spice_e, rel=1e-3, abs=0)
    assert "pool_compare" not in b.ledger.counts["p"]


def test_cnn_with_wta_max_pooling_prices_the_circuit(library):
    digital = simulate("ideal", "cnn", n_samples=200)
    wta = simulate(_spec(library), "cnn", n_samples=200)
    # ReLU outputs tie at zero in many windows, and a 4-way tie reads +55 mV (11 % of the
    # 0.5 V range): the network loses accuracy, but stays a classifier
    assert 0.5 < wta.analog_metric <= digital.analog_metric
    ev = wta.costs.events
    assert "pool_compare" not in ev and "pool_compare" in digital.costs.events
    windows = digital.costs.events["pool_compare"] / 4                # inputs compared / window size
    per_window = ev["pool_wta_energy"] / windows
    assert 4.0e-15 < per_window < 5.0e-15                              # the circuit's 4.4 fJ per evaluation
    assert wta.costs.energy["nonlinear"] > 0
    # one 7-device circuit per window of the max-pooling layer (4 inputs, replica, 2 tails)
    from cimspice.sim import costs
    extra = wta.costs.area["nonlinear"] - digital.costs.area["nonlinear"]
    assert extra == pytest.approx(windows * 7 * costs.POOL_WTA_DEVICE_AREA, rel=1e-12, abs=0)


def test_bad_wta_specs_fail_before_work(library):
    with pytest.raises(SimError, match="nonlinear.max_pooling_error: max_pooling: wta needs"):
        load_system_spec("ideal").updated({"nonlinear": {"max_pooling": "wta"}})
    with pytest.raises(SimError, match="nonlinear.max_pooling: unknown value 'analog'"):
        load_system_spec("ideal").updated({"nonlinear": {"max_pooling": "analog"}})
    with pytest.raises(SimError, match=r"nonlinear.max_pooling_error: 'wta_volt.error' has inputs .*needs \['v_max'"):
        simulate(_spec(library, max_pooling_error="wta_volt.error"), "cnn", n_samples=5)
    with pytest.raises(SimError, match="nonlinear.max_pooling_energy: surrogate 'nope' is not in the library"):
        simulate(_spec(library, max_pooling_energy="nope"), "cnn", n_samples=5)
    with pytest.raises(SimError, match="max_pooling_energy: wta.error gives V, not an energy"):
        simulate(_spec(library, max_pooling_energy="wta.error"), "cnn", n_samples=5)
