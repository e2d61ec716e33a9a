"""What a registered circuit's constructor takes (the ``circuit_args`` of a sweep spec), read
from its signature and its NumPy-style docstring, for messages and ``cimspice circuits``."""

from __future__ import annotations

import inspect
import re
from dataclasses import dataclass

#: The default of an argument that has none (it must be given).
REQUIRED = inspect.Parameter.empty

_HEADER = re.compile(r"^Parameters\b.*$")
_ENTRY = re.compile(r"^(\**[A-Za-z_]\w*(?:\s*,\s*[A-Za-z_]\w*)*)\s*:\s*(.*)$")
_SENTENCE_END = re.compile(r"(?<=[A-Za-z0-9)\]]\.)\s+(?=[A-Z])")


@dataclass(frozen=True)
class Argument:
    """One constructor argument: ``default`` (:data:`REQUIRED` if none), ``kind`` (the
    docstring's type, else the annotation), ``doc`` (the first sentence of its docstring
    entry, ``""`` if undocumented); ``variadic`` for ``**sizes``-style arguments."""

    name: str
    default: object
    kind: str
    doc: str
    variadic: bool = False


def plain(text: str) -> str:
    """reStructuredText roles and literals as plain text: ``:class:`~a.B``` -> ``B``,
    ````x```` -> ``x``."""
    text = re.sub(r":\w+:`~?(?:[\w.]*\.)?([^`]+)`", r"\1", text)
    return text.replace("``", "")


def first_sentence(text: str) -> str:
    """The first sentence of ``text`` (a period, a blank and a capital end it), one line."""
    return _SENTENCE_END.split(" ".join(text.split()), maxsplit=1)[0]


def docstring_entries(doc: str | None) -> dict[str, tuple[str, str]]:
    """``name -> (type, description)`` from the ``Parameters`` section of a NumPy-style
    docstring (``w, l : float`` documents both); the section ends at its first blank line."""
    lines = inspect.cleandoc(doc or "").splitlines()
    start = next((i + 2 for i in range(len(lines) - 1)
                  if _HEADER.match(lines[i]) and set(lines[i + 1].strip()) == {"-"}), len(lines))
    entries: dict[str, tuple[str, str]] = {}
    names: list[str] = []
    for line in lines[start:]:
        if not line.strip():
            break
        match = _ENTRY.match(line)
        if match:
            names = [n.strip() for n in match.group(1).split(",")]
            for name in names:
                entries[name] = (plain(match.group(2).strip()), "")
        elif line.startswith(" ") and names:  # continuation of the entry above
            for name in names:
                kind, text = entries[name]
                entries[name] = (kind, f"{text} {plain(line.strip())}".strip())
        else:
            break
    return entries


def constructor_args(cls) -> list[Argument]:
    """The arguments ``cls(...)`` takes, in signature order: its own ``__init__``'s, then, while
    that passes ``**kwargs`` on, those of the next ``__init__`` up its MRO. A ``**sizes``
    argument its class documents (``**sizes : ...``) is its own: one variadic entry."""
    docs: dict[str, tuple[str, str]] = {}
    found: list[inspect.Parameter] = []
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is None or klass is object:
            continue
        docs = {**docstring_entries(klass.__doc__), **docs}  # a subclass's entry wins
        found += list(inspect.signature(init).parameters.values())[1:]
        passed_on = [p for p in found[-1:] if p.kind is p.VAR_KEYWORD and f"**{p.name}" not in docs]
        if not passed_on:
            break
    args: dict[str, Argument] = {}
    for p in found:
        name = f"**{p.name}" if p.kind is p.VAR_KEYWORD else p.name
        if p.kind is p.VAR_POSITIONAL or name in args or (p.kind is p.VAR_KEYWORD and name not in docs):
            continue
        kind, text = docs.get(name, ("", ""))
        if p.kind is p.VAR_KEYWORD:  # sizes of its own ("**sizes : what they are")
            args[name] = Argument(name, REQUIRED, "", first_sentence(f"{kind} {text}".strip()), variadic=True)
            continue
        annotation = p.annotation if isinstance(p.annotation, str) else getattr(p.annotation, "__name__", "")
        args[name] = Argument(name, p.default, kind or str(annotation or ""), first_sentence(text))
    return list(args.values())
