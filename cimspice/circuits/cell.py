"""The 1T1R cell: a ReRAM element in series with its NMOS access transistor.

Topology (the same as one cell of :class:`~cimspice.circuits.crossbar.Crossbar`)::

    bit line (v_bl) --[ReRAM g]-- x --[NMOS drain | gate = word line (v_wl) | source]-- sense line (v_sl)

The transistor's source sits on the sensed line, held near 0 V by the virtual-ground sense
amplifier, so the word line sets its gate-source voltage directly. The measured cell current
flows from the bit line into the sense line.
"""

from __future__ import annotations

from collections.abc import Mapping

from ..paths import netlist_path
from .area import transistor_area
from .base import TEMP, Circuit, Measured, Measurement, Parameter
from .devices import ACCESS_L, ACCESS_W, RERAM, VDD, check_corner, corner_library, drawn_size


class Cell1T1R(Circuit):
    """A sized 1T1R cell on the shipped 45 nm BSIM4 cards and the shipped ReRAM model.

    Parameters
    ----------
    w, l : float
        Access transistor width and length (m). Defaults: 180 nm / 50 nm, a 4F-wide device
        at the FreePDK45 minimum length, typical of 1T1R macros at this node.
    corner : {"tt", "ff", "ss"}
        Process corner of the transistor cards.
    """

    name = "cell_1t1r"
    parameters = (
        Parameter("g", "S", RERAM.g_ref, (RERAM.g_off, RERAM.g_on),
                  "ReRAM low-field conductance (the programmed state)", scale="log"),
        Parameter("v_bl", "V", 0.2, (0.0, 1.0), "bit-line (driven row) voltage"),
        Parameter("v_wl", "V", VDD, (0.0, 1.3), "word-line (gate) voltage"),
        Parameter("v_sl", "V", 0.0, (-0.1, 0.3), "sense-line voltage at the transistor's source"),
        TEMP,
    )
    measurements = (
        Measurement("i_cell", "A", "cell current from the bit line into the sense line"),
    )

    def __init__(self, w: float = ACCESS_W, l: float = ACCESS_L, corner: str = "tt"):
        self.corner = check_corner(corner, self.name)
        self.w, self.l = drawn_size(w, l, self.name)
        self._applied: dict[str, float] = {}

    def netlist(self) -> str:
        return "\n".join([
            f"1T1R cell w={self.w:g} l={self.l:g} corner={self.corner}",
            corner_library(self.corner),
            f'.include "{netlist_path("reram.lib")}"',
            f".param g={RERAM.g_ref!r}",
            "vbl bl 0 dc 0.2",
            f"vwl wl 0 dc {VDD!r}",
            "vsl sl 0 dc 0",
            "xr bl x reram g={g}",
            f"mn x wl sl 0 nmos_vtg w={self.w!r} l={self.l!r}",
            ".end",
        ])

    def loaded_state(self) -> dict:
        return {"g": RERAM.g_ref}  # the netlist's .param g

    def area(self) -> float:
        """Layout area (m^2): the access transistor's footprint (:mod:`.area`); the ReRAM
        element sits in the back end, on the transistor's drain contact, and adds none."""
        return transistor_area(self.w, self.l)

    def simulate(self, engine, point: Mapping[str, float]) -> Measured:
        point = {p.name: point.get(p.name, p.default) for p in self.parameters}
        # g lives inside the ReRAM subcircuit: changing it needs alterparam + reset, so it is
        # applied only when it changes (grids put it on the slowest axis).
        if point["g"] != self._applied.get("g"):
            engine.set_params(g=point["g"])
            self._applied["g"] = point["g"]
        self.apply_temperature(engine, point["temp"])
        engine.alter("vbl", point["v_bl"])
        engine.alter("vwl", point["v_wl"])
        engine.alter("vsl", point["v_sl"])
        result = engine.op(["i(vsl)"])
        return Measured({"i_cell": float(result["i(vsl)"][0])}, result.status, result.aids)
