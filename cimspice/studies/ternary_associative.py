"""Study ``ternary-associative``: de Lima et al. (2024) against our crossbars.

Ternary-weight networks need no multiplier: every output is a sum of inputs with weights
+1, minus those with -1. An associative processor (AP) computes such sums in memory,
bit-serially, with compare and write passes over CAM rows (:mod:`.associative`); the paper
reports 7.5x the energy efficiency of crossbar accelerators for ResNet-18 with racetrack
memory CAMs. Here, in one run (costs: :mod:`.ternary_costs`; report: :mod:`.ternary_report`):

1. the AP's compares and writes are priced from the component library's ``cam_row`` blocks
   (a width law over 8-128 bits, at each row's width), the search lines' share from the
   CAM bench in ngspice (8 bits), and the law checked against the bench at a row width the
   network uses;
2. an MLP is trained on the digits with ternary weights (straight-through, from float);
3. the same ternary network runs on the AP, bit-exact, executing every compare and write on
   held-out digits, and on ReRAM crossbars in the system simulator on the component library
   (the ``baseline`` system with one-bit differential cells); data movement priced the same
   on both sides; the batch of rows sharing the AP's line drives varied;
4. ResNet-18 (ternary, CIFAR shape 3x32x32: :mod:`.ternary_resnet`) through ONNX on the
   crossbar, and its AP pass counts from every layer's fan-in, outputs and nonzero share;
5. a single ternary layer of varying width and input precision, and the sensitivity of
   both verdicts to the assumptions that decide them.

The AP here is a CMOS CAM (SRAM cells), not the paper's racetrack memory, whose shift-based
access and density we do not model; the report says so beside the ratio.
"""

from __future__ import annotations

import logging
import tempfile
import time
from pathlib import Path

import numpy as np

from ..paths import default_library_path
from ..sim.layers import Activation, Dense
from ..sim.network import Sequential
from ..sim.onnx_import import load_onnx
from ..sim.zoo import load_dataset
from ..spice import get_engine
from . import ternary_report
from .associative import AssociativeProcessor, PassCounts
from .provenance import collected, load_library, simulate
from .ternary_costs import CASE, ApLayer, ap_energy, crossbar_spec, lines_share_at, load_ap_costs
from .ternary_resnet import STAGES, acc_bits, ap_layers, buffer_bits, pass_rates, write_resnet18
from .training import quantised, train_mlp, train_split_aware

__all__ = ["run"]

log = logging.getLogger(__name__)

DEFAULT = dict(hidden=(64,), ap_samples=32, epochs=40, retrain_epochs=20, sweep_widths=(64, 256, 1024),
               sweep_bits=(2, 4, 8), sweep_samples=8, batches=(1, 32, 256), resnet_stages=STAGES, resnet_size=32,
               validate_width=367)
QUICK = dict(hidden=(16,), ap_samples=4, epochs=10, retrain_epochs=3, sweep_widths=(64,), sweep_bits=(2, 4),
             sweep_samples=2, batches=(1, 32, 256), resnet_stages=(4, 8, 8, 8), resnet_size=8, validate_width=None)


# ---------------------------------------------------------------- the network on the AP
def _quantise_inputs(x, bits):
    top = 2 ** bits - 1
    return np.clip(np.rint(x * top), 0, top).astype(np.int64)


def _ternary(w, weight_levels="ternary"):
    """Weights as the ternary network holds them: (signs in {-1, 0, 1}, scale) per layer."""
    out = []
    for W in w.Ws:
        Wt = quantised(W, weight_levels)
        s = float(np.abs(Wt).max()) or 1.0
        out.append((np.rint(Wt / s).astype(np.int64), s))
    return out


def _reference(ternary, shifts, xq, in_bits):
    """Integer forward pass the AP must reproduce: sums of +-inputs, ReLU, and between
    layers a requantisation to ``in_bits`` by a power-of-two shift (free in an AP: a choice
    of field) with saturation; returns the last layer's integer accumulators."""
    h = xq
    for k, (T, _scale) in enumerate(ternary):
        acc = h @ T
        if k == len(ternary) - 1:
            return acc
        h = _requantise(acc, in_bits, shifts[k])
    return h


def _requantise(acc, in_bits, shift):
    return np.minimum(np.maximum(acc, 0) >> shift, 2 ** in_bits - 1)


def _calibrate_shifts(ternary, xq_cal, in_bits):
    """Per hidden layer, the shift that maps the 99.9th percentile of its ReLU output on
    calibration data onto the ``in_bits`` range."""
    shifts, h = [], xq_cal
    for T, _ in ternary[:-1]:
        acc = np.maximum(h @ T, 0)
        peak = max(float(np.percentile(acc, 99.9)), 1.0)
        shifts.append(max(0, int(np.ceil(np.log2(peak / (2 ** in_bits - 1))))))
        h = _requantise(acc, in_bits, shifts[-1])
    return shifts


def _run_ap(ternary, shifts, xq, in_bits):
    """Execute the network on an AP whose rows are the samples; returns (last-layer
    accumulators, the AP's pass counts, every layer's :class:`.ternary_costs.ApLayer`: its
    row width, counts, and bits loaded in and moved out per row)."""
    rows = len(xq)
    h = xq
    total = None
    layers = []
    for k, (T, _scale) in enumerate(ternary):
        n_in, n_out = T.shape
        m = acc_bits(n_in, in_bits)
        ap = AssociativeProcessor(rows, n_in * in_bits + n_out * m + 1)
        carry = ap.data.shape[1] - 1
        for i in range(n_in):
            ap.store(i * in_bits, in_bits, h[:, i])
        for j in range(n_out):
            acc = n_in * in_bits + j * m
            for i in np.flatnonzero(T[:, j]):
                ap.inplace("add" if T[i, j] > 0 else "sub", i * in_bits, acc, m, carry, a_width=in_bits)
        out = np.stack([ap.load(n_in * in_bits + j * m, m) for j in range(n_out)], axis=1)
        if k < len(ternary) - 1:
            # ReLU: tag the rows whose sign bit is set, write their accumulator to zero
            for j in range(n_out):
                acc = n_in * in_bits + j * m
                tag = ap.compare([acc + m - 1], [1])
                if tag.any():
                    ap.write(list(range(acc, acc + m)), [0] * m, tag)
            h = _requantise(out, in_bits, shifts[k])
        c = ap.counts
        out_bits = m if k == len(ternary) - 1 else in_bits
        layers.append(ApLayer(ap.data.shape[1], _merge(PassCounts(), c), rows, n_in * in_bits, n_out * out_bits))
        total = c if total is None else _merge(total, c)
        last = out
    return last, total, layers


def _merge(a, b):
    for f in ("compares", "writes", "matched_rows", "mismatched_rows", "written_columns", "flips"):
        setattr(a, f, getattr(a, f) + getattr(b, f))
    return a


def _ternary_net(ternary, biases, name):
    layers = []
    for k, (T, s) in enumerate(ternary):
        layers.append(Dense(f"fc{k + 1}", T * s, biases[k]))
        if k < len(ternary) - 1:
            layers.append(Activation(f"relu{k + 1}", "relu"))
    return Sequential(name, layers)




def _train(cfg) -> dict:
    """The digits, a float MLP and its ternary fine-tune (no biases: a ternary network's sums
    then need nothing but the AP's adds)."""
    x, y = load_dataset("mlp", "train")
    xt, yt = load_dataset("mlp", "test")
    w_float = train_mlp(x, y, hidden=cfg["hidden"], epochs=cfg["epochs"], bias=False)
    w_t = train_split_aware(w_float, x, y, rows=4096, adc_bits=16, outputs_per_array=4096,
                            epochs=cfg["retrain_epochs"], x_calibration=x[:256], weight_levels="ternary",
                            bias=False)
    acc_float = float(np.mean(w_float.network("f").forward(xt).argmax(1) == yt))
    return {"x": x, "y": y, "xt": xt, "yt": yt, "ternary": _ternary(w_t), "acc_float": acc_float}


def _mlp_on_ap(data, bits: int, samples: int) -> dict:
    """The ternary MLP at ``bits``-bit activations: integer accuracy on the held-out digits
    and a bit-exact AP run on the first ``samples`` of them."""
    ternary = data["ternary"]
    xq_t = _quantise_inputs(data["xt"], bits)
    shifts = _calibrate_shifts(ternary, _quantise_inputs(data["x"][:256], bits), bits)
    acc = float(np.mean(_reference(ternary, shifts, xq_t, bits).argmax(1) == data["yt"]))
    xq = xq_t[:samples]
    logits, counts, layers = _run_ap(ternary, shifts, xq, bits)
    exact = bool(np.array_equal(logits, _reference(ternary, shifts, xq, bits)))
    return {"acc": acc, "counts": counts, "layers": layers, "exact": exact, "rows": len(xq),
            "rates": pass_rates(counts, len(xq))}


def _sweep(cfg, cam, rng, lib) -> list[dict]:
    """One ternary layer (64 outputs, a third of the weights zero) at several fan-ins and input
    bits: energy per inference on the AP (the case's batch) and on the crossbar."""
    rows = []
    for n_in in cfg["sweep_widths"]:
        T = rng.choice([-1, 0, 1], size=(n_in, 64), p=[1 / 3, 1 / 3, 1 / 3])
        for b in cfg["sweep_bits"]:
            xs = rng.random((max(cfg["sweep_samples"], 2), n_in))
            _, _, layers = _run_ap([(T, 1.0)], [], _quantise_inputs(xs[: cfg["sweep_samples"]], b), b)
            e_ap = sum(ap_energy(layers, cam, CASE["batch"]).values())
            one = Sequential("layer", [Dense("fc", T.astype(float), np.zeros(64))])
            xs_all = rng.random((24, n_in))
            r = simulate(crossbar_spec(b, fast=True), one, (xs_all[:8], np.zeros(8, int), xs_all[8:]), library=lib)
            nnz = int(np.count_nonzero(T))
            rows.append({"n_in": n_in, "bits": b, "ap": e_ap / nnz, "xb": r.costs.total_energy / T.size,
                         "ap_total": e_ap, "xb_total": r.costs.total_energy, "width": layers[0].width})
    return rows


def _resnet(cfg, rates: dict, bits: int, lib) -> dict:
    """Ternary ResNet-18 (CIFAR shape) on the crossbar through ONNX (the case's images, energy
    only) and its AP pass counts per image."""
    with tempfile.TemporaryDirectory() as tmp:
        path, layers = write_resnet18(Path(tmp) / "resnet18.onnx", stages=cfg["resnet_stages"],
                                      size=cfg["resnet_size"])
        net = load_onnx(path)
    rng = np.random.default_rng(7)
    n = CASE["resnet_images"]
    x = rng.random((2 * n, 3, cfg["resnet_size"], cfg["resnet_size"]))
    t0 = time.perf_counter()
    r = simulate(crossbar_spec(bits, "ternary-resnet18", fast=True), net, (x[:n], np.zeros(n, int), x[n:]), library=lib)
    log.info("ResNet-18 on the crossbar: %.0f s", time.perf_counter() - t0)
    return {"layers": layers, "xb": r, "xb_energy": dict(r.costs.energy), "rates": rates,
            "ap_layers": ap_layers(layers, rates, bits, n), "buffer_bits": buffer_bits(layers, bits),
            "seconds": time.perf_counter() - t0}


@collected
def run(out_dir, quick: bool = False, progress: bool | None = None) -> Path:
    t0 = time.perf_counter()
    cfg = QUICK if quick else DEFAULT
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    engine = get_engine()
    bits = CASE["in_bits"]

    # 1. the AP's costs: the library's CAM blocks, the bench's search lines, the law checked
    lib = load_library(default_library_path())    # read once: every simulation below takes it
    cam = load_ap_costs(lines_share_at(engine), lib)
    check = ternary_report.validate_law(engine, cam, cfg["validate_width"])

    # 2-3. the ternary MLP on the AP (bit-exact) and on the crossbar (library system)
    data = _train(cfg)
    mlp = {b: _mlp_on_ap(data, b, cfg["ap_samples"]) for b in sorted({bits, 2, 8})}
    ternary = data["ternary"]
    net = _ternary_net(ternary, [np.zeros(T.shape[1]) for T, _ in ternary], "ternary-mlp")
    xb = simulate(crossbar_spec(bits), net, (data["xt"], data["yt"], data["x"][:256]), library=lib)

    # 4. ResNet-18
    resnet = _resnet(cfg, mlp[bits]["rates"], bits, lib)

    # 5. one layer swept
    sweep = _sweep(cfg, cam, np.random.default_rng(5), lib)

    ctx = ternary_report.Context(cfg=cfg, cam=cam, check=check, data=data, mlp=mlp, xb=xb, resnet=resnet,
                                 sweep=sweep, out=out)
    return ternary_report.write(ctx, time.perf_counter() - t0)
