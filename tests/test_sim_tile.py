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


@pytest.mark.parametrize("inputs", [{"encoding": "dac", "bits": 4}, {"encoding": "bit_serial", "bits": 4}])
def test_reads_split_by_vectors_give_one_threads_outputs_draws_and_events(inputs, monkeypatch):
    """Threads that each read a range of the vectors over every row tile (sim/vector_split.py),
    the ranges cutting draw blocks in the middle: the outputs, ledger and generator state of
    one thread, bit for bit, on 2 and 3 threads. Small read chunks and draw blocks make a
    3,000-vector product split as a 224x224 convolution's 100,352 vectors are."""
    from cimspice.sim import tile as tile_module
    from cimspice.sim import vector_split

    monkeypatch.setattr(tile_module, "_CHUNK", 1 << 9)
    monkeypatch.setattr(tile_module, "_DRAW_BLOCK", 1 << 12)
    split = []

    def spy(matrix, codes_all, groups, pool, weights):
        split.append((groups, max(1, tile_module._DRAW_BLOCK // (codes_all.shape[0] * matrix.n_out * matrix.k))))
        return vector_split.read_by_vectors(matrix, codes_all, groups, pool, weights)

    monkeypatch.setattr(tile_module, "read_by_vectors", spy)
    rng = np.random.default_rng(3)
    W, x = rng.normal(size=(70, 9)), rng.normal(size=(3000, 70))       # 5 row tiles, signed inputs
    system = dict(SYSTEM, inputs=inputs, nonidealities=dict(SYSTEM["nonidealities"], read_noise_sigma=0.02))
    runs = []
    for threads in (1, 2, 3):
        backend = AnalogBackend(system, threads=threads)
        mat = AnalogMatrix("fc", W, backend)
        mat.calibrate(x)
        y = [mat(x), mat(x[5:2900]), mat(x[:7])]
        runs.append((y, dict(backend.ledger.counts["fc"]), backend.rng.bit_generator.state))
    assert len(split) == 4                      # the two long calls on 2 and 3 threads; not the short one
    assert any(lo % block for groups, block in split for lo, _ in groups)     # a block cut in the middle
    for run in runs[1:]:
        for a, b in zip(runs[0][0], run[0]):
            np.testing.assert_array_equal(a, b)
        assert run[1] == runs[0][1] and run[2] == runs[0][2]


def test_a_ranges_draw_indices_are_the_blocks_own():
    """The indices of vectors lo..hi of a draw block, cut from the stream without drawing the
    rest, are the block's (sim/noise.py's normal_indices) for ranges on and off the four
    indices of a raw output; the generator is left untouched."""
    from cimspice.sim.noise import normal_indices
    from cimspice.sim.row_tile import generator_after
    from cimspice.sim.vector_split import block_indices

    rng = np.random.default_rng(7)
    rng.bit_generator.advance(13)
    state = rng.bit_generator.state
    for shape in [(2, 37, 7), (1, 10, 4), (3, 5, 1)]:
        whole = normal_indices(generator_after(rng, 101), shape)
        for lo, hi in [(0, shape[1]), (0, 3), (1, 2), (3, shape[1]), (2, shape[1] - 1)]:
            np.testing.assert_array_equal(block_indices(rng, 101, shape, lo, hi), whole[:, lo:hi])
    assert rng.bit_generator.state == state


def test_vector_ranges_end_on_chunk_bounds_and_balance():
    from cimspice.sim.vector_split import chunk_groups

    cases = [(100352, 8192, 256, 2), (1568, 4096, 128, 2), (3000, 113, 14, 3), (392, 1024, 64, 2)]
    for n, block, step, threads in cases:
        groups = chunk_groups(n, block, step, threads)
        bounds = {s0 + s for s0 in range(0, n, block) for s in range(0, min(block, n - s0), step)} | {n}
        assert groups[0][0] == 0 and groups[-1][1] == n and len(groups) == threads
        assert all(a[1] == b[0] for a, b in zip(groups, groups[1:]))
        assert all(lo in bounds and hi in bounds for lo, hi in groups)
        assert max(hi - lo for lo, hi in groups) - min(hi - lo for lo, hi in groups) <= step
    assert chunk_groups(8, 4096, 256, 2) is None          # one chunk: the row tiles' waves instead
