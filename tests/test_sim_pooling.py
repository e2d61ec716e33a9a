"""Average pooling on equal-conductance ReRAM columns in the system simulator, against the
pooling circuit in ngspice (cimspice.circuits.pooling.AveragePool)."""

from __future__ import annotations

import numpy as np
import pytest

from cimspice.circuits.pooling import AveragePool
from cimspice.sim import costs
from cimspice.sim.backend import AnalogBackend
from cimspice.sim.spec import load_system_spec
from cimspice.spice import get_engine


def _backend(nonlinear_cells: bool):
    spec = load_system_spec("ideal").updated({"nonlinear": {"avg_pooling": "reram_array"}, "array": {"cell": "sinh"},
                                              "nonidealities": {"cell_nonlinearity": nonlinear_cells}})
    return AnalogBackend(spec)


def test_linear_cells_pool_to_the_mean():
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 3, (2, 3, 4, 4))
    b = _backend(False)
    b.calibrating = True
    b.pool("p", "avg", x, 2)
    b.calibrating = False
    y = b.pool("p", "avg", x, 2)
    np.testing.assert_allclose(y, x.reshape(2, 3, 2, 2, 2, 2).mean(axis=(3, 5)), rtol=1e-12)
    assert "digital:add" not in b.ledger.counts["p"]        # the column adds, not a digital unit
    # one 4-cell column with its 1-bit row drivers per window of one input (3 x 2 x 2 windows)
    assert b.pool_area["p"] == pytest.approx(12 * 4 * (costs.CELL_AREA + costs.dac_area(1)), rel=1e-12, abs=0)


def test_sinh_cells_pool_as_the_ngspice_column_does():
    rng = np.random.default_rng(1)
    x = rng.uniform(0, 2, (1, 1, 2, 2))                       # one 2x2 window: four rows of one column
    b = _backend(True)
    b.calibrating = True
    b.pool("p", "avg", np.full_like(x, 2.0), 2)               # the layer's range: 2.0 -> 0.1 V
    b.calibrating = False
    y = float(b.pool("p", "avg", x, 2).ravel()[0])
    v = x.ravel() / 2.0 * costs.POOL_V_MAX
    pool = AveragePool(4, t_read=costs.POOL_T_READ)
    engine = get_engine()
    pool.load(engine)
    m = pool.simulate(engine, {**{f"v_{i}": float(vi) for i, vi in enumerate(v)}, "g": costs.POOL_CELL_G}).values
    assert y / 2.0 * costs.POOL_V_MAX == pytest.approx(m["y"], rel=1e-6)    # pooled value, V
    assert b.ledger.counts["p"]["pool_array_energy"] == pytest.approx(m["energy"], rel=1e-6, abs=0)
    # the read law's curvature is in the result: above the plain mean
    assert y > x.mean()
