"""ngspice's own ``.meas`` as an oracle: the same netlist run by ``ngspice -b`` with ``.meas``
lines (a trusted test deck, never the sweep's), its printed results parsed; and one small
inline sweep of the netlist through cimspice."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import h5py

from cimspice.characterize import parse_sweep_spec, run_sweep

_RESULT = re.compile(r"^(\w+)\s*=\s*(\S+)", re.MULTILINE)

# Two gm-C stages: A0 = gm1 R1 gm2 R2 = 1000, poles p1 = 1 kHz and (c2 = 0.53 pF) p2 = 3 MHz.
TWO_POLE = """two-pole gm-C
.param r2=100k c2=0.530516p
V1 in 0 dc 0 ac 1
G1 0 a in 0 1m
R1 a 0 100k
C1 a 0 1.59155n
G2 0 out a 0 100u
R2 out 0 {r2}
C2 out 0 {c2}
.end
"""


def with_param(netlist: str, name: str, value: float) -> str:
    """``netlist`` with ``.param`` ``name`` set to ``value``."""
    return re.sub(rf"(\.param\b.*\b{name}=)\S+", rf"\g<1>{value!r}", netlist)


def ngspice_meas(netlist: str, analysis_card: str, meas: dict[str, str], folder: Path,
                 control: str = "") -> tuple[dict[str, float], str]:
    """``({name: value}, stdout)`` of ``ngspice -b`` on ``netlist`` plus ``analysis_card`` and
    one ``.meas ANALYSIS name REST`` per entry of ``meas`` (``name -> "tran TRIG ..."``);
    ``control`` lines go in a ``.control`` block (for what ``.meas`` cannot read: noise)."""
    body = netlist.rstrip().removesuffix(".end").rstrip()
    lines = [f".meas {text.split(None, 1)[0]} {name} {text.split(None, 1)[1]}" for name, text in meas.items()]
    block = f".control\n{control}\n.endc\n" if control else ""
    deck = folder / "oracle.cir"
    # .save all: a deck whose only .meas vector is vm(out) otherwise saves nothing (ngspice 39)
    deck.write_text(f"{body}\n{analysis_card}\n.save all\n" + "\n".join(lines) + f"\n{block}.end\n")
    run = subprocess.run(["ngspice", "-b", str(deck)], capture_output=True, text=True, timeout=120, cwd=folder)
    values = {}
    for name, value in _RESULT.findall(run.stdout):
        try:
            values[name.lower()] = float(value)
        except ValueError:
            pass
    return values, run.stdout + run.stderr


def sweep_outputs(folder: Path, netlist: str, spec: dict, name: str = "bench") -> tuple[dict, list[str], list]:
    """Run ``spec`` on ``netlist`` (written to ``folder/<name>.cir``) inline; return
    ``({output: values}, messages, status)`` read back from the sweep file."""
    (folder / f"{name}.cir").write_text(netlist)
    parsed = parse_sweep_spec({"netlist": f"{name}.cir", **spec}, source=str(folder / f"{name}.yaml"))
    out = folder / f"{name}.h5"
    run_sweep(parsed, out, executor="inline", progress=False, overwrite=True)
    with h5py.File(out, "r") as f:
        outputs = {k: f["outputs"][k][...] for k in f["outputs"]}
        units = {k: f["outputs"][k].attrs["units"] for k in f["outputs"]}
        return {**outputs, "_units": units}, [m.decode() for m in f["message"][...]], list(f["status"][...])
