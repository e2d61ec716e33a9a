"""The programmed-chip cache (sim/program_cache.py, sim/ir_drop.py).

The oracle is the run without a cache: a cached run must give its tiles, outputs, ledger and
generator state bit for bit. A spy on the solver (the real condensation still runs) counts
the transfer matrices solved.
"""

from __future__ import annotations

import hashlib

import h5py
import numpy as np
import pytest

from cimspice.cli import main
from cimspice.sim import SimError
from cimspice.sim.backend import AnalogBackend
from cimspice.sim.crossbar import CrossbarSolver
from cimspice.sim.layers import Dense
from cimspice.sim.network import Sequential
from cimspice.sim.program_cache import ProgramCache

SYSTEM = {"name": "prog", "array": {"rows": 16, "cols": 16, "cell": "sinh", "v0": 0.25, "cell_bits": 2,
                                    "v_read": 0.2},
          "mapping": {"weights": "differential", "slices": 2},
          "inputs": {"encoding": "dac", "bits": 4},
          "adc": {"bits": 6, "partial_sum_bits": 8},
          "nonidealities": {"ir_drop": True, "r_wire": 2.0, "cell_nonlinearity": True, "read_noise_sigma": 0.02,
                            "programming_sigma": 0.05}}
RNG = np.random.default_rng(11)
W, X = RNG.normal(size=(40, 12)), RNG.normal(size=(6, 40))       # 3 row tiles x 3 arrays of 16x16


def _system(**nonidealities):
    return dict(SYSTEM, nonidealities=dict(SYSTEM["nonidealities"], **nonidealities))


@pytest.fixture
def spy(monkeypatch):
    """The transfer matrices solved (the solver itself runs), as a list of their shapes."""
    solved: list[tuple] = []
    solve = CrossbarSolver.transfer_matrix

    def recorded(self, G):
        solved.append(np.shape(G))
        return solve(self, G)

    monkeypatch.setattr(CrossbarSolver, "transfer_matrix", recorded)
    return solved


def _run(system=SYSTEM, cache=None):
    """(outputs, ledger, generator state, backend) of matrix ``fc`` programmed and read."""
    backend = AnalogBackend(system, **({} if cache is None else {"program_cache": cache}))
    mat = backend.matvec("fc", W)
    mat.calibrate(X)
    if cache is not None:
        backend.program_cache.flush()
    y = mat(X)
    return y, dict(backend.ledger.counts["fc"]), backend.rng.bit_generator.state, backend


def _entries(path) -> int:
    with h5py.File(path, "r") as f:
        return int(f.attrs["n_entries"])


def _same(a, b):
    np.testing.assert_array_equal(a[0], b[0])
    assert a[1] == b[1] and a[2] == b[2]
    for s, t in zip(a[3].matrices["fc"].tiles, b[3].matrices["fc"].tiles):
        np.testing.assert_array_equal(s.diff.A, t.diff.A)
        np.testing.assert_array_equal(s.sq.A, t.sq.A)
        assert s.attenuation == t.attenuation


def test_a_second_run_reads_every_transfer_matrix_and_equals_a_run_without_the_cache(tmp_path, spy):
    path = tmp_path / "chip.h5"
    plain = _run()
    spy.clear()
    first = _run(cache=path)
    assert (first[3].program_cache.hits, first[3].program_cache.misses) == (0, 9) and len(spy) == 9
    spy.clear()
    again = _run(cache=path)
    assert (again[3].program_cache.hits, again[3].program_cache.misses) == (9, 0) and spy == []
    _same(plain, first)
    _same(plain, again)
    with h5py.File(path, "r") as f:       # self-describing: schema, units, one group per array shape
        assert f.attrs["schema"] == "cimspice.program_cache" and f.attrs["schema_version"] == 1
        assert f.attrs["n_entries"] == 9 and sorted(f["transfer"]) == ["13x16", "14x16"]
        assert [len(f[f"transfer/{s}/key"]) for s in ("13x16", "14x16")] == [6, 3]
        assert f["transfer/14x16/T"].attrs["units"] == "S"


@pytest.mark.parametrize("change", [{"seed": 2}, {"nonidealities": {"r_wire": 2.5}},
                                    {"array": {"v0": 0.3}}, {"nonidealities": {"programming_sigma": 0.04}}],
                         ids=["seed", "r_wire", "cell", "programming"])
def test_any_change_to_what_an_array_is_solved_from_solves_it_afresh(tmp_path, change):
    path = tmp_path / "chip.h5"
    _run(cache=path)
    system = {k: dict(v, **change.get(k, {})) if isinstance(v, dict) else v for k, v in SYSTEM.items()}
    system.update({k: v for k, v in change.items() if not isinstance(v, dict)})
    changed = _run(system, cache=path)
    assert (changed[3].program_cache.hits, changed[3].program_cache.misses) == (0, 9)
    _same(_run(system), changed)
    assert _entries(path) == 18                  # the first run's kept


def test_two_runs_flushing_into_one_file_keep_each_others_entries(tmp_path):
    path = tmp_path / "chip.h5"
    a = AnalogBackend(SYSTEM, program_cache=path)
    b = AnalogBackend(SYSTEM, seed=5, program_cache=path)     # opened before a's entries exist
    a.matvec("fc", W)
    b.matvec("fc", W)
    a.program_cache.flush()
    b.program_cache.flush()
    assert _entries(path) == 18


def test_entries_read_back_from_memory_the_temporary_file_and_the_cache_file(tmp_path):
    cache = ProgramCache(tmp_path / "c.h5")
    Ts = RNG.uniform(1e-6, 1e-4, (130, 4, 5))
    keys = [cache.key("signature", T) for T in Ts]
    for key, T in zip(keys, Ts):
        cache.put(key, T)               # 128 written to the temporary file, 2 still in memory
    assert all(np.array_equal(cache.get(key), T) for key, T in zip(keys, Ts))
    cache.flush()
    again = ProgramCache(tmp_path / "c.h5")
    assert all(np.array_equal(again.get(key), T) for key, T in zip(keys, Ts)) and again.hits == 130
    assert again.get(cache.key("another signature", Ts[0])) is None


def test_an_interrupted_run_leaves_the_cache_file_as_it_was(tmp_path):
    path = tmp_path / "chip.h5"
    _run(cache=path)
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    backend = AnalogBackend(_system(r_wire=3.0), program_cache=path)
    backend.matvec("big", RNG.normal(size=(192, 48)))     # 144 arrays: new entries in a temporary file
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before and len(list(tmp_path.iterdir())) == 2
    wrong = Sequential("two", [Dense("fc", W), Dense("bad", np.ones((5, 2)))])   # 12 features into 5 rows
    with pytest.raises(SimError, match="bad: input has 12 features"):
        backend.calibrate(wrong, X)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before
    assert [p.name for p in tmp_path.iterdir()] == ["chip.h5"]     # the temporary file removed


def test_a_corrupt_or_foreign_file_is_a_one_line_error_naming_it(tmp_path):
    good = tmp_path / "good.h5"
    _run(cache=good)

    def attributes(path, **attrs):
        with h5py.File(path, "w") as f:
            f.attrs.update(attrs)

    cases = {"junk.h5": lambda p: p.write_bytes(b"not hdf5 at all" * 10),
             "cut.h5": lambda p: p.write_bytes(good.read_bytes()[:5000]),
             "lib.h5": lambda p: attributes(p, schema="cimspice.surrogates"),
             "newer.h5": lambda p: attributes(p, schema="cimspice.program_cache", schema_version=2)}
    reasons = {"junk.h5": "not a readable HDF5 file", "cut.h5": "not a readable HDF5 file",
               "lib.h5": "not a program cache (schema 'cimspice.surrogates'", "newer.h5": "schema_version 2"}
    for name, write in cases.items():
        write(tmp_path / name)
        with pytest.raises(SimError) as error:
            AnalogBackend(SYSTEM, program_cache=tmp_path / name)
        message = str(error.value)
        assert "\n" not in message and message.startswith(str(tmp_path / name)) and reasons[name] in message
    with pytest.raises(SimError, match=r"missing/c.h5: program cache: cannot write in .*missing \(no such folder"):
        AnalogBackend(SYSTEM, program_cache=tmp_path / "missing" / "c.h5")
    with h5py.File(good, "r") as f:                  # one entry's bytes damaged: its checksum fails
        at = f["transfer/14x16/T"].id.get_chunk_info(0).byte_offset
    data = bytearray(good.read_bytes())
    data[at + 8] ^= 0xFF
    good.write_bytes(bytes(data))
    with pytest.raises(SimError, match=r"good.h5: program cache entry /transfer/14x16 #0 cannot be read: .*filter"):
        _run(cache=good)


def test_simulate_reuses_the_cache_with_the_same_results(tmp_path, capsys):
    args = ["simulate", "ideal", "--network", "mlp", "--samples", "40", "--set", "nonidealities.ir_drop=true",
            "--set", "nonidealities.r_wire=2.0", "--set", "nonidealities.programming_sigma=0.05",
            "--program-cache", str(tmp_path / "c.h5")]
    assert main([*args, "-o", str(tmp_path / "a")]) == 0
    first, written = capsys.readouterr().out, (tmp_path / "c.h5").read_bytes()
    assert _entries(tmp_path / "c.h5") > 0
    assert main([*args, "-o", str(tmp_path / "b")]) == 0
    assert capsys.readouterr().out.replace(str(tmp_path / "b"), str(tmp_path / "a")) == first
    assert (tmp_path / "c.h5").read_bytes() == written       # every array found: nothing to add
    (tmp_path / "bad.h5").write_text("no")
    assert main(["simulate", "ideal", "--network", "mlp", "--program-cache", str(tmp_path / "bad.h5"),
                 "-o", str(tmp_path / "c")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "bad.h5" in err and not (tmp_path / "c").exists()
