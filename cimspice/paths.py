"""Where the shipped netlists and model cards are, installed or in a source tree."""

from __future__ import annotations

from pathlib import Path

from . import CimspiceError

_PACKAGE = Path(__file__).resolve().parent


def netlist_dir() -> Path:
    """Folder holding the shipped ``.lib``/``.cir`` files.

    A wheel carries them as ``cimspice/netlists``; a source checkout (editable install or
    tests run from the repository) has them at the repository root.
    """
    for candidate in (_PACKAGE / "netlists", _PACKAGE.parent / "netlists"):
        if candidate.is_dir():
            return candidate
    raise CimspiceError(f"netlists folder not found next to {_PACKAGE}: the installation is incomplete")


def netlist_path(name: str) -> Path:
    """Path of one shipped netlist or model file, e.g. ``netlist_path("reram.lib")``."""
    path = netlist_dir() / name
    if not path.is_file():
        raise CimspiceError(f"{path}: no such shipped netlist")
    return path


#: the word a system spec's ``library:`` uses for the shipped library
DEFAULT_LIBRARY_NAME = "default"


def default_library_path() -> Path:
    """The component library shipped with cimspice (``cimspice library build``'s output,
    docs/library.md); a spec names it ``library: default``."""
    return _PACKAGE / "library" / "default.h5"
