"""The bit-line sense circuit as a library block (``sense.circuit``, cimspice.sim.sense_circuit):
the shipped `tia_array` block against ngspice, the energy over a longer read, and refusals."""

from __future__ import annotations

import numpy as np
import pytest

from cimspice.circuits import TransimpedanceAmplifier
from cimspice.library.blocks import CATALOGUE
from cimspice.paths import default_library_path
from cimspice.sim import SimError
from cimspice.sim.backend import AnalogBackend
from cimspice.sim.network import Sequential
from cimspice.sim.simulate import simulate
from cimspice.sim.spec import load_system_spec
from cimspice.surrogate import load_library

VDD = 1.1


@pytest.fixture(scope="module")
def shipped():
    return load_library(default_library_path())


def _bench(t_read: float) -> TransimpedanceAmplifier:
    """The shipped block's circuit, with its own design arguments and a chosen read window."""
    block = CATALOGUE["tia_array"]
    return TransimpedanceAmplifier(**{**block.circuit_args, "t_read": t_read})


def test_energy_over_a_longer_read_matches_ngspice(engine, shipped):
    """A 40 ns read simulated in ngspice costs what the simulator charges for it: the block's
    10 ns energy plus its static power for the other 30 ns (the circuit has settled)."""
    backend = AnalogBackend(load_system_spec("baseline").updated({"array": {"t_read": 4e-8}}))
    tia = _bench(4e-8)
    engine.load(tia.netlist())
    for i_in in (-2.2e-4, 0.0, 1.3e-4, 2.9e-4):
        spice = tia.simulate(engine, {"i_in": i_in, "v_ref": 0.55, "vdd": VDD}).values["energy_read"]
        model = float(backend.sense.energy(np.array([i_in])))
        assert model == pytest.approx(spice, rel=0.01), i_in
    # and the 10 ns read of the shipped baseline is the block's own window: no extension
    base = AnalogBackend(load_system_spec("baseline"))
    e10 = float(shipped["tia_array.energy_read"].predict({"i_in": [1.3e-4], "vdd": [VDD]})[0])
    assert float(base.sense.energy(np.array([1.3e-4]))) == pytest.approx(e10, rel=1e-12)


def test_transfer_refers_the_tia_output_back_to_the_column_current(engine):
    """sense(i) = (v_ref - v_out(i)) / r_f with the design's v_ref and r_f, and v_out as ngspice
    gives it: within the block's validation error of the current itself, and saturating (not
    extrapolating) beyond the characterized +-300 uA."""
    backend = AnalogBackend(load_system_spec("baseline"))
    tia = _bench(1e-8)
    engine.load(tia.netlist())
    i = np.array([-2.7e-4, -5e-5, 0.0, 8e-5, 2.5e-4])
    spice = np.array([tia.simulate(engine, {"i_in": v, "v_ref": 0.55, "vdd": VDD}).values["v_out"] for v in i])
    sensed = backend.sense.sense(i)
    assert np.max(np.abs(sensed - (0.55 - spice) / 1500.0)) < 0.01 * 3e-4   # 1 % of full scale
    assert np.max(np.abs(sensed - i)) < 0.01 * 3e-4                         # a near-ideal TIA
    edge = backend.sense.sense(np.array([3e-4, 1e-3]))
    assert edge[1] == pytest.approx(edge[0], rel=1e-12)


def test_zero_inputs_cost_the_tias_quiescent_read(shipped):
    """Bit-serial zero inputs drive no row: every read senses 0 A and costs energy_read(0)."""
    rng = np.random.default_rng(1)
    net = Sequential.from_config("one", [{"type": "dense", "name": "fc"}],
                                 {"fc.W": rng.normal(size=(32, 6)), "fc.b": np.zeros(6)}, {})
    x = np.zeros((10, 32))
    result = simulate("baseline", net, (x, np.zeros(10, int), x))
    spec = result.spec
    conversions = 6 * spec.mapping.slices * spec.inputs.bits
    e0 = float(shipped["tia_array.energy_read"].predict({"i_in": [0.0], "vdd": [VDD]})[0])
    record = next(r for r in result.costs.sources["energy"]["sense"] if r["key"] == "tia_array.energy_read")
    assert record["value"] == pytest.approx(conversions * e0, rel=1e-6)
    assert record["at"] == {"vdd": VDD}


def test_a_read_shorter_than_the_characterized_window_is_refused():
    spec = load_system_spec("baseline").updated({"array": {"t_read": 5e-9}})
    with pytest.raises(SimError, match=r"sense.circuit: array.t_read 5e-09 s is shorter than the 1e-08 s"):
        AnalogBackend(spec)


def test_sense_circuit_and_surrogate_keys_together_are_refused():
    with pytest.raises(SimError, match="sense.circuit.*not both"):
        load_system_spec("baseline").updated({"sense": {"type": "surrogate", "surrogate": "tia.v_out"}})


def test_a_block_the_library_lacks_is_refused_with_the_build_command():
    spec = load_system_spec("baseline").updated({"sense": {"circuit": "tia_big"}})
    with pytest.raises(SimError, match=r"sense.circuit.v_out: .*has no 'tia_big.v_out'; add block tia_big with "
                                       r"`cp .*default.h5 library.h5 && cimspice library build"):
        AnalogBackend(spec)


def test_an_operating_point_outside_the_table_is_refused():
    # 0.92 V: inside the sample-and-hold's table (0.9-1.3 V), below the TIA's (0.95); the SAR
    # (1.1-1.3 V) would refuse first, so the ADC is ideal here
    spec = load_system_spec("baseline").updated({"operating_point": {"vdd": 0.92, "v_in": 0.55},
                                                 "inputs": {"driver": None},
                                                 "adc": {"circuit": None, "transfer": "ideal"}})
    with pytest.raises(SimError, match=r"sense.circuit.v_out: operating_point vdd=0.92 is outside "
                                       r"tia_array.v_out's characterized range \[0.95, 1.3\]"):
        AnalogBackend(spec)


def test_measured_transfer_through_the_inverting_tia_is_the_mirrored_converter():
    """An inverting TIA before a converter with known transitions, built as the bench builds it
    (tests/test_layer_library.py): references put zero current half an LSB above mid-scale,
    unsigned code k = transitions passed, signed code 2**(N-1) - k. The simulator's converter
    for an inverting sense gives those codes; the converter's INL taken the other way round
    (not mirrored) does not."""
    from cimspice.sim.peripherals import MeasuredAdc
    from cimspice.sim.sense_circuit import mirrored_inl

    bits, rng = 4, np.random.default_rng(3)
    n, c = 2 ** bits, 2 ** (bits - 1) - 1
    inl = rng.uniform(-0.35, 0.35, n - 1)
    inl[2] = 0.45                                                 # one transition far off
    transitions = np.arange(1, n) + inl                          # on the converter's own scale
    x = rng.uniform(-1.1, 1.1, 50_000) * c                       # current in LSB (lsb = 1)
    u_converter = n / 2 + 0.5 - x                                # the TIA inverts
    k = np.searchsorted(transitions, u_converter, side="right")
    expected = np.clip(n // 2 - k, -c, c)
    np.testing.assert_array_equal(MeasuredAdc(bits, mirrored_inl(inl)).convert(x, 1.0), expected)
    assert np.mean(MeasuredAdc(bits, inl).convert(x, 1.0) != expected) > 0.02
    # and the shipped baseline builds its converter that way: it reads through tia_array
    backend = AnalogBackend(load_system_spec("baseline"))
    adc = backend.adc(6)
    np.testing.assert_array_equal(adc.inl, mirrored_inl(backend.blocks.adc_inl[6]))
