"""The multi-level row DAC a system names (``inputs.dac``, with ``inputs.encoding: dac``),
priced from its library block code by code, at the load each layer's rows really carry.

A DAC's energy per conversion is not one number: it is the buffer's bias plus vdd times the
row current (which grows with the code and with the row's cell conductance ``g_row``) plus
the gate energy of the bits the code sets (cimspice.library.dac_blocks). So the simulator
counts, per layer, how many conversions it drove at each code (the histogram of the codes,
event ``dac_codes``) and prices each code at its own energy, evaluated once per code and
layer at that layer's row load:

- ``g_row`` (S): the load one DAC drives, from the layer's programmed arrays
  (:func:`programmed_g_row`): one DAC per array row (as the area counts them), driving every
  cell the mapping put on that row (both columns of a differential pair, every slice, an
  offset mapping's reference columns), at the conductances the cells hold (programming error
  included), the sum over the row, averaged over the layer's array rows. Measured when the
  arrays are programmed (:meth:`DacFigures.program`, called by
  :class:`cimspice.sim.tile.AnalogMatrix`). ``operating_point.g_row`` in the spec overrides
  it for every layer. A layer whose rows carry a ``g_row`` outside the block's characterized
  range is refused, unless ``array.out_of_domain: clip`` (then clipped onto the range, and
  the record says so);
- ``energy[c]`` (J) = ``energy_driver(c, g_row)`` over the block's window ``t_conv`` +
  ``power_driver(c, g_row)`` x (``hold`` - ``t_conv``): a conversion holds its level for
  ``hold`` = the rows' settling + ``array.t_read`` (the cells' own dissipation is the array
  energy);
- ``settling`` (s): the top code's ``settling_time`` at the layer's ``g_row``. Every read of
  the layer waits for it before its read window (a clocked array cannot wait for the data:
  the full-scale step is the worst case); event ``time:dac_settle``, booked with the arrays'
  read cycles.

Every code is priced, 0 included: the buffer holds an idle row at ``v_ref`` with its bias
current on (the circuit has no power-down). The block must be of resolution ``inputs.bits``
and make the simulator's levels (its top code ``array.v_read`` above ``v_ref``); anything
else is refused with the command that adds the right block, nothing is scaled. The tables
are checked before any work at the spec's ``g_row``, else at the array's mid-window row
``cols x (g_on + g_off) / 2`` (onto the characterized range): a block that gives no finite,
positive energy is refused there.

The records (``records["inputs.dac"]``, ``["inputs.dac.power"]``,
``["inputs.dac.settling_time"]``) carry the ``g_row`` (S) of each layer (``g_row``: layer ->
S; ``g_row_carried``: what a clipped layer's rows carry; the settling record's ``settling``:
layer -> s) and their ``model`` says which and where it comes from.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np

from .. import CimspiceError
from .corners import AtPoint, fixed_inputs
from .errors import SimError
from .spec import DAC_TABLES

__all__ = ["DacFigures", "DacPoint", "programmed_g_row", "read_dac"]

#: unit of each output of an ``inputs.dac`` block the simulator reads (spec.DAC_TABLES)
_UNITS = {"energy_driver": "J", "power_driver": "W", "settling_time": "s"}
#: layers named one by one in a record's model; more are given as a range (all in ``g_row``)
_NAMED_LAYERS = 4


@dataclass(frozen=True)
class DacPoint:
    """The row DAC's figures at one row load.

    Attributes
    ----------
    g_row : S, the load the tables were read at
    energy : (2**bits,) J per conversion at each code, held for ``hold``
    settling : s, the top code's settling time, waited for by every read
    hold : s, how long a conversion holds its level (``settling + array.t_read``)
    carried : S, the load the layer's programmed rows carry when it is outside the tables'
        range (``g_row`` is then its clip onto the range); None: not clipped
    """

    g_row: float
    energy: np.ndarray
    settling: float
    hold: float
    carried: float | None = None

    @property
    def clipped(self) -> bool:
        return self.carried is not None


def programmed_g_row(tiles) -> float:
    """S: the mean load of one row DAC of a matrix: each array row's programmed cell
    conductances summed (every column the mapping uses on it), averaged over every array row
    of ``tiles`` (:class:`~cimspice.sim.row_tile.RowTile`, their ``arrays``' ``G`` (rows, cols))."""
    sums = [G.sum(axis=1) for tile in tiles for _, G, _, _ in tile.arrays]
    return float(np.mean(np.concatenate(sums)))


def _g_range(tables) -> tuple[float, float]:
    """(lo, hi) S: the ``g_row`` range every one of ``tables`` was characterized over."""
    domains = [getattr(t, "surrogate", t).domain.get("g_row", (0.0, np.inf)) for t in tables]
    return max(d[0] for d in domains), min(d[1] for d in domains)


class DacFigures:
    """The characterized row DAC, per layer at the load its programmed rows carry.

    Attributes
    ----------
    layers : layer -> :class:`DacPoint`, filled by :meth:`program` as each matrix is programmed
    free : whether each layer's ``g_row`` is its own (else the spec's ``operating_point.g_row``
        or the block's fixed load, ``g_row`` (S; None: not recorded), prices every layer)
    g_range : (lo, hi) S, the ``g_row`` range every DAC table was characterized over
    checked : the :class:`DacPoint` the tables were checked at before any work (the spec's
        or the block's ``g_row``, else the array's mid-window row onto ``g_range``)
    records : the backend's source records by spec field, whose DAC entries :meth:`program`
        keeps saying which ``g_row`` each layer was priced at
    """

    def __init__(self, spec, tables: list, t_conv: float, records: dict, free: bool, g_row: float | None):
        self.block, self.source = spec.inputs.dac, spec.source
        self.tables = tables            # per DAC_TABLES field: the table with every input but code held
        self.t_conv, self.t_read = t_conv, spec.array.t_read
        self.free, self.g_row, self.clip = free, g_row, spec.array.out_of_domain == "clip"
        self._fixed_by = "operating_point.g_row" if "g_row" in spec.operating_point else f"{self.block}'s own load"
        self.records = records
        self.layers: dict[str, DacPoint] = {}
        self._codes = np.arange(2 ** spec.inputs.bits, dtype=float)
        self.g_range = _g_range(tables)
        if free:
            self.checked = self.at(tables[0].fixed["g_row"])
            for field in DAC_TABLES:             # the check's load is no priced point
                record = self.records[field]
                record["at"].pop("g_row")
                if not record["at"]:
                    del record["at"]
        else:
            self.checked = self.at(np.nan if g_row is None else g_row)
        self._describe()

    def at(self, g_row: float, carried: float | None = None) -> DacPoint:
        """The figures at row load ``g_row`` (S; ``carried``: the load the rows carry, when
        clipped onto :attr:`g_range`). Refuses a block that gives no finite positive energy
        or settling there."""
        tables = [AtPoint(t.surrogate, {**t.fixed, "g_row": g_row}) if self.free and "g_row" in t.fixed else t
                  for t in self.tables]
        fields = list(DAC_TABLES)
        energy, power = (self._predict(f, t, self._codes) for f, t in zip(fields[:2], tables[:2]))
        settling = float(self._predict(fields[2], tables[2], self._codes[-1:])[0])
        where = f" (g_row {g_row:.4g} S)" if self.free else ""
        if not (np.isfinite(settling) and settling > 0):
            self._fail(fields[2], f"{self.block}.settling_time gives {settling:g} s at the top code{where}")
        hold = settling + self.t_read
        per_code = energy + power * (hold - self.t_conv)
        if not np.all(np.isfinite(per_code) & (per_code > 0)):
            worst = int(np.argmin(np.where(np.isfinite(per_code), per_code, -np.inf)))
            self._fail(fields[0], f"{self.block} gives {per_code[worst]:g} J at code {worst}{where}")
        return DacPoint(float(g_row), per_code, settling, hold, carried)

    def program(self, layer: str, tiles) -> None:
        """Price ``layer``'s DACs at the load of its programmed ``tiles`` (:func:`programmed_g_row`);
        a load outside the tables' range is refused (``array.out_of_domain: error``) or
        clipped onto it (``clip``)."""
        if not self.free:
            self.layers[layer] = self.checked
            self._describe()
            return
        carried = programmed_g_row(tiles)
        lo, hi = self.g_range
        if not lo * (1 - 1e-9) <= carried <= hi * (1 + 1e-9) and not self.clip:   # the tables' own margin
            self._fail("inputs.dac", f"layer {layer}'s rows carry g_row = {carried:.4g} S (its programmed arrays), "
                                     f"outside {self.block}'s characterized g_row range [{lo:g}, {hi:g}] S: build "
                                     "the block over that range, or set array.out_of_domain: clip")
        g = min(max(carried, lo), hi)
        self.layers[layer] = self.at(g, carried if abs(carried - g) > 1e-9 * g else None)
        self._describe()

    def count(self, backend, layer: str, codes: np.ndarray, fan: int = 1) -> None:
        """Book the conversions of ``codes`` (reads, vectors, rows: indices of the levels)
        into ``backend.ledger``: their histogram (2**bits,) as ``dac_codes``, and the reads'
        wait for the rows to settle (s per inference, at ``layer``'s load) as ``time:dac_settle``."""
        ledger = backend.ledger
        # each code drives ``fan`` DACs: one per column array the input row spans
        ledger.add(layer, "dac_codes", fan * np.bincount(codes.ravel(), minlength=self._codes.size))
        settling = self.layers[layer].settling
        ledger.add(layer, "time:dac_settle", codes.shape[0] * codes.shape[1] / backend.batch * settling)

    def energy(self, layer: str) -> np.ndarray:
        """(2**bits,) J per conversion at each code of ``layer``'s DACs."""
        return self.layers[layer].energy

    def _predict(self, field: str, table, codes: np.ndarray) -> np.ndarray:
        try:
            return np.asarray(table.predict({"code": codes}, out_of_domain="error"), dtype=float).ravel()
        except CimspiceError as error:   # a code outside the characterized range
            self._fail(field, str(error).splitlines()[0])

    def _fail(self, field: str, why: str):
        raise SimError(f"{self.source}: {field}: {why}")

    def _describe(self) -> None:
        """The DAC records' ``g_row`` (layer -> S) and ``model``: which load priced each layer."""
        b = self.block
        if self.free:
            loads = "g_row from each layer's programmed arrays (one DAC per array row: the row's programmed cell " \
                    f"conductances summed, averaged over the layer's array rows): {self._listed('g_row', 1e3, 'mS')}"
            clipped = [name for name, p in self.layers.items() if p.clipped]
            if clipped:
                lo, hi = self.g_range
                loads += (f"; clipped onto the characterized [{lo:g}, {hi:g}] S (array.out_of_domain: clip) at "
                          + ", ".join(f"{n} (carries {self.layers[n].carried:.4g} S)" for n in clipped))
        elif self.g_row is not None:
            loads = f"g_row = {self.g_row:g} S for every layer ({self._fixed_by})"
        else:
            loads = f"the row load {b} was characterized at, for every layer"
        for field in DAC_TABLES:
            record = self.records[field]
            if self.free or self.g_row is not None:
                record["g_row"] = {name: p.g_row for name, p in self.layers.items()}
            if any(p.clipped for p in self.layers.values()):   # what the rows carry, where clipped
                record["g_row_carried"] = {name: p.carried for name, p in self.layers.items() if p.clipped}
        self.records["inputs.dac"]["model"] = (
            f"per code c: count(c) x ({b}.energy_driver(c, g_row) over t_conv={self.t_conv:g} s + "
            f"{b}.power_driver(c, g_row) x (settling + array.t_read - t_conv)); {loads} (cimspice.sim.dac_block)")
        self.records["inputs.dac.power"]["model"] = f"{b}.power_driver(c, g_row) over each hold; g_row as inputs.dac"
        self.records["inputs.dac.settling_time"]["settling"] = {name: p.settling for name, p in self.layers.items()}
        self.records["inputs.dac.settling_time"]["model"] = (
            "the top code's settling at each layer's g_row, waited for by every read of the layer: "
            f"{self._listed('settling', 1e9, 'ns')}")

    def _listed(self, what: str, scale: float, unit: str) -> str:
        """``what`` of each layer, named one by one (a few layers) or as a range over them."""
        values = {name: getattr(p, what) * scale for name, p in self.layers.items()}
        if not values:
            return "none programmed yet"
        if len(values) <= _NAMED_LAYERS:
            return ", ".join(f"{name} {v:.3g} {unit}" for name, v in values.items())
        v = list(values.values())
        return f"{min(v):.3g}-{max(v):.3g} {unit} over {len(v)} layers (per layer: the record's {what})"


def read_dac(spec, reader) -> DacFigures:
    """The :class:`DacFigures` of ``spec.inputs.dac`` through a component reader
    (:class:`cimspice.sim.components.BlockReader`: tables, operating point, records, refusals),
    checked before any work; each layer's figures follow as its arrays are programmed."""
    block, bits = spec.inputs.dac, spec.inputs.bits
    first = reader.surrogate("inputs.dac", f"{block}.energy_driver", "J")   # refused when missing
    _check_resolution(reader, block, bits, first)
    fixed = {k: float(v) for k, v in fixed_inputs(first).items()}
    at = _operating_point(spec, reader, block, bits, first, fixed)
    if "t_conv" not in fixed:
        reader.fail("inputs.dac", f"{block}.energy_driver records no fixed conversion window t_conv (its inputs: "
                                   f"{', '.join(first.inputs)}); build it with `cimspice library build`")
    free = "g_row" in first.inputs and "g_row" not in spec.operating_point
    if free:   # the tables checked at the mid-window row (onto their range); priced per layer
        lo, hi = _g_range([reader.surrogate(f, f"{block}.{out}", _UNITS[out]) for f, out in DAC_TABLES.items()])
        a = spec.array
        at["g_row"] = min(max(a.cols * (a.g_on + a.g_off) / 2, lo), hi)   # S
    tables = [reader.table(field, f"{block}.{out}", _UNITS[out], "code", at) for field, out in DAC_TABLES.items()]
    g_row = None if free else spec.operating_point.get("g_row", fixed.get("g_row"))
    return DacFigures(spec, tables, fixed["t_conv"], reader.out.records, free, g_row)


def _check_resolution(reader, block: str, bits: int, surrogate) -> None:
    """The block is a row DAC of ``bits`` bits (its provenance, else its block record)."""
    prov = getattr(surrogate, "provenance", None) or {}
    record = reader.blocks.get(block) or {}
    circuit = prov.get("block_circuit") or record.get("circuit")
    args = prov.get("block_circuit_args") or record.get("circuit_args") or "{}"
    if circuit != "dac":
        reader.fail("inputs.dac", f"{block} is not a row-DAC block (circuit {circuit or 'unknown'}, not dac)")
    have = int(json.loads(args).get("dac_bits", 0))
    if have != bits:
        want = f"dac_{bits}b"
        hint = "" if f"{want}.energy_driver" in reader.library else f"; add it with {reader.build_hint(want)}"
        reader.fail("inputs.dac", f"{block} is a DAC of {have} bits and inputs.bits is {bits}: name a block of "
                                   f"{bits} bits (the catalogue's {want}){hint}")


def _operating_point(spec, reader, block: str, bits: int, surrogate, fixed: dict) -> dict:
    """The inputs the spec sets for the DAC's tables (``v_read`` if swept; ``g_row``: the
    spec's ``operating_point``, else each layer's, :meth:`DacFigures.program`); a block made
    for another full scale is refused."""
    a, top = spec.array, 2 ** bits - 1
    at = {}
    if "v_read" in surrogate.inputs:                # the circuit's code 2**bits is v_ref + v_read
        at["v_read"] = a.v_read * 2 ** bits / top
    elif "v_read" in fixed:
        full = fixed["v_read"] * top / 2 ** bits
        if not np.isclose(full, a.v_read, rtol=1e-6, atol=0.0):
            reader.fail("inputs.dac", f"{block} puts its top code {full:g} V above v_ref, array.v_read is "
                                       f"{a.v_read:g} V: build a block for that full scale (nothing is scaled)")
    else:
        reader.fail("inputs.dac", f"{block} records no v_read (its full scale); build it with "
                                   "`cimspice library build`")
    return at
