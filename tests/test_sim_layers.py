"""NumPy layers of cimspice.sim against independent formulas: scipy.signal for convolution,
explicit loops for pooling and the LSTM recurrence, known values for the nonlinearities."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import signal

from cimspice.sim.errors import SimError
from cimspice.sim.execution import Backend, FloatBackend, FloatMatVec, FloatNonlinearity
from cimspice.sim.layers import (
    LSTM,
    Activation,
    AvgPool2d,
    CausalSelfAttention,
    Conv2d,
    Dense,
    LayerNorm,
    MaxPool2d,
    MLPBlock,
)

rng = np.random.default_rng(42)


def test_dense_is_x_w_plus_b_over_leading_axes():
    W, b = rng.normal(size=(5, 3)), rng.normal(size=3)
    x = rng.normal(size=(2, 4, 5))
    expected = np.einsum("nti,io->nto", x, W) + b
    np.testing.assert_allclose(Dense("d", W, b)(x), expected, rtol=1e-13)
    with pytest.raises(SimError, match="d: input has 4 features"):
        Dense("d", W, b)(np.ones((2, 4)))


@pytest.mark.parametrize("padding, stride", [(0, 1), (1, 1), (1, 2)])
def test_conv2d_matches_scipy_correlate(padding, stride):
    N, C, O, H, Wd, k = 2, 3, 4, 7, 6, 3
    x = rng.normal(size=(N, C, H, Wd))
    kernel, b = rng.normal(size=(O, C, k, k)), rng.normal(size=O)
    y = Conv2d("c", kernel, b, stride=stride, padding=padding)(x)
    xp = np.pad(x, ((0, 0), (0, 0), (padding,) * 2, (padding,) * 2))
    expected = np.empty_like(y)
    for n in range(N):
        for o in range(O):
            full = sum(signal.correlate2d(xp[n, c], kernel[o, c], mode="valid") for c in range(C))
            expected[n, o] = full[::stride, ::stride] + b[o]
    np.testing.assert_allclose(y, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("stride, padding, dilation, groups", [((2, 1), (1, 0, 2, 1), 1, 1), (1, 2, (2, 3), 1),
                                                               (1, 1, 1, 2), ((1, 2), 1, 2, 4)])
def test_conv2d_strides_asymmetric_pads_dilation_groups_match_scipy(stride, padding, dilation, groups):
    """Each output channel o correlates the input channels of its group with its kernel,
    dilated (zeros between taps), over the padded input, sampled every stride."""
    N, C, O, H, Wd, k = 2, 4, 8, 9, 10, 3
    x = rng.normal(size=(N, C, H, Wd))
    kernel, b = rng.normal(size=(O, C // groups, k, k)), rng.normal(size=O)
    conv = Conv2d("c", kernel, b, stride=stride, padding=padding, dilation=dilation, groups=groups)
    y = conv(x)
    sh, sw = (stride, stride) if np.isscalar(stride) else stride
    dh, dw = (dilation, dilation) if np.isscalar(dilation) else dilation
    t, left, bottom, r = (padding,) * 4 if np.isscalar(padding) else padding
    xp = np.pad(x, ((0, 0), (0, 0), (t, bottom), (left, r)))
    for o in range(O):
        g = o // (O // groups)
        dilated = np.zeros((C // groups, dh * (k - 1) + 1, dw * (k - 1) + 1))
        dilated[:, ::dh, ::dw] = kernel[o]
        for n in range(N):
            full = sum(signal.correlate2d(xp[n, g * (C // groups) + c], dilated[c], mode="valid")
                       for c in range(C // groups))
            np.testing.assert_allclose(y[n, o], full[::sh, ::sw] + b[o], rtol=1e-12, atol=1e-12)
    assert len(conv.matrices()) == groups and all(W.shape == (C // groups * k * k, O // groups)
                                                  for W in conv.matrices().values())
    with pytest.raises(SimError, match="c: groups must be >= 1 and divide the 8 output channels, got 3"):
        Conv2d("c", kernel, groups=3)


def test_pooling_against_loops():
    x = rng.normal(size=(2, 3, 4, 6))
    mx, av = MaxPool2d("m", 2)(x), AvgPool2d("a", 2)(x)
    assert mx.shape == av.shape == (2, 3, 2, 3)
    for n in range(2):
        for c in range(3):
            for i in range(2):
                for j in range(3):
                    win = x[n, c, 2 * i:2 * i + 2, 2 * j:2 * j + 2]
                    assert mx[n, c, i, j] == win.max()
                    assert av[n, c, i, j] == pytest.approx(win.mean(), rel=1e-14)
    with pytest.raises(SimError, match="divisible by 4"):
        MaxPool2d("m", 4)(x)


def test_nonlinearities_known_values():
    # gelu(x) = x Phi(x): Phi(1) = 0.8413447460685429, Phi(3) = 0.9986501019683699 (normal CDF tables)
    gelu = FloatNonlinearity("gelu")
    np.testing.assert_allclose(gelu(np.array([-1.0, 0.0, 1.0, 3.0])),
                               [-0.15865525393145707, 0.0, 0.8413447460685429, 3 * 0.9986501019683699], rtol=1e-12)
    np.testing.assert_allclose(FloatNonlinearity("sigmoid")(np.array([0.0, np.log(3.0)])), [0.5, 0.75])
    sm = FloatNonlinearity("softmax")(np.array([[0.0, np.log(3.0)], [1000.0, 1000.0]]))
    np.testing.assert_allclose(sm, [[0.25, 0.75], [0.5, 0.5]], rtol=1e-14)
    np.testing.assert_array_equal(FloatNonlinearity("relu")(np.array([-2.0, 0.5])), [0.0, 0.5])
    with pytest.raises(SimError, match="unknown kind 'swish'"):
        FloatNonlinearity("swish")


def test_layer_norm_known_values():
    y = LayerNorm("ln", np.ones(4), np.zeros(4), eps=0.0)(np.array([1.0, 2.0, 3.0, 4.0]))
    np.testing.assert_allclose(y, (np.array([1, 2, 3, 4]) - 2.5) / np.sqrt(1.25), rtol=1e-14)
    y = LayerNorm("ln", np.array([2.0, 2, 2, 2]), np.array([1.0, 1, 1, 1]))(np.array([5.0, 5, 5, 5]))
    np.testing.assert_allclose(y, 1.0)


def test_lstm_against_step_by_step_formulas():
    n_in, H, T, N = 3, 4, 5, 2
    W_ih, W_hh, b = rng.normal(size=(n_in, 4 * H)), rng.normal(size=(H, 4 * H)), rng.normal(size=4 * H)
    x = rng.normal(size=(N, T, n_in))
    sig = lambda z: 1 / (1 + np.exp(-z))  # noqa: E731
    h, c = np.zeros((N, H)), np.zeros((N, H))
    for t in range(T):
        i = sig(x[:, t] @ W_ih[:, :H] + h @ W_hh[:, :H] + b[:H])
        f = sig(x[:, t] @ W_ih[:, H:2 * H] + h @ W_hh[:, H:2 * H] + b[H:2 * H])
        g = np.tanh(x[:, t] @ W_ih[:, 2 * H:3 * H] + h @ W_hh[:, 2 * H:3 * H] + b[2 * H:3 * H])
        o = sig(x[:, t] @ W_ih[:, 3 * H:] + h @ W_hh[:, 3 * H:] + b[3 * H:])
        c = f * c + i * g
        h = o * np.tanh(c)
    np.testing.assert_allclose(LSTM("l", W_ih, W_hh, b)(x), h, rtol=1e-12, atol=1e-14)


def test_causal_attention_loop_and_causality():
    d, nh, T = 8, 2, 5
    att = CausalSelfAttention("a", rng.normal(size=(d, 3 * d)), rng.normal(size=3 * d), rng.normal(size=(d, d)),
                              rng.normal(size=d), nh)
    x = rng.normal(size=(1, T, d))
    y = att(x)
    # One query at a time, over the keys up to it: an independent loop.
    qkv = x[0] @ att.qkv.W + att.qkv.b
    q, k, v = qkv[:, :d], qkv[:, d:2 * d], qkv[:, 2 * d:]
    dh = d // nh
    mixed = np.zeros((T, d))
    for t in range(T):
        for h in range(nh):
            s = slice(h * dh, (h + 1) * dh)
            scores = np.array([q[t, s] @ k[u, s] for u in range(t + 1)]) / np.sqrt(dh)
            p = np.exp(scores - scores.max())
            mixed[t, s] = (p / p.sum()) @ v[: t + 1, s]
    np.testing.assert_allclose(y[0], mixed @ att.proj.W + att.proj.b, rtol=1e-11, atol=1e-12)
    x2 = x.copy()
    x2[0, -1] += 10.0  # the last token cannot change earlier outputs
    np.testing.assert_allclose(att(x2)[0, :-1], y[0, :-1], rtol=1e-12)


class _DoubledWeights(FloatBackend):
    """A backend that programs every matrix as 2 W and counts the nonlinearities it serves."""

    def __init__(self):
        super().__init__()
        self.kinds = []

    def matvec(self, name, W):
        return FloatMatVec(2 * np.asarray(W))

    def nonlinearity(self, name, kind):
        self.kinds.append(kind)
        return FloatNonlinearity(kind)


def test_every_weight_product_and_nonlinearity_goes_through_the_backend():
    W1, b1, W2, b2 = rng.normal(size=(4, 6)), rng.normal(size=6), rng.normal(size=(6, 4)), rng.normal(size=4)
    block = MLPBlock("m", W1, b1, W2, b2)
    x = rng.normal(size=(3, 4))
    backend = _DoubledWeights()
    gelu = FloatNonlinearity("gelu")
    np.testing.assert_allclose(block(x, backend), gelu(x @ (2 * W1) + b1) @ (2 * W2) + b2, rtol=1e-12)
    assert backend.kinds == ["gelu"]
    kernel = rng.normal(size=(2, 1, 3, 3))
    img = rng.normal(size=(1, 1, 5, 5))
    np.testing.assert_allclose(Conv2d("c", kernel)(img, backend), 2 * Conv2d("c", kernel)(img), rtol=1e-12)
    Activation("r", "relu")(x, backend)
    assert backend.kinds[-1] == "relu"
    assert isinstance(FloatBackend(), Backend)
