"""One surrogate as an HDF5 group (docs/surrogate_schema.md): attributes, numeric datasets
and subgroups only, read back with every type and shape checked. Used by
:meth:`Surrogate.to_hdf5 <cimspice.surrogate.core.Surrogate.to_hdf5>` and
:meth:`~cimspice.surrogate.core.Surrogate.from_hdf5`."""

from __future__ import annotations

import datetime as _dt
from typing import Any

import h5py
import numpy as np

from .. import __version__
from ._hdf5 import plain_attr, read_attr, read_dataset, set_str_list, write_dataset
from .errors import SurrogateError
from .models import model_from_hdf5

__all__ = ["read_plain_attrs", "read_surrogate", "write_plain_attr", "write_surrogate"]


def write_surrogate(surrogate, group: h5py.Group) -> None:
    """Write a fitted :class:`~.core.Surrogate` into the empty ``group``: attributes,
    numeric datasets and subgroups only."""
    a = group.attrs
    a["name"] = surrogate.name
    a["description"] = surrogate.description
    set_str_list(a, "input_names", surrogate.inputs)
    set_str_list(a, "input_units", surrogate.input_units)
    set_str_list(a, "input_scales", surrogate.input_scales)
    set_str_list(a, "output_names", surrogate.outputs)
    set_str_list(a, "output_units", surrogate.output_units)
    set_str_list(a, "output_scales", surrogate.output_scales)
    a["single_output"] = bool(surrogate.single_output)
    a["model_kind"] = surrogate.model_kind
    a["model_label"] = surrogate.model_label
    a["cimspice_version"] = __version__
    a["created"] = (surrogate.provenance.get("created")
                    or _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"))
    if surrogate.incomplete_sweep:
        a["incomplete_sweep"] = surrogate.incomplete_sweep
    write_dataset(group, "domain_min", surrogate.domain_min)
    write_dataset(group, "domain_max", surrogate.domain_max)
    surrogate.model.to_hdf5(group.create_group("model"))
    if surrogate.validation is not None:
        v = group.create_group("validation")
        for key in ("rms_pct", "max_pct", "full_scale"):
            score = np.asarray(surrogate.validation[key], dtype=np.float64)
            write_dataset(v, key, np.broadcast_to(score, (surrogate.n_outputs,)))
        v.attrs["n_points"] = int(surrogate.validation.get("n_points", 0))
        v.attrs["method"] = str(surrogate.validation.get("method", ""))
        if surrogate.validation.get("warning"):
            v.attrs["warning"] = str(surrogate.validation["warning"])
    c = group.create_group("candidates")
    for i, cand in enumerate(surrogate.candidates):
        g = c.create_group(f"{i:02d}")
        for key, value in cand.items():
            write_plain_attr(g.attrs, key, value)
    p = group.create_group("provenance")
    for key, value in surrogate.provenance.items():
        write_plain_attr(p.attrs, key, value)


def read_surrogate(cls, group: h5py.Group):
    """A ``cls`` (:class:`~.core.Surrogate`) rebuilt from a group written by
    :func:`write_surrogate`, types and shapes checked."""
    inputs = read_attr(group, "input_names", "str_list")
    outputs = read_attr(group, "output_names", "str_list")
    single = read_attr(group, "single_output", "bool")
    if single and len(outputs) != 1:
        raise SurrogateError(f"{group.name}: single_output with {len(outputs)} output names")
    if "model" not in group or not isinstance(group["model"], h5py.Group):
        raise SurrogateError(f"group {group.name}/model is missing")
    model = model_from_hdf5(group["model"])
    try:
        obj = cls(
            model,
            inputs,
            outputs[0] if single else outputs,
            input_units=read_attr(group, "input_units", "str_list"),
            output_units=read_attr(group, "output_units", "str_list"),
            input_scales=read_attr(group, "input_scales", "str_list"),
            output_scales=read_attr(group, "output_scales", "str_list"),
            name=read_attr(group, "name", "str"),
            description=read_attr(group, "description", "str", ""),
        )
    except SurrogateError as exc:
        raise SurrogateError(f"{group.name}: {exc}") from None
    if model.n_inputs_ != obj.n_inputs or model.n_outputs_ != obj.n_outputs:
        raise SurrogateError(
            f"{group.name}: model has {model.n_inputs_} inputs/{model.n_outputs_} outputs, "
            f"surrogate declares {obj.n_inputs}/{obj.n_outputs}"
        )
    if model.y_ndim_ != (1 if single else 2):
        raise SurrogateError(f"{group.name}: model output rank inconsistent with single_output")
    obj.incomplete_sweep = read_attr(group, "incomplete_sweep", "str", "")
    obj.domain_min = read_dataset(group, "domain_min", "f", ndim=1)
    obj.domain_max = read_dataset(group, "domain_max", "f", ndim=1)
    for key in ("domain_min", "domain_max"):
        if getattr(obj, key).shape != (obj.n_inputs,):
            raise SurrogateError(f"{group.name}/{key}: shape {getattr(obj, key).shape}, expected ({obj.n_inputs},)")
    if not np.all(obj.domain_min <= obj.domain_max):  # finite: read_dataset checked
        raise SurrogateError(f"{group.name}: domain bounds must have min <= max")
    if "validation" in group:
        v = group["validation"]
        # NaN here means "no score" (e.g. no validation point), shown as "-"
        obj.validation = {key: read_dataset(v, key, "f", ndim=1, finite=False)
                          for key in ("rms_pct", "max_pct", "full_scale")}
        for key in ("rms_pct", "max_pct", "full_scale"):
            if obj.validation[key].shape != (obj.n_outputs,):
                raise SurrogateError(f"{v.name}/{key}: shape {obj.validation[key].shape}, expected ({obj.n_outputs},)")
        obj.validation["n_points"] = read_attr(v, "n_points", "int", 0)
        obj.validation["method"] = read_attr(v, "method", "str", "")
        if "warning" in v.attrs:
            obj.validation["warning"] = read_attr(v, "warning", "str")
    if "candidates" in group:
        cands = group["candidates"]
        for key in sorted(cands):
            obj.candidates.append(read_plain_attrs(cands[key]))
    if "provenance" in group:
        obj.provenance = read_plain_attrs(group["provenance"])
        _check_tolerance(obj.provenance.get("abs_tolerance"), f"{group.name}/provenance/abs_tolerance")
    obj.provenance.setdefault("created", read_attr(group, "created", "str", ""))
    return obj


def _check_tolerance(value: Any, where: str) -> None:
    """An output's absolute tolerance (output units), when recorded, is one finite number > 0."""
    if value is None:
        return
    ok = isinstance(value, (int, float, np.number)) and not isinstance(value, (bool, np.bool_))
    if not (ok and np.isfinite(value) and value > 0):
        raise SurrogateError(f"{where}: {value!r} is not a finite number > 0 (the output's tolerance, its unit)")


def write_plain_attr(attrs: h5py.AttributeManager, key: str, value: Any) -> None:
    """Store ``value`` (text, a number, a list of text or a numeric array; None: nothing)
    as the attribute ``key``; anything else raises :class:`SurrogateError`."""
    if value is None:
        return
    if isinstance(value, (bool, np.bool_)):
        attrs[key] = bool(value)
    elif isinstance(value, (int, np.integer)):
        attrs[key] = int(value)
    elif isinstance(value, (float, np.floating)):
        attrs[key] = float(value)
    elif isinstance(value, str):
        attrs[key] = value
    elif isinstance(value, (list, tuple, np.ndarray)) and all(isinstance(v, str) for v in value):
        set_str_list(attrs, key, value)
    else:
        arr = np.asarray(value)
        if arr.dtype.kind not in "fiub":
            raise SurrogateError(f"cannot store {key!r}={value!r:.60} (only text and numbers)")
        attrs[key] = arr


def read_plain_attrs(obj: h5py.HLObject) -> dict[str, Any]:
    """Every attribute of ``obj`` as text, a number, a list of text or a numeric array."""
    out = {}
    for key in obj.attrs:
        value = plain_attr(obj.attrs[key], f"{obj.name}/{key}")
        if isinstance(value, np.ndarray) and value.dtype.kind == "O":
            value = [str(v) for v in value.ravel()]
        out[key] = value
    return out

