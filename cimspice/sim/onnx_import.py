"""Networks from ONNX files: ``load_onnx(path)`` -> a :class:`~cimspice.sim.network.Sequential`
(a chain of layers) or a :class:`~cimspice.sim.graph.Graph` (residuals, attention, any DAG).

::

    from cimspice.sim.onnx_import import load_onnx
    net = load_onnx("resnet18.onnx")          # layers of cimspice.sim.layers, float64 weights
    net.info["input_shape"]                   # (3, 224, 224): one sample, without the batch axis

Every node becomes a layer of :mod:`.layers` (matrix products, convolutions, LSTMs,
nonlinearities, norms, pooling) or :mod:`.graph_layers` (element-wise arithmetic and data
movement), converted by :mod:`.onnx_ops` and :mod:`.onnx_tensor_ops`; docs/onnx.md lists the
ops and their conditions. A bias ``Add`` after a MatMul/Gemm/Conv and a BatchNormalization
after a Conv are folded into them; nodes that compute from constants only (a
DequantizeLinear of int8 weights, a Sign of real weights, the reshape targets the legacy
PyTorch exporter computes with ``Shape``/``Gather``/``Concat``) are evaluated once at import
with onnx's reference evaluator. Where the batch axis is, per tensor, is followed through
transposes and reshapes that move it or merge it with other axes (:mod:`.onnx_batch`).
Anything else raises :class:`SimError` naming the file, the node and the reason. ONNX is
protobuf (reading it runs no code); external weights are read only from the model's folder;
``onnx`` is imported only when a file is loaded.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path

import numpy as np

from ..validate import require_finite
from .errors import SimError
from .graph import Graph, Node
from .layers import FLOAT, Activation, Layer
from .network import Network, Sequential
from .onnx_batch import Misplaced, Place, Tensor, next_plan
from .onnx_file import onnx_package, read_model
from .onnx_io import GraphIO
from .onnx_ops import MatrixOps
from .onnx_shape_ops import ShapeOps
from .onnx_tensor_ops import TensorOps

__all__ = ["DIGITS_FORMATS", "load_onnx"]

log = logging.getLogger(__name__)
_onnx = onnx_package      # the name cimspice.sim.zoo.export imports

#: Input shapes (without the batch axis) in which the shipped digits can be fed, and the
#: ``input_format`` of the zoo network whose data set (held-out split) they are.
DIGITS_FORMATS = {(64,): "flat", (1, 8, 8): "image", (8, 8): "rows"}
#: ops supported on constants only (evaluated at import): casts, how masks are built, and the
#: arithmetic on shapes of the legacy PyTorch exporter's reshape targets
_CONSTANT_ONLY = {"Cast", "Trilu", "Not", "And", "Or", "Equal", "Less", "Greater", "LessOrEqual", "GreaterOrEqual",
                  "ConstantOfShape", "Range", "Expand", "Shape", "Size", "Mod", "Sqrt", "Neg", "Abs", "Floor", "Ceil",
                  "Reciprocal", "Pow", "Max", "Min", "ReduceProd"}
#: ops that take a tensor in an LSTM's ONNX layout or a QuantizeLinear's output (``Tensor.mode``)
_LAYOUT_OPS = {"Transpose", "LSTM", "Squeeze", "Gather", "Flatten", "Reshape", "Identity", "Dropout",
               "DequantizeLinear", "Shape"}
#: ops that take a tensor whose batch is not axis 0 alone (``Tensor.place``); the rest need (N, ...)
_PLACED_OPS = {"Add", "Sub", "Mul", "Div", "Where", "Relu", "Sigmoid", "Tanh", "Gelu", "Sign", "Clip", "Softmax",
               "LayerNormalization", "MatMul", "Gemm", "Transpose", "Reshape", "Flatten", "Squeeze", "Unsqueeze",
               "Gather", "Concat", "Split", "Slice", "Identity", "Dropout", "ReduceMean", "ReduceSum", "ReduceMax",
               "Shape", "QuantizeLinear", "DequantizeLinear", "LSTM"}
#: imports tried at most, each with other choices at the Reshapes a batch-1 file leaves ambiguous
_MAX_TRIES = 64


class _Importer(GraphIO, MatrixOps, ShapeOps, TensorOps):
    """Walks the nodes (topologically ordered, as ONNX requires), building graph nodes and
    running each layer on the probes of its inputs to follow shapes."""

    def __init__(self, onnx, model, path: Path, plan: dict | None = None, batch_axis: int | None = None):
        self.onnx, self.path, self.graph = onnx, path, model.graph
        self.plan, self.choices = dict(plan or {}), {}   # ambiguous Reshapes: node index -> candidate, count
        g = model.graph
        if g.sparse_initializer:
            raise SimError(f"{path}: sparse initializers are unsupported")
        self.onnx_opset = max((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), default=1)
        raw = {t.name: (onnx.numpy_helper.to_array(t), "initializer") for t in g.initializer}
        self.onnx_nodes = []
        for node in g.node:  # Constant nodes have no inputs: hoisted, so patterns see the layers only
            if node.op_type == "Constant" and node.domain in ("", "ai.onnx"):
                value = self._attrs(node).get("value")
                if value is None:
                    self.fail(node, "only tensor 'value' constants are supported")
                raw[node.output[0]] = (onnx.numpy_helper.to_array(value), "constant")
            else:
                self.onnx_nodes.append(node)
        self.consumers: dict[str, list[int]] = {}
        for i, node in enumerate(self.onnx_nodes):
            for x in dict.fromkeys(x for x in node.input if x):
                self.consumers.setdefault(x, []).append(i)
        self.consts = {name: self._finite(name, value, f"{path}: {what} {name!r}")
                       for name, (value, what) in raw.items()}
        self.uses = {name: len(c) for name, c in self.consumers.items()}
        for o in g.output:
            self.uses[o.name] = self.uses.get(o.name, 0) + 1
        self.nodes: list[Node] = []
        self.producer: dict[str, int] = {}     # tensor -> index in self.nodes of the node writing it
        self.alias: dict[str, str] = {}        # tensor -> the tensor it is (Identity, folded Add...)
        self.names: set[str] = set()
        self.skip: set[int] = set()
        self.shape_derived: set[str] = set()   # constants computed from an activation's Shape (at batch 1)
        self._input(onnx, g, batch_axis)

    def _finite(self, name: str, value, what: str) -> np.ndarray:
        """A constant checked finite; -inf passes in a mask only (every node reading the
        constant is a ``Where``, taking it as a value, or an ``Add``: attention's causal mask,
        whose -inf entries softmax weighs zero). NaN and +inf never pass."""
        a = np.asarray(value)
        users = [self.onnx_nodes[k] for k in self.consumers.get(name, [])]
        mask = users and all(n.op_type == "Add" or n.op_type == "Where" and name in n.input[1:] for n in users)
        if mask and a.dtype.kind == "f" and np.isneginf(a).any():
            require_finite(np.where(np.isneginf(a), 0.0, a), what, SimError)
            return a
        return require_finite(a, what, SimError)

    # ------------------------------------------------------------------ helpers for the converters
    def _attrs(self, node) -> dict:
        get = self.onnx.helper.get_attribute_value
        return {a.name: v.decode() if isinstance(v := get(a), bytes) else v for a in node.attribute}

    def fail(self, node, why: str):  # -> NoReturn
        raise SimError(f"{self.path}: node {node.name or '(unnamed)'!r} ({node.op_type}): {why}")

    def misplaced(self, node, why: str, *places: Place):  # -> NoReturn
        """Refuse ``node`` for where the batch is in ``places`` (another choice at the Reshapes
        they follow from may be tried)."""
        deps = frozenset().union(*(p.deps for p in places))
        raise Misplaced(f"{self.path}: node {node.name or '(unnamed)'!r} ({node.op_type}): {why}", deps)

    def place(self, name: str) -> Place:
        return self.tensors[name].place

    def shown(self, name: str) -> str:
        """Tensor ``name``'s shape with its batch: ``(8, N*4, 8)``."""
        return self.place(name).show(self.tensors[name].probe.shape)

    def same_place(self, node, names: list[str], what: str) -> Place:
        """The one place of the batch in tensors ``names`` (refused when they differ)."""
        places = [self.place(x) for x in names]
        if any(p.key != places[0].key for p in places):
            self.misplaced(node, f"{what} of tensors with the batch in different places "
                                 f"({', '.join(self.shown(x) for x in names)})", *places)
        return Place(*places[0].key, frozenset().union(*(p.deps for p in places)))

    def choose(self, i: int, candidates: list[Place]) -> Place:
        """One of the places a batch-1 file leaves open at node ``i``: the import's plan says
        which (the first unless an earlier import was refused further on)."""
        if len(candidates) == 1:
            return candidates[0]
        self.choices[i] = len(candidates)
        p = candidates[self.plan.get(i, 0)]
        return Place(*p.key, p.deps | {i})

    def const(self, node, k: int, required: bool = True, raw: bool = False):
        """Input ``k`` of ``node``, which must be a constant, as float (``raw``: its own dtype);
        None when absent and not ``required``."""
        name = node.input[k] if len(node.input) > k else ""
        if not name:
            if required:
                self.fail(node, f"input {k} is missing")
            return None
        if name not in self.consts:
            self.fail(node, f"input {k} ({name!r}) must be a constant (an initializer)")
        value = np.asarray(self.consts[name])
        if value.dtype.kind not in "biuf":
            self.fail(node, f"input {k} ({name!r}) is not numeric ({value.dtype})")
        return value if raw else value.astype(float)

    def dynamic(self, node) -> list[str]:
        """The activation (non-constant) inputs of ``node``, in order."""
        return [x for x in node.input if x and x not in self.consts]

    def ref(self, name: str) -> str:
        """The graph tensor ``name`` stands for (through Identity and folded nodes)."""
        while name in self.alias:
            name = self.alias[name]
        return name

    def lname(self, node, i: int) -> str:
        """A layer name from ``node``'s (or its op and index), unique in the network."""
        return self.layer_name((node.name or "").strip("/").replace("/", ".") or f"{node.op_type.lower()}{i}")

    def layer_name(self, base: str) -> str:
        name, k = base, 1
        while name in self.names:
            name, k = f"{base}_{k}", k + 1
        self.names.add(name)
        return name

    def _probe(self, node, layer: Layer, inputs: list[str]):
        args = [self.tensors[x].probe for x in inputs]
        try:
            with np.errstate(all="ignore"):   # zeros may divide by zero; only shapes matter here
                y = layer(args[0] if len(args) == 1 else tuple(args), FLOAT)
        except SimError as error:
            self.fail(node, str(error))
        return y if isinstance(y, tuple) else (y,)

    def emit(self, node, layer: Layer, inputs: list[str], outputs: list[str] | None = None,
             place: Place | None = None) -> None:
        """Add ``layer`` reading tensors ``inputs``, writing ``outputs`` (default the node's first)
        with the batch at ``place`` (default: where it is in the first input)."""
        outputs = list(outputs or node.output[:1])
        place = self.place(inputs[0]) if place is None else place
        for name, value in zip(outputs, self._probe(node, layer, inputs)):
            self.tensors[name] = Tensor(value, place=place, writer=node)
            self.producer[name] = len(self.nodes)
        self.nodes.append(Node(layer, [self.ref(x) for x in inputs], outputs))

    def same(self, out: str, src: str, mode=None, place: Place | None = None) -> None:
        """Tensor ``out`` is tensor ``src`` (no node), in layout ``mode``, batch at ``place``
        (default: ``src``'s)."""
        self.tensors[out] = Tensor(self.tensors[src].probe, mode, self.place(src) if place is None else place,
                                    self.tensors[src].writer)
        self.alias[out] = src
        self.uses[self.ref(src)] = self.uses.get(self.ref(src), 0) + self.uses.get(out, 0) - 1

    def foldable(self, name: str, cls) -> Layer | None:
        """The layer of class ``cls`` writing tensor ``name`` when nothing else reads it (so a
        bias or a normalisation can be folded into it), else None."""
        k = self.producer.get(self.ref(name))
        layer = None if k is None else self.nodes[k].layer
        return layer if isinstance(layer, cls) and self.uses.get(self.ref(name)) == 1 else None

    def refold(self, name: str, layer: Layer) -> None:
        """Replace the layer writing tensor ``name`` by ``layer`` (same inputs, outputs and
        shapes: the probes, which only give shapes, stay)."""
        k = self.producer[self.ref(name)]
        self.nodes[k] = Node(layer, self.nodes[k].inputs, self.nodes[k].outputs)

    # ------------------------------------------------------------------ walk
    def run(self) -> Network:
        for i, node in enumerate(self.onnx_nodes):
            if i in self.skip:
                continue
            if node.domain not in ("", "ai.onnx"):
                self.fail(node, f"unsupported op (domain {node.domain!r})")
            dyn = self.dynamic(node)
            if not dyn:
                self._fold(node)
                continue
            if self._gelu(i):
                continue
            handler = getattr(self, f"op_{node.op_type}", None)
            if handler is None:
                self.fail(node, "unsupported op")
            for x in dyn:
                if node.op_type not in _LAYOUT_OPS:
                    self._plain(node, x)
                if node.op_type not in _PLACED_OPS:
                    self.first(node, x)
            try:
                handler(node, i)
            except (ValueError, TypeError, IndexError, KeyError) as error:  # malformed attributes or weights
                self.fail(node, f"cannot convert ({type(error).__name__}: {error})")
            except SimError as error:   # a layer refusing its weights: say which file and node
                if str(error).startswith(f"{self.path}: "):
                    raise
                self.fail(node, str(error))
            extra = [o for o in node.output if o and self.uses.get(o) and o not in self.tensors
                     and o not in self.consts]
            if extra:
                self.fail(node, f"output(s) {extra} are used; only the first output is supported")
        return self._network()

    def _plain(self, node, x: str) -> None:
        mode = self.tensors[x].mode
        if mode is None:
            return
        if isinstance(mode, tuple) and mode[0] == "quant":
            self.fail(node, f"takes {x!r}, a QuantizeLinear output: only a DequantizeLinear may follow one")
        self.fail(node, f"takes {x!r} in an LSTM's ONNX layout ({mode}), which only Transpose, Squeeze, Gather, "
                        f"Flatten, Reshape and LSTM take")

    def first(self, node, x: str) -> None:
        """Refuse ``node`` unless tensor ``x`` is batch-first, (N, ...)."""
        if not self.place(x).first:
            self.misplaced(node, f"takes {x!r} of shape {self.shown(x)}: {node.op_type} needs the batch first, "
                                 f"(N, ...)", self.place(x))

    def _fold(self, node) -> None:
        """Evaluate a node of constants only (onnx's reference evaluator) into new constants."""
        if not hasattr(self, f"op_{node.op_type}") and node.op_type not in _CONSTANT_ONLY:
            self.fail(node, "unsupported op (on constants only)")
        from onnx.reference import ReferenceEvaluator

        feeds = {x: self.consts[x] for x in node.input if x}
        try:
            values = ReferenceEvaluator(node, opsets={"": self.onnx_opset}).run(None, feeds)
        except Exception as error:  # noqa: BLE001 - the evaluator raises whatever NumPy or its checks raise
            self.fail(node, f"cannot evaluate on its constants ({type(error).__name__}: {error})".splitlines()[0])
        for name, value in zip([o for o in node.output if o], values):
            self.consts[name] = self._finite(name, value, f"{self.path}: folded constant {name!r}")
            if self.shape_derived.intersection(node.input):
                self.shape_derived.add(name)

    def _gelu(self, i: int) -> bool:
        """PyTorch's erf GELU: Div(x, sqrt 2) -> Erf -> Add 1 -> Mul x -> Mul 0.5, each
        intermediate read only by the next."""
        d = self.onnx_nodes[i]
        if d.op_type != "Div" or len(d.input) != 2 or d.input[0] in self.consts:
            return False
        x = d.input[0]

        def scalar(n, name):  # the scalar constant operand of binary node n whose other input is ``name``
            c = [v for v in n.input if v != name]
            ok = len(n.input) == 2 and name in n.input and len(c) == 1 and np.size(self.consts.get(c[0], ())) == 1
            return float(np.ravel(self.consts[c[0]])[0]) if ok else None

        def next_of(n, op):
            users = self.consumers.get(n.output[0], [])
            nxt = self.onnx_nodes[users[0]] if len(users) == 1 and self.uses.get(n.output[0]) == 1 else None
            return users[0] if nxt is not None and nxt.op_type == op else None

        chain = [i]
        for op in ("Erf", "Add", "Mul", "Mul"):
            k = next_of(self.onnx_nodes[chain[-1]], op)
            if k is None:
                return False
            chain.append(k)
        _, e, a, m, h = (self.onnx_nodes[k] for k in chain)
        if not (math.isclose(scalar(d, x) or 0.0, math.sqrt(2), rel_tol=1e-6) and scalar(a, e.output[0]) == 1.0
                and sorted(m.input) == sorted([x, a.output[0]]) and scalar(h, m.output[0]) == 0.5):
            return False
        self._plain(d, x)
        self.skip.update(chain[1:])
        self.uses[self.ref(x)] -= 1           # read twice by the pattern, once by the one layer
        self.emit(h, Activation(self.lname(h, i), "gelu"), [x])
        return True

    # ------------------------------------------------------------------ the network
    def _network(self) -> Network:
        out = self.graph.output[0].name
        if out not in self.tensors:
            what = "a constant" if out in self.consts else "never computed"
            raise SimError(f"{self.path}: the graph output {out!r} is {what}")
        mode = self.tensors[out].mode
        if mode is not None:
            raise SimError(f"{self.path}: the output keeps an LSTM's ONNX layout {mode}: end with a Squeeze")
        out = self._output(out)              # batch-first
        needed, nodes = {out}, []
        for node in reversed(self.nodes):     # nodes whose outputs nothing needs are dropped
            if needed.intersection(node.outputs):
                needed.update(node.inputs)
                nodes.append(node)
        nodes.reverse()
        if not nodes:
            raise SimError(f"{self.path}: the graph has no layers cimspice can simulate")
        chain = all(len(n.inputs) == 1 and len(n.outputs) == 1 for n in nodes) and nodes[-1].outputs[0] == out \
            and all(n.inputs[0] == (nodes[k - 1].outputs[0] if k else self.graph_input) for k, n in enumerate(nodes))
        name, info = self.path.stem, {}
        if chain:
            return Sequential(name, [n.layer for n in nodes], info)
        return Graph(name, nodes, self.graph_input, out, info)


def _metadata(net: Network, model, path: Path) -> None:
    """The model's ``metadata_props`` cimspice reads: ``cimspice.metric`` (accuracy or
    perplexity: how the network is scored) and ``cimspice.zoo_data`` (a shipped network whose
    held-out data score it, e.g. "gpt" for its text)."""
    from .zoo.store import list_networks

    meta = {p.key: p.value for p in model.metadata_props}
    metric = meta.get("cimspice.metric", "accuracy")
    if metric not in ("accuracy", "perplexity"):
        raise SimError(f"{path}: metadata cimspice.metric is {metric!r}, expected 'accuracy' or 'perplexity'")
    net.metric = metric
    data = meta.get("cimspice.zoo_data")
    if data is not None and data not in list_networks():
        raise SimError(f"{path}: metadata cimspice.zoo_data is {data!r}, not a shipped network "
                       f"({', '.join(list_networks())})")
    net.info["zoo_data"] = data


def _import(onnx, model, path: Path, batch_axis: int | None):
    """(the importer, the network), trying other places of the batch at the Reshapes a batch-1
    file leaves ambiguous while a later node refuses the first ones (:mod:`.onnx_batch`); the
    refusal of the first try is raised when none imports."""
    plan, refusal = {}, None
    for tries in range(1, _MAX_TRIES + 1):
        importer = _Importer(onnx, model, path, plan, batch_axis)
        try:
            net = importer.run()
        except Misplaced as error:
            refusal = refusal or error
            plan = next_plan(plan, importer.choices, error.deps)
            if plan is None:
                break
            continue
        except SimError as error:
            refusal = error
            break
        if tries > 1:
            log.info("%s: the batch placed at try %d (choices %s)", path, tries, plan)
        return importer, net
    if importer.axis_hint:        # the batch axis was a guess: say how to give it
        raise SimError(f"{refusal}{importer.axis_hint}") from None
    raise refusal


def load_onnx(path, *, batch_axis: int | None = None) -> Network:
    """The network in ONNX file ``path``: a :class:`Sequential` when its nodes form a chain
    (each takes the previous one's output and constants), else a :class:`Graph`; float64
    weights. It takes its input batch-first, ``(N, *input_shape)``, and gives its output
    batch-first, whatever the file's layout (:mod:`.onnx_io`).

    ``batch_axis``: the axis of the file's input that holds the batch; None (default): the
    file's one dynamic axis when it has exactly one, else axis 0 (axis 1 of the (T, N, F)
    input of a layout-0 LSTM). Give it for a time-major model exported at a static batch,
    e.g. ``batch_axis=1`` for ``(T, 1, E)``; a value out of range, or other than the file's
    one dynamic axis, is refused.

    ``info`` holds ``path``, ``input_shape`` (one sample, without the batch axis), ``batch_axis``,
    ``input_format`` ("flat", "image", "rows" when the shape is one the shipped digits come
    in, else None), ``producer``, ``opset`` and ``zoo_data``; the metric is accuracy unless the
    model's metadata say otherwise (``cimspice.metric``, docs/onnx.md). Raises :class:`SimError` (file, node, reason)
    for files that are unreadable, unsafe or use anything unsupported.
    """
    path = Path(path)
    onnx, model = read_model(path)
    importer, net = _import(onnx, model, path, batch_axis)
    net.info.update({"path": str(path), "source": "onnx", "producer": model.producer_name,
                     "opset": importer.onnx_opset, "input_shape": importer.input_shape,
                     "input_format": DIGITS_FORMATS.get(importer.input_shape), "input_name": importer.input_name,
                     "batch_axis": importer.batch_axis})
    _metadata(net, model, path)
    log.info("%s: %s of %d layers from %d ONNX nodes", path, type(net).__name__, len(net.layers),
             len(model.graph.node))
    return net
