"""Study ``training-block``: Marinella et al. (IEEE JETCAS 2018) on our characterized circuits.

An analog ReRAM block runs the three kernels of backpropagation training: vector-matrix
multiply (VMM, forward), transposed multiply (MVM^T, backward, the same array read the other
way) and the outer-product update (OPU, programming pulses). The paper reports 11 fJ per MAC
for such a block with integrating sense and a ramp ADC per column, and large gains over
digital ReRAM and SRAM blocks. Here, in one run:

1. ngspice characterizes the block's circuits on the 45 nm cards: the switched-capacitor
   integrator (energy per integration cycle), the ramp ADC column (energy per conversion),
   the current sense amplifier (energy per bit read, for the digital ReRAM block), and the
   HfOx ReRAM model's response to SET and RESET programming pulses (state change and
   energy per pulse);
2. an MLP (64-hidden-10, sigmoid) is trained on scikit-learn's digits in float and on the
   analog block (:mod:`.analog_training`: quantised VMM/MVM^T, pulse updates through the
   device's measured law), accuracies compared;
3. energy and latency per MAC of each kernel for an ``n x n`` block, against a digital
   ReRAM block (weights as bits read by the sense amplifier, digital MACs) and an SRAM block,
   both priced in the same framework with the 45 nm figures of Horowitz (ISSCC 2014).
"""

from __future__ import annotations

import logging
import math
import time
from pathlib import Path

import numpy as np

from ..circuits import CurrentSenseAmplifier, Integrator, RampADC
from ..circuits.devices import RERAM
from ..circuits.programming import ArrayProgrammer, WriteVerify
from ..sim import costs
from ..sim.zoo import load_dataset
from ..spice import get_engine
from .analog_training import PulseLaw, predict, train_analog, train_float
from .report import Report, pyplot, save_figure

__all__ = ["run"]

log = logging.getLogger(__name__)

DEFAULT = dict(n=1024, adc_bits=8, hidden=36, epochs=10, pulse_v=1.2, pulse_t=5e-9, w_range=3.0, max_pulses=8,
               v_read=0.1, input_bits=8)
QUICK = dict(n=256, adc_bits=5, hidden=16, epochs=2, pulse_v=1.2, pulse_t=5e-9, w_range=3.0, max_pulses=8,
             v_read=0.1, input_bits=8)


def _pulse_law(engine, v, t_pulse) -> PulseLaw:
    """SET (+v) and RESET (-v) pulses of ``t_pulse`` on one cell at the middle of the
    conductance window, in ngspice; the law's constants from the state change."""
    g_mid = 0.5 * (RERAM.g_on + RERAM.g_off)
    out = {}
    for sign in (1, -1):
        cell = ArrayProgrammer((1,), initial=g_mid, settings=WriteVerify(t_pulse=t_pulse))
        w0 = float(cell.w[0])
        _, energy, _ = cell.pulse(engine, (0,), sign * v)
        w1 = float(cell.w[0])
        out[sign] = (math.log((1 - w0) / (1 - w1)) if sign > 0 else math.log(w0 / w1), energy)
    return PulseLaw(out[1][0], out[-1][0], out[1][1], out[-1][1])


def _sinh_power(v, g):
    """Mean power (W) of cells of conductance ``g`` (S) at read voltages ``v`` (V): V I(V)."""
    return float(np.mean(g) * np.mean(v * RERAM.v0 * np.sinh(v / RERAM.v0)))


def run(out_dir, quick: bool = False, progress: bool | None = None) -> Path:
    t0 = time.perf_counter()
    cfg = QUICK if quick else DEFAULT
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    engine = get_engine()
    n, bits = cfg["n"], cfg["adc_bits"]

    # ------------------------------------------------------- circuits in ngspice
    law = _pulse_law(engine, cfg["pulse_v"], cfg["pulse_t"])
    integ = Integrator()
    integ.load(engine)
    m_int = integ.simulate(engine, {}).values
    adc = RampADC(bits, n_columns=2)
    p = {k.name: k.default for k in adc.parameters}
    conv = adc.convert(engine, np.array([0.45, 0.85]) * (p["v_ref_hi"] - p["v_ref_lo"]) + p["v_ref_lo"])
    sa = CurrentSenseAmplifier()
    sa.load(engine)
    m_sa = sa.simulate(engine, {}).values
    e_int, e_adc, e_sa = float(m_int["energy"]), float(conv.energy_per_conversion), float(m_sa["energy"])
    t_adc = float(conv.t_conversion)

    # ------------------------------------------------------------- training
    x, y = load_dataset("mlp", "train")
    xt, yt = load_dataset("mlp", "test")
    t_train = time.perf_counter()
    W_float, flips = train_float(x, y, hidden=cfg["hidden"], epochs=cfg["epochs"], count_bit_flips=8)
    acc_float = float(np.mean(predict(W_float, xt) == yt))
    W_analog, counts = train_analog(x, y, law, hidden=cfg["hidden"], epochs=cfg["epochs"], w_range=cfg["w_range"],
                                    max_pulses=cfg["max_pulses"], adc_bits=bits, input_bits=cfg["input_bits"])
    acc_analog = float(np.mean(predict(W_analog, xt) == yt))
    # the same training on an ideal device (updates land exactly): the kernels' own cost
    W_ideal, _ = train_analog(x, y, None, hidden=cfg["hidden"], epochs=cfg["epochs"], w_range=cfg["w_range"],
                              adc_bits=bits, input_bits=cfg["input_bits"])
    acc_ideal = float(np.mean(predict(W_ideal, xt) == yt))
    t_train = time.perf_counter() - t_train
    cells = sum(W.size for W in W_analog)
    pulses_per_cell = (counts["set"] + counts["reset"]) / (counts["opu"] * cells)
    e_pulse = 0.5 * (law.energy_set + law.energy_reset)

    # ------------------------------------------------ energy per MAC, n x n block
    g_ref = 0.5 * (RERAM.g_on + RERAM.g_off)
    g_unit = (RERAM.g_on - g_ref) / cfg["w_range"]
    g_cells = np.concatenate([np.clip(g_ref + W.ravel() * g_unit, RERAM.g_off, RERAM.g_on) for W in W_analog])
    # Time-coded inputs, as in the paper's integrating read: each row is driven at v_read for
    # a time proportional to its input (up to the integration window), one pulse per row
    # and read; the cells dissipate P(v_read) for that time. Mean input: the digits' pixels
    # for the first layer, the trained hidden activations for the second.
    t_int = integ.t_window
    h = 1.0 / (1.0 + np.exp(-(x @ W_analog[0])))
    duty = float(np.mean(np.concatenate([x.ravel(), h.ravel()])))
    e_array = _sinh_power(np.array([cfg["v_read"]]), g_cells) * t_int * duty    # J per cell per read
    e_dac = costs.DAC1_ENERGY                                                    # one pulse per row
    vmm = {"array": e_array, "drivers": e_dac / n, "integrator": e_int / n, "adc": e_adc / n}
    opu = {"cells": pulses_per_cell * e_pulse,
           "drivers": 2 * cfg["max_pulses"] * costs.DAC1_ENERGY / n}
    kernels = {"VMM": vmm, "MVM^T": dict(vmm), "OPU": opu}
    lat = {"VMM": (t_int + t_adc) / n ** 2, "MVM^T": (t_int + t_adc) / n ** 2,
           "OPU": cfg["max_pulses"] * (cfg["pulse_t"] + 3e-9) / n ** 2}
    # digital blocks: 8-bit weights, int8 multiply + int32 add per MAC [Horowitz]
    HOROWITZ = costs.HOROWITZ
    mac = HOROWITZ["mult8"] + HOROWITZ["add32"]
    sram_read = 8 * HOROWITZ["sram_bit"]
    reram_read = 8 * (e_sa + _sinh_power(np.array([cfg["v_read"]]), g_cells) * 10e-9)
    e_write_bit = e_pulse
    digital = {
        "SRAM": {"VMM": sram_read + mac, "MVM^T": sram_read + mac, "OPU": 2 * sram_read + mac},
        "digital ReRAM": {"VMM": reram_read + mac, "MVM^T": reram_read + mac,
                          "OPU": reram_read + mac + flips * e_write_bit},
    }
    e_analog = {k: sum(v.values()) for k, v in kernels.items()}
    # area of the n x n block: cells (the simulator's cited cell area), per column an
    # integrator and a ramp-ADC column (their layout estimates, cimspice/circuits/area.py),
    # per row and column a driver; the SRAM block: 8 bits per weight in 6T cells of the same
    # layout rules (pull-down 0.3 um, pull-up 0.1 um, access 0.2 um, L 50 nm)
    from ..circuits.area import transistor_area
    area = {"cells": n * n * costs.CELL_AREA, "integrators": n * integ.area(), "ADC columns": n * adc.area(),
            "drivers": 2 * n * costs.DAC1_AREA}
    sram_cell = 2 * transistor_area(0.3e-6, 50e-9) + 2 * transistor_area(0.1e-6, 50e-9) + \
        2 * transistor_area(0.2e-6, 50e-9)
    area_sram = 8 * n * n * sram_cell

    # ----------------------------------------------------------------- report
    report = Report("Analog ReRAM training block (Marinella et al., JETCAS 2018) on cimspice's circuits", out)
    report.claim("marinella.mac_energy", e_analog["VMM"], 0.75 <= e_analog["VMM"] / 11e-15 <= 1.33,
                 f"{n}x{n} block, {bits}-bit ramp ADC and integrator per column, 45 nm cards. Per MAC the "
                 f"column circuits cost {(e_int + e_adc) / n * 1e15:.1f} fJ (integrator {e_int * 1e12:.2f} pJ "
                 f"and ADC {e_adc * 1e12:.2f} pJ per column read, shared by {n} rows) and the cells "
                 f"{e_array * 1e15:.2f} fJ at {cfg['v_read']} V (mean duty {duty:.2f} of {t_int * 1e9:.0f} ns). "
                 f"The largest part is the ramp ADC's {2 ** bits} comparator decisions per conversion on 45 nm "
                 f"cards; the paper sizes its periphery at 14/16 nm, where a comparator decision costs less.")
    setup = f"""
- Block: {n}x{n} ReRAM cells (netlists/reram.lib, window {RERAM.g_off * 1e6:.0f}-{RERAM.g_on * 1e6:.0f} uS,
  read law I = G v0 sinh(V/v0)), weights against a reference at the window's middle; inputs
  time-coded (rows at {cfg['v_read']} V for a time proportional to the input, {cfg['input_bits']}-bit resolution
  in the kernels; one 1-bit driver pulse per row and read, priced as in cimspice/sim/costs.py), an
  integrator and a {bits}-bit ramp ADC per column.
- Programming pulses: {cfg['pulse_v']} V, {cfg['pulse_t'] * 1e9:.0f} ns (SET positive, RESET negative), at most
  {cfg['max_pulses']} per cell per update, counts stochastically rounded and balanced at the reference state.
- Network: MLP 64-{cfg['hidden']}-10 (sigmoid), per-sample SGD, {cfg['epochs']} epochs, scikit-learn digits
  (1,437 training, 359 held-out images).
- Digital blocks (same framework): 8-bit weights, int8 multiply and int32 add per MAC; SRAM reads at
  {HOROWITZ['sram_bit'] * 1e12:.3f} pJ/bit [Horowitz]; digital ReRAM reads one cell per bit through the
  current sense amplifier simulated here, writes with the measured programming pulse per flipped bit
  ({flips:.2f} bits flip per weight and update in float training, counted on 8-bit weights).
"""
    report.heading("Circuits characterized in this run (ngspice, TT, 27 degC)")
    report.table(["circuit", "figure", "value"], [
        ["ReRAM SET pulse", "state change a_set (1 - w -> (1 - w) e^-a)", f"{law.a_set:.4f}"],
        ["ReRAM RESET pulse", "state change a_reset (w -> w e^-a)", f"{law.a_reset:.4f}"],
        ["ReRAM pulses", "energy per SET / RESET pulse at the reference state",
         f"{law.energy_set * 1e12:.2f} / {law.energy_reset * 1e12:.2f} pJ"],
        ["integrator", "energy per integration cycle", f"{e_int * 1e12:.2f} pJ"],
        [f"{bits}-bit ramp ADC", "energy per column conversion; conversion time",
         f"{e_adc * 1e12:.2f} pJ; {t_adc * 1e9:.0f} ns"],
        ["current sense amplifier", "energy per bit read", f"{e_sa * 1e15:.1f} fJ"],
    ])
    report.heading("Training accuracy on held-out digits")
    report.table(["training", "accuracy"], [
        ["float, per-sample SGD", f"{100 * acc_float:.2f} %"],
        ["analog block, ideal device (quantised kernels, exact updates)", f"{100 * acc_ideal:.2f} %"],
        ["analog block, the HfOx model's pulse response", f"{100 * acc_analog:.2f} %"],
    ])
    # how far a RESET pulse moves the state at the reference, in SET pulses
    reset_per_set = (1 - math.exp(-law.a_reset)) * _w_ref() / ((1 - _w_ref()) * (1 - math.exp(-law.a_set)))
    report.text(f"""
The {bits}-bit quantised kernels alone cost {100 * (acc_float - acc_ideal):.2f} points against float
training; the device's state-dependent steps cost {100 * (acc_ideal - acc_analog):.2f} more (SET slows as the
cell nears g_on, RESET near g_off, and the conductance is exponential in the state; at the reference a
RESET pulse moves the state {reset_per_set:.1f}x
as far as a SET pulse, which the pulse counts balance there only). Updates used {pulses_per_cell:.3f} pulses per
cell per sample on average (SET {counts['set']:,}, RESET {counts['reset']:,}). Training took {t_train:.0f} s.
""")
    report.heading(f"Energy and latency per MAC, {n}x{n} block")
    rows = []
    for k in kernels:
        rows.append([k, f"{e_analog[k] * 1e15:.2f}", f"{digital['digital ReRAM'][k] * 1e15:.0f}",
                     f"{digital['SRAM'][k] * 1e15:.0f}", f"{digital['digital ReRAM'][k] / e_analog[k]:.1f}x",
                     f"{digital['SRAM'][k] / e_analog[k]:.1f}x", f"{lat[k] * 1e15:.2f}"])
    report.table(["kernel", "analog (fJ/MAC)", "digital ReRAM (fJ/MAC)", "SRAM (fJ/MAC)", "vs digital ReRAM",
                  "vs SRAM", "analog latency (fs/MAC)"], rows)
    a_total = sum(area.values())
    report.table(["block area", *area, "total", "per weight", "SRAM array (8-bit weights, 6T)"],
                 [["mm^2", *(f"{v * 1e6:.4f}" for v in area.values()), f"{a_total * 1e6:.4f}",
                   f"{a_total / n ** 2 * 1e12:.3f} um^2", f"{area_sram * 1e6:.3f} ({area_sram / a_total:.1f}x)"]])
    report.table(["kernel", "component", "fJ per MAC"],
                 [[k, c, f"{v * 1e15:.3f}"] for k, comps in kernels.items() for c, v in comps.items()])
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6.5, 3.6))
    names = list(kernels)
    xs = np.arange(len(names))
    for k, (label, vals) in enumerate((("analog ReRAM block", [e_analog[n] for n in names]),
                                       ("digital ReRAM", [digital["digital ReRAM"][n] for n in names]),
                                       ("SRAM", [digital["SRAM"][n] for n in names]))):
        ax.bar(xs + (k - 1) * 0.27, np.array(vals) * 1e15, width=0.27, label=label)
    ax.set_yscale("log")
    ax.set_xticks(xs, names)
    ax.set_ylabel("energy per MAC (fJ)")
    ax.axhline(11, color="k", ls=":", lw=0.8, label="Marinella et al.: 11 fJ/MAC")
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3, axis="y", which="both")
    png = save_figure(fig, out / "energy_per_mac.png")
    report.figure(png, f"Energy per MAC of each kernel, {n}x{n} analog block against digital blocks")
    report.text(f"""
Analog latency per MAC is the kernel's time spread over the block's {n * n:,} cells (the block
computes every MAC of the kernel at once). The OPU's energy is dominated by the cells'
programming current: a {cfg['pulse_v']} V pulse through a ~{g_ref * 1e6:.0f} uS cell dissipates
{e_pulse * 1e12:.2f} pJ, so even {pulses_per_cell:.3f} pulses per cell per update cost more than a read.
""")
    return report.write(setup, time.perf_counter() - t0)


def _w_ref():
    g_ref = 0.5 * (RERAM.g_on + RERAM.g_off)
    return math.log(g_ref / RERAM.g_off) / math.log(RERAM.g_on / RERAM.g_off)
