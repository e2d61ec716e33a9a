"""Costs of ``ternary-associative``: the associative processor (AP) and the crossbar, priced
the same way, every figure with its source.

**The case, fixed before any result is computed** (:data:`CASE`): 4-bit activations, a
batch of 32 rows in use of each 256-row AP array, the crossbar's 10 ns read, and the AP's
match lines whole up to :data:`MATCH_LINE_MAX_BITS` (the widest row the CAM bench builds
and shows working, with its cycle stretched); wider rows are split into match-line segments
of that length, a compare precharging only the segments that hold its (at most 3) columns.

**AP** (per inference, :func:`ap_energy`), from the component library's ``cam_row_{w}b``
blocks (256-row array, 3 active columns, 8-128 bits) through their width law
(:func:`cam_laws`), and the 8-bit CAM bench run here
for the search lines' share (the only part of a compare driven for the whole array):

- compares: every row's match line (``energy_match`` / ``energy_mismatch`` at the row's
  width, less the search lines' share), plus the search lines of the whole array per
  compare, divided by the rows in use (the batch);
- write passes: each written column's bit line once for the array (``energy_write_bit_line``)
  divided by the batch, each flipped cell (``energy_write_cell``);
- data movement, as the crossbar's: every bit moved between a buffer and the arrays costs the
  simulator's cited ``costs.BUFFER_BIT_ENERGY`` (ISAAC's eDRAM), on both sides. The AP loads
  each layer's inputs into its rows (a buffer read, and a row write per bit: the bit line's
  swing and, for half the bits, a cell flip) and moves its outputs out (the hidden layers'
  requantised ``in_bits``-bit activations, the last layer's accumulators); the crossbar moves
  ``n_in * in_bits + n_out * 16`` bits per layer (the simulator's ``buffer_bits``).

**Crossbar**: the system simulator on the component library (:func:`crossbar_spec`: the
shipped ``baseline`` with one-bit differential cells), each component's energy with the
library key or cited constant the simulator reports for it.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np

from ..circuits.cam import search_energy
from ..library.width_law import fit_width_law
from ..paths import default_library_path
from ..sim.spec import load_system_spec
from .provenance import costs

__all__ = ["CASE", "MATCH_LINE_MAX_BITS", "ApCosts", "ap_energy", "crossbar_spec", "load_ap_costs"]

#: the case every verdict is judged in, fixed before the run computes anything
CASE = {"in_bits": 4, "batch": 32, "t_read": 10e-9, "segment_bits": 1024, "resnet_images": 1,
        "rule": "a ratio agrees within 25 % of the paper's (0.75-1.33x); accuracy within 1 point; "
                "'considerable' activation movement: at least 10 % of the crossbar's energy; 'substantially' "
                "fewer transfers: the crossbar's movement energy at least 1.33x the AP's"}
#: widest match line priced whole: the CAM bench's widest row (cimspice.circuits.cam.MAX_WORD_BITS)
MATCH_LINE_MAX_BITS = 1024
#: rows of one AP array: the library's cam_row blocks are characterized on a 256-row array
AP_ROWS = 256
#: the supply the CAM blocks are read at (the 45 nm cards' nominal, as the baseline's vdd)
VDD = 1.1


def bit_energy() -> float:
    """J per bit moved between a buffer and the arrays, both sides (ISAAC's eDRAM), read when
    used so that the run records it (:mod:`.provenance`)."""
    return float(costs.BUFFER_BIT_ENERGY)


@dataclass(frozen=True)
class ApCosts:
    """The AP's per-event energies (J): the width laws ``match``/``mismatch`` (callables of the
    row width, bits, each row's whole compare with its search-line share), ``lines`` (the
    search lines of the whole array per compare), ``bit_line`` and ``cell`` (write), the
    array's ``rows``, and ``sources`` (figure -> where it came from)."""

    match: object
    mismatch: object
    lines: float
    bit_line: float
    cell: float
    rows: int
    sources: dict

    def compare(self, width: int, matched: bool, segment_bits: int | None) -> float:
        """One row's match line in one compare (J, search lines excluded), the row split into
        match-line segments of ``segment_bits`` (None: whole) of which the compare's three
        columns occupy at most three."""
        share = self.lines / self.rows
        if segment_bits is None or width <= segment_bits:
            law = self.match if matched else self.mismatch
            return float(law(width)) - share
        k = min(3, math.ceil(width / segment_bits))
        on_match = float(self.match(segment_bits)) - share
        if matched:
            return k * on_match
        return float(self.mismatch(segment_bits)) - share + (k - 1) * on_match


def cam_laws(lib, vdd: float = VDD) -> dict:
    """``{"match": WidthLaw, "mismatch": WidthLaw}`` across the library's ``cam_row_{w}b``
    blocks at ``vdd`` (V): :func:`cimspice.library.width_law.fit_width_law` on the loaded
    library ``lib`` (name -> surrogate), so the file is read once per run."""
    laws = {}
    for k in ("match", "mismatch"):
        names = {int(m.group(1)): n for n in lib if (m := re.fullmatch(rf"cam_row_(\d+)b\.energy_{k}", n))}
        widths = sorted(names)
        values = [float(lib[names[w]].predict({"vdd": [vdd]})[0]) for w in widths]
        laws[k] = fit_width_law(widths, values, output=f"energy_{k}", unit="J",
                                source={"surrogates": [names[w] for w in widths], "vdd": vdd})
    return laws


def load_ap_costs(lines_share: float, lib) -> ApCosts:
    """The AP's costs from the component library ``lib`` (the shipped one, loaded: name ->
    surrogate); ``lines_share`` (J) is the search lines' share per row measured by the CAM
    bench at 256 rows (the library's blocks hold the row's whole compare only)."""
    name = default_library_path().name
    laws = cam_laws(lib)
    write = {k: float(lib[f"cam_row_8b.energy_write_{k}"].predict({"vdd": [VDD]})[0]) for k in ("bit_line", "cell")}
    span = f"{{{','.join(str(int(w)) for w in laws['match'].widths)}}}"
    sources = {f"compare, {k}": f"library {name}: width law of cam_row_{span}b.energy_{k} at {VDD} V: "
                                f"{law.intercept * 1e15:.3f} fJ + {law.slope * 1e15:.4f} fJ/bit "
                                f"(held-out error up to {100 * law.max_held_out:.1f} %)" for k, law in laws.items()}
    sources |= {f"write, {k.replace('_', ' ')}": f"library {name}: cam_row_8b.energy_write_{k} at {VDD} V "
                                                 f"({v * 1e15:.2f} fJ)" for k, v in write.items()}
    sources["search lines per compare"] = (f"ngspice CAM bench in this run (8-bit row, {AP_ROWS} rows, 3 active "
                                           f"columns): {lines_share * AP_ROWS * 1e15:.1f} fJ for the array")
    sources["buffer, per bit moved"] = (f"cited costs.BUFFER_BIT_ENERGY = {bit_energy() * 1e15:.1f} "
                                        f"fJ ({costs.BUFFER_BIT_ENERGY.source})")
    return ApCosts(laws["match"].predict, laws["mismatch"].predict, lines_share * AP_ROWS, write["bit_line"],
                   write["cell"], AP_ROWS, sources)


@dataclass(frozen=True)
class ApLayer:
    """One layer's run on the AP: the row ``width`` (bits), pass ``counts`` (PassCounts) over
    ``rows`` simulated rows, ``loaded`` and ``moved_out`` bits per row (inputs in, outputs out),
    and ``arrays``: how many arrays of the batch's rows run all the passes per batch."""

    width: int
    counts: object
    rows: int
    loaded: int
    moved_out: int
    arrays: float = 1.0


def ap_energy(layers, cam: ApCosts, batch: float, segment_bits: int | None = CASE["segment_bits"],
              compare_scale: float = 1.0) -> dict:
    """Energy per inference (J) of the AP's ``layers`` (:class:`ApLayer`) by component, with
    ``batch`` inferences sharing each array's line drives (rows in use, at most ``cam.rows``);
    ``compare_scale`` multiplies the match lines of rows wider than the library's 128 bits
    (the width law's extrapolation, for the sensitivity)."""
    out = dict.fromkeys(("match lines", "search lines", "write bit lines", "write cells", "data movement"), 0.0)
    for L in layers:
        c, n = L.counts, L.rows
        scale = compare_scale if L.width > 128 else 1.0
        out["match lines"] += scale * (c.matched_rows * cam.compare(L.width, True, segment_bits)
                                       + c.mismatched_rows * cam.compare(L.width, False, segment_bits)) / n
        out["search lines"] += L.arrays * c.compares * cam.lines / batch
        out["write bit lines"] += L.arrays * c.written_columns * cam.bit_line / batch
        out["write cells"] += c.flips * cam.cell / n
        out["data movement"] += L.loaded * (bit_energy() + cam.bit_line + 0.5 * cam.cell) + L.moved_out * bit_energy()
    return out


def crossbar_spec(in_bits: int, name: str = "ternary-crossbar", fast: bool = False):
    """The crossbar on the component library: the shipped ``baseline`` (1T1R cell surrogate,
    word-line driver, TIA ``tia_array``, sample-and-hold, 6-bit SAR with its measured
    transfer, partial sums at 6 bits) with one-bit cells in differential pairs and
    ``in_bits``-bit bit-serial inputs; ``fast`` turns the non-idealities off (energy only)."""
    update = {"name": name, "array": {"cell_bits": 1}, "mapping": {"weights": "differential", "slices": 1},
              "inputs": {"bits": in_bits}}
    if fast:
        update["nonidealities"] = {"ir_drop": False, "programming_sigma": 0.0, "read_noise_sigma": 0.0}
    return load_system_spec("baseline").updated(update)


def crossbar_sources(result) -> dict:
    """component -> the library keys or cited constants its energy came from (the simulator's
    own records)."""
    out = {}
    for comp, records in result.costs.sources.get("energy", {}).items():
        parts = []
        for r in records:
            if r.get("kind") == "characterized":
                parts.append(f"library {r['key']}")
            elif r.get("kind") == "cited":
                parts.append(f"cited {r['constant']} ({r['source']})")
            else:
                model = r.get("model") or {}
                parts.append(f"{r.get('from', 'computed')} (library {model.get('key', '?')})")
        out[comp] = "; ".join(parts)
    return out


def scaled_crossbar(energy: dict, in_bits: int, *, bits: int | None = None, t_read: float | None = None,
                    periphery: float = 1.0, buffer_bits: tuple[float, float] | None = None) -> float:
    """The crossbar's energy per inference (J) from its simulated components ``energy`` (at
    ``in_bits`` and the case's 10 ns read) with one assumption moved: ``bits`` input bits
    (every read-side component scales with the reads, the buffers' input bits with them:
    ``buffer_bits`` = (input bits, output bits) moved per inference at ``in_bits``),
    ``t_read`` (the arrays' read energy and the TIA's, whose energy is its quiescent power
    over the read: 7.3 pJ = 0.73 mW x 10 ns in the library), ``periphery`` (TIA and ADC x)."""
    e = dict(energy)
    if bits is not None:
        k = bits / in_bits
        for comp in ("arrays", "drivers", "sense", "adc", "digital"):
            e[comp] = e.get(comp, 0.0) * k
        if buffer_bits:
            e["buffers"] = (buffer_bits[0] * k + buffer_bits[1]) * bit_energy()
    if t_read is not None:
        for comp in ("arrays", "sense"):
            e[comp] = e.get(comp, 0.0) * t_read / CASE["t_read"]
    for comp in ("sense", "adc"):
        e[comp] = e.get(comp, 0.0) * periphery
    return float(sum(e.values()))


def movement_share(energy: dict) -> float:
    """Share of the buffers (activation movement) in an energy breakdown (J by component)."""
    total = sum(energy.values())
    return float(energy.get("buffers", energy.get("data movement", 0.0)) / total) if total else float("nan")


def lines_share_at(engine) -> float:
    """The search lines' share per row (J) of one compare on the 8-bit bench, 256 rows."""
    s = search_energy(engine, word_bits=8, rows=AP_ROWS, active_bits=3)
    return float(np.mean([s["lines_match"], s["lines_mismatch"]]))
