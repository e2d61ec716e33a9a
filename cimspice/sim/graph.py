"""A network as a graph of layers over named tensors (ResNets, transformers, any DAG).

::

    from cimspice.sim.graph import Graph, Node
    from cimspice.sim.graph_layers import Binary
    net = Graph("res", [Node(Conv2d("c1", k1), ["x"], ["h"]),
                        Node(Activation("r1", "relu"), ["h"], ["a"]),
                        Node(Binary("skip", "add"), ["x", "a"], ["y"])], "x", "y")
    logits = net.forward(x, backend)

Each :class:`Node` runs one layer of :mod:`.layers` or :mod:`.graph_layers` on the tensors it
names and stores its outputs under their names; nodes are listed in topological order (each
input is the graph input or an output of an earlier node). A layer is called as
``layer(x, backend)``, where ``x`` is the one input array or, for a node with several inputs,
their tuple in order; a node with several outputs gets a tuple back. Matrix layers (``Dense``,
``Conv2d``) put their weights on arrays through the backend exactly as in a
:class:`~cimspice.sim.network.Sequential`, whose interface a graph shares (``forward``,
``score``, ``matrices``, ``layers``), so :func:`cimspice.sim.simulate.simulate`, the tiling
plan and the cost accounting take either.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import SimError
from .execution import Backend
from .layers import FLOAT, Layer
from .network import Network, layer_from_config

__all__ = ["Graph", "Node"]


@dataclass(frozen=True)
class Node:
    """``layer`` applied to the tensors named ``inputs``, giving the tensors ``outputs``."""

    layer: Layer
    inputs: tuple
    outputs: tuple

    def __post_init__(self):
        object.__setattr__(self, "inputs", tuple(self.inputs))
        object.__setattr__(self, "outputs", tuple(self.outputs))


class Graph(Network):
    """Nodes over named tensors, one input tensor ``input`` (N, ...) and one output ``output``.

    Raises :class:`SimError` when a node reads a tensor no earlier node (nor the input)
    writes, when a tensor is written twice, or when ``output`` is never written.
    """

    def __init__(self, name: str, nodes: list[Node], input: str, output: str, info: dict | None = None):
        self.nodes = list(nodes)
        super().__init__(name, [node.layer for node in self.nodes], info)
        self.input, self.output = input, output
        written = {input: -1}
        for i, node in enumerate(self.nodes):
            missing = [t for t in node.inputs if t not in written]
            if missing:
                raise SimError(f"graph {name!r}: node {node.layer.name!r} reads {missing}, which no earlier node "
                               f"writes (nodes must be in topological order)")
            for t in node.outputs:
                if t in written:
                    raise SimError(f"graph {name!r}: tensor {t!r} is written twice")
                written[t] = i
        if output not in written:
            raise SimError(f"graph {name!r}: no node writes the output {output!r}")
        # after node i, the tensors no later node reads (freed as the pass goes: memory)
        last = {t: i for i, node in enumerate(self.nodes) for t in node.inputs}
        self._free = [[t for t in (*node.inputs, *node.outputs) if last.get(t, -1) <= i and t != output]
                      for i, node in enumerate(self.nodes)]

    @classmethod
    def from_config(cls, name: str, config: dict, weights: dict, info: dict | None = None) -> Graph:
        """A graph from plain data (how the zoo stores one, docs/system.md): ``config`` is
        ``{"input": tensor, "output": tensor, "nodes": [node, ...]}``, each node a layer
        description of :meth:`~cimspice.sim.network.Sequential.from_config` with its
        ``"inputs"`` and ``"outputs"`` tensor names, or ``{"type": "binary", "op": "add" |
        "sub" | "mul" | "div"}`` (of two tensors: a residual connection); weights by layer
        name as there (``name.kernel``, ``name.b``...)."""
        from .graph_layers import Binary

        try:
            nodes = []
            for i, spec in enumerate(config["nodes"]):
                layer = (Binary(spec["name"], spec["op"]) if spec.get("type") == "binary"
                         else layer_from_config(spec, weights, name, i))
                nodes.append(Node(layer, spec["inputs"], spec["outputs"]))
            return cls(name, nodes, config["input"], config["output"], info)
        except (KeyError, TypeError) as error:
            raise SimError(f"network {name!r}: graph config lacks or mistypes {error}") from None

    def forward(self, x, backend: Backend = FLOAT) -> np.ndarray:
        """The output tensor for input ``x`` (N, ...), each node run on ``backend``."""
        backend.begin(len(x))
        env = {self.input: x}
        for node, free in zip(self.nodes, self._free):
            args = [env[t] for t in node.inputs]
            y = node.layer(args[0] if len(args) == 1 else tuple(args), backend)
            if len(node.outputs) == 1:
                env[node.outputs[0]] = y
            else:
                env.update(zip(node.outputs, y))
            for t in free:
                env.pop(t, None)
        return env[self.output]

    def __repr__(self) -> str:
        return f"Graph({self.name!r}, {len(self.nodes)} nodes)"
