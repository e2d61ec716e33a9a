"""The associative processor's CAM row as a registered circuit: one ``word_bits`` NOR CAM row
(with its 6T storage cells) in an array of ``rows``, characterized by the benches of
:mod:`.cam` (:func:`~.cam.search_energy`, :func:`~.cam.write_energy`) at each point.

One point runs four short transients, each its own deck built by :mod:`.cam` at the point's
supply: the compare that matches, the compare with one active bit mismatching (the worst
case for the match line: a single compare stack discharges it), and the write of a cell that
flips and of one that already holds the value. Widths are limited to what the bench's unit
cycle serves (:data:`MAX_ROW_BITS`); wider rows are priced by the width law fitted to the
library's ``cam_row_{w}b`` blocks (:mod:`cimspice.library.width_law`).

The sweep engine's retry with relaxed tolerances loads :meth:`CamRow.netlist` and sets its
options; the point's own decks are loaded afresh, so they run at the benches' tolerances
(reltol 1e-4) on the retry too.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ..validate import require_int
from .analog import AnalogCircuit
from .base import TEMP, CircuitError, Measured, Measurement, supply
from .cam import VDD_RANGE, check_row, row_area, search_energy, search_netlist, write_energy

__all__ = ["MAX_ROW_BITS", "CamRow"]

# Widest row of the circuit: in the bench's unit cycle a 1-bit mismatch leaves a 256-bit
# match line at 80 mV (1.1 V, 256 rows), so the compare is sensed and the energy is within
# 7 % of a full swing; at 367 bits it stays at 0.21 V (measured, cimspice.circuits.cam).
MAX_ROW_BITS = 256


class CamRow(AnalogCircuit):
    """One NOR CAM row of ``word_bits`` cells on the 45 nm cards, in an array of ``rows``
    rows that load its search lines and bit lines; compares drive ``active_bits`` columns
    (the rest masked).

    Parameters
    ----------
    word_bits : int
        Cells on the match line (1..256).
    rows : int
        Rows of the array (1..4096): the search lines carry every row's compare gates and
        are charged once per compare for all of them, so each row's share is 1/rows.
    active_bits : int
        Columns a compare drives (1..word_bits; default 3, the ternary study's).
    corner : {"tt", "ff", "ss"}
    """

    name = "cam_row"
    measurements = (
        Measurement("energy_match", "J", "one compare of this row when its active bits match (it stays tagged): "
                    "the supply's and the search lines' share per row over the cycle"),
        Measurement("energy_mismatch", "J", "one compare when one active bit differs: the match line discharges "
                    "through one compare stack and is precharged again"),
        Measurement("energy_write_cell", "J", "writing one cell that flips, beyond the bit-line swing "
                    "(energy_write_bit_line)"),
        Measurement("energy_write_bit_line", "J", "writing one column whose cell already holds the value: the "
                    "bit-line pair's swing, shared by the array's rows"),
        Measurement("t_search", "s", "1-bit mismatch: the key's 50 % point on the search lines to the match "
                    "line's sense inverter crossing vdd/2"),
    )

    def __init__(self, word_bits: int = 8, rows: int = 64, active_bits: int = 3, corner: str = "tt"):
        super().__init__(corner)
        self.word_bits = require_int(word_bits, f"{self.name}: word_bits", CircuitError, lo=1, hi=MAX_ROW_BITS)
        self.rows = require_int(rows, f"{self.name}: rows", CircuitError, lo=1)
        self.active_bits = require_int(active_bits, f"{self.name}: active_bits", CircuitError, lo=1)
        check_row(self.word_bits, self.rows, self.active_bits, where=self.name)
        self.parameters = (
            supply(VDD_RANGE, "supply of the row, its precharge, search-line and write drivers"),
            TEMP,
        )

    def netlist(self) -> str:
        """The 1-bit-mismatch compare deck at the default supply: the first of the point's
        decks, and what the netlist fingerprint covers (sizes, rows, corner)."""
        mismatch = np.r_[1, np.zeros(self.word_bits - 1, int)]
        return search_netlist(np.zeros(self.word_bits, int), mismatch, self.active_bits, self.rows, self.corner)

    def area(self) -> float:
        """Layout estimate (m^2) of the row: its cells, precharge and sense inverter
        (:func:`~.cam.row_area`, cimspice.circuits.area)."""
        return row_area(self.word_bits)

    def simulate(self, engine, point: Mapping[str, float]) -> Measured:
        p = self.point(point)
        common = dict(corner=self.corner, vdd=p["vdd"], temp=p["temp"])
        s = search_energy(engine, self.word_bits, self.rows, self.active_bits, **common)
        if not np.isfinite(s["t_search"]):
            raise CircuitError(f"{self.name}: word_bits={self.word_bits} at vdd={p['vdd']:g} V: a 1-bit mismatch "
                               f"leaves the match line at {s['ml_mismatch']:.3g} V, not sensed within the cycle")
        w = write_energy(engine, self.rows, **common)
        return Measured({"energy_match": s["match"], "energy_mismatch": s["mismatch"],
                         "energy_write_cell": w["cell"], "energy_write_bit_line": w["same"],
                         "t_search": s["t_search"]})
