"""Small real ngspice sweeps (each under a second, run inline) for the fit and export tests:
user netlists written here, and the registered 1T1R cell."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from cimspice.characterize import parse_sweep_spec, run_sweep
from cimspice.circuits.devices import RERAM
from cimspice.paths import netlist_path

DIVIDER = "divider\n.param r2=1k vin=1\nV1 a 0 dc {vin}\nR1 a b 1k\nR2 b 0 {r2}\n.end\n"
DIVIDER_OUTPUTS = {"v_out": {"vector": "v(b)", "unit": "V"}, "i_in": {"vector": "i(v1)", "unit": "A"}}
# k exp(v/50 mV) pushed into a load r: no operating point for k = 1e-3 (the exponential
# outruns the resistor), so those points fail (tests/test_sweep_failures.py)
EXP_LOAD = "exponential load\n.param k=1e-9 r=1k\nR1 out 0 {r}\nB1 0 out I = {k}*exp(v(out)/0.05)\n.end\n"
K_VALUES = [1e-9, 1e-3, 2e-9]
# the shipped ReRAM model with a log-conductance offset d_lng (docs/devices.md)
RERAM_CELL = ("reram read\n.include \"{lib}\"\n.param g=1e-5 d_lng=0 v=0.1\nV1 a 0 dc {{v}}\n"
              "xr a 0 reram g={{g*exp(d_lng)}}\n.end\n")


def sweep(folder: Path, name: str, spec: dict, netlist: str | None = None) -> Path:
    """Run ``spec`` (with ``netlist`` written to ``folder/<name>.cir`` when given) into
    ``folder/<name>.h5``."""
    if netlist is not None:
        (folder / f"{name}.cir").write_text(netlist)
        spec = {"netlist": f"{name}.cir", **spec}
    out = folder / f"{name}.h5"
    run_sweep(parse_sweep_spec(spec, source=str(folder / f"{name}.yaml")), out, executor="inline", progress=False)
    return out


def divider_grid(folder: Path, r2, vin, name: str = "divider") -> Path:
    """Grid over R2 (ohm) and the input voltage (V) of a 1k/R2 divider: v_out, i_in."""
    return sweep(folder, name, {"parameters": {"r2": {"values": list(r2)}, "vin": {"values": list(vin)}},
                                "outputs": DIVIDER_OUTPUTS}, DIVIDER)


def failing_grid(folder: Path) -> Path:
    """Grid temp (27, 60 degC) x k (K_VALUES) x r (1k, 2k ohm): the 4 points at k = 1e-3 fail."""
    return sweep(folder, "exp", {"parameters": {"k": {"values": K_VALUES}, "r": {"values": [1e3, 2e3]}},
                                 "temperatures": [27, 60], "outputs": {"v_out": {"vector": "v(out)", "unit": "V"}}},
                 EXP_LOAD)


def reram_montecarlo(folder: Path, samples: int = 12, seed: int = 3) -> Path:
    """Monte Carlo of the ReRAM's d_lng (sigma 0.2) at read voltages 0.1 and 0.3 V: output
    i = i(V1) = -read_law(d_lng, v)."""
    return sweep(folder, "mc", {"design": "montecarlo", "samples": samples, "seed": seed,
                                "parameters": {"d_lng": {"sigma": 0.2}, "v": {"values": [0.1, 0.3]}},
                                "outputs": {"i": {"vector": "i(v1)", "unit": "A"}}},
                 RERAM_CELL.format(lib=netlist_path("reram.lib")))


def read_law(d_lng, v, g=1e-5):
    """The ReRAM's current (A) at conductance g exp(d_lng) and voltage v: g v0 sinh(v / v0)."""
    return g * np.exp(d_lng) * RERAM.v0 * np.sinh(np.asarray(v) / RERAM.v0)


def cell_corners(folder: Path) -> Path:
    """The registered 1T1R cell at corners ss, ff, 27 degC, g (S) x v_bl (V), v_wl fixed."""
    return sweep(folder, "pvt", {"circuit": "cell_1t1r", "corners": ["ss", "ff"], "temperatures": [27],
                                 "parameters": {"g": {"values": [1e-5, 1e-4]}, "v_bl": {"values": [0.1, 0.2, 0.3]},
                                                "v_wl": 1.1}})
