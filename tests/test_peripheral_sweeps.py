"""The registered peripheral circuits characterize through `cimspice sweep` into HDF5, and the
stored values are what the circuit itself measures for the same point."""

from __future__ import annotations

import subprocess
import sys

import h5py
import numpy as np
import pytest

from cimspice.circuits import get_circuit
from cimspice.spice import get_engine

CASES = {
    "tia": ("i_in", [0.0, 20e-6, 60e-6], "v_out"),
    "sense_amp": ("i_bl", [8e-6, 12e-6], "decision"),
    "integrator": ("i_in", [5e-6, 40e-6], "v_out"),
    "opamp": ("v_cm", [0.6, 0.8], "a0"),
    "strongarm": ("v_od", [0.01, -0.01], "decision"),
    "adc_flash": ("temp", [27.0, 85.0], "inl_max"),
    "wl_driver": ("g_row", [5e-4, 3.2e-3], "v_far"),
    "dac": ("code", [0, 5], "v_out"),
}
SIZES = {"adc_flash": {"adc_bits": 3}, "dac": {"dac_bits": 3}}


@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.slow) if n.startswith("adc") else n
                                  for n in sorted(CASES)])
def test_sweep_cli_characterizes_a_registered_peripheral(name, tmp_path):
    param, values, output = CASES[name]
    spec = tmp_path / "spec.yaml"
    args = "".join(f"  {k}: {v}\n" for k, v in SIZES.get(name, {}).items())
    spec.write_text(f"circuit: {name}\n" + (f"circuit_args:\n{args}" if args else "") +
                    f"design: list\nparameters:\n  {param}: {values}\noutputs: [{output}]\n")
    out = tmp_path / "out.h5"
    run = subprocess.run([sys.executable, "-m", "cimspice.cli", "sweep", str(spec), "-o", str(out), "--workers", "1"],
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    with h5py.File(out, "r") as f:
        stored = f[f"outputs/{output}"][...]
        assert f.attrs["complete"]
        assert f[f"outputs/{output}"].attrs["units"] == get_circuit(name).measurement(output).unit
    circuit = get_circuit(name, **SIZES.get(name, {}))
    engine = get_engine()
    circuit.load(engine)
    direct = [circuit.simulate(engine, {param: v}).values[output] for v in values]
    np.testing.assert_allclose(stored, direct, rtol=1e-6, atol=1e-12)
