"""ADC conversions priced with a characterized energy from the surrogate library."""

from __future__ import annotations

import pytest

from cimspice.characterize import parse_sweep_spec, run_sweep
from cimspice.sim import SimError
from cimspice.sim.simulate import simulate
from cimspice.sim.spec import load_system_spec
from cimspice.surrogate import fit_surrogates, load_library, save_library


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    # a real characterized energy (J): the StrongARM comparator's energy per decision over
    # the supply, from ngspice; the mechanism is the same for any ADC's energy surrogate
    tmp = tmp_path_factory.mktemp("lib")
    spec = parse_sweep_spec({"circuit": "strongarm", "circuit_args": {"measure_offset": False}, "design": "grid",
                             "outputs": ["energy"], "parameters": {"vdd": {"start": 0.9, "stop": 1.2, "num": 4}}})
    run_sweep(spec, tmp / "cmp.h5", executor="inline", progress=False)
    save_library(tmp / "lib.h5", fit_surrogates(tmp / "cmp.h5", models=["grid-linear"]))
    return tmp / "lib.h5"


def _spec(library, **adc):
    return load_system_spec("ideal").updated({"adc": {"bits": 6, "partial_sum_bits": 10, **adc},
                                              "library": str(library), "array": {"rows": 32, "cols": 32}})


def test_conversions_are_priced_with_the_characterized_energy(library):
    key = next(iter(load_library(library)))
    e = float(load_library(library)[key].predict({"vdd": [1.05]})[0])
    base = simulate(_spec(library), "mlp", n_samples=40)
    priced = simulate(_spec(library, energy={6: key}, energy_at={"vdd": 1.05}), "mlp", n_samples=40)
    conv6 = priced.costs.events["adc:6"]
    assert conv6 > 0 and priced.costs.events == base.costs.events       # same work, other price
    # the 6-bit conversions at the characterized energy, the 10-bit partial sums still at
    # the cited constant (no energy given for 10 bits)
    expected = conv6 * e + (base.costs.energy["adc"] - conv6 * _cited(6))
    assert priced.costs.events.get("adc:10", 0) > 0
    assert priced.costs.energy["adc"] == pytest.approx(expected, rel=1e-9, abs=0)
    assert priced.analog_metric == base.analog_metric


def _cited(bits):
    from cimspice.sim import costs
    return costs.adc_energy(bits)


@pytest.mark.parametrize("adc, match", [
    ({"energy": {6: "nope.energy"}}, "adc.energy.6.*not in the library"),
    ({"energy": {6: "KEY"}, "energy_at": {}}, "adc.energy.6: .*needs vdd.*give it in adc.energy_at"),
    ({"energy": {6: "KEY"}, "energy_at": {"vdd": 2.0}}, "energy_at"),
    ({"energy": {"six": "KEY"}}, "adc.energy: keys are ADC resolutions"),
])
def test_bad_adc_energy_fails_before_work(library, adc, match):
    key = next(iter(load_library(library)))
    adc = {k: ({b: (key if v == "KEY" else v) for b, v in val.items()} if k == "energy" else val)
           for k, val in adc.items()}
    with pytest.raises(SimError, match=match):
        simulate(_spec(library, **adc), "mlp", n_samples=5)
