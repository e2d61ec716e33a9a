"""What one inference of the binarized MLP costs on arrays read by ADCs (partial sums, the
paper's baseline) or by sense amplifiers (input splitting), priced from the shipped
component library and the simulator's cited constants.

Mapping (both designs): binary inputs drive one word line each through the library's 1-bit
word-line driver (``wl_driver``) when they are +1 (a -1 input leaves its row idle; the
``x = 2b - 1`` offset is a per-column constant folded into the threshold); a +-1 weight is a
differential column pair (g_on / g_off and the reverse), so an array of ``rows`` x ``rows``
cells holds ``rows`` inputs of ``rows / 2`` outputs. What differs is the read-out:

- ADC design: each row tile's column pair is sampled (``sample_hold``) and converted by a SAR
  ADC (``adc_sar_{bits}b``); the tiles' partial sums are added digitally and the sum
  compared with the folded batch-norm threshold;
- split design: each group's column pair is read by the current-mode sense amplifier
  (``sense_amp``) against its folded threshold; the groups' bits are counted (majority).

A sense amplifier's reference sits at the folded threshold, so it is priced with its
reference at the column's current and the bit line one unit of a partial sum above it
(:meth:`Hardware.partial_sum_unit`): the decision the threshold makes hardest.

A layer within one array is read by a sense amplifier in both designs; the last layer (not
split, ``spMNIST_Model.lua``) needs its sums in both, so it uses the ADCs in both.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from ..circuits.sense_amp import eval_window
from ..sim.components import BlockFigures
from ..sim.corners import table_record
from ..sim.library_cache import load_spec_blocks, load_spec_library
from ..sim.spec import load_system_spec
from . import StudyError
from .provenance import costs

__all__ = ["COMPONENTS", "Hardware", "LayerUse", "Prices", "energy", "highest_sar_bits", "layer_uses", "merge_ops",
           "merge_width", "read_blocks", "read_prices", "sense_point", "table_value"]

COMPONENTS = ("word-line drivers", "cells", "sense amplifiers", "sample-and-hold", "ADCs", "digital merge",
              "buffers")
READOUT = ("sense amplifiers", "sample-and-hold", "ADCs")


@dataclass(frozen=True)
class Hardware:
    """The electrical case. Cells: 10 / 1 uS at 0.1 V keep a column pair's current (half the
    rows active, half of them on) at 35-140 uA for 128-512 rows, inside the sense amplifier's
    characterized 5-200 uA reference (the library cell's window is 1-100 uS; 0.1 V is the
    driver's lowest characterized read voltage). ``c_cell``: row capacitance per cell (F), the
    toolkit's assumption in circuits/row_load.py (1.5 fF). ``vdd``: the 45 nm cards' nominal
    supply (V), as the shipped baseline system; ``v_in``: the sampled level (V), as there.

    Column multiplexing (latency and area, :mod:`.bnn_latency_area`): ``pairs_per_adc``
    column pairs share one sample-and-hold-fed ADC, converted in turn: 64, ISAAC's one ADC
    per 128 columns (its 8 ADCs serve 8 arrays of 128 x 128, each converting its array's
    columns one after another), a differential pair being one conversion here;
    ``pairs_per_sa`` pairs share one sense amplifier: 1, every pair read at once, the
    parallel read that 1-bit sense amplifiers make possible (the paper's body, which would
    say, was not reachable; DNN+NeuroSim shares one read circuit among 8 columns,
    ``numColMuxed``). An array with fewer pairs gives each circuit at most its own."""

    v_read: float = 0.1
    g_on: float = 10e-6
    g_off: float = 1e-6
    c_cell: float = 1.5e-15
    vdd: float = 1.1
    v_in: float = 0.55
    pairs_per_adc: int = 64
    pairs_per_sa: int = 1

    def __post_init__(self):
        for name in ("pairs_per_adc", "pairs_per_sa"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise StudyError(f"input-splitting Hardware: {name} = {v!r}: must be a whole number of column "
                                 "pairs, at least 1")

    def column_current(self, rows: int, activity: float) -> float:
        """A: mean current of one column of a pair, ``activity`` of its ``rows`` driven."""
        return activity * rows * self.v_read * 0.5 * (self.g_on + self.g_off)

    def partial_sum_unit(self) -> float:
        """A: the current difference of a column pair per unit of its +-1 partial sum (a
        driven row moves one column by g_on and the other by g_off; ``x = 2b - 1`` halves it)."""
        return self.v_read * (self.g_on - self.g_off) / 2


@dataclass(frozen=True)
class Prices:
    """J per event (and the array's read window, s): ``driver`` per word-line pulse, ``sa``
    per sense-amplifier decision, ``adc`` per conversion at ``adc_bits``, ``sh`` per sample;
    ``t_sa`` / ``t_sh``: how long the cells conduct per sense-amplifier / sampled read;
    ``add_bit``: a digital add or compare per bit of width; ``buffer_bit``: an activation bit
    read or written. ``sources``: where each came from (library key and point, or constant)."""

    driver: float
    sa: float
    t_sa: float
    adc: float
    adc_bits: int
    sh: float
    t_sh: float
    add_bit: float
    buffer_bit: float
    sources: dict

    def scaled(self, **factors) -> Prices:
        """These prices with some multiplied (``sa=2.0``...)."""
        return replace(self, **{k: getattr(self, k) * v for k, v in factors.items()})


def _spec(rows: int, bits: int, hw: Hardware):
    """The shipped baseline system re-pointed at this case: its library, ``bits``-bit SAR ADCs,
    the case's read voltage and a ``rows``-column row's capacitance."""
    return load_system_spec("baseline").updated({
        "name": f"bnn-{rows}-{bits}b", "array": {"rows": rows, "cols": rows, "v_read": hw.v_read},
        "adc": {"bits": bits, "partial_sum_bits": bits, "transfer": "ideal"},
        "operating_point": {"vdd": hw.vdd, "c_row": hw.c_cell * rows, "v_in": hw.v_in}})


def highest_sar_bits(library: dict) -> int:
    """The highest resolution of ``adc_sar_{bits}b`` in ``library``."""
    found = [b for b in range(1, 17) if f"adc_sar_{b}b.energy_per_conversion" in library]
    if not found:
        raise StudyError("the component library has no adc_sar_{bits}b block")
    return max(found)


def table_value(spec, library: dict, key: str, point: dict) -> tuple[float, dict]:
    """Value of library table ``key`` at ``point`` (its inputs taken from it) and its record."""
    s = library.get(key)
    if s is None:
        block = key.split(".")[0]
        raise StudyError(f"{spec.library}: no {key!r}; add block {block} with `cimspice library build -o "
                         f"library.h5 --only {block}`")
    at = {n: point[n] for n in s.inputs}
    for n, v in at.items():
        lo, hi = s.domain[n]
        if not lo <= v <= hi:
            raise StudyError(f"{key}: {n} = {v:g} outside its characterized {lo:g} .. {hi:g}")
    value = float(s.predict({n: [v] for n, v in at.items()})[0])
    return value, table_record(spec, key, key, s, key, at)


def read_blocks(rows: int, bits: int, hw: Hardware = Hardware(), library=None, blocks=None):
    """(spec, :class:`~cimspice.sim.components.BlockFigures`) of the case at ``rows`` with
    ``bits``-bit SARs: the simulator's reading of the driver, sample-and-hold, ADC and cell
    blocks (energy, time, area); ``library`` / ``blocks``: tables and records, when read."""
    spec = _spec(rows, bits, hw)
    library = load_spec_library(spec) if library is None else library
    figures = BlockFigures.read(spec, library, load_spec_blocks(spec) if blocks is None else blocks,
                                lambda field, key, at: table_record(spec, field, key, library[key], key, at))
    return spec, figures


def sense_point(i_col: float, hw: Hardware, library: dict) -> tuple[dict, list[str]]:
    """The sense amplifier's table point for a column of ``i_col`` (A): ``i_ref`` at the
    column current, ``overdrive`` = one unit of a partial sum over it, each clipped into
    ``sense_amp.energy``'s domain; and a note per clipped input."""
    point = {"i_ref": i_col, "overdrive": hw.partial_sum_unit() / i_col, "vdd": hw.vdd}
    s = library.get("sense_amp.energy")
    if s is None:
        return point, []              # table_value refuses it, with the command that adds it
    if "overdrive" not in s.inputs:
        raise StudyError(f"sense_amp.energy: characterized over {', '.join(s.inputs)}, not at its reference "
                         "(i_ref, overdrive); rebuild it with `cimspice library build -o library.h5 --only sense_amp`")
    notes = []
    for name, text, unit, scale in (("i_ref", "column current", "uA", 1e6), ("overdrive", "overdrive", "", 1.0)):
        lo, hi = s.domain[name]
        v = min(max(point[name], lo), hi)
        if v != point[name]:
            notes.append(f"{text} {point[name] * scale:.4g}{unit and ' ' + unit} clipped to the table's "
                         f"{v * scale:.4g}{unit and ' ' + unit}")
            point[name] = v
    return point, notes


def read_prices(rows: int, bits: int, i_col: float, hw: Hardware = Hardware(), library=None, blocks=None) -> Prices:
    """The case's prices: driver, sample-and-hold and ``bits``-bit SAR through the simulator's
    block reader (:class:`cimspice.sim.components.BlockFigures`: a resolution the library
    lacks is refused with the command that adds it), the sample time from its table, and
    the sense amplifier's energy from its table with its reference at ``i_col`` (A) and the
    bit line one unit of a partial sum above (:func:`sense_point`: clipped into the table's
    domain, and said so); its read window is the amplifier's evaluation window there.
    ``library`` / ``blocks``: the spec library's tables and block records, when already read."""
    library = load_spec_library(_spec(rows, bits, hw)) if library is None else library
    spec, blocks = read_blocks(rows, bits, hw, library, blocks)
    at, notes = sense_point(i_col, hw, library)
    sa, sa_rec = table_value(spec, library, "sense_amp.energy", at)
    t_sh, sh_rec = table_value(spec, library, "sample_hold.t_acq", {"vdd": hw.vdd, "v_in": hw.v_in})
    if notes:
        sa_rec = {**sa_rec, "note": "; ".join(notes)}
    i_ref, i_bl = at["i_ref"], at["i_ref"] * (1 + at["overdrive"])
    add8 = costs.HOROWITZ["add8"]
    sources = {**blocks.records, "sense_amp.energy": sa_rec, "sample_hold.t_acq": sh_rec,
               "add_bit": add8.record() | {"scaling": "/ 8 per bit of width"},
               "buffer_bit": costs.BUFFER_BIT_ENERGY.record(),
               "t_sa": {"kind": "computed", "from": "cimspice.circuits.sense_amp.eval_window: T_EVAL_MIN + Q_DECIDE / "
                        "min(i_bl, i_ref), at the energy's point", "i_ref": i_ref, "i_bl": i_bl}}
    return Prices(driver=blocks.driver_energy, sa=sa, t_sa=eval_window(i_bl, i_ref),
                  adc=blocks.adc_energy[bits], adc_bits=bits, sh=blocks.sample_hold_energy, t_sh=t_sh,
                  add_bit=float(add8) / 8, buffer_bit=float(costs.BUFFER_BIT_ENERGY), sources=sources)


@dataclass(frozen=True)
class LayerUse:
    """One layer on the arrays: ``tiles`` row tiles (groups), read by ``readout`` ("sa":
    one array; "split": a sense amplifier per group and a majority; "adc": partial sums)."""

    n_in: int
    n_out: int
    activity: float
    tiles: int
    readout: str
    last: bool


def layer_uses(sizes, activities, rows: int, split: bool) -> list[LayerUse]:
    """The layers of a network of widths ``sizes`` on ``rows``-row arrays; ``split``: the
    hidden-to-hidden layers are split (the first and last never are)."""
    out = []
    n = len(sizes) - 1
    for i, (a, b, act) in enumerate(zip(sizes[:-1], sizes[1:], activities)):
        tiles = math.ceil(a / rows)
        last = i == n - 1
        kind = "adc" if last or tiles > 1 else "sa"
        if split and 0 < i < n - 1 and tiles > 1:
            kind = "split"
        out.append(LayerUse(a, b, act, tiles, kind, last))
    return out


def merge_width(u: LayerUse, adc_bits: int) -> int:
    """Bits of the layer's digital merge: partial sums of ``adc_bits`` summed over its row
    tiles, or the count of its groups' (or one array's) bits."""
    if u.readout == "adc":
        return adc_bits + math.ceil(math.log2(u.tiles))
    return math.ceil(math.log2(u.tiles + 1))


def merge_ops(u: LayerUse) -> int:
    """Digital adds and compares of the layer per inference: each output's tiles (groups)
    added, then compared with its threshold (the last layer: the arg-max's compares)."""
    compares = u.n_out - 1 if u.last else (u.n_out if u.readout != "sa" else 0)
    return u.n_out * (u.tiles - 1) + compares


def energy(uses: list[LayerUse], p: Prices, rows: int, hw: Hardware = Hardware()) -> dict[str, float]:
    """J per inference by component (:data:`COMPONENTS`)."""
    e = dict.fromkeys(COMPONENTS, 0.0)
    for u in uses:
        col_tiles = math.ceil(2 * u.n_out / rows)
        active = u.activity * u.n_in
        e["word-line drivers"] += active * col_tiles * p.driver
        reads = u.n_out * u.tiles
        t_read = p.t_sh if u.readout == "adc" else p.t_sa
        # every driven row's cell pair of every output conducts for the read window
        e["cells"] += active * u.n_out * hw.v_read ** 2 * (hw.g_on + hw.g_off) * t_read
        if u.readout == "adc":
            e["ADCs"] += reads * p.adc
            e["sample-and-hold"] += reads * p.sh
        else:
            e["sense amplifiers"] += reads * p.sa
        width = merge_width(u, p.adc_bits)
        e["digital merge"] += merge_ops(u) * width * p.add_bit
        out_bits = u.n_out * (width if u.last else 1)
        e["buffers"] += (u.n_in + out_bits) * p.buffer_bit
    return e


def readout(e: dict) -> float:
    """J per inference of the read-out converters: ADCs, their sample-and-holds, sense amplifiers."""
    return sum(e[k] for k in READOUT)
