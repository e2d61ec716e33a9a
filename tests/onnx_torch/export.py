"""Writes the PyTorch-exported ONNX models the tests read (tests/test_sim_onnx_torch.py), with
seeded weights, the way a user exports their own network. Needs torch (>= 2.9, where the
dynamo exporter is the default), onnx and onnxscript; the tests need none of them but onnx:

    python tests/onnx_torch/export.py        # rewrites the files next to this script

- ``resnet_dynamo.onnx`` (+ ``resnet_dynamo.onnx.data``, the weights as external data): a
  residual CNN on 1x8x8 images (two basic blocks with BatchNorm, ``AdaptiveAvgPool2d(1)``,
  which the default exporter writes as ``ReduceMean``, flatten, Linear), default exporter;
- ``transformer_dynamo.onnx`` (+ ``.onnx.data``) and ``transformer_legacy.onnx`` (opset 17,
  ``dynamo=False``): PyTorch's own ``nn.TransformerEncoder`` of two
  ``nn.TransformerEncoderLayer(16, 4, 32, dropout=0, batch_first=True)`` on sequences
  (N, 8, 8): Linear embedding, the encoder (``nn.MultiheadAttention`` inside, which works
  on (T, N*h, d_h)), ``x.mean(1)`` (``ReduceMean``), Linear to 10 logits.

Exported at a batch of one (PyTorch's usual static shape); weights drawn from a seeded
generator (every parameter and BatchNorm statistic, so the encoder's two layers differ).
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

HERE = Path(__file__).resolve().parent


class Block(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c1, self.b1 = nn.Conv2d(c, c, 3, padding=1, bias=False), nn.BatchNorm2d(c)
        self.c2, self.b2 = nn.Conv2d(c, c, 3, padding=1, bias=False), nn.BatchNorm2d(c)

    def forward(self, x):
        return torch.relu(x + self.b2(self.c2(torch.relu(self.b1(self.c1(x))))))


class ResNet(nn.Module):
    def __init__(self, c=8):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(1, c, 3, padding=1), nn.ReLU())
        self.blocks = nn.Sequential(Block(c), Block(c))
        self.pool, self.fc = nn.AdaptiveAvgPool2d(1), nn.Linear(c, 10)

    def forward(self, x):
        return self.fc(torch.flatten(self.pool(self.blocks(self.stem(x))), 1))


class Transformer(nn.Module):
    def __init__(self, d=16):
        super().__init__()
        self.emb = nn.Linear(8, d)
        self.enc = nn.TransformerEncoder(nn.TransformerEncoderLayer(d, 4, 2 * d, dropout=0.0, batch_first=True), 2,
                                         enable_nested_tensor=False)
        self.fc = nn.Linear(d, 10)

    def forward(self, x):
        return self.fc(self.enc(self.emb(x)).mean(1))


def seeded(model: nn.Module, seed: int) -> nn.Module:
    """``model`` in eval mode with every parameter and BatchNorm statistic drawn anew."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=g) / max(1, p.shape[-1]) ** 0.5)
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.copy_(0.1 * torch.randn(m.num_features, generator=g))
                m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)
    return model.eval()


def main() -> None:
    resnet, transformer = seeded(ResNet(), 0), seeded(Transformer(), 1)
    image, sequence = torch.rand(1, 1, 8, 8), torch.rand(1, 8, 8)
    names = {"input_names": ["x"], "output_names": ["logits"]}
    torch.onnx.export(resnet, (image,), HERE / "resnet_dynamo.onnx", **names)
    torch.onnx.export(transformer, (sequence,), HERE / "transformer_dynamo.onnx", **names)
    torch.onnx.export(transformer, (sequence,), HERE / "transformer_legacy.onnx", dynamo=False, opset_version=17,
                      **names)


if __name__ == "__main__":
    main()
