"""The tabulated-inversion Gaussian used for read noise is a standard normal (oracle: SciPy's
normal CDF) and deterministic given the generator."""

import numpy as np
from scipy import stats

from cimspice.sim.noise import standard_normal


def test_draws_follow_the_standard_normal():
    z = standard_normal(np.random.default_rng(7), (1000, 1000)).astype(np.float64).ravel()
    n = z.size
    assert n == 1_000_000
    # mean and variance within 5 standard errors
    assert abs(z.mean()) < 5 / np.sqrt(n)
    assert abs(z.var() - 1.0) < 5 * np.sqrt(2.0 / n)
    # distance to the normal CDF: the KS statistic of a true normal sample exceeds
    # 1.95/sqrt(n) with probability 0.001; the table's discretisation adds < 2**-16
    assert stats.kstest(z, "norm").statistic < 1.95 / np.sqrt(n) + 2 ** -16
    # the tails that decide rare read errors
    for k, p in ((2.0, 2 * stats.norm.sf(2.0)), (3.0, 2 * stats.norm.sf(3.0))):
        frac = np.mean(np.abs(z) > k)
        assert abs(frac - p) < 5 * np.sqrt(p * (1 - p) / n), (k, frac, p)
    assert np.abs(z).max() < 4.4  # bounded by the outermost table quantile


def test_draws_are_deterministic_and_seed_dependent():
    a = standard_normal(np.random.default_rng(3), (7, 5))
    b = standard_normal(np.random.default_rng(3), (7, 5))
    c = standard_normal(np.random.default_rng(4), (7, 5))
    assert a.shape == (7, 5) and a.dtype == np.float32
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    # consecutive calls continue the stream rather than repeating it
    rng = np.random.default_rng(3)
    first, second = standard_normal(rng, 9), standard_normal(rng, 9)
    assert not np.array_equal(first, second)
