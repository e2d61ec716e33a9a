"""The fused per-conversion loop (sim/kernels.py) against the NumPy path it replaces.

The oracle is the NumPy reference path on the same float32 products and the same draws:
``readout.ThresholdReadout.codes`` of ``D + sqrt(max(V, 0)) * TABLE[idx]``, the
``readout.SenseEnergy`` of those currents, and the layer run with ``kernels.ENABLED = False``
from the same generator state. numba is a declared dependency: without it these tests fail.
"""

import numpy as np
import pytest

from cimspice.sim import kernels
from cimspice.sim.backend import AnalogBackend
from cimspice.sim.encoding import encode
from cimspice.sim.noise import TABLE, normal_indices
from cimspice.sim.peripherals import MeasuredAdc, SurrogateSense
from cimspice.sim.readout import ENERGY_STEP_SHARE, SenseEnergy, sense_energy, threshold_readout
from cimspice.sim.spec import InputSpec
from cimspice.surrogate import Surrogate
from cimspice.surrogate.models import GridInterpolator

V_REF, R_F, I_SAT = 0.55, 1500.0, 150e-6   # V, ohm, A: a TIA compressing towards its rails


def _tia() -> SurrogateSense:
    """A TIA ``v_ref - r_f i_sat tanh(i / i_sat)`` with an energy per read falling with the
    current, both tabulated on +-300 uA (test_sim_readout.py's)."""
    i = np.linspace(-3e-4, 3e-4, 129)
    v = Surrogate(GridInterpolator("cubic"), ["i_in"], "v_out", input_units=["A"], output_units=["V"],
                  name="tia.v_out").fit(i[:, None], V_REF - R_F * I_SAT * np.tanh(i / I_SAT))
    e = Surrogate(GridInterpolator("cubic"), ["i_in"], "energy_read", input_units=["A"], output_units=["J"],
                  name="tia.energy_read").fit(i[:, None], 7.2e-12 - 1.4e-8 * i - 4e-5 * i ** 2)
    return SurrogateSense(v, V_REF, R_F, e)


def test_numba_compiles_the_loops():
    """A declared dependency: its absence is a failure here, not a skip."""
    assert kernels.available()
    assert kernels.use_kernels()


@pytest.mark.parametrize("pulses", [1, 3])
def test_one_loop_gives_the_numpy_paths_codes_clipping_energy_and_sums(pulses):
    sense, adc = _tia(), MeasuredAdc.from_weights([0.12, -0.2, 0.05, 0.3, -0.15, 0.25])
    rng = np.random.default_rng(5)
    m, C = 40, 12
    lsb = np.repeat([1.6e-6, 3.4e-6, 9e-6], 4)                     # A: three arrays' ADC steps
    readout, energy = threshold_readout(sense, adc, lsb), sense_energy(sense)
    assert readout is not None and isinstance(energy, SenseEnergy)
    D = (rng.normal(size=(pulses * m, C)) * 60 * lsb).astype(np.float32)         # beyond the ADC range too
    V = (rng.normal(size=(pulses * m, C)) * (10 * lsb) ** 2).astype(np.float32)   # some < 0: round-off
    idx = normal_indices(rng, (pulses, m + 7, C))                   # a draw block longer than the chunk
    v0 = 5
    I = D.reshape(pulses, m, C) + np.sqrt(np.maximum(V, 0)).reshape(pulses, m, C) * TABLE[idx[:, v0:v0 + m]]
    I = I.reshape(-1, C)
    codes = readout.codes(I).reshape(pulses, m, C)
    fused, one = kernels.FusedReads(readout, lsb, energy), kernels.FusedReads(readout, np.ones(C), energy)
    for p in range(pulses):        # one pulse's codes at a time: weight 1 on it, ADC steps of 1
        got = np.zeros((m + 3, C))
        one(D, V, idx, v0, np.eye(pulses)[p], got, 2)
        np.testing.assert_array_equal(got[2:2 + m], codes[p])
        assert not got[:2].any() and not got[2 + m:].any()
    weights = np.array([1.0, -0.25, 0.5])[:pulses]
    summed = np.full((m, C), 0.5)
    clipped, e = fused(D, V, idx, v0, weights, summed, 0)
    c = adc.code_max
    assert clipped == np.count_nonzero(codes >= c) + np.count_nonzero(codes <= -c) > 0
    want = 0.5 + np.tensordot(weights, codes.astype(np.float64), 1) * lsb
    if pulses == 1:
        np.testing.assert_array_equal(summed, want)
    else:   # pulses added one after the other, NumPy's in BLAS's order
        np.testing.assert_allclose(summed, want, rtol=1e-13, atol=0)
    step = np.max(np.abs(energy.dy))
    assert abs(e - energy(I)) <= ENERGY_STEP_SHARE * step * I.size
    assert e == pytest.approx(energy(I), rel=1e-9, abs=0)


def test_no_noise_reads_the_products_alone():
    sense, adc = _tia(), MeasuredAdc.from_weights([0.12, -0.2, 0.05, 0.3, -0.15, 0.25])
    lsb = np.full(6, 2e-6)
    readout = threshold_readout(sense, adc, lsb)
    D = (np.random.default_rng(0).normal(size=(30, 6)) * 50 * lsb).astype(np.float32)
    got = np.zeros((30, 6))
    clipped, e = kernels.FusedReads(readout, np.ones(6))(D, None, None, 0, np.ones(1), got, 0)
    np.testing.assert_array_equal(got, readout.codes(D))
    assert e == 0.0


@pytest.mark.parametrize("encoding", ["dac", "bit_serial"])
@pytest.mark.parametrize("signed", ["two_phase", "bipolar"])
@pytest.mark.parametrize("bits", [1, 2, 8, 12])
def test_inputs_are_encoded_as_the_numpy_path_encodes_them(encoding, signed, bits, monkeypatch):
    """Codes and pulse weights of signed and unsigned inputs, contiguous or strided, with
    values at 0, -0, half a step (ties rounded to even), and beyond the range (clipped)."""
    rng = np.random.default_rng(bits)
    x_max = 2.0
    x = rng.normal(size=(20, 37))
    x[0, :8] = [0.0, -0.0, x_max / 2, -x_max / 2, 5 * x_max, -5 * x_max, x_max, -x_max]
    x[1] = x_max * (np.arange(37) - 18) / 2 / (2 ** bits - 1)      # whole and half steps
    spec = InputSpec(encoding=encoding, bits=bits, signed=signed)
    for inputs, sign in ((x, True), (np.abs(x), False), (x[:, ::2], True)):
        runs = []
        for on in (True, False):
            monkeypatch.setattr(kernels, "ENABLED", on)
            runs.append(encode(inputs, x_max, sign, spec, 0.2))
        (codes, weights), (codes_np, weights_np) = runs
        assert codes.dtype == codes_np.dtype and codes.shape == codes_np.shape
        np.testing.assert_array_equal(codes, codes_np)
        np.testing.assert_array_equal(weights, weights_np)


SYSTEM = {"name": "k", "array": {"rows": 16, "cols": 16, "cell_bits": 2},
          "mapping": {"weights": "differential", "slices": 2},
          "adc": {"bits": 5, "partial_sum_bits": 6},
          "nonidealities": {"ir_drop": True, "r_wire": 2.0, "read_noise_sigma": 0.02, "programming_sigma": 0.05}}


def _run(system, W, xs, enabled, threads=1, sense=None):
    """Outputs, ledger counts and final generator state of ``W`` read on ``xs`` with the fused
    loops on or off (the same programming and draws either way)."""
    old = kernels.ENABLED
    kernels.ENABLED = enabled
    try:
        backend = AnalogBackend(system, threads=threads)
        if sense is not None:
            backend.sense = sense
        mat = backend.matvec("fc", W)
        mat.calibrate(xs[0])
        assert all(t.readout is not None for t in mat.tiles)
        assert all((mat._fused(t) is not None) == enabled for t in mat.tiles)
        ys = [mat(x) for x in xs]
        return ys, dict(backend.ledger.counts["fc"]), backend.rng.bit_generator.state
    finally:
        kernels.ENABLED = old


@pytest.mark.parametrize("inputs, exact", [
    ({"encoding": "dac", "bits": 4}, True),                       # one read per vector: sums bit for bit
    ({"encoding": "dac", "bits": 4, "signed": "bipolar"}, True),
    ({"encoding": "bit_serial", "bits": 4}, False),               # pulses added in BLAS's order or the loop's
])
@pytest.mark.parametrize("threads", [1, 2])
def test_a_layer_reads_the_same_with_and_without_the_fused_loop(inputs, exact, threads):
    rng = np.random.default_rng(1)
    W = rng.normal(size=(40, 7))                                     # 3 row tiles
    x = rng.uniform(0, 1, size=(30, 40)) if "signed" not in inputs else rng.normal(size=(30, 40))
    system = dict(SYSTEM, inputs=inputs)
    fused, numpy_ = (_run(system, W, [x, x[:9]], on, threads) for on in (True, False))
    for a, b in zip(fused[0], numpy_[0]):
        if exact:
            np.testing.assert_array_equal(a, b)
        else:
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12 * np.abs(b).max())
    assert fused[1] == numpy_[1]               # events: conversions, clipping, array energy, pulses
    assert fused[2] == numpy_[2]               # the same raw draws taken


def test_a_priced_sense_is_summed_within_its_bound():
    rng = np.random.default_rng(2)
    W, x = rng.normal(size=(40, 7)), rng.uniform(0, 1, size=(30, 40))
    system = dict(SYSTEM, inputs={"encoding": "dac", "bits": 4})
    fused, numpy_ = (_run(system, W, [x], on, sense=_tia()) for on in (True, False))
    np.testing.assert_array_equal(fused[0][0], numpy_[0][0])
    e_fused, e_numpy = fused[1].pop("sense_energy"), numpy_[1].pop("sense_energy")
    assert fused[1] == numpy_[1] and fused[2] == numpy_[2]
    assert e_fused == pytest.approx(e_numpy, rel=1e-9, abs=0)


def test_the_exact_solver_continuous_voltages_and_float64_currents_read_on_the_numpy_path():
    rng = np.random.default_rng(3)
    W, x = rng.normal(size=(20, 3)), rng.uniform(0, 1, size=(6, 20))
    exact = dict(SYSTEM, inputs={"encoding": "dac", "bits": 4},
                 nonidealities=dict(SYSTEM["nonidealities"], solver="exact", read_noise_sigma=0.0))
    wide = dict(SYSTEM, inputs={"encoding": "dac", "bits": 4}, adc={"bits": 5, "partial_sum_bits": 17})
    voltages = dict(SYSTEM, inputs={"encoding": "dac", "bits": None})
    for system in (exact, wide, voltages):
        mat = AnalogBackend(system).matvec("fc", W)
        mat.calibrate(x)
        assert all(mat._fused(t) is None for t in mat.tiles)
        assert np.all(np.isfinite(mat(x)))
