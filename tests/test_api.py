"""The package's front door: the five functions of the command line, imported lazily."""

from __future__ import annotations

import subprocess
import sys

import pytest

FIVE = {"run_sweep": "cimspice.characterize.runner", "fit_library": "cimspice.surrogate.library",
        "load_library": "cimspice.surrogate.library", "simulate": "cimspice.sim.simulate",
        "run_study": "cimspice.studies"}


def _python(code: str) -> str:
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    return run.stdout


def test_import_cimspice_loads_no_layer_and_lists_the_five_functions():
    out = _python("""
import sys
import cimspice
heavy = ("PySpice", "numpy", "scipy", "h5py", "sklearn", "matplotlib", "yaml", "tqdm", "dask")
loaded = sorted(m for m in sys.modules if m.split(".")[0] in heavy or m.startswith("cimspice."))
assert not loaded, loaded
print(" ".join(sorted(set(cimspice.__all__) & set(dir(cimspice)))))
""")
    assert set(out.split()) == {"CimspiceError", "__version__", *FIVE}


@pytest.mark.parametrize("name", sorted(FIVE))
def test_each_function_is_its_layers_with_an_example(name):
    import importlib

    import cimspice

    function = getattr(cimspice, name)
    assert function is getattr(importlib.import_module(FIVE[name]), name)
    assert f"cimspice.{name}(" in function.__doc__, "the docstring's example uses the top-level name"
    with pytest.raises(AttributeError, match="no attribute 'simulation'"):
        cimspice.simulation  # noqa: B018


def test_run_sweep_takes_a_spec_file_or_mapping(tmp_path):
    import h5py
    import yaml

    import cimspice

    spec = {"circuit": "cell_1t1r", "parameters": {"g": 1e-4, "v_bl": {"values": [0.1, 0.2]}, "v_wl": 1.1}}
    (tmp_path / "cell.yaml").write_text(yaml.safe_dump(spec))
    for source, out in ((tmp_path / "cell.yaml", "file.h5"), (spec, "mapping.h5")):
        summary = cimspice.run_sweep(source, tmp_path / out, executor="inline", progress=False)
        assert summary.counts["ok"] == 2
    with h5py.File(tmp_path / "file.h5") as a, h5py.File(tmp_path / "mapping.h5") as b:
        assert list(a["outputs/i_cell"][...]) == list(b["outputs/i_cell"][...])
