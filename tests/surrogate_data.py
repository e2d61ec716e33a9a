"""Test data for the surrogate layer: sweep files written to docs/sweep_schema.md by hand,
of an analytic 1T1R-like cell current, the fast candidate models, and a fitted surrogate."""

from __future__ import annotations

import json
import re
from pathlib import Path

import h5py
import numpy as np

from cimspice.surrogate import (
    MLP,
    GaussianProcess,
    PolynomialRidge,
    Surrogate,
)


def cell_current(R, v_wl, v_bl, v0=0.25):
    """A smooth 1T1R-like cell current (A): G * v0 * sinh(V_BL / v0) * tanh(...)."""
    return (1.0 / R) * v0 * np.sinh(v_bl / v0) * np.tanh((v_wl - 0.2) / 0.3)


def write_sweep(path, inputs, outputs, design, *, grid=None, scales=None, units=None, status=None, version=1,
                circuit="cell_1t1r"):
    """A sweep file following docs/sweep_schema.md."""
    n = len(next(iter(inputs.values())))
    with h5py.File(path, "w") as f:
        f.attrs["schema"] = "cimspice.sweep"
        f.attrs["schema_version"] = version
        f.attrs["cimspice_version"] = "0.1.0"
        f.attrs["circuit"] = circuit
        f.attrs["netlist"] = "* test netlist"
        f.attrs["netlist_sha256"] = "ab" * 32
        f.attrs["spec"] = "design: test"
        f.attrs["design"] = design
        f.attrs["n_points"] = n
        f.attrs["created"] = "2024-01-01T00:00:00+00:00"
        for name, values in inputs.items():
            ds = f.create_dataset(f"inputs/{name}", data=np.asarray(values, dtype=np.float64))
            ds.attrs["units"] = (units or {}).get(name, "V")
            ds.attrs["description"] = f"input {name}"
            ds.attrs["scale"] = (scales or {}).get(name, "linear")
        for name, values in outputs.items():
            ds = f.create_dataset(f"outputs/{name}", data=np.asarray(values, dtype=np.float64))
            ds.attrs["units"] = "A"
            ds.attrs["description"] = f"output {name}"
        st = np.zeros(n, np.int8) if status is None else np.asarray(status, np.int8)
        ds = f.create_dataset("status", data=st)
        ds.attrs["codes"] = json.dumps({"-1": "pending", "0": "ok", "1": "ok after aids", "2": "failed"})
        f.create_dataset("message", data=np.array([""] * n, dtype=h5py.string_dtype()))
        if grid is not None:
            for name, axis in grid.items():
                f.create_dataset(f"grid/{name}", data=np.asarray(axis, dtype=np.float64))
            f.attrs["grid_order"] = np.array(list(grid), dtype=h5py.string_dtype())
        f.attrs["complete"] = True
    return Path(path)


R_AXIS = np.logspace(3, 6, 13)  # ohm
WL_AXIS = np.linspace(0.4, 1.2, 9)  # V
BL_AXIS = np.linspace(0.0, 0.3, 9)  # V


def cell_grid_sweep(path, status=None, extra_outputs=None):
    G = np.meshgrid(R_AXIS, WL_AXIS, BL_AXIS, indexing="ij")
    R, W, B = (g.ravel() for g in G)
    outputs = {"I_cell": cell_current(R, W, B)}
    outputs.update(extra_outputs or {})
    return write_sweep(
        path,
        {"R": R, "V_WL": W, "V_BL": B},
        outputs,
        "grid",
        grid={"R": R_AXIS, "V_WL": WL_AXIS, "V_BL": BL_AXIS},
        scales={"R": "log"},
        units={"R": "ohm"},
        status=status,
    )


def cell_lhs_sweep(path, n=200, seed=3, **kw):
    rng = np.random.default_rng(seed)
    R = 10 ** rng.uniform(3, 6, n)
    W = rng.uniform(0.4, 1.2, n)
    B = rng.uniform(0.0, 0.3, n)
    return write_sweep(path, {"R": R, "V_WL": W, "V_BL": B}, {"I_cell": cell_current(R, W, B)}, "lhs",
                       scales={"R": "log"}, units={"R": "ohm"}, **kw)


#: small, fast candidates for tests
FAST_MODELS = ["grid-linear", "grid-cubic", "poly-4", GaussianProcess(max_points=120),
               MLP((16, 16), max_iter=300, max_points=300)]


def fitted_surrogate(model=None, name="toy.y"):
    rng = np.random.default_rng(1)
    X = np.column_stack([10 ** rng.uniform(3, 6, 200), rng.uniform(0.4, 1.2, 200), rng.uniform(0, 0.3, 200)])
    s = Surrogate(
        model or PolynomialRidge(degree=3),
        ["R", "V_WL", "V_BL"],
        "I_cell",
        input_units=["ohm", "V", "V"],
        output_units=["A"],
        input_scales={"R": "log"},
        name=name,
    )
    return s.fit(X, cell_current(*X.T))



_PREFIXES = {"a": 1e-18, "f": 1e-15, "p": 1e-12, "n": 1e-9, "u": 1e-6, "m": 1e-3, "": 1.0, "k": 1e3, "M": 1e6,
             "G": 1e9}


def shown_errors(text: str, what: str, unit: str) -> list[tuple[float, float]]:
    """Every ``<what> <number> <SI prefix><unit> (<pct> %FS)`` in ``text`` (an error shown
    in its unit beside %FS, e.g. ``RMS 1.48 mV (0.089 %FS)``), read back as
    ``(value in unit, pct)``; ``what`` is a regular expression."""
    number = r"-?[0-9.]+(?:e[-+]?[0-9]+)?"
    found = re.findall(rf"{what} ({number}) ([afpnumkMG]?){re.escape(unit)} \(({number}) %FS\)", text)
    return [(float(v) * _PREFIXES[prefix], float(pct)) for v, prefix, pct in found]
