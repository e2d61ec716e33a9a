"""One programming pulse on one ReRAM cell of any device card, in ngspice.

The bench drives the ``reram`` model of ``netlists/reram.lib`` with the window of a card
(:func:`cimspice.circuits.devices.reram_card`: ``g_on``, ``g_off``, ``v0`` passed as the
model's instance parameters, the numbers the card file states) through one trapezoidal
pulse, starting from a given state ``w0``::

    V(te,be)     __________
               /           \\            amplitude v (positive SETs, negative RESETs)
    _________/              \\_______    edges t_edge, flat top t_pulse
             0  t_edge      t_edge + t_pulse

and reads the model's state node at the end: the state change is exact (no verify read),
the energy is what the source delivers (``int V I dt``), and the duration is measured on the
simulated waveform (where ``|V|`` exceeds 1 % of the amplitude), edges included.

Under the model's law a pulse moves ``-ln(1 - w)`` (SET) or ``-ln w`` (RESET) by
``a = int k(V(t)) dt``, linear in the flat top: :meth:`PulseBench.width_for` finds the
flat top that gives a wanted ``a`` from two probe pulses and checks it with a third.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..paths import netlist_path
from .base import CircuitError
from .devices import ReramModel
from .programming import T_RISE

__all__ = ["PulseBench", "PulseResponse"]

_PROBES = (2e-9, 10e-9)  # s: flat tops of the two probe pulses of width_for


@dataclass(frozen=True)
class PulseResponse:
    """State before and after (``w0``, ``w1``, dimensionless), energy delivered (J), pulse
    duration edges included (s) and the peak cell current (A) of one pulse."""

    v: float
    t_pulse: float
    w0: float
    w1: float
    energy: float
    duration: float
    i_peak: float

    @property
    def a(self) -> float:
        """The law's state change: ``ln((1-w0)/(1-w1))`` for SET, ``ln(w0/w1)`` for RESET."""
        if self.v > 0:
            return math.log((1.0 - self.w0) / max(1.0 - self.w1, 1e-300))
        return math.log(self.w0 / max(self.w1, 1e-300))


class PulseBench:
    """A cell of ``card`` (any :class:`~cimspice.circuits.devices.ReramModel`: g_on, g_off, v0
    in S, S, V) under one pulse with edges ``t_edge`` (s)."""

    def __init__(self, card: ReramModel, t_edge: float = T_RISE):
        if not 0 < card.g_off < card.g_on:
            raise CircuitError(f"pulse bench: need 0 < g_off < g_on, got {card.g_off!r}, {card.g_on!r}")
        self.card, self.t_edge = card, float(t_edge)
        self._engine = None

    def netlist(self) -> str:
        c = self.card
        return "\n".join([
            "ReRAM pulse bench: one trapezoidal pulse from a given state",
            f'.include "{netlist_path("reram.lib")}"',
            f".param vamp=0 tw=5e-09 gst={c.g_off!r} gon={c.g_on!r} goff={c.g_off!r} vzero={c.v0!r}",
            f"vp te 0 pulse(0 {{vamp}} 0 {self.t_edge!r} {self.t_edge!r} {{tw}} 1)",
            "xr te 0 reram g={gst} g_on={gon} g_off={goff} v0={vzero}",
            ".end"])

    def response(self, engine, v: float, t_pulse: float, w0: float) -> PulseResponse:
        """One pulse of amplitude ``v`` (V) and flat top ``t_pulse`` (s) from state ``w0``."""
        if not (0.0 <= w0 <= 1.0 and t_pulse > 0 and v != 0):
            raise CircuitError(f"pulse bench: need 0 <= w0 <= 1, t_pulse > 0 and v != 0, got {w0}, {t_pulse}, {v}")
        if self._engine is not engine or engine.source != "pulse_bench":
            engine.load(self.netlist(), source="pulse_bench")
            self._engine = engine
        c = self.card
        engine.set_params(vamp=float(v), tw=float(t_pulse), gst=c.g_off * (c.g_on / c.g_off) ** float(w0))
        stop = t_pulse + 3 * self.t_edge
        step = min(t_pulse, self.t_edge) / 20
        r = engine.tran(step, stop, max_step=step, vectors=["time", "v(te)", "i(vp)", "v(xr.w)"], uic=True)
        t, u, i = r["time"], r["v(te)"], -r["i(vp)"]
        on = t[np.abs(u) > 0.01 * abs(v)]
        p = u * i
        energy = float(np.sum(0.5 * (p[1:] + p[:-1]) * np.diff(t)))
        return PulseResponse(float(v), float(t_pulse), float(w0), float(np.clip(r["v(xr.w)"][-1], 0.0, 1.0)),
                             energy, float(on[-1] - on[0]) if on.size else 0.0, float(np.max(np.abs(i))))

    def width_for(self, engine, v: float, a_target: float, w0: float) -> PulseResponse:
        """The pulse of amplitude ``v`` (V) whose state change ``a`` from ``w0`` is ``a_target``:
        the flat top from the law's linearity in it (two probes), checked by a third run."""
        r1, r2 = (self.response(engine, v, t, w0) for t in _PROBES)
        rate = (r2.a - r1.a) / (_PROBES[1] - _PROBES[0])
        if not rate > 0:
            raise CircuitError(f"pulse bench: a {v:g} V pulse does not switch the cell (below threshold)")
        t = (a_target - (r1.a - rate * _PROBES[0])) / rate
        if t <= 0:
            raise CircuitError(f"pulse bench: the edges of a {v:g} V pulse alone move the state by more than "
                               f"{a_target:g}; lower the amplitude")
        return self.response(engine, v, t, w0)
