"""A system's library file is read once per process and read again once it changes."""

from __future__ import annotations

import os
import pickle
import shutil
from pathlib import Path

import pytest

import cimspice.surrogate as surrogate
from cimspice.sim.errors import SimError
from cimspice.sim.library_cache import _LIBRARY_CACHE, load_spec_blocks, load_spec_library
from cimspice.sim.spec import load_system_spec

SHIPPED = Path(__file__).resolve().parents[1] / "cimspice" / "library" / "default.h5"


@pytest.fixture
def counted(monkeypatch):
    """Reads of library files: "load_library" when one is opened (its listing; tables are read
    as looked up), "load_blocks" when its block records are read."""
    calls = []

    class Counted(surrogate.LazyLibrary):
        def __init__(self, path):
            calls.append("load_library")
            super().__init__(path)

        def blocks(self):
            calls.append("load_blocks")
            return super().blocks()

    monkeypatch.setattr(surrogate, "LazyLibrary", Counted)
    _LIBRARY_CACHE.clear()
    yield calls
    _LIBRARY_CACHE.clear()


def _spec(path):
    return load_system_spec({"name": "s", "library": str(path), "array": {"rows": 8, "cols": 8}})


def test_read_once_then_again_after_a_rebuild(tmp_path, counted):
    lib = tmp_path / "lib.h5"
    shutil.copy(SHIPPED, lib)
    first, again = load_spec_library(_spec(lib)), load_spec_library(_spec(lib))
    assert counted == ["load_library"]
    assert first.keys() == again.keys() and first is not again
    blocks = load_spec_blocks(_spec(lib))
    blocks["tia"]["changed"] = 1                      # a caller's change stays its own
    assert "changed" not in load_spec_blocks(_spec(lib))["tia"]
    assert counted == ["load_library", "load_blocks"]
    st = lib.stat()
    os.utime(lib, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))   # rewritten: read afresh
    load_spec_library(_spec(lib))
    assert counted == ["load_library", "load_blocks", "load_library"]


def test_a_file_gone_after_caching_is_named(tmp_path, counted):
    lib = tmp_path / "lib.h5"
    shutil.copy(SHIPPED, lib)
    load_spec_library(_spec(lib))
    lib.unlink()
    with pytest.raises(SimError, match="lib.h5"):
        load_spec_library(_spec(lib))


@pytest.fixture(autouse=True)
def _blas_threads_restored():
    """init_worker limits BLAS to one thread for a worker's life; here it runs in the test
    process, whose limits are put back afterwards."""
    from cimspice.sim import explore

    yield
    while explore._ONE_BLAS_THREAD:
        explore._ONE_BLAS_THREAD.pop().__exit__(None, None, None)


def test_a_worker_seeded_with_the_parents_reads_reads_nothing(tmp_path, counted, monkeypatch):
    """What a design sweep's pool hands its workers (sim/explore.py): the parent's reads, and
    one tile thread per worker process."""
    from cimspice.sim import row_tile
    from cimspice.sim.backend import AnalogBackend
    from cimspice.sim.explore import init_worker
    from cimspice.sim.library_cache import read_libraries

    monkeypatch.setattr(row_tile, "THREADS_PER_PROCESS", None)   # restored after the test

    lib = tmp_path / "lib.h5"
    shutil.copy(SHIPPED, lib)
    entries = read_libraries([_spec(lib), _spec(lib), load_system_spec({"name": "none"})])
    assert counted == ["load_library", "load_blocks"] and len(entries) == 2
    _LIBRARY_CACHE.clear()                       # a fresh worker process
    init_worker(entries)
    assert load_spec_library(_spec(lib)).keys() == entries[next(k for k in entries if k[0] == "load_library")].keys()
    load_spec_blocks(_spec(lib))
    assert counted == ["load_library", "load_blocks"]
    assert row_tile.THREADS_PER_PROCESS == 1
    from threadpoolctl import threadpool_info

    assert {lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"} == {1}
    assert AnalogBackend(_spec(lib)).threads == 1 and AnalogBackend(_spec(lib), threads=2).threads == 2


def test_a_sweeps_tables_go_to_its_workers_parsed(tmp_path, monkeypatch):
    """read_libraries parses every table the design points read (at 4 bits the 4- and 6-bit
    SARs', at 6 bits the 6-bit one's), and a worker started with its entries, pickled as a
    pool sends them, parses none itself. Oracle: the tables each point's simulation parses
    from a fresh read of the file."""
    import numpy as np

    from cimspice.sim import row_tile
    from cimspice.sim.explore import init_worker
    from cimspice.sim.library_cache import read_libraries
    from cimspice.sim.network import Sequential
    from cimspice.sim.simulate import simulate

    monkeypatch.setattr(row_tile, "THREADS_PER_PROCESS", None)   # restored after the test
    lib = tmp_path / "lib.h5"
    shutil.copy(SHIPPED, lib)
    rng = np.random.default_rng(0)
    net = Sequential.from_config("one", [{"type": "dense", "name": "fc"}],
                                 {"fc.W": rng.normal(size=(24, 5)), "fc.b": np.zeros(5)}, {})
    x = rng.uniform(0, 1, size=(8, 24))
    data = (x, np.zeros(8, int), x)
    base = load_system_spec("baseline").updated({"library": str(lib)})
    specs = [base.updated({"adc": {"bits": bits}}) for bits in (4, 6)]
    needed = []
    for spec in specs:
        fresh = surrogate.LazyLibrary(lib)
        simulate(spec, net, data, library=fresh)
        needed.append(set(fresh.parsed))
    assert needed[1] < needed[0]                       # 6 bits: no 4-bit SAR tables

    _LIBRARY_CACHE.clear()
    try:
        entries = read_libraries(specs)
        (parsed,) = [v.parsed for k, v in entries.items() if k[0] == "load_library"]
        assert set(parsed) == needed[0] | needed[1] and len(parsed) == len(needed[0])
        _LIBRARY_CACHE.clear()                         # a fresh worker process
        init_worker(pickle.loads(pickle.dumps(entries)))   # noqa: S301 - our own entries, as a pool sends them
        (worker,) = [v for k, v in _LIBRARY_CACHE.items() if k[0] == "load_library"]
        assert worker.parsed == parsed
        for spec in specs:
            simulate(spec, net, data)
        assert worker.parsed == parsed                 # nothing read from the file
    finally:
        _LIBRARY_CACHE.clear()
