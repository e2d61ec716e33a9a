"""The append-only journal beside a sweep file: where results land the moment they arrive.

An HDF5 file killed in the middle of a write can be left unreadable (measured: 17 of 40
h5py files SIGKILLed while writing chunks with a flush after each were unreadable, "bad heap
index" in the string heap). So a running sweep never writes its HDF5 file in place: each
chunk of results is appended here as one self-checking record, and the records are folded
into a copy of the HDF5 file that then replaces it atomically (see :mod:`.store`).

Layout: ``MAGIC``, a JSON header (``sweep_id``), then records::

    b"R" | uint32 payload length | uint32 CRC-32 of payload | payload
    payload = uint32 JSON length | JSON {n, outputs, messages, ngspice}
              | index int64[n] | status int8[n] | one float64[n] per output

A process killed mid-append leaves at most one torn record, always the last: reading stops
at the first record whose length or CRC does not check out, and the file is cut there.
Replaying a record twice writes the same values to the same points, so folding is idempotent.
No pickle: JSON and raw little-endian arrays only.
"""

from __future__ import annotations

import fcntl
import json
import os
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import SweepFileError

MAGIC = b"CIMSPICE-SWEEP-JOURNAL-1\n"
_HEAD = struct.Struct("<cII")
_LEN = struct.Struct("<I")


@dataclass
class Record:
    """Results of some points: ``index`` (sorted), ``status`` codes, ``outputs`` name ->
    values, ``messages`` position-in-record -> text (empty messages left out)."""

    index: np.ndarray
    status: np.ndarray
    outputs: dict[str, np.ndarray]
    messages: dict[int, str]
    ngspice_version: str = ""

    def encode(self) -> bytes:
        n = len(self.index)
        header = json.dumps({"n": n, "outputs": list(self.outputs), "ngspice": self.ngspice_version,
                             "messages": {str(k): v for k, v in self.messages.items()}}).encode()
        parts = [_LEN.pack(len(header)), header, np.asarray(self.index, "<i8").tobytes(),
                 np.asarray(self.status, "<i1").tobytes()]
        parts += [np.asarray(v, "<f8").tobytes() for v in self.outputs.values()]
        payload = b"".join(parts)
        return _HEAD.pack(b"R", len(payload), zlib.crc32(payload)) + payload

    @classmethod
    def decode(cls, payload: bytes) -> Record:
        (hlen,) = _LEN.unpack_from(payload)
        header = json.loads(payload[4:4 + hlen])
        n, at = header["n"], 4 + hlen
        index = np.frombuffer(payload, "<i8", n, at).astype(np.int64)
        at += 8 * n
        status = np.frombuffer(payload, "<i1", n, at).astype(np.int8)
        at += n
        outputs = {}
        for name in header["outputs"]:
            outputs[name] = np.frombuffer(payload, "<f8", n, at).astype(np.float64)
            at += 8 * n
        messages = {int(k): v for k, v in header["messages"].items()}
        return cls(index, status, outputs, messages, header.get("ngspice", ""))


class Journal:
    """The journal file of one sweep file, locked for the life of this object.

    The lock (``flock``) keeps two ``cimspice sweep`` processes from writing the same output;
    the kernel drops it when the process dies, however it dies.
    """

    def __init__(self, path: str | Path, owner: str | Path):
        self.path = Path(path)
        try:
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o644)
        except OSError as error:
            raise SweepFileError(f"{owner}: cannot write in {self.path.parent}: {error.strerror or error}") from None
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(self._fd)
            raise SweepFileError(f"{owner}: another cimspice sweep is writing it (lock on {self.path.name})") from None
        self.sweep_id = ""

    def read(self) -> list[Record] | None:
        """Valid records, or None when the file holds no journal header (new or empty).

        Cuts a torn last record off the file.
        """
        with open(self.path, "rb") as fh:
            data = fh.read()
        if len(data) < len(MAGIC) + 4 or not data.startswith(MAGIC):
            return None
        at = len(MAGIC)
        (hlen,) = _LEN.unpack_from(data, at)
        try:
            self.sweep_id = json.loads(data[at + 4:at + 4 + hlen])["sweep_id"]
        except (ValueError, KeyError):
            return None
        at += 4 + hlen
        records = []
        while at + _HEAD.size <= len(data):
            tag, length, crc = _HEAD.unpack_from(data, at)
            payload = data[at + _HEAD.size:at + _HEAD.size + length]
            if tag != b"R" or len(payload) != length or zlib.crc32(payload) != crc:
                break
            records.append(Record.decode(payload))
            at += _HEAD.size + length
        if at != len(data):
            os.ftruncate(self._fd, at)
        return records

    def start(self, sweep_id: str) -> None:
        """Empty the journal and write the header of sweep ``sweep_id``."""
        os.ftruncate(self._fd, 0)
        header = json.dumps({"sweep_id": sweep_id}).encode()
        os.write(self._fd, MAGIC + _LEN.pack(len(header)) + header)
        self.sweep_id = sweep_id

    def append(self, record: Record) -> None:
        # One write call per record: a kill leaves it whole or torn, never interleaved.
        data = record.encode()
        written = os.write(self._fd, data)
        if written != len(data):
            raise SweepFileError(f"{self.path}: short write to the journal (disk full?)")

    def size(self) -> int:
        return os.fstat(self._fd).st_size

    def close(self, *, remove: bool = False) -> None:
        if self._fd is None:
            return
        if remove:
            self.path.unlink(missing_ok=True)
        os.close(self._fd)  # releases the lock
        self._fd = None
