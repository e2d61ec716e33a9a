"""Reading an ONNX file for :mod:`.onnx_import`: the ``onnx`` package (imported only when a file
is loaded), external weights (only from the model's own folder) and the checker."""

from __future__ import annotations

from pathlib import Path

from .errors import SimError

__all__ = ["onnx_package", "read_model"]


def onnx_package():
    try:
        import onnx
    except ImportError:
        raise SimError("reading ONNX files needs the onnx package: pip install onnx "
                       "(or pip install 'cimspice[onnx]')") from None
    return onnx


def _external(onnx, model, path: Path) -> None:
    """Read external tensor data, refusing locations outside the model's folder."""
    folder = path.parent.resolve()
    tensors = list(model.graph.initializer)
    for node in model.graph.node:
        for a in node.attribute:
            tensors += ([a.t] if a.HasField("t") else []) + list(a.tensors)
    for t in tensors:
        if t.data_location != onnx.TensorProto.EXTERNAL:
            continue
        info = {e.key: e.value for e in t.external_data}
        loc = info.get("location", "")
        target = (folder / loc).resolve()
        if not loc or Path(loc).is_absolute() or not target.is_relative_to(folder):
            raise SimError(f"{path}: tensor {t.name!r}: external data {loc!r} is outside the model's folder "
                           f"{folder}; refused")
        if not target.is_file():
            raise SimError(f"{path}: tensor {t.name!r}: external data file {loc!r} does not exist")
        offset, length = int(info.get("offset", 0)), info.get("length")
        with open(target, "rb") as f:
            f.seek(offset)
            raw = f.read() if length is None else f.read(int(length))
        if length is not None and len(raw) != int(length):
            raise SimError(f"{path}: tensor {t.name!r}: external data file {loc!r} is truncated")
        t.raw_data = raw
        del t.external_data[:]
        t.data_location = onnx.TensorProto.DEFAULT


def read_model(path: Path):
    """(the onnx package, the checked model of ``path`` with its external data read in)."""
    onnx = onnx_package()
    if not path.is_file():
        raise SimError(f"{path}: no such ONNX file")
    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as error:  # noqa: BLE001 - protobuf's DecodeError and friends: truncated or not ONNX
        raise SimError(f"{path}: not a readable ONNX file ({type(error).__name__}: {error})".splitlines()[0]) \
            from None
    _external(onnx, model, path)
    try:
        onnx.checker.check_model(model)
    except Exception as error:  # noqa: BLE001 - onnx.checker.ValidationError, or a protobuf error
        first = next((s for s in str(error).splitlines() if s.strip()), type(error).__name__)
        raise SimError(f"{path}: not a valid ONNX model: {first}") from None
    if not model.graph.node:
        raise SimError(f"{path}: not a valid ONNX model: the graph has no nodes")
    return onnx, model
