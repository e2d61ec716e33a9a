"""What the input drivers' benches share: the load (one crossbar row as a distributed RC line
with the cells' conductances to the bit lines' virtual ground), the rails a driver works
between, and the energy bookkeeping.

Rails (sources of every driver bench): ``vdd`` (logic and analog supply), ``vhi`` = ``v_ref
+ v_read`` (the read rail / top reference), ``vlo`` = ``v_ref`` (the idle rail / bottom
reference), and ``vvg`` holding the cells' far side ``vg`` at ``v_ref``: the sense circuits'
virtual ground, whose energy is theirs. A driver's ``energy`` is the integral of v * i of
``vdd``, ``vhi`` and ``vlo``; at ``v_ref`` > 0 it therefore includes ``v_ref`` times the
charge the row passes to the bit lines (dissipated downstream, in the sense circuit), which
``energy_cells`` (the cells' own g (v - v_ref)^2) does not.

Model (``ROW_SEGMENTS`` = N pi-sections, nodes ``row0`` (driver end) ... ``rowN`` (far end))::

    row0 --r/N-- row1 --r/N-- ... --r/N-- rowN
     |            |                        |
    c/2N, g/2N   c/N, g/N                 c/2N, g/2N     (each to ground / to node vg)

``r = r_row`` (ohm) is the whole row's wire resistance, ``c = c_row`` (F) its capacitance
to ground (wire and cells), ``g = g_row`` (S) the sum of its cells' read conductances, each
returning to ``vg``: the bit lines' virtual ground, held at ``v_ref`` by the sense circuits
(a separate source, so its energy is not the driver's). Half sections at both ends make the
ladder a second-order discretisation of the uniform line: with 16 sections its slowest time
constant is within 0.1 % of the continuous line's 4 r c / pi^2.

Defaults: the shipped ``baseline`` array (64 columns, 1 ohm wire segments, cells 1-100 uS):
``r_row`` 64 ohm, ``g_row`` 3.2 mS (64 cells at 50 uS, mid-window), ``c_row`` 100 fF (about
1.5 fF per cell for the wire and the cell: an assumption of this toolkit, swept as a
parameter).
"""

from __future__ import annotations

from collections.abc import Mapping

from .base import Parameter
from .waveforms import supply_energy

ROW_SEGMENTS = 16
NEAR, FAR, VIRTUAL_GROUND = "row0", f"row{ROW_SEGMENTS}", "vg"

# Simulator options of the driver benches. chgtol: a small row's charge (0.2 V on 100 fF,
# 20 fC) is near ngspice's default charge tolerance (1e-14 C), and at the defaults its 1 %
# settling time read 68 ps instead of 38 ps; reltol: with chgtol alone a 1 pF row's still
# moved by 9 % (175 against 191 ps), while at 1e-5 a slow line agrees with its analytic
# response to 0.2 % (tests/test_input_drivers.py), for about 3x the run time (measured, TT).
# itl1: the wl_driver's pulse-on operating point with PMOS or transmission-gate switches
# needs 100-1000 Newton iterations from ngspice's zero start (no .nodeset suits both its
# idle and its on state), and after the default 100 ngspice fell back to gmin stepping.
PRECISION = ".options reltol=1e-5 vntol=1e-8 chgtol=1e-16 itl1=1000"

ROW_PARAMETERS = (
    Parameter("r_row", "ohm", 64.0, (1.0, 1e5), "wire resistance of the whole row", scale="log"),
    Parameter("c_row", "F", 100e-15, (1e-15, 1e-11), "capacitance of the whole row to ground", scale="log"),
    Parameter("g_row", "S", 3.2e-3, (1e-9, 2e-2), "sum of the row's cell conductances to the virtual "
              "ground (1e-9: an open row)", scale="log"),
)


def _shares() -> list[float]:
    """Fraction of the row's c and g at each node (N + 1,): half sections at the ends."""
    share = [1.0 / ROW_SEGMENTS] * (ROW_SEGMENTS + 1)
    share[0] = share[-1] = 0.5 / ROW_SEGMENTS
    return share


def cell_power(p: Mapping[str, float], row_voltages):
    """W dissipated in the row's cells: ``sum_k g_k (v_k - v_ref)^2`` with ``g_k`` the share of
    ``g_row`` at node k, for the voltages (V) of nodes ``row0`` .. ``row{N}`` in order (floats,
    or arrays over time: the power over time)."""
    return sum(p["g_row"] * share * (v - p["v_ref"]) ** 2 for v, share in zip(row_voltages, _shares(), strict=True))


def row_lines() -> list[str]:
    """Netlist lines of the rails and the row (placeholder values; :func:`apply_row` sets them)."""
    lines = ["vdd vdd 0 dc 1.1", "vhi vhi 0 dc 0.2", "vlo vlo 0 dc 0", f"vvg {VIRTUAL_GROUND} 0 dc 0"]
    lines += [f"rw{k} row{k - 1} row{k} 1" for k in range(1, ROW_SEGMENTS + 1)]
    lines += [f"cw{k} row{k} 0 1f" for k in range(ROW_SEGMENTS + 1)]
    lines += [f"rg{k} row{k} {VIRTUAL_GROUND} 1meg" for k in range(ROW_SEGMENTS + 1)]
    return lines


def apply_row(circuit, engine, p: Mapping[str, float]) -> None:
    """Set the rails and the row's elements for point ``p`` (``v_ref``, ``v_read``,
    ``r_row``, ``c_row``, ``g_row``) through ``circuit.set`` (an
    :class:`~.analog.AnalogCircuit`, which alters only what changed; ``vdd`` is its
    ``apply_common``'s)."""
    for source, level in supplies(p)[1:] + (("vvg", p["v_ref"]),):
        circuit.set(engine, source, level)
    for k in range(1, ROW_SEGMENTS + 1):
        circuit.set(engine, f"rw{k}", p["r_row"] / ROW_SEGMENTS)
    for k, share in enumerate(_shares()):
        circuit.set(engine, f"cw{k}", p["c_row"] * share)
        circuit.set(engine, f"rg{k}", 1.0 / (p["g_row"] * share))


def supplies(p: Mapping[str, float]) -> tuple[tuple[str, float], ...]:
    """A driver's supplies and their voltages (V) at point ``p``: vdd, the read rail, the idle rail."""
    return ("vdd", p["vdd"]), ("vhi", p["v_ref"] + p["v_read"]), ("vlo", p["v_ref"])


def tran_vectors() -> list[str]:
    """The vectors :func:`energies` needs from a transient."""
    return ["time", "i(vdd)", "i(vhi)", "i(vlo)"] + [f"v(row{k})" for k in range(ROW_SEGMENTS + 1)]


def energies(result, p: Mapping[str, float], start: float, stop: float) -> dict[str, float]:
    """``energy`` (J) from the supplies between ``start`` and ``stop`` (s), the part
    ``energy_cells`` dissipated in the cells (sum over the nodes of g_k (v_k - v_ref)^2,
    integrated), and the rest ``energy_driver``, from a transient ``result`` holding
    :func:`tran_vectors`."""
    t = result["time"]
    stop = min(stop, float(t[-1]))  # ngspice's last time point can miss the stop by a rounding error
    energy = sum(supply_energy(t, v, -result[f"i({src})"], start=start, stop=stop) for src, v in supplies(p))
    power = cell_power(p, [result[f"v(row{k})"] for k in range(ROW_SEGMENTS + 1)])
    cells = supply_energy(t, 1.0, power, start=start, stop=stop)  # the same windowed integral of a power
    return {"energy": energy, "energy_cells": cells, "energy_driver": energy - cells}


__all__ = ["FAR", "NEAR", "PRECISION", "ROW_PARAMETERS", "ROW_SEGMENTS", "VIRTUAL_GROUND", "apply_row", "cell_power",
           "energies", "row_lines", "supplies", "tran_vectors"]
