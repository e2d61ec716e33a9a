"""Network files of the zoo: HDF5, schema ``cimspice.network`` (arrays and plain attributes).

Layout::

    /                 attrs: schema, schema_version, name, kind ("sequential" | "graph" | "gpt"),
                             config (JSON: layer list, graph nodes or GPT hyper-parameters), metric,
                             float_metric, input_format, provenance (seed, script, versions)
    /weights/<name>   float32 arrays, named as the layers expect ("conv1.kernel", ...)
    /data/<name>      held-out data the score is computed on (digit indices, text ids)
    /reference/<name> inputs and outputs of the training framework, for checking the
                      NumPy forward pass

Nothing is unpickled or executed; JSON is the only structured attribute.
"""

from __future__ import annotations

import datetime as _dt
import gzip
import importlib.metadata
import importlib.util
import json
import os
from pathlib import Path

import h5py
import numpy as np

from ... import __version__
from ...validate import require_finite
from ..errors import SimError
from ..graph import Graph
from ..network import GPT, Network, Sequential

__all__ = ["NETWORK_SCHEMA", "NETWORK_SCHEMA_VERSION", "VOCAB", "ZOO_DIR", "decode_text", "encode_text",
           "digits", "list_networks", "load_dataset", "load_network", "onnx_data_source", "read_network_file",
           "save_network"]

NETWORK_SCHEMA = "cimspice.network"
NETWORK_SCHEMA_VERSION = 1
ZOO_DIR = Path(__file__).resolve().parent

#: Character vocabulary of the text networks: newline and printable ASCII (id = position).
VOCAB = "\n" + "".join(chr(c) for c in range(32, 127))
_INDEX = {c: i for i, c in enumerate(VOCAB)}


def encode_text(text: str) -> np.ndarray:
    """Text -> token ids (uint8); tabs become spaces, other characters outside
    :data:`VOCAB` are dropped."""
    return np.array([_INDEX[c] for c in text.replace("\t", " ") if c in _INDEX], dtype=np.uint8)


def decode_text(ids) -> str:
    return "".join(VOCAB[int(i)] for i in np.ravel(ids))


def digits() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's 1,797 8x8 digits: ``(X (1797, 64) in [0, 16], y (1797,))``, read from the
    CSV that ships inside scikit-learn without importing it (the same file ``load_digits`` reads)."""
    path = None
    try:  # located through the installed distribution: scikit-learn itself is not imported
        path = Path(importlib.metadata.distribution("scikit-learn").locate_file("sklearn/datasets/data/digits.csv.gz"))
    except importlib.metadata.PackageNotFoundError:
        spec = importlib.util.find_spec("sklearn")
        if spec is not None and spec.origin:
            path = Path(spec.origin).parent / "datasets" / "data" / "digits.csv.gz"
    if path is None or not path.is_file():
        raise SimError("the digits data ship with scikit-learn, which is not installed")
    st = path.stat()
    key = (str(path), st.st_mtime_ns, st.st_size)
    table = _DIGITS.get(key)
    if table is None:
        try:
            with gzip.open(path, "rt") as f:
                table = np.loadtxt(f, delimiter=",")
        except OSError as error:
            raise SimError(f"{path}: cannot read scikit-learn's digits: {error}") from None
        _DIGITS.clear()
        _DIGITS[key] = table
    return table[:, :-1].copy(), table[:, -1].astype(int)


#: (path, mtime, size) -> the digits' parsed table: parsing the CSV took 20 ms, twice in
#: every simulation (its held-out and calibration digits), which a design sweep's serial
#: prologue paid once per call (a tenth of a 16-point MLP sweep on two workers)
_DIGITS: dict[tuple, np.ndarray] = {}


def save_network(path, *, name: str, kind: str, config, weights: dict, attrs: dict, data: dict | None = None,
                 reference: dict | None = None) -> Path:
    """Write a network file atomically (temporary file, then rename)."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        with h5py.File(tmp, "w") as f:
            f.attrs.update({"schema": NETWORK_SCHEMA, "schema_version": NETWORK_SCHEMA_VERSION, "name": name,
                            "kind": kind, "config": json.dumps(config), "cimspice_version": __version__,
                            "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")})
            for key, value in attrs.items():
                # str subclasses (torch's version string) would reach HDF5 as NumPy unicode
                f.attrs[key] = str(value) if isinstance(value, str) else value
            for group, arrays, dtype in (("weights", weights, np.float32), ("data", data or {}, None),
                                         ("reference", reference or {}, None)):
                g = f.create_group(group)
                for key, value in arrays.items():
                    a = np.asarray(value)
                    if dtype is not None and a.dtype.kind == "f":
                        a = a.astype(dtype)
                    g.create_dataset(key, data=a, compression="gzip" if a.size > 64 else None,
                                     shuffle=a.size > 64)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def _plain(value):
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, np.generic):
        return value.item()
    return value


def read_network_file(path) -> tuple[dict, dict, dict, dict]:
    """``(attrs, weights, data, reference)`` of a network file, checked against the schema."""
    path = Path(path)
    try:
        f = h5py.File(path, "r")
    except FileNotFoundError:
        raise SimError(f"{path}: no such network file") from None
    except OSError as error:
        raise SimError(f"{path}: not a readable HDF5 file ({error})") from None
    with f:
        attrs = {k: _plain(v) for k, v in f.attrs.items()}
        if attrs.get("schema") != NETWORK_SCHEMA:
            raise SimError(f"{path}: schema {attrs.get('schema')!r}, expected {NETWORK_SCHEMA!r}")
        if int(attrs.get("schema_version", 0)) > NETWORK_SCHEMA_VERSION:
            raise SimError(f"{path}: schema_version {attrs['schema_version']} is newer than this cimspice reads "
                           f"({NETWORK_SCHEMA_VERSION})")
        groups = []
        for group in ("weights", "data", "reference"):
            g = f.get(group, {})
            groups.append({k: _finite(g[k][()], f"{path}: {group}/{k}") for k in g})
    try:
        attrs["config"] = json.loads(attrs["config"])
    except (KeyError, ValueError):
        raise SimError(f"{path}: attribute 'config' is missing or not JSON") from None
    return attrs, *groups


def _finite(value, what: str):
    """Numeric arrays of a network file must be finite; text (e.g. a vocabulary) passes."""
    a = np.asarray(value)
    return require_finite(a, what, SimError) if a.dtype.kind in "fc" else value


def list_networks() -> list[str]:
    """Names of the shipped networks."""
    return sorted(p.stem for p in ZOO_DIR.glob("*.h5"))


def _path(name) -> Path:
    p = Path(name)
    if p.suffix == ".h5" or p.is_file():
        return p
    p = ZOO_DIR / f"{name}.h5"
    if not p.is_file():
        raise SimError(f"network {name!r}: not in the zoo (shipped: {', '.join(list_networks()) or 'none'})")
    return p


def load_network(name) -> Network:
    """A shipped network by name ("mlp", "cnn", "lstm", "resnet", "gpt") or a network file path
    (cimspice HDF5, or ONNX when it ends in ``.onnx``: :func:`cimspice.sim.onnx_import.load_onnx`)."""
    if str(name).lower().endswith(".onnx"):
        from ..onnx_import import load_onnx

        return load_onnx(name)
    path = _path(name)
    attrs, weights, _, _ = read_network_file(path)
    info = {k: v for k, v in attrs.items() if k != "config"}
    info["path"] = str(path)
    kind, config = attrs.get("kind"), attrs["config"]
    if kind == "sequential":
        return Sequential.from_config(attrs["name"], config["layers"], weights, info)
    if kind == "graph":
        return Graph.from_config(attrs["name"], config, weights, info)
    if kind == "gpt":
        return GPT.from_config(attrs["name"], config, weights, info)
    raise SimError(f"{path}: unknown network kind {kind!r}")


def onnx_data_source(info: dict, where) -> str:
    """The shipped network whose held-out data score an imported ONNX network of ``info``
    (its ``Network.info``): the one its metadata name, else the digits in its input's shape;
    refused (naming ``where``, its file) when neither."""
    from ..onnx_import import DIGITS_FORMATS

    source = info.get("zoo_data") or {"flat": "mlp", "image": "cnn", "rows": "lstm"}.get(info.get("input_format"))
    if source is None:
        raise SimError(f"{where}: input shape {info.get('input_shape')} is not one the shipped digits come in "
                       f"({', '.join(map(str, DIGITS_FORMATS))}): give the data as FILE.npz (--data)")
    return source


def load_dataset(name, split: str = "test", n: int | None = None, *,
                 batch_axis: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Inputs and targets for network ``name`` (or file path), shaped for it.

    ``split``: "test" (held out from training: the reference score) or "train" (for
    calibrating analog ranges). ``n`` keeps the first ``n`` samples (text: windows).
    Digits are scaled to [0, 1]; text comes as windows of ``context`` token ids with the
    next-token targets. For an ONNX file, ``batch_axis`` is :func:`~..onnx_import.load_onnx`'s
    (a time-major model exported at a static batch needs it to find its input's shape).
    """
    if split not in ("test", "train"):
        raise SimError(f"load_dataset: split must be 'test' or 'train', got {split!r}")
    if str(name).lower().endswith(".onnx"):  # an imported network whose input is shaped like the digits
        from ..onnx_import import load_onnx

        return load_dataset(onnx_data_source(load_onnx(name, batch_axis=batch_axis).info, name), split, n)
    path = _path(name)
    attrs, _, data, _ = read_network_file(path)
    fmt = attrs.get("input_format")
    if fmt == "text":
        ids = np.asarray(data["test_text" if split == "test" else "calibration_text"], dtype=np.int64)
        T = int(attrs["config"]["context"])
        windows = len(ids) // (T + 1)
        w = ids[: windows * (T + 1)].reshape(windows, T + 1)
        x, y = w[:, :-1], w[:, 1:]
    else:
        X, labels = digits()
        test = np.asarray(data["test_indices"], dtype=int)
        idx = test if split == "test" else np.setdiff1d(np.arange(len(labels)), test)
        x, y = X[idx] / 16.0, labels[idx]
        shapes = {"flat": (-1, 64), "image": (-1, 1, 8, 8), "rows": (-1, 8, 8)}
        if fmt not in shapes:
            raise SimError(f"{path}: unknown input_format {fmt!r}")
        x = x.reshape(shapes[fmt])
    if n is not None:
        x, y = x[:n], y[:n]
    return x, y
