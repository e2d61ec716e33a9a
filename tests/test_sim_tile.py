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
