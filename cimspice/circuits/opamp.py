"""The two-stage Miller op-amp of ``netlists/opamp.lib`` and its open-loop measurements.

Bench (the op-amp in unity-gain feedback for DC, opened for AC by a 1 GH inductor and a
1 F capacitor, so the operating point is the buffer's while the ac analysis sees the open
loop)::

    vcm --- inp |\\
                |  >--+-- out --- c_load --- 0
          +- inn |/   |
          |           |
          +---[1 GH]--+            A(f) = v(out) / (v(inp) - v(inn)) = -v(out) / v(inn)
          |
        [1 F]--- vac (ac 1) --- 0

Measurements: DC gain ``a0`` (V/V, at 1 Hz), unity-gain frequency ``gbw`` (Hz, log-log
interpolation of |A|), ``phase_margin`` (deg, 180 + phase of A at ``gbw``, phase unwrapped
from DC), open-loop output resistance ``r_out`` (ohm, at 1 Hz, from a second ac run with
the test current ``iout`` at the output instead of ``vac``), ``offset`` (V, the buffer's
output minus ``v_cm``: systematic plus mismatch offset, input-referred to within 1/A) and
static ``power`` (W) from the supply.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ..paths import netlist_path
from ..validate import did_you_mean, require_int, require_positive
from .analog import AnalogCircuit, Transistor, dvth_parameters, subckt_defaults, transistors
from .area import capacitor_area, resistor_area, transistor_area
from .base import TEMP, CircuitError, Measured, Measurement, Parameter, supply

# Role -> (instance in the opamp subcircuit, width and length parameters, description).
_DEVICES = (
    ("dvth_inp", "m2", "w_in", "l_in", "input device at inp"),
    ("dvth_inn", "m1", "w_in", "l_in", "input device at inn"),
    ("dvth_ld1", "m3", "w_ld", "l_ld", "diode side of the PMOS mirror load"),
    ("dvth_ld2", "m4", "w_ld", "l_ld", "output side of the PMOS mirror load"),
    ("dvth_tail", "m5", "w_tail", "l_tail", "tail current source"),
    ("dvth_cs", "m6", "w_cs", "l_cs", "second-stage PMOS common source"),
    ("dvth_sink", "m7", "w_sink", "l_sink", "output NMOS current sink"),
    ("dvth_bias", "mb", "w_b", "l_b", "bias mirror diode"),
)

#: The design: defaults of the opamp subcircuit's parameters, read from netlists/opamp.lib.
OPAMP_SIZES = {k: v for k, v in subckt_defaults("opamp.lib", "opamp").items() if not k.startswith("dvth_")}

#: The supply of every bench around the op-amp (V).
OPAMP_VDD = supply((0.95, 1.32), "supply voltage (below 0.95 V the op-amp's pair and load leave its tail no "
                   "headroom)")

#: What the bit-line benches around the op-amp (TIA, integrator) share besides their input.
BIT_LINE_PARAMETERS = (
    Parameter("v_ref", "V", 0.75, (0.55, 0.95), "virtual-ground (bit-line) reference voltage"),
    OPAMP_VDD,
    TEMP,
    Parameter("c_bl", "F", 50e-15, (1e-15, 2e-12), "bit-line capacitance at the input", scale="log"),
)


def opamp_sizes(overrides: Mapping[str, float] | None = None, *, where: str = "opamp") -> dict[str, float]:
    """The design's sizes with ``overrides`` applied (names of opamp.lib, SI units)."""
    sizes = dict(OPAMP_SIZES)
    for name, value in (overrides or {}).items():
        if name not in OPAMP_SIZES:
            raise CircuitError(f"{where}: unknown op-amp size {name!r} (known: {', '.join(OPAMP_SIZES)})"
                               f"{did_you_mean(str(name), OPAMP_SIZES)}")
        sizes[name] = require_positive(value, f"{where}: {name}", CircuitError)
    for name, value in sizes.items():
        if name.startswith("l_") and value < 50e-9:
            raise CircuitError(f"{where}: {name}={value:g} m is below the 50 nm minimum length")
    return sizes


def check_readout(where: str, c_load, i_full_scale, adc_bits) -> tuple[float, float, int]:
    """The output load ``c_load`` (F), full-scale input current ``i_full_scale`` (A) and the
    resolution ``adc_bits`` of the ADC reading a bit-line bench (TIA, integrator), checked."""
    return (require_positive(c_load, f"{where}: c_load", CircuitError, unit="F"),
            require_positive(i_full_scale, f"{where}: i_full_scale", CircuitError, unit="A"),
            require_int(adc_bits, f"{where}: adc_bits", CircuitError, lo=1, hi=16))


def opamp_transistors(prefix: str, sizes: Mapping[str, float]) -> tuple[Transistor, ...]:
    """The op-amp's mismatched transistors inside subcircuit instance path ``prefix``
    (e.g. ``"xop"`` or ``"xtia.xop"``)."""
    return transistors(_DEVICES, prefix, sizes)


def opamp_nodeset(prefix: str) -> str:
    """``.nodeset`` hints for the op-amp's internal nodes at the design's operating point:
    a high-gain loop started from all-zero node voltages can need gmin stepping (seconds)."""
    hints = {"o1": 0.66, "x": 0.66, "z": 0.66, "nb": 0.5, "tail": 0.3}
    return ".nodeset " + " ".join(f"v({prefix}.{node})={v}" for node, v in hints.items())


# The loops hold nodes to a fraction of a millivolt; ngspice's default reltol (1e-3) lets
# a converged node be off by ~0.4 mV at 0.75 V (measured, SS 125 C), as large as the offsets.
PRECISION = ".options reltol=1e-5 vntol=1e-8"


def opamp_area(sizes: Mapping[str, float]) -> float:
    """Layout estimate (m^2) of one op-amp (cimspice.circuits.area): its eight transistors,
    the Miller capacitor and the nulling resistor. The bias reference is shared and left out."""
    transistors = sum(transistor_area(sizes[w], sizes[l]) for _, _, w, l, _ in _DEVICES)
    return transistors + capacitor_area(sizes["cc"]) + resistor_area(sizes["rz"])


def size_arguments(sizes: Mapping[str, float]) -> str:
    """Instance parameters for the sizes that differ from the design."""
    return " ".join(f"{k}={v!r}" for k, v in sizes.items() if v != OPAMP_SIZES[k])


class OpAmp(AnalogCircuit):
    """The op-amp alone: open-loop gain, GBW and phase margin from an ac analysis.

    Parameters
    ----------
    corner : {"tt", "ff", "ss"}
    **sizes : op-amp sizes overriding the design in ``netlists/opamp.lib`` (``w_in``,
        ``l_in``, ... in m; ``ib`` in A; ``cc`` in F; ``rz`` in ohm).
    """

    name = "opamp"
    measurements = (
        Measurement("a0", "V/V", "open-loop DC gain (at 1 Hz)"),
        Measurement("gbw", "Hz", "unity-gain frequency of the open-loop gain"),
        Measurement("phase_margin", "deg", "180 deg plus the open-loop phase at gbw"),
        Measurement("r_out", "ohm", "open-loop output resistance at 1 Hz"),
        Measurement("offset", "V", "unity-gain buffer output minus v_cm (input-referred offset)"),
        Measurement("power", "W", "static supply power"),
    )

    def __init__(self, corner: str = "tt", **sizes: float):
        super().__init__(corner)
        self.sizes = opamp_sizes(sizes, where=self.name)
        self.transistors = opamp_transistors("xop", self.sizes)
        self.parameters = (
            Parameter("v_cm", "V", 0.75, (0.5, 1.0), "input common-mode voltage"),
            OPAMP_VDD,
            TEMP,
            Parameter("c_load", "F", 100e-15, (1e-15, 5e-12), "load capacitance at the output", scale="log"),
        ) + dvth_parameters(self.transistors)

    def netlist(self) -> str:
        return "\n".join(self.netlist_header(f"op-amp open loop, corner {self.corner}") + [
            f'.include "{netlist_path("opamp.lib")}"',
            "vdd vdd 0 dc 1.1",
            "vcm inp 0 dc 0.75",
            f"xop inp inn out vdd 0 opamp {size_arguments(self.sizes)}",
            "lfb out inn 1e9",
            "cin inn vac 1",
            "vac vac 0 dc 0 ac 1",
            "iout 0 out dc 0 ac 0",
            "cload out 0 100f",
            ".nodeset v(out)=0.75 v(inn)=0.75",
            opamp_nodeset("xop"),
            PRECISION,
            ".end",
        ])

    def area(self) -> float:
        """Layout estimate (m^2): see :func:`opamp_area`."""
        return opamp_area(self.sizes)

    def simulate(self, engine, point: Mapping[str, float]) -> Measured:
        p = self.point(point)
        self.apply_common(engine, p)
        self.set(engine, "vcm", p["v_cm"])
        self.set(engine, "cload", p["c_load"])
        dc = engine.op(["v(out)", "i(vdd)"])
        ac = engine.ac(10, 1.0, 1e10, ["frequency", "v(out)", "v(inn)"])
        a0, gbw, pm = open_loop(ac["frequency"].real, -ac["v(out)"] / ac["v(inn)"])
        engine.alter("vac", acmag=0.0)
        engine.alter("iout", acmag=1.0)
        try:
            zo = engine.ac(1, 1.0, 1.0, ["v(out)"], variation="lin")
        finally:
            engine.alter("vac", acmag=1.0)
            engine.alter("iout", acmag=0.0)
        values = {"a0": a0, "gbw": gbw, "phase_margin": pm, "r_out": float(abs(zo["v(out)"][0])),
                  "offset": float(dc["v(out)"][0]) - p["v_cm"],
                  "power": -float(dc["i(vdd)"][0]) * p["vdd"]}
        aids = tuple(dict.fromkeys(dc.aids + ac.aids + zo.aids))
        return Measured(values, "aided" if aids else "ok", aids)


def open_loop(frequency: np.ndarray, gain: np.ndarray) -> tuple[float, float, float]:
    """(DC gain, unity-gain frequency (Hz), phase margin (deg)) of a complex open-loop
    gain sampled at increasing ``frequency``; NaN where |gain| never falls below 1."""
    mag = np.abs(gain)
    phase = np.degrees(np.unwrap(np.angle(gain)))
    a0 = float(mag[0])
    below = np.flatnonzero(mag < 1.0)
    if below.size == 0 or below[0] == 0:
        return a0, float("nan"), float("nan")
    k = below[0]
    # |A| is close to a power law between samples: interpolate log|A| against log f
    lf = np.log(frequency[k - 1:k + 1])
    lm = np.log(mag[k - 1:k + 1])
    f_u = float(np.exp(lf[0] + (0.0 - lm[0]) * (lf[1] - lf[0]) / (lm[1] - lm[0])))
    ph_u = float(np.interp(np.log(f_u), lf, phase[k - 1:k + 1]))
    return a0, f_u, 180.0 + ph_u


__all__ = ["BIT_LINE_PARAMETERS", "OPAMP_SIZES", "OPAMP_VDD", "PRECISION", "OpAmp", "check_readout", "open_loop",
           "opamp_area", "opamp_nodeset", "opamp_sizes", "opamp_transistors"]
