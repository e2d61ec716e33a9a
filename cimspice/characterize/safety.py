"""A user netlist's fingerprint: its text with every included file's hash, for the spec hash.

What a netlist may contain (an allow-list of cards, includes only from the netlist's folder
and the shipped ``netlists/``, applied recursively) is checked where it is read, by
:mod:`cimspice.spice.sandbox` through :class:`~cimspice.circuits.user.NetlistCircuit`.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from ..spice.sandbox import includes


def _visit(text: str, base: Path | None) -> tuple[list[str], dict[Path, str]]:
    """The netlist's lines with each include path replaced by the file's hash, and every
    file reached (directly or not) -> SHA-256 of its bytes ("missing" if unreadable)."""
    files: dict[Path, str] = {}

    def visit(body: str, folder: Path, has_title: bool) -> list[str]:
        lines = body.splitlines()
        for include in includes(body, folder, has_title=has_title):
            if include.target not in files:
                try:
                    data = include.target.read_bytes()
                except OSError:
                    files[include.target] = "missing"
                    continue
                files[include.target] = hashlib.sha256(data).hexdigest()
                visit(data.decode("utf-8", "replace"), include.target.parent, False)
            lines[include.line - 1] = f"{include.keyword} sha256:{files[include.target]} {include.section}".rstrip()
        return lines

    return visit(text, base or Path.cwd(), True), files


def included_files(text: str, base: Path | None = None) -> dict[Path, str]:
    """Every file a netlist includes, directly or not (model cards, subcircuits) -> the
    SHA-256 of its bytes, or ``"missing"`` for one that cannot be read."""
    return _visit(text, base)[1]


def netlist_fingerprint(text: str, base: Path | None = None) -> str:
    """SHA-256 of a netlist and every file it includes, directly or not.

    Include paths in ``text`` are replaced by the hash of the file's bytes, and the hashes
    of all files reached are added, so the fingerprint changes when a model card is edited
    but not when a checkout moves.
    """
    top, files = _visit(text, base)
    return hashlib.sha256("\n".join(top + sorted(files.values())).encode()).hexdigest()
