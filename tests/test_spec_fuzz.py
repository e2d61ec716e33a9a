"""Property-based fuzzing of the two YAML spec readers: the sweep spec
(cimspice.characterize.spec) and the system spec (cimspice.sim.spec).

Whatever the document (random mappings, lists, scalars and nesting; wrong types, huge
numbers, NaN and infinities, strings where numbers go, unknown keys; valid documents with one
field changed; text that is hardly YAML), a reader either returns a spec or raises the
project's own error with a one-line message. Any other exception is a bug in the reader.
"""

from __future__ import annotations

import copy
import dataclasses
import os

import numpy as np
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cimspice import CimspiceError
from cimspice.characterize import spec as sweep_spec
from cimspice.characterize import sweep_points
from cimspice.circuits import CIRCUITS
from cimspice.sim import spec as system_spec

# pwl_unit fits its PWL programme when built (~0.4 s): too slow to draw hundreds of times.
FAST_CIRCUITS = sorted(set(CIRCUITS) - {"pwl_unit"})
WORDS = sorted({*sweep_spec.FIELDS, *sweep_spec.DESIGNS, "values", "start", "stop", "num", "scale", "unit", "sigma",
                "mean", "linear", "log", "tran", "op", "step", "vector", "tt", "ff", "ss", "v(out)", "i(v1)",
                *(p.name for c in FAST_CIRCUITS for p in CIRCUITS[c]().parameters),
                *(m.name for c in FAST_CIRCUITS for m in CIRCUITS[c]().measurements),
                "array", "mapping", "inputs", "adc", "sense", "nonlinear", "attention", "tiling", "nonidealities",
                "library", "seed", "name", "rows", "cols", "cell", "g_on", "g_off", "cell_bits", "v_read", "fixed",
                "surrogate", "bits", "energy", "energy_at", "surrogates", "where", "max_pooling", "split", "r_wire"})
NASTY_STRINGS = ["", " ", "1u", "300K", "1e-6", "1_0", "._", ".inf", "-.inf", ".nan", "nan", "inf", "1e999",
                 "0x1F", "0o17", "1:30", "2001-02-30", "~", "null", "true", "yes", "\x00", "a\nb", "\u00e9\u4e2d",
                 "../../etc/passwd", "/dev/null", "{{", "*", "9" * 5000]
NUMBERS = st.one_of(st.integers(), st.floats(allow_nan=True, allow_infinity=True),
                    st.sampled_from([0, -1, 1, 2**31, 2**63, -(2**63), 10**30, 10**400, -(10**400), 1e308, 5e-324,
                                     sweep_spec.DEFAULT_MAX_POINTS + 1, 10**9]))
SCALARS = st.one_of(st.none(), st.booleans(), NUMBERS, st.sampled_from(WORDS), st.sampled_from(NASTY_STRINGS),
                    st.text(max_size=12))
KEYS = st.one_of(st.sampled_from(WORDS), st.sampled_from(NASTY_STRINGS), st.text(max_size=8), st.integers(-3, 3),
                 st.booleans(), st.none(), st.floats(allow_nan=False))
DOCUMENTS = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEYS, inner, max_size=5),
                         max_leaves=16)


def _valid_sweeps(netlist: str) -> list[dict]:
    return [
        {"circuit": "cell_1t1r", "design": "grid", "outputs": ["i_cell"],
         "parameters": {"g": {"start": 1e-6, "stop": 1e-4, "num": 3, "scale": "log"}, "v_bl": [0.05, 0.1],
                        "v_wl": {"values": [0.8, 1.0], "unit": "V"}, "temp": 27},
         "corners": ["tt", "ss"], "timeout": 10},
        {"circuit": "cell_1t1r", "design": "lhs", "samples": 20, "seed": 3,
         "parameters": {"g": {"start": 1e-6, "stop": 1e-4, "scale": "log"}, "v_bl": {"start": 0.0, "stop": 0.3}}},
        {"circuit": "cell_1t1r", "design": "montecarlo", "samples": 4, "seed": 1,
         "parameters": {"g": {"sigma": 1e-6, "mean": 5e-5}, "v_bl": [0.1, 0.2]}, "temperatures": [-40, 27]},
        {"circuit": "tia", "circuit_args": {"r_f": 5000.0, "adc_bits": 6}, "design": "random", "samples": 5,
         "parameters": {"i_in": {"values": [1e-6, 5e-5], "scale": "log"}, "c_bl": {"start": 1e-15, "stop": 1e-13}}},
        {"netlist": netlist, "design": "list", "analysis": {"tran": {"step": 1e-9, "stop": 1e-8}},
         "parameters": {"r2": [1e3, 2e3], "vin": [0.5, 1.0]},
         "outputs": {"v_out": {"vector": "v(b)", "unit": "V"}}},
    ]


def _valid_systems() -> list[dict]:
    docs = [yaml.safe_load((system_spec.SYSTEMS_DIR / f"{name}.yaml").read_text())
            for name in system_spec.shipped_systems()]
    docs.append({"name": "full", "library": "lib.h5", "seed": 3,
                 "array": {"rows": 32, "cols": 32, "cell": "surrogate", "surrogate": "cell.i_cell",
                           "fixed": {"v_wl": 1.0}, "cell_bits": None},
                 "mapping": {"weights": "offset", "slices": 1},
                 "inputs": {"encoding": "dac", "bits": None},
                 "adc": {"type": "surrogate", "surrogate": "adc.code", "bits": 6, "energy": {6: "adc.energy"},
                         "energy_at": {"vdd": 1.1}},
                 "sense": {"type": "surrogate", "surrogate": "tia.v_out"},
                 "nonlinear": {"where": "reram_array", "surrogates": {"tanh": "pwl.y"}, "energy": {"tanh": "pwl.e"},
                               "max_pooling": "wta", "max_pooling_error": "wta.e", "max_pooling_energy": "wta.j"},
                 "nonidealities": {"ir_drop": True, "solver": "exact", "programming_sigma": 0.1}})
    return docs


def _paths(doc, prefix=()):
    """Every (path, value) inside nested dicts and lists, the root included."""
    yield prefix, doc
    items = doc.items() if isinstance(doc, dict) else enumerate(doc) if isinstance(doc, list) else ()
    for key, value in items:
        yield from _paths(value, (*prefix, key))


@st.composite
def mutated(draw, valid: list[dict]):
    """A valid document with one place changed: replaced, deleted, or given an extra key."""
    doc = copy.deepcopy(draw(st.sampled_from(valid)))
    paths = [p for p, _ in _paths(doc) if p]
    path = draw(st.sampled_from(paths))
    parent = doc
    for key in path[:-1]:
        parent = parent[key]
    action = draw(st.sampled_from(["replace", "delete", "extra"]))
    if action == "replace":  # mostly by a scalar: that is where the type and range checks are
        parent[path[-1]] = draw(st.one_of(NUMBERS, SCALARS, DOCUMENTS))
    elif action == "delete":
        del parent[path[-1]]
    elif isinstance(parent, dict):
        parent[draw(KEYS)] = draw(DOCUMENTS)
    else:
        parent.append(draw(DOCUMENTS))
    return doc


@st.composite
def with_field(draw, valid: list[dict], fields: dict[str, list[str]]):
    """A valid document with one of the reader's own fields (``section -> names``; section
    "" for top-level fields) set to a random value: reaches every check behind a valid rest."""
    doc = copy.deepcopy(draw(st.sampled_from(valid)))
    section = draw(st.sampled_from(sorted(fields)))
    place = doc if not section else doc.setdefault(section, {})
    if isinstance(place, dict):
        place[draw(st.sampled_from(fields[section]))] = draw(st.one_of(NUMBERS, SCALARS, DOCUMENTS))
    return doc


@st.composite
def top_level(draw, fields, values):
    """A mapping of the reader's own top-level fields (and a stray one) to random values."""
    keys = draw(st.lists(st.sampled_from(fields), unique=True, max_size=len(fields)))
    doc = {key: draw(values.get(key, DOCUMENTS)) for key in keys}
    if draw(st.booleans()):
        doc[draw(KEYS)] = draw(DOCUMENTS)
    return doc


def _yaml_text(doc) -> str:
    try:
        return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)
    except (yaml.YAMLError, ValueError):
        return repr(doc)


TEXTS = st.one_of(st.text(max_size=200), st.sampled_from([
    "._\n", "a: ._\n", "seed: 2001-02-30\n", "x: 1_0e5\n", "[" * 2000, "{a: " * 500, "- " * 3000,
    "a: !!python/object:os.system x\n", "a: &x [*x]\n", "? [a, b]\n: c\n", "a: 1\na: 2\n", "\ufeffa: 1\n",
    "a: '\x00'\n", "9" * 5000 + "\n", "a: !!binary QUJD\n", "a: !!float abc\n", "a: !!int 1.5\n",
    "a: !!timestamp 2001-99-99\n",
]))


def expect_spec_or_own_error(read, *args):
    """``read(*args)`` returns, or raises a CimspiceError whose message is one non-empty line."""
    try:
        return read(*args)
    except CimspiceError as error:
        message = str(error)
        assert len(message.splitlines()) == 1 and message.strip(), repr(message)
        return None


# ~15 s for the four tests on this machine; CIMSPICE_FUZZ_EXAMPLES=5000 searches harder.
FUZZ = settings(max_examples=int(os.environ.get("CIMSPICE_FUZZ_EXAMPLES", 150)), deadline=None,
                suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    path = tmp_path_factory.mktemp("fuzz")
    (path / "div.cir").write_text("divider\n.param r2=1k vin=1\nV1 a 0 dc {vin}\nR1 a b 1k\nR2 b 0 {r2}\n.end\n")
    return path


# ---------------------------------------------------------------------- sweep specs
SWEEP_VALUES = {"circuit": st.one_of(st.sampled_from(FAST_CIRCUITS), SCALARS),
                "netlist": st.one_of(st.just("div.cir"), SCALARS),
                "design": st.one_of(st.sampled_from(sweep_spec.DESIGNS), SCALARS)}


def test_sweep_spec_documents_parse_or_fail_with_one_line(folder):
    """... and a spec that parses gives finite points and a hash (what the sweep file needs)."""
    source = str(folder / "spec.yaml")
    valid = _valid_sweeps("div.cir")

    @FUZZ
    @given(st.one_of(with_field(valid, {"": list(sweep_spec.FIELDS)}), mutated(valid),
                     top_level(list(sweep_spec.FIELDS), SWEEP_VALUES), DOCUMENTS))
    def check(doc):
        spec = expect_spec_or_own_error(lambda: sweep_spec.parse_sweep_spec(doc, source=source))
        if spec is not None and spec.n_points <= 10_000:
            points = sweep_points(spec)
            assert len(points[next(iter(points))]) == spec.n_points
            assert all(np.all(np.isfinite(values)) for values in points.values()), points
            assert len(spec.sha256) == 64

    check()


def test_sweep_spec_files_load_or_fail_with_one_line(folder):
    path = folder / "spec.yaml"
    valid = _valid_sweeps("div.cir")

    @FUZZ
    @given(st.one_of(st.one_of(with_field(valid, {"": list(sweep_spec.FIELDS)}), mutated(valid)).map(_yaml_text),
                     TEXTS))
    def check(text):
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
        expect_spec_or_own_error(sweep_spec.load_sweep_spec, path)

    check()


# ---------------------------------------------------------------------- system specs
SECTIONS = ["name", "array", "mapping", "inputs", "adc", "sense", "nonlinear", "attention", "tiling",
            "nonidealities", "library", "seed"]


def _system_fields() -> dict[str, list[str]]:
    """Section -> its field names ("" -> the sections), from the spec's dataclasses."""
    default = system_spec.SystemSpec()
    return {"": SECTIONS, **{name: [f.name for f in dataclasses.fields(getattr(default, name))]
                             for name in SECTIONS if dataclasses.is_dataclass(getattr(default, name))}}


def test_system_spec_documents_parse_or_fail_with_one_line(folder):
    valid = _valid_systems()

    @FUZZ
    @given(st.one_of(with_field(valid, _system_fields()), mutated(valid), top_level(SECTIONS, {}), DOCUMENTS))
    def check(doc):
        spec = expect_spec_or_own_error(system_spec.parse_system_spec, doc, "fuzz.yaml", folder)
        if spec is not None:  # what it describes reads back the same (SystemSpec.updated relies on it)
            assert system_spec.parse_system_spec(spec.to_dict(), "fuzz.yaml") == spec

    check()


def test_system_spec_files_load_or_fail_with_one_line(folder):
    path = folder / "system.yaml"
    valid = _valid_systems()

    @FUZZ
    @given(st.one_of(st.one_of(with_field(valid, _system_fields()), mutated(valid)).map(_yaml_text), TEXTS))
    def check(text):
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
        expect_spec_or_own_error(system_spec.load_system_spec, path)

    check()
