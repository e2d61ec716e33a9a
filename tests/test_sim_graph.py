"""Graph networks (`cimspice.sim.graph`) built in Python: a residual block against the same
arithmetic written out in NumPy, and the checks on a graph's wiring. (ONNX graphs against
onnxruntime: tests/test_sim_onnx_graph.py.)"""

from __future__ import annotations

import numpy as np
import pytest

from cimspice.sim.errors import SimError
from cimspice.sim.graph import Graph, Node
from cimspice.sim.graph_layers import Binary, Concat, Split
from cimspice.sim.layers import Activation, Dense

rng = np.random.default_rng(5)


def test_residual_block_and_split_concat_against_numpy():
    W1, W2, b = rng.normal(size=(6, 6)), rng.normal(size=(6, 6)), rng.normal(size=6)
    net = Graph("res", [Node(Dense("fc1", W1, b), ["x"], ["h"]),
                        Node(Activation("act", "relu"), ["h"], ["a"]),
                        Node(Dense("fc2", W2), ["a"], ["f"]),
                        Node(Binary("skip", "add"), ["x", "f"], ["y"]),
                        Node(Split("cut", 1, [2, 4]), ["y"], ["p", "q"]),
                        Node(Concat("cat", 1), ["q", "p"], ["out"])], "x", "out")
    x = rng.normal(size=(3, 6))
    y = x + np.maximum(x @ W1 + b, 0) @ W2
    np.testing.assert_allclose(net.forward(x), np.hstack([y[:, 2:], y[:, :2]]), rtol=1e-13)
    assert list(net.matrices()) == ["fc1", "fc2"] and repr(net) == "Graph('res', 6 nodes)"


@pytest.mark.parametrize("nodes, output, message", [
    ([Node(Activation("a", "relu"), ["h"], ["y"])], "y", r"node 'a' reads \['h'\], which no earlier node writes"),
    ([Node(Activation("a", "relu"), ["x"], ["y"]), Node(Activation("b", "tanh"), ["x"], ["y"])], "y",
     r"tensor 'y' is written twice"),
    ([Node(Activation("a", "relu"), ["x"], ["y"])], "z", r"no node writes the output 'z'"),
    ([Node(Activation("a", "relu"), ["x"], ["y"]), Node(Activation("a", "tanh"), ["y"], ["z"])], "z",
     r"layer names repeat"),
])
def test_miswired_graphs_are_refused(nodes, output, message):
    with pytest.raises(SimError, match=message):
        Graph("g", nodes, "x", output)
