"""Accelerator (system) description: YAML or a dict, validated into typed dataclasses.

Every field has a unit and a default; an unknown field, a wrong type or a value out of range
raises :class:`SimError` naming the source, the field and the reason, before any work. The
sections and their fields are documented in docs/system.md; in short::

    name: baseline
    array:      {rows, cols, cell: linear|sinh|surrogate, g_on, g_off, cell_bits, v_read, t_read, v0,
                 surrogate, fixed, cell_area}
    mapping:    {weights: differential|offset, slices}
    inputs:     {encoding: bit_serial|dac, bits, signed: two_phase|bipolar}
    adc:        {type: ideal|surrogate, bits, partial_sum_bits, range: calibrated|full, per_array, surrogate,
                 energy: {bits: key}, energy_at: {input: value}}
    sense:      {type: ideal|surrogate, surrogate, energy, v_ref, transimpedance}
    nonlinear:  {where: digital|reram_array, surrogates: {kind: name}, energy: {kind: name},
                 avg_pooling: digital|reram_array, max_pooling: digital|wta,
                 max_pooling_error: name, max_pooling_energy: name}
    attention:  {products: digital}
    tiling:     {split: partial_sums|input_splitting|none}
    nonidealities: {ir_drop, r_wire, solver: surrogate|exact, cell_nonlinearity,
                    programming_sigma, programming_error: relative|absolute, read_noise_sigma}
    library:    path of the surrogate library (relative to the spec file), or null
    seed:       integer (device variation and noise draws)
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..yamlio import finite, key_names, load_yaml, yaml_problem

from .costs import T_READ
from .errors import SimError

__all__ = ["AdcSpec", "ArraySpec", "AttentionSpec", "InputSpec", "MappingSpec", "NonidealitySpec",
           "NonlinearSpec", "SenseSpec", "SystemSpec", "TilingSpec", "load_spec", "parse_spec", "shipped_systems"]

# Defaults of the ReRAM model shipped in netlists/reram.lib (g_on=100u g_off=1u v0=0.25);
# tests/test_sim_spec.py checks they still agree with that file.
RERAM_G_ON, RERAM_G_OFF, RERAM_V0 = 100e-6, 1e-6, 0.25


class _Reader:
    """Reads one section of a spec dict, remembering which keys it consumed."""

    def __init__(self, source: str, section: str, data: Any):
        self.source, self.section = source, section
        if data is None:
            data = {}
        if not isinstance(data, dict):
            raise SimError(f"{source}: {section}: expected a mapping, got {type(data).__name__}")
        self.data, self.used = data, set()

    def fail(self, key: str, reason: str):
        raise SimError(f"{self.source}: {self.section}.{key_names([key])}: {reason}")

    def get(self, key, default):
        self.used.add(key)
        return self.data.get(key, default)

    def number(self, key, default, *, positive=False, minimum=None, maximum=None, optional=False):
        v = self.get(key, default)
        if v is None and optional:
            return None
        if isinstance(v, str):
            try:
                v = float(v)  # YAML reads "1e-6" (no dot) as a string
            except ValueError:
                pass
        if not finite(v):
            self.fail(key, f"expected a finite number, got {v!r}")
        v = float(v)
        if positive and not v > 0:
            self.fail(key, f"must be > 0, got {v:g}")
        if minimum is not None and v < minimum:
            self.fail(key, f"must be >= {minimum:g}, got {v:g}")
        if maximum is not None and v > maximum:
            self.fail(key, f"must be <= {maximum:g}, got {v:g}")
        return v

    def integer(self, key, default, *, minimum=1, maximum=None, optional=False):
        v = self.get(key, default)
        if v is None and optional:
            return None
        if isinstance(v, bool) or not isinstance(v, int):
            self.fail(key, f"expected an integer{' or null' if optional else ''}, got {v!r}")
        if v < minimum:
            self.fail(key, f"must be >= {minimum}, got {v}")
        if maximum is not None and v > maximum:
            self.fail(key, f"must be <= {maximum}, got {v}")
        return v

    def choice(self, key, default, choices):
        v = self.get(key, default)
        if v not in choices:
            self.fail(key, f"unknown value {v!r}; expected one of {', '.join(map(repr, choices))}")
        return v

    def flag(self, key, default):
        v = self.get(key, default)
        if not isinstance(v, bool):
            self.fail(key, f"expected true or false, got {v!r}")
        return v

    def text(self, key, default=None):
        v = self.get(key, default)
        if v is not None and not isinstance(v, str):
            self.fail(key, f"expected a string, got {v!r}")
        return v

    def done(self):
        unknown = sorted(set(self.data) - self.used, key=str)  # YAML keys may be numbers, null, ...
        if unknown:
            self.fail(unknown[0], "unknown field")


@dataclass(frozen=True)
class ArraySpec:
    """One crossbar array. Conductances in S, voltages in V, times in s, area in m^2."""

    rows: int = 64
    cols: int = 64
    cell: str = "linear"              # linear | sinh | surrogate
    g_on: float = RERAM_G_ON
    g_off: float = RERAM_G_OFF
    cell_bits: int | None = 2         # 2**cell_bits conductance levels; None: continuous
    v_read: float = 0.2
    t_read: float = T_READ
    v0: float = RERAM_V0              # sinh cell's voltage scale
    surrogate: str | None = None      # library key of the cell-current surrogate
    fixed: dict = field(default_factory=dict)   # the surrogate's other inputs (e.g. v_wl)
    cell_area: float | None = None    # None: costs.CELL_AREA


@dataclass(frozen=True)
class MappingSpec:
    weights: str = "differential"     # differential | offset (reference column)
    slices: int = 4                   # cells (of cell_bits each) per weight


@dataclass(frozen=True)
class InputSpec:
    encoding: str = "bit_serial"      # bit_serial | dac
    bits: int | None = 8              # None (dac only): continuous voltages
    signed: str = "two_phase"         # two_phase | bipolar


@dataclass(frozen=True)
class AdcSpec:
    type: str = "ideal"               # ideal | surrogate
    bits: int | None = 8              # None: ideal infinitely fine converter
    partial_sum_bits: int | None = 12  # arrays whose outputs are partial sums (split: partial_sums)
    range: str = "calibrated"         # calibrated | full
    per_array: int = 1                # ADCs shared by an array's columns
    surrogate: str | None = None
    # resolution (bits) -> library key of a characterized energy per conversion (J), evaluated
    # at ``energy_at`` (its other inputs, e.g. {vdd: 1.1, t_clk: 2e-9}); resolutions without
    # one are priced with the cited constant of costs.adc_energy
    energy: dict = field(default_factory=dict)
    energy_at: dict = field(default_factory=dict)


# Nominal TIA design (cimspice.circuits.tia defaults: v_ref 0.75 V, r_f 5 kOhm)
SENSE_V_REF, SENSE_TRANSIMPEDANCE = 0.75, 5e3


@dataclass(frozen=True)
class SenseSpec:
    """Sense circuit between the columns and the ADC. ``surrogate``: library key of its
    transfer (column current, A -> voltage to the ADC, V); ``energy``: optional key of its
    energy per read (J); ``v_ref`` (V) and ``transimpedance`` (ohm): the nominal design the
    output voltage is referred back to a current with (cimspice.sim.peripherals)."""

    type: str = "ideal"               # ideal | surrogate
    surrogate: str | None = None
    energy: str | None = None
    v_ref: float = SENSE_V_REF
    transimpedance: float = SENSE_TRANSIMPEDANCE


@dataclass(frozen=True)
class NonlinearSpec:
    where: str = "digital"            # digital | reram_array
    surrogates: dict = field(default_factory=dict)  # kind -> library key (reram_array)
    # kind -> library key of the array's energy per evaluation (J) against the same input;
    # kinds without one are priced as a digital unit (costs.NONLINEAR_ENERGY)
    energy: dict = field(default_factory=dict)
    # average pooling: digital adds, or one equal-conductance ReRAM column per window
    # (cimspice.circuits.pooling.AveragePool; its read law in the simulator)
    avg_pooling: str = "digital"      # digital | reram_array
    # max pooling: digital compares, or a source-follower winner-take-all per window
    # (cimspice.circuits.pooling.MaxPool, inputs="gaps"): library keys of its characterized
    # error (V) and energy per evaluation (J) against v_max, d_1 .. d_{k*k-1}
    max_pooling: str = "digital"      # digital | wta
    max_pooling_error: str | None = None
    max_pooling_energy: str | None = None


@dataclass(frozen=True)
class AttentionSpec:
    products: str = "digital"


@dataclass(frozen=True)
class TilingSpec:
    split: str = "partial_sums"       # partial_sums | input_splitting | none


@dataclass(frozen=True)
class NonidealitySpec:
    ir_drop: bool = False
    r_wire: float = 1.0               # ohm per wire segment
    solver: str = "surrogate"         # surrogate | exact
    cell_nonlinearity: bool = False
    programming_sigma: float = 0.0
    programming_error: str = "relative"   # relative (lognormal) | absolute (fraction of g_on - g_off)
    read_noise_sigma: float = 0.0     # relative std of each cell's read current


@dataclass(frozen=True)
class SystemSpec:
    name: str = "system"
    array: ArraySpec = field(default_factory=ArraySpec)
    mapping: MappingSpec = field(default_factory=MappingSpec)
    inputs: InputSpec = field(default_factory=InputSpec)
    adc: AdcSpec = field(default_factory=AdcSpec)
    sense: SenseSpec = field(default_factory=SenseSpec)
    nonlinear: NonlinearSpec = field(default_factory=NonlinearSpec)
    attention: AttentionSpec = field(default_factory=AttentionSpec)
    tiling: TilingSpec = field(default_factory=TilingSpec)
    nonidealities: NonidealitySpec = field(default_factory=NonidealitySpec)
    library: str | None = None
    seed: int = 0
    source: str = "<spec>"

    @property
    def weight_bits(self) -> int | None:
        """Bits of one weight magnitude's representation (None: continuous)."""
        b = self.array.cell_bits
        return None if b is None else b * self.mapping.slices

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d.pop("source")
        return d

    def updated(self, changes: dict, source: str | None = None) -> "SystemSpec":
        """A copy with nested ``changes`` (e.g. ``{"adc": {"bits": 4}}``), validated again."""
        merged = self.to_dict()
        for key, value in changes.items():
            if isinstance(value, dict) and isinstance(merged.get(key), dict) and key not in ("fixed", "surrogates"):
                merged[key] = {**merged[key], **value}
            else:
                merged[key] = value
        return parse_spec(merged, source or self.source)

    @property
    def nonideal(self) -> bool:
        n = self.nonidealities
        return n.ir_drop or n.cell_nonlinearity or n.programming_sigma > 0 or n.read_noise_sigma > 0


def _adc_energy(r: _Reader) -> tuple[dict, dict]:
    energy = r.get("energy", {}) or {}
    if not isinstance(energy, dict):
        r.fail("energy", f"expected a mapping of ADC bits -> library key, got {energy!r}")
    out = {}
    for bits, key in energy.items():
        try:
            b = int(bits)
        except (TypeError, ValueError, OverflowError):  # OverflowError: .inf
            b = None
        if b is None or isinstance(bits, bool) or str(b) != str(bits).strip() or not 2 <= b <= 24:
            r.fail("energy", f"keys are ADC resolutions in bits (2..24), got {bits!r}")
        if not isinstance(key, str) or not key:
            r.fail("energy", f"{b}: expected a library key (string), got {key!r}")
        out[b] = key
    at = r.get("energy_at", {}) or {}
    if not isinstance(at, dict):
        r.fail("energy_at", f"expected a mapping of surrogate input -> value, got {at!r}")
    values = {}
    for name, value in at.items():
        if isinstance(value, str):
            try:
                value = float(value)
            except ValueError:
                pass
        if not finite(value):
            r.fail("energy_at", f"{key_names([name])}: expected a finite number, got {value!r}")
        values[str(name)] = float(value)
    return out, values


def parse_spec(data: Any, source: str = "<spec>", base: Path | None = None) -> SystemSpec:
    """Validate a spec mapping into a :class:`SystemSpec`."""
    top = _Reader(source, "spec", data)
    top.section = "spec"

    r = _Reader(source, "array", top.get("array", {}))
    rows = r.integer("rows", 64, maximum=4096)
    cols = r.integer("cols", 64, maximum=4096)
    cell = r.choice("cell", "linear", ("linear", "sinh", "surrogate"))
    g_on = r.number("g_on", RERAM_G_ON, positive=True)
    g_off = r.number("g_off", RERAM_G_OFF, positive=True)
    if not g_on > g_off:
        r.fail("g_on", f"must exceed g_off ({g_off:g} S), got {g_on:g} S")
    cell_bits = r.integer("cell_bits", 2, maximum=8, optional=True)
    v_read = r.number("v_read", 0.2, positive=True, maximum=5.0)
    t_read = r.number("t_read", T_READ, positive=True)
    v0 = r.number("v0", RERAM_V0, positive=True)
    surrogate = r.text("surrogate")
    fixed = r.get("fixed", {}) or {}
    if not isinstance(fixed, dict) or not all(finite(v) for v in fixed.values()):
        r.fail("fixed", f"expected a mapping of input name -> number, got {fixed!r}")
    cell_area = r.number("cell_area", None, positive=True, optional=True)
    if cell == "surrogate" and not surrogate:
        r.fail("surrogate", "cell 'surrogate' needs the library key of the cell-current surrogate")
    r.done()
    array = ArraySpec(rows, cols, cell, g_on, g_off, cell_bits, v_read, t_read, v0, surrogate,
                      {k: float(v) for k, v in fixed.items()}, cell_area)

    r = _Reader(source, "mapping", top.get("mapping", {}))
    mapping = MappingSpec(r.choice("weights", "differential", ("differential", "offset")),
                          r.integer("slices", 4 if cell_bits is not None else 1, maximum=8))
    if cell_bits is None and mapping.slices != 1:
        r.fail("slices", "bit slicing needs discrete cell levels (array.cell_bits), got cell_bits: null")
    if mapping.weights == "offset" and cell_bits is not None and cell_bits * mapping.slices < 2:
        r.fail("weights", "offset mapping needs at least 2 bits per weight (cell_bits * slices)")
    per_output = mapping.slices * (2 if mapping.weights == "differential" else 1)
    n_ref = 0 if mapping.weights == "differential" else (1 if mapping.slices == 1 else 2)
    if per_output + n_ref > cols:
        r.fail("slices", f"one output needs {per_output} columns (+{n_ref} reference), the array has {cols}")
    r.done()

    r = _Reader(source, "inputs", top.get("inputs", {}))
    encoding = r.choice("encoding", "bit_serial", ("bit_serial", "dac"))
    bits = r.integer("bits", 8, maximum=16, optional=True)
    if bits is None and encoding == "bit_serial":
        r.fail("bits", "bit-serial inputs need a number of bits")
    inputs = InputSpec(encoding, bits, r.choice("signed", "two_phase", ("two_phase", "bipolar")))
    if inputs.signed == "bipolar" and cell == "surrogate":
        r.fail("signed", "bipolar inputs drive cells at negative voltages, outside a cell surrogate's "
                         "characterized domain; use two_phase")
    r.done()

    r = _Reader(source, "adc", top.get("adc", {}))
    adc = AdcSpec(r.choice("type", "ideal", ("ideal", "surrogate")),
                  r.integer("bits", 8, minimum=2, maximum=24, optional=True),
                  r.integer("partial_sum_bits", 12, minimum=2, maximum=24, optional=True),
                  r.choice("range", "calibrated", ("calibrated", "full")),
                  r.integer("per_array", 1, maximum=4096), r.text("surrogate"),
                  *_adc_energy(r))
    if adc.type == "surrogate" and not adc.surrogate:
        r.fail("surrogate", "adc type 'surrogate' needs the library key of the ADC surrogate")
    if adc.type == "surrogate" and (adc.bits is None or adc.partial_sum_bits is None):
        r.fail("bits", "a characterized ADC has a finite resolution; bits and partial_sum_bits cannot be null")
    r.done()

    r = _Reader(source, "sense", top.get("sense", {}))
    sense = SenseSpec(r.choice("type", "ideal", ("ideal", "surrogate")), r.text("surrogate"), r.text("energy"),
                      r.number("v_ref", SENSE_V_REF, positive=True, maximum=5.0),
                      r.number("transimpedance", SENSE_TRANSIMPEDANCE, positive=True))
    if sense.type == "surrogate" and not sense.surrogate:
        r.fail("surrogate", "sense type 'surrogate' needs the library key of the sense-circuit surrogate "
                            "(e.g. tia.v_out)")
    r.done()

    r = _Reader(source, "nonlinear", top.get("nonlinear", {}))
    where = r.choice("where", "digital", ("digital", "reram_array"))
    surrogates = r.get("surrogates", {}) or {}
    if not isinstance(surrogates, dict) or not all(isinstance(v, str) for v in surrogates.values()):
        r.fail("surrogates", f"expected a mapping of nonlinearity kind -> library key, got {surrogates!r}")
    energy = r.get("energy", {}) or {}
    if not isinstance(energy, dict) or not all(isinstance(v, str) for v in energy.values()):
        r.fail("energy", f"expected a mapping of nonlinearity kind -> library key, got {energy!r}")
    stray = sorted(set(energy) - set(surrogates))
    if stray:
        r.fail("energy", f"{stray[0]!r} has an energy surrogate but no surrogate in nonlinear.surrogates")
    max_pooling = r.choice("max_pooling", "digital", ("digital", "wta"))
    wta_keys = [r.text("max_pooling_error"), r.text("max_pooling_energy")]
    if max_pooling == "wta":
        for key, value in zip(("max_pooling_error", "max_pooling_energy"), wta_keys):
            if value is None:
                r.fail(key, "max_pooling: wta needs the library key of the winner-take-all's "
                            f"characterized {key.split('_')[-1]} (circuit max_pool, inputs: gaps)")
    nonlinear = NonlinearSpec(where, dict(surrogates), dict(energy),
                              r.choice("avg_pooling", "digital", ("digital", "reram_array")),
                              max_pooling, *wta_keys)
    r.done()

    r = _Reader(source, "attention", top.get("attention", {}))
    attention = AttentionSpec(r.choice("products", "digital", ("digital",)))
    r.done()

    r = _Reader(source, "tiling", top.get("tiling", {}))
    tiling = TilingSpec(r.choice("split", "partial_sums", ("partial_sums", "input_splitting", "none")))
    r.done()

    r = _Reader(source, "nonidealities", top.get("nonidealities", {}))
    nonid = NonidealitySpec(r.flag("ir_drop", False), r.number("r_wire", 1.0, minimum=0.0),
                            r.choice("solver", "surrogate", ("surrogate", "exact")),
                            r.flag("cell_nonlinearity", False),
                            r.number("programming_sigma", 0.0, minimum=0.0, maximum=2.0),
                            r.choice("programming_error", "relative", ("relative", "absolute")),
                            r.number("read_noise_sigma", 0.0, minimum=0.0, maximum=2.0))
    r.done()

    library = top.text("library")
    if library is not None and base is not None and not Path(library).is_absolute():
        library = str((base / library).resolve())
    needs = [what for what, needed in (("array.cell 'surrogate'", cell == "surrogate"),
                                       ("adc.type 'surrogate'", adc.type == "surrogate"),
                                       ("sense.type 'surrogate'", sense.type == "surrogate"),
                                       ("adc.energy", bool(adc.energy)),
                                       ("nonlinear.where 'reram_array'", where == "reram_array")) if needed]
    if needs and not library:
        top.fail("library", f"{needs[0]} needs a surrogate library; none given")
    name = top.text("name", "system") or "system"
    seed = top.integer("seed", 0, minimum=0)
    top.done()
    return SystemSpec(name, array, mapping, inputs, adc, sense, nonlinear, attention, tiling, nonid, library,
                      seed, source)


#: Systems shipped with cimspice, loadable by name ("baseline", "ideal").
SYSTEMS_DIR = Path(__file__).resolve().parent / "systems"


def shipped_systems() -> list[str]:
    return sorted(p.stem for p in SYSTEMS_DIR.glob("*.yaml"))


def load_spec(spec, source: str | None = None) -> SystemSpec:
    """A :class:`SystemSpec` from a YAML file path, the name of a shipped system
    (:func:`shipped_systems`), a mapping, or a SystemSpec (returned as is)."""
    if isinstance(spec, SystemSpec):
        return spec
    if isinstance(spec, dict):
        return parse_spec(spec, source or "<spec>")
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
    return parse_spec(data, str(path), base=path.parent)
