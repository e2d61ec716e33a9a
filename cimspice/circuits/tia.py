"""Transimpedance amplifier: a crossbar bit line held at a virtual ground ``v_ref`` by the
op-amp of ``netlists/opamp.lib`` with a feedback resistor (``netlists/tia.lib``).

Bench::

    iin (DC i_in) ---+                       +--[ r_f || c_f ]--+
    gstep (step) ----+--- bl ---- c_bl       |                  |
                          +------------------+-- inn |\\         |
                                                     |  >-------+--- out --- c_load
                              vref --------------- inp |/

The column current enters ``bl``; ``out = v_ref - i_in * r_f`` for an ideal op-amp.
For DC measurements ``iin`` carries ``i_in``; for the transient, ``iin`` is 0 and the
voltage-controlled source ``gstep`` steps from 0 to ``i_in`` at :data:`T_STEP` with a
:data:`T_RISE` edge (its control is a fixed 0 -> 1 V pulse; only its gain is altered, so
no analysis re-parses the netlist).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ..paths import netlist_path
from ..validate import require_positive
from .analog import AnalogCircuit, dvth_parameters
from .area import capacitor_area, resistor_area
from .base import CircuitError, Measured, Measurement, Parameter
from .opamp import (
    BIT_LINE_PARAMETERS,
    PRECISION,
    check_readout,
    opamp_area,
    opamp_nodeset,
    opamp_sizes,
    opamp_transistors,
    size_arguments,
)
from .waveforms import settling_time, supply_energy

T_STEP = 1e-9    # s: the current step starts after the bench has sat at its DC point
T_RISE = 100e-12  # s: edge of the column current, a row driver's switching time at 45 nm


class TransimpedanceAmplifier(AnalogCircuit):
    """A bit-line TIA on the shipped 45 nm BSIM4 cards.

    Parameters
    ----------
    r_f : float
        Feedback resistance (ohm). Default 5 kOhm: 100 uA full scale -> 0.5 V swing.
    c_f : float
        Feedback capacitance (F) across ``r_f``; default 100 fF (see netlists/tia.lib).
    c_load : float
        Capacitance at the output (F): the ADC or sample-and-hold input. Default 100 fF.
    i_full_scale : float
        Full-scale column current (A), which with ``adc_bits`` defines the LSB that the
        settling time is measured against: LSB = i_full_scale * r_f / 2**adc_bits (V).
    adc_bits : int
        Resolution of the ADC that reads the output (settling to 0.5 LSB of it).
    t_read : float
        Read window (s) after the current step over which ``energy_read`` is integrated.
    corner : {"tt", "ff", "ss"}
    **opamp : op-amp sizes overriding netlists/opamp.lib (names as there: ``w_sink``, ``ib`` ...
        in SI units), e.g. a class-A sink sized for a larger column current.
    """

    name = "tia"
    measurements = (
        Measurement("v_out", "V", "DC output at i_in"),
        Measurement("transimpedance", "ohm", "-dv_out/di_in at i_in (small-signal, 1 Hz)"),
        Measurement("v_in_error", "V", "bit-line voltage minus v_ref at i_in (virtual-ground error)"),
        Measurement("v_in_peak", "V", "largest |bit-line voltage - v_ref| during the read window "
                    "after the step (dynamic virtual-ground error)"),
        Measurement("offset_v", "V", "output minus v_ref at zero input current (input-referred offset)"),
        Measurement("offset_i", "A", "input-referred offset current, offset_v / r_f"),
        Measurement("settling_time", "s", "from the start of a 0 -> i_in step until the output "
                    "stays within 0.5 LSB of its DC value"),
        Measurement("energy_read", "J", "supply energy over the read window t_read after the step"),
        Measurement("power", "W", "static supply power at i_in"),
    )

    def __init__(self, r_f: float = 5e3, c_f: float = 100e-15, c_load: float = 100e-15,
                 i_full_scale: float = 100e-6, adc_bits: int = 6, t_read: float = 10e-9,
                 corner: str = "tt", **opamp: float):
        super().__init__(corner)
        self.sizes = opamp_sizes(opamp, where=self.name)
        self.r_f = require_positive(r_f, f"{self.name}: r_f", CircuitError, unit="ohm")
        self.c_f = require_positive(c_f, f"{self.name}: c_f", CircuitError, unit="F")
        self.t_read = require_positive(t_read, f"{self.name}: t_read", CircuitError, unit="s")
        self.c_load, self.i_full_scale, self.adc_bits = check_readout(self.name, c_load, i_full_scale, adc_bits)
        self.transistors = opamp_transistors("xtia.xop", self.sizes)
        self.parameters = (
            Parameter("i_in", "A", 0.5 * i_full_scale, (-2 * i_full_scale, 2 * i_full_scale),
                      "column current flowing into the bit line"),
        ) + BIT_LINE_PARAMETERS + dvth_parameters(self.transistors)

    @property
    def lsb(self) -> float:
        """Output LSB (V) of the reading ADC: full-scale swing / 2**adc_bits."""
        return self.i_full_scale * self.r_f / 2 ** self.adc_bits

    def area(self) -> float:
        """Layout estimate (m^2): the op-amp, r_f and c_f (cimspice.circuits.area)."""
        return opamp_area(self.sizes) + resistor_area(self.r_f) + capacitor_area(self.c_f)

    def netlist(self) -> str:
        subckt, lines = tia_subcircuit(self.sizes)
        return "\n".join(self.netlist_header(f"TIA r_f={self.r_f:g} c_f={self.c_f:g} corner={self.corner}") + [
            *lines,
            "vdd vdd 0 dc 1.1",
            "vref ref 0 dc 0.75",
            f"xtia bl out ref vdd 0 {subckt} r_f={self.r_f!r} c_f={self.c_f!r}",
            "cbl bl 0 50f",
            f"cload out 0 {self.c_load!r}",
            "iin 0 bl dc 0 ac 1",
            f"vstep step 0 dc 0 pulse(0 1 {T_STEP!r} {T_RISE!r} {T_RISE!r} 1 2)",
            "gstep 0 bl step 0 0",
            ".nodeset v(bl)=0.75 v(out)=0.75",
            opamp_nodeset("xtia.xop"),
            PRECISION,
            ".end",
        ])

    def simulate(self, engine, point: Mapping[str, float]) -> Measured:
        p = self.point(point)
        self.apply_common(engine, p)
        self.set(engine, "vref", p["v_ref"])
        self.set(engine, "cbl", p["c_bl"])
        aids: list[str] = []

        def op(current: float):
            self.set(engine, "iin", current)
            result = engine.op(["v(out)", "v(bl)", "i(vdd)"])
            aids.extend(result.aids)
            return float(result["v(out)"][0]), float(result["v(bl)"][0]), -float(result["i(vdd)"][0])

        i_in = p["i_in"]
        v_out, v_bl, i_dd = op(i_in)
        # small signal: a difference of two operating points would carry ngspice's Newton
        # tolerance (~uV) into an ohm-level number; the ac analysis linearises exactly
        ac = engine.ac(1, 1.0, 1.0, ["v(out)"], variation="lin")
        aids.extend(ac.aids)
        v_zero = v_out if i_in == 0 else op(0.0)[0]

        # transient: iin off, gstep steps 0 -> i_in
        self.set(engine, "iin", 0.0)
        self.set(engine, "gstep", gain=i_in)
        stop = T_STEP + 2 * self.t_read
        tran = engine.tran(self.t_read / 200, stop, vectors=["time", "v(out)", "v(bl)", "i(vdd)"])
        aids.extend(tran.aids)
        self.set(engine, "gstep", gain=0.0)
        t = tran["time"]
        settle = settling_time(t, tran["v(out)"], final=v_out, tolerance=0.5 * self.lsb, start=T_STEP)
        energy = supply_energy(t, p["vdd"], -tran["i(vdd)"], start=T_STEP, stop=T_STEP + self.t_read)
        window = (t >= T_STEP) & (t <= T_STEP + self.t_read)

        values = {
            "v_out": v_out,
            "transimpedance": -float(ac["v(out)"][0].real),
            "v_in_error": v_bl - p["v_ref"],
            "v_in_peak": float(np.max(np.abs(tran["v(bl)"][window] - p["v_ref"]))),
            "offset_v": v_zero - p["v_ref"],
            "offset_i": (v_zero - p["v_ref"]) / self.r_f,
            "settling_time": settle,
            "energy_read": energy,
            "power": i_dd * p["vdd"],
        }
        aids = tuple(dict.fromkeys(aids))
        return Measured(values, "aided" if aids else "ok", aids)


def tia_subcircuit(sizes) -> tuple[str, list[str]]:
    """(subcircuit name, netlist lines defining it) of the TIA with op-amp ``sizes``
    (:func:`~cimspice.circuits.opamp.opamp_sizes`): ``tia`` of netlists/tia.lib, or, with any
    size off the design, ``tia_sized`` (the same subcircuit, op-amp resized). Its ports are
    ``bl out ref vdd vss`` and its parameters ``r_f``, ``c_f`` either way."""
    lines = [f'.include "{netlist_path("tia.lib")}"']
    sized = size_arguments(sizes)
    if not sized:
        return "tia", lines
    # its instance path (x<name>.xop) and nodes are the library's, so mismatch and
    # measurements address it the same way
    return "tia_sized", lines + [".subckt tia_sized bl out ref vdd vss r_f=5k c_f=100f",
                                 f"xop ref bl out vdd vss opamp {sized}",
                                 "rf out bl {r_f}", "cf out bl {c_f}", ".ends tia_sized"]


__all__ = ["T_RISE", "T_STEP", "TransimpedanceAmplifier", "tia_subcircuit"]
