"""Programming a network's arrays: on the tile threads, and through the programmed-chip cache
(sim/ir_drop.py, sim/program_cache.py).

The oracle of both is the serial run without a cache: threaded and cached programming must
give its tiles, outputs, ledger and generator state bit for bit. A spy on the solver (the
real condensation still runs) shows where and how often it ran.
"""

from __future__ import annotations

import threading

import numpy as np
import pytest

from cimspice.sim.backend import AnalogBackend
from cimspice.sim.crossbar import CrossbarSolver

SYSTEM = {"name": "prog", "array": {"rows": 16, "cols": 16, "cell": "sinh", "v0": 0.25, "cell_bits": 2,
                                    "v_read": 0.2},
          "mapping": {"weights": "differential", "slices": 2},
          "inputs": {"encoding": "dac", "bits": 4},
          "adc": {"bits": 6, "partial_sum_bits": 8},
          "nonidealities": {"ir_drop": True, "r_wire": 2.0, "cell_nonlinearity": True, "read_noise_sigma": 0.02,
                            "programming_sigma": 0.05}}
RNG = np.random.default_rng(11)
W, X = RNG.normal(size=(40, 12)), RNG.normal(size=(6, 40))       # 3 row tiles x 3 arrays of 16x16


def _system(**nonidealities):
    return dict(SYSTEM, nonidealities=dict(SYSTEM["nonidealities"], **nonidealities))


@pytest.fixture
def spy(monkeypatch):
    """The threads every transfer matrix was solved on (the solver itself runs)."""
    names: list[str] = []
    solve = CrossbarSolver.transfer_matrix

    def recorded(self, G, **kwargs):
        names.append(threading.current_thread().name)
        return solve(self, G, **kwargs)

    monkeypatch.setattr(CrossbarSolver, "transfer_matrix", recorded)
    return names


def _run(system=SYSTEM, threads=1, cache=None):
    """(outputs, ledger, generator state, backend) of matrix ``fc`` programmed and read."""
    backend = AnalogBackend(system, threads=threads, **({} if cache is None else {"program_cache": cache}))
    mat = backend.matvec("fc", W)
    mat.calibrate(X)
    if cache is not None:
        backend.program_cache.flush()
    y = mat(X)
    return y, dict(backend.ledger.counts["fc"]), backend.rng.bit_generator.state, backend


def _same(a, b):
    np.testing.assert_array_equal(a[0], b[0])
    assert a[1] == b[1] and a[2] == b[2]
    for s, t in zip(a[3].matrices["fc"].tiles, b[3].matrices["fc"].tiles):
        np.testing.assert_array_equal(s.diff.A, t.diff.A)
        np.testing.assert_array_equal(s.sq.A, t.sq.A)
        assert s.attenuation == t.attenuation


def test_arrays_are_programmed_on_the_tile_threads_as_one_thread_programs_them(spy):
    one = _run(threads=1)
    assert len(spy) == 9 and set(spy) == {threading.current_thread().name}
    spy.clear()
    two = _run(threads=2)
    assert len(spy) == 9 and all(name.startswith("cimspice-tile") for name in spy)
    _same(one, two)
