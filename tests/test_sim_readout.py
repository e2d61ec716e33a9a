"""Sense and ADC read as thresholds on the column current (sim/readout.py).

The oracle is the direct path the tile takes without it: ``adc.convert(sense.sense(i), lsb)``
on the same float32 currents. The thresholds must give exactly its codes, at random
currents, beyond the sense's characterized range, and at every threshold and the float32
just below it; a read-out that turns back is not replaced.
"""

import numpy as np
import pytest

from cimspice.sim.backend import AnalogBackend
from cimspice.sim.peripherals import IdealAdc, IdealSense, MeasuredAdc, SurrogateSense
from cimspice.sim.readout import threshold_readout
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
    assert got.dtype == direct.dtype
    np.testing.assert_array_equal(got, direct)
    assert np.unique(direct).size == 2 * adc.code_max + 1    # every code was reached


class _Folded:
    """A sense whose output turns back: |i| (a rectifier), not monotone in the current."""

    def sense(self, i):
        return np.abs(i)


def test_a_readout_that_turns_back_or_is_unquantised_is_left_alone():
    lsb = np.full(4, 1e-6)
    assert threshold_readout(_Folded(), IdealAdc(4), lsb) is None
    assert threshold_readout(IdealSense(), IdealAdc(None), lsb) is None


def test_a_layer_gives_the_same_outputs_and_events_with_and_without_thresholds():
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
