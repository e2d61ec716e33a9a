"""Networks made of :mod:`.layers`: a sequential stack (MLP, CNN, LSTM classifier) and a
character-level GPT, each run on any backend, plus the metric that scores them.

``Sequential.from_config`` / ``GPT.from_config`` build a network from plain data (a layer
list or hyper-parameters, and a name -> array weight mapping), which is how the zoo's HDF5
files are loaded.
"""

from __future__ import annotations

import numpy as np

from .errors import SimError
from .execution import Backend
from .layers import (
    FLOAT,
    LSTM,
    Activation,
    AvgPool2d,
    CausalSelfAttention,
    Conv2d,
    Dense,
    Embedding,
    Flatten,
    GPTBlock,
    Layer,
    LayerNorm,
    MaxPool2d,
    MLPBlock,
)

__all__ = ["GPT", "Network", "Sequential", "accuracy", "layer_from_config", "perplexity"]


def accuracy(logits: np.ndarray, labels: np.ndarray) -> float:
    """Fraction of rows whose largest logit is the label."""
    return float(np.mean(np.argmax(logits, axis=-1) == np.asarray(labels)))


def perplexity(logits: np.ndarray, targets: np.ndarray) -> float:
    """``exp`` of the mean cross-entropy (nats) of ``logits`` (..., vocab) on integer ``targets`` (...)."""
    z = logits - logits.max(axis=-1, keepdims=True)
    log_p = z - np.log(np.exp(z).sum(axis=-1, keepdims=True))
    nll = -np.take_along_axis(log_p, np.asarray(targets)[..., None], axis=-1)
    return float(np.exp(nll.mean()))


class Network:
    """A trained network: ``forward(x, backend)`` and the metric that scores it.

    Attributes
    ----------
    name : str
    metric : {"accuracy", "perplexity"}
        Higher accuracy is better; lower perplexity is better.
    info : dict
        Plain attributes from the zoo file (float metric, data set, training provenance).
    """

    metric = "accuracy"

    def __init__(self, name: str, layers: list[Layer], info: dict | None = None):
        self.name, self.layers, self.info = name, list(layers), dict(info or {})
        names = [layer.name for layer in self.layers]
        if len(set(names)) != len(names):
            raise SimError(f"network {name!r}: layer names repeat: {names}")

    def forward(self, x, backend: Backend = FLOAT) -> np.ndarray:
        backend.begin(len(x))
        for layer in self.layers:
            x = layer(x, backend)
        return x

    def score(self, x, y, backend: Backend = FLOAT) -> float:
        logits = self.forward(x, backend)
        return accuracy(logits, y) if self.metric == "accuracy" else perplexity(logits, y)

    def matrices(self) -> dict[str, np.ndarray]:
        """Every weight matrix that goes on arrays, name -> (n_in, n_out), in execution order."""
        out: dict[str, np.ndarray] = {}
        for layer in self.layers:
            out.update(layer.matrices())
        return out

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r}, {len(self.layers)} layers)"


def _weight(weights: dict, key: str, network: str) -> np.ndarray:
    if key not in weights:
        raise SimError(f"network {network!r}: weight {key!r} is missing")
    return np.asarray(weights[key], dtype=float)


class Sequential(Network):
    """Layers applied in order. Built from a list of layer descriptions:

    ``{"type": "dense", "name": n}`` (weights ``n.W``, ``n.b``), ``{"type": "conv2d", "name": n,
    "stride": s, "padding": p, "dilation": d, "groups": g}`` (``n.kernel``, ``n.b``; the last
    four optional), ``{"type": "lstm", "name": n}``
    (``n.W_ih``, ``n.W_hh``, ``n.b``), ``{"type": "activation", "kind": k}``,
    ``{"type": "maxpool" | "avgpool", "k": k}``, ``{"type": "flatten"}``.
    """

    @classmethod
    def from_config(cls, name: str, layers: list[dict], weights: dict, info: dict | None = None) -> Sequential:
        return cls(name, [layer_from_config(spec, weights, name, i) for i, spec in enumerate(layers)], info)


def layer_from_config(spec: dict, weights: dict, network: str, index: int) -> Layer:
    """One layer of :meth:`Sequential.from_config`'s list (also a graph node's layer:
    :meth:`cimspice.sim.graph.Graph.from_config`), its weights read from ``weights``."""
    kind = spec.get("type")
    lname = spec.get("name", f"{kind}{index}")
    w = lambda key: _weight(weights, f"{lname}.{key}", network)  # noqa: E731
    if kind == "dense":
        return Dense(lname, w("W"), w("b"))
    if kind == "conv2d":
        return Conv2d(lname, w("kernel"), w("b"), stride=spec.get("stride", 1), padding=spec.get("padding", 0),
                      dilation=spec.get("dilation", 1), groups=spec.get("groups", 1))
    if kind == "lstm":
        return LSTM(lname, w("W_ih"), w("W_hh"), w("b"))
    if kind == "activation":
        return Activation(lname, spec["kind"])
    if kind in ("maxpool", "avgpool"):
        return (MaxPool2d if kind == "maxpool" else AvgPool2d)(lname, spec["k"])
    if kind == "flatten":
        return Flatten(lname)
    raise SimError(f"network {network!r}: layer {index} has unknown type {kind!r}")


class GPT(Network):
    """Character-level decoder-only transformer: token + position embeddings, pre-norm
    blocks, final layer norm, linear head. ``forward(ids (N, T))`` -> logits (N, T, vocab)."""

    metric = "perplexity"

    def __init__(self, name, tok: Embedding, pos: np.ndarray, blocks: list[GPTBlock], ln_f: LayerNorm,
                 head: Dense, info=None):
        super().__init__(name, [tok, *blocks, ln_f, head], info)
        self.tok, self.pos, self.blocks, self.ln_f, self.head = tok, np.asarray(pos, float), blocks, ln_f, head
        self.context = len(self.pos)

    def forward(self, ids, backend: Backend = FLOAT) -> np.ndarray:
        ids = np.asarray(ids)
        if ids.ndim != 2 or ids.shape[1] > self.context:
            raise SimError(f"{self.name}: expected token ids (N, T <= {self.context}), got shape {ids.shape}")
        backend.begin(len(ids))
        x = self.tok(ids, backend) + self.pos[: ids.shape[1]]
        backend.digital(self.tok.name, "add", x.size)
        for block in self.blocks:
            x = block(x, backend)
        return self.head(self.ln_f(x, backend), backend)

    @classmethod
    def from_config(cls, name: str, config: dict, weights: dict, info: dict | None = None) -> GPT:
        w = lambda key: _weight(weights, key, name)  # noqa: E731
        blocks = []
        for i in range(int(config["n_layers"])):
            p = f"block{i}"
            attn = CausalSelfAttention(f"{p}.attn", w(f"{p}.attn.qkv.W"), w(f"{p}.attn.qkv.b"),
                                       w(f"{p}.attn.proj.W"), w(f"{p}.attn.proj.b"), int(config["n_heads"]))
            mlp = MLPBlock(f"{p}.mlp", w(f"{p}.mlp.fc.W"), w(f"{p}.mlp.fc.b"), w(f"{p}.mlp.out.W"),
                           w(f"{p}.mlp.out.b"))
            blocks.append(GPTBlock(p, LayerNorm(f"{p}.ln1", w(f"{p}.ln1.gamma"), w(f"{p}.ln1.beta")), attn,
                                   LayerNorm(f"{p}.ln2", w(f"{p}.ln2.gamma"), w(f"{p}.ln2.beta")), mlp))
        return cls(name, Embedding("tok", w("tok.table")), w("pos.table"), blocks,
                   LayerNorm("ln_f", w("ln_f.gamma"), w("ln_f.beta")), Dense("head", w("head.W"), w("head.b")), info)
