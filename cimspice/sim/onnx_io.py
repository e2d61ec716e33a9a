"""The two ends of an imported ONNX graph (:mod:`.onnx_import`): which axis of the file's input
holds the batch, and how the network's batch-first input and output meet the file's layout.

A cimspice network takes its input batch-first, ``(N, ...)`` (``info["input_shape"]`` is one
sample's shape), and gives its output batch-first. A file may lay its input out otherwise: a
time-major sequence model (PyTorch's ``batch_first=False`` transformer or RNN) takes
``(T, N, F)``. The batch axis of the file's input is, in this order:

1. ``batch_axis`` when the user gives one (:func:`~.onnx_import.load_onnx`'s, ``cimspice
   simulate --onnx-batch-axis``); refused when out of range, or when the file names one
   dynamic axis and it is another;
2. the file's one dynamic axis (a ``dim_param`` name or no value), when it has exactly one;
3. else (every axis static, as PyTorch's usual batch-1 export, or several dynamic): axis 1
   of a rank-3 input a layout-0 (time-major) LSTM reads, as ONNX defines its X ``(T, N, F)``;
   otherwise axis 0.

An input whose batch is not axis 0 goes through one Transpose at the network's start into the
file's layout, and the importer follows the batch from there (:mod:`.onnx_batch`): the layers
run on the file's layout with N samples where the file has its batch. One exception costs no
layer: an input read only by layout-0 LSTMs (and Shape, or a Transpose to ``(N, T, F)``) is
held batch-first, ``mode`` "time", since cimspice's LSTM takes ``(N, T, F)``. The output
comes back batch-first: when the file writes it with the batch alone on the input's batch
axis (a time-major ``(T, N, C)``), a Transpose moves the batch to the front, ``(N, T, C)``.
"""

from __future__ import annotations

import numpy as np

from .errors import SimError
from .graph import Node
from .graph_layers import Transpose
from .onnx_batch import Place, Tensor

__all__ = ["GraphIO", "batch_axis_of"]


def _show(dims) -> str:
    """The file's input shape, dynamic axes by name (or ?): ``(5, N, 3)``."""
    return f"({', '.join(str(d) for d in dims)}{',' if len(dims) == 1 else ''})"


def batch_axis_of(where: str, dims: list, names: list, given, time_major_lstm: bool) -> int:
    """The batch axis of an input of ``dims`` (ints; None where dynamic, ``names`` giving the
    file's name there or "?"), ``given`` by the user (an int, or None: from the file), for
    the rules in this module's docstring; ``time_major_lstm``: a layout-0 LSTM reads the input.
    ``where``: "FILE: input 'NAME'", the start of any refusal."""
    rank, dynamic = len(dims), [k for k, d in enumerate(dims) if d is None]
    if given is None:
        if len(dynamic) == 1:
            return dynamic[0]
        return 1 if time_major_lstm and rank == 3 else 0
    if isinstance(given, bool) or not isinstance(given, (int, np.integer)):
        raise SimError(f"{where}: batch_axis must be an integer axis, got {given!r}")
    if not -rank <= given < rank:
        raise SimError(f"{where}: batch_axis {given} is out of range for its {rank} axes {_show(names)}")
    axis = int(given) % rank
    if len(dynamic) == 1 and dynamic[0] != axis:
        raise SimError(f"{where}: batch_axis {given} contradicts the file, whose one dynamic axis (the batch) is "
                       f"axis {dynamic[0]} of {_show(names)}")
    return axis


class GraphIO:
    """The importer's graph input and output (a mixin of :class:`~.onnx_import._Importer`)."""

    def _input(self, onnx, g, batch_axis) -> None:
        """Read the graph input: ``input_name``, ``batch_axis``, ``batch`` (the file's size
        there, None when dynamic), ``input_shape``, ``graph_input`` (the network's batch-first
        input tensor), the input's :class:`~.onnx_batch.Tensor`, and ``axis_hint``: what a
        refusal adds when the batch axis was a guess that a time-major file would belie."""
        self.tensors: dict[str, Tensor] = {}
        inputs = [i for i in g.input if i.name not in self.consts]
        if len(inputs) != 1 or len(g.output) != 1:
            raise SimError(f"{self.path}: needs exactly one input and one output tensor, has {len(inputs)} and "
                           f"{len(g.output)}")
        inp = inputs[0]
        shape = inp.type.tensor_type.shape.dim
        dims = [d.dim_value if d.HasField("dim_value") else None for d in shape]
        names = [d.dim_value if d.HasField("dim_value") else d.dim_param or "?" for d in shape]
        users = [self.onnx_nodes[i] for i in self.consumers.get(inp.name, [])]
        ints = (onnx.TensorProto.INT64, onnx.TensorProto.INT32)
        token_ids = inp.type.tensor_type.elem_type in ints and users and all(
            n.op_type == "Gather" and list(n.input[1:2]) == [inp.name] for n in users)
        if inp.type.tensor_type.elem_type not in (onnx.TensorProto.FLOAT, onnx.TensorProto.DOUBLE,
                                                  onnx.TensorProto.FLOAT16) and not token_ids:
            raise SimError(f"{self.path}: input {inp.name!r} is not a float tensor (nor token ids that only "
                           f"Gather embedding tables)")
        self.input_name = inp.name
        lstm = [u for u in users if u.op_type == "LSTM" and u.input[0] == inp.name
                and self._attrs(u).get("layout", 0) == 0]
        axis = batch_axis_of(f"{self.path}: input {inp.name!r}", dims, names, batch_axis, bool(lstm))
        rest = dims[:axis] + dims[axis + 1:]
        if len(dims) < 2 or any(not d or d < 1 for d in rest):
            raise SimError(f"{self.path}: input {inp.name!r} has shape {_show(names)}: needs a batch axis and static "
                           f"sizes for the others")
        self.batch_axis, self.batch = axis, dims[axis]       # batch None: dynamic
        # (T, 1, F) all static, read batch-first by default: maybe a time-major export at batch 1
        guessed = batch_axis is None and None not in dims and len(dims) == 3 and dims[0] > 1 == dims[1]
        self.axis_hint = (f" (input {inp.name!r} {_show(names)} is all static, its batch taken as axis 0: if it is "
                          f"time-major, (T, N, F), give batch_axis=1, --onnx-batch-axis 1)") if guessed else ""
        self.input_shape = tuple(int(d) for d in rest)
        sample = np.zeros((1, *self.input_shape), dtype=np.int64 if token_ids else float)
        self.graph_input = inp.name
        if axis == 0 or axis == 1 and len(dims) == 3 and lstm and all(map(self._takes_time_major, users)):
            self.tensors[inp.name] = Tensor(sample, None if axis == 0 else "time")
            return
        # the file's layout, the batch at `axis`: one Transpose of the network's (N, ...) input
        perm = [*range(1, axis + 1), 0, *range(axis + 1, len(dims))]
        self.graph_input = self.fresh(f"{inp.name}.batch_first")
        self.tensors[self.graph_input] = Tensor(sample)
        self.tensors[inp.name] = Tensor(np.transpose(sample, perm), place=Place(axis))
        self.producer[inp.name] = len(self.nodes)
        self.nodes.append(Node(Transpose(self.layer_name("input_layout"), perm), [self.graph_input], [inp.name]))

    def _takes_time_major(self, node) -> bool:
        """``node`` takes a time-major (T, N, F) tensor held batch-first (``mode`` "time")
        without a layer: a layout-0 LSTM (as X), a Shape, a Transpose to (N, T, F)."""
        if node.op_type == "LSTM":
            return self._attrs(node).get("layout", 0) == 0 and node.input[1:].count(self.input_name) == 0
        if node.op_type == "Transpose":
            return list(self._attrs(node).get("perm", [2, 1, 0])) == [1, 0, 2]
        return node.op_type == "Shape"

    def _output(self, out: str) -> str:
        """The tensor holding graph output ``out`` batch-first: ``out`` (through its aliases),
        or, when ``out`` has the batch alone on the input's batch axis (a time-major model's
        (T, N, C)), a Transpose's that moves it to the front. Refused otherwise."""
        p = self.place(out)
        if p.first:
            return self.ref(out)
        if p.key == (self.batch_axis, 1, 1):
            perm = [p.axis, *(k for k in range(self.rank(out)) if k != p.axis)]
            name = self.fresh(f"{out}.batch_first")
            self.nodes.append(Node(Transpose(self.layer_name("output_layout"), perm), [self.ref(out)], [name]))
            return name
        also = f", or with it alone on axis {self.batch_axis} as the input has it" if self.batch_axis else ""
        self.misplaced(self.tensors[out].writer, f"writes the graph output {out!r} of shape {self.shown(out)}: the "
                                                 f"output must be batch-first, (N, ...){also}", p)

    def fresh(self, base: str) -> str:
        """A tensor name no tensor of the file nor of the import has: ``base``, or it numbered."""
        taken = set(self.tensors) | set(self.consts) | {x for n in self.onnx_nodes for x in (*n.input, *n.output)}
        name, k = base, 1
        while name in taken:
            name, k = f"{base}_{k}", k + 1
        return name
