"""A programmed chip's costly part kept across runs in HDF5: its arrays' IR-drop transfer
matrices (``AnalogBackend(spec, program_cache=PATH)``, ``cimspice simulate --program-cache``).

Programming a network computes, for every array, the transfer matrix ``T`` (rows, cols) in S
of its linear crossbar (:meth:`CrossbarSolver.transfer_matrix`, about 10 ms at 64x64: 80 % of
programming ResNet-18). ``T`` is a deterministic function of what the solver is handed, so
each is filed under a key hashing all of it: the conductances ``G`` the condensation reads
(their bytes, shape and dtype: the programmed conductances with their programming error,
or for a nonlinear cell its chord conductance at ``v_read``, which carries the cell model's
identity), the array's wire and sense resistances and the route with the version of its
arithmetic (:attr:`CrossbarSolver.transfer_signature`), and the NumPy, SciPy and BLAS
builds that did the arithmetic. A second run of the same network, spec and seed reads every
``T`` instead of solving it, and its results equal a run without the cache bit for bit; any
change to any of those inputs misses and solves afresh.

Layout (schema ``cimspice.program_cache``, version 1; arrays and plain attributes only)::

    /                          attrs: schema, schema_version, cimspice_version, created,
                                      modified, n_entries, key (how keys are made), units
    /transfer/<rows>x<cols>/   attrs: rows, cols
        key                    (n,) 64-character hex keys, fixed-length ASCII
        T                      (n, rows, cols) float64 transfer matrices, S (attr units)

Writes are atomic: new entries stream into a temporary file beside the cache; at
:meth:`ProgramCache.flush` (the end of ``AnalogBackend.calibrate``) the entries already in
the cache file are copied in and the temporary file is renamed over it, so an interrupted
run leaves the old file intact (and at worst a ``.NAME.*.tmp`` file beside it). Processes
sharing one file each merge what is on disk when they flush; one's entries written between
another's reading and renaming may be dropped (and are solved again next time), never mixed.
Entries are never evicted: delete the file to start afresh (about 33 kB per 64x64 array;
ResNet-18, 11,412 arrays, about 370 MB per programmed chip).
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import logging
import os
import secrets
from pathlib import Path

import h5py
import numpy as np

from .. import __version__
from .errors import SimError

__all__ = ["PROGRAM_CACHE_SCHEMA", "PROGRAM_CACHE_SCHEMA_VERSION", "ProgramCache"]

log = logging.getLogger(__name__)

PROGRAM_CACHE_SCHEMA = "cimspice.program_cache"
PROGRAM_CACHE_SCHEMA_VERSION = 1
_KEY_DOC = ("blake2b-256 (hex) of the solver's transfer_signature, the NumPy/SciPy/BLAS builds, and the "
            "conductance matrix handed to the solver (shape, dtype, bytes)")
_COPY_BLOCK = 256      # entries copied at once from the old file at a flush
_WRITE_BLOCK = 128     # new entries held in memory (4 MB at 64x64) before they are written
_GROW = 64             # entries a temporary dataset grows by, at least


def _builds() -> str:
    """The libraries whose arithmetic the transfer matrices carry: NumPy, SciPy and every BLAS
    loaded in the process (its version and the CPU kernels it chose), as text. (SciPy's
    LAPACK is loaded by then: :mod:`.crossbar.transfer` imports it.)"""
    import scipy
    from threadpoolctl import threadpool_info

    blas = sorted({f"{i.get('internal_api')} {i.get('version')} {i.get('architecture')}"
                   for i in threadpool_info() if i.get("user_api") == "blas"})
    return f"numpy {np.__version__}; scipy {scipy.__version__}; " + "; ".join(blas)


def _now() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")


class ProgramCache:
    """The transfer-matrix cache file ``path`` (module docstring). It is checked when made: a
    file that is not one raises :class:`SimError` naming it and why, before any work.
    ``hits`` and ``misses`` count :meth:`get`'s answers."""

    def __init__(self, path):
        self.path = Path(path)
        self.hits = self.misses = 0
        self._builds = _builds()
        self._file = self._index = self._data = None   # the cache file read: key -> (group, row), group -> T
        self._tmp = self._out = None                   # the temporary file of new entries
        self._buffer: dict[str, np.ndarray] = {}       # new entries not yet in the temporary file
        self._pending: dict[str, tuple[str, int]] = {}   # new entries in it: key -> (group, row)
        self._rows: dict[str, int] = {}                # group -> entries written to it
        self._check_writable()
        self._reader()

    # ----------------------------------------------------------------------- reading
    def key(self, signature: str, G: np.ndarray) -> str:
        """The entry key of the transfer matrix the solver of ``signature`` computes from ``G``."""
        G = np.ascontiguousarray(G)
        h = hashlib.blake2b(digest_size=32)
        for part in (signature, self._builds, f"{G.shape} {G.dtype.str}"):
            h.update(part.encode())
            h.update(b"\0")
        h.update(G.data)
        return h.hexdigest()

    def get(self, key: str) -> np.ndarray | None:
        """The transfer matrix (rows, cols) in S filed under ``key``, or None."""
        T = self._buffer.get(key)
        if T is None:
            at = self._pending.get(key)      # a new entry already in the temporary file
            if at is not None:
                T = self._out["transfer"][at[0]]["T"][at[1]]
            elif (at := self._reader().get(key)) is not None:
                T = self._entry(*at)
            else:
                self.misses += 1
                return None
        self.hits += 1
        return T

    def _entry(self, group: str, row: int) -> np.ndarray:
        try:
            return self._data[group][row]
        except (OSError, KeyError, ValueError) as error:    # a checksum that fails, a damaged chunk
            raise SimError(f"{self.path}: program cache entry /transfer/{group} #{row} cannot be read: "
                           f"{_reason(error)}") from None

    def _reader(self) -> dict:
        """The index of the cache file (opened and checked on first use; empty if none)."""
        if self._index is None:
            self._file, self._index, self._data = _open_checked(self.path) if self.path.exists() else (None, {}, {})
        return self._index

    def _close_reader(self) -> None:
        if self._file is not None:
            self._file.close()
        self._file = self._index = self._data = None

    # ----------------------------------------------------------------------- writing
    def put(self, key: str, T: np.ndarray) -> None:
        """File ``T`` (rows, cols) in S under ``key`` (in the file at the next :meth:`flush`)."""
        if key in self._buffer or key in self._pending or key in self._reader():
            return
        self._buffer[key] = np.asarray(T, np.float64)
        if len(self._buffer) >= _WRITE_BLOCK:
            self._spill()

    def _spill(self) -> None:
        """The buffered entries into the temporary file (made on first use), a block per shape
        (one HDF5 write per entry cost 0.6 ms of CPU, per block of 128 0.04 ms)."""
        if self._out is None:
            self._tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
            try:
                self._out = h5py.File(self._tmp, "w-")
            except OSError as error:
                raise SimError(f"{self.path}: program cache: cannot write {self._tmp.name} beside it: "
                               f"{_reason(error)}") from None
            self._out.create_group("transfer")
        shapes: dict[tuple, list[str]] = {}
        for key, T in self._buffer.items():
            shapes.setdefault(T.shape, []).append(key)
        for keys in shapes.values():
            name = _append(self._out, self._rows, keys, np.stack([self._buffer[k] for k in keys]))
            first = self._rows[name] - len(keys)
            self._pending.update((k, (name, first + i)) for i, k in enumerate(keys))
        self._buffer = {}

    def flush(self) -> None:
        """Write the entries put since the last flush, with those already in the cache file,
        to the file atomically (module docstring); nothing to write: only close it."""
        if not self._buffer and self._out is None:
            self._close_reader()
            return
        try:
            self._spill()
            out, tmp = self._out, self._tmp
            self._close_reader()
            created = self._merge(out)
            for name, n in self._rows.items():
                for field in ("key", "T"):
                    out["transfer"][name][field].resize(n, axis=0)
            out.attrs.update({"schema": PROGRAM_CACHE_SCHEMA,
                              "schema_version": np.int64(PROGRAM_CACHE_SCHEMA_VERSION),
                              "cimspice_version": __version__, "created": created, "modified": _now(),
                              "n_entries": np.int64(sum(self._rows.values())), "key": _KEY_DOC,
                              "units": "S (transfer matrices: column current per row-driver volt)"})
            out.close()
            with open(tmp, "rb+") as raw:
                os.fsync(raw.fileno())
            os.replace(tmp, self.path)
        except BaseException as error:
            self.discard()
            if isinstance(error, OSError):     # disk full, file system gone read-only, ...
                raise SimError(f"{self.path}: program cache cannot be written: {_reason(error)}") from None
            raise
        self._forget()
        log.info("program cache %s: %d hits, %d misses", self.path, self.hits, self.misses)

    def discard(self) -> None:
        """Drop the entries put since the last flush (the cache file is left as it is)."""
        if self._out is not None:
            self._out.close()
        if self._tmp is not None:
            self._tmp.unlink(missing_ok=True)
        self._forget()
        self._close_reader()

    def _forget(self) -> None:
        self._out = self._tmp = None
        self._buffer, self._pending, self._rows = {}, {}, {}

    def _merge(self, out: h5py.File) -> str:
        """Copy into ``out`` the entries of the cache file as it is now on disk (another
        process may have replaced it since it was read) that ``out`` lacks; returns the
        file's creation time (now for a new file)."""
        if not self.path.exists():
            return _now()
        old, _, _ = _open_checked(self.path)
        with old:
            for group in old["transfer"].values():
                keys, T = group["key"][()], group["T"]
                for start in range(0, len(keys), _COPY_BLOCK):
                    block = keys[start:start + _COPY_BLOCK]
                    new = np.array([k.decode() not in self._pending for k in block], dtype=bool)
                    if new.any():
                        _append(out, self._rows, [k.decode() for k in block[new]],
                                T[start:start + len(block)][new])
            return str(old.attrs.get("created", _now()))

    def _check_writable(self) -> None:
        if self.path.is_dir():
            raise SimError(f"{self.path}: program cache: is a folder, not a file")
        parent = self.path.parent
        if not parent.is_dir() or not os.access(parent, os.W_OK | os.X_OK):
            raise SimError(f"{self.path}: program cache: cannot write in {parent} (no such folder, or no permission)")


def _append(out: h5py.File, rows: dict, keys: list[str], T: np.ndarray) -> str:
    """Append ``keys`` and their matrices ``T`` (n, r, c) to the group of their shape in
    ``out`` (made on first use, grown geometrically; ``rows`` counts the entries written)."""
    r, c = T.shape[1:]
    name = f"{r}x{c}"
    if name not in out["transfer"]:
        group = out["transfer"].create_group(name)
        group.attrs.update({"rows": np.int64(r), "cols": np.int64(c)})
        group.create_dataset("key", shape=(0,), maxshape=(None,), dtype="S64", chunks=(256,), fletcher32=True)
        data = group.create_dataset("T", shape=(0, r, c), maxshape=(None, r, c), dtype="f8", chunks=(1, r, c),
                                    fletcher32=True)   # a checksum per entry: a damaged one is an error
        data.attrs["units"] = "S"
        rows[name] = 0
    group, n = out["transfer"][name], rows[name]
    if n + len(keys) > group["T"].shape[0]:
        size = max(2 * n, n + len(keys), _GROW)
        group["key"].resize(size, axis=0)
        group["T"].resize(size, axis=0)
    group["key"][n:n + len(keys)] = np.array(keys, dtype="S64")
    group["T"][n:n + len(keys)] = T
    rows[name] = n + len(keys)
    return name


def _reason(error: BaseException) -> str:
    """An h5py error's message on one line."""
    return " ".join(str(error).split()) or type(error).__name__


def _open_checked(path: Path) -> tuple[h5py.File, dict, dict]:
    """``(file open for reading, key -> (group, row), group -> its T dataset)`` of a program
    cache, checked: a file that is no HDF5, another schema, a newer version or a malformed
    group raises :class:`SimError` naming the file and the reason."""
    try:
        f = h5py.File(path, "r")
    except OSError as error:
        raise SimError(f"{path}: not a readable HDF5 file, so not a program cache ({_reason(error)})") from None
    try:
        schema = f.attrs.get("schema")
        schema = schema.decode() if isinstance(schema, bytes) else schema
        if schema != PROGRAM_CACHE_SCHEMA:
            raise SimError(f"{path}: not a program cache (schema {schema!r}, expected {PROGRAM_CACHE_SCHEMA!r}); "
                           "give --program-cache a file of its own")
        version = f.attrs.get("schema_version")
        version = None if version is None else int(version)
        if version is None or version > PROGRAM_CACHE_SCHEMA_VERSION:
            raise SimError(f"{path}: program cache schema_version {version}; this cimspice reads "
                           f"{PROGRAM_CACHE_SCHEMA_VERSION} (delete the file to start afresh)")
        return f, _index(path, f), {name: group["T"] for name, group in f["transfer"].items()}
    except SimError:
        f.close()
        raise
    except (OSError, KeyError, ValueError, TypeError) as error:
        f.close()
        raise SimError(f"{path}: program cache cannot be read: {_reason(error)}") from None


def _index(path: Path, f: h5py.File) -> dict:
    """key -> (group, row) of every entry, each group's datasets checked."""
    index: dict[str, tuple[str, int]] = {}
    if not isinstance(f.get("transfer"), h5py.Group):
        raise SimError(f"{path}: program cache has no /transfer group")
    for name, group in f["transfer"].items():
        keys, T = group.get("key"), group.get("T")
        r, c = (int(group.attrs.get(a, -1)) for a in ("rows", "cols"))
        if not (isinstance(keys, h5py.Dataset) and isinstance(T, h5py.Dataset) and keys.ndim == 1
                and T.dtype == np.float64 and T.shape == (keys.shape[0], r, c) and name == f"{r}x{c}"):
            raise SimError(f"{path}: /transfer/{name}: expected datasets key (n,) and T (n, rows, cols) float64 "
                           f"matching its rows and cols attributes")
        for row, key in enumerate(keys[()]):
            index[key.decode()] = (name, row)
    return index
