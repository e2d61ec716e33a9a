"""The separable read law of the shipped 1T1R cell surrogate (sim/crossbar/factors.py).

The oracle is the surrogate itself, evaluated directly on every cell's conductance and
every voltage level (``SurrogateCell.read``, which shares no code with the factorisation).
The stated tolerance is the module's own budget: FACTOR_ERROR_SHARE of the surrogate's RMS
validation error against ngspice.
"""

from pathlib import Path

import h5py
import numpy as np
import pytest

from cimspice.sim.crossbar import FACTOR_ERROR_SHARE, SurrogateCell, cell_factors, cell_reads
from cimspice.sim.crossbar.factors import factor_tolerance
from cimspice.surrogate import Surrogate

SHIPPED = Path(__file__).resolve().parents[1] / "cimspice" / "library" / "default.h5"
DAC_LEVELS = np.linspace(0.0, 0.2, 256)   # baseline's v_read, 8-bit DAC


class CountingSurrogate:
    """The real surrogate, counting the points it is asked for (no stand-in for its values)."""

    def __init__(self, surrogate):
        self.surrogate, self.points = surrogate, 0

    def __getattr__(self, name):
        return getattr(self.surrogate, name)

    def predict(self, X, out_of_domain="error"):
        self.points += len(X)
        return self.surrogate.predict(X, out_of_domain=out_of_domain)


@pytest.fixture(scope="module")
def surrogate():
    with h5py.File(SHIPPED, "r") as fh:
        return Surrogate.from_hdf5(fh["surrogates"]["cell_1t1r.i_cell"])


def _cell(surrogate):
    return SurrogateCell(surrogate, fixed={"v_wl": 1.1})


def _programmed(rng, shape=(64, 96)):
    """Conductances as baseline programs them: 2-bit digits, 5 % lognormal spread, clipped
    to the characterized range."""
    digits = rng.integers(0, 4, shape)
    G = (1e-6 + digits * (100e-6 - 1e-6) / 3) * np.exp(0.05 * rng.standard_normal(shape))
    return np.clip(G, 1e-6, 100e-6)


def _law(factors, G, levels):
    """I (cells, levels) from the factors."""
    return sum(A.reshape(-1, 1) * f(levels)[None, :] for A, f in factors)


@pytest.mark.parametrize("power", [1, 2])
def test_shared_factors_reproduce_the_surrogate_on_every_cell(surrogate, power):
    cell = _cell(surrogate)
    G = _programmed(np.random.default_rng(power))
    tol = factor_tolerance(cell, power)
    stated = surrogate.validation
    assert tol == pytest.approx(FACTOR_ERROR_SHARE * power * stated["rms_pct"][0] / 100
                                * stated["full_scale"][0] ** power)
    factors = cell_factors(cell, G, DAC_LEVELS, power=power)
    exact = cell.read(G.reshape(-1, 1), DAC_LEVELS[None, :]) ** power
    assert np.max(np.abs(_law(factors, G, DAC_LEVELS) - exact)) <= tol
    # the fewest terms within it: one term fewer is not enough on these same cells
    fewer = cell_factors(cell, G, DAC_LEVELS, power=power)[:-1]
    assert len(factors) <= 3 and (not fewer or np.max(np.abs(_law(fewer, G, DAC_LEVELS) - exact)) > tol)


def test_factorisation_is_shared_not_per_array(surrogate):
    """Programming more arrays evaluates the surrogate no more: the law is tabulated once on
    a conductance grid, and each array only interpolates it (O(cells) NumPy)."""
    counting = CountingSurrogate(surrogate)
    cell = _cell(counting)
    rng = np.random.default_rng(0)
    cell_factors(cell, _programmed(rng), DAC_LEVELS)
    once = counting.points
    for _ in range(3):
        cell_factors(cell, _programmed(rng), DAC_LEVELS)
    assert counting.points == once


def test_cells_alike_on_one_surrogate_share_the_factorisation(surrogate):
    """Each simulation makes its own cell on the process's one surrogate (a design sweep's
    points): a second cell of the same definition evaluates the surrogate no more and gets
    the same factors; a cell at another word-line voltage is another cell and gets its own."""
    counting = CountingSurrogate(surrogate)
    G = _programmed(np.random.default_rng(1))
    first = cell_factors(_cell(counting), G, DAC_LEVELS)
    once = counting.points
    again = cell_factors(_cell(counting), G, DAC_LEVELS)
    assert counting.points == once and len(again) == len(first)
    for (A, f), (B, g) in zip(first, again):
        np.testing.assert_array_equal(A, B)
        np.testing.assert_array_equal(f(DAC_LEVELS), g(DAC_LEVELS))
    lower = SurrogateCell(counting, fixed={"v_wl": 1.0})
    other = cell_factors(lower, G, DAC_LEVELS)
    assert counting.points > once
    exact = np.stack([lower.read(G.reshape(-1), v) for v in DAC_LEVELS], axis=1)
    assert np.max(np.abs(_law(other, G, DAC_LEVELS) - exact)) <= factor_tolerance(lower)


def test_reads_for_ir_drop_match_the_surrogate(surrogate):
    cell = _cell(surrogate)
    G = _programmed(np.random.default_rng(3))
    v = (0.2, 0.2002, 0.1998)
    got = cell_reads(cell, G, v)
    for x, I in zip(v, got):
        assert np.max(np.abs(I - cell.read(G, x))) <= factor_tolerance(cell)
    # the chord slope the IR-drop model takes from them, d ln I / d ln V, to 1e-3
    kappa = 0.2 * (got[1] - got[2]) / 4e-4 / got[0]
    exact = 0.2 * (cell.read(G, 0.2002) - cell.read(G, 0.1998)) / 4e-4 / cell.read(G, 0.2)
    assert np.max(np.abs(kappa - exact)) < 1e-3

