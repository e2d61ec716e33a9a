"""Reading a netlist for the engine: files, includes, and what a netlist may not contain."""

from __future__ import annotations

import re
from pathlib import Path

from .errors import NetlistError

_INCLUDE = re.compile(r"^(\s*\.(?:include|inc|lib)\s+)(\"[^\"]+\"|'[^']+'|\S+)(.*)$", re.IGNORECASE)


def prepare_netlist(netlist: str | Path, *, allow_control: bool = False) -> tuple[str, str]:
    """Return ``(text, origin)`` ready for ngspice.

    ``netlist`` is a :class:`~pathlib.Path`, a path string (no newline), or netlist text
    (containing a newline). Relative ``.include``/``.lib`` paths in a file are resolved
    against the file's folder, as ngspice would when run on that file; every included file
    must exist. ``.control`` blocks are refused unless ``allow_control``: a netlist is data,
    and a control block can run shell commands.
    """
    if isinstance(netlist, Path) or "\n" not in netlist:
        path = Path(netlist)
        origin = str(path)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise NetlistError("no such netlist file", source=origin) from None
        except (OSError, UnicodeDecodeError) as error:
            raise NetlistError(f"cannot read netlist: {error}", source=origin) from None
        base = path.resolve().parent
    else:
        text, origin, base = netlist, "<netlist>", Path.cwd()

    lines = text.splitlines()
    if not any(ln.strip() and not ln.lstrip().startswith("*") for ln in lines[1:]):
        raise NetlistError("netlist has a title line but no elements", source=origin)
    out = [lines[0]]
    for number, line in enumerate(lines[1:], start=2):
        stripped = line.strip().lower()
        if stripped.startswith(".control") and not allow_control:
            raise NetlistError(f"line {number}: .control blocks are not allowed in a netlist", source=origin)
        match = _INCLUDE.match(line)
        if match:
            head, name, tail = match.groups()
            target = Path(name.strip("\"'"))
            if not target.is_absolute():
                target = base / target
            if not target.is_file():
                raise NetlistError(f"line {number}: included file {target} not found", source=origin)
            line = f'{head}"{target}"{tail}'
        out.append(line)
    if not any(ln.strip().lower() == ".end" for ln in out):
        out.append(".end")
    return "\n".join(out) + "\n", origin


_PARAM = re.compile(r"^\s*\.param\s+(.*)$", re.IGNORECASE)


def declared_params(text: str) -> list[str]:
    """Names of the top-level ``.param`` parameters of a netlist, in order of appearance."""
    names: list[str] = []
    depth = 0
    for line in text.splitlines():
        low = line.strip().lower()
        depth += low.startswith(".subckt") - low.startswith(".ends")
        match = _PARAM.match(line)
        if match and depth == 0:
            # "a=1 b={2*a}" -> a, b: every name directly followed by "=" outside braces
            body = re.sub(r"\{[^}]*\}", "", match.group(1))
            names += [n.lower() for n in re.findall(r"([A-Za-z_][\w.]*)\s*=", body)]
    return list(dict.fromkeys(names))
