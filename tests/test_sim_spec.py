"""System specs: valid files load into typed objects; bad ones fail with one line naming the
file, the field and the reason, before any simulation work."""

from __future__ import annotations

import time

import pytest
import yaml

from cimspice.sim.backend import AnalogBackend
from cimspice.sim.errors import SimError
from cimspice.sim.spec import RERAM_G_OFF, RERAM_G_ON, RERAM_V0, SystemSpec, load_system_spec, parse_system_spec

SYSTEMS = __import__("cimspice.sim", fromlist=["x"]).__path__[0] + "/systems"


def _write(tmp_path, data, name="sys.yaml"):
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data) if not isinstance(data, str) else data)
    return path


def test_shipped_systems_load():
    base = load_system_spec(f"{SYSTEMS}/baseline.yaml")
    assert isinstance(base, SystemSpec) and base.name == "baseline"
    assert base.array.cell == "surrogate" and base.mapping.slices == 2 and base.weight_bits == 4
    # the shipped baseline runs on the shipped component library
    from cimspice.paths import default_library_path
    assert base.library == str(default_library_path()) and default_library_path().is_file()
    assert base.nonideal and not load_system_spec(f"{SYSTEMS}/ideal.yaml").nonideal
    assert load_system_spec(f"{SYSTEMS}/ideal.yaml").array.cell_bits is None


def test_defaults_follow_the_shipped_reram_model():
    from cimspice.circuits.devices import RERAM

    assert (RERAM_G_ON, RERAM_G_OFF, RERAM_V0) == (RERAM.g_on, RERAM.g_off, RERAM.v0)


def test_updated_revalidates():
    spec = parse_system_spec({})
    assert spec.updated({"adc": {"bits": 4}}).adc.bits == 4
    assert spec.updated({"adc": {"bits": 4}}).adc.partial_sum_bits == spec.adc.partial_sum_bits
    with pytest.raises(SimError, match=r"adc\.bits: must be >= 2, got 1"):
        spec.updated({"adc": {"bits": 1}})


@pytest.mark.parametrize("data, field, reason", [
    ({"adc": {"type": "flash9000"}}, "adc.type", "unknown value 'flash9000'"),
    ({"array": {"rows": 0}}, "array.rows", "must be >= 1, got 0"),
    ({"array": {"rows": "many"}}, "array.rows", "expected an integer"),
    ({"array": {"g_on": 1e-6, "g_off": 1e-5}}, "array.g_on", "must exceed g_off"),
    ({"array": {"v_read": -0.2}}, "array.v_read", "must be > 0"),
    ({"array": {"g_off": "tiny"}}, "array.g_off", "expected a finite number"),
    ({"nonidealities": {"read_noise_sigma": -0.1}}, "nonidealities.read_noise_sigma", "must be >= 0"),
    ({"nonidealities": {"ir_drop": "yes"}}, "nonidealities.ir_drop", "expected true or false"),
    ({"tiling": {"split": "sometimes"}}, "tiling.split", "unknown value"),
    ({"adc": {"bitz": 6}}, "adc.bitz", "unknown field"),
    ({"arrays": {}}, "spec.arrays", "unknown field"),
    ({"mapping": {"slices": 8}, "array": {"cols": 8}}, "mapping.slices", "one output needs 16 columns"),
    ({"array": {"cell_bits": None}, "mapping": {"slices": 2}}, "mapping.slices", "bit slicing needs discrete"),
    ({"inputs": {"encoding": "bit_serial", "bits": None}}, "inputs.bits", "need a number of bits"),
    ({"array": {"cell": "surrogate"}}, "array.surrogate", "needs the library key"),
    ({"array": {"cell": "surrogate", "surrogate": "i_cell"}}, "spec.library", "needs a surrogate library"),
    ({"nonlinear": {"where": "reram_array"}}, "spec.library", "needs a surrogate library"),
])
def test_bad_fields_name_file_field_reason(tmp_path, data, field, reason):
    path = _write(tmp_path, data)
    with pytest.raises(SimError) as info:
        load_system_spec(path)
    message = str(info.value)
    assert message.startswith(f"{path}: {field}: "), message
    assert reason in message and "\n" not in message


def test_unreadable_files(tmp_path):
    with pytest.raises(SimError, match="no such system spec file"):
        load_system_spec(tmp_path / "missing.yaml")
    with pytest.raises(SimError, match=r"sys\.yaml: not valid YAML \(line \d+\)"):
        load_system_spec(_write(tmp_path, "array:\n  rows: [1, 2\n"))
    with pytest.raises(SimError, match="spec: expected a mapping, got list"):
        load_system_spec(_write(tmp_path, "- 1\n- 2\n"))


def test_array_too_small_for_a_kernel_with_splitting_off(tmp_path):
    """The CNN's second convolution has 3x3x8 = 72 inputs per output: 64 rows cannot hold it
    unless rows are split; the error comes before any network evaluation."""
    from cimspice.sim.simulate import simulate

    path = _write(tmp_path, {"array": {"rows": 64}, "tiling": {"split": "none"}})
    t0 = time.perf_counter()
    with pytest.raises(SimError) as info:
        simulate(path, "cnn")
    assert time.perf_counter() - t0 < 5
    assert str(info.value) == (f"{path}: array.rows: conv2 needs 72 rows (one output's whole input), the array has 64 "
                                      f"and tiling.split is 'none'; use partial_sums or input_splitting")
    for split in ("partial_sums", "input_splitting"):  # both fit
        AnalogBackend(load_system_spec(_write(tmp_path, {"tiling": {"split": split}}))).prepare(
            __import__("cimspice.sim.zoo", fromlist=["x"]).load_network("cnn"))


def test_library_problems_are_reported_before_work(tmp_path):
    from cimspice.sim.zoo import load_network

    missing = _write(tmp_path, {"array": {"cell": "surrogate", "surrogate": "i_cell"}, "library": "nope.h5"})
    with pytest.raises(SimError, match=r"sys\.yaml: library: .*nope\.h5"):
        AnalogBackend(load_system_spec(missing))
    # a library that lacks the named surrogates
    spec = parse_system_spec({"nonlinear": {"where": "reram_array", "surrogates": {"sigmoid": "sig"}},
                              "library": "lib.h5"}, "sys.yaml")
    backend = AnalogBackend(spec, library={"sig": object()})
    with pytest.raises(SimError, match="nonlinear.surrogates: network 'lstm' needs a ReRAM-array surrogate for 'tanh'"):
        backend.prepare(load_network("lstm"))
    spec = parse_system_spec({"array": {"cell": "surrogate", "surrogate": "i_cell"}, "library": "lib.h5"}, "sys.yaml")
    with pytest.raises(SimError, match=r"sys\.yaml: array\.surrogate: surrogate 'i_cell' is not in the library "
                                              r"lib\.h5 \(it has: other\)"):
        AnalogBackend(spec, library={"other": object()})
    spec = parse_system_spec({"adc": {"type": "surrogate", "surrogate": "adc6"}, "library": "lib.h5"}, "sys.yaml")
    with pytest.raises(SimError, match="adc.surrogate: surrogate 'adc6' is not in the library"):
        AnalogBackend(spec, library={})


def test_bipolar_inputs_refused_for_surrogate_cells():
    with pytest.raises(SimError, match="inputs.signed: bipolar inputs drive cells at negative voltages"):
        parse_system_spec({"array": {"cell": "surrogate", "surrogate": "x"}, "inputs": {"signed": "bipolar"},
                           "library": "l.h5"})


def test_offset_mapping_needs_two_weight_bits():
    with pytest.raises(SimError, match="mapping.weights: offset mapping needs at least 2 bits"):
        parse_system_spec({"array": {"cell_bits": 1}, "mapping": {"weights": "offset", "slices": 1}})


def test_docs_field_table_is_the_generated_one():
    """docs/system.md's field table is written from the dataclasses (scripts/gen_system_docs.py);
    a field added, renamed or re-defaulted there without regenerating fails here."""
    import runpy
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    render = runpy.run_path(str(root / "scripts" / "gen_system_docs.py"))["render"]
    text = (root / "docs" / "system.md").read_text()
    assert render(text) == text, "docs/system.md is stale: run python scripts/gen_system_docs.py"
    assert "| `adc.partial_sum_bits` | integer 2..24 or null | 12 |" in text


def test_sections_are_built_with_keywords_only():
    import dataclasses

    from cimspice.sim import spec as spec_module

    for name in spec_module.__all__:
        cls = getattr(spec_module, name)
        if dataclasses.is_dataclass(cls):
            first = dataclasses.fields(cls)[0]
            with pytest.raises(TypeError, match="positional"):
                cls(dataclasses.MISSING if first.default is dataclasses.MISSING else first.default)


@pytest.mark.parametrize("data, field, reason", [
    ({"array": {"g_on": 10**400}}, "array.g_on", "expected a finite number, got 1000"),
    ({"array": {"rows": 10**5000}}, "array.rows", "must be <= 4096, got <int>"),
    ({"array": {"fixed": {"v_wl": 10**400}}}, "array.fixed.v_wl", "expected a finite number"),
    ({"array": {"fixed": {"v_wl": "high"}}}, "array.fixed.v_wl", "expected a finite number, got 'high'"),
    ({"array": {"fixed": [1, 2]}}, "array.fixed", "expected a mapping of surrogate input names -> number"),
    ({"adc": {"energy_at": {"vdd": float("nan")}}}, "adc.energy_at.vdd", "expected a finite number, got nan"),
    ({"adc": {"energy": {6: ""}}, "library": "l.h5"}, "adc.energy.6", "expected a non-empty string"),
    ({"adc": {1: 2, "x": 3}}, "adc.1", "unknown field"),   # keys of mixed types (cannot be sorted)
    ({1.5: {}, None: 2}, "spec.1.5", "unknown field"),
    ({"nonlinear": {"surrogates": {1: "k"}}}, "nonlinear.surrogates", "keys are nonlinearity kinds (strings), got 1"),
    ({"library": "a\0b"}, "spec.library", "not a usable path"),
])
def test_any_value_fails_in_one_line_naming_the_field(data, field, reason):
    from pathlib import Path

    with pytest.raises(SimError) as info:
        parse_system_spec(data, "sys.yaml", base=Path("."))
    message = str(info.value)
    assert message.startswith(f"sys.yaml: {field}: "), message
    assert reason in message and "\n" not in message and len(message) < 300, message


def _declared(value, hint) -> bool:
    """Whether ``value`` is of the declared ``hint`` (written apart from the spec's reader)."""
    import types
    import typing

    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        return any(_declared(value, a) for a in args)
    if origin is typing.Literal:
        return value in args
    if origin is dict:
        return type(value) is dict and all(_declared(k, args[0]) and _declared(v, args[1]) for k, v in value.items())
    if hint is type(None):
        return value is None
    if hint is float:
        return type(value) is float and value == value and abs(value) != float("inf")
    return type(value) is hint


def test_any_yaml_value_in_any_field_parses_to_its_type_or_fails_in_one_line():
    """Property: whatever YAML can hold in whatever field (lists, dicts, None, NaN, huge integers,
    strings), the reader returns a spec whose every field has its declared type, or raises one
    SimError line naming the file; no other exception escapes."""
    import dataclasses
    import typing

    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    sections = {f.name: f.type for f in dataclasses.fields(SystemSpec)}
    hints = {name: typing.get_type_hints(cls) for name, cls in
             [(n, getattr(__import__("cimspice.sim.spec", fromlist=["x"]), t)) for n, t in sections.items()
              if t.endswith("Spec")]}
    names = {section: sorted(h) for section, h in hints.items()}
    scalars = (st.none() | st.booleans() | st.integers() | st.sampled_from([10**400, -10**4000, 2**63])
               | st.floats() | st.text(max_size=8)
               | st.sampled_from(["1e-6", "6", "", "nan", "-inf", "linear", "wta", "surrogate", "offset", "dac"]))
    anything = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3)
                            | st.dictionaries(st.text(max_size=4) | st.integers(0, 30), inner, max_size=3),
                            max_leaves=6)
    values = st.sampled_from([0, 1, 2, 8, 64, 0.5, 1e-5, "1e-6", "digital", {}, {"v": 1.0}, {6: "k"}]) | anything
    entry = st.sampled_from(sorted(names)).flatmap(
        lambda s: st.sampled_from(names[s]).flatmap(   # half of the values of the declared type
            lambda k: st.tuples(st.just(s), st.just(k), st.from_type(hints[s][k]) | values)))
    top = st.sampled_from(["name", "library", "seed", "array", "adc", "bogus"])

    @settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(st.lists(entry, max_size=4), st.lists(st.tuples(top, values), max_size=1))
    def check(entries, tops):
        data = {}
        for section, key, value in entries:
            data.setdefault(section, {})[key] = value
        data.update(dict(tops))
        try:
            spec = parse_system_spec(data, "f.yaml")
        except SimError as error:
            assert str(error).startswith("f.yaml: ") and "\n" not in str(error), str(error)
            return
        for section, h in hints.items():
            for key, hint in h.items():
                assert _declared(getattr(getattr(spec, section), key), hint), (section, key)
        assert type(spec.seed) is int and type(spec.name) is str and spec.name

    check()
