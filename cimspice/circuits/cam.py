"""Associative-memory circuits on the 45 nm cards: a NOR CAM row's search and a 6T SRAM
cell's write, for the associative-processor (AP) energy model of the studies.

An AP computes with two operations over all rows at once: a masked *compare* (the search
key is driven on the search lines of a few bit columns; every row whose stored bits match
keeps its precharged match line high and is tagged) and a masked *write* (the tagged rows'
selected bits are written through the bit lines). Both are simulated here, one row (and
one cell) with the load of the array's other rows on the shared lines.

Search bench (``word_bits`` NOR cells on one match line ``ml``)::

    vdd -[precharge PMOS, gate pre]- ml --+-- ML sense inverter -> mlo
                                          |
        per bit b:  ml -[sl_b]- n1_b -[db_b]- 0      (mismatch: key 1, stored 0)
                    ml -[slb_b]- n2_b -[d_b]- 0      (mismatch: key 0, stored 1)
    sl_b, slb_b: ideal search-line drivers; each line also carries the gates of the
    ``rows - 1`` other rows' compare transistors (one device with multiplier m).

Stored bits are ideal DC levels (a search never disturbs them). A cycle: precharge, apply
the key on ``active_bits`` columns (the others masked: both lines low), evaluate, release
the lines, precharge again; the energy of the cycle is what the supply and the line drivers
deliver. The unit cycle (3 ns: 1 ns set-up precharge, key at 1.2 ns, lines released at
2.1 ns, precharge again from 2.4 ns) serves rows up to ~256 bits with one 0.4 um precharge
PMOS and one 0.2 um compare stack: at 1.1 V the 1-bit mismatch leaves the match line at
3 mV (128 bits), 80 mV (256) and 0.21 V (367), and the set-up precharges a 961-bit line to
0.76 V only (measured, 256 rows). ``stretch`` lengthens every phase for wider rows
(:class:`Cycle`).

Write bench: a 6T cell (cross-coupled inverters, two access NMOS) on a bit-line pair
precharged to vdd and loaded by the other rows' access-transistor drains; a write driver
pulls one bit line low while the word line is high, then the line is restored.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..validate import require_in_range, require_int
from .area import transistor_area
from .base import CircuitError, load_single_threaded
from .devices import VDD, check_corner, corner_library
from .waveforms import crossing_time, supply_energy

__all__ = ["MAX_WORD_BITS", "VDD_RANGE", "Cycle", "row_area", "search_energy", "search_netlist", "write_energy",
           "write_netlist"]

W_CMP, W_PRE, W_ACC, W_PD, W_PU = 0.2e-6, 0.4e-6, 0.2e-6, 0.3e-6, 0.1e-6  # m; L = 50 nm
W_SENSE_P, W_SENSE_N = 0.2e-6, 0.1e-6  # m: the match line's sense inverter
T_PRE, T_KEY, T_END, T_EDGE = 1e-9, 1.2e-9, 3e-9, 50e-12  # s
# V: supplies the benches take: 0.8 V leaves the compare stack's NMOS (vth0 0.39-0.44 V)
# 0.4 V of overdrive; 1.32 V is the cards' nominal 1.1 V + 20 %.
VDD_RANGE = (0.8, 1.32)
# Widest row the search bench builds (1024 cells: with ``stretch`` past ~256 bits).
MAX_WORD_BITS = 1024


@dataclass(frozen=True)
class Cycle:
    """Time points (s) of one search cycle, each phase ``stretch`` times the unit cycle's
    (edges stay T_EDGE): set-up precharge until ``pre``, the key on the search lines from
    ``key`` to ``release``, precharge again from ``restore`` to ``end``."""

    stretch: float = 1.0

    def at(self, t: float) -> float:
        """A duration ``t`` (s) of the unit cycle, stretched."""
        return self.stretch * t

    @property
    def pre(self) -> float:
        return self.at(T_PRE)

    @property
    def key(self) -> float:
        return self.at(T_KEY)

    @property
    def end(self) -> float:
        return self.at(T_END)

    @property
    def release(self) -> float:
        return self.end - self.at(0.9e-9)

    @property
    def restore(self) -> float:
        return self.end - self.at(0.6e-9)


def row_area(word_bits: int) -> float:
    """Layout estimate (m^2, :mod:`.area`) of one row: per cell the 6T storage and the 4
    compare transistors, plus the match line's precharge PMOS and sense inverter (the
    search-line and write drivers are the array's)."""
    def a(w):
        return transistor_area(w, 50e-9)
    cell = 2 * (a(W_PU) + a(W_PD) + a(W_ACC)) + 4 * a(W_CMP)
    return float(word_bits * cell + a(W_PRE) + a(W_SENSE_P) + a(W_SENSE_N))


def _head(corner: str, vdd: float) -> list[str]:
    return [corner_library(check_corner(corner, "cam")), f"vdd vdd 0 dc {vdd!r}"]


def _pulse(name, node, v0, v1, t_on, t_off):
    e, v0, v1 = T_EDGE, float(v0), float(v1)
    return f"{name} {node} 0 pwl(0 {v0!r} {t_on!r} {v0!r} {t_on + e!r} {v1!r} {t_off!r} {v1!r} {t_off + e!r} {v0!r})"


def check_row(word_bits, rows, active_bits, vdd=VDD, stretch=1.0, *, where: str = "cam") -> None:
    """A :class:`CircuitError` naming ``where`` unless the benches can build this row."""
    for label, v, lo, hi in (("word_bits", word_bits, 1, MAX_WORD_BITS), ("rows", rows, 1, 4096),
                             ("active_bits", active_bits, 0, MAX_WORD_BITS)):
        require_int(v, f"{where}: {label}", CircuitError, lo=lo, hi=hi)
    if active_bits > word_bits:
        raise CircuitError(f"{where}: active_bits={active_bits} exceeds word_bits={word_bits}")
    require_in_range(vdd, *VDD_RANGE, f"{where}: vdd", CircuitError, unit="V")
    require_in_range(stretch, 1.0, 20.0, f"{where}: stretch", CircuitError)


def search_netlist(stored, key, active_bits: int, rows: int, corner: str = "tt", *, vdd: float = VDD,
                   stretch: float = 1.0) -> str:
    """One search cycle (:class:`Cycle` of ``stretch``) of a row storing bits ``stored``
    against ``key`` on the first ``active_bits`` columns (the rest masked), on ``vdd`` (V)."""
    c = Cycle(stretch)
    lines = ["NOR CAM row search", *_head(corner, vdd),
             _pulse("vpre", "pre", 0.0, vdd, c.pre, c.restore)]
    for b, (d, k) in enumerate(zip(stored, key)):
        d = int(d)
        lines += [f"vd{b} d{b} 0 dc {vdd * d!r}", f"vdb{b} db{b} 0 dc {vdd * (1 - d)!r}"]
        active, k = b < active_bits, int(k)
        lines += [_pulse(f"vsl{b}", f"sl{b}", 0.0, vdd * (active and k == 1), c.key, c.release),
                  _pulse(f"vslb{b}", f"slb{b}", 0.0, vdd * (active and k == 0), c.key, c.release),
                  f"mc1_{b} ml sl{b} n1_{b} 0 nmos_vtg w={W_CMP!r} l=50n",
                  f"mc2_{b} n1_{b} db{b} 0 0 nmos_vtg w={W_CMP!r} l=50n",
                  f"mc3_{b} ml slb{b} n2_{b} 0 nmos_vtg w={W_CMP!r} l=50n",
                  f"mc4_{b} n2_{b} d{b} 0 0 nmos_vtg w={W_CMP!r} l=50n"]
        if rows > 1:  # the other rows' compare gates on the same search lines
            lines += [f"ml1_{b} 0 sl{b} 0 0 nmos_vtg w={W_CMP!r} l=50n m={rows - 1}",
                      f"ml3_{b} 0 slb{b} 0 0 nmos_vtg w={W_CMP!r} l=50n m={rows - 1}"]
    lines += [f"mpre ml pre vdd vdd pmos_vtg w={W_PRE!r} l=50n",
              f"mip mlo ml vdd vdd pmos_vtg w={W_SENSE_P!r} l=50n", f"min mlo ml 0 0 nmos_vtg w={W_SENSE_N!r} l=50n",
              ".ic v(ml)=0", ".options reltol=1e-4", ".end"]
    return "\n".join(lines)


def _run(engine, text, source, probes, stop, temp):
    load_single_threaded(engine, text, source)
    if temp is not None:
        engine.set_temperature(temp)
    return engine.tran(5e-12, stop, max_step=10e-12, vectors=["time", *probes])


def search_energy(engine, word_bits: int = 8, rows: int = 64, active_bits: int = 3, corner: str = "tt", *,
                  vdd: float = VDD, temp: float | None = None, stretch: float = 1.0) -> dict:
    """Energy (J) of one masked compare on one row, with the search lines' share of the
    array: ``match`` (the row stays tagged) and ``mismatch`` (one active bit differs: the
    match line discharges and is precharged again), ``lines_*`` the search-line drivers'
    energy per row, the match line's level before the precharge returns (``ml_*``, V), and
    ``t_search`` (s): the key's 50 % point on the search lines to the sense inverter's
    output crossing vdd/2 on the mismatch (NaN if it never does).

    ``vdd`` (V) supplies everything; ``temp`` (degC) is set after loading (None: ngspice's
    27 degC); ``stretch`` lengthens the cycle (:class:`Cycle`) for rows past ~256 bits."""
    check_row(word_bits, rows, active_bits, vdd, stretch)
    c = Cycle(stretch)
    stored = np.zeros(word_bits, int)
    out = {}
    for case, key in (("match", np.zeros(word_bits, int)), ("mismatch", np.r_[1, np.zeros(word_bits - 1, int)])):
        if case == "mismatch" and active_bits == 0:
            out.update(mismatch=np.nan, ml_mismatch=np.nan, t_search=np.nan)
            continue
        probes = (["v(ml)", "v(mlo)", "i(vdd)"] + [f"i(vsl{b})" for b in range(word_bits)]
                  + [f"i(vslb{b})" for b in range(word_bits)])
        text = search_netlist(stored, key, active_bits, rows, corner, vdd=vdd, stretch=stretch)
        r = _run(engine, text, f"cam search {case}", probes, c.end, temp)
        t, start = r["time"], c.pre - c.at(0.2e-9)  # the initial precharge from 0 V is set-up, not the cycle
        _check_precharged(float(np.interp(start, t, r["v(ml)"])), vdd, word_bits, stretch)
        e_ml = supply_energy(t, vdd, -r["i(vdd)"], start=start)
        e_sl = _line_energy(r, word_bits, vdd, c)
        out[case] = e_ml + e_sl / rows
        out[f"ml_{case}"] = float(np.interp(c.release - c.at(0.05e-9), t, r["v(ml)"]))
        out[f"lines_{case}"] = e_sl / rows
        if case == "mismatch":
            key_50 = c.key + T_EDGE / 2
            out["t_search"] = crossing_time(t, r["v(mlo)"], vdd / 2, direction="rising", after=key_50) - key_50
    return out


def _line_energy(r, word_bits: int, vdd: float, c: Cycle) -> float:
    """Energy (J) the search-line drivers draw from vdd in one cycle, all rows' share."""
    # Search-line drivers are inverters on vdd: each rising line draws its charge from
    # vdd (E = VDD * Q) and gives nothing back when it falls. The ideal sources here
    # deliver that charge on the rising edge (integrated over the edge and its settling).
    t = r["time"]
    rise = (t >= c.key) & (t <= c.key + c.at(0.4e-9))
    return sum(vdd * max(0.0, float(np.trapezoid(-r[f"i(v{s}{b})"][rise], t[rise])))
               for s in ("sl", "slb") for b in range(word_bits))


def _check_precharged(v_ml: float, vdd: float, word_bits: int, stretch: float) -> None:
    """The set-up must precharge the match line before the counted cycle starts, else part
    of its charge from 0 V is counted as the compare's (a 961-bit row in the unit cycle)."""
    if v_ml < 0.99 * vdd:
        raise CircuitError(f"cam: word_bits={word_bits}: the set-up precharges the match line to {v_ml:.3g} V "
                           f"only (vdd {vdd:g} V); lengthen the cycle (stretch={stretch:g})")


def write_netlist(q0: int, rows: int, corner: str = "tt", *, vdd: float = VDD) -> str:
    """A 6T cell holding ``q0`` written to 1 on ``vdd`` (V): blb pulled low while the word line is high."""
    lines = ["6T SRAM write", *_head(corner, vdd),
             _pulse("vpre", "pre", 0.0, vdd, T_PRE, T_END - 0.6e-9),
             _pulse("vwe", "we", 0.0, vdd, T_PRE + 0.1e-9, T_END - 0.9e-9),
             _pulse("vwl", "wl", 0.0, vdd, T_KEY, T_END - 1.0e-9),
             f"mpu1 q qb vdd vdd pmos_vtg w={W_PU!r} l=50n", f"mpd1 q qb 0 0 nmos_vtg w={W_PD!r} l=50n",
             f"mpu2 qb q vdd vdd pmos_vtg w={W_PU!r} l=50n", f"mpd2 qb q 0 0 nmos_vtg w={W_PD!r} l=50n",
             f"ma1 bl wl q 0 nmos_vtg w={W_ACC!r} l=50n", f"ma2 blb wl qb 0 nmos_vtg w={W_ACC!r} l=50n",
             # precharge (active low) and the write driver on blb (writes q = 1)
             "mpb1 bl pre vdd vdd pmos_vtg w=0.4u l=50n", "mpb2 blb pre vdd vdd pmos_vtg w=0.4u l=50n",
             "mwd blb we 0 0 nmos_vtg w=0.6u l=50n"]
    if rows > 1:  # the other rows' access transistors (off) on the bit lines
        lines += [f"mx1 bl 0 0 0 nmos_vtg w={W_ACC!r} l=50n m={rows - 1}",
                  f"mx2 blb 0 0 0 nmos_vtg w={W_ACC!r} l=50n m={rows - 1}"]
    qv = vdd * q0
    lines += [f".ic v(q)={qv!r} v(qb)={vdd - qv!r} v(bl)={vdd!r} v(blb)={vdd!r}", ".options reltol=1e-4", ".end"]
    return "\n".join(lines)


def write_energy(engine, rows: int = 64, corner: str = "tt", *, vdd: float = VDD,
                 temp: float | None = None) -> dict:
    """Energy (J) of writing a 1 into one 6T cell on a bit-line pair shared by ``rows``:
    ``flip`` (the cell held 0), ``same`` (it held 1 already: the bit line's swing only),
    their difference ``cell`` (the cell's own flip), and the final ``q`` of each (V);
    ``vdd`` (V) and ``temp`` (degC) as for :func:`search_energy`."""
    check_row(1, rows, 0, vdd)
    out = {}
    for case, q0 in (("flip", 0), ("same", 1)):
        r = _run(engine, write_netlist(q0, rows, corner, vdd=vdd), f"sram write {case}",
                 ["v(q)", "i(vdd)", "i(vwe)"], T_END, temp)
        t = r["time"]
        out[case] = supply_energy(t, vdd, -r["i(vdd)"], start=T_PRE - 0.2e-9)
        out[f"q_{case}"] = float(r["v(q)"][-1])
    out["cell"] = out["flip"] - out["same"]
    return out
