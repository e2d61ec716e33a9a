"""The field machinery of the system spec (cimspice.sim.spec).

Each field of a spec section is declared once, on its dataclass, with :func:`spec_field`: its
type annotation (``int``, ``float``, ``bool``, ``str``, ``Literal[...]``, ``X | None``,
``dict[K, V]``), default, unit, bounds and one-line doc. :func:`read_fields` walks those
declarations to validate one mapping (a section of a YAML file), and :func:`field_table`
writes the Markdown table of docs/system.md from the same declarations.

A value the user can fix fails as ``SOURCE: section.field: reason`` (one line, a
:class:`SimError`) whatever it is: a list, a dict, None, NaN, a 5,000-digit integer.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import re
import types
import typing
from typing import Any, Literal, NoReturn

from ..validate import did_you_mean
from .errors import SimError

#: Metadata a field may carry (see spec_field).
_RULES = {"min", "max", "positive", "nonempty", "keys", "values", "key_min", "key_max", "default_note", "internal"}


def spec_field(default: Any, doc: str, *, unit: str = "", **rules):
    """A dataclass field of a spec section.

    ``doc``: one line for docs/system.md; ``unit``: its SI unit ('' if none). ``rules``:
    ``min``/``max``/``positive`` (numbers, or a dict's values), ``nonempty`` (strings),
    ``keys``/``values`` (a dict's entries, in words), ``key_min``/``key_max`` (integer keys),
    ``default_note`` (the docs' default when another field changes it), ``internal`` (not
    read from a spec). A dict default is copied for every instance.
    """
    unknown = set(rules) - _RULES
    if unknown:
        raise TypeError(f"spec_field: unknown rules {sorted(unknown)}")
    metadata = {"doc": doc, "unit": unit, **rules}
    if isinstance(default, dict):
        return dataclasses.field(default_factory=lambda: dict(default), metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


def show(value: Any) -> str:
    """``repr(value)`` for a one-line message: at most 60 characters, never raising (a huge
    integer's repr exceeds Python's digit limit, a deep list its recursion limit)."""
    try:
        text = repr(value)
    except Exception:  # noqa: BLE001 - any object must still be named
        return f"<{type(value).__name__}>"
    text = text.replace("\n", "\\n")
    return text if len(text) <= 60 else text[:57] + "..."


class Section:
    """One mapping being read (``name``: 'array', ... or 'spec' for the top level)."""

    def __init__(self, source: str, name: str, data: Any):
        if data is None:
            data = {}
        if not isinstance(data, dict):
            raise SimError(f"{source}: {name}: expected a mapping, got {type(data).__name__}")
        self.source, self.name, self.data = source, name, data

    def fail(self, key: str, reason: str) -> NoReturn:
        raise SimError(f"{self.source}: {self.name}.{key}: {reason}")


@functools.cache
def _hints(cls) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _default_of(f: dataclasses.Field) -> Any:
    return f.default_factory() if f.default is dataclasses.MISSING else f.default


def _optional(hint) -> tuple[bool, Any]:
    """(whether ``hint`` admits None, the hint without None)."""
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        if len(args) == 1:
            return True, args[0]
    return False, hint


def section_fields(cls) -> list[tuple[dataclasses.Field, Any]]:
    """(field, type hint) of every field of ``cls`` a spec may give."""
    return [(f, _hints(cls)[f.name]) for f in dataclasses.fields(cls) if not f.metadata.get("internal")]


def read_fields(cls, section: Section, *, defaults: dict | None = None, skip=()) -> dict[str, Any]:
    """``section.data`` validated against the fields of dataclass ``cls``: {field: value} for
    every field (``defaults`` override the declared ones), keys it does not declare refused.
    Fields named in ``skip`` are left to the caller (nested sections)."""
    values = {}
    for f, hint in section_fields(cls):
        if f.name in skip:
            continue
        default = (defaults or {}).get(f.name, _default_of(f))
        values[f.name] = _check_value(section, f.name, section.data.get(f.name, default), hint, f.metadata)
    unknown = [k for k in section.data if not (isinstance(k, str) and (k in values or k in skip))]
    if unknown:
        key = min(map(_label, unknown), key=lambda k: (k.startswith("<"), k))
        section.fail(key, "unknown field" + did_you_mean(key, [*values, *skip]))
    return values


def _label(key: Any) -> str:
    return key if isinstance(key, str) and key.isprintable() and len(key) <= 60 else show(key)


def _check_value(section: Section, key: str, value: Any, hint, rules) -> Any:
    """``value`` of field ``key`` checked against its type ``hint`` and ``rules`` (a field's
    metadata); numbers come back as float or int, dicts as new dicts."""
    optional, hint = _optional(hint)
    if value is None and optional:
        return None
    null = " or null" if optional else ""
    if typing.get_origin(hint) is Literal:
        choices = typing.get_args(hint)
        if not any(type(value) is type(c) and value == c for c in choices):
            section.fail(key, f"unknown value {show(value)}; expected one of {', '.join(map(repr, choices))}")
        return value
    if typing.get_origin(hint) is dict:
        return _mapping(section, key, value, *typing.get_args(hint), rules)
    if hint is bool:
        if not isinstance(value, bool):
            section.fail(key, f"expected true or false{null}, got {show(value)}")
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            section.fail(key, f"expected an integer{null}, got {show(value)}")
        return _bounded(section, key, value, rules, show)
    if hint is float:
        number = _as_float(value)
        if number is None:
            section.fail(key, f"expected a finite number{null}, got {show(value)}")
        return _bounded(section, key, number, rules, lambda v: f"{v:g}")
    if hint is str:
        if not isinstance(value, str):
            section.fail(key, f"expected a string{null}, got {show(value)}")
        if rules.get("nonempty") and not value:
            section.fail(key, "expected a non-empty string")
        return value
    raise TypeError(f"spec field {key}: unsupported annotation {hint!r}")


def _as_float(value: Any) -> float | None:
    """``value`` as a finite float, or None if it is none. Strings such as '1e-6' count (PyYAML
    reads some floats as strings); booleans do not."""
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        value = float(value)
    except OverflowError:  # an integer beyond 1.8e308
        return None
    return value if math.isfinite(value) else None


def _bounded(section: Section, key: str, value, rules, fmt):
    if rules.get("positive") and not value > 0:
        section.fail(key, f"must be > 0, got {fmt(value)}")
    if rules.get("min") is not None and value < rules["min"]:
        section.fail(key, f"must be >= {fmt(rules['min'])}, got {fmt(value)}")
    if rules.get("max") is not None and value > rules["max"]:
        section.fail(key, f"must be <= {fmt(rules['max'])}, got {fmt(value)}")
    return value


def _mapping(section: Section, key: str, value, key_type, value_type, rules) -> dict:
    """A dict field: None is empty; keys are strings, or integers within key_min..key_max
    (digit strings count); each value is checked as a field ``key.entry`` of ``value_type``."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        section.fail(key, f"expected a mapping of {rules['keys']} -> {rules['values']}, got {show(value)}")
    out = {}
    for k, v in value.items():
        entry = _dict_key(k, key_type, rules)
        if entry is None:
            section.fail(key, f"keys are {_keys_words(key_type, rules)}, got {show(k)}")
        out[entry] = _check_value(section, f"{key}.{_label(entry)}", v, value_type, rules)
    return out


def _dict_key(k, key_type, rules):
    if key_type is str:
        return k if isinstance(k, str) else None
    if isinstance(k, str) and re.fullmatch(r"\s*[0-9]{1,6}\s*", k):
        k = int(k)
    if isinstance(k, bool) or not isinstance(k, int):
        return None
    return k if rules["key_min"] <= k <= rules["key_max"] else None


def _keys_words(key_type, rules) -> str:
    if key_type is str:
        return f"{rules['keys']} (strings)"
    return f"{rules['keys']} ({rules['key_min']}..{rules['key_max']})"


# --- docs/system.md -------------------------------------------------------------------------

def _number(value: float) -> str:
    """A default as one writes it: 5000, 0.25, 1e-4 (below 1e-3: mantissa and exponent)."""
    if value == 0 or 1e-3 <= abs(value) < 1e6:
        return f"{value:g}"
    mantissa, exponent = f"{value:.6e}".split("e")
    return f"{mantissa.rstrip('0').rstrip('.')}e{int(exponent)}"


def _allowed(hint, rules) -> str:
    """The values column: type, bounds, choices."""
    optional, hint = _optional(hint)
    null = " or null" if optional else ""
    if typing.get_origin(hint) is Literal:
        return ", ".join(f"`{c}`" for c in typing.get_args(hint)) + null
    if typing.get_origin(hint) is dict:
        key_type, _ = typing.get_args(hint)
        return f"mapping: {_keys_words(key_type, rules).replace(' (strings)', '')} -> {rules['values']}"
    word = {bool: "true, false", int: "integer", float: "number", str: "string"}[hint]
    lo, hi = rules.get("min"), rules.get("max")
    fmt = str if hint is int else _number
    if rules.get("positive"):
        bounds = " > 0" + (f", <= {fmt(hi)}" if hi is not None else "")
    elif lo is not None and hi is not None:
        bounds = f" {fmt(lo)}..{fmt(hi)}"
    elif lo is not None:
        bounds = f" >= {fmt(lo)}"
    else:
        bounds = ""
    return word + bounds + null


def _default_text(f: dataclasses.Field) -> str:
    if "default_note" in f.metadata:
        return f.metadata["default_note"]
    value = _default_of(f)
    if value is None or isinstance(value, bool):
        return {None: "null", True: "true", False: "false"}[value]
    if isinstance(value, str):
        return f"`{value}`"
    if isinstance(value, dict):
        return "{}"
    return str(value) if isinstance(value, int) else _number(value)


def field_table(cls, prefix: str = "") -> str:
    """The Markdown table of every field of dataclass ``cls``, nested sections expanded as
    ``section.field``: its values, default, unit and meaning."""
    lines = ["| field | values | default | unit | meaning |", "| --- | --- | --- | --- | --- |"]
    lines += _rows(cls, prefix)
    return "\n".join(lines) + "\n"


def _rows(cls, prefix: str) -> list[str]:
    rows = []
    for f, hint in section_fields(cls):
        if dataclasses.is_dataclass(hint):
            rows += _rows(hint, f"{prefix}{f.name}.")
            continue
        m = f.metadata
        rows.append(f"| `{prefix}{f.name}` | {_allowed(hint, m)} | {_default_text(f)} | {m['unit']} | {m['doc']} |")
    return rows
