"""Oracles for the device models and the 1T1R bench in ``netlists/``: constants restated
from the published sources cited in the netlists' headers, the equations written from them,
and an ``ngspice -b`` runner. They share no code or text with the netlists (no cimspice
import). ngspice 39 prints informational lines ("Note:", "Using SPARSE", gmin stepping)
which are not failures.
"""

from __future__ import annotations

import math
import re
import subprocess
from pathlib import Path

import numpy as np

NETLISTS = Path(__file__).resolve().parents[1] / "netlists"
RERAM_LIB = NETLISTS / "reram.lib"
PTM45_LIB = NETLISTS / "ptm45.lib"
CELL_BENCH = NETLISTS / "cell_1t1r.cir"

# ReRAM constants, restated from the sources (see reram.lib / docs/devices.md).
G_ON = 100e-6  # S, low-resistance state (10 kOhm)
G_OFF = 1e-6  # S, high-resistance state (1 MOhm)
V0 = 0.25  # V, Stanford-PKU V0
# Stanford-PKU HfOx switching parameters (Verilog-A v1.0.0 defaults).
NU0 = 10.0  # m/s
EA = 0.6  # eV
A0 = 0.25e-9  # m
TOX = 12e-9  # m
GAMMA0 = 16.0
F_MIN = 1.4e9  # V/m
GAP0 = 0.25e-9  # m (the model's g0)
KB_Q = 8.617333e-5  # V/K
V_TH = F_MIN * TOX / GAMMA0  # V, SET and RESET threshold: 1.05 V
T_ROOM = 27.0  # degC, ngspice default temperature
VDD = 1.1  # V, FreePDK45 nominal supply

# FreePDK45 VTG card values per corner (the source files, not ptm45.lib).
VTH0_N = {"tt": 0.4106, "ff": 0.3856, "ss": 0.4356}  # V
VTH0_P = {"tt": -0.3842, "ff": -0.3592, "ss": -0.4092}  # V
NFACTOR_N, NFACTOR_P = 2.1, 2.22
U0_N, U0_P = 0.045, 0.02  # m^2/Vs

FATAL = re.compile(
    r"error|singular matrix|timestep too small|simulation interrupted|"
    r"no convergence|iteration limit|analysis failed|can't find|not found",
    re.IGNORECASE,
)


def run_deck(tmp_path: Path, text: str, name: str = "deck.cir", timeout: float = 60.0) -> str:
    """Run ``text`` with ``ngspice -b`` in ``tmp_path``; fail on an error, return stdout.

    ngspice 39 exits with status 1 after a deck whose analyses all live in .control
    (it notes "no simulations run"), and with 0 after some failed analyses, so the
    status only screens out crashes; errors are found in the output.
    """
    deck = tmp_path / name
    deck.write_text(text)
    proc = subprocess.run(
        ["ngspice", "-b", str(deck)],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=tmp_path,
    )
    out = proc.stdout + proc.stderr
    bad = [line for line in out.splitlines() if FATAL.search(line)]
    assert proc.returncode in (0, 1) and not bad, f"ngspice failed ({proc.returncode}):\n{out}"
    return proc.stdout


def load_wrdata(path: Path) -> np.ndarray:
    """Columns of a wrdata file: scale, vec1, scale, vec2, ... -> (scale, vec1, vec2, ...)."""
    data = np.atleast_2d(np.loadtxt(path))
    return np.column_stack([data[:, 0], data[:, 1::2]])


def reram_current(g: np.ndarray | float, v: np.ndarray | float) -> np.ndarray:
    """Read law of the ReRAM (A): I = g v0 sinh(V/v0)."""
    return np.asarray(g) * V0 * np.sinh(np.asarray(v) / V0)


def switching_constants(temp_c: float = T_ROOM) -> tuple[float, float]:
    """(k, v_s): rate prefactor (1/s) and overdrive slope (V) of the state equation.

    Stanford-PKU gap velocity nu0 exp(-Ea/kT) sinh(gamma0 a0 V/(tox kT/q)); above
    threshold sinh is its exponential half, and w spans the gap range g0 ln(g_on/g_off).
    Writing exp(V/v_s) = exp(V_TH/v_s) exp((V - V_TH)/v_s) gives k below.
    """
    kt = KB_Q * (temp_c + 273.15)
    v_s = TOX * kt / (GAMMA0 * A0)
    barrier = EA - GAMMA0 * A0 * V_TH / TOX
    k = NU0 / (2 * GAP0 * math.log(G_ON / G_OFF)) * math.exp(-barrier / kt)
    return k, v_s


def switching_rate(v_drive: float, temp_c: float = T_ROOM, v_th: float = V_TH) -> float:
    """|dw/dt| per unit window factor (1/s) at drive |V| above threshold v_th."""
    k, v_s = switching_constants(temp_c)
    return k * (math.exp((v_drive - v_th) / v_s) - 1.0)


def w_of_g(g: np.ndarray | float) -> np.ndarray:
    return np.log(np.asarray(g) / G_OFF) / math.log(G_ON / G_OFF)


def cell_deck(corner: str = "tt", control: str = "") -> str:
    """The shipped 1T1R bench with absolute model paths, a chosen corner, own .control."""
    text = CELL_BENCH.read_text()
    text = re.sub(r"(?ms)^\.control.*?^\.endc\s*$", "", text)
    text = re.sub(r"(?m)^\.end\s*$", "", text)
    text = re.sub(r"(?m)^\.lib ptm45\.lib tt\s*$", f".lib {PTM45_LIB} {corner}", text)
    text = re.sub(r"(?m)^\.include reram\.lib\s*$", f".include {RERAM_LIB}", text)
    assert str(PTM45_LIB) in text and str(RERAM_LIB) in text, "bench layout changed"
    return f"{text}\n.control\n{control}\n.endc\n.end\n"
