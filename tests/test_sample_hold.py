"""The column sample-and-hold (cimspice.circuits.sample_hold) against oracles that share no
code with it: the 1/C limit of the held value, the RC settling of a switch whose on-resistance
a separate `ngspice -b` operating point measures, charge and gate-charge bookkeeping by hand
from the model card's numbers, and `cimspice library build --only sample_hold` end to end."""

from __future__ import annotations

import contextlib
import io
import math

import pytest

from cimspice.circuits import CircuitError, get_circuit
from cimspice.circuits.sample_hold import SampleHold
from cimspice.cli import main
from cimspice.paths import netlist_path
from cimspice.surrogate import load_blocks, load_library

LSB = 0.5 / 2 ** 8  # V: 8 bits over 0.5 V
# What the TT cards of netlists/ptm45.lib give a gate, per metre of width: oxide capacitance
# eps_ox / toxe (NMOS toxe 1.14 nm, PMOS 1.26 nm) over Leff = L + xl - 2 lint = 50 - 20 - 7.5
# = 22.5 nm, plus the source and drain overlaps cgso = cgdo = 1.1e-10 F/m.
EPS_OX = 3.9 * 8.854e-12
GATE_N = EPS_OX / 1.14e-9 * 22.5e-9 + 2 * 1.1e-10
GATE_P = EPS_OX / 1.26e-9 * 22.5e-9 + 2 * 1.1e-10


def measure(engine, point, **sizes) -> dict:
    circuit = SampleHold(**sizes)
    circuit.load(engine)
    return circuit.simulate(engine, point).values


def test_held_value_tends_to_v_in_as_the_switch_charge_spreads_over_more_capacitance(engine):
    # The switch leaves a fixed charge on the hold node: what its channel and overlaps inject
    # when it opens and what leaks through its gates over the hold. So error = Q / C_hold for
    # any C_hold well above the switch's own ~1.5 fF: error * C the same at 0.1 and 0.4 pF
    # (to the stated 5 %), and the held value -> v_in as C_hold grows. At v_in 0.85 V, where
    # the 100 ns hold leaks most, so Q is well above ngspice's tolerances.
    point = {"v_in": 0.85, "t_sample": 20e-9}  # 20 ns: settled through 2.8 kOhm on 0.4 pF
    errors = {c: measure(engine, point, c_hold=c)["error"] for c in (0.1e-12, 0.4e-12)}
    charge = errors[0.1e-12] * 0.1e-12
    assert abs(charge) > 1e-17  # a real charge, 10 LSB-fF: the limit is not met trivially
    assert errors[0.4e-12] * 0.4e-12 == pytest.approx(charge, rel=0.05)
    assert abs(errors[0.4e-12]) < 0.1 * LSB


def switch_resistance(batch, circuit: SampleHold, vdd: float, v: float) -> float:
    """On-resistance (ohm) of the circuit's transmission gate at ``v`` (V) on both sides, from
    an operating point of the switch alone in a separate ngspice: 1 mV across it, I read back."""
    deck = "\n".join([
        "transmission gate on-resistance",
        f'.lib "{netlist_path("ptm45.lib")}" tt',
        f"vdd vdd 0 dc {vdd}", f"vg g 0 dc {vdd}", f"vin a 0 dc {v}", f"vh b 0 dc {v - 1e-3}",
        f"mn a g b 0 nmos_vtg w={circuit.w_n} l=50n",
        f"mp a 0 b vdd pmos_vtg w={circuit.w_p} l=50n",
        ".end",
    ])
    return 1e-3 / batch(deck, ["i(vh)"])["i(vh)"]


@pytest.mark.parametrize("vdd", [1.1, 0.9])
def test_acquisition_settles_in_the_switch_rc_times_ln_2_to_the_9(engine, batch, vdd):
    # A step of v_in = 0.5 V (the ADC's full scale) from 0 V settling to half an LSB of 8 bits:
    # ln(0.5 V / (LSB / 2)) = ln(2^9) time constants of r_on * C_hold. On 0.5 pF the switch's
    # own capacitance (~1.5 fF, 0.3 %) and the clock edges (~50 ps of 9-19 ns) do not count;
    # r_on is the small-signal one at the final value, and the start of the step, with the
    # NMOS strongly on from a low hold node, is a little faster: within the stated 5 %.
    c_hold, v_in = 0.5e-12, 0.5
    circuit = SampleHold(c_hold=c_hold, t_hold=1e-9)
    circuit.load(engine)
    t_acq = circuit.simulate(engine, {"v_in": v_in, "vdd": vdd, "t_sample": 40e-9}).values["t_acq"]
    tau = switch_resistance(batch, circuit, vdd, v_in) * c_hold
    assert math.log(v_in / (LSB / 2)) == pytest.approx(9 * math.log(2))
    assert t_acq == pytest.approx(tau * 9 * math.log(2), rel=0.05)


def test_energy_is_the_hold_charge_at_vdd_plus_the_clocked_gates(engine):
    vdd, v_in = 1.1, 0.55
    point = {"v_in": v_in, "vdd": vdd, "t_sample": 20e-9}
    # the hold capacitor's share exactly: the input delivers C v_in from 0 V, priced at vdd
    big, small = (measure(engine, point, c_hold=c, t_hold=1e-9)["energy"] for c in (0.4e-12, 0.1e-12))
    assert big - small == pytest.approx(0.3e-12 * v_in * vdd, rel=0.01)
    # at the default size, a 1 ns hold (its leakage, ~25 nA from vdd, is 0.03 fJ): the gate
    # charge of every gate vdd drives once per period (the switches, the dummies, the chains'
    # second stages; the first stages hang on the ideal clock) is a floor; the chains' drain
    # junctions, the switches' junctions charged from the input and the edges' short-circuit
    # current add up to about twice as much again (measured 3.2x the gate part): band 1-4x.
    circuit = SampleHold(t_hold=1e-9)
    circuit.load(engine)
    energy = circuit.simulate(engine, {"v_in": v_in, "vdd": vdd}).values["energy"]
    switches = 1.5 * (circuit.w_n * GATE_N + circuit.w_p * GATE_P)
    chains = 2 * sum(w * GATE_N + 2 * w * GATE_P for w in circuit.widths[1:])
    hold, gates = circuit.c_hold * v_in * vdd, (switches + chains) * vdd ** 2
    assert hold + gates < energy < hold + 4 * gates


def test_dummy_switches_cancel_most_of_the_charge_injection(engine):
    # Without dummies the channel charge of the opening switch lands on 10 fF as a pedestal of
    # millivolts; the half-size dummies, turning on as the switches turn off, take it up.
    for v_in in (0.3, 0.55, 0.85):
        plain = measure(engine, {"v_in": v_in}, dummy=False)["pedestal"]
        cancelled = measure(engine, {"v_in": v_in})["pedestal"]
        assert abs(plain) > LSB
        assert abs(cancelled) < 0.1 * abs(plain)


@pytest.mark.parametrize("make, message", [
    (lambda e: SampleHold().simulate(e, {"v_in": 1.2}),
     "sample_hold: parameter v_in: 1.2 V outside the circuit's bounds [0.2, 0.9] V"),
    (lambda e: SampleHold().simulate(e, {"t_sample": 1e-12}), "parameter t_sample: 1e-12 s outside"),
    (lambda e: SampleHold().simulate(e, {"v_prev": 0.3}), "unknown parameter 'v_prev'"),
    (lambda e: SampleHold(c_hold=-1e-15), "sample_hold: c_hold"),
    (lambda e: SampleHold(w_n=0.1e-6), "sample_hold: w_n"),
    (lambda e: SampleHold(dummy="yes"), "sample_hold: dummy must be true or false, got 'yes'"),
    (lambda e: get_circuit("sample_hold", corner="typ"), "sample_hold: corner 'typ' is not one of tt, ff, ss"),
    (lambda e: get_circuit("sample_hold", c_hold_f=1e-14), "circuit sample_hold: "),
])
def test_bad_sizes_and_parameters_are_one_line_errors(engine, make, message):
    with pytest.raises(CircuitError) as error:
        make(engine)
    assert message in str(error.value) and "\n" not in str(error.value)


@pytest.mark.slow  # ~10 s: 15 + 8 points and three fits
def test_library_build_only_sample_hold_quick(tmp_path):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(["library", "build", "-o", str(tmp_path / "lib.h5"), "--quick", "--only", "sample_hold",
                     "--no-progress"])
    assert code == 0, out.getvalue()
    library, blocks = load_library(tmp_path / "lib.h5"), load_blocks(tmp_path / "lib.h5")
    assert sorted(library) == ["sample_hold.energy", "sample_hold.error", "sample_hold.t_acq"]
    assert blocks["sample_hold"]["area"] == pytest.approx(SampleHold().area())
    for s in library.values():
        assert 0 < s.validation["max_pct"][0] < 10  # 5 x 3 grid points; the full build is under 1 %
