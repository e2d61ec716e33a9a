"""Accelerator (system) description: YAML or a dict, validated into typed dataclasses.

Each field is declared once, on its dataclass below: type (``Literal[...]`` for choices),
default, unit, bounds and a one-line doc (:func:`cimspice.sim.spec_fields.spec_field`). The
reader walks those declarations; an unknown field, a wrong type or a value out of range raises
:class:`SimError` as ``SOURCE: section.field: reason`` before any work. Checks that involve
several fields follow the walk, section by section. docs/system.md's field table is
:func:`field_table` (scripts/gen_system_docs.py writes it; a test compares). In short::

    name: baseline
    array:      {rows, cols, cell: linear|sinh|surrogate, g_on, g_off, cell_bits, v_read, t_read, v0,
                 surrogate, fixed, cell_area}
    mapping:    {weights: differential|offset, slices}
    inputs:     {encoding: bit_serial|dac, bits, signed: two_phase|bipolar, driver: block, dac: block}
    adc:        {type: ideal|surrogate, bits, partial_sum_bits, range: calibrated|full, per_array, surrogate,
                 energy: {bits: key}, time: {bits: key}, energy_at: {input: value}, circuit: family}
    sense:      {type: ideal|surrogate, surrogate, energy, v_ref, transimpedance, circuit: block,
                 sample_hold: block}
    nonlinear:  {where: digital|reram_array, surrogates: {kind: name}, energy: {kind: name},
                 avg_pooling: digital|reram_array, max_pooling: digital|wta,
                 max_pooling_error: name, max_pooling_energy: name}
    attention:  {products: digital}
    tiling:     {split: partial_sums|input_splitting|none}
    nonidealities: {ir_drop, r_wire, solver: surrogate|exact, cell_nonlinearity,
                    programming_sigma, programming_error: relative|absolute, read_noise_sigma}
    library:    path of the surrogate library (relative to the spec file), `default` (the shipped one), or null
    operating_point: {input: value} (e.g. vdd) for the library tables' inputs the simulation does not drive
    corner:     process corner of the library's tables (each key read as key@corner), or null
    temp:       temperature (degC) the tables are evaluated at, or null
    seed:       integer (device variation and noise draws)
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from ..paths import DEFAULT_LIBRARY_NAME, default_library_path
from ..yamlio import load_yaml, yaml_problem
from . import spec_fields
from .costs import CELL_AREA, T_READ
from .errors import SimError
from .spec_fields import Section, read_fields, spec_field

__all__ = ["AdcSpec", "ArraySpec", "AttentionSpec", "InputSpec", "MappingSpec", "NonidealitySpec",
           "NonlinearSpec", "SenseSpec", "SystemSpec", "TilingSpec", "field_table", "load_system_spec",
           "parse_system_spec", "shipped_systems"]

# Defaults of the ReRAM model shipped in netlists/reram.lib (g_on=100u g_off=1u v0=0.25);
# tests/test_sim_spec.py checks they still agree with that file.
RERAM_G_ON, RERAM_G_OFF, RERAM_V0 = 100e-6, 1e-6, 0.25

# Nominal TIA design (cimspice.circuits.tia defaults: v_ref 0.75 V, r_f 5 kOhm)
SENSE_V_REF, SENSE_TRANSIMPEDANCE = 0.75, 5e3

_KEY = {"values": "library key", "nonempty": True}   # a dict of library keys

#: spec field -> output of an ``inputs.dac`` block the simulator reads (cimspice.sim.components)
DAC_TABLES = {"inputs.dac": "energy_driver", "inputs.dac.power": "power_driver",
              "inputs.dac.settling_time": "settling_time"}

#: from this resolution on the catalogue's SAR blocks carry bit weights (``weight_err_j``)
#: and offsets (the weight test), not ``inl_k``: cimspice.library.blocks.SAR_WEIGHT_BITS
WEIGHT_TEST_BITS = 3
#: from this resolution they also carry the transfer's bow, its Legendre coefficients
#: ``bow_p2`` .. ``bow_p{BOW_DEGREE}``: cimspice.circuits.adc_sar_bow.BOW_BITS and BOW_DEGREE
BOW_BITS, BOW_DEGREE = 7, 9


@dataclass(frozen=True, kw_only=True)
class ArraySpec:
    """One crossbar array."""

    rows: int = spec_field(64, "word lines per array", min=1, max=4096)
    cols: int = spec_field(64, "bit lines per array", min=1, max=4096)
    cell: Literal["linear", "sinh", "surrogate"] = spec_field(
        "linear", "read law: `G V`, `G v0 sinh(V/v0)` (netlists/reram.lib), or the library's `array.surrogate`")
    g_on: float = spec_field(RERAM_G_ON, "on-state conductance (reram.lib); above `g_off`", unit="S", positive=True)
    g_off: float = spec_field(RERAM_G_OFF, "off-state conductance (reram.lib)", unit="S", positive=True)
    cell_bits: int | None = spec_field(2, "2^cell_bits levels per cell; null: continuous", min=1, max=8)
    v_read: float = spec_field(0.2, "read voltage of a full-scale input", unit="V", positive=True, max=5.0)
    t_read: float = spec_field(T_READ, "read time", unit="s", positive=True)
    v0: float = spec_field(RERAM_V0, "voltage scale of the sinh cell (reram.lib)", unit="V", positive=True)
    surrogate: str | None = spec_field(None, "library key of the cell-current surrogate (`cell: surrogate`)")
    fixed: dict[str, float] = spec_field(
        {}, "the cell surrogate's other inputs, held at these values (e.g. `{v_wl: 1.1}`)",
        keys="surrogate input names",
        values="number")
    out_of_domain: Literal["error", "clip"] = spec_field(
        "error", "a cell surrogate read, or a layer's row load for `inputs.dac`, outside its characterized "
                 "domain: refused, or clipped onto its edge")
    cell_area: float | None = spec_field(
        None, f"area of one cell; null: costs.CELL_AREA ({CELL_AREA:.2g} m^2)", unit="m^2", positive=True)


@dataclass(frozen=True, kw_only=True)
class MappingSpec:
    """Weights onto conductances (cimspice.sim.mapping)."""

    weights: Literal["differential", "offset"] = spec_field(
        "differential", "differential pairs, or offset binary with reference columns")
    slices: int = spec_field(4, "cells per weight (bit slicing): weights of `slices * cell_bits` bits", min=1,
                             max=8, default_note="4 (1 if `array.cell_bits` is null)")


@dataclass(frozen=True, kw_only=True)
class InputSpec:
    """Inputs onto word-line voltages."""

    encoding: Literal["bit_serial", "dac"] = spec_field(
        "bit_serial", "one 1-bit pulse per input bit, or one read at DAC levels")
    bits: int | None = spec_field(8, "input resolution; null (`dac` only): ideal DAC, no clipping", min=1, max=16)
    signed: Literal["two_phase", "bipolar"] = spec_field(
        "two_phase", "signed inputs as a positive and a negative phase, or bipolar voltages")
    driver: str | None = spec_field(
        None, "library block of the bit-serial row driver (e.g. `wl_driver`): its `energy_driver` per pulse at "
              "`array.v_read` and its area per row; null: the cited 1-bit driver (costs.DAC1_ENERGY)", nonempty=True)
    dac: str | None = spec_field(
        None, "library block of the multi-level row DAC (`encoding: dac`, e.g. `dac_8b`, at `inputs.bits`): its "
              "energy at each code the rows are driven with (`energy_driver`, `power_driver` over the hold), its "
              "full-scale `settling_time` per read, both at each layer's programmed row load `g_row` "
              "(`operating_point.g_row` overrides), and its area per row; null: the cited DAC (costs.dac_energy)",
        nonempty=True)


@dataclass(frozen=True, kw_only=True)
class AdcSpec:
    """The column ADCs."""

    type: Literal["ideal", "surrogate"] = spec_field(
        "ideal", "ideal quantiser, or the characterized ADC `adc.surrogate`")
    bits: int | None = spec_field(8, "resolution of arrays with whole outputs; null: ideal converter", min=2, max=24)
    partial_sum_bits: int | None = spec_field(
        12, "resolution of arrays whose outputs are partial sums (`split: partial_sums`)", min=2, max=24)
    range: Literal["calibrated", "full"] = spec_field(
        "calibrated", "full scale: the largest current on calibration data, or every possible current")
    per_array: int = spec_field(1, "ADCs shared by an array's columns (sets the read cycle)", min=1, max=4096)
    surrogate: str | None = spec_field(None, "library key of the characterized ADC (`type: surrogate`)")
    energy: dict[int, str] = spec_field(
        {}, "resolution -> library key of a characterized energy per conversion; other resolutions: the "
            "cited constant", unit="J", keys="ADC resolutions in bits", key_min=2, key_max=24, **_KEY)
    time: dict[int, str] = spec_field(
        {}, "resolution -> library key of a characterized time per conversion; other resolutions: the cited "
            "rate (costs.ADC_RATE)", unit="s", keys="ADC resolutions in bits", key_min=2, key_max=24, **_KEY)
    energy_at: dict[str, float] = spec_field(
        {}, "the energy and time surrogates' other inputs (e.g. `{vdd: 1.1, t_clk: 2.0e-9}`); over "
            "`operating_point`", keys="surrogate input names", values="number")
    circuit: str | None = spec_field(
        None, "ADC family of the library (e.g. `adc_sar`): each resolution used reads block `{circuit}_{bits}b` "
              "(energy_per_conversion, t_conversion, area); a resolution it lacks is refused", nonempty=True)
    transfer: Literal["ideal", "measured"] = spec_field(
        "ideal", "the conversion: a uniform quantiser, or the measured INL at every transition of `adc.circuit`'s "
                 "block (`inl_1` ..)")


@dataclass(frozen=True, kw_only=True)
class SenseSpec:
    """Sense circuit between the columns and the ADC (cimspice.sim.peripherals)."""

    type: Literal["ideal", "surrogate"] = spec_field(
        "ideal", "identity, or the characterized sense circuit `sense.surrogate`")
    surrogate: str | None = spec_field(
        None, "library key of its transfer: column current (A) -> voltage to the ADC (V), e.g. `tia.v_out`")
    energy: str | None = spec_field(None, "library key of its energy per read, e.g. `tia.energy_read`", unit="J")
    v_ref: float = spec_field(SENSE_V_REF, "nominal TIA reference, to refer its output voltage back to a current",
                              unit="V", positive=True, max=5.0)
    transimpedance: float = spec_field(SENSE_TRANSIMPEDANCE, "nominal TIA transimpedance, for the same", unit="ohm",
                                       positive=True)
    circuit: str | None = spec_field(
        None, "library block of the bit-line sense circuit (e.g. `tia_array`): its transfer `v_out`, energy per read "
              "(`energy_read` over the block's read window, `power` over the rest of `array.t_read`) and area; its "
              "reference and transimpedance from the block's record", nonempty=True)
    sample_hold: str | None = spec_field(
        None, "library block of the column sample-and-hold (e.g. `sample_hold`): its `energy` per sample and area "
              "per column; null: the cited one (costs.SH_ENERGY)", nonempty=True)


@dataclass(frozen=True, kw_only=True)
class NonlinearSpec:
    """Activations and pooling: digital units or ReRAM circuits."""

    where: Literal["digital", "reram_array"] = spec_field(
        "digital", "activations on digital units, or on reprogrammable PWL arrays (`nonlinear.surrogates`)")
    surrogates: dict[str, str] = spec_field(
        {}, "kind (`tanh`, ...) -> library key of the array's transfer", keys="nonlinearity kinds", **_KEY)
    energy: dict[str, str] = spec_field(
        {}, "kind -> library key of the array's energy per evaluation; other kinds: the digital unit's price",
        unit="J", keys="nonlinearity kinds", **_KEY)
    avg_pooling: Literal["digital", "reram_array"] = spec_field(
        "digital", "average pooling by digital adds, or on one column of equal ReRAM cells per window")
    max_pooling: Literal["digital", "wta"] = spec_field(
        "digital", "max pooling by digital compares, or on a winner-take-all circuit per window")
    max_pooling_error: str | None = spec_field(
        None, "library key of the winner-take-all's error (`max_pooling: wta`)", unit="V")
    max_pooling_energy: str | None = spec_field(
        None, "library key of its energy per evaluation (`max_pooling: wta`)", unit="J")


@dataclass(frozen=True, kw_only=True)
class AttentionSpec:
    products: Literal["digital"] = spec_field("digital", "activation-activation products")


@dataclass(frozen=True, kw_only=True)
class TilingSpec:
    split: Literal["partial_sums", "input_splitting", "none"] = spec_field(
        "partial_sums",
        "layers with more inputs than `array.rows`: partial sums, input splitting (Kim et al.), or refused")


@dataclass(frozen=True, kw_only=True)
class NonidealitySpec:
    ir_drop: bool = spec_field(False, "wire IR drop")
    r_wire: float = spec_field(1.0, "resistance of one wire segment", unit="ohm", min=0.0)
    solver: Literal["surrogate", "exact"] = spec_field(
        "surrogate", "IR drop through the linear crossbar's transfer matrix, or every read solved exactly")
    cell_nonlinearity: bool = spec_field(False, "off: cells are ideal `G V` whatever `array.cell`")
    programming_sigma: float = spec_field(0.0, "std of the programming error", min=0.0, max=2.0)
    programming_error: Literal["relative", "absolute"] = spec_field(
        "relative", "lognormal, or Gaussian as a fraction of `g_on - g_off`")
    read_noise_sigma: float = spec_field(0.0, "relative std of each cell's read current", min=0.0, max=2.0)


@dataclass(frozen=True, kw_only=True)
class SystemSpec:
    name: str = spec_field("system", "name in reports; null or empty: `system`")
    array: ArraySpec = field(default_factory=ArraySpec)
    mapping: MappingSpec = field(default_factory=MappingSpec)
    inputs: InputSpec = field(default_factory=InputSpec)
    adc: AdcSpec = field(default_factory=AdcSpec)
    sense: SenseSpec = field(default_factory=SenseSpec)
    nonlinear: NonlinearSpec = field(default_factory=NonlinearSpec)
    attention: AttentionSpec = field(default_factory=AttentionSpec)
    tiling: TilingSpec = field(default_factory=TilingSpec)
    nonidealities: NonidealitySpec = field(default_factory=NonidealitySpec)
    library: str | None = spec_field(
        None, "surrogate library (HDF5), relative to the spec file; `default`: the library shipped with cimspice "
              "(docs/library.md)")
    corner: str | None = spec_field(
        None, "process corner of the library's tables: each library key read as `key@corner` "
              "(`cimspice simulate --corner`); null: the keys as named", nonempty=True)
    temp: float | None = spec_field(
        None, "temperature the library's tables are evaluated at (their `temp` input; a table without one must "
              "have been characterized there); null: as characterized", unit="degC", min=-273.15)
    operating_point: dict[str, float] = spec_field(
        {}, "inputs of the library's tables the simulation does not drive, held at these values (e.g. "
            "`{vdd: 1.1, c_row: 2.0e-13}`); every name must be an input of a table the spec reads",
        keys="surrogate input names", values="number")
    seed: int = spec_field(0, "seed of the device variation and noise draws", min=0)
    source: str = spec_field("<spec>", "where the spec came from, for messages", internal=True)

    @property
    def weight_bits(self) -> int | None:
        """Bits of one weight magnitude's representation (None: continuous)."""
        b = self.array.cell_bits
        return None if b is None else b * self.mapping.slices

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d.pop("source")
        return d

    def updated(self, changes: dict, source: str | None = None) -> SystemSpec:
        """A copy with nested ``changes`` (e.g. ``{"adc": {"bits": 4}}``), validated again."""
        merged = self.to_dict()
        for key, value in changes.items():
            if isinstance(value, dict) and isinstance(merged.get(key), dict) and key not in ("fixed", "surrogates",
                                                                                             "operating_point"):
                merged[key] = {**merged[key], **value}
            else:
                merged[key] = value
        return parse_system_spec(merged, source or self.source)

    def library_keys(self) -> list[tuple[str, str]]:
        """(field, library key) of every surrogate this spec reads, e.g. ``("adc.energy.6", "adc.energy")``."""
        a, adc, s, n = self.array, self.adc, self.sense, self.nonlinear
        keys = [("array.surrogate", a.surrogate if a.cell == "surrogate" else None),
                ("adc.surrogate", adc.surrogate if adc.type == "surrogate" else None)]
        if s.type == "surrogate":
            keys += [("sense.surrogate", s.surrogate), ("sense.energy", s.energy)]
        keys += [(f"adc.{what}.{bits}", key) for what in ("energy", "time") for bits, key in getattr(adc, what).items()]
        if n.where == "reram_array":
            keys += [(f"nonlinear.{what}.{kind}", key) for what in ("surrogates", "energy")
                     for kind, key in getattr(n, what).items()]
        if n.max_pooling == "wta":
            keys += [("nonlinear.max_pooling_error", n.max_pooling_error),
                     ("nonlinear.max_pooling_energy", n.max_pooling_energy)]
        return [(field, key) for field, key in keys + self.block_keys() if key]

    def adc_resolutions(self) -> list[int]:
        """The finite ADC resolutions this system converts at (``bits``, and ``partial_sum_bits``
        where partial sums leave an array)."""
        bits = {self.adc.bits, self.adc.partial_sum_bits if self.tiling.split == "partial_sums" else None}
        return sorted(b for b in bits if b is not None)

    def block_keys(self) -> list[tuple[str, str]]:
        """(field, library key) of the tables read from the library's blocks (``inputs.driver``,
        ``sense.sample_hold``, ``adc.circuit``): e.g. ``("adc.circuit.6.energy",
        "adc_sar_6b.energy_per_conversion")``."""
        keys = []
        if self.inputs.driver and self.inputs.encoding == "bit_serial":
            keys.append(("inputs.driver", f"{self.inputs.driver}.energy_driver"))
        if self.inputs.dac and self.inputs.encoding == "dac":
            keys += [(field, f"{self.inputs.dac}.{output}") for field, output in DAC_TABLES.items()]
        if self.sense.sample_hold:
            keys.append(("sense.sample_hold", f"{self.sense.sample_hold}.energy"))
        if self.sense.circuit:
            keys += [(f"sense.circuit.{what}", f"{self.sense.circuit}.{what}")
                     for what in ("v_out", "energy_read", "power")]
        if self.adc.circuit:
            for bits in self.adc_resolutions():
                block = f"{self.adc.circuit}_{bits}b"
                keys += [(f"adc.circuit.{bits}.energy", f"{block}.energy_per_conversion"),
                         (f"adc.circuit.{bits}.time", f"{block}.t_conversion")]
                if self.adc.transfer == "measured":
                    # a ramp-tested block's INL at each transition; from WEIGHT_TEST_BITS on the
                    # catalogue's SARs carry bit weights and offsets instead
                    if self.adc.circuit == "adc_sar" and bits >= WEIGHT_TEST_BITS:
                        bow = tuple(f"bow_p{p}" for p in range(2, BOW_DEGREE + 1)) if bits >= BOW_BITS else ()
                        keys += [(f"adc.circuit.{bits}.{name}", f"{block}.{name}") for name in
                                 ("offset", "decision_offset", *(f"weight_err_{j}" for j in range(1, bits + 1)), *bow)]
                    else:
                        keys += [(f"adc.circuit.{bits}.inl_{k}", f"{block}.inl_{k}") for k in range(1, 2 ** bits)]
        return keys

    @property
    def nonideal(self) -> bool:
        n = self.nonidealities
        return n.ir_drop or n.cell_nonlinearity or n.programming_sigma > 0 or n.read_noise_sigma > 0


def field_table() -> str:
    """docs/system.md's table of every spec field (Markdown), from the declarations above."""
    return spec_fields.field_table(SystemSpec)


# --- checks that involve several fields, run once a section has been read -------------------

def _check_array(s: dict, fail):
    a = s["array"]
    if not a.g_on > a.g_off:
        fail("g_on", f"must exceed g_off ({a.g_off:g} S), got {a.g_on:g} S")
    if a.cell == "surrogate" and not a.surrogate:
        fail("surrogate", "cell 'surrogate' needs the library key of the cell-current surrogate")


def _check_mapping(s: dict, fail):
    m, cell_bits, cols = s["mapping"], s["array"].cell_bits, s["array"].cols
    if cell_bits is None and m.slices != 1:
        fail("slices", "bit slicing needs discrete cell levels (array.cell_bits), got cell_bits: null")
    if m.weights == "offset" and cell_bits is not None and cell_bits * m.slices < 2:
        fail("weights", "offset mapping needs at least 2 bits per weight (cell_bits * slices)")
    per_output = m.slices * (2 if m.weights == "differential" else 1)
    n_ref = 0 if m.weights == "differential" else (1 if m.slices == 1 else 2)
    if per_output + n_ref > cols:
        fail("slices", f"one output needs {per_output} columns (+{n_ref} reference), the array has {cols}")


def _check_inputs(s: dict, fail):
    i = s["inputs"]
    if i.bits is None and i.encoding == "bit_serial":
        fail("bits", "bit-serial inputs need a number of bits")
    if i.signed == "bipolar" and s["array"].cell == "surrogate":
        fail("signed", "bipolar inputs drive cells at negative voltages, outside a cell surrogate's "
                       "characterized domain; use two_phase")
    if i.dac and i.encoding == "dac" and i.bits is None:
        fail("dac", f"{i.dac} has a resolution; an ideal DAC (bits: null) has no circuit: give inputs.bits")
    if i.dac and i.encoding == "dac" and i.signed == "bipolar":
        fail("dac", f"{i.dac} makes levels from v_ref up only; bipolar inputs need levels below it: use two_phase")


def _check_adc(s: dict, fail):
    adc = s["adc"]
    if adc.type == "surrogate" and not adc.surrogate:
        fail("surrogate", "adc type 'surrogate' needs the library key of the ADC surrogate")
    if adc.circuit and (adc.energy or adc.time):
        fail("circuit", "an ADC family prices every resolution from its blocks; drop adc.energy and adc.time")
    if adc.transfer == "measured" and not adc.circuit:
        fail("transfer", "a measured transfer is read from the library's ADC blocks: name them with adc.circuit")
    if adc.transfer == "measured" and adc.type == "surrogate":
        fail("transfer", "adc.type surrogate already gives the transfer; use one of them")
    if adc.circuit and (adc.bits is None or adc.partial_sum_bits is None):
        fail("bits", "a characterized ADC family has finite resolutions; bits and partial_sum_bits cannot be null")
    if adc.type == "surrogate" and (adc.bits is None or adc.partial_sum_bits is None):
        fail("bits", "a characterized ADC has a finite resolution; bits and partial_sum_bits cannot be null")


def _check_sense(s: dict, fail):
    if s["sense"].type == "surrogate" and not s["sense"].surrogate:
        fail("surrogate", "sense type 'surrogate' needs the library key of the sense-circuit surrogate "
                          "(e.g. tia.v_out)")
    if s["sense"].circuit and s["sense"].type == "surrogate":
        fail("circuit", "give the sense circuit either as a library block (sense.circuit) or as surrogate keys "
                        "(sense.type surrogate), not both")


def _check_nonlinear(s: dict, fail):
    n = s["nonlinear"]
    stray = sorted(set(n.energy) - set(n.surrogates))
    if stray:
        fail("energy", f"{stray[0]!r} has an energy surrogate but no surrogate in nonlinear.surrogates")
    for key in ("max_pooling_error", "max_pooling_energy"):
        if n.max_pooling == "wta" and getattr(n, key) is None:
            fail(key, "max_pooling: wta needs the library key of the winner-take-all's "
                      f"characterized {key.split('_')[-1]} (circuit max_pool, inputs: gaps)")


_CHECKS = {"array": _check_array, "mapping": _check_mapping, "inputs": _check_inputs, "adc": _check_adc,
           "sense": _check_sense, "nonlinear": _check_nonlinear}


def _library_needed(spec: SystemSpec) -> str | None:
    """The first thing in ``spec`` that needs a surrogate library, or None."""
    needs = (("array.cell 'surrogate'", spec.array.cell == "surrogate"),
             ("adc.type 'surrogate'", spec.adc.type == "surrogate"),
             ("sense.type 'surrogate'", spec.sense.type == "surrogate"),
             ("adc.energy", bool(spec.adc.energy)),
             ("adc.time", bool(spec.adc.time)),
             ("adc.circuit", spec.adc.circuit is not None),
             ("inputs.driver", spec.inputs.driver is not None),
             ("inputs.dac", spec.inputs.dac is not None),
             ("sense.sample_hold", spec.sense.sample_hold is not None),
             ("sense.circuit", spec.sense.circuit is not None),
             ("corner", spec.corner is not None),
             ("temp", spec.temp is not None),
             ("nonlinear.where 'reram_array'", spec.nonlinear.where == "reram_array"))
    return next((what for what, needed in needs if needed), None)


def parse_system_spec(data: Any, source: str = "<spec>", base: Path | None = None) -> SystemSpec:
    """Validate a spec mapping into a :class:`SystemSpec` (``base``: the folder a relative
    ``library`` path is resolved against)."""
    top = Section(source, "spec", data)
    sections = {f.name: hint for f, hint in spec_fields.section_fields(SystemSpec) if dataclasses.is_dataclass(hint)}
    built = {}
    for name, cls in sections.items():
        section = Section(source, name, top.data.get(name))
        continuous = name == "mapping" and built["array"].cell_bits is None
        built[name] = cls(**read_fields(cls, section, defaults={"slices": 1} if continuous else None))
        if name in _CHECKS:
            _CHECKS[name](built, section.fail)
    name = top.data.get("name")
    if name is None or (isinstance(name, str) and not name):   # `name:` left blank
        top = Section(source, "spec", {k: v for k, v in top.data.items() if k != "name"})
    values = read_fields(SystemSpec, top, skip=sections)
    library = values["library"]
    if library == DEFAULT_LIBRARY_NAME:
        values["library"] = str(default_library_path())
    elif library is not None and base is not None and not Path(library).is_absolute():
        try:
            values["library"] = str((base / library).resolve())
        except (OSError, ValueError) as error:   # a NUL byte, a loop of links
            top.fail("library", f"not a usable path: {error}")
    spec = SystemSpec(**built, **values, source=source)
    needs = _library_needed(spec)
    if needs and not spec.library:
        top.fail("library", f"{needs} needs a surrogate library; none given")
    return spec


#: Systems shipped with cimspice, loadable by name ("baseline", "ideal").
SYSTEMS_DIR = Path(__file__).resolve().parent / "systems"


def shipped_systems() -> list[str]:
    return sorted(p.stem for p in SYSTEMS_DIR.glob("*.yaml"))


def load_system_spec(spec, source: str | None = None) -> SystemSpec:
    """A :class:`SystemSpec` from a YAML file path, the name of a shipped system
    (:func:`shipped_systems`), a mapping, or a SystemSpec (returned as is)."""
    if isinstance(spec, SystemSpec):
        return spec
    if isinstance(spec, dict):
        return parse_system_spec(spec, source or "<spec>")
    path = Path(spec)
    if not path.exists() and not path.suffix and (SYSTEMS_DIR / f"{path.name}.yaml").is_file():
        path = SYSTEMS_DIR / f"{path.name}.yaml"
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise SimError(f"{path}: no such system spec file (shipped systems: {', '.join(shipped_systems())})") from None
    except OSError as error:
        raise SimError(f"{path}: cannot read the system spec: {error.strerror}") from None
    try:
        data = load_yaml(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark else ""
        raise SimError(f"{path}: not valid YAML{where}: {yaml_problem(error)}") from None
    return parse_system_spec(data, str(path), base=path.parent)
