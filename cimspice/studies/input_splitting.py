"""Study ``input-splitting``: Kim, Kim & Park (ISLPED 2018) on our characterized circuits.

A layer with more inputs than an array has rows is split over several arrays. The baseline
converts every array's partial sum with a high-resolution ADC and adds them digitally;
input splitting converts each array's output with the same low-resolution ADC as an
unsplit layer and retrains the split network so it tolerates that. The paper reports 32x
lower ADC power and 3x lower chip power at the same accuracy.

Here, in one run:

1. the SAR ADC (:class:`cimspice.circuits.SarADC`, transistor level on the 45 nm cards) is
   simulated in ngspice at every resolution the study uses, for its energy per conversion;
2. an MLP (64-128-128-10, ReLU) is trained in NumPy on scikit-learn's digits;
3. for each array size and ADC resolution, the system simulator runs the network with
   (a) partial sums through high-resolution ADCs, (b) input splitting as trained, (c) input
   splitting after split-aware retraining (:func:`.training.train_split_aware`), on the
   held-out digits; ADC energy is re-priced with the measured SAR energies, every other
   component with the simulator's cited constants.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import numpy as np

from ..circuits import TransimpedanceAmplifier
from ..sim.simulate import simulate
from ..sim.spec import load_system_spec
from ..sim.zoo import load_dataset
from ..spice import get_engine
from .adc_energy import conversion_energy, conversions, measure_adc_energy
from .report import Report, pyplot, save_figure
from .training import train_mlp, train_split_aware

__all__ = ["run"]

log = logging.getLogger(__name__)

CELL_BITS = 4  # 16 conductance levels: 15 weight magnitudes per sign on differential pairs
DEFAULT = dict(rows=(64, 32, 16), adc_bits=(3, 4, 5, 6), partial_sum_bits=10, hidden=(128, 128),
               epochs=60, retrain_epochs=30, n_samples=None, adc_inputs=6)
QUICK = dict(rows=(32, 16), adc_bits=(4,), partial_sum_bits=8, hidden=(64, 64),
             epochs=15, retrain_epochs=4, n_samples=120, adc_inputs=2)


def _system(rows: int, adc_bits: int, partial_sum_bits: int, split: str):
    # Only the ADCs are non-ideal: the study isolates the read-out resolution. 4-bit
    # differential cells, one slice, 8-bit DAC inputs (one read per input vector).
    return load_system_spec("ideal").updated({
        "name": f"{split}-{rows}-{adc_bits}b",
        "array": {"rows": rows, "cols": rows, "cell_bits": CELL_BITS},
        "inputs": {"encoding": "dac", "bits": 8},
        "adc": {"bits": adc_bits, "partial_sum_bits": partial_sum_bits, "range": "calibrated"},
        "tiling": {"split": split},
    })


def _plots(out: Path, rows_list, bits_list, grid, adc, float_acc):
    plt = pyplot()
    fig, axes = plt.subplots(1, len(rows_list), figsize=(4.2 * len(rows_list), 3.4), squeeze=False)
    for ax, rows in zip(axes[0], rows_list):
        for key, label, style in (("partial_sums", "partial sums (high-res ADC)", "s-"),
                                  ("split", "input splitting", "o--"),
                                  ("retrained", "input splitting, retrained", "o-")):
            ax.plot(bits_list, [100 * grid[rows, b][key]["accuracy"] for b in bits_list], style, label=label)
        ax.axhline(100 * float_acc, color="k", lw=0.7, ls=":", label="float")
        ax.set_title(f"{rows}x{rows} arrays")
        ax.set_xlabel("ADC bits per array")
        ax.set_ylabel("accuracy (%)")
        ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=7)
    acc_png = save_figure(fig, out / "accuracy_vs_adc_bits.png")

    fig, ax = plt.subplots(figsize=(5, 3.4))
    bits = sorted(adc)
    e = np.array([adc[b]["energy"] for b in bits])
    ax.semilogy(bits, e * 1e12, "o-", label="SAR in ngspice (this run)")
    ax.semilogy(bits, e[0] * 2.0 ** (np.array(bits) - bits[0]) * 1e12, "k--", lw=0.8,
                label="2^bits scaling from the lowest")
    ax.set_xlabel("ADC bits")
    ax.set_ylabel("energy per conversion (pJ)")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=7)
    adc_png = save_figure(fig, out / "adc_energy_vs_bits.png")
    return acc_png, adc_png


def run(out_dir, quick: bool = False, progress: bool | None = None) -> Path:
    """Run the study and write ``out_dir/report.md`` with its figures; returns the report path."""
    t0 = time.perf_counter()
    cfg = QUICK if quick else DEFAULT
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rows_list, bits_list, ps_bits = cfg["rows"], cfg["adc_bits"], cfg["partial_sum_bits"]

    adc = measure_adc_energy(sorted({*bits_list, ps_bits}), "sar", n_inputs=cfg["adc_inputs"], progress=progress)
    # the bit-line sense circuit: the transistor-level TIA's energy per read (ngspice), the
    # same for both mappings (one read per conversion), replacing the simulator's sample-and-hold
    tia = TransimpedanceAmplifier()
    engine = get_engine()
    tia.load(engine)
    e_sense = float(tia.simulate(engine, {"i_in": 20e-6}).values["energy_read"])

    x_train, y_train = load_dataset("mlp", "train")
    x_test, y_test = load_dataset("mlp", "test", n=cfg["n_samples"])
    x_cal = x_train[:256]
    w_float = train_mlp(x_train, y_train, hidden=cfg["hidden"], epochs=cfg["epochs"])
    net_float = w_float.network("mlp-split-study")
    data = (x_test, y_test, x_cal)
    float_acc = net_float.score(x_test, y_test)

    grid = {}
    for rows in rows_list:
        for bits in bits_list:
            entry = {}
            for key, split, net in (("partial_sums", "partial_sums", net_float),
                                    ("split", "input_splitting", net_float)):
                r = simulate(_system(rows, bits, ps_bits, split), net, data)
                entry[key] = {"result": r, "accuracy": r.analog_metric}
            w_re = train_split_aware(w_float, x_train, y_train, rows, bits, rows // 2, epochs=cfg["retrain_epochs"],
                                     x_calibration=x_cal, weight_levels=2 ** CELL_BITS - 1)
            net_re = w_re.network("mlp-split-retrained")
            r = simulate(_system(rows, bits, ps_bits, "input_splitting"), net_re, data)
            entry["retrained"] = {"result": r, "accuracy": r.analog_metric, "float": net_re.score(x_test, y_test)}
            for v in entry.values():
                res = v["result"]
                v["adc_energy"] = conversion_energy(res, adc)
                v["sense_energy"] = res.costs.events.get("sense_samples", 0.0) * e_sense
                v["energy"] = (res.costs.total_energy - res.costs.energy["adc"] + v["adc_energy"]
                               - res.costs.energy["sense"] + v["sense_energy"])
                v["conversions"] = conversions(res)
            grid[rows, bits] = entry
            log.info("%dx%d, %d-bit: %s", rows, rows, bits,
                     {k: round(v["accuracy"], 4) for k, v in entry.items()})

    report = Report("Input splitting (Kim, Kim & Park, ISLPED 2018) on cimspice's circuits", out)
    # headline: the middle array size, at the lowest resolution whose retrained split
    # network stays within one point of the partial-sum baseline
    rows_h = rows_list[len(rows_list) // 2]
    ok = [b for b in bits_list if grid[rows_h, b]["retrained"]["accuracy"]
          >= grid[rows_h, b]["partial_sums"]["accuracy"] - 0.01]
    bits_h = min(ok) if ok else max(bits_list)
    h = grid[rows_h, bits_h]
    adc_ratio = h["partial_sums"]["adc_energy"] / h["retrained"]["adc_energy"]
    chip_ratio = h["partial_sums"]["energy"] / h["retrained"]["energy"]
    loss = 100 * (h["retrained"]["accuracy"] - h["partial_sums"]["accuracy"])
    conv_ps = h["partial_sums"]["conversions"]
    conv_sp = h["retrained"]["conversions"]
    walden = (sum(c * 2.0 ** b for b, c in conv_ps.items()) / sum(c * 2.0 ** b for b, c in conv_sp.items()))
    e_lo, e_hi = adc[bits_h]["energy"], adc[ps_bits]["energy"]
    # "agrees": a ratio within 25 % of the paper's; accuracy within one point of the baseline
    report.claim("kim.adc_power", adc_ratio, 0.75 <= adc_ratio / 32 <= 1.33,
                 f"{rows_h}x{rows_h} arrays, {bits_h}-bit ADCs against {ps_bits}-bit partial sums. Our SAR's "
                 f"energy grows {e_hi / e_lo:.1f}x from {bits_h} to {ps_bits} bits, not the "
                 f"{2 ** (ps_bits - bits_h):.0f}x of the 2^bits (Walden) scaling the paper assumes: its "
                 f"comparator and logic energy grow only with the number of bit cycles. With 2^bits "
                 f"scaling the same conversion counts give {walden:.0f}x.")
    e_split = dict(h["retrained"]["result"].costs.energy, adc=h["retrained"]["adc_energy"],
                   sense=h["retrained"]["sense_energy"])
    top = max((c for c in e_split if c != "adc"), key=e_split.get)
    report.claim("kim.chip_power", chip_ratio, 0.75 <= chip_ratio / 3 <= 1.33,
                 f"Energy per inference, all components (at equal throughput power scales the same). What "
                 f"the ADCs leave bounds the gain: here the {top} "
                 f"({100 * e_split[top] / h['retrained']['energy']:.0f} % "
                 f"of the split design's energy, priced with the cited constants of cimspice/sim/costs.py).")
    report.claim("kim.accuracy", loss, loss >= -1.0,
                 f"Held-out digits, split-aware retraining from the float weights "
                 f"({cfg['retrain_epochs']} epochs, straight-through ADC quantisation).")

    setup = f"""
- Network: MLP 64-{'-'.join(map(str, cfg['hidden']))}-10 (ReLU), trained in NumPy on scikit-learn's digits
  (1,437 training images); float accuracy {100 * float_acc:.2f} % on {len(x_test)} held-out digits.
- Arrays: rows x rows, linear cells with 16 conductance levels (4-bit weights as differential pairs, one slice),
  8-bit DAC inputs; every other non-ideality off, so that only the read-out resolution differs.
- Baseline: layers wider than an array keep their partial sums at {ps_bits} bits (unsplit layers at the low
  resolution); input splitting: every array at the low resolution. ADC ranges calibrated per array on
  256 training images.
- ADC energy: a transistor-level SAR ADC (binary capacitor DAC, StrongARM comparator, XSPICE logic;
  docs/peripherals.md) simulated in ngspice in this run, {cfg['adc_inputs']} random conversions per resolution.
- Sense: the transistor-level TIA (docs/sense.md) simulated in this run, {e_sense * 1e12:.2f} pJ per read
  (20 uA), one read per conversion in both mappings.
- Other components: the system simulator's per-event figures (`cimspice/sim/costs.py`, cited there).
"""
    report.heading("ADC energy per conversion (ngspice, this run)")
    report.table(["bits", "energy (pJ)", "conversion time (ns)", "max code error (LSB)", "area (um^2)", "sim time (s)"],
                 [[b, f"{v['energy'] * 1e12:.3f}", f"{v['t_conversion'] * 1e9:.0f}", f"{v['code_error_max']:.0f}",
                   f"{v['area'] * 1e12:.0f}", f"{v['seconds']:.1f}"] for b, v in sorted(adc.items())])
    report.heading("Accuracy and energy per inference")
    rows_out = []
    for (rows, bits), e in grid.items():
        for key, label in (("partial_sums", f"partial sums ({ps_bits}-bit)"), ("split", "input splitting"),
                           ("retrained", "input splitting, retrained")):
            v = e[key]
            rows_out.append([f"{rows}x{rows}", bits, label, f"{100 * v['accuracy']:.2f} %",
                             f"{v['adc_energy'] * 1e9:.3f}", f"{v['energy'] * 1e9:.3f}",
                             f"{sum(v['conversions'].values()):.0f}"])
    report.table(["arrays", "ADC bits", "mapping", "accuracy", "ADC energy (nJ)", "total energy (nJ)",
                  "conversions"], rows_out)
    report.heading(f"Where the energy goes ({rows_h}x{rows_h} arrays, {bits_h}-bit ADCs, per inference)")
    comps = list(h["partial_sums"]["result"].costs.energy)
    brk = []
    for key, label in (("partial_sums", "partial sums"), ("retrained", "input splitting, retrained")):
        e = dict(h[key]["result"].costs.energy, adc=h[key]["adc_energy"], sense=h[key]["sense_energy"])
        brk.append([label] + [f"{e[c] * 1e9:.3f}" for c in comps] + [f"{h[key]['energy'] * 1e9:.3f}"])
    report.table(["mapping"] + [f"{c} (nJ)" for c in comps] + ["total (nJ)"], brk)
    acc_png, adc_png = _plots(out, rows_list, bits_list, grid, adc, float_acc)
    report.figure(acc_png, "Held-out accuracy against ADC resolution per array")
    report.figure(adc_png, "Measured SAR energy per conversion against the 2^bits scaling")
    gains = [100 * (e["retrained"]["accuracy"] - e["split"]["accuracy"]) for e in grid.values()]
    coarse = [100 * (e["retrained"]["accuracy"] - e["split"]["accuracy"]) for (r, b), e in grid.items()
              if b == min(bits_list)]
    report.heading("Reading the results")
    report.text(f"""
Split-aware retraining changed the split network's accuracy by {np.mean(gains):+.2f} points on average
over the {len(gains)} configurations (from {min(gains):+.2f} to {max(gains):+.2f}; at {min(bits_list)} bits
{np.mean(coarse):+.2f}). One held-out digit is {100 / len(x_test):.2f} points, and retraining from another
seed moves results by about a point, so on this small network and data set retraining recovers
little: the loss that remains at the coarsest resolutions is the ADC's, not the mapping's. The paper
retrains far larger networks (its claim is for ImageNet-scale layers), where more is lost and more
is recovered.
""")
    report.text(f"""
At {rows_h}x{rows_h} arrays and {bits_h} bits the retrained split network reaches
{100 * h['retrained']['accuracy']:.2f} % against {100 * h['partial_sums']['accuracy']:.2f} % for the
partial-sum baseline and {100 * h['split']['accuracy']:.2f} % for the split network without retraining.
The ADC energy falls {adc_ratio:.1f}x and the energy per inference {chip_ratio:.2f}x. The paper's 32x
rests on the 2^bits scaling of ADC power; the converter simulated here grows more slowly with
resolution, so the same change of resolution saves less. Results for other array sizes and
resolutions are in the table; how much retraining recovers grows as the ADCs get coarser.
""")
    return report.write(setup, time.perf_counter() - t0)
