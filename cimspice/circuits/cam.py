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
deliver. Write bench: a 6T cell (cross-coupled inverters, two access NMOS) on a bit-line
pair precharged to vdd and loaded by the other rows' access-transistor drains; a write
driver pulls one bit line low while the word line is high, then the line is restored.
"""

from __future__ import annotations

import numpy as np

from ..validate import require_int
from .base import CircuitError, load_single_threaded
from .devices import VDD, check_corner, corner_library
from .waveforms import supply_energy

__all__ = ["search_energy", "write_energy"]

W_CMP, W_PRE, W_ACC, W_PD, W_PU = 0.2e-6, 0.4e-6, 0.2e-6, 0.3e-6, 0.1e-6  # m; L = 50 nm
T_PRE, T_KEY, T_END, T_EDGE = 1e-9, 1.2e-9, 3e-9, 50e-12  # s


def _head(corner: str) -> list[str]:
    return [corner_library(check_corner(corner, "cam")), f"vdd vdd 0 dc {VDD!r}"]


def _pulse(name, node, v0, v1, t_on, t_off):
    e, v0, v1 = T_EDGE, float(v0), float(v1)
    return f"{name} {node} 0 pwl(0 {v0!r} {t_on!r} {v0!r} {t_on + e!r} {v1!r} {t_off!r} {v1!r} {t_off + e!r} {v0!r})"


def _check(word_bits, rows, active_bits):
    for label, v, lo, hi in (("word_bits", word_bits, 1, 64), ("rows", rows, 1, 4096),
                             ("active_bits", active_bits, 0, 64)):
        require_int(v, f"cam: {label}", CircuitError, lo=lo, hi=hi)
    if active_bits > word_bits:
        raise CircuitError(f"cam: active_bits={active_bits} exceeds word_bits={word_bits}")


def search_netlist(stored, key, active_bits: int, rows: int, corner: str = "tt") -> str:
    """One search cycle of a row storing bits ``stored`` against ``key`` on the first
    ``active_bits`` columns (the rest masked)."""
    lines = ["NOR CAM row search", *_head(corner),
             _pulse("vpre", "pre", 0.0, VDD, T_PRE, T_END - 0.6e-9)]
    for b, (d, k) in enumerate(zip(stored, key)):
        d = int(d)
        lines += [f"vd{b} d{b} 0 dc {VDD * d!r}", f"vdb{b} db{b} 0 dc {VDD * (1 - d)!r}"]
        active, k = b < active_bits, int(k)
        lines += [_pulse(f"vsl{b}", f"sl{b}", 0.0, VDD * (active and k == 1), T_KEY, T_END - 0.9e-9),
                  _pulse(f"vslb{b}", f"slb{b}", 0.0, VDD * (active and k == 0), T_KEY, T_END - 0.9e-9),
                  f"mc1_{b} ml sl{b} n1_{b} 0 nmos_vtg w={W_CMP!r} l=50n",
                  f"mc2_{b} n1_{b} db{b} 0 0 nmos_vtg w={W_CMP!r} l=50n",
                  f"mc3_{b} ml slb{b} n2_{b} 0 nmos_vtg w={W_CMP!r} l=50n",
                  f"mc4_{b} n2_{b} d{b} 0 0 nmos_vtg w={W_CMP!r} l=50n"]
        if rows > 1:  # the other rows' compare gates on the same search lines
            lines += [f"ml1_{b} 0 sl{b} 0 0 nmos_vtg w={W_CMP!r} l=50n m={rows - 1}",
                      f"ml3_{b} 0 slb{b} 0 0 nmos_vtg w={W_CMP!r} l=50n m={rows - 1}"]
    lines += [f"mpre ml pre vdd vdd pmos_vtg w={W_PRE!r} l=50n",
              "mip mlo ml vdd vdd pmos_vtg w=0.2u l=50n", "min mlo ml 0 0 nmos_vtg w=0.1u l=50n",
              ".ic v(ml)=0", ".options reltol=1e-4", ".end"]
    return "\n".join(lines)


def _run(engine, text, source, probes):
    load_single_threaded(engine, text, source)
    return engine.tran(5e-12, T_END, max_step=10e-12, vectors=["time", *probes])


def search_energy(engine, word_bits: int = 8, rows: int = 64, active_bits: int = 3, corner: str = "tt") -> dict:
    """Energy (J) of one masked compare on one row, with the search lines' share of the
    array: ``match`` (the row stays tagged) and ``mismatch`` (one active bit differs: the
    match line discharges and is precharged again), ``lines`` the search-line drivers'
    energy per row, and the match line's final state in each case (V)."""
    _check(word_bits, rows, active_bits)
    stored = np.zeros(word_bits, int)
    out = {}
    for case, key in (("match", np.zeros(word_bits, int)), ("mismatch", np.r_[1, np.zeros(word_bits - 1, int)])):
        if case == "mismatch" and active_bits == 0:
            out.update(mismatch=np.nan, ml_mismatch=np.nan)
            continue
        probes = (["v(ml)", "i(vdd)"] + [f"i(vsl{b})" for b in range(word_bits)]
                  + [f"i(vslb{b})" for b in range(word_bits)])
        r = _run(engine, search_netlist(stored, key, active_bits, rows, corner), f"cam search {case}", probes)
        t = r["time"]
        start = T_PRE - 0.2e-9  # the initial precharge from 0 V is set-up, not the cycle
        e_ml = supply_energy(t, VDD, -r["i(vdd)"], start=start)
        # Search-line drivers are inverters on vdd: each rising line draws its charge from
        # vdd (E = VDD * Q) and gives nothing back when it falls. The ideal sources here
        # deliver that charge on the rising edge (integrated over the edge and its settling).
        rise = (t >= T_KEY) & (t <= T_KEY + 0.4e-9)
        e_sl = sum(VDD * max(0.0, float(np.trapezoid(-r[f"i(v{s}{b})"][rise], t[rise])))
                   for s in ("sl", "slb") for b in range(word_bits))
        ml_eval = float(np.interp(T_END - 0.95e-9, t, r["v(ml)"]))   # before the precharge returns
        out[case] = e_ml + e_sl / rows
        out[f"ml_{case}"] = ml_eval
        out[f"lines_{case}"] = e_sl / rows
    return out


def write_netlist(q0: int, rows: int, corner: str = "tt") -> str:
    """A 6T cell holding ``q0`` written to 1: blb pulled low while the word line is high."""
    lines = ["6T SRAM write", *_head(corner),
             _pulse("vpre", "pre", 0.0, VDD, T_PRE, T_END - 0.6e-9),
             _pulse("vwe", "we", 0.0, VDD, T_PRE + 0.1e-9, T_END - 0.9e-9),
             _pulse("vwl", "wl", 0.0, VDD, T_KEY, T_END - 1.0e-9),
             f"mpu1 q qb vdd vdd pmos_vtg w={W_PU!r} l=50n", f"mpd1 q qb 0 0 nmos_vtg w={W_PD!r} l=50n",
             f"mpu2 qb q vdd vdd pmos_vtg w={W_PU!r} l=50n", f"mpd2 qb q 0 0 nmos_vtg w={W_PD!r} l=50n",
             f"ma1 bl wl q 0 nmos_vtg w={W_ACC!r} l=50n", f"ma2 blb wl qb 0 nmos_vtg w={W_ACC!r} l=50n",
             # precharge (active low) and the write driver on blb (writes q = 1)
             "mpb1 bl pre vdd vdd pmos_vtg w=0.4u l=50n", "mpb2 blb pre vdd vdd pmos_vtg w=0.4u l=50n",
             "mwd blb we 0 0 nmos_vtg w=0.6u l=50n"]
    if rows > 1:  # the other rows' access transistors (off) on the bit lines
        lines += [f"mx1 bl 0 0 0 nmos_vtg w={W_ACC!r} l=50n m={rows - 1}",
                  f"mx2 blb 0 0 0 nmos_vtg w={W_ACC!r} l=50n m={rows - 1}"]
    qv = VDD * q0
    lines += [f".ic v(q)={qv!r} v(qb)={VDD - qv!r} v(bl)={VDD!r} v(blb)={VDD!r}", ".options reltol=1e-4", ".end"]
    return "\n".join(lines)


def write_energy(engine, rows: int = 64, corner: str = "tt") -> dict:
    """Energy (J) of writing a 1 into one 6T cell on a bit-line pair shared by ``rows``:
    ``flip`` (the cell held 0), ``same`` (it held 1 already: the bit line's swing only),
    their difference ``cell`` (the cell's own flip), and the final ``q`` of each (V)."""
    _check(1, rows, 0)
    out = {}
    for case, q0 in (("flip", 0), ("same", 1)):
        r = _run(engine, write_netlist(q0, rows, corner), f"sram write {case}", ["v(q)", "i(vdd)", "i(vwe)"])
        t = r["time"]
        out[case] = supply_energy(t, VDD, -r["i(vdd)"], start=T_PRE - 0.2e-9)
        out[f"q_{case}"] = float(r["v(q)"][-1])
    out["cell"] = out["flip"] - out["same"]
    return out
