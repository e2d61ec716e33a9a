"""Pooling circuits: the equal-conductance column averages through the read law (oracle:
the sinh sum written out here), the source-follower winner-take-all follows the maximum."""

from __future__ import annotations

import math

import numpy as np
import pytest

from cimspice.circuits import CircuitError
from cimspice.circuits.pooling import AveragePool, MaxPool

V0 = 0.25  # reram.lib


def test_average_pool_is_the_sinh_sum_over_k_g(engine):
    pool = AveragePool(window=4)
    pool.load(engine)
    rng = np.random.default_rng(0)
    for _ in range(4):
        v = rng.uniform(0.0, 0.3, 4)
        g = float(rng.uniform(5e-6, 90e-6))
        m = pool.simulate(engine, {**{f"v_{i}": v[i] for i in range(4)}, "g": g}).values
        i_hand = sum(g * V0 * math.sinh(vi / V0) for vi in v)
        assert m["i_out"] == pytest.approx(i_hand, rel=1e-6)
        assert m["y"] == pytest.approx(i_hand / (4 * g), rel=1e-6)
        e_hand = sum(g * V0 * math.sinh(vi / V0) * vi for vi in v) * pool.t_read  # J, ~0.1 pJ
        assert m["energy"] == pytest.approx(e_hand, rel=1e-6, abs=0)
    # small inputs: the pooled value is the mean to the sinh's curvature (v^2 / 6 v0^2)
    v = np.full(4, 0.02)
    m = pool.simulate(engine, {**{f"v_{i}": 0.02 for i in range(4)}, "g": 50e-6}).values
    assert abs(m["error"]) / 0.02 < (0.02 / V0) ** 2 / 6 * 1.01


def test_max_pool_follows_the_largest_input(engine):
    pool = MaxPool(window=4)
    pool.load(engine)
    rng = np.random.default_rng(1)
    for _ in range(5):
        v = rng.uniform(0.6, 0.9, 4)
        v[rng.integers(4)] = v.max() + 0.1  # a clear winner, 100 mV above the rest
        m = pool.simulate(engine, {f"v_{i}": float(v[i]) for i in range(4)}).values
        assert abs(m["error"]) < 0.01
    # equal inputs share the tail current (each follower at i_bias / k): the output reads high
    tie = pool.simulate(engine, {f"v_{i}": 0.8 for i in range(4)}).values
    assert 0 < tie["error"] < 0.1
    # monotone in the winner
    ys = [pool.simulate(engine, {"v_0": x, "v_1": 0.6, "v_2": 0.6, "v_3": 0.6}).values["y"] for x in (0.8, 0.9, 1.0)]
    assert ys[0] < ys[1] < ys[2]
    assert tie["energy"] == pytest.approx(2 * pool.i_bias * 1.1 * 1e-9, rel=0.05, abs=0)


def test_pooling_bad_sizes():
    with pytest.raises(CircuitError, match="window"):
        AveragePool(window=1)
    with pytest.raises(CircuitError, match="i_bias"):
        MaxPool(i_bias=1.0)
    with pytest.raises(CircuitError, match="parameter v_0"):
        AveragePool().check_points({"v_0": [2.0]})
