"""Process corners of a user netlist: the ``.lib FILE SECTION`` lines of its deck, swapped.

A corner run is one copy of the deck per corner, each ``.lib`` line of a corner library
pointing at that corner's section. The shipped cards (``netlists/ptm45.lib``, sections
``tt``, ``ff``, ``ss``) swap by themselves: corner ``ff`` reads section ``ff``. The user's own
model files are mapped in the sweep spec, file by file, corner by corner::

    corners: [tt, ss, ff]
    corner_libs:
      models.lib: {tt: typical, ss: slow, ff: fast}   # FILE (as the netlist names it): {corner: section}

A mapping for ``ptm45.lib`` overrides the automatic one (``{fs: ss}`` to run a corner name
the cards do not have). Only the deck's own ``.lib`` lines are swapped, not lines inside the
files it includes; every swapped deck passes the sandbox again.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

from ..paths import netlist_dir, netlist_path
from ..spice.sandbox import check_deck, includes
from .devices import CORNERS
from .errors import CircuitError


def lib_sections(path: Path) -> tuple[str, ...]:
    """The section names of a library file (its ``.lib NAME`` lines), lower-cased."""
    text = path.read_text(encoding="utf-8", errors="replace")
    return tuple(s.lower() for s in re.findall(r"^\s*\.lib\s+(\S+)\s*$", text, re.MULTILINE | re.IGNORECASE))


def corner_map(corner_libs, folder: Path) -> dict[Path, dict[str, str]]:
    """``library file -> {corner: section}`` of a spec's ``corner_libs`` (files resolved
    against the netlist's ``folder``, or shipped), plus the shipped cards' own mapping."""
    shipped = netlist_path("ptm45.lib").resolve()
    out = {shipped: {c: c for c in CORNERS}}
    if corner_libs is None:
        return out
    if not isinstance(corner_libs, Mapping) or not corner_libs:
        raise CircuitError("corner_libs: expected FILE: {corner: section}, e.g. {models.lib: {ss: slow, ff: fast}}")
    for name, sections in corner_libs.items():
        where = f"corner_libs.{name}"
        if not isinstance(name, str) or not isinstance(sections, Mapping) or not sections or not all(
                isinstance(k, str) and isinstance(v, str) and v.strip() for k, v in sections.items()):
            raise CircuitError(f"{where}: expected {{corner: section}}, e.g. {{ss: slow, ff: fast}}")
        path = Path(name) if Path(name).is_absolute() else folder / name
        if not path.is_file() and "/" not in name and (netlist_dir() / name).is_file():
            path = netlist_dir() / name  # a shipped file, as a deck names it
        if not path.is_file():
            raise CircuitError(f"{where}: no such file (looked in {folder} and the shipped netlists/)")
        path = path.resolve()
        have = lib_sections(path)
        for corner, section in sections.items():
            if section.strip().lower() not in have:
                raise CircuitError(f"{where}.{corner}: section {section!r} not in {path.name} (its sections: "
                                   f"{', '.join(have) or 'none'})")
        out[path] = {k.strip(): v.strip().lower() for k, v in sections.items()}
    return out


def swap_corner(text: str, folder: Path, corner: str, mapping: dict[Path, dict[str, str]],
                source: str) -> str:
    """The deck ``text`` (include paths absolute, as prepared for the engine) with each
    ``.lib FILE SECTION`` line of a mapped FILE reading ``corner``'s section, checked again
    by the sandbox; a :class:`CircuitError` when a corner has no section or no line swaps."""
    lines, swapped = text.splitlines(), set()
    for include in includes(text, folder):
        sections = mapping.get(include.target)
        if include.keyword != ".lib" or not include.section or sections is None:
            continue
        if corner not in sections:
            raise CircuitError(f"corners: {include.target.name} has no section for corner {corner!r} (give "
                               f"corner_libs: {{{include.target.name}: {{{corner}: SECTION}}}})")
        lines[include.line - 1] = f'.lib "{include.target}" {sections[corner]}'
        swapped.add(include.target)
    if not swapped:
        raise CircuitError(f"corners: {Path(source).name} has no .lib FILE SECTION line of a corner library to swap "
                           f"(the shipped ptm45.lib swaps itself; map your own model files in corner_libs)")
    unused = [p.name for p in mapping if p not in swapped and p != netlist_path("ptm45.lib").resolve()]
    if unused:
        raise CircuitError(f"corner_libs.{unused[0]}: the netlist has no .lib line of it to swap (only the "
                           f"deck's own lines are, not those of files it includes)")
    out = "\n".join(lines) + "\n"
    check_deck(out, folder, source=source)  # every file the swapped deck reads, checked again
    return out
