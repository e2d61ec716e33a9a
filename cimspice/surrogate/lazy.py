"""A surrogate library read table by table: :class:`LazyLibrary`, and :class:`LibraryView`.

:func:`~.library.load_library` parses and checks every table of a file (the shipped
library: 276 tables, ~46,000 HDF5 attributes, ~3.5 s). A system spec reads a few dozen of
them, so the simulator opens its library as a :class:`LazyLibrary`: the file's header is
checked once, and each table is checked and parsed when it is first read.

What is checked when:

- at open: the file (missing, not HDF5), ``schema`` and ``schema_version`` as
  :func:`~.library.load_library` checks them, the plain top-level attributes, the link
  type of every top-level member and of every member of ``/surrogates`` (a soft or
  external link is refused before anything is read; only hard links are followed), and
  that ``/surrogates`` is a group. Its listing is the mapping's keys.
- at a table's first read: its whole group, as :func:`~._hdf5.check_plain_tree` checks
  the whole file for :func:`~.library.load_library` (opaque/object/string/compound
  datasets, opaque attributes, soft/external links refused), then
  :meth:`Surrogate.from_hdf5 <.core.Surrogate.from_hdf5>`. A bad table is refused only
  when it is read; the others stay readable.
- never: groups other than ``/surrogates`` and ``/blocks`` (only their link type), and
  tables nobody reads.

Every refusal is one :class:`~.errors.SurrogateError` line naming the file and the
table, as :func:`~.library.load_library` words it. The file is opened again for each
first read (0.4 ms) and closed after it, so nothing is held open across processes; a
file replaced since the listing was read is refused rather than mixed with it.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Mapping, MutableMapping
from pathlib import Path
from typing import Any

import h5py

from ._hdf5 import _where, check_plain_tree, open_hdf5, plain_attr, read_attr
from .core import Surrogate
from .errors import SurrogateError, one_line
from .library import check_schema, read_blocks

__all__ = ["LazyLibrary", "LibraryView", "input_names", "table_inputs"]

#: what h5py and HDF5 raise on a damaged file (as library.load_library catches)
_UNREADABLE = (OSError, KeyError, ValueError, TypeError, RuntimeError, IndexError)


def _identity(st: os.stat_result) -> tuple[int, int, int, int]:
    """(device, inode, size in bytes, mtime in ns) of an open or named file."""
    return st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns


def _opened_identity(fh: h5py.File, path: Path) -> tuple[int, int, int, int]:
    """The identity of the file ``fh`` really opened (its descriptor; by name if the driver
    gives none), so a file renamed over ``path`` in between is not mistaken for it."""
    try:
        return _identity(os.fstat(fh.id.get_vfd_handle()))
    except (OSError, ValueError, TypeError, AttributeError):   # pragma: no cover - non-POSIX drivers
        return _identity(os.stat(path))


def _check_links(group: h5py.Group) -> None:
    """Hard links only among ``group``'s members (their contents are not read)."""
    for key in group:
        link = group.get(key, getlink=True)
        if not isinstance(link, h5py.HardLink):
            raise SurrogateError(f"{_where(group, key)}: {type(link).__name__} refused "
                                 "(only plain groups and datasets are allowed)")


class LazyLibrary(Mapping):
    """A library file as a read-only mapping name -> :class:`~.core.Surrogate`, each table
    checked and parsed when first read, then kept.

    Example::

        from cimspice.surrogate import LazyLibrary
        library = LazyLibrary("library.h5")          # header and listing only
        i_cell = library["cell_1t1r.i_cell"]          # this table checked and parsed now

    ``in``, ``len``, iterating names and ``keys()`` read nothing; ``values()``,
    ``items()``, ``dict(library)`` and ``==`` parse every table, as
    :func:`~.library.load_library` does. Picklable: a copy carries the path, the
    listing, the file's identity and the tables already parsed, and reads the others
    from the same file (refused if it has changed since). See the module docstring for
    what is checked at open and at each read.
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        fh = open_hdf5(self.path, "surrogate library")
        try:
            with fh:
                self._identity = _opened_identity(fh, self.path)
                check_schema(fh)
                for key, value in fh.attrs.items():
                    plain_attr(value, _where(fh, key))
                _check_links(fh)
                group = fh.get("surrogates")
                if not isinstance(group, h5py.Group):
                    raise SurrogateError("group /surrogates is missing")
                _check_links(group)
                names = list(group)
        except SurrogateError as exc:
            raise SurrogateError(f"{self.path}: {one_line(exc)}") from None
        except _UNREADABLE as exc:
            raise SurrogateError(f"{self.path}: corrupt or unreadable library: {one_line(exc)}") from None
        self._names: dict[str, None] = dict.fromkeys(names)   # the file's order, O(1) lookup
        self._parsed: dict[str, Surrogate] = {}
        self._inputs: dict[str, list[str]] | None = None
        self._lock = threading.Lock()

    # -------------------------------------------------------------- Mapping
    def __getitem__(self, name: str) -> Surrogate:
        s = self._parsed.get(name)
        if s is not None:
            return s
        if name not in self._names:
            raise KeyError(name)
        with self._lock:                  # row-tile threads share a backend's library
            if name not in self._parsed:
                self._parsed[name] = self._read(lambda fh: self._parse(fh, name), f"/surrogates/{name}")
            return self._parsed[name]

    def __contains__(self, name: object) -> bool:
        return name in self._names

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)

    def __repr__(self) -> str:
        return f"LazyLibrary({str(self.path)!r}: {len(self._names)} tables, {len(self._parsed)} read)"

    # ------------------------------------------------------------- pickling
    def __getstate__(self) -> dict[str, Any]:
        return {"path": self.path, "identity": self._identity, "names": list(self._names),
                "parsed": dict(self._parsed), "inputs": self._inputs}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.path, self._identity = state["path"], tuple(state["identity"])
        self._names = dict.fromkeys(state["names"])
        self._parsed, self._inputs = dict(state["parsed"]), state["inputs"]
        self._lock = threading.Lock()

    # ------------------------------------------------------------- reading
    @property
    def parsed(self) -> tuple[str, ...]:
        """Names of the tables parsed so far, in the order they were read."""
        return tuple(self._parsed)

    def _read(self, read, what: str):
        """``read(fh)`` on the file opened again (the same file as at open, else refused);
        a problem as one line naming the file and ``what``."""
        try:
            fh = open_hdf5(self.path, "surrogate library")
        except SurrogateError as exc:
            raise SurrogateError(f"{one_line(exc)} (reading {what})") from None
        try:
            with fh:
                if _opened_identity(fh, self.path) != self._identity:
                    raise SurrogateError(f"{what}: the file changed since its listing was read; "
                                         "open the library again")
                return read(fh)
        except SurrogateError as exc:
            raise SurrogateError(f"{self.path}: {one_line(exc)}") from None
        except _UNREADABLE as exc:
            raise SurrogateError(f"{self.path}: {what}: corrupt or unreadable library: {one_line(exc)}") from None

    @staticmethod
    def _parse(fh: h5py.File, name: str) -> Surrogate:
        group = fh["surrogates"][name]    # a hard link: checked at open, same file since
        if not isinstance(group, h5py.Group):
            raise SurrogateError(f"/surrogates/{name}: a {type(group).__name__}, not a surrogate group")
        check_plain_tree(group)
        s = Surrogate.from_hdf5(group)
        if s.name != name:
            raise SurrogateError(f"/surrogates/{name}: name attribute {s.name!r} differs from the group name")
        return s

    def input_names(self) -> dict[str, list[str]]:
        """Every table's input names (its ``input_names`` attribute, the one attribute read
        of a table not parsed; 35-70 ms for the shipped file), name -> list, cached."""
        if self._inputs is None:
            def read(fh):
                group = fh["surrogates"]
                return {name: list(self._parsed[name].inputs) if name in self._parsed
                        else read_attr(group[name], "input_names", "str_list") for name in self._names}

            self._inputs = self._read(read, "/surrogates/*/input_names")
        return self._inputs

    def blocks(self) -> dict[str, dict[str, Any]]:
        """The block records (``/blocks/<name>`` attributes) as
        :func:`~.library.load_blocks` returns them; ``/blocks`` checked as a table is."""
        def read(fh):
            if isinstance(fh.get("blocks"), h5py.Group):
                check_plain_tree(fh["blocks"])
            return read_blocks(fh)

        return self._read(read, "/blocks")


def input_names(library: Mapping) -> dict[str, list[str]]:
    """Name -> input names of every table of ``library``; the tables of a
    :class:`LazyLibrary` (also under a :class:`LibraryView`) not read yet give theirs
    without being parsed, those of another mapping are looked up."""
    if isinstance(library, (LazyLibrary, LibraryView)):
        return library.input_names()
    return {name: list(getattr(s, "inputs", ())) for name, s in library.items()}


def table_inputs(library: Mapping) -> set[str]:
    """Every input name of every table of ``library`` (:func:`input_names`)."""
    return {n for names in input_names(library).values() for n in names}


class LibraryView(MutableMapping):
    """A writable view of a library mapping: keys set or deleted here stay here, the
    ``base`` is never changed and its tables are read only when looked up (as
    ``dict(base)`` would copy it, without parsing a :class:`LazyLibrary`)."""

    def __init__(self, base: Mapping, own: Mapping | None = None):
        self.base, self.own, self.gone = base, dict(own or {}), set()

    def __getitem__(self, key):
        if key in self.own:
            return self.own[key]
        if key in self.gone:
            raise KeyError(key)
        return self.base[key]

    def __setitem__(self, key, value) -> None:
        self.own[key] = value
        self.gone.discard(key)

    def __delitem__(self, key) -> None:
        if key not in self:
            raise KeyError(key)
        self.own.pop(key, None)
        if key in self.base:
            self.gone.add(key)

    def __contains__(self, key) -> bool:
        return key in self.own or (key not in self.gone and key in self.base)

    def __iter__(self) -> Iterator:
        yield from (k for k in self.base if k not in self.gone)   # a key set here keeps its place
        yield from (k for k in self.own if k not in self.base)

    def input_names(self) -> dict[str, list[str]]:
        """As :func:`input_names` of the mapping this view is."""
        names = {k: v for k, v in input_names(self.base).items() if k not in self.gone}
        names.update({k: list(getattr(s, "inputs", ())) for k, s in self.own.items()})
        return names

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def __repr__(self) -> str:
        return f"LibraryView({self.base!r}, {len(self.own)} set, {len(self.gone)} deleted)"
