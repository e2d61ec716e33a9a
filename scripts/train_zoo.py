"""Train the reference networks of ``cimspice.sim.zoo`` and write their HDF5 files.

    .venv/bin/pip install torch            # training only; cimspice never imports torch
    .venv/bin/python scripts/train_zoo.py              # all five networks
    .venv/bin/python scripts/train_zoo.py cnn gpt      # some of them

Networks and data (real data that ship with installed packages, no download):

- ``mlp``  64-64-32-10 ReLU perceptron on scikit-learn's 8x8 digits;
- ``cnn``  conv 3x3 (8) - avgpool 2 - conv 3x3 (16) - maxpool 2 - dense 10 on the digits;
- ``lstm`` one LSTM layer (hidden 32) reading each digit row by row (8 steps of 8 pixels);
- ``resnet`` a residual CNN on the digits, a graph with branches: conv 3x3 (16) stem, three
  basic blocks (16 identity shortcut; 32 stride 2 with a 1x1 stride-2 projection shortcut;
  32 identity), global average pooling, dense 10; trained with BatchNormalization, which is
  folded into each convolution's kernel and bias for the stored file;
- ``gpt``  a 2-layer, 4-head, d_model 48, context 64 character-level transformer on the
  docstrings of a fixed list of Python standard-library modules; whole modules are held out
  for the test text, which is stored in the file.

Every run is seeded (``--seed``, default 0) and deterministic
(``torch.use_deterministic_algorithms``, one thread): the same torch version and Python
standard library give the same weights. The float metric stored in each file is computed
in float64 from the stored float32 weights, the same numbers the NumPy network uses.
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import importlib.util
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from cimspice.sim.zoo.store import VOCAB, ZOO_DIR, digits, encode_text, save_network  # noqa: E402

# Docstring corpus: modules present as .py sources in every CPython >= 3.11 install.
TRAIN_MODULES = [
    "argparse", "collections", "functools", "textwrap", "string", "pathlib", "json", "csv", "logging",
    "dataclasses", "enum", "heapq", "bisect", "random", "statistics", "shutil", "subprocess", "tempfile",
    "typing", "inspect", "contextlib", "ast", "tokenize", "base64", "tarfile", "gzip", "sched", "queue",
    "threading", "selectors", "socket", "glob", "fnmatch", "optparse", "gettext", "locale", "numbers",
    "operator", "platform", "configparser", "pprint", "copy", "urllib.parse", "http.client", "email.message",
    "unittest.case", "zipfile", "sqlite3", "xml.dom.minidom", "html.parser", "weakref", "ipaddress", "uuid",
    "hashlib", "hmac", "secrets", "timeit", "trace", "traceback", "warnings", "signal", "smtplib", "imaplib",
    "ftplib", "mailbox", "netrc", "plistlib", "shlex", "struct", "symtable", "sysconfig", "webbrowser", "wave",
    "zipapp", "graphlib", "reprlib", "cmd", "code", "dis", "doctest", "pdb", "pickle", "pickletools", "pstats",
]
TEST_MODULES = ["difflib", "fractions", "calendar", "colorsys", "tabnanny"]
TEST_TEXT_CHARS = 16_640      # 256 windows of 65 characters
CALIBRATION_TEXT_CHARS = 4_160


def _setup(seed: int) -> None:
    torch.manual_seed(seed)
    np.random.seed(seed)
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)


def _provenance(seed: int, extra: dict | None = None) -> dict:
    return {"seed": seed, "train_script": "scripts/train_zoo.py", "torch_version": torch.__version__,
            "numpy_version": np.__version__, "python_version": platform.python_version(), **(extra or {})}


def _to_np(t: torch.Tensor) -> np.ndarray:
    return t.detach().cpu().numpy().astype(np.float32)


# ----------------------------------------------------------------------------- digits
def digit_split(seed: int):
    X, y = digits()
    rng = np.random.default_rng(seed)
    test = np.sort(np.concatenate([rng.permutation(np.flatnonzero(y == c))[: int(round(0.2 * np.sum(y == c)))]
                                   for c in range(10)]))
    train = np.setdiff1d(np.arange(len(y)), test)
    return X / 16.0, y, train, test


class CNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3, padding=1)
        self.conv2 = nn.Conv2d(8, 16, 3, padding=1)
        self.fc = nn.Linear(64, 10)

    def forward(self, x):
        x = nn.functional.avg_pool2d(torch.relu(self.conv1(x)), 2)
        x = nn.functional.max_pool2d(torch.relu(self.conv2(x)), 2)
        return self.fc(x.flatten(1))


class RowLSTM(nn.Module):
    def __init__(self, hidden=32):
        super().__init__()
        self.lstm = nn.LSTM(8, hidden, batch_first=True)
        self.fc = nn.Linear(hidden, 10)

    def forward(self, x):
        out, _ = self.lstm(x)
        return self.fc(out[:, -1])


def _mlp():
    return nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10))


def _fit_classifier(model, x, y, epochs, lr, seed):
    g = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    x, y = torch.tensor(x, dtype=torch.float32), torch.tensor(y)
    for _ in range(epochs):
        for idx in torch.randperm(len(x), generator=g).split(32):
            opt.zero_grad()
            nn.functional.cross_entropy(model(x[idx]), y[idx]).backward()
            opt.step()
    return model


def train_digits(kind: str, seed: int, out: Path) -> dict:
    _setup(seed)
    X, y, train, test = digit_split(seed)
    shape = {"mlp": (-1, 64), "cnn": (-1, 1, 8, 8), "lstm": (-1, 8, 8)}[kind]
    model = {"mlp": _mlp, "cnn": CNN, "lstm": RowLSTM}[kind]()
    epochs = {"mlp": 60, "cnn": 60, "lstm": 60}[kind]
    _fit_classifier(model, X[train].reshape(shape), y[train], epochs, 3e-3, seed)

    if kind == "lstm":  # the NumPy LSTM adds one bias: fold b_hh into b_ih, rounded as stored
        with torch.no_grad():
            model.lstm.bias_ih_l0.copy_(model.lstm.bias_ih_l0 + model.lstm.bias_hh_l0)
            model.lstm.bias_hh_l0.zero_()
    # Weights as stored (float32), evaluated in float64: the numbers the NumPy network uses.
    model = model.double().eval()
    sd = {k: v.detach().float().double() for k, v in model.state_dict().items()}
    model.load_state_dict(sd)
    if kind == "mlp":
        layers = [{"type": "dense", "name": "fc0"}, {"type": "activation", "name": "relu0", "kind": "relu"},
                  {"type": "dense", "name": "fc1"}, {"type": "activation", "name": "relu1", "kind": "relu"},
                  {"type": "dense", "name": "fc2"}]
        weights = {}
        for k, i in zip(range(3), (0, 2, 4)):
            weights[f"fc{k}.W"], weights[f"fc{k}.b"] = _to_np(sd[f"{i}.weight"].T), _to_np(sd[f"{i}.bias"])
    elif kind == "cnn":
        layers = [{"type": "conv2d", "name": "conv1", "padding": 1},
                  {"type": "activation", "name": "relu1", "kind": "relu"}, {"type": "avgpool", "name": "pool1", "k": 2},
                  {"type": "conv2d", "name": "conv2", "padding": 1},
                  {"type": "activation", "name": "relu2", "kind": "relu"}, {"type": "maxpool", "name": "pool2", "k": 2},
                  {"type": "flatten", "name": "flatten"}, {"type": "dense", "name": "fc"}]
        weights = {"conv1.kernel": _to_np(sd["conv1.weight"]), "conv1.b": _to_np(sd["conv1.bias"]),
                   "conv2.kernel": _to_np(sd["conv2.weight"]), "conv2.b": _to_np(sd["conv2.bias"]),
                   "fc.W": _to_np(sd["fc.weight"].T), "fc.b": _to_np(sd["fc.bias"])}
    else:
        layers = [{"type": "lstm", "name": "lstm"}, {"type": "dense", "name": "fc"}]
        weights = {"lstm.W_ih": _to_np(sd["lstm.weight_ih_l0"].T), "lstm.W_hh": _to_np(sd["lstm.weight_hh_l0"].T),
                   "lstm.b": _to_np(sd["lstm.bias_ih_l0"] + sd["lstm.bias_hh_l0"]),
                   "fc.W": _to_np(sd["fc.weight"].T), "fc.b": _to_np(sd["fc.bias"])}
    with torch.no_grad():
        xt = torch.tensor(X[test].reshape(shape), dtype=torch.float64)
        logits = model(xt).numpy()
    acc = float(np.mean(logits.argmax(1) == y[test]))
    fmt = {"mlp": "flat", "cnn": "image", "lstm": "rows"}[kind]
    save_network(out / f"{kind}.h5", name=kind, kind="sequential", config={"layers": layers}, weights=weights,
                 attrs={"metric": "accuracy", "float_metric": acc, "input_format": fmt,
                        "dataset": "scikit-learn digits (8x8), stratified 80/20 split",
                        **_provenance(seed, {"epochs": epochs})},
                 data={"test_indices": test.astype(np.int16)},
                 reference={"inputs": X[test[:8]].reshape(shape), "logits": logits[:8]})
    return {"network": kind, "accuracy": acc}


# ----------------------------------------------------------------------- residual CNN
#: (name, input channels, output channels, stride) of the basic blocks
RESNET_BLOCKS = [("block1", 16, 16, 1), ("block2", 16, 32, 2), ("block3", 32, 32, 1)]


def _conv_bn(c_in, c_out, k, stride):
    return nn.Sequential(nn.Conv2d(c_in, c_out, k, stride, k // 2, bias=False), nn.BatchNorm2d(c_out))


class ResBlock(nn.Module):
    """conv-BN-ReLU-conv-BN plus the shortcut (identity, or a strided 1x1 conv-BN projection
    where the shape changes), then ReLU."""

    def __init__(self, c_in, c_out, stride):
        super().__init__()
        self.conv1, self.conv2 = _conv_bn(c_in, c_out, 3, stride), _conv_bn(c_out, c_out, 3, 1)
        self.down = _conv_bn(c_in, c_out, 1, stride) if stride != 1 or c_in != c_out else None

    def forward(self, x):
        h = self.conv2(torch.relu(self.conv1(x)))
        return torch.relu(h + (x if self.down is None else self.down(x)))


class ResNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = _conv_bn(1, RESNET_BLOCKS[0][1], 3, 1)
        self.blocks = nn.ModuleList(ResBlock(c_in, c_out, s) for _, c_in, c_out, s in RESNET_BLOCKS)
        self.fc = nn.Linear(RESNET_BLOCKS[-1][2], 10)

    def forward(self, x):
        x = torch.relu(self.stem(x))
        for block in self.blocks:
            x = block(x)
        return self.fc(x.mean((2, 3)))


def _fold_bn(seq: nn.Sequential) -> tuple[np.ndarray, np.ndarray]:
    """A trained conv-BN pair (eval statistics) as one conv in place (float32-rounded kernel
    and bias, BN replaced by Identity); returns ``(kernel, b)``."""
    conv, bn = seq[0], seq[1]
    s = bn.weight / torch.sqrt(bn.running_var + bn.eps)
    kernel, b = _to_np(conv.weight * s[:, None, None, None]), _to_np(bn.bias - bn.running_mean * s)
    folded = nn.Conv2d(conv.in_channels, conv.out_channels, conv.kernel_size, conv.stride, conv.padding)
    with torch.no_grad():
        folded.weight.copy_(torch.tensor(kernel))
        folded.bias.copy_(torch.tensor(b))
    seq[0], seq[1] = folded, nn.Identity()
    return kernel, b


def _resnet_graph(model: ResNet) -> tuple[dict, dict]:
    """Fold every BN (in place) and describe the model as a graph config (docs/system.md)
    and its weights."""
    weights, nodes = {}, []

    def conv(name, seq, src, stride):
        weights[f"{name}.kernel"], weights[f"{name}.b"] = _fold_bn(seq)
        k = seq[0].kernel_size[0]
        nodes.append({"type": "conv2d", "name": name, "stride": stride, "padding": k // 2, "inputs": [src],
                      "outputs": [name]})
        return name

    def relu(name, src):
        nodes.append({"type": "activation", "name": name, "kind": "relu", "inputs": [src], "outputs": [name]})
        return name

    x = relu("stem.relu", conv("stem", model.stem, "x", 1))
    for (name, _, _, stride), block in zip(RESNET_BLOCKS, model.blocks):
        h = relu(f"{name}.relu1", conv(f"{name}.conv1", block.conv1, x, stride))
        h = conv(f"{name}.conv2", block.conv2, h, 1)
        skip = x if block.down is None else conv(f"{name}.down", block.down, x, stride)
        nodes.append({"type": "binary", "op": "add", "name": f"{name}.add", "inputs": [h, skip],
                      "outputs": [f"{name}.add"]})
        x = relu(f"{name}.relu2", f"{name}.add")
    nodes += [{"type": "avgpool", "name": "pool", "k": 4, "inputs": [x], "outputs": ["pool"]},   # global: 4x4
              {"type": "flatten", "name": "flatten", "inputs": ["pool"], "outputs": ["flatten"]},
              {"type": "dense", "name": "fc", "inputs": ["flatten"], "outputs": ["logits"]}]
    weights["fc.W"], weights["fc.b"] = _to_np(model.fc.weight.T), _to_np(model.fc.bias)
    return {"input": "x", "output": "logits", "nodes": nodes}, weights


def train_resnet(seed: int, out: Path, epochs: int = 60) -> dict:
    _setup(seed)
    X, y, train, test = digit_split(seed)
    shape = (-1, 1, 8, 8)
    model = _fit_classifier(ResNet(), X[train].reshape(shape), y[train], epochs, 3e-3, seed).eval()
    with torch.no_grad():
        config, weights = _resnet_graph(model)
        # the folded float32 weights evaluated in float64: the numbers the NumPy graph uses
        logits = model.double()(torch.tensor(X[test].reshape(shape), dtype=torch.float64)).numpy()
    acc = float(np.mean(logits.argmax(1) == y[test]))
    save_network(out / "resnet.h5", name="resnet", kind="graph", config=config, weights=weights,
                 attrs={"metric": "accuracy", "float_metric": acc, "input_format": "image",
                        "dataset": "scikit-learn digits (8x8), stratified 80/20 split",
                        **_provenance(seed, {"epochs": epochs, "batchnorm": "folded into the convolutions"})},
                 data={"test_indices": test.astype(np.int16)},
                 reference={"inputs": X[test[:8]].reshape(shape), "logits": logits[:8]})
    return {"network": "resnet", "accuracy": acc}


# -------------------------------------------------------------------------------- GPT
def docstrings(modules) -> str:
    parts = []
    for m in modules:
        spec = importlib.util.find_spec(m)
        if spec is None or not (spec.origin or "").endswith(".py"):
            continue
        tree = ast.parse(Path(spec.origin).read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
                doc = ast.get_docstring(node)
                if doc:
                    parts.append(doc.strip())
    return "\n\n".join(parts) + "\n"


class Block(nn.Module):
    def __init__(self, d, heads):
        super().__init__()
        self.heads = heads
        self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.qkv, self.proj = nn.Linear(d, 3 * d), nn.Linear(d, d)
        self.fc, self.out = nn.Linear(d, 4 * d), nn.Linear(4 * d, d)

    def forward(self, x):
        N, T, d = x.shape
        q, k, v = self.qkv(self.ln1(x)).split(d, dim=-1)
        q, k, v = (a.view(N, T, self.heads, d // self.heads).transpose(1, 2) for a in (q, k, v))
        att = (q @ k.transpose(-2, -1)) / (d // self.heads) ** 0.5
        att = att.masked_fill(~torch.ones(T, T, dtype=torch.bool).tril(), float("-inf")).softmax(-1)
        x = x + self.proj((att @ v).transpose(1, 2).reshape(N, T, d))
        return x + self.out(nn.functional.gelu(self.fc(self.ln2(x))))


class CharGPT(nn.Module):
    def __init__(self, vocab, d, heads, layers, context):
        super().__init__()
        self.tok, self.pos = nn.Embedding(vocab, d), nn.Embedding(context, d)
        self.blocks = nn.ModuleList(Block(d, heads) for _ in range(layers))
        self.ln_f, self.head = nn.LayerNorm(d), nn.Linear(d, vocab)

    def forward(self, ids):
        x = self.tok(ids) + self.pos.weight[: ids.shape[1]]
        for b in self.blocks:
            x = b(x)
        return self.head(self.ln_f(x))


def train_gpt(seed: int, out: Path, steps: int = 1500) -> dict:
    _setup(seed)
    config = {"vocab": len(VOCAB), "d_model": 48, "n_heads": 4, "n_layers": 2, "context": 64}
    train_text, test_text = docstrings(TRAIN_MODULES), docstrings(TEST_MODULES)
    train_ids, test_ids = encode_text(train_text), encode_text(test_text)[:TEST_TEXT_CHARS]
    T = config["context"]
    model = CharGPT(config["vocab"], config["d_model"], config["n_heads"], config["n_layers"], T)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.01)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=steps, pct_start=0.05)
    data = torch.tensor(train_ids.astype(np.int64))
    g = torch.Generator().manual_seed(seed)
    for _ in range(steps):
        start = torch.randint(0, len(data) - T - 1, (64,), generator=g)
        batch = torch.stack([data[s:s + T + 1] for s in start.tolist()])
        loss = nn.functional.cross_entropy(model(batch[:, :-1]).reshape(-1, config["vocab"]), batch[:, 1:].reshape(-1))
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()

    model = model.double().eval()
    sd = {k: v.detach().float().double() for k, v in model.state_dict().items()}
    model.load_state_dict(sd)
    weights = {"tok.table": _to_np(sd["tok.weight"]), "pos.table": _to_np(sd["pos.weight"]),
               "ln_f.gamma": _to_np(sd["ln_f.weight"]), "ln_f.beta": _to_np(sd["ln_f.bias"]),
               "head.W": _to_np(sd["head.weight"].T), "head.b": _to_np(sd["head.bias"])}
    for i in range(config["n_layers"]):
        p = f"blocks.{i}"
        for ours, theirs in (("ln1", "ln1"), ("ln2", "ln2")):
            weights[f"block{i}.{ours}.gamma"] = _to_np(sd[f"{p}.{theirs}.weight"])
            weights[f"block{i}.{ours}.beta"] = _to_np(sd[f"{p}.{theirs}.bias"])
        for ours, theirs in (("attn.qkv", "qkv"), ("attn.proj", "proj"), ("mlp.fc", "fc"), ("mlp.out", "out")):
            weights[f"block{i}.{ours}.W"] = _to_np(sd[f"{p}.{theirs}.weight"].T)
            weights[f"block{i}.{ours}.b"] = _to_np(sd[f"{p}.{theirs}.bias"])
    windows = len(test_ids) // (T + 1)
    w = torch.tensor(test_ids[: windows * (T + 1)].astype(np.int64)).view(windows, T + 1)
    with torch.no_grad():
        logits = model(w[:, :-1])
        nll = nn.functional.cross_entropy(logits.reshape(-1, config["vocab"]), w[:, 1:].reshape(-1))
    ppl = float(torch.exp(nll))
    calibration = train_ids[-CALIBRATION_TEXT_CHARS:]
    save_network(out / "gpt.h5", name="gpt", kind="gpt", config=config, weights=weights,
                 attrs={"metric": "perplexity", "float_metric": ppl, "input_format": "text",
                        "dataset": "docstrings of Python standard-library modules (held-out modules for test)",
                        "train_modules": ",".join(TRAIN_MODULES), "test_modules": ",".join(TEST_MODULES),
                        "train_text_sha256": hashlib.sha256(train_text.encode()).hexdigest(),
                        "train_tokens": int(len(train_ids)), **_provenance(seed, {"steps": steps})},
                 data={"test_text": test_ids, "calibration_text": calibration},
                 reference={"inputs": w[:1, :-1].numpy(), "logits": logits[:1].numpy()})
    return {"network": "gpt", "perplexity": ppl, "train_tokens": len(train_ids), "test_tokens": len(test_ids)}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("networks", nargs="*", default=["mlp", "cnn", "lstm", "resnet", "gpt"])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("-o", "--out", type=Path, default=ZOO_DIR)
    args = parser.parse_args(argv)
    for name in args.networks:
        t0 = time.perf_counter()
        train = {"gpt": train_gpt, "resnet": train_resnet}.get(name)
        result = train(args.seed, args.out) if train else train_digits(name, args.seed, args.out)
        print(f"{result} in {time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()
