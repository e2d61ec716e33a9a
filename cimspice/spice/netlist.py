"""Reading a netlist for the engine: files, includes, and what a netlist may not contain."""

from __future__ import annotations

import re
from pathlib import Path

from .errors import NetlistError
from .sandbox import check_deck, includes


def prepare_netlist(netlist: str | Path, *, trusted: bool = False) -> tuple[str, str]:
    """Return ``(text, origin)`` ready for ngspice.

    ``netlist`` is a :class:`~pathlib.Path`, a path string (no newline), or netlist text
    (containing a newline). Relative ``.include``/``.lib`` paths in a file are resolved
    against the file's folder, as ngspice would when run on that file; every included file
    must exist. Unless ``trusted``, the deck and every file it includes must pass
    :func:`~cimspice.spice.sandbox.check_deck` (no commands, no files from outside the
    netlist's folder and ``netlists/``): a netlist is data.
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

    found = list(includes(text, base)) if trusted else check_deck(text, base, source=origin)
    lines = text.splitlines()
    if not any(ln.strip() and not ln.lstrip().startswith("*") for ln in lines[1:]):
        raise NetlistError("netlist has a title line but no elements", source=origin)
    out = list(lines)
    for include in found:
        if not include.target.is_file():
            raise NetlistError(f"line {include.line}: included file {include.target} not found", source=origin)
        out[include.line - 1] = f'{include.keyword} "{include.target}" {include.section}'.rstrip()
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
