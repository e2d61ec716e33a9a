"""Sense and ADC read as thresholds on the column current (sim/readout.py).

The oracle is the direct path the tile takes without it: ``adc.convert(sense.sense(i), lsb)``
on the same float32 currents. The thresholds must give exactly its codes, at random
currents, beyond the sense's characterized range, and at every threshold and the float32
just below it; a read-out that turns back is not replaced.
"""

import numpy as np
import pytest

from cimspice.sim import kernels
from cimspice.sim.backend import AnalogBackend
from cimspice.sim.peripherals import IdealAdc, IdealSense, MeasuredAdc, SurrogateSense
from cimspice.sim.readout import ENERGY_STEP_SHARE, sense_energy, threshold_readout
from cimspice.surrogate import Surrogate
from cimspice.surrogate.models import GridInterpolator

V_REF, R_F, I_SAT = 0.55, 1500.0, 150e-6   # V, ohm, A: a TIA compressing towards its rails


def _compressing_tia() -> SurrogateSense:
    """A characterized-style TIA: ``v_ref - r_f i_sat tanh(i / i_sat)`` tabulated on +-300 uA."""
    i = np.linspace(-3e-4, 3e-4, 129)
    v = V_REF - R_F * I_SAT * np.tanh(i / I_SAT)
    s = Surrogate(GridInterpolator("cubic"), ["i_in"], "v_out", input_units=["A"], output_units=["V"],
                  name="tia.v_out").fit(i[:, None], v)
    return SurrogateSense(s, V_REF, R_F)


def _probes(readout, lsb, rng) -> np.ndarray:
    """float32 currents (n, columns): random at several scales of each column's step, across
    and beyond the sense's range, and every threshold of each column with the float32 below."""
    C = len(lsb)
    parts = [rng.normal(size=(200, C)) * lsb * s for s in (0.3, 3.0, 30.0)]
    parts += [rng.uniform(-5e-4, 5e-4, (200, C)), np.array([[0.0] * C, [-0.0] * C, [1e30] * C, [-1e30] * C])]
    X = np.concatenate(parts).astype(np.float32)
    steps = np.unique(lsb.astype(np.float32))
    per_step = readout.theta.reshape(len(steps), -1)
    cols = []
    for j in range(C):
        t = per_step[np.searchsorted(steps, np.float32(lsb[j]))]
        t = t[np.isfinite(t)]
        cols.append(np.concatenate([t, np.nextafter(t, np.float32(-np.inf))]))
    edge = np.stack([np.resize(c, max(map(len, cols))) for c in cols], axis=1).astype(np.float32)
    return np.concatenate([X, edge])


@pytest.mark.parametrize("sense, adc", [
    (IdealSense(), IdealAdc(4)),
    (_compressing_tia(), MeasuredAdc.from_weights([0.12, -0.2, 0.05, 0.3, -0.15, 0.25])),
])
def test_thresholds_give_the_models_codes(sense, adc):
    rng = np.random.default_rng(0)
    lsb = np.repeat([1.6e-7, 1.7e-6, 3.4e-6], 4)         # three arrays' ADC steps (A)
    readout = threshold_readout(sense, adc, lsb)
    assert readout is not None
    X = _probes(readout, lsb, rng)
    direct = adc.convert(sense.sense(X), lsb.astype(np.float32))
    got = readout.codes(X)
    assert got.dtype == np.int8                 # the direct path's integers (as floats) in a byte each
    np.testing.assert_array_equal(got, direct)
    readout.offset_f32 = None                   # cells offset in integers (tables past 2**24 cells)
    np.testing.assert_array_equal(readout.codes(X), direct)
    assert np.unique(direct).size == 2 * adc.code_max + 1    # every code was reached


class _Folded:
    """A sense whose output turns back: |i| (a rectifier), not monotone in the current."""

    def sense(self, i):
        return np.abs(i)


def test_a_readout_that_turns_back_or_is_unquantised_is_left_alone():
    lsb = np.full(4, 1e-6)
    assert threshold_readout(_Folded(), IdealAdc(4), lsb) is None
    assert threshold_readout(IdealSense(), IdealAdc(None), lsb) is None


def test_a_layer_gives_the_same_outputs_and_events_with_and_without_thresholds(monkeypatch):
    # both on the NumPy path (the fused loop, sim/kernels.py, adds pulses in its own order:
    # tests/test_sim_kernels.py compares it)
    monkeypatch.setattr(kernels, "ENABLED", False)
    spec = {"name": "t", "array": {"rows": 16, "cols": 16, "cell_bits": 2},
            "mapping": {"weights": "differential", "slices": 2}, "inputs": {"encoding": "bit_serial", "bits": 4},
            "adc": {"bits": 5, "partial_sum_bits": 6},
            "nonidealities": {"ir_drop": True, "r_wire": 2.0, "read_noise_sigma": 0.02, "programming_sigma": 0.05}}
    rng = np.random.default_rng(1)
    W, x = rng.normal(size=(40, 7)), rng.normal(size=(30, 40))
    runs = []
    for thresholds in (True, False):
        backend = AnalogBackend(spec)
        mat = backend.matvec("fc", W)
        mat.calibrate(x)
        assert all(t.readout is not None for t in mat.tiles)
        if not thresholds:
            for t in mat.tiles:
                t.readout = None
        runs.append((mat(x), dict(backend.ledger.counts["fc"])))
    np.testing.assert_array_equal(runs[0][0], runs[1][0])
    assert runs[0][1] == runs[1][1]


def _tia_with_energy() -> SurrogateSense:
    """The compressing TIA with an energy per read like tia_array's: 7 pJ at zero current,
    falling with the current and faster towards the positive rail (J)."""
    i = np.linspace(-3e-4, 3e-4, 41)
    e = 7.2e-12 - 1.4e-8 * i - 4e-5 * i ** 2 - 3e-12 * np.maximum(i / 3e-4 - 0.8, 0.0) ** 2
    energy = Surrogate(GridInterpolator("cubic"), ["i_in"], "energy_read", input_units=["A"], output_units=["J"],
                       name="tia.energy_read").fit(i[:, None], e)
    return SurrogateSense(_compressing_tia().surrogate, V_REF, R_F, energy)


def test_sense_energy_of_float32_currents_is_the_direct_paths_within_its_bound():
    """Summed energy per read in float32 against the sense's own float64 interpolation: every
    read within ENERGY_STEP_SHARE of the table's largest step, at nodes, between them, beyond
    the characterized currents and at +-0; below 1e-6 of the energy itself."""
    sense = _tia_with_energy()
    fast = sense_energy(sense)
    assert fast is not None
    rng = np.random.default_rng(2)
    nodes = np.linspace(-3e-4, 3e-4, 4097)
    probes = [rng.normal(size=(64, 128)) * s for s in (1e-6, 3e-5, 3e-4)]
    probes += [rng.uniform(-1e-3, 1e-3, (64, 128)), nodes, nodes[:-1] + np.diff(nodes) / 2,
               np.array([0.0, -0.0, 1e30, -1e30, 3e-4, -3e-4])]
    step = np.max(np.abs(np.diff(sense.energy_surrogate.predict(nodes[:, None]))))
    for i in probes:
        i = i.astype(np.float32)
        direct = sense.energy(i)
        for x in i.ravel()[:: max(1, i.size // 512)]:          # read by read
            one = np.array([x], np.float32)
            assert abs(fast(one) - sense.energy(one)) <= ENERGY_STEP_SHARE * step
        assert abs(fast(i) - direct) <= ENERGY_STEP_SHARE * step * i.size
        assert fast(i) == pytest.approx(direct, rel=1e-6, abs=0)


def test_sense_energy_needs_an_energy_table():
    assert sense_energy(IdealSense()) is None
    assert sense_energy(_compressing_tia()) is None        # no energy surrogate
