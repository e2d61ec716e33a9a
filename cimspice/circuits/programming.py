"""Write-verify programming of ReRAM cells through the device model's own switching law.

Each cell is written in a one-cell ngspice transient bench (``netlists/reram.lib``): a
programming pulse (positive V(te,be) SETs, negative RESETs) followed by a read at
``v_read`` in the same run; the read current gives the verified conductance
``G = I / (v0 sinh(v_read/v0))``, and the next pulse is chosen from it. Incremental-step
pulse programming (ISPP): the amplitude starts at ``v_start`` and grows by ``v_step`` while
the error keeps its sign, and restarts at ``v_start`` when the cell overshoots. A cell is
done when ``|G - G_target| <= tol_rel * G_target + tol_abs``.

State carried over: the model's only memory is its state variable ``w`` (the internal node
of the subcircuit). Every run starts from the ``w`` the previous run ended with (passed as
the model's initial condition, exactly), so programming one function after another on the
same :class:`ArrayProgrammer` is one continuous history of every cell. Device-to-device
variation is drawn once per cell when the programmer is built (the same physical device
for its whole life): ``ln G`` shifts by ``N(0, sigma_lng)`` (g_on and g_off both scale),
the SET/RESET thresholds by ``N(0, sigma_vth)``.

A whole array is the sum of its cells' benches: cells are written one after another
(time adds up), each isolated (half-select disturb of a passive array's neighbours is not
modelled; with |V|/2 below the 1.05 V threshold the model predicts none). Energy is what
the programming source delivers to the cell, pulses and verify reads included.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import numpy as np

from ..paths import netlist_path
from .base import CircuitError
from .devices import RERAM, _subckt_defaults, spice_number

_log = logging.getLogger(__name__)

_DEFAULTS = _subckt_defaults("reram.lib", "reram")
V_SET = spice_number(_DEFAULTS["v_set"])
V_RESET = spice_number(_DEFAULTS["v_reset"])
T_RISE = 1e-9  # pulse edges (s)


@dataclass(frozen=True)
class WriteVerify:
    """Write-verify settings. Voltages V, times s, conductances S.

    Defaults: pulses of 20 ns from 1.1 V in 20 mV steps up to 2.0 V (the model moves
    -ln(1-w) by 0.005 per pulse at 1.1 V and saturates within a pulse near 1.6 V, so the
    ladder spans fine trimming to fast moves); a 10 ns verify read at 0.1 V; tolerance
    0.5 % of the target plus 0.1 uS (0.1 % of the 100 uS window: what the PWL unit's
    differential coefficients can resolve).
    """

    v_start: float = 1.1
    v_step: float = 0.02
    v_max: float = 2.0
    t_pulse: float = 20e-9
    v_read: float = 0.1
    t_read: float = 10e-9
    tol_rel: float = 0.005
    tol_abs: float = 0.1e-6
    max_pulses: int = 60

    def __post_init__(self):
        if not V_SET * 0.9 <= self.v_start <= self.v_max <= 3.0:
            raise CircuitError(f"write-verify: need {0.9 * V_SET:.2f} V <= v_start <= v_max <= 3 V")
        if not (0 < self.v_step <= 0.5 and 1e-10 <= self.t_pulse <= 1e-5 and 1e-9 <= self.t_read <= 1e-6):
            raise CircuitError("write-verify: v_step in (0, 0.5] V, t_pulse in [0.1 ns, 10 us], t_read in [1 ns, 1 us]")
        if not 0 < self.v_read < min(V_SET, V_RESET) / 2:
            raise CircuitError(f"write-verify: v_read={self.v_read} V must be positive and below half the threshold")
        if not (self.tol_rel >= 0 and self.tol_abs >= 0 and self.tol_rel + self.tol_abs > 0):
            raise CircuitError("write-verify: tolerances must be >= 0 and not both 0")
        if not 1 <= int(self.max_pulses) <= 10_000:
            raise CircuitError("write-verify: max_pulses must be in [1, 10000]")


@dataclass
class ProgrammingReport:
    """Result of writing an array: per cell (``shape`` of the targets) the target, final
    verified conductance (S), pulses, energy (J), time (s) and whether it converged."""

    target: np.ndarray
    conductance: np.ndarray
    pulses: np.ndarray
    energy_cells: np.ndarray
    time_cells: np.ndarray
    converged: np.ndarray

    @property
    def energy(self) -> float:
        """Total programming energy (J)."""
        return float(self.energy_cells.sum())

    @property
    def time(self) -> float:
        """Total time (s), cells written one after another."""
        return float(self.time_cells.sum())

    @property
    def residual(self) -> np.ndarray:
        """Conductance error after verify, G - G_target (S)."""
        return self.conductance - self.target

    def summary(self) -> dict:
        r = np.abs(self.residual)
        return {"cells": int(self.target.size), "pulses": int(self.pulses.sum()), "energy": self.energy,
                "time": self.time, "residual_max": float(r.max()), "residual_rms": float(np.sqrt(np.mean(r ** 2))),
                "residual_rel_max": float(np.max(r / self.target)), "converged": bool(self.converged.all())}


class ArrayProgrammer:
    """Programs an array of ReRAM cells of ``shape`` by write-verify, keeping each cell's state.

    Parameters
    ----------
    shape : tuple of int
        Array shape (e.g. ``(segments, 4)`` for a :class:`~cimspice.circuits.nonlinear.PwlUnit`).
    initial : float or array
        Starting conductance (S) of every cell (default the window's geometric middle).
    sigma_lng, sigma_vth : float
        Device-to-device sigma of ln G (1) and of the SET/RESET thresholds (V), drawn once.
    settings : WriteVerify
    seed : int, optional
    """

    def __init__(self, shape, initial=None, sigma_lng: float = 0.0, sigma_vth: float = 0.0,
                 settings: WriteVerify | None = None, seed=None):
        self.shape = tuple(int(s) for s in np.atleast_1d(shape))
        if not self.shape or any(s < 1 for s in self.shape) or int(np.prod(self.shape)) > 100_000:
            raise CircuitError(f"programmer: shape {shape!r} must be positive and at most 100000 cells")
        if not (0 <= sigma_lng <= 1 and 0 <= sigma_vth <= 0.5):
            raise CircuitError("programmer: sigma_lng must be in [0, 1] and sigma_vth in [0, 0.5] V")
        self.settings = settings or WriteVerify()
        rng = np.random.default_rng(seed)
        self.scale = np.exp(rng.normal(0.0, sigma_lng, self.shape))  # exp(delta ln G) per device
        self.v_set = V_SET + rng.normal(0.0, sigma_vth, self.shape)
        self.v_reset = V_RESET + rng.normal(0.0, sigma_vth, self.shape)
        self.lnratio = math.log(RERAM.g_on / RERAM.g_off)
        g0 = RERAM.g_ref if initial is None else initial
        g0 = np.broadcast_to(np.asarray(g0, float), self.shape)
        self.w = np.clip(np.log(g0 / RERAM.g_off) / self.lnratio, 0.0, 1.0)  # model state per cell
        self.history: list[ProgrammingReport] = []
        self._engine = None

    # -------------------------------------------------------------- bench
    @staticmethod
    def netlist() -> str:
        s = WriteVerify()
        return "\n".join([
            "ReRAM write-verify bench: programming pulse then verify read",
            f'.include "{netlist_path("reram.lib")}"',
            f".param vamp=0 tw={s.t_pulse!r} vread={s.v_read!r} tread={s.t_read!r} gst=10u "
            f"gon={RERAM.g_on!r} goff={RERAM.g_off!r} vset={V_SET!r} vreset={V_RESET!r}",
            f"vp te mid pulse(0 {{vamp}} {T_RISE!r} {T_RISE!r} {T_RISE!r} {{tw}} 1)",
            f"vr mid 0 pulse(0 {{vread}} {{tw+{4 * T_RISE!r}}} {T_RISE!r} {T_RISE!r} {{tread}} 1)",
            "xr te 0 reram g={gst} g_on={gon} g_off={goff} v_set={vset} v_reset={vreset}",
            ".end"])

    def _bench(self, engine) -> None:
        if self._engine is not engine or engine.source != "write_verify":
            engine.load(self.netlist(), source="write_verify")
            self._engine = engine

    def _pulse(self, engine, idx, v_amp: float) -> tuple[float, float, float]:
        """One pulse (``v_amp`` V, 0 for a read only) and verify read on cell ``idx``:
        returns the read conductance (S), energy (J) and duration (s); updates its state."""
        s = self.settings
        scale = float(self.scale[idx])
        goff = RERAM.g_off * scale
        engine.set_params(vamp=v_amp, tw=s.t_pulse, vread=s.v_read, tread=s.t_read,
                          gst=goff * math.exp(self.lnratio * float(self.w[idx])),
                          gon=RERAM.g_on * scale, goff=goff, vset=float(self.v_set[idx]),
                          vreset=float(self.v_reset[idx]))
        stop = s.t_pulse + 5 * T_RISE + s.t_read  # the end of the read's flat top
        r = engine.tran(min(s.t_pulse, s.t_read) / 20, stop, max_step=min(s.t_pulse, s.t_read) / 20,
                        vectors=["time", "v(te)", "i(vp)", "v(xr.w)"], uic=True)
        t, v, i = r["time"], r["v(te)"], -r["i(vp)"]
        energy = float(np.trapezoid(v * i, t)) if hasattr(np, "trapezoid") else float(np.trapz(v * i, t))
        self.w[idx] = float(np.clip(r["v(xr.w)"][-1], 0.0, 1.0))
        g_read = float(i[-1] / (RERAM.v0 * math.sinh(s.v_read / RERAM.v0)))
        return g_read, energy, stop

    def pulse(self, engine, idx, v_amp: float) -> tuple[float, float, float]:
        """One programming pulse of ``v_amp`` V (positive SETs, negative RESETs; 0 reads only)
        and its verify read on cell ``idx``: ``(read conductance S, energy J, duration s)``;
        the cell's state moves by the device law. Loads the one-cell bench if needed."""
        self._bench(engine)
        return self._pulse(engine, idx, v_amp)

    # -------------------------------------------------------------- programming
    def conductance(self) -> np.ndarray:
        """Each cell's present low-field conductance (S), from its state (no read)."""
        return RERAM.g_off * self.scale * np.exp(self.lnratio * self.w)

    def program(self, engine, target) -> ProgrammingReport:
        """Write-verify every cell to ``target`` (S, array of ``shape``), starting from the
        cells' present states. Loads the one-cell bench into ``engine``."""
        target = np.asarray(target, float)
        if target.shape != self.shape:
            raise CircuitError(f"programmer: target shape {target.shape} != array shape {self.shape}")
        if not np.all(np.isfinite(target)) or np.any(target <= 0):
            raise CircuitError("programmer: target conductances must be positive and finite")
        self._bench(engine)
        s = self.settings
        out = {k: np.zeros(self.shape) for k in ("g", "pulses", "energy", "time")}
        converged = np.zeros(self.shape, bool)
        for idx in np.ndindex(self.shape):
            g_t = float(target[idx])
            tol = s.tol_rel * g_t + s.tol_abs
            g, e, dt = self._pulse(engine, idx, 0.0)  # first verify read
            energy, time, pulses = e, dt, 0
            direction, amp = 0, s.v_start
            while abs(g - g_t) > tol and pulses < s.max_pulses:
                new = 1 if g < g_t else -1
                amp = s.v_start if new != direction else min(amp + s.v_step, s.v_max)
                direction = new
                g, e, dt = self._pulse(engine, idx, direction * amp)
                energy, time, pulses = energy + e, time + dt, pulses + 1
            out["g"][idx], out["pulses"][idx], out["energy"][idx], out["time"][idx] = g, pulses, energy, time
            converged[idx] = abs(g - g_t) <= tol
        report = ProgrammingReport(target.copy(), out["g"], out["pulses"].astype(int), out["energy"], out["time"],
                                   converged)
        if not converged.all():
            _log.warning("write-verify: %d of %d cells did not reach tolerance in %d pulses",
                         int((~converged).sum()), converged.size, s.max_pulses)
        self.history.append(report)
        return report
