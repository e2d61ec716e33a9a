"""The papers the studies reproduce: their claims, and the constants a study takes from
them, in one place. A report prints each claim beside the value measured in its run.

[Kim] Y. Kim, H. Kim, D. Ahn, J.-J. Kim, "Input-Splitting of Large Neural Networks for
    Power-Efficient Accelerator with Resistive Crossbar Memory Array", ISLPED 2018,
    doi:10.1145/3218603.3218605. A binarized network's layer wider than an array is split
    so that each array's slice has its own batch norm and sign, read by a 1-bit sense
    amplifier instead of a partial-sum ADC; the groups' signs are merged by majority and
    the split network is retrained. Its settings (network, array sizes, merge, training)
    are taken from the authors' code, github.com/YulhwaKim/RRAMScalable_BNN, which goes with
    the extended version, Kim, Kim & Kim, "Neural Network-Hardware Co-design for Scalable
    RRAM-based BNN Accelerators", arXiv:1811.02187.
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

__all__ = ["CLAIMS", "CROSSSIM_TAOX", "MARINELLA_LATENCY", "Claim"]

# Constants the studies price things with (beyond what they measure in ngspice) live with the
# simulator's, in cimspice/sim/costs.py, each with its source.

# [Marinella] Table V, latency (s) of one VMM, MVM and OPU on the 1024 x 1024 block. Their sums
# give the abstract's ratios: (176 + 176 + 340) / (0.384 + 0.384 + 0.512) = 540x against digital
# ReRAM, (4 + 32 + 8) / 1.28 = 34x against SRAM. (Taken from a summary of the paper's table; the
# check against the abstract is what vouches for them.)
MARINELLA_LATENCY = {"analog": (0.384e-6, 0.384e-6, 0.512e-6), "digital ReRAM": (176e-6, 176e-6, 340e-6),
                     "SRAM": (4e-6, 32e-6, 8e-6)}


# What the training-block study's device card (netlists/reram_jetcas.lib) was checked against:
# the TaOx devices [Marinella]'s accuracy analysis used, in Sandia's CrossSim. Each device's
# measured conductance bins (S), github.com/sandialabs/cross-sim-data, lookup_tables/TaOx_all/
# 1..41/dG_{increasing,decreasing}.txt (row 2): the smallest and largest bin over the 41 devices,
# each device's window max/min (its range over the devices and median); and the window CrossSim's
# training uses, the 10-90 % part of the pooled range (github.com/sandialabs/cross-sim,
# training/training_net.py v2.0: Gmin_relative 0.1, Gmax_relative 0.9), for its small, medium
# and large device sets. Read from those files for issue 20; the paper's own text was not reachable.
CROSSSIM_TAOX = {"devices": 41, "g_min": (4.18e-6, 30.55e-6), "g_max": (102e-6, 184.5e-6), "window": (4.36, 26.0),
                 "window_median": 13.4, "window_used": (6.85, 7.49)}


@dataclass(frozen=True)
class Claim:
    """A headline figure of a paper: ``value`` in ``unit`` (a ratio when unit is "x")."""

    source: str
    text: str
    value: float
    unit: str
    shown: str = ""  # how the report prints the paper's value when it is not a number ("degraded")


CLAIMS = {
    "kim.adc_power": Claim("Kim", "ADC power lower with input splitting than with high-resolution "
                                  "partial-sum ADCs", 32.0, "x"),
    "kim.chip_power": Claim("Kim", "chip power lower with input splitting", 3.0, "x"),
    "kim.accuracy": Claim("Kim", "accuracy kept after retraining the split network (change, points)", 0.0,
                          "points", shown="kept"),
    "marinella.mac_energy": Claim("Marinella", "energy per MAC of the analog ReRAM training block", 11e-15, "J"),
    "marinella.energy_vs_reram": Claim("Marinella", "energy advantage over a similar block using only digital ReRAM",
                                       270.0, "x"),
    "marinella.latency_vs_reram": Claim("Marinella", "latency advantage over the digital ReRAM block", 540.0, "x"),
    "marinella.energy_vs_sram": Claim("Marinella", "energy advantage over an SRAM-based block", 430.0, "x"),
    "marinella.latency_vs_sram": Claim("Marinella", "latency advantage over the SRAM-based block", 34.0, "x"),
    "marinella.accuracy": Claim("Marinella", "training accuracy of the analog block against numeric training "
                                             "(change, points)", float("nan"), "points", shown="degraded"),
    "demoura.gain": Claim("deMoura", "better than digital field-programmable approaches (abstract: 'better than "
                                     "analog and digital field-programmable approaches, up to 8.5x')", 8.5, "x"),
    "demoura.gain_analog": Claim("deMoura", "better than analog field-programmable approaches (the same sentence)",
                                 8.5, "x"),
    "delima.efficiency": Claim("deLima", "energy efficiency of ResNet-18 inference on the associative processor "
                                         "over crossbar in-memory accelerators (ternary weights)", 7.5, "x"),
    "delima.accuracy": Claim("deLima", "software accuracy retained with ternary weights on the associative "
                                       "processor (loss, points)", 0.0, "points"),
    "delima.movement": Claim("deLima", "activation movement in a crossbar design takes considerable energy "
                                       "(share of its energy)", float("nan"), "%", shown="considerable"),
    "delima.transfers": Claim("deLima", "the associative processor substantially reduces data transfers "
                                        "(crossbar's movement energy over the AP's)", float("nan"), "x",
                              shown="substantially"),
}
