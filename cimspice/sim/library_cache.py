"""Surrogate libraries as the simulator reads them: each file opened once per process, as a
:class:`~cimspice.surrogate.LazyLibrary` (a table checked and parsed when first read), its
block records beside it; a design sweep's workers start with the tables their parent read.
"""

from __future__ import annotations

import copy
import os
from collections.abc import MutableMapping

from ..surrogate.lazy import table_inputs
from .corners import at_operating_point
from .errors import SimError
from .spec import SystemSpec

__all__ = ["load_spec_blocks", "load_spec_library", "read_libraries", "read_spec_tables", "seed_library_cache"]


#: (what, path, inode, size, mtime) -> contents: a library file opened once per process, as a
#: :class:`~cimspice.surrogate.LazyLibrary` ("load_library": each table checked and parsed
#: when first read, then kept) and its block records ("load_blocks"). Reading and checking
#: every table of the shipped file took 3.5 s (46,000 HDF5 attributes), which every backend
#: of a design sweep, every seed and every study point paid again; a spec reads a few dozen
#: of its 276 tables. Keyed by the file's identity and modification, so a rebuilt file is
#: read afresh.
_LIBRARY_CACHE: dict[tuple, object] = {}


def _cached(what: str, ident: tuple | None, read):
    """``_LIBRARY_CACHE[(what, *ident)]``, ``read()`` into it first if absent (not kept
    when the file's identity is unknown)."""
    key = (what, *ident) if ident else None
    contents = _LIBRARY_CACHE.get(key) if key else None
    if contents is None:
        contents = read()
        if key:
            if len(_LIBRARY_CACHE) >= 8:
                _LIBRARY_CACHE.clear()
            _LIBRARY_CACHE[key] = contents
    return contents


def _read_spec_library(spec: SystemSpec, what: str):
    """``what`` ("load_library" or "load_blocks") of ``spec.library``, a problem named as the
    spec's ``library`` field (empty without a library). The library is a fresh
    :class:`~cimspice.surrogate.LibraryView` of the cached lazy library each call (keys a
    caller sets or deletes stay its own; the surrogates are shared, they are never
    modified); block records are copied."""
    if not spec.library:
        return {}
    from .. import surrogate

    try:
        st = os.stat(spec.library)
        ident = (os.path.realpath(spec.library), st.st_ino, st.st_size, st.st_mtime_ns)
    except OSError:   # missing or unreadable: the loader's own message names the problem
        ident = None
    try:
        library = _cached("load_library", ident, lambda: surrogate.LazyLibrary(spec.library))
        if what == "load_library":
            return surrogate.LibraryView(library)
        return copy.deepcopy(_cached(what, ident, library.blocks))
    except surrogate.SurrogateError as error:
        raise SimError(f"{spec.source}: library: {error}") from None


def read_libraries(specs) -> dict[tuple, object]:
    """The library files ``specs`` name, opened (once) into this process's cache with every
    table each spec reads parsed (:func:`read_spec_tables`), as entries
    :func:`seed_library_cache` puts into another process's: a worker pool's processes start
    with the listing, block records and tables instead of reading them again (a lazy
    library pickles the tables it has parsed; in a spawned worker the 24 tables of
    ``baseline`` at 4 bits took 0.5 s, measured on a loaded machine). A library that cannot
    be read is left for the simulation of its points to refuse."""
    blocks_read = set()
    for spec in specs:
        read_spec_tables(spec)
        if spec.library in blocks_read:   # cached already: a copy (deep, 1 ms) per spec was 15 ms of 16
            continue
        blocks_read.add(spec.library)
        try:
            load_spec_blocks(spec)
        except SimError:
            pass
    paths = {os.path.realpath(s.library) for s in specs if s.library}
    return {key: value for key, value in _LIBRARY_CACHE.items() if key[1] in paths}


def read_spec_tables(spec: SystemSpec) -> None:
    """Parse into the cached library of ``spec`` every table the spec reads: each key of
    :meth:`~.spec.SystemSpec.library_keys` (the tables of its library blocks included) under
    the name :func:`.corners.at_operating_point` reads it by at the spec's corner and
    temperature, and the tables' input names when the spec gives an operating point (what
    :class:`AnalogBackend` checks it against). A library, table or corner that cannot be
    read is left for the simulation to refuse, naming the spec field."""
    from ..surrogate.errors import SurrogateError

    try:
        library = load_spec_library(spec)
        view, _ = at_operating_point(library, spec)   # parses the tables at a corner or temperature
        if spec.operating_point:
            table_inputs(library)
    except (SimError, SurrogateError):
        return
    for _, key in spec.library_keys():
        if key in view:
            try:
                view[key]              # parsed now, and kept by the lazy library
            except SurrogateError:     # refused again when a simulation reads it
                pass


def seed_library_cache(entries: dict[tuple, object]) -> None:
    """Put entries of :func:`read_libraries` into this process's library cache (a pool
    worker's initializer; the keys name each file's identity and modification time, so a
    file changed since is read afresh)."""
    _LIBRARY_CACHE.update(entries)


def load_spec_blocks(spec: SystemSpec) -> dict:
    """The block records of ``spec.library`` (empty without a library)."""
    return _read_spec_library(spec, "load_blocks")


def load_spec_library(spec: SystemSpec) -> MutableMapping:
    """The surrogate library ``spec.library`` names, name -> surrogate (empty without one),
    each table read from the file when first looked up (:func:`_read_spec_library`)."""
    return _read_spec_library(spec, "load_library")
