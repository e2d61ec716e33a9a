"""The binarized MLP of the input-splitting paper, trained in NumPy with a straight-through
estimator, and its inference on arrays read by ADCs (partial sums) or sense amplifiers.

The network and its training follow the authors' code (github.com/YulhwaKim/RRAMScalable_BNN,
``Models/MNIST_Model.lua``, ``Models/spMNIST_Model.lua``, ``newLayers/*.lua``,
``Main_MNIST.lua``), itself built on BinaryNet (Hubara, Courbariaux et al., 2016):

- every layer is a binary linear map (latent weights clipped to [-1, 1], used as their sign,
  ``w >= 0`` -> +1) followed by batch normalisation; hidden layers then HardTanh and sign
  (``x >= 0`` -> +1), whose gradient is the identity (``BinarizedNeurons.lua``), so that
  HardTanh's (1 where ``|x| <= 1``) is the straight-through estimator;
- a *split* layer (``SplitBinaryLinear`` + ``SplitBatchNormalization`` + ``MergeLinear``)
  cuts its inputs into ``groups`` contiguous slices of ``n_in / groups`` (one array's rows);
  each slice's partial sum has its own batch norm, HardTanh and sign; the groups' signs are
  summed and the sum's sign is the output: a majority vote, ties to +1. The sum's gradient
  goes unchanged to every group (``MergeLinear:updateGradInput``);
- the first and the last layer are not split (``spMNIST_Model.lua``); the last layer's batch
  norm gives the scores; the loss is the squared hinge against +-1 targets; AdaMax with each
  binary layer's learning rate scaled by Glorot's ``1 / sqrt(1.5 / (fan_in + fan_out))``
  (``fan_in / groups`` for a split layer), halved every ``decay_every`` epochs.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["BinaryMLP", "Readout", "activity", "binarize_inputs", "calibrate", "predict", "tiles_of", "train_bnn"]

BN_EPS = 1e-5         # BatchNormalization's eps (torch nn default, SplitBatchNormalization.lua)
BN_MOMENTUM = 0.1     # running statistics' momentum (same source)
INPUT_THRESHOLD = 0.5  # a pixel (0..1) above it is +1: 1-bit word-line drivers need binary inputs


def _sign(x):
    """+1 where ``x >= 0``, else -1 (BinarizedNeurons.lua, SplitBinaryLinear:binarized)."""
    return np.where(x >= 0, np.float32(1), np.float32(-1))


def binarize_inputs(x) -> np.ndarray:
    """Pixels (batch, 64) in 0..1 -> +-1 (float32): the input layer's 1-bit drivers."""
    return _sign(np.asarray(x, np.float32) - INPUT_THRESHOLD)


@dataclass
class _Layer:
    """One binary layer: latent weights ``w`` (n_in, n_out) and a batch norm over its
    ``groups * n_out`` features (group-major: feature ``k * n_out + j`` is group k's output j)."""

    w: np.ndarray
    groups: int = 1
    gamma: np.ndarray = field(init=False)
    beta: np.ndarray = field(init=False)
    mean: np.ndarray = field(init=False)
    var: np.ndarray = field(init=False)

    def __post_init__(self):
        n = self.groups * self.w.shape[1]
        self.gamma, self.beta = np.ones(n, np.float32), np.zeros(n, np.float32)
        self.mean, self.var = np.zeros(n, np.float32), np.ones(n, np.float32)

    @property
    def n_in(self) -> int:
        return self.w.shape[0]

    @property
    def n_out(self) -> int:
        return self.w.shape[1]

    def slices(self, groups: int | None = None) -> list[slice]:
        """Contiguous row slices of the inputs, one per group (array)."""
        g = self.groups if groups is None else groups
        edges = np.linspace(0, self.n_in, g + 1).round().astype(int)
        return [slice(a, b) for a, b in zip(edges[:-1], edges[1:])]

    def partial_sums(self, a, groups: int | None = None) -> np.ndarray:
        """(batch, groups, n_out) integer partial sums of +-1 inputs ``a`` (batch, n_in) and
        the binary weights, one per slice."""
        g = self.groups if groups is None else groups
        wb = _sign(self.w)
        if self.n_in % g == 0:   # equal slices: one batched product (contiguous, BLAS)
            r = self.n_in // g
            return np.matmul(a.reshape(len(a), g, r).transpose(1, 0, 2), wb.reshape(g, r, -1)).transpose(1, 0, 2)
        return np.stack([a[:, s] @ wb[s] for s in self.slices(g)], axis=1)

    def backward(self, a, dz) -> tuple[np.ndarray, np.ndarray]:
        """Gradients (dw (n_in, n_out), da (batch, n_in)) from ``dz`` (batch, groups, n_out),
        the binary weights standing in for the latent ones (straight-through)."""
        g, r, n = self.groups, self.n_in // self.groups, len(a)
        wb = _sign(self.w).reshape(g, r, -1)
        dzg = np.ascontiguousarray(dz.transpose(1, 0, 2))
        ag = np.ascontiguousarray(a.reshape(n, g, r).transpose(1, 2, 0))
        dw = np.matmul(ag, dzg).reshape(self.n_in, -1)
        da = np.matmul(dzg, wb.transpose(0, 2, 1)).transpose(1, 0, 2).reshape(n, self.n_in)
        return dw, da

    def thresholds(self) -> tuple[np.ndarray, np.ndarray]:
        """Batch norm and sign folded into a compare, per feature (groups, n_out): output +1
        where ``sense * z >= sense * t`` (inference statistics)."""
        std = np.sqrt(self.var + BN_EPS)
        t = self.mean - self.beta * std / np.where(self.gamma == 0, 1, self.gamma)
        sense = np.where(self.gamma >= 0, 1.0, -1.0)
        t = np.where(self.gamma == 0, np.where(self.beta >= 0, -np.inf, np.inf), t)
        return t.reshape(self.groups, -1), sense.reshape(self.groups, -1)


@dataclass
class BinaryMLP:
    """A binarized MLP: ``layers[0]`` the input layer, ``layers[-1]`` the scores."""

    layers: list[_Layer]

    @classmethod
    def new(cls, sizes, groups, seed: int = 0) -> BinaryMLP:
        """Latent weights uniform in [-1, 1] (``SplitBinaryLinear:reset``); ``sizes``: widths
        (n_in, h1, ..., n_classes); ``groups``: per layer (1 = not split)."""
        rng = np.random.default_rng(seed)
        return cls([_Layer(rng.uniform(-1, 1, (a, b)).astype(np.float32), g)
                    for a, b, g in zip(sizes[:-1], sizes[1:], groups)])

    def split(self, groups) -> BinaryMLP:
        """The same weights with layer ``i`` cut into ``groups[i]`` slices; each group's batch
        norm starts from its statistics on the trained weights (set by the next training pass)
        and the unsplit layer's gamma and beta: the initialisation the split is retrained from."""
        out = []
        for layer, g in zip(self.layers, groups):
            if layer.n_in % g:
                raise ValueError(f"{layer.n_in} inputs do not split into {g} equal groups")
            new = _Layer(layer.w.copy(), g)
            new.gamma[:] = np.tile(layer.gamma, g)
            new.beta[:] = np.tile(layer.beta, g)
            out.append(new)
        return BinaryMLP(out)


def _bn_forward(z, layer: _Layer, train: bool):
    """Batch norm of ``z`` (batch, features); returns (output, cache for the backward)."""
    if train:
        mu, var = z.mean(0), z.var(0)
        layer.mean[:] = (1 - BN_MOMENTUM) * layer.mean + BN_MOMENTUM * mu
        layer.var[:] = (1 - BN_MOMENTUM) * layer.var + BN_MOMENTUM * var * len(z) / max(len(z) - 1, 1)
    else:
        mu, var = layer.mean, layer.var
    inv = 1.0 / np.sqrt(var + BN_EPS)
    xhat = (z - mu) * inv
    return layer.gamma * xhat + layer.beta, (xhat, inv)


def _bn_backward(d, layer: _Layer, cache):
    xhat, inv = cache
    dgamma, dbeta = (d * xhat).sum(0), d.sum(0)
    dx_hat = d * layer.gamma
    dz = inv * (dx_hat - dx_hat.mean(0) - xhat * (dx_hat * xhat).mean(0))
    return dz, dgamma, dbeta


def _forward(net: BinaryMLP, a, train: bool):
    """Scores (batch, classes) and the caches of every layer."""
    caches = []
    for i, layer in enumerate(net.layers):
        z = layer.partial_sums(a).reshape(len(a), -1)
        h, bn = _bn_forward(z, layer, train)
        if i == len(net.layers) - 1:
            caches.append((a, bn, None))
            return h, caches
        s = _sign(h).reshape(len(a), layer.groups, layer.n_out)
        caches.append((a, bn, np.abs(h) <= 1))
        a = _sign(s.sum(1)) if layer.groups > 1 else s[:, 0]
    raise AssertionError("unreachable")


def _backward(net: BinaryMLP, scores, targets, caches):
    """Squared-hinge loss and the gradients (dw, dgamma, dbeta) of every layer."""
    margin = np.maximum(0.0, 1.0 - targets * scores)
    loss = float((margin ** 2).mean())
    d = -2.0 * targets * margin / scores.size
    grads = [None] * len(net.layers)
    for i in range(len(net.layers) - 1, -1, -1):
        layer, (a, bn, keep) = net.layers[i], caches[i]
        if keep is not None:   # HardTanh's gradient, the merge's repeat over the groups
            d = np.repeat(d[:, None, :], layer.groups, axis=1).reshape(len(a), -1) * keep
        dz, dgamma, dbeta = _bn_backward(d, layer, bn)
        dw, d = layer.backward(a, dz.reshape(len(a), layer.groups, layer.n_out))
        grads[i] = (dw, dgamma, dbeta)
    return loss, grads


class _AdaMax:
    """AdaMax (Kingma & Ba 2015, Algorithm 2; BinaryNet's adaMax_binary_clip_shift without
    the power-of-two shift), a per-parameter learning-rate scale, latent weights clipped."""

    def __init__(self, params, scales, lr, b1=0.9, b2=0.999, eps=1e-8):
        self.params, self.scales, self.lr = params, scales, lr
        self.m = [np.zeros_like(p) for p in params]
        self.u = [np.zeros_like(p) for p in params]
        self.b1, self.b2, self.eps, self.t = b1, b2, eps, 0

    def step(self, grads, clip) -> None:
        self.t += 1
        rate = self.lr / (1 - self.b1 ** self.t)
        for p, g, m, u, scale, c in zip(self.params, grads, self.m, self.u, self.scales, clip):
            m *= self.b1
            m += (1 - self.b1) * g
            np.maximum(self.b2 * u, np.abs(g), out=u)
            p -= rate * scale * m / (u + self.eps)
            if c:
                np.clip(p, -1.0, 1.0, out=p)


def train_bnn(net: BinaryMLP, x, y, *, epochs: int, lr: float = 2.0 ** -6, batch: int = 100, decay_every: int = 20,
              seed: int = 0) -> BinaryMLP:
    """Train ``net`` in place on +-1 inputs ``x`` (n, n_in) and labels ``y`` (n,); returns it.
    Defaults from Main_MNIST.lua (LR 2^-6, batch 100, halved every 20 epochs)."""
    rng = np.random.default_rng(seed)
    x = np.asarray(x, np.float32)
    classes = net.layers[-1].n_out
    params, scales, clip = [], [], []
    for layer in net.layers:
        glr = 1.0 / np.sqrt(1.5 / (layer.n_in / layer.groups + layer.n_out))   # spMNIST_Model.lua
        params += [layer.w, layer.gamma, layer.beta]
        scales += [glr, 1.0, 1.0]
        clip += [True, False, False]
    opt = _AdaMax(params, scales, lr)
    for epoch in range(epochs):
        order = rng.permutation(len(x))
        for start in range(0, len(x), batch):
            idx = order[start:start + batch]
            if len(idx) < 2:
                continue
            targets = -np.ones((len(idx), classes), np.float32)
            targets[np.arange(len(idx)), y[idx]] = 1.0
            scores, caches = _forward(net, x[idx], train=True)
            _, grads = _backward(net, scores, targets, caches)
            opt.step([g for triple in grads for g in triple], clip)
        if (epoch + 1) % decay_every == 0:
            opt.lr *= 0.5
    return net


@dataclass(frozen=True)
class Readout:
    """How inference reads the arrays: ``rows`` per array (a layer wider than that is cut into
    row tiles); an unsplit layer that needs several tiles converts each tile's partial sum
    with a ``adc_bits`` ADC over the tile's full range (None: exact partial sums) and adds
    them digitally; a layer within one array, and every group of a split layer, is read by a
    sense amplifier comparing against its folded batch-norm threshold (exact, ideal)."""

    rows: int | None = None
    adc_bits: int | None = None


def _adc(z, n_rows: int, bits: int | None):
    """``bits``-bit uniform quantisation of partial sums ``z`` of ``n_rows`` +-1 products,
    full scale [-n_rows, n_rows]; lossless (step 2) once ``2**bits >= n_rows + 1``."""
    if bits is None:
        return z
    step = max(2.0, 2.0 * n_rows / (2 ** bits - 1))
    return np.clip(np.round((z + n_rows) / step) * step - n_rows, -n_rows, n_rows)


def tiles_of(layer: _Layer, readout: Readout) -> int:
    """Arrays a layer's inputs are cut into: its groups when split, else row tiles of
    ``readout.rows`` (one when ``rows`` is None)."""
    if layer.groups > 1:
        return layer.groups
    return 1 if readout.rows is None else -(-layer.n_in // readout.rows)


def _layer_infer(layer: _Layer, a, readout: Readout, last: bool, reads=None):
    """One layer at inference: outputs +-1 (batch, n_out), or the scores of the last layer.
    ``reads``: the layer as its arrays read it (:class:`.bnn_analog.ArrayReads`: partial sums
    ``sums(a)`` (batch, tiles, n_out) and each sense amplifier's offset ``offset``
    (tiles, n_out), in units of the sum); None: exact sums, ideal sense amplifiers."""
    tiles = tiles_of(layer, readout)
    sums = (lambda x: layer.partial_sums(x, tiles)) if reads is None else reads.sums
    offset = np.zeros((tiles, 1), np.float32) if reads is None else reads.offset
    if layer.groups > 1:   # split: per-group compare (sense amplifier), majority of the groups
        t, sense = layer.thresholds()
        bits = _sign(sense * (sums(a) + offset - t))
        return _sign(bits.sum(1))
    if tiles == 1 and not last:
        z = sums(a)[:, 0] + offset[0]
    else:
        parts = sums(a)
        sizes = [s.stop - s.start for s in layer.slices(tiles)]
        z = sum(_adc(parts[:, k], n, readout.adc_bits) for k, n in enumerate(sizes))
    if last:
        return layer.gamma * (z - layer.mean) / np.sqrt(layer.var + BN_EPS) + layer.beta
    t, sense = layer.thresholds()
    return _sign(sense[0] * (z - t[0]))


def predict(net: BinaryMLP, x, readout: Readout = Readout(), reads=None) -> np.ndarray:
    """Class predictions (batch,) of +-1 inputs ``x`` read out as ``readout`` says;
    ``reads``: per layer, its arrays' reads (:func:`.bnn_analog.program`), None: exact."""
    a = np.asarray(x, np.float32)
    for i, layer in enumerate(net.layers):
        a = _layer_infer(layer, a, readout, i == len(net.layers) - 1, None if reads is None else reads[i])
    return a.argmax(1)


def activity(net: BinaryMLP, x) -> list[float]:
    """Fraction of +1 inputs at each layer (exact inference), for the word-line pulse count."""
    a, out = np.asarray(x, np.float32), []
    for i, layer in enumerate(net.layers):
        out.append(float((a > 0).mean()))
        a = _layer_infer(layer, a, Readout(), i == len(net.layers) - 1)
    return out


def calibrate(net: BinaryMLP, x) -> BinaryMLP:
    """Set every batch norm's statistics to their exact values over ``x`` (+-1 inputs), layer
    by layer through the network as inference runs it; returns ``net``."""
    a = np.asarray(x, np.float32)
    for i, layer in enumerate(net.layers):
        z = layer.partial_sums(a).reshape(len(a), -1)
        layer.mean[:] = z.mean(0)
        layer.var[:] = z.var(0) * len(z) / max(len(z) - 1, 1)
        a = _layer_infer(layer, a, Readout(), i == len(net.layers) - 1)
    return net
