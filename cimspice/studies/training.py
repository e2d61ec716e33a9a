"""NumPy training of the studies' multilayer perceptrons, float and split-aware.

Input splitting (Kim, Kim & Park, ISLPED 2018) cuts a layer with more inputs than an array
has rows into row groups, one array each; every array converts its own partial product
with a low-resolution ADC, and the layer's pre-activation is the digital sum of those
codes. A network trained without that structure loses accuracy once the ADC is coarse;
the paper retrains the split network. Here:

- :func:`train_mlp` trains ``n_in - hidden... - n_out`` with ReLU in float (Adam,
  cross-entropy, mini-batches; deterministic given ``seed``);
- :func:`train_split_aware` starts from those weights (the split network's initialisation:
  each array starts with its rows of the trained layer, so the split network computes
  exactly what the float one did before the ADCs are inserted) and fine-tunes with every
  layer's forward pass quantised as the arrays do it: ``sum_s Q(x_s @ W_s)``, ``Q`` a
  mid-tread quantiser of ``adc_bits`` on a range calibrated per array (row group x output
  group) to the largest ``|x_s @ W_s|`` on calibration data (re-calibrated every epoch, as
  the simulator's ``adc.range: calibrated``), gradients through ``Q`` by the
  straight-through estimator (zero where the ADC clips).

Only NumPy; a few seconds for the digits.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..sim.layers import Activation, Dense
from ..sim.network import Sequential

__all__ = ["MLPWeights", "quantised", "split_bounds", "train_mlp", "train_split_aware"]


@dataclass
class MLPWeights:
    """``Ws[k]`` (n_in, n_out) and ``bs[k]`` (n_out,) of each dense layer; ReLU between."""

    Ws: list
    bs: list

    def network(self, name: str) -> Sequential:
        layers = []
        for k, (W, b) in enumerate(zip(self.Ws, self.bs)):
            layers.append(Dense(f"fc{k + 1}", W, b))
            if k < len(self.Ws) - 1:
                layers.append(Activation(f"relu{k + 1}", "relu"))
        return Sequential(name, layers, {"source": "cimspice.studies.training"})

    def copy(self) -> MLPWeights:
        return MLPWeights([W.copy() for W in self.Ws], [b.copy() for b in self.bs])


def split_bounds(n_in: int, rows: int) -> list[tuple[int, int]]:
    """Row groups of a layer with ``n_in`` inputs on arrays of ``rows`` rows: ``ceil(n_in/rows)``
    nearly equal groups, as :func:`cimspice.sim.mapping.plan_matrix` tiles them."""
    tiles = -(-n_in // rows)
    edges = np.linspace(0, n_in, tiles + 1).round().astype(int)
    return [(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:])]


class _Adam:
    def __init__(self, params, lr):
        self.params, self.lr = params, lr
        self.m = [np.zeros_like(p) for p in params]
        self.v = [np.zeros_like(p) for p in params]
        self.t = 0

    def step(self, grads):
        self.t += 1
        b1, b2 = 0.9, 0.999
        for p, g, m, v in zip(self.params, grads, self.m, self.v):
            m *= b1
            m += (1 - b1) * g
            v *= b2
            v += (1 - b2) * g * g
            p -= self.lr * (m / (1 - b1 ** self.t)) / (np.sqrt(v / (1 - b2 ** self.t)) + 1e-8)


def _softmax_xent_grad(z, y):
    z = z - z.max(axis=1, keepdims=True)
    p = np.exp(z)
    p /= p.sum(axis=1, keepdims=True)
    p[np.arange(len(y)), y] -= 1.0
    return p / len(y)


def _weights(W, q):
    """The weights a layer quantised by ``q`` (see :func:`_forward`) holds."""
    return quantised(W, q[3] if q is not None else None)


def quantised(W, levels):
    """The weights the arrays hold: ``levels`` magnitudes of ``max|W|``, or with
    ``levels="ternary"`` the ternary-weight-network rule (F. Li, B. Zhang, B. Liu, "Ternary
    weight networks", 2016): ``+-alpha`` where ``|W| > 0.7 mean|W|``, else 0, ``alpha`` the
    mean magnitude kept (straight-through); ``None``: unchanged."""
    if not levels:
        return W
    if levels == "ternary":
        a = np.abs(W)
        keep = a > 0.7 * a.mean()
        alpha = a[keep].mean() if keep.any() else 0.0
        return np.sign(W) * keep * alpha
    scale = np.abs(W).max() or 1.0
    return np.rint(W / scale * levels) / levels * scale


def _forward(w: MLPWeights, x, quant=None):
    """Activations of every layer; ``quant[k]`` = (bounds, deltas, code_max, weight_levels)
    quantises layer k's weights and its arrays' outputs."""
    acts, masks = [x], []
    for k, (W, b) in enumerate(zip(w.Ws, w.bs)):
        q = quant[k] if quant else None
        W = _weights(W, q)
        if q is None:
            z = x @ W
            mask = None
        else:
            bounds, deltas, cmax, _ = q
            z = np.zeros((len(x), W.shape[1]))
            mask = []
            for (r0, r1), d in zip(bounds, deltas):
                u = x[:, r0:r1] @ W[r0:r1] / d
                mask.append(np.abs(u) <= cmax + 0.5)
                z += np.clip(np.rint(u), -cmax, cmax) * d
        z = z + b
        masks.append(mask)
        x = np.maximum(z, 0.0) if k < len(w.Ws) - 1 else z
        acts.append(x)
    return acts, masks


def _backward(w: MLPWeights, acts, masks, quant, y):
    grads_W, grads_b = [None] * len(w.Ws), [None] * len(w.Ws)
    g = _softmax_xent_grad(acts[-1], y)
    for k in range(len(w.Ws) - 1, -1, -1):
        x = acts[k]
        grads_b[k] = g.sum(axis=0)
        q = quant[k] if quant else None
        if q is None:
            grads_W[k] = x.T @ g
            gx = g @ w.Ws[k].T
        else:  # straight-through: the ADC passes gradients where it does not clip
            Wq = _weights(w.Ws[k], q)
            gW = np.zeros_like(w.Ws[k])
            gx = np.zeros_like(x)
            for (r0, r1), mask in zip(q[0], masks[k]):
                gs = g * mask
                gW[r0:r1] = x[:, r0:r1].T @ gs
                gx[:, r0:r1] = gs @ Wq[r0:r1].T
            grads_W[k] = gW
        if k > 0:
            g = gx * (acts[k] > 0)
    return grads_W, grads_b


def _fit(w: MLPWeights, x, y, epochs, lr, batch, seed, quant_fn=None, weight_decay=0.0, validation=None,
         bias=True):
    """Adam on cross-entropy. With ``validation`` (x, y): the weights of the epoch (0 = the
    starting point) with the best accuracy there, under the same quantisation, are returned."""
    rng = np.random.default_rng(seed)
    opt = _Adam(w.Ws + w.bs, lr)

    def score():
        acts, _ = _forward(w, validation[0], quant_fn(w) if quant_fn else None)
        return float(np.mean(acts[-1].argmax(axis=1) == validation[1]))

    best = (score(), w.copy()) if validation is not None else None
    for _ in range(epochs):
        quant = quant_fn(w) if quant_fn else None
        order = rng.permutation(len(x))
        for s in range(0, len(x), batch):
            idx = order[s:s + batch]
            acts, masks = _forward(w, x[idx], quant)
            gW, gb = _backward(w, acts, masks, quant, y[idx])
            if weight_decay:
                gW = [g + weight_decay * W for g, W in zip(gW, w.Ws)]
            if not bias:  # biases held at zero
                gb = [np.zeros_like(g) for g in gb]
            opt.step(gW + gb)
        if validation is not None and (acc := score()) > best[0]:
            best = (acc, w.copy())
    return w if best is None else best[1]


def train_mlp(x, y, hidden=(128, 128), n_out=10, *, epochs=60, lr=2e-3, batch=64, seed=0,
              bias=True) -> MLPWeights:
    """Float MLP ``x (N, n_in) -> logits (N, n_out)`` with ReLU hidden layers (He init);
    ``bias=False`` keeps every bias at zero."""
    rng = np.random.default_rng(seed)
    sizes = [x.shape[1], *hidden, n_out]
    Ws = [rng.standard_normal((a, b)) * np.sqrt(2.0 / a) for a, b in zip(sizes[:-1], sizes[1:])]
    bs = [np.zeros(b) for b in sizes[1:]]
    return _fit(MLPWeights(Ws, bs), np.asarray(x, float), np.asarray(y), epochs, lr, batch, seed,
                weight_decay=1e-4, bias=bias)


def train_split_aware(w0: MLPWeights, x, y, rows: int, adc_bits: int, outputs_per_array: int, *, epochs=30,
                      lr=2e-3, batch=64, seed=1, x_calibration=None, weight_levels: int | str | None = None,
                      bias=True) -> MLPWeights:
    """Fine-tune ``w0`` for arrays of ``rows`` rows holding ``outputs_per_array`` outputs each,
    every array converting at ``adc_bits`` (input splitting): each layer's product is
    quantised per array (row group x output group), ranges calibrated as the simulator does;
    ``weight_levels`` (e.g. 15 for 4-bit differential cells) quantises the weights as mapped.
    The learning rate was chosen on the digits (5e-4 did not recover 3-bit arrays, 2e-3 did);
    the epoch kept is the best on a fifth of ``x`` held out from the fine-tuning."""
    x, y = np.asarray(x, float), np.asarray(y)
    x_cal = x if x_calibration is None else np.asarray(x_calibration, float)
    cmax = 2 ** (adc_bits - 1) - 1

    def quant_fn(w):
        # ranges as the arrays are calibrated: the largest |partial product| of each array
        quant, h = [], x_cal
        for W, b in zip(w.Ws, w.bs):
            bounds = split_bounds(W.shape[0], rows)
            deltas = []
            for r0, r1 in bounds:
                peak = np.abs(h[:, r0:r1] @ W[r0:r1]).max(axis=0)
                d = np.empty(W.shape[1])
                for o0 in range(0, W.shape[1], outputs_per_array):
                    d[o0:o0 + outputs_per_array] = (peak[o0:o0 + outputs_per_array].max() or 1.0) / cmax
                deltas.append(d)
            quant.append((bounds, deltas, cmax, weight_levels))
            h = np.maximum(h @ _weights(W, quant[-1]) + b, 0.0)
        return quant

    # a fifth of the training data picks the best epoch (retraining never ends worse there
    # than where it started: at 2-bit ADCs a step of 2e-3 can diverge)
    order = np.random.default_rng(seed).permutation(len(x))
    val, fit = order[: len(x) // 5], order[len(x) // 5:]
    return _fit(w0.copy(), x[fit], y[fit], epochs, lr, batch, seed, quant_fn=quant_fn, validation=(x[val], y[val]),
                bias=bias)
