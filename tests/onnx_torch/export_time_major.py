"""Writes the time-major PyTorch exports tests/test_sim_onnx_layout.py reads, with seeded
weights (``seeded`` of export.py beside this script). Needs torch (>= 2.9), onnx and
onnxscript; the tests need none of them but onnx:

    python tests/onnx_torch/export_time_major.py     # rewrites the files next to this script

PyTorch's own ``nn.TransformerEncoder`` of two ``nn.TransformerEncoderLayer(16, 4, 32,
dropout=0)`` with the default ``batch_first=False``, fed sequences time-major, (T, N, 8) with
T = 8: Linear embedding, the encoder, ``x.mean(0)`` over time, Linear to 10 logits.

- ``transformer_tm_static.onnx``: the legacy exporter (``dynamo=False``, opset 17, one file)
  at PyTorch's usual static batch of 1, input (8, 1, 8): every axis static, so the importer
  needs ``batch_axis=1``;
- ``transformer_tm_dynamic.onnx``: the same with the batch named dynamic,
  ``dynamic_axes={"x": {1: "N"}}``: the file says where the batch is;
- ``transformer_tm_dynamo.onnx`` (+ ``.onnx.data``): PyTorch's default exporter since 2.9
  (``dynamo=True``), the batch dynamic at axis 1 (``dynamic_shapes``, ``Dim("N")``), exported
  at a batch of 2 (torch.export specializes a dimension of size 1).
"""

from __future__ import annotations

import torch
from export import HERE, seeded
from torch import nn


class TimeMajorTransformer(nn.Module):
    def __init__(self, d=16):
        super().__init__()
        self.emb = nn.Linear(8, d)
        self.enc = nn.TransformerEncoder(nn.TransformerEncoderLayer(d, 4, 2 * d, dropout=0.0), 2,
                                         enable_nested_tensor=False)
        self.fc = nn.Linear(d, 10)

    def forward(self, x):                     # x: (T, N, 8)
        return self.fc(self.enc(self.emb(x)).mean(0))


def main() -> None:
    model, sequence = seeded(TimeMajorTransformer(), 2), torch.rand(8, 1, 8)
    names = {"input_names": ["x"], "output_names": ["logits"], "dynamo": False, "opset_version": 17}
    torch.onnx.export(model, (sequence,), HERE / "transformer_tm_static.onnx", **names)
    torch.onnx.export(model, (sequence,), HERE / "transformer_tm_dynamic.onnx", dynamic_axes={"x": {1: "N"}},
                      **names)
    torch.onnx.export(model, (torch.rand(8, 2, 8),), HERE / "transformer_tm_dynamo.onnx", dynamo=True,
                      input_names=["x"], output_names=["logits"], external_data=True,
                      dynamic_shapes=({1: torch.export.Dim("N")},))


if __name__ == "__main__":
    main()
