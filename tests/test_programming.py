"""Write-verify programming through the ReRAM model's switching law, and the required
session: one array programmed as sigmoid, then tanh, then exp, each transfer checked."""

from __future__ import annotations

import math

import numpy as np
import pytest

from cimspice.circuits import CircuitError
from cimspice.circuits.nonlinear import fit_program, transfer_error
from cimspice.circuits.programming import ArrayProgrammer, WriteVerify
from cimspice.circuits.pwl_unit import PwlUnit

V0 = 0.25  # reram.lib


def test_write_verify_reaches_tolerance_both_directions(engine):
    prog = ArrayProgrammer((3,), initial=10e-6)
    target = np.array([60e-6, 2e-6, 10e-6])  # a SET, a RESET, and nothing to do
    report = prog.program(engine, target)
    s = prog.settings
    assert report.converged.all()
    assert np.all(np.abs(report.residual) <= s.tol_rel * target + s.tol_abs)
    assert report.pulses[2] == 0 and report.pulses[0] > 0 and report.pulses[1] > 0
    # the verified read is the model's state: the read law at the final w
    np.testing.assert_allclose(prog.conductance(), report.conductance, rtol=1e-6)
    # a read-only cell spends the verify read: integral of v * G v0 sinh(v/v0) over the read
    # pulse (1 ns edges, t_read flat top), written out here
    g = report.conductance[2]
    flat = g * V0 * math.sinh(s.v_read / V0) * s.v_read * s.t_read
    # rising edge (v = v_read t / 1 ns): 1 ns / v_read * int_0^v_read v G v0 sinh(v/v0) dv;
    # the run ends at the end of the flat top, so there is no falling edge
    edge = 1e-9 / s.v_read * g * V0 * (V0 * s.v_read * math.cosh(s.v_read / V0) - V0 ** 2 * math.sinh(s.v_read / V0))
    assert report.energy_cells[2] == pytest.approx(flat + edge, rel=0.02, abs=0)
    assert report.time_cells[2] == pytest.approx(s.t_pulse + 5e-9 + s.t_read, rel=1e-9, abs=0)


def test_device_variation_is_compensated_by_verify(engine):
    prog = ArrayProgrammer((4,), initial=5e-6, sigma_lng=0.2, sigma_vth=0.03, seed=3)
    assert np.ptp(prog.scale) > 0.05
    target = np.full(4, 30e-6)
    report = prog.program(engine, target)
    assert report.converged.all()
    assert np.max(np.abs(report.residual / target)) < 0.01


def test_bad_programming_requests_fail_clearly(engine):
    with pytest.raises(CircuitError, match="target shape"):
        ArrayProgrammer((2, 2)).program(engine, np.ones(3) * 1e-5)
    with pytest.raises(CircuitError, match="v_read"):
        WriteVerify(v_read=0.8)
    with pytest.raises(CircuitError, match="sigma_lng"):
        ArrayProgrammer((2,), sigma_lng=-1)


def test_one_array_programmed_sigmoid_then_tanh_then_exp(engine):
    """One engine, one array, states carried: each transfer within its stated error."""
    segments = 4
    unit = PwlUnit("sigmoid", segments, timing=False)
    prog = ArrayProgrammer((segments, 4), initial=unit.program_.conductances)  # fresh array
    prog.w[:] = 0.5  # start from an unrelated state, not from the sigmoid program
    previous = None
    for function in ("sigmoid", "tanh", "exp"):
        target = unit.program(function).conductances
        report = prog.program(engine, target)
        assert report.converged.all()
        s = prog.settings
        assert np.all(np.abs(report.residual) <= s.tol_rel * target + s.tol_abs)
        if previous is not None:  # this write started where the last one ended
            assert report.pulses.sum() > 0
        unit.load(engine)
        unit.set_conductances(engine, report.conductance)
        x, y = unit.transfer(engine, 81)
        measured = transfer_error(function, x, y)
        xs = np.linspace(unit.program_.x_min, unit.program_.x_max, 3001)
        fit = transfer_error(function, xs, unit.program_.predict(xs))
        # stated error: the fit's own error plus what the verify tolerance allows, i.e. every
        # cell of the selected segment off by its tolerance at full read voltage
        tol = s.tol_rel * target + s.tol_abs
        slack = np.max(tol.sum(axis=1)) * V0 * math.sinh(0.2 / V0) / unit.program_.i_per_y
        assert measured["max"] <= fit["max"] + slack + 1e-3 * measured["full_scale"]
        assert measured["max_pct"] < 11.0
        previous = report
    assert len(prog.history) == 3
    # energies and times are positive and add up per cell
    assert all(r.energy > 0 and r.time > 0 for r in prog.history)


def test_rewriting_the_same_program_costs_only_verify_reads(engine):
    a, b = fit_program("sigmoid", 4), fit_program("exp", 4)
    prog = ArrayProgrammer((4, 4), initial=a.conductances)
    again = prog.program(engine, a.conductances)
    assert again.pulses.sum() == 0  # every cell already verifies
    switch = prog.program(engine, b.conductances)
    assert switch.pulses.sum() > 0 and switch.energy > 10 * again.energy
