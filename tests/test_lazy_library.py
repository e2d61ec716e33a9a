"""A library read table by table (cimspice.surrogate.lazy): the same tables as load_library,
only those read are parsed, a bad table refused when read (a bad link at open), picklable,
and the simulator's results unchanged by it."""

from __future__ import annotations

import pickle
import shutil
from pathlib import Path

import h5py
import numpy as np
import pytest
from surrogate_data import fitted_surrogate

from cimspice.paths import default_library_path
from cimspice.sim.backend import AnalogBackend
from cimspice.sim.corners import corners_of
from cimspice.sim.library_cache import _LIBRARY_CACHE, load_spec_blocks, load_spec_library
from cimspice.sim.spec import load_system_spec
from cimspice.surrogate import LazyLibrary, LibraryView, SurrogateError, load_blocks, load_library, save_library
from cimspice.surrogate.lazy import table_inputs

SHIPPED = default_library_path()


@pytest.fixture(scope="module")
def eager():
    return load_library(SHIPPED)


def _points(s, n=64, seed=0):
    """(n, inputs) points spread over ``s``'s training domain (the domain's corners included)."""
    rng = np.random.default_rng(seed)
    u = rng.uniform(0.0, 1.0, (n, len(s.inputs)))
    u[0], u[1] = 0.0, 1.0
    return s.domain_min + u * (s.domain_max - s.domain_min)


def test_every_shipped_table_predicts_as_load_library_does(eager):
    lazy = LazyLibrary(SHIPPED)
    assert list(lazy) == list(eager) and len(lazy) == len(eager) > 0
    for name, s in eager.items():
        t = lazy[name]
        assert (t.name, t.inputs, t.outputs, t.input_units, t.output_units, t.provenance) == \
               (s.name, s.inputs, s.outputs, s.input_units, s.output_units, s.provenance), name
        X = _points(s)
        np.testing.assert_array_equal(t.predict(X, out_of_domain="clip"), s.predict(X, out_of_domain="clip"),
                                      err_msg=name)
    assert set(lazy.parsed) == set(eager)
    assert lazy.blocks() == load_blocks(SHIPPED) != {}


def test_only_the_tables_read_are_parsed(eager):
    lazy = LazyLibrary(SHIPPED)
    name = "cell_1t1r.i_cell"
    assert name in lazy and "nope" not in lazy and len(lazy) == len(eager) == len(list(lazy.keys()))
    assert lazy.get("nope") is None
    with pytest.raises(KeyError):
        lazy["nope"]
    assert lazy.parsed == ()
    # every table's inputs from one attribute each, nothing parsed
    assert table_inputs(lazy) == {n for s in eager.values() for n in s.inputs}
    assert lazy.parsed == ()
    first = lazy[name]
    assert lazy[name] is first and lazy.parsed == (name,)


def test_the_simulator_parses_only_what_its_spec_reads():
    _LIBRARY_CACHE.clear()
    try:
        spec = load_system_spec("baseline")
        library = load_spec_library(spec)
        backend = AnalogBackend(spec)
        lazy = library.base
        assert isinstance(lazy, LazyLibrary) and 0 < len(lazy.parsed) <= 40
        assert "cell_1t1r.i_cell" in lazy.parsed and not any(n.startswith("adc_sar_8b.") for n in lazy.parsed)
        assert backend.surrogates.keys() == lazy.keys()
        # a caller's keys stay its own; the cached library is not touched
        library["mine"] = library["cell_1t1r.i_cell"]
        del library["tia.v_out"]
        again = load_spec_library(spec)
        assert "mine" in library and "mine" not in again and "mine" not in lazy
        assert "tia.v_out" not in library and "tia.v_out" in again and "tia.v_out" in lazy
        assert len(library) == len(lazy) and list(library)[-1] == "mine"
    finally:
        _LIBRARY_CACHE.clear()


def test_corners_of_reads_only_that_keys_corner_tables(tmp_path):
    lib = tmp_path / "lib.h5"
    names = ["a.y@ss", "a.y@tt", "a.yy@ff", "b.y", "b.y@ff"]
    save_library(lib, [fitted_surrogate(name=n) for n in names])
    lazy = LazyLibrary(lib)
    assert corners_of(lazy, "a.y") == ["ss", "tt"]
    assert sorted(lazy.parsed) == ["a.y@ss", "a.y@tt"]


def test_a_view_is_a_writable_copy_of_its_base():
    base = {"a": 1, "b": 2, "c": 3}
    view = LibraryView(base)
    view["b"], view["d"] = 20, 4
    del view["a"]
    assert dict(view) == {"b": 20, "c": 3, "d": 4} and list(view) == ["b", "c", "d"]
    assert base == {"a": 1, "b": 2, "c": 3}
    view["a"] = 10
    del view["d"]
    assert dict(view) == {"a": 10, "b": 20, "c": 3} and "d" not in view and len(view) == 3
    with pytest.raises(KeyError):
        del view["d"]


# ------------------------------------------------------------------------------ hostile files
class _Marker:
    """Unpickling this creates ``path`` (a harmless stand-in for arbitrary code)."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (Path.touch, (Path(self.path),))


@pytest.fixture
def good(tmp_path):
    path = tmp_path / "good.h5"
    save_library(path, [fitted_surrogate(name="s"), fitted_surrogate(name="t")])
    return path


def _variant(good, name, edit):
    path = good.with_name(name)
    shutil.copy(good, path)
    with h5py.File(path, "a") as f:
        edit(f)
    return path


def _one_line_naming(info, path, where):
    message = str(info.value)
    assert str(path) in message and where in message and "\n" not in message, message


@pytest.mark.parametrize("how, pattern", [
    ("object_dataset", r"dataset /surrogates/s/model/payload: dtype .* refused"),
    ("opaque_attribute", r"attribute /surrogates/s/model/payload: opaque/compound value refused"),
    ("soft_link", r"/surrogates/s/evil: SoftLink refused"),
    ("external_link", r"/surrogates/s/evil: ExternalLink refused"),
])
def test_a_bad_table_is_refused_when_read_and_never_unpickled(good, tmp_path, how, pattern):
    marker = tmp_path / "marker"
    blob = pickle.dumps(_Marker(marker))

    def edit(f):
        model = f["surrogates/s/model"]
        if how == "object_dataset":
            ds = model.create_dataset("payload", (1,), dtype=h5py.vlen_dtype(np.uint8))   # numpy: object
            ds[0] = np.frombuffer(blob, dtype=np.uint8)
        elif how == "opaque_attribute":
            model.attrs["payload"] = np.void(blob)
        elif how == "soft_link":
            f["surrogates/s"]["evil"] = h5py.SoftLink("/surrogates/t/model")
        else:
            f["surrogates/s"]["evil"] = h5py.ExternalLink(str(tmp_path / "other.h5"), "/x")

    bad = _variant(good, f"{how}.h5", edit)
    lazy = LazyLibrary(bad)                      # the listing is fine
    assert lazy["t"].name == "t"                 # and so is the other table
    for _ in range(2):                           # refused each time, never cached
        with pytest.raises(SurrogateError, match=pattern) as info:
            lazy["s"]
        _one_line_naming(info, bad, "/surrogates/s")
    assert lazy.parsed == ("t",) and not marker.exists()
    with pytest.raises(SurrogateError, match=pattern):   # the eager reader refuses the file at once
        load_library(bad)


@pytest.mark.parametrize("how, where", [
    ("soft_link_table", "/surrogates/u: SoftLink refused"),
    ("external_link_table", "/surrogates/u: ExternalLink refused"),
    ("external_link_top", "/evil: ExternalLink refused"),
    ("soft_linked_surrogates", "/surrogates: SoftLink refused"),
    ("dataset_as_surrogates", "group /surrogates is missing"),
    ("schema", "not a surrogate library"),
    ("opaque_file_attribute", "attribute /note: opaque/compound value refused"),
])
def test_a_bad_link_or_header_is_refused_at_open(good, tmp_path, how, where):
    def edit(f):
        if how == "soft_link_table":
            f["surrogates/u"] = h5py.SoftLink("/surrogates/s")
        elif how == "external_link_table":
            f["surrogates/u"] = h5py.ExternalLink(str(tmp_path / "other.h5"), "/x")
        elif how == "external_link_top":
            f["evil"] = h5py.ExternalLink(str(tmp_path / "other.h5"), "/x")
        elif how == "soft_linked_surrogates":
            f.move("surrogates", "real")
            f["surrogates"] = h5py.SoftLink("/real")
        elif how == "dataset_as_surrogates":
            del f["surrogates"]
            f["surrogates"] = np.zeros(3)
        elif how == "schema":
            f.attrs["schema"] = "cimspice.sweep"
        else:
            f.attrs["note"] = np.void(b"\x80\x04")

    bad = _variant(good, f"{how}.h5", edit)
    with pytest.raises(SurrogateError) as info:
        LazyLibrary(bad)
    _one_line_naming(info, bad, where)


def test_a_missing_or_replaced_file_is_named(good, tmp_path):
    with pytest.raises(SurrogateError, match="no such surrogate library") as info:
        LazyLibrary(tmp_path / "absent.h5")
    _one_line_naming(info, tmp_path / "absent.h5", "absent")
    lib = tmp_path / "lib.h5"
    shutil.copy(good, lib)
    lazy = LazyLibrary(lib)
    lazy["s"]
    save_library(lib, [fitted_surrogate(name="s"), fitted_surrogate(name="t")])   # rebuilt under it
    assert lazy["s"].name == "s"                 # read before: kept
    with pytest.raises(SurrogateError, match="changed since its listing was read") as info:
        lazy["t"]
    _one_line_naming(info, lib, "/surrogates/t")
    lib.unlink()
    with pytest.raises(SurrogateError, match="no such surrogate library") as info:
        lazy["t"]
    _one_line_naming(info, lib, "/surrogates/t")


# ------------------------------------------------------------------------------ pickling
def test_a_pickled_library_keeps_its_tables_and_reads_the_others(eager):
    lazy = LazyLibrary(SHIPPED)
    lazy["cell_1t1r.i_cell"]
    lazy.input_names()
    copy = pickle.loads(pickle.dumps(LibraryView(lazy, {"extra": 1})))  # noqa: S301 - our own object
    assert copy["extra"] == 1 and copy.base.parsed == ("cell_1t1r.i_cell",) and list(copy.base) == list(eager)
    for name in ("cell_1t1r.i_cell", "tia_array.v_out"):
        X = _points(eager[name])
        np.testing.assert_array_equal(copy[name].predict(X, out_of_domain="clip"),
                                      eager[name].predict(X, out_of_domain="clip"))
    assert copy.base.parsed == ("cell_1t1r.i_cell", "tia_array.v_out") and lazy.parsed == ("cell_1t1r.i_cell",)


# ------------------------------------------------------------------------------ the simulator
def test_simulate_gives_the_same_results_lazily_as_eagerly(eager):
    from cimspice.sim.results import results_dict
    from cimspice.sim.simulate import simulate

    _LIBRARY_CACHE.clear()
    try:
        lazy = simulate("baseline", "mlp", n_samples=48, calibration_samples=32)
        full = simulate("baseline", "mlp", n_samples=48, calibration_samples=32, library=eager)
    finally:
        _LIBRARY_CACHE.clear()
    a, b = results_dict(lazy), results_dict(full)
    a.pop("seconds"), b.pop("seconds")
    assert a == b
    assert lazy.analog_metrics == full.analog_metrics and lazy.costs.total_energy == full.costs.total_energy


def test_spec_blocks_come_from_the_lazy_library_unchanged():
    _LIBRARY_CACHE.clear()
    try:
        spec = load_system_spec("baseline")
        assert load_spec_blocks(spec) == load_blocks(SHIPPED)
    finally:
        _LIBRARY_CACHE.clear()


def test_sweep_workers_read_their_tables_from_the_parents_listing():
    """A design sweep's spawned workers get the parent's lazy library with the tables the
    points read already parsed (tests/test_sim_library_cache.py checks which); results equal
    the serial ones."""
    from cimspice.sim.explore import design_points, explore

    points = design_points("baseline", [("adc.bits", [4, 6])])
    _LIBRARY_CACHE.clear()
    try:
        parallel = explore(points, "mlp", workers=2, n_samples=32, calibration_samples=32)
        assert all(v.parsed for k, v in _LIBRARY_CACHE.items() if k[0] == "load_library")
        serial = explore(points, "mlp", workers=1, n_samples=32, calibration_samples=32)
    finally:
        _LIBRARY_CACHE.clear()
    assert [r.analog_metrics for r in parallel] == [r.analog_metrics for r in serial]
    assert [r.costs.total_energy for r in parallel] == [r.costs.total_energy for r in serial]
