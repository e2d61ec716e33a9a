"""Training an MLP on analog ReRAM arrays: the three kernels of Marinella et al. (JETCAS 2018).

Each weight is one ReRAM cell against a shared reference conductance, ``W = (G - G_ref) /
g_unit``, with ``G = g_off (g_on/g_off)**w`` (the ``reram`` model of netlists/reram.lib, with
the window of the device card given: :func:`cimspice.circuits.devices.reram_card`). Per
training sample:

- forward, vector-matrix multiply (VMM): ``y = x @ W`` read as column currents, inputs at
  ``input_bits`` levels, outputs through a ``adc_bits`` ADC on a calibrated range;
- backward, the transposed multiply (MVM^T) on the same array: ``d = delta @ W.T``, quantised
  the same way;
- update, outer product (OPU): the desired change ``-lr x delta`` becomes a number of
  identical programming pulses per cell (stochastically rounded, at most ``max_pulses``);
  positive changes SET, negative RESET. Each pulse moves the state by the device's own law,
  measured in ngspice for these pulses (:class:`PulseLaw`): a SET pulse multiplies ``1 - w``
  by ``exp(-a_set)``, a RESET pulse multiplies ``w`` by ``exp(-a_reset)`` (the Stanford-PKU
  model's rate is ``(1 - w)`` above the SET threshold and ``w`` beyond the RESET one). So a
  pulse's conductance step shrinks as the cell nears its bound, and SET and RESET steps
  differ: the non-ideal update that limits analog training.

A float reference trains the same network with the same per-sample SGD.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..circuits.devices import RERAM, ReramModel

__all__ = ["PulseLaw", "reference", "train_analog", "train_float"]


@dataclass(frozen=True)
class PulseLaw:
    """State change of one programming pulse: ``1 - w -> (1 - w) exp(-a_set)`` for SET,
    ``w -> w exp(-a_reset)`` for RESET (dimensionless, from ngspice), energies in J, and the
    pulses' durations edges included (s, measured on the simulated waveforms)."""

    a_set: float
    a_reset: float
    energy_set: float = 0.0
    energy_reset: float = 0.0
    t_set: float = 0.0
    t_reset: float = 0.0

    def apply(self, w, n_set, n_reset):
        w = 1.0 - (1.0 - w) * np.exp(-self.a_set * n_set)
        return w * np.exp(-self.a_reset * n_reset)


def _conductance(w, card):
    return card.g_off * (card.g_on / card.g_off) ** w


def _state(g, card):
    return np.clip(np.log(g / card.g_off) / np.log(card.g_on / card.g_off), 0.0, 1.0)


def reference(card: ReramModel, w_range: float) -> tuple[float, float]:
    """``(G_ref, g_unit)`` (S, S per unit weight): the reference at the middle of the card's
    window, ``(g_on + g_off) / 2``, and the conductance of one unit of weight, so that
    ``|W| <= w_range`` spans the window on both sides."""
    g_ref = 0.5 * (card.g_on + card.g_off)
    return g_ref, (card.g_on - g_ref) / w_range


def _quantise(v, bits, full):
    """Mid-tread quantiser of ``bits`` on [-full, full] (``bits=None``: exact)."""
    if bits is None:
        return v
    c = 2 ** (bits - 1) - 1
    step = full / c
    return np.clip(np.rint(v / step), -c, c) * step


def _init(sizes, rng):
    return [rng.uniform(-1, 1, (a, b)) * np.sqrt(1.0 / a) for a, b in zip(sizes[:-1], sizes[1:])]


def train_float(x, y, hidden=36, *, epochs=5, lr=0.05, seed=0, count_bit_flips: int | None = None):
    """Per-sample SGD of ``n_in - hidden - 10`` (sigmoid hidden layer, softmax output).

    With ``count_bit_flips=B`` also returns the mean number of bits that change per weight and
    update when the weights are stored as B-bit signed codes of their range (what a digital
    memory would have to rewrite)."""
    rng = np.random.default_rng(seed)
    Ws = _init([x.shape[1], hidden, 10], rng)
    flips = updates = 0
    for _ in range(epochs):
        for i in rng.permutation(len(x)):
            new = _step(Ws, x[i], y[i], lr, lambda W, dW: W + dW)
            if count_bit_flips:
                for W, Wn in zip(Ws, new):
                    c = 2 ** (count_bit_flips - 1) - 1
                    scale = max(np.abs(W).max(), 1e-12) / c
                    a = np.clip(np.rint(W / scale), -c, c).astype(np.int64) & (2 ** count_bit_flips - 1)
                    b = np.clip(np.rint(Wn / scale), -c, c).astype(np.int64) & (2 ** count_bit_flips - 1)
                    flips += int(sum(((a ^ b) >> k & 1).sum() for k in range(count_bit_flips)))
                    updates += W.size
            Ws = new
    return (Ws, flips / max(updates, 1)) if count_bit_flips else Ws


def _step(Ws, x, y, lr, update, mvm=lambda v, W: v @ W, mvm_t=lambda d, W: d @ W.T):
    h = 1.0 / (1.0 + np.exp(-mvm(x, Ws[0])))
    z = mvm(h, Ws[1])
    p = np.exp(z - z.max())
    p /= p.sum()
    d2 = p.copy()
    d2[y] -= 1.0
    d1 = mvm_t(d2, Ws[1]) * h * (1 - h)
    return [update(Ws[0], -lr * np.outer(x, d1)), update(Ws[1], -lr * np.outer(h, d2))]


def predict(Ws, x):
    h = 1.0 / (1.0 + np.exp(-(x @ Ws[0])))
    return (h @ Ws[1]).argmax(axis=1)


def train_analog(x, y, law: PulseLaw | None, hidden=36, *, epochs=5, lr=0.05, seed=0, adc_bits=8, input_bits=8,
                 w_range=1.0, max_pulses=8, card: ReramModel = RERAM):
    """Per-sample SGD with every kernel on arrays (see the module docstring).

    ``w_range``: the weight the conductance window spans on each side of the reference
    (:func:`reference`); ``|W| <= w_range``. ``card``: the device's window (g_on, g_off).
    Returns ``(Ws, counters)`` with the SET/RESET pulse counts and the kernel calls, for the
    energy account.
    """
    rng = np.random.default_rng(seed)
    W0 = _init([x.shape[1], hidden, 10], rng)
    # the reference sits at the middle of the conductance window (not of the state): the
    # weight range is then symmetric, [-w_range, w_range]
    g_ref, g_unit = reference(card, w_range)
    # weights -> states: programmed once at the start (write-verify, not counted here)
    states = [_state(np.clip(g_ref + W * g_unit, card.g_off, card.g_on), card) for W in W0]
    weights = lambda: [(_conductance(s, card) - g_ref) / g_unit for s in states]  # noqa: E731
    counts = {"set": 0, "reset": 0, "vmm": 0, "mvm_t": 0, "opu": 0}
    # what one SET and one RESET pulse do to W at the reference state: pulse counts are
    # set so that the two directions balance there (away from it they do not: the device)
    if law is not None:
        w_ref = float(_state(g_ref, card))
        dw_set = (_conductance(law.apply(w_ref, 1, 0), card) - g_ref) / g_unit
        dw_reset = (g_ref - _conductance(law.apply(w_ref, 0, 1), card)) / g_unit

    # ADC ranges per kernel and layer: the largest output seen so far, decaying slowly (an
    # ADC whose range is recalibrated as training goes)
    ranges: dict = {}

    def convert(key, out):
        full = ranges[key] = max(0.999 * ranges.get(key, 0.0), float(np.abs(out).max()), 1e-12)
        return _quantise(out, adc_bits, full)

    def mvm(v, W):
        counts["vmm"] += 1
        vq = _quantise(v, input_bits, max(float(np.abs(v).max()), 1e-12))  # input DAC levels
        return convert(("vmm", W.shape), vq @ W)

    def mvm_t(d, W):
        counts["mvm_t"] += 1
        dq = _quantise(d, input_bits, max(float(np.abs(d).max()), 1e-12))
        return convert(("mvm_t", W.shape), dq @ W.T)

    exact = [np.clip(W, -w_range, w_range) for W in W0]
    for _ in range(epochs):
        for i in rng.permutation(len(x)):
            Ws = exact if law is None else weights()
            new = _step(Ws, x[i], y[i], lr, lambda W, dW: dW, mvm, mvm_t)
            counts["opu"] += 1
            if law is None:  # an ideal device: the update lands exactly, within the range
                exact = [np.clip(W + dW, -w_range, w_range) for W, dW in zip(exact, new)]
                continue
            for k, dW in enumerate(new):
                n = np.where(dW > 0, dW / dw_set, dW / dw_reset)
                n = np.floor(np.abs(n) + rng.random(n.shape)) * np.sign(n)   # stochastic rounding
                n = np.clip(n, -max_pulses, max_pulses)
                n_set, n_reset = np.maximum(n, 0), np.maximum(-n, 0)
                counts["set"] += int(n_set.sum())
                counts["reset"] += int(n_reset.sum())
                states[k] = law.apply(states[k], n_set, n_reset)
    return (exact if law is None else weights()), counts
