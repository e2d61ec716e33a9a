"""The HDF5 surrogate library: round trips, appends, atomic writes, and hostile files
(pickles, corrupt or mistyped datasets) refused with one line."""

from __future__ import annotations

import os
import pickle
import warnings
from pathlib import Path

import h5py
import numpy as np
import pytest
from surrogate_data import (
    fitted_surrogate,
)

from cimspice.surrogate import (
    MLP,
    GridInterpolator,
    PolynomialRidge,
    Surrogate,
    SurrogateError,
    file_sha256,
    inspect_library,
    load_library,
    save_library,
)


# ------------------------------------------------------------------------------ library
def test_library_roundtrip_append_and_inspect(grid_fit, tmp_path):
    path, surrogates = grid_fit
    lib = tmp_path / "lib.h5"
    save_library(lib, surrogates)
    loaded = load_library(lib)
    s, t = surrogates["cell_1t1r.I_cell"], loaded["cell_1t1r.I_cell"]
    Q = {"R": np.logspace(3.1, 5.9, 50), "V_WL": np.linspace(0.45, 1.1, 50), "V_BL": np.linspace(0.01, 0.29, 50)}
    np.testing.assert_array_equal(t.predict(Q), s.predict(Q))
    assert ((t.inputs, t.input_units, t.input_scales, t.outputs, t.output_units)
            == (s.inputs, s.input_units, s.input_scales, s.outputs, s.output_units))
    np.testing.assert_array_equal(t.domain_max, s.domain_max)
    assert [c["label"] for c in t.candidates] == [c["label"] for c in s.candidates]
    assert t.candidates[1]["rms_pct"] == s.candidates[1]["rms_pct"]
    assert t.provenance["source_sweep_sha256"] == file_sha256(path)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        other = fitted_surrogate(MLP((6,), max_iter=50), name="other.I")
    save_library(lib, [other], append=True)
    assert sorted(load_library(lib)) == ["cell_1t1r.I_cell", "other.I"]
    with pytest.raises(SurrogateError, match="already holds"):
        save_library(lib, [other], append=True)
    save_library(lib, {"other.I": fitted_surrogate(PolynomialRidge(2), name="other.I")}, append=True, replace=True)
    assert load_library(lib)["other.I"].model_label == "poly-2"
    text = inspect_library(lib)
    for needle in ("cell_1t1r.I_cell", "other.I", "ohm", "log", "grid-cubic", "poly-4", "mlp-16x16", "%FS",
                   "1000 .. 1e+06"):
        assert needle in text, needle
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_multi_output_surrogate_roundtrip(tmp_path):
    axes = [np.linspace(0.0, 1.0, 5), np.logspace(-6, -4, 6)]
    G = np.meshgrid(*axes, indexing="ij")
    X = np.column_stack([g.ravel() for g in G])
    Y = {"i": X[:, 0] * X[:, 1], "p": X[:, 0] ** 2 * X[:, 1]}  # compared at the grid nodes
    s = Surrogate(GridInterpolator("linear"), ["v", "g"], ["i", "p"], input_units=["V", "S"], output_units=["A", "W"],
                  input_scales=["linear", "log"]).fit(X, Y)
    lib = save_library(tmp_path / "multi.h5", [s])
    t = load_library(lib)["i+p"]
    assert t.outputs == ["i", "p"] and t.output_units == ["A", "W"] and not t.single_output
    out = t.predict(X)
    assert out.shape == (len(X), 2)
    np.testing.assert_allclose(out, np.column_stack([Y["i"], Y["p"]]), rtol=1e-12)
    np.testing.assert_array_equal(out, s.predict(X))


def test_save_is_atomic_when_writing_fails(tmp_path, monkeypatch):
    lib = tmp_path / "lib.h5"
    save_library(lib, [fitted_surrogate(name="a")])
    before = lib.read_bytes()
    bad = fitted_surrogate(name="b")

    def boom(group):
        group.create_dataset("partial", data=[1.0])
        raise RuntimeError("disk full")

    monkeypatch.setattr(bad, "to_hdf5", boom)
    with pytest.raises(RuntimeError, match="disk full"):
        save_library(lib, [bad], append=True)
    assert lib.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lib.h5"]


class _Marker:
    """Unpickling this creates ``path`` (a harmless stand-in for arbitrary code)."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (Path.touch, (Path(self.path),))


@pytest.mark.parametrize("how", ["void_dataset", "bytes_dataset", "uint8_instead_of_float", "void_attribute",
                                 "vlen_bytes_dataset"])
def test_pickled_blob_is_refused_and_never_unpickled(tmp_path, how):
    # the blob is live: unpickling it does create its marker file
    probe = tmp_path / "probe-marker"
    pickle.loads(pickle.dumps(_Marker(probe)))  # noqa: S301 - our own object, to show the payload is live
    assert probe.exists()

    marker = tmp_path / "marker"
    blob = pickle.dumps(_Marker(marker))
    lib = tmp_path / "lib.h5"
    save_library(lib, [fitted_surrogate(name="s")])
    with h5py.File(lib, "a") as f:
        model = f["surrogates/s/model"]
        if how == "void_dataset":
            model.create_dataset("payload", data=np.void(blob))
        elif how == "bytes_dataset":
            del model["coef"]
            model.create_dataset("coef", data=np.bytes_(blob))
        elif how == "uint8_instead_of_float":
            del model["coef"]
            model.create_dataset("coef", data=np.frombuffer(blob, dtype=np.uint8))
        elif how == "void_attribute":
            model.attrs["payload"] = np.void(blob)
        else:
            ds = model.create_dataset("payload", (1,), dtype=h5py.vlen_dtype(np.uint8))  # ragged bytes
            ds[0] = np.frombuffer(blob, dtype=np.uint8)
    with pytest.raises(SurrogateError) as info:
        load_library(lib)
    message = str(info.value)
    assert str(lib) in message and "\n" not in message
    assert ("refused" in message) or ("dtype" in message)
    assert not marker.exists()


def _corrupt(lib: Path, edit):
    with h5py.File(lib, "a") as f:
        edit(f)


def test_bad_library_files_give_clear_one_line_errors(tmp_path):
    good = tmp_path / "good.h5"
    save_library(good, [fitted_surrogate(name="s")])

    def variant(name, edit):
        path = tmp_path / name
        path.write_bytes(good.read_bytes())
        _corrupt(path, edit)
        return path

    cases = [
        (variant("kind.h5", lambda f: f["surrogates/s/model"].attrs.__setitem__("kind", "xgboost")),
         r"unknown model kind 'xgboost'"),
        (variant("missing.h5", lambda f: f["surrogates/s/model"].__delitem__("coef")),
         r"dataset /surrogates/s/model/coef is missing"),
        (variant("future.h5", lambda f: f.attrs.__setitem__("schema_version", 99)),
         r"schema_version 99 is newer .* upgrade cimspice"),
        (variant("schema.h5", lambda f: f.attrs.__setitem__("schema", "cimspice.sweep")), r"not a surrogate library"),
        (variant("shape.h5", lambda f: (f["surrogates/s"].__delitem__("domain_min"),
                                        f["surrogates/s"].create_dataset("domain_min", data=[1.0]))),
         r"domain_min: shape"),
        (variant("extlink.h5", lambda f: f["surrogates/s"].__setitem__("evil", h5py.ExternalLink("other.h5", "/x"))),
         r"ExternalLink refused"),
        (variant("noattr.h5", lambda f: f["surrogates/s"].attrs.__delitem__("input_names")), r"input_names is missing"),
    ]
    for path, pattern in cases:
        with pytest.raises(SurrogateError, match=pattern) as info:
            load_library(path)
        assert str(path) in str(info.value) and "\n" not in str(info.value)

    truncated = tmp_path / "truncated.h5"
    data = good.read_bytes()
    truncated.write_bytes(data[: len(data) // 2])
    with pytest.raises(SurrogateError, match=r"truncated\.h5: .*(truncated|corrupt)") as info:
        load_library(truncated)
    assert "\n" not in str(info.value)
    garbage = tmp_path / "garbage.h5"
    garbage.write_bytes(os.urandom(4096))
    with pytest.raises(SurrogateError, match="cannot open as HDF5"):
        load_library(garbage)
    with pytest.raises(SurrogateError, match="no such surrogate library"):
        load_library(tmp_path / "absent.h5")


