"""Provenance of every figure of ``cimspice simulate``."""

from __future__ import annotations

from cimspice.sim import costs


def test_every_cost_figure_cites_its_source():
    figures = {name: v for name, v in vars(costs).items() if isinstance(v, float) and name.isupper()}
    figures |= {f"{name}[{k!r}]": v for name, d in vars(costs).items() if isinstance(d, dict) and name.isupper()
                for k, v in d.items()}
    assert len(figures) > 30
    for name, figure in figures.items():
        assert isinstance(figure, costs.Cited) and figure.source, name
        record = figure.record()
        assert record["kind"] == "cited" and record["constant"].startswith("costs.") and record["figure"] == figure
    assert costs.ADC8_ENERGY.record() == {"kind": "cited", "constant": "costs.ADC8_ENERGY",
                                          "source": "ISAAC (Shafiee et al., ISCA 2016)", "figure": 16e-3 / (8 * 1.28e9)}
    six = costs.adc_energy(6).record()
    assert six["constant"] == "costs.ADC8_ENERGY" and "Walden" in six["source"] and "2**(6 - 8)" in six["scaling"]
