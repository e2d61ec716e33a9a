"""The analog tile's digital back end (sim/tile.py): ADC codes to outputs.

The oracle shift-adds by hand, one loop per row tile, pulse, output and slice, from the
tile's own sensed and converted codes: ``sum  pulse weight * code * ADC step * base**slice``
over the row tiles, times the unit conversion (weights per unit current).
"""

import numpy as np
import pytest

from cimspice.sim.backend import AnalogBackend
from cimspice.sim.tile import AnalogMatrix

SYSTEM = {"name": "tile", "array": {"rows": 16, "cols": 16, "cell": "linear", "cell_bits": 2},
          "mapping": {"weights": "differential", "slices": 2},
          "adc": {"bits": 6, "partial_sum_bits": 8},
          "nonidealities": {"ir_drop": True, "r_wire": 2.0, "read_noise_sigma": 0.0, "programming_sigma": 0.05}}


def _by_hand(mat, x):
    codes, weights = mat._encode(x)
    k, n_out = mat.k, mat.n_out
    unit = mat.planes.scale * mat.x_max / (mat.step * mat.spec.array.v_read)
    out = np.zeros((len(x), n_out))
    for tile in mat.tiles:
        r0, r1 = tile.rows
        P, n, _ = codes[:, :, r0:r1].shape
        I = mat._currents(tile, codes[:, :, r0:r1], noise=False)
        adc = mat.adc.convert(mat.backend.sense.sense(I), tile.lsb.astype(I.dtype)).reshape(P, n, n_out * k)
        for p in range(P):
            for o in range(n_out):
                for s in range(k):
                    c = o * k + s
                    out[:, o] += weights[p] * adc[p, :, c] * tile.lsb[c] * mat.planes.base ** s * unit
    return out


@pytest.mark.parametrize("inputs", [{"encoding": "dac", "bits": 4}, {"encoding": "bit_serial", "bits": 4}])
def test_outputs_are_the_codes_shift_added_over_pulses_slices_and_row_tiles(inputs):
    rng = np.random.default_rng(1)
    W, x = rng.normal(size=(40, 7)), rng.normal(size=(9, 40))      # 3 row tiles, signed inputs
    backend = AnalogBackend(dict(SYSTEM, inputs=inputs))
    mat = AnalogMatrix("fc", W, backend)
    mat.calibrate(x)
    assert len(mat.tiles) == 3
    np.testing.assert_allclose(mat(x), _by_hand(mat, x), rtol=1e-12, atol=1e-12 * np.abs(x @ W).max())


def test_row_tiles_on_two_threads_give_one_threads_outputs_draws_and_events():
    """Tiles read at once on threads draw their noise from copies of the generator advanced
    to where the tiles before them leave it, and their sums are added in tile order: the same
    outputs, ledger and generator state, bit for bit, as one tile after the other."""
    rng = np.random.default_rng(3)
    W, x = rng.normal(size=(70, 9)), rng.normal(size=(50, 70))       # 5 row tiles, signed inputs
    system = dict(SYSTEM, nonidealities=dict(SYSTEM["nonidealities"], read_noise_sigma=0.02),
                  inputs={"encoding": "bit_serial", "bits": 4})
    runs = []
    for threads in (1, 2):
        backend = AnalogBackend(system, threads=threads)
        mat = AnalogMatrix("fc", W, backend)
        mat.calibrate(x)
        assert len(mat.tiles) == 5
        y = [mat(x), mat(x[:7])]
        runs.append((y, dict(backend.ledger.counts["fc"]), backend.rng.bit_generator.state))
    for a, b in zip(runs[0][0], runs[1][0]):
        np.testing.assert_array_equal(a, b)
    assert runs[0][1] == runs[1][1] and runs[0][2] == runs[1][2]


def _threaded_product(seed):
    backend = AnalogBackend(dict(SYSTEM, nonidealities=dict(SYSTEM["nonidealities"], read_noise_sigma=0.01)),
                            threads=2)
    rng = np.random.default_rng(seed)
    W, x = rng.normal(size=(70, 4)), rng.normal(size=(5, 70))
    mat = backend.matvec("w", W)
    mat.calibrate(x)
    return mat(x)


@pytest.mark.timeout(120)
def test_a_worker_forked_after_threaded_reads_reads_on_threads_of_its_own():
    """A sweep's local workers are forked from a process that may have read tiles on
    threads already; the fork has none of those threads, so it must start its own pool
    (reusing the parent's executor waits forever)."""
    import multiprocessing

    first = _threaded_product(0)
    with multiprocessing.get_context("fork").Pool(1) as pool:
        again = pool.map(_threaded_product, [0])[0]
    np.testing.assert_array_equal(first, again)
