"""A user netlist is data: what it may contain, which files it may pull in, and its fingerprint.

ngspice can run shell commands from a netlist (``.control`` blocks with ``shell``, ``.exec``)
and reads any file an ``.include`` or ``.lib`` names. A sweep spec names a netlist that may
come from anyone, so before ngspice sees it:

* control sections (``.control``/``.endc``/``.exec``) and the words ``shell``, ``exec`` and
  ``system`` are refused anywhere outside comments;
* ``.include``/``.lib`` files must lie in the netlist's own folder (or below it) or in the
  shipped ``netlists/`` folder, after symbolic links are resolved; included files are checked
  the same way, recursively (shipped files are trusted as they are).
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from ..paths import netlist_dir
from .errors import SpecError

_INCLUDE = re.compile(r"^\s*\.(include|inc|lib)\s+(\"[^\"]+\"|'[^']+'|\S+)\s*(\S*)", re.IGNORECASE)
_CONTROL = re.compile(r"^\s*\.(control|endc|exec)\b", re.IGNORECASE)
_WORDS = re.compile(r"\b(shell|exec|system)\b", re.IGNORECASE)
# ngspice's in-line comments: '$ ' or ';' to the end of the line (a bare '$' can be part of a name)
_INLINE_COMMENT = re.compile(r"(\s\$\s|;).*$")
_MAX_DEPTH = 8  # include nesting a user netlist may have


def _is_within(path: Path, root: Path) -> bool:
    try:
        path.relative_to(root)
        return True
    except ValueError:
        return False


def _includes(text: str, base: Path, *, first_is_title: bool):
    """``(line number, name as written, resolved path)`` of every file a netlist pulls in."""
    lines = text.splitlines()
    for number, line in enumerate(lines, start=1):
        if first_is_title and number == 1:
            continue
        match = _INCLUDE.match(line)
        if not match:
            continue
        kind, name, section = match.groups()
        if kind.lower() == "lib" and not section:
            continue  # '.lib name' alone opens a section inside a library file: not an include
        target = Path(name.strip("\"'")).expanduser()
        if not target.is_absolute():
            target = base / target
        yield number, name.strip("\"'"), target.resolve()


def check_netlist(path: str | Path) -> None:
    """Refuse a netlist file that could run commands or read files outside the allowed folders.

    Raises :class:`SpecError` naming the file, the line and the reason.
    """
    path = Path(path)
    try:
        root = path.resolve().parent
    except OSError as error:
        raise SpecError(f"{path}: cannot resolve the netlist path: {error}") from None
    allowed = (root, netlist_dir().resolve())
    _check_file(path, allowed, first_is_title=True, depth=0)


def _check_file(path: Path, allowed: tuple[Path, ...], *, first_is_title: bool, depth: int) -> None:
    if depth > _MAX_DEPTH:
        raise SpecError(f"{path}: includes nested more than {_MAX_DEPTH} deep")
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpecError(f"{path}: no such netlist file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise SpecError(f"{path}: cannot read netlist: {error}") from None
    for number, line in enumerate(text.splitlines(), start=1):
        if (first_is_title and number == 1) or line.lstrip().startswith("*"):
            continue
        if "\0" in line:
            raise SpecError(f"{path}: line {number}: NUL byte in a netlist")
        control = _CONTROL.match(line)
        if control:
            raise SpecError(f"{path}: line {number}: .{control.group(1).lower()} blocks are not allowed in a "
                            f"netlist (a netlist is data; the sweep spec says what to run)")
        word = _WORDS.search(_INLINE_COMMENT.sub("", line))
        if word:
            raise SpecError(f"{path}: line {number}: {word.group(1)!r} is not allowed in a netlist")
    shipped = netlist_dir().resolve()
    for number, name, target in _includes(text, path.resolve().parent, first_is_title=first_is_title):
        if not any(_is_within(target, root) for root in allowed):
            shown = name if name == str(target) else f"{name} (= {target})"
            raise SpecError(f"{path}: line {number}: include {shown} lies outside the netlist's folder "
                            f"{allowed[0]} and the shipped {shipped}")
        if not target.is_file():
            raise SpecError(f"{path}: line {number}: included file {target} not found")
        if not _is_within(target, shipped):
            _check_file(target, allowed, first_is_title=False, depth=depth + 1)


def netlist_fingerprint(text: str, base: Path | None = None) -> str:
    """SHA-256 of a netlist and every file it includes, directly or not.

    Include paths in ``text`` are replaced by the hash of the file's bytes, and the hashes
    of all files reached are added, so the fingerprint changes when a model card is edited
    but not when a checkout moves.
    """
    files: dict[Path, str] = {}

    def visit(body: str, folder: Path, first_is_title: bool) -> list[str]:
        lines = body.splitlines()
        for number, _, target in _includes(body, folder, first_is_title=first_is_title):
            if target not in files:
                try:
                    data = target.read_bytes()
                except OSError:
                    files[target] = "missing"
                    continue
                files[target] = hashlib.sha256(data).hexdigest()
                visit(data.decode("utf-8", "replace"), target.parent, False)
            match = _INCLUDE.match(lines[number - 1])
            lines[number - 1] = f".{match.group(1).lower()} sha256:{files[target]} {match.group(3)}".rstrip()
        return lines

    top = visit(text, base or Path.cwd(), True)
    return hashlib.sha256("\n".join(top + sorted(files.values())).encode()).hexdigest()
