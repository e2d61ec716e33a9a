"""ResNet-18 with ternary weights for ``ternary-associative``: the paper's network on both sides.

:func:`write_resnet18` writes a ternary ResNet-18 in CIFAR shape (3x32x32 input, 3x3 stem
without max pool, 4 stages of 2 basic blocks at 64-512 channels, strided 1x1 projection
shortcuts, global average pooling, a 10-way Gemm) as an ONNX file with ``onnx.helper``;
every matrix's weights are ternary (+-alpha or 0: seeded Gaussian weights through the
ternary-weight-network rule, zero where |W| <= 0.7 mean|W|). There are no BatchNormalization
nodes: folded into a convolution, a batch norm's per-channel scale would make the weights
non-ternary. The simulator reads the file through :func:`cimspice.sim.onnx_import.load_onnx`.

:func:`layer_shapes` lists, per conv/dense layer, what the AP's pass counts follow from:
fan-in, output channels, output positions per image and the weights' nonzero share.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import StudyError

__all__ = ["MatrixLayer", "layer_shapes", "write_resnet18"]

STAGES = (64, 128, 256, 512)   # output channels of the four stages (He et al., CVPR 2016)
CLASSES = 10                   # CIFAR-10 classes
SIZE = 32                      # CIFAR images: 3 x 32 x 32


@dataclass(frozen=True)
class MatrixLayer:
    """One conv or dense layer: ``fan_in`` inputs per output, ``outputs`` channels,
    ``positions`` output pixels per image, ``nonzero`` share of its weights."""

    name: str
    fan_in: int
    outputs: int
    positions: int
    nonzero: float


def _ternary(rng, shape, fan_in):
    """He-initialised weights through the ternary-weight-network rule, +-alpha or 0."""
    w = rng.normal(0.0, np.sqrt(2.0 / fan_in), size=shape)
    keep = np.abs(w) > 0.7 * np.abs(w).mean()
    alpha = float(np.abs(w[keep]).mean())
    return np.where(keep, np.sign(w) * alpha, 0.0)


class _Builder:
    """Nodes, ternary initializers and the matrix layers' shapes of one model."""

    def __init__(self, seed: int):
        from onnx import helper, numpy_helper

        self.helper, self.numpy_helper = helper, numpy_helper
        self.rng, self.nodes, self.inits, self.layers, self.k = np.random.default_rng(seed), [], [], [], 0

    def _init(self, array) -> str:
        self.k += 1
        name = f"w{self.k}"
        self.inits.append(self.numpy_helper.from_array(np.asarray(array, np.float32), name))
        return name

    def op(self, op_type, inputs, name, **attrs) -> str:
        self.nodes.append(self.helper.make_node(op_type, inputs, [name], name=name, **attrs))
        return name

    def conv(self, x, c_in, c_out, k, stride, size, name) -> tuple[str, int]:
        """3x3 (pad 1) or 1x1 (pad 0) convolution; returns (output, its spatial size)."""
        kernel = _ternary(self.rng, (c_out, c_in, k, k), c_in * k * k)
        out = size // stride
        self.layers.append(MatrixLayer(name, c_in * k * k, c_out, out * out, float(np.mean(kernel != 0))))
        return self.op("Conv", [x, self._init(kernel)], name, kernel_shape=[k, k], strides=[stride] * 2,
                       pads=[k // 2] * 4), out

    def block(self, x, c_in, c_out, stride, size, name) -> tuple[str, int]:
        h, out = self.conv(x, c_in, c_out, 3, stride, size, f"{name}.conv1")
        h, _ = self.conv(self.op("Relu", [h], f"{name}.relu1"), c_out, c_out, 3, 1, out, f"{name}.conv2")
        skip = x if stride == 1 and c_in == c_out else self.conv(x, c_in, c_out, 1, stride, size, f"{name}.down")[0]
        return self.op("Relu", [self.op("Add", [h, skip], f"{name}.add")], f"{name}.relu2"), out


def write_resnet18(path: str | Path, seed: int = 0, stages=STAGES, size: int = SIZE) -> tuple[Path, list[MatrixLayer]]:
    """The ternary ResNet-18 (CIFAR shape) as an ONNX file at ``path``, and its matrix layers;
    ``stages`` (channels) and ``size`` (input pixels a side) shrink it for ``--quick``."""
    try:
        import onnx
    except ImportError:
        raise StudyError("ternary-associative: the ResNet-18 part needs the onnx package: "
                         "pip install 'cimspice[onnx]'") from None
    from onnx import TensorProto

    g, side = _Builder(seed), size
    h, size = g.conv("x", 3, stages[0], 3, 1, size, "stem")
    h, c_in = g.op("Relu", [h], "stem.relu"), stages[0]
    for s, c_out in enumerate(stages):
        for b in range(2):
            h, size = g.block(h, c_in, c_out, 2 if b == 0 and s > 0 else 1, size, f"layer{s + 1}.{b}")
            c_in = c_out
    h = g.op("Flatten", [g.op("GlobalAveragePool", [h], "gap")], "flatten", axis=1)
    fc = _ternary(g.rng, (c_in, CLASSES), c_in)
    g.layers.append(MatrixLayer("fc", c_in, CLASSES, 1, float(np.mean(fc != 0))))
    out = g.op("MatMul", [h, g._init(fc)], "fc")
    helper = g.helper
    graph = helper.make_graph(g.nodes, "ternary-resnet18",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, side, side])],
                              [helper.make_tensor_value_info(out, TensorProto.FLOAT, ["N", CLASSES])], g.inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="cimspice")
    model.ir_version = 9
    path = Path(path)
    onnx.save(model, str(path))
    return path, g.layers


def layer_shapes(layers: list[MatrixLayer]) -> dict:
    """Totals over the layers: MACs per image (dense), nonzero MACs, matrices."""
    macs = sum(m.fan_in * m.outputs * m.positions for m in layers)
    nnz = sum(m.fan_in * m.outputs * m.positions * m.nonzero for m in layers)
    return {"macs": macs, "nonzero_macs": nnz, "matrices": len(layers)}


def acc_bits(fan_in: int, in_bits: int) -> int:
    """Accumulator width (bits): the input's, log2 of the fan-in and a sign."""
    return in_bits + int(np.ceil(np.log2(max(fan_in, 2)))) + 1


def ap_layers(layers: list[MatrixLayer], rates: dict, in_bits: int, images: int, rows: int = 256) -> list:
    """The AP's pass counts of every layer for one image (:class:`.ternary_costs.ApLayer`,
    rows = 1 image): each output position a CAM row holding its receptive field (im2col) and
    the accumulators of all output channels; each nonzero weight an in-place add or subtract
    (4 compares per input bit, 2 per accumulator bit above it, a write each and a carry
    clear), each ReLU a compare and a write per channel, each residual add one more add per
    channel. ``rates`` (from the MLP run on the AP, :func:`pass_rates`): the share of rows a
    compare mismatches, the cells flipped per row and write, the columns per write."""
    from .associative import PassCounts
    from .ternary_costs import ApLayer

    out = []
    for m in layers:
        acc = acc_bits(m.fan_in, in_bits)
        per_add = 4 * in_bits + 2 * (acc - in_bits)
        adds = round(m.fan_in * m.outputs * m.nonzero) + (m.outputs if m.name.endswith("conv2") else 0)
        relu = 0 if m.name == "fc" else m.outputs
        compares = adds * per_add + relu
        writes = adds * (per_add + 1) + relu
        row_compares = m.positions * compares
        c = PassCounts(compares=compares, writes=writes,
                       matched_rows=round(row_compares * (1 - rates["mismatch"])),
                       mismatched_rows=round(row_compares * rates["mismatch"]),
                       written_columns=round(writes * rates["columns"]),
                       flips=round(m.positions * writes * rates["flips"]))
        width = m.fan_in * in_bits + m.outputs * acc + 1
        out_bits = acc if m.name == "fc" else in_bits
        out.append(ApLayer(width, c, 1, m.positions * m.fan_in * in_bits, m.positions * m.outputs * out_bits,
                           arrays=float(np.ceil(m.positions * images / rows))))
    return out


def pass_rates(counts, rows: int) -> dict:
    """Per-pass rates of an AP run (PassCounts over ``rows`` rows): mismatched share of the
    rows compared, cells flipped per row and write pass, columns per write pass."""
    return {"mismatch": counts.mismatched_rows / max(counts.matched_rows + counts.mismatched_rows, 1),
            "flips": counts.flips / max(rows * counts.writes, 1),
            "columns": counts.written_columns / max(counts.writes, 1)}


def buffer_bits(layers: list[MatrixLayer], in_bits: int, out_bits: int = 16) -> tuple[float, float]:
    """Bits the crossbar moves per image (inputs at ``in_bits``, outputs at ``out_bits``), as
    the simulator counts them (every im2col row's inputs)."""
    return (float(sum(m.positions * m.fan_in * in_bits for m in layers)),
            float(sum(m.positions * m.outputs * out_bits for m in layers)))
