"""A bit-level associative processor (AP): words in CAM rows, arithmetic by passes.

Every operation acts on all rows at once and is two kinds of pass over the stored bits:

- ``compare(cols, key)``: the key is driven on the search lines of the columns ``cols``
  (the others masked); a row whose bits there equal the key keeps its match line and is
  *tagged*;
- ``write(cols, values)``: the tagged rows' bits in ``cols`` are written.

An in-place operation ``B <- f(A, B, carry)`` bit-serially (least significant bit first)
is a truth table: for each input pattern whose output differs from it, one compare (key =
the pattern on the columns A_i, B_i, C) and one write (the new B_i, C) on the tagged rows.
The passes must be ordered so that no row rewritten by one pass matches a later pass's key;
:func:`pass_schedule` finds that order. Addition and subtraction need four patterns per bit:
``8 m`` passes for ``m``-bit words (the known cost of AP addition, e.g. L. Yavits, A. Morad,
R. Ginosar, IEEE Trans. Computers 64(2), 2015).

:class:`AssociativeProcessor` executes them on a bit matrix and counts what the energy model
needs: per compare the number of rows that matched and that did not (each row's match line
is precharged for every compare and discharged on a mismatch), per write the number of
columns driven and of cells that flipped.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np

__all__ = ["AssociativeProcessor", "PassCounts", "pass_schedule"]


def _add(a, b, c):
    s = a + b + c
    return s & 1, s >> 1


def _sub(a, b, c):  # B <- B - A with borrow c
    d = b - a - c
    return d & 1, int(d < 0)


OPS = {"add": _add, "sub": _sub}


def pass_schedule(op) -> list[tuple[tuple[int, int, int], tuple[int, int]]]:
    """The (key (a, b, c), new (b, c)) passes of the in-place bit operation ``op``, ordered
    so that a row rewritten by a pass never matches a later pass's key."""
    f = OPS[op] if isinstance(op, str) else op
    entries = {}
    for a, b, c in itertools.product((0, 1), repeat=3):
        nb, nc = f(a, b, c)
        if (nb, nc) != (b, c):
            entries[(a, b, c)] = (nb, nc)
    # a pass P that rewrites rows into pattern Q (another pass's key) must run after Q, or Q
    # would process those rows a second time
    order, left = [], dict(entries)
    while left:
        ready = [k for k, (nb, nc) in left.items() if (k[0], nb, nc) == k or (k[0], nb, nc) not in left]
        if not ready:
            raise ValueError(f"no valid pass order for {op}")
        k = sorted(ready)[0]
        order.append((k, left.pop(k)))
    return order


@dataclass
class PassCounts:
    """What the passes did: compares and writes, rows tagged and not, columns written,
    cells flipped (sums over every pass)."""

    compares: int = 0
    writes: int = 0
    matched_rows: int = 0
    mismatched_rows: int = 0
    written_columns: int = 0
    flips: int = 0
    per_op: dict = field(default_factory=dict)


class AssociativeProcessor:
    """``rows`` words of ``bits`` bits; fields are column ranges, LSB first."""

    def __init__(self, rows: int, bits: int):
        self.data = np.zeros((int(rows), int(bits)), dtype=np.uint8)
        self.counts = PassCounts()

    # ------------------------------------------------------------------ primitives
    def compare(self, cols, key) -> np.ndarray:
        sub = self.data[:, cols]
        tag = np.all(sub == np.asarray(key, np.uint8), axis=1)
        c = self.counts
        c.compares += 1
        n = int(tag.sum())
        c.matched_rows += n
        c.mismatched_rows += self.data.shape[0] - n
        return tag

    def write(self, cols, values, tag) -> None:
        values = np.asarray(values, np.uint8)
        block = self.data[np.ix_(tag, cols)]
        c = self.counts
        c.writes += 1
        c.written_columns += len(cols)
        c.flips += int(np.count_nonzero(block != values))
        self.data[np.ix_(tag, cols)] = values

    # ------------------------------------------------------------------ words
    def store(self, start: int, width: int, values) -> None:
        """Write integers ``values`` (rows,) as ``width``-bit two's complement at ``start``
        (loading data is not counted: it is the input)."""
        v = np.asarray(values, np.int64) & ((1 << width) - 1)
        self.data[:, start:start + width] = ((v[:, None] >> np.arange(width)) & 1).astype(np.uint8)

    def load(self, start: int, width: int, signed: bool = True) -> np.ndarray:
        bits = self.data[:, start:start + width].astype(np.int64)
        v = (bits << np.arange(width)).sum(axis=1)
        if signed:
            v = np.where(v >= 1 << (width - 1), v - (1 << width), v)
        return v

    def inplace(self, op: str, a: int, b: int, width: int, carry: int, a_width: int | None = None) -> None:
        """``B <- B op A`` over ``width`` bits (A zero-extended beyond ``a_width`` bits: the
        columns past it are not compared), with ``carry`` a scratch column cleared first."""
        a_width = width if a_width is None else a_width
        all_rows = np.ones(self.data.shape[0], bool)
        self.write([carry], [0], all_rows)
        schedule = pass_schedule(op)
        for i in range(width):
            for (ka, kb, kc), (nb, nc) in schedule:
                if i >= a_width:  # A_i = 0 beyond its width: only the a = 0 patterns apply
                    if ka:
                        continue
                    tag = self.compare([b + i, carry], [kb, kc])
                else:
                    tag = self.compare([a + i, b + i, carry], [ka, kb, kc])
                if tag.any():
                    self.write([b + i, carry], [nb, nc], tag)
                else:
                    self.counts.writes += 1  # the pass is issued whatever it tags
        self.counts.per_op[op] = self.counts.per_op.get(op, 0) + 1
