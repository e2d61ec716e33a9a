"""Plain-HDF5 helpers: string-list attributes and strict, typed reading.

Everything a surrogate writes is a numeric dataset or a plain attribute (a string, a
number, a numeric array or an array of strings). Readers check types before use, so a
file holding an opaque blob (e.g. a pickle stored as ``np.void`` or bytes) is refused
rather than interpreted; nothing in a file is ever executed or unpickled.
"""

from __future__ import annotations

from typing import Any

import h5py
import numpy as np

from ..validate import require_finite
from .errors import SurrogateError, one_line

#: dtype kinds a dataset may have: float, signed/unsigned integer, bool.
NUMERIC_KINDS = "fiub"


def set_str_list(attrs: h5py.AttributeManager, key: str, values) -> None:
    """Store a sequence of str as a variable-length UTF-8 string array attribute."""
    attrs[key] = np.array([str(v) for v in values], dtype=h5py.string_dtype())


def _where(obj: h5py.HLObject, key: str | None = None) -> str:
    name = obj.name or "/"
    return f"{name}/{key}".replace("//", "/") if key else name


def plain_attr(value: Any, where: str) -> Any:
    """Return ``value`` as str / int / float / bool / ndarray, or raise if not plain."""
    if isinstance(value, str):
        return value
    if isinstance(value, bytes):  # fixed-length string attribute
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise SurrogateError(f"attribute {where}: bytes that are not UTF-8 text refused") from exc
    if isinstance(value, np.void) or (isinstance(value, np.ndarray) and value.dtype.kind == "V"):
        raise SurrogateError(f"attribute {where}: opaque/compound value refused (only text and numbers are allowed)")
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value)
    if isinstance(value, np.ndarray):
        if value.dtype.kind in NUMERIC_KINDS and value.dtype.names is None:
            return value
        if value.dtype.kind == "S":
            return np.array([plain_attr(v, where) for v in value.ravel()], dtype=object).reshape(value.shape)
        if value.dtype.kind == "O" and all(isinstance(v, (str, bytes)) for v in value.ravel()):
            return np.array([plain_attr(v, where) for v in value.ravel()], dtype=object).reshape(value.shape)
    raise SurrogateError(
        f"attribute {where}: value of type {type(value).__name__} refused (only text and numbers are allowed)"
    )


def check_plain_tree(group: h5py.Group) -> None:
    """Refuse anything in ``group`` (recursively) that is not plain numeric data.

    Allowed: hard-linked groups, datasets of a numeric dtype (float, int, uint, bool),
    attributes that are text, numbers, numeric arrays or arrays of text. Refused, with
    the HDF5 path in the message: soft/external links, datasets of opaque (``np.void``),
    object, string, compound or reference dtype, opaque or reference attributes.
    """
    for key, value in group.attrs.items():
        plain_attr(value, _where(group, key))
    for key in group:
        link = group.get(key, getlink=True)
        where = _where(group, key)
        if not isinstance(link, h5py.HardLink):
            raise SurrogateError(f"{where}: {type(link).__name__} refused (only plain groups and datasets are allowed)")
        item = group[key]
        if isinstance(item, h5py.Group):
            check_plain_tree(item)
        elif isinstance(item, h5py.Dataset):
            dtype = item.dtype
            if dtype.kind not in NUMERIC_KINDS or dtype.names is not None or dtype.subdtype is not None:
                raise SurrogateError(
                    f"dataset {where}: dtype {dtype.str!r} refused (only numeric arrays are allowed; "
                    "opaque, object and string datasets are never read)"
                )
            for akey, avalue in item.attrs.items():
                plain_attr(avalue, _where(item, akey))
        else:  # committed datatypes and anything else
            raise SurrogateError(f"{where}: {type(item).__name__} refused")


def read_attr(obj: h5py.HLObject, key: str, kind: str, default: Any = ...) -> Any:
    """Read attribute ``key`` of ``obj`` as ``kind``: "str", "int", "float", "bool",
    "str_list" or "float_array". Missing with no ``default``, or a "float"/"float_array"
    holding NaN or inf -> :class:`SurrogateError`."""
    where = _where(obj, key)
    if key not in obj.attrs:
        if default is ...:
            raise SurrogateError(f"attribute {where} is missing")
        return default
    value = plain_attr(obj.attrs[key], where)
    if kind == "str":
        if isinstance(value, str):
            return value
    elif kind == "int":
        if isinstance(value, np.ndarray) and value.shape in ((), (1,)) and value.dtype.kind in "iu":
            value = int(value.ravel()[0])
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif kind == "float":
        if isinstance(value, np.ndarray) and value.shape in ((), (1,)) and value.dtype.kind in "fiu":
            value = float(value.ravel()[0])
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            require_finite(value, f"attribute {where}", SurrogateError)
            return float(value)
    elif kind == "bool":
        if isinstance(value, (bool, int)):
            return bool(value)
    elif kind == "str_list":
        if isinstance(value, str):
            return [value]
        if isinstance(value, np.ndarray) and value.ndim <= 1 and (value.dtype.kind == "O" or value.size == 0):
            return [str(v) for v in value.ravel()]
    elif kind == "float_array":
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            value = np.array([float(value)])
        if isinstance(value, np.ndarray) and value.dtype.kind in "fiu":
            return require_finite(value.astype(np.float64), f"attribute {where}", SurrogateError)
    else:  # pragma: no cover - programming error
        raise ValueError(kind)
    raise SurrogateError(f"attribute {where}: expected {kind}, found {value!r:.80}")


def read_dataset(group: h5py.Group, name: str, kinds: str = "f", ndim: int | None = None,
                 finite: bool = True) -> np.ndarray:
    """Read numeric dataset ``group[name]`` fully into memory, checking dtype and rank.

    ``kinds`` lists the acceptable NumPy dtype kinds ("f" float, "iu" integer). Floats are
    returned as float64, integers as int64. ``finite`` (default) refuses NaN and inf: a model
    array holding one predicts NaN, or breaks a linear solve far from here; pass False only
    for records where NaN means "not available" (validation scores).
    """
    where = _where(group, name)
    if name not in group:
        raise SurrogateError(f"dataset {where} is missing")
    item = group[name]
    if not isinstance(item, h5py.Dataset):
        raise SurrogateError(f"{where}: expected a dataset, found a {type(item).__name__}")
    dtype = item.dtype
    if dtype.kind not in kinds or dtype.names is not None or dtype.subdtype is not None:
        raise SurrogateError(f"dataset {where}: dtype {dtype.str!r} refused (expected kind {kinds!r})")
    if ndim is not None and item.ndim != ndim:
        raise SurrogateError(f"dataset {where}: expected {ndim} dimensions, found shape {item.shape}")
    data = item[()]
    data = np.asarray(data, dtype=np.float64 if "f" in kinds else np.int64)
    return require_finite(data, f"dataset {where}", SurrogateError) if finite else data


def write_dataset(group: h5py.Group, name: str, data, dtype=np.float64) -> h5py.Dataset:
    """Write a numeric array (float64 by default) as dataset ``name``."""
    array = np.ascontiguousarray(data, dtype=dtype)
    return group.create_dataset(name, data=array)


def open_hdf5(path, what: str) -> h5py.File:
    """Open ``path`` read-only, or raise one line naming the file: missing, or not HDF5."""
    if not path.is_file():
        raise SurrogateError(f"{path}: no such {what}")
    try:
        return h5py.File(path, "r")
    except OSError as exc:
        raise SurrogateError(f"{path}: cannot open as HDF5 (truncated or corrupt file?): {one_line(exc)}") from None
