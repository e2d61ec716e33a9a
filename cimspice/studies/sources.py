"""The papers the studies reproduce: their claims, and the constants a study takes from
them, in one place. A report prints each claim beside the value measured in its run.

[Kim] Y. Kim, H. Kim, J.-J. Park (Kim, Kim & Park), "Input-Splitting of Large Neural
    Networks for Power-Efficient Accelerator with Resistive Crossbar Memory Array",
    ISLPED 2018. Large layers split over arrays so that each array's output needs only a
    low-resolution ADC; the split network is retrained.
[Marinella] M. J. Marinella et al., "Multiscale Co-Design Analysis of Energy, Latency,
    Area, and Accuracy of a ReRAM Analog Neural Training Accelerator", IEEE JETCAS 8(1),
    2018.
[deMoura] R. F. de Moura, L. Carro, "Reprogrammable Non-Linear Circuits Using ReRAM for NN
    Accelerators", ACM TRETS 2023.
[deLima] J. P. C. de Lima et al., ternary-weight networks on racetrack-memory associative
    processors, 2024.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["CLAIMS", "Claim"]

# Constants the studies price things with (beyond what they measure in ngspice) live with the
# simulator's, in cimspice/sim/costs.py, each with its source.


@dataclass(frozen=True)
class Claim:
    """A headline figure of a paper: ``value`` in ``unit`` (a ratio when unit is "x")."""

    source: str
    text: str
    value: float
    unit: str


CLAIMS = {
    "kim.adc_power": Claim("Kim", "ADC power lower with input splitting than with high-resolution "
                                  "partial-sum ADCs", 32.0, "x"),
    "kim.chip_power": Claim("Kim", "chip power lower with input splitting", 3.0, "x"),
    "kim.accuracy": Claim("Kim", "accuracy kept after retraining the split network (loss, points)", 0.0,
                          "points"),
    "marinella.mac_energy": Claim("Marinella", "energy per MAC of the analog ReRAM training block", 11e-15, "J"),
    "demoura.gain": Claim("deMoura", "better than analog and digital field-programmable approaches, up to",
                          8.5, "x"),
    "delima.efficiency": Claim("deLima", "energy efficiency of associative processors over crossbar "
                                         "accelerators (ternary weights)", 7.5, "x"),
}
