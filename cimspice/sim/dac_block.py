"""The multi-level row DAC a system names (``inputs.dac``, with ``inputs.encoding: dac``),
priced from its library block code by code.

A DAC's energy per conversion is not one number: it is the buffer's bias plus vdd times the
row current (which grows with the code) plus the gate energy of the bits the code sets
(cimspice.library.dac_blocks). So the simulator counts, per layer, how many conversions
it drove at each code (the histogram of the codes, event ``dac_codes``) and prices each code
at its own energy, evaluated once per code at the operating point before any work:

- ``energy[c]`` (J) = ``energy_driver(c)`` over the block's window ``t_conv`` +
  ``power_driver(c)`` x (``hold`` - ``t_conv``): a conversion holds its level for ``hold``
  = the rows' settling + ``array.t_read`` (the cells' own dissipation is the array energy);
- ``settling`` (s): the top code's ``settling_time``. Every read waits for it before its
  read window (a clocked array cannot wait for the data: the full-scale step is the worst
  case); event ``time:dac_settle``, booked with the arrays' read cycles.

Every code is priced, 0 included: the buffer holds an idle row at ``v_ref`` with its bias
current on (the circuit has no power-down). The block must be of resolution ``inputs.bits``
and make the simulator's levels (its top code ``array.v_read`` above ``v_ref``); anything
else is refused with the command that adds the right block, nothing is scaled. The row's
cell conductance ``g_row`` is ``operating_point.g_row``, else the array's mid-window row,
``cols x (g_on + g_off) / 2``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np

from .. import CimspiceError
from .corners import fixed_inputs
from .spec import DAC_TABLES

__all__ = ["DacFigures", "read_dac"]

#: unit of each output of an ``inputs.dac`` block the simulator reads (spec.DAC_TABLES)
_UNITS = {"energy_driver": "J", "power_driver": "W", "settling_time": "s"}


@dataclass
class DacFigures:
    """The characterized row DAC at the operating point.

    Attributes
    ----------
    energy : (2**bits,) J per conversion at each code, held for ``hold``
    settling : s, the top code's settling time, waited for by every read
    hold : s, how long a conversion holds its level (``settling + array.t_read``)
    """

    energy: np.ndarray
    settling: float
    hold: float

    def count(self, backend, layer: str, codes: np.ndarray) -> None:
        """Book the conversions of ``codes`` (reads, vectors, rows: indices of the levels)
        into ``backend.ledger``: their histogram (2**bits,) as ``dac_codes``, and the reads'
        wait for the rows to settle (s per inference) as ``time:dac_settle``."""
        ledger = backend.ledger
        ledger.add(layer, "dac_codes", np.bincount(codes.ravel(), minlength=self.energy.size))
        ledger.add(layer, "time:dac_settle", codes.shape[0] * codes.shape[1] / backend.batch * self.settling)


def read_dac(spec, reader) -> DacFigures:
    """The :class:`DacFigures` of ``spec.inputs.dac`` through a component reader
    (:class:`cimspice.sim.components.BlockReader`: tables, operating point, records, refusals)."""
    block, bits = spec.inputs.dac, spec.inputs.bits
    first = reader.surrogate("inputs.dac", f"{block}.energy_driver", "J")   # refused when missing
    _check_resolution(reader, block, bits, first)
    fixed = {k: float(v) for k, v in fixed_inputs(first).items()}
    at = _operating_point(spec, reader, block, bits, first, fixed)
    if "t_conv" not in fixed:
        reader.fail("inputs.dac", f"{block}.energy_driver records no fixed conversion window t_conv (its inputs: "
                                   f"{', '.join(first.inputs)}); build it with `cimspice library build`")
    t_conv = fixed["t_conv"]
    codes = np.arange(2 ** bits, dtype=float)
    energy, power, settle = (_at_codes(reader, field, f"{block}.{out}", _UNITS[out], at, codes)
                             for field, out in DAC_TABLES.items())
    settling = float(settle[-1])
    if not (np.isfinite(settling) and settling > 0):
        reader.fail("inputs.dac.settling_time", f"{block}.settling_time gives {settling:g} s at the top code")
    hold = settling + spec.array.t_read
    per_code = energy + power * (hold - t_conv)
    if not np.all(np.isfinite(per_code) & (per_code > 0)):
        worst = int(np.argmin(np.where(np.isfinite(per_code), per_code, -np.inf)))
        reader.fail("inputs.dac", f"{block} gives {per_code[worst]:g} J at code {worst}")
    records = reader.out.records
    records["inputs.dac"]["model"] = (f"per code c: count(c) x ({block}.energy_driver(c) over t_conv={t_conv:g} s + "
                                      f"{block}.power_driver(c) x (settling {settling:.3g} s + array.t_read - t_conv)) "
                                      "(cimspice.sim.dac_block)")
    records["inputs.dac.settling_time"]["model"] = "the top code's settling, waited for by every read"
    return DacFigures(per_code, settling, hold)


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
    """The inputs the spec sets for the DAC's tables (``v_read`` if swept, ``g_row`` by
    default); a block made for another full scale is refused."""
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
    if "g_row" in surrogate.inputs and "g_row" not in spec.operating_point:
        at["g_row"] = a.cols * (a.g_on + a.g_off) / 2   # S: the mid-window row
    return at


def _at_codes(reader, field: str, key: str, unit: str, at: dict, codes: np.ndarray) -> np.ndarray:
    """Table ``key`` at every code in ``codes``, its other inputs at the operating point."""
    table = reader.table(field, key, unit, "code", at)
    try:
        return np.asarray(table.predict({"code": codes}, out_of_domain="error"), dtype=float).ravel()
    except CimspiceError as error:   # a code outside the characterized range
        reader.fail(field, str(error).splitlines()[0])
