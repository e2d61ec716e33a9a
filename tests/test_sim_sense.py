"""Characterized sense circuits in the simulator: ``sense.type: surrogate``.

The TIA is characterized the way a user would (``cimspice sweep`` of circuit ``tia`` over
``i_in``, ``cimspice fit``) and its surrogate is checked against ngspice's TIA itself on
currents the sweep did not contain; bad specs fail with one line before any work.
"""

from __future__ import annotations

import numpy as np
import pytest

from cimspice.circuits.tia import TransimpedanceAmplifier
from cimspice.cli import main as cli
from cimspice.sim.backend import AnalogBackend
from cimspice.sim.errors import SimError
from cimspice.sim.peripherals import IdealSense, SurrogateSense
from cimspice.sim.spec import parse_system_spec
from cimspice.spice import get_engine
from cimspice.surrogate import Surrogate, load_library, save_library
from cimspice.surrogate.models import GridInterpolator

I_FS = 100e-6          # A, the TIA's full-scale column current (r_f 5 kOhm: 0.5 V of swing)
V_REF, R_F = 0.75, 5e3


@pytest.fixture(scope="module")
def tia_library(tmp_path_factory):
    d = tmp_path_factory.mktemp("tia")
    (d / "tia.yaml").write_text("circuit: tia\ndesign: grid\nparameters:\n"
                                f"  i_in: {{start: {-0.3 * I_FS!r}, stop: {I_FS!r}, num: 27}}\n"
                                "outputs: [v_out, energy_read]\n")
    assert cli(["sweep", str(d / "tia.yaml"), "-o", str(d / "tia.h5"), "--no-progress"]) == 0
    assert cli(["fit", str(d / "tia.h5"), "-o", str(d / "lib.h5"), "--outputs", "v_out", "energy_read"]) == 0
    return d / "lib.h5"


def test_tia_surrogate_reproduces_ngspice_on_held_out_currents(tia_library):
    lib = load_library(tia_library)
    sense = SurrogateSense(lib["tia.v_out"], V_REF, R_F, energy=lib["tia.energy_read"])
    # currents between the sweep's grid points (step 5 uA), from ngspice's own TIA
    currents = np.random.default_rng(3).uniform(-0.3 * I_FS, I_FS, 9)
    tia = TransimpedanceAmplifier()
    engine = get_engine()
    tia.load(engine)
    measured = [tia.simulate(engine, {"i_in": float(i)}).values for i in currents]
    v_true = np.array([m["v_out"] for m in measured])
    # the sense model's output is the voltage referred back through the nominal design
    x_true = (V_REF - v_true) / R_F
    assert np.max(np.abs(sense.sense(currents) - x_true)) < 0.01 * I_FS
    v_fs = np.ptp(v_true)
    assert np.max(np.abs(lib["tia.v_out"].predict(currents[:, None]) - v_true)) < 0.01 * v_fs
    # the characterized offset reaches the ADC: zero current reads as -offset_i (ngspice's measurement)
    offset_i = tia.simulate(engine, {"i_in": 0.0}).values["offset_i"]
    assert float(sense.sense(np.array([0.0]))[0]) == pytest.approx(-offset_i, abs=2e-3 * abs(offset_i) + 1e-10)
    # energy per read: the class-A TIA draws less as the column current rises (docs/sense.md)
    e_true = np.array([m["energy_read"] for m in measured])
    assert sense.energy(currents) == pytest.approx(e_true.sum(), rel=1e-3, abs=0)
    # outside the sweep the surrogate holds the edge value (clipped), it does not extrapolate
    edge = sense.sense(np.array([I_FS]))[0]
    assert sense.sense(np.array([1.5 * I_FS]))[0] == edge


def _spec(**sense):
    return {"array": {"rows": 8, "cols": 8, "cell_bits": None}, "mapping": {"slices": 1},
            "inputs": {"encoding": "dac", "bits": 6}, "adc": {"bits": 8}, "sense": sense}


def test_missing_sense_surrogate_fails_before_any_work(tia_library, tmp_path):
    with pytest.raises(SimError) as error:
        parse_system_spec(_spec(type="surrogate"), "sys.yaml")
    assert "sense.surrogate" in str(error.value) and "\n" not in str(error.value)
    with pytest.raises(SimError, match="library"):
        parse_system_spec(_spec(type="surrogate", surrogate="tia.v_out"), "sys.yaml")
    with pytest.raises(SimError, match="sense.type"):
        parse_system_spec(_spec(type="sensor"), "sys.yaml")
    spec = {**_spec(type="surrogate", surrogate="tia.vout"), "library": str(tia_library)}
    with pytest.raises(SimError) as error:
        AnalogBackend(spec)                      # the backend is built before anything is programmed
    message = str(error.value)
    assert "sense.surrogate" in message and "'tia.vout'" in message and "tia.v_out" in message
    assert "\n" not in message
    spec = {**_spec(type="surrogate", surrogate="tia.v_out", energy="tia.power"), "library": str(tia_library)}
    with pytest.raises(SimError, match="sense.energy"):
        AnalogBackend(spec)


def test_surrogate_contract_is_checked(tia_library):
    lib = load_library(tia_library)
    two = Surrogate(GridInterpolator(), ["i_in", "temp"], "v_out", input_units=["A", "degC"], output_units=["V"])
    with pytest.raises(SimError, match="exactly one input"):
        SurrogateSense(two, V_REF, R_F)
    with pytest.raises(SimError, match="units"):
        SurrogateSense(lib["tia.energy_read"], V_REF, R_F)   # J, not V
    with pytest.raises(SimError, match="transimpedance"):
        SurrogateSense(lib["tia.v_out"], V_REF, -1.0)


def test_ideal_tia_surrogate_gives_the_ideal_sense_results(tmp_path):
    """Through the whole tile: a surrogate of an ideal TIA (exactly v_ref - i r_f) must give
    what the ideal sense gives, so the sense call sits where the currents are sensed."""
    i = np.linspace(-2e-3, 2e-3, 5)
    ideal_tia = Surrogate(GridInterpolator("linear"), ["i_in"], "v_out", input_units=["A"], output_units=["V"],
                          name="ideal.v_out").fit(i[:, None], V_REF - R_F * i)
    e_read = Surrogate(GridInterpolator("linear"), ["i_in"], "energy_read", input_units=["A"], output_units=["J"],
                       name="flat.energy_read").fit(i[:, None], np.full(i.size, 2.5e-12))
    save_library(tmp_path / "lib.h5", [ideal_tia, e_read])
    rng = np.random.default_rng(0)
    W, x = rng.normal(size=(8, 3)), rng.uniform(-1, 1, (20, 8))
    outs = []
    for sense in ({"type": "ideal"}, {"type": "surrogate", "surrogate": "ideal.v_out", "v_ref": V_REF,
                                      "transimpedance": R_F, "energy": "flat.energy_read"}):
        backend = AnalogBackend({**_spec(**sense), "library": str(tmp_path / "lib.h5")})
        assert isinstance(backend.sense, IdealSense if sense["type"] == "ideal" else SurrogateSense)
        m = backend.matvec("w", W)
        m.calibrate(x)
        outs.append(m(x))
    np.testing.assert_allclose(outs[1], outs[0], rtol=1e-9, atol=1e-12 * np.abs(outs[0]).max())
    # the characterized energy per read is booked once per sensed pair current
    ledger = backend.ledger
    assert ledger.total("sense_energy") == pytest.approx(2.5e-12 * ledger.total("sense_samples"), rel=1e-12, abs=0)
    assert ledger.total("sense_samples") > 0
