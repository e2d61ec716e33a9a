"""Study ``training-block``: Marinella et al. (IEEE JETCAS 2018) on our characterized circuits.

An analog ReRAM block runs the three kernels of backpropagation training: vector-matrix
multiply (VMM, forward), transposed multiply (MVM^T, backward, the same array read the other
way) and the outer-product update (OPU, programming pulses). The paper designs a 1024 x 1024
block with time-coded inputs, an integrator and a ramp ADC per column, on high-resistance
cells, and compares it with digital ReRAM and SRAM blocks. Here, in one run:

1. an MLP (64-300-10, sigmoid: the paper's hidden width) is trained on scikit-learn's digits
   in float and on the analog block (:mod:`.analog_training`: quantised VMM/MVM^T, pulse
   updates through the device law measured in ngspice on the paper's device card,
   ``netlists/reram_jetcas.lib``);
2. the 1024 x 1024 block, holding cells drawn from the trained network and driven by the
   inputs its kernels saw, is read as an array on the crossbar solver, wires included
   (:mod:`.block_array`);
3. the integrator is sized for the charge and current that read carries and simulated at
   that size in ngspice, with the ramp ADC, the programming pulse (its width from the device
   law), the digital ReRAM block's sense amplifier and write pulse (:mod:`.block_circuits`);
4. energy and latency per kernel of the analog, digital ReRAM and SRAM blocks
   (:mod:`.block_costs`), every claim of the abstract judged against the case fixed in
   :data:`DEFAULT`, and the same evaluation repeated with each assumption moved
   (:mod:`.block_sensitivity`).
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import numpy as np

from ..circuits.devices import RERAM, reram_card
from ..sim.zoo import load_dataset
from ..spice import get_engine
from .analog_training import predict, reference, train_analog, train_float
from .block_case import Case, Context, evaluate
from .block_circuits import Bench
from .block_report import write_report
from .block_sensitivity import sensitivity
from .provenance import collected, record_card

__all__ = ["run"]

log = logging.getLogger(__name__)

# The analog device card (the paper's high-resistance cells) and the digital ReRAM block's
# binary cell (the shipped HfOx card, 1-100 uS)
CARD = ("reram_jetcas.lib", "reram_jetcas")
# The case, fixed before comparing with the paper: its block (1024 x 1024, 8-bit time-coded
# inputs and 8-bit ramp ADCs, 4-bit updates: 3 magnitude bits and a sign, so up to 7 pulses
# per phase; 300 hidden units), a 1 ns clock for the input code and the ramp (the 127-step
# window and the 256-step ramp then take 127 + 256 ns, the paper's 0.384 us VMM), 8-bit
# weight steps, 20 mV IR-drop bound [Marinella]; pulses of 1.2 V (the model's threshold is
# 1.05 V) and digital writes of 1.5 V; 8 time slices per array read (0.5 % from the exact
# integral, a tenth of what the wires take).
DEFAULT = dict(n=1024, slices=8, adc_bits=8, input_bits=8, t_lsb=1e-9, hidden=300, epochs=10, w_range=3.0,
               max_pulses=7, weight_bits=8, pulse_v=1.2, write_v=1.5, ir_drop_max=0.02, seed=0)
QUICK = dict(DEFAULT, n=128, slices=4, adc_bits=5, hidden=16, epochs=2)


def _train(cfg, card, law):
    """Float, analog (the device law) and analog (exact updates) training; accuracies, pulse
    and flip counts, the analog network's cells (S) and the inputs its kernels saw."""
    x, y = load_dataset("mlp", "train")
    xt, yt = load_dataset("mlp", "test")
    common = dict(hidden=cfg["hidden"], epochs=cfg["epochs"], w_range=cfg["w_range"], adc_bits=cfg["adc_bits"],
                  input_bits=cfg["input_bits"], card=card)
    start = time.perf_counter()
    W_float, flips = train_float(x, y, hidden=cfg["hidden"], epochs=cfg["epochs"], count_bit_flips=cfg["weight_bits"])
    W_dev, counts = train_analog(x, y, law, max_pulses=cfg["max_pulses"], **common)
    W_ideal, _ = train_analog(x, y, None, **common)
    acc = {k: float(np.mean(predict(W, xt) == yt)) for k, W in (("float", W_float), ("device", W_dev),
                                                                ("ideal", W_ideal))}
    g_ref, g_unit = reference(card, cfg["w_range"])
    g_cells = np.concatenate([np.clip(g_ref + W.ravel() * g_unit, card.g_off, card.g_on) for W in W_dev])
    h = 1.0 / (1.0 + np.exp(-(x @ W_dev[0])))
    pulses = (counts["set"] + counts["reset"]) / (counts["opu"] * g_cells.size)
    return dict(acc=acc, flips=flips, counts=counts, pulses_per_cell=pulses, g_cells=g_cells,
                inputs=np.concatenate([x.ravel(), h.ravel()]), seconds=time.perf_counter() - start)


@collected
def run(out_dir, quick: bool = False, progress: bool | None = None) -> Path:
    t0 = time.perf_counter()
    cfg = QUICK if quick else DEFAULT
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    card = record_card(reram_card(*CARD))
    record_card(RERAM)                     # the digital block's binary cell
    bench = Bench(get_engine())
    law = bench.pulse_law(card, cfg["pulse_v"], cfg["w_range"], cfg["weight_bits"])
    trained = _train(cfg, card, law)
    ctx = Context(bench=bench, card=card, digital_card=RERAM, n=cfg["n"], slices=cfg["slices"],
                  input_bits=cfg["input_bits"], weight_bits=cfg["weight_bits"], w_range=cfg["w_range"],
                  max_pulses=cfg["max_pulses"], ir_drop_max=cfg["ir_drop_max"], g_cells=trained["g_cells"],
                  input_values=trained["inputs"], pulses_per_cell=trained["pulses_per_cell"], flips=trained["flips"],
                  seed=cfg["seed"], t_lsb=cfg["t_lsb"])
    case = Case(adc_bits=cfg["adc_bits"], t_lsb=cfg["t_lsb"], pulse_v=cfg["pulse_v"], write_v=cfg["write_v"])
    nominal = evaluate(ctx, case)
    log.info("training-block: nominal case evaluated; sensitivity cases next")
    swings = sensitivity(ctx, case)
    return write_report(out, cfg, ctx, trained, nominal, swings, time.perf_counter() - t0)
