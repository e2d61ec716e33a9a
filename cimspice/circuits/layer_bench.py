"""One small neural-network layer end to end in ngspice: crossbar, bit-line TIAs, an ADC.

The bench the system simulator is validated against (tests/test_sim_spice_validation.py,
docs/validation.md). A weight matrix on one array, differential pairs, DAC inputs::

    v_ref + V[i] --> row i --- cells G (rows, cols), wire segments r_wire (Crossbar's netlist)
                                  |  column j
                        vs<j> ammeter into vg = v_ref (ideal virtual ground of the array)
    output o (plus column p, minus column m):
        fp<o>: copies  I(vs<p>) into bl<o>        fm<o>: draws I(vs<m>) out of bl<o>
        bl<o> --> xtia<o> (netlists/tia.lib: op-amp + r_f || c_f, held at v_ref; the op-amp
                  resized by ``opamp``, as TransimpedanceAmplifier's tia_sized) --> out<o>
    out<o> (sampled)  --> one ADC (FlashADC by default, or any ADC given, e.g. a library
                          block's SarADC), time-multiplexed over the outputs and input vectors

Choices, and why:

- **Rows at v_ref + V.** The TIAs hold the bit lines at ``v_ref`` (~0.7 V) on one 1.1 V
  supply, so rows are driven at ``v_ref + V`` and the cells see ``V``.
- **Pair currents subtracted before sensing**, as the simulator's tile does (its sense
  model sees ``I_plus - I_minus``): the columns end on an ideal virtual ground at
  ``v_ref`` and current-controlled current sources (ideal current mirrors) deliver
  ``I_plus - I_minus`` into each TIA's bit-line node. So the array sees exactly the
  virtual ground the simulator's crossbar model assumes, and the TIA sees the pair's
  current as it does in its own characterization bench. What this leaves out, on purpose:
  the TIA's virtual-ground error seen by the cells themselves (its offset, ~0.55 mV,
  moves every cell's voltage). ``coupling="direct"`` measures what that costs: the plus
  column is wired to the TIA's bit-line node and the minus column is held at the same
  voltage by an ideal buffer, its current still copied out of the bit line.
- **Gain and levels.** TIA output ``v_ref - (I_plus - I_minus) r_f``. The ADC's
  references are set so that zero current sits in the middle of a code:
  ``v_ref_lo = v_ref - (2**(N-1) + 1/2) lsb_v``, ``v_ref_hi = v_ref_lo + 2**N lsb_v``. The
  ADC's code ``c`` (0 .. 2**N - 1) then reads as the signed code ``s = 2**(N-1) - c`` (the
  TIA inverts), clipped to ``+-(2**(N-1) - 1)``: the simulator's mid-tread converter with
  a current step ``lsb_v / r_f``. It is the mirror image of the simulator's ADC contract
  (``cimspice.sim.peripherals.MeasuredAdc``: zero current at ``u = 2**(N-1) - 1/2`` LSB on
  a scale rising with the current): the ADC's transition ``m`` is the simulator's transition
  ``2**N - m``, with its INL negated.
- **One ADC, time-multiplexed.** A 4-bit flash conversion costs ~0.16 s of ngspice time
  here (5-bit 0.41 s, a 4-bit SAR ~0.6 s of CPU); per-column ADCs in one transient would
  simulate the same number of comparator decisions. The sampled TIA outputs (ideal sample-and-hold, as in the ADC's
  own bench) are converted in one transient, in input order.
- **DC reads.** One operating point per input vector (``alter`` of the row sources).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import numpy as np

from ..validate import require_in_range, require_positive
from .adc_base import ADC
from .adc_flash import FlashADC
from .base import CircuitError
from .crossbar import Crossbar
from .devices import corner_library
from .opamp import PRECISION, opamp_nodeset, opamp_sizes
from .tia import tia_subcircuit

log = logging.getLogger(__name__)

#: ADC -> input range (V) its references may span here. The flash's NMOS-input StrongARM
#: latches compare the input with a ladder tap directly, so both need a common mode above
#: ~0.3-0.4 V; the SAR samples the input on bottom plates and its comparator sees the top
#: plate around its own v_cm, so its input may use the whole supply (0 .. 1.1 V).
ADC_INPUT_RANGE = {"adc_flash": (0.3, 1.05), "adc_sar": (0.0, 1.1)}

__all__ = ["ADC_INPUT_RANGE", "BenchResult", "LayerBench", "adc_transfer_points", "flash_transitions"]


@dataclass(frozen=True)
class BenchResult:
    """One batch through the bench.

    v_out : (n, n_out) TIA output voltages (V)
    raw_codes : (n, n_out) flash codes 0 .. 2**N - 1
    codes : (n, n_out) signed codes in ``+-(2**(N-1) - 1)`` (the simulator's convention)
    t_sense, t_adc : ngspice wall time (s) of the crossbar + TIA operating points and of the
        ADC transient
    """

    v_out: np.ndarray
    raw_codes: np.ndarray
    codes: np.ndarray
    t_sense: float
    t_adc: float


class LayerBench:
    """A layer on one crossbar array, read through transistor-level TIAs and a flash ADC.

    Parameters
    ----------
    G : (rows, cols) cell conductances (S), e.g. from :func:`cimspice.sim.mapping.array_layout`
    plus_idx, minus_idx : (n_out,) column of each output's plus and minus cell
    r_wire : float
        Wire resistance per segment (ohm), rows and columns (Crossbar's topology).
    cell : {"R", "1R"}
        Crossbar cell (a 1T1R cell would need its word lines; not used here).
    r_f, c_f : float
        TIA feedback resistance (ohm) and capacitance (F).
    opamp : mapping, optional
        The TIAs' op-amp sizes (names of netlists/opamp.lib, SI units), as
        :class:`~cimspice.circuits.tia.TransimpedanceAmplifier` takes them (e.g. its
        ``sizes``); default the library's design.
    v_ref : float
        Bit-line (virtual-ground) voltage (V), the TIAs' reference.
    adc_bits : int
        Resolution of the default flash ADC.
    adc : ADC, optional
        The converter (e.g. ``SarADC(4, samples_per_code=2)``, a library block's design);
        default ``FlashADC(adc_bits)``. Its references come from ``v_ref`` and ``lsb_v``.
    lsb_v : float
        ADC step (V) at the TIA output; the current step is ``lsb_v / r_f``.
    t_clk : float
        ADC clock period (s).
    corner : {"tt", "ff", "ss"}
    coupling : {"copy", "direct"}
        ``copy``: columns on an ideal virtual ground at ``v_ref``, pair currents copied into
        the TIA; ``direct``: the cells see the TIA's own bit-line voltage (module docstring).
    """

    def __init__(self, G, plus_idx, minus_idx, *, r_wire: float = 1.0, cell: str = "R", r_f: float = 5e3,
                 c_f: float = 100e-15, v_ref: float = 0.7, adc_bits: int = 4, lsb_v: float = 0.035,
                 t_clk: float = 2e-9, corner: str = "tt", coupling: str = "copy", opamp=None,
                 adc: ADC | None = None):
        if coupling not in ("copy", "direct"):
            raise CircuitError(f"layer_bench: coupling {coupling!r} must be 'copy' or 'direct'")
        self.coupling = coupling
        G = np.asarray(G, dtype=float)
        if G.ndim != 2:
            raise CircuitError(f"layer_bench: G must be (rows, cols), got shape {G.shape}")
        if cell not in ("R", "1R"):
            raise CircuitError(f"layer_bench: cell {cell!r} must be 'R' or '1R'")
        self.crossbar = Crossbar(G.shape[0], G.shape[1], cell, r_wire, corner=corner)
        self.G = self.crossbar.check_G(G)
        self.plus = np.asarray(plus_idx, dtype=int).ravel()
        self.minus = np.asarray(minus_idx, dtype=int).ravel()
        if self.plus.shape != self.minus.shape or self.plus.size == 0:
            raise CircuitError("layer_bench: plus_idx and minus_idx must name one column each per output")
        cols = set(self.plus.tolist()) | set(self.minus.tolist())
        if len(cols) != 2 * self.plus.size or min(cols) < 0 or max(cols) >= G.shape[1]:
            raise CircuitError(f"layer_bench: plus_idx/minus_idx must be distinct columns in 0..{G.shape[1] - 1}")
        self.r_f, self.c_f, self.lsb_v, self.t_clk = (
            require_positive(value, f"layer_bench: {name}", CircuitError, unit=unit) for name, value, unit
            in (("r_f", r_f, "ohm"), ("c_f", c_f, "F"), ("lsb_v", lsb_v, "V"), ("t_clk", t_clk, "s")))
        self.v_ref = require_in_range(v_ref, 0.55, 0.95, "layer_bench: v_ref", CircuitError, unit="V")  # the TIA's
        self.corner = corner
        self.opamp = opamp_sizes(opamp, where="layer_bench: opamp")
        self.adc = FlashADC(adc_bits, corner=corner) if adc is None else adc
        if not isinstance(self.adc, ADC) or self.adc.name not in ADC_INPUT_RANGE:
            raise CircuitError(f"layer_bench: adc must be an ADC instance of {' or '.join(ADC_INPUT_RANGE)}")
        self.bits = self.adc.adc_bits
        lo, hi = ADC_INPUT_RANGE[self.adc.name]
        if self.v_ref_lo < lo - 1e-12 or self.v_ref_hi > hi + 1e-12:
            raise CircuitError(f"layer_bench: ADC range {self.v_ref_lo:.3f} .. {self.v_ref_hi:.3f} V leaves "
                               f"{lo} .. {hi} V ({self.adc.name}'s input range); lower lsb_v")

    # ------------------------------------------------------------------ levels
    @property
    def n_out(self) -> int:
        return self.plus.size

    @property
    def code_max(self) -> int:
        return 2 ** (self.bits - 1) - 1

    @property
    def v_ref_lo(self) -> float:
        """Bottom ADC reference (V): zero current in the middle of code 2**(N-1)."""
        return self.v_ref - (2 ** (self.bits - 1) + 0.5) * self.lsb_v

    @property
    def v_ref_hi(self) -> float:
        return self.v_ref_lo + 2 ** self.bits * self.lsb_v

    @property
    def lsb_current(self) -> float:
        """Current step (A) of one signed code: ``lsb_v / r_f``."""
        return self.lsb_v / self.r_f

    @property
    def adc_point(self) -> dict:
        return {"v_ref_lo": self.v_ref_lo, "v_ref_hi": self.v_ref_hi, "t_clk": self.t_clk}

    def signed(self, raw_codes) -> np.ndarray:
        """Flash codes -> signed codes ``2**(N-1) - c`` clipped to ``+-(2**(N-1) - 1)``."""
        return np.clip(2 ** (self.bits - 1) - np.asarray(raw_codes), -self.code_max, self.code_max)

    # ------------------------------------------------------------------ netlist
    def netlist(self, V=None) -> str:
        """Crossbar + current copies + TIAs, rows at ``v_ref + V`` (V (rows,), default 0)."""
        rows = self.crossbar.rows
        V = np.zeros(rows) if V is None else np.asarray(V, dtype=float)
        lines = self.crossbar.netlist(self.G, self.v_ref + V).splitlines()
        if lines[-1] != ".end":  # the composition below relies on Crossbar's layout
            raise CircuitError("layer_bench: unexpected crossbar netlist ending")
        lines = lines[:-1]
        # where each column's ammeter ends: the array's virtual ground, or (direct) the TIA's
        # bit line for plus columns and a buffered copy of it for minus columns
        ends = {j: "vg" for j in range(self.crossbar.cols)}
        if self.coupling == "direct":
            ends.update({int(p): f"bl{o}" for o, p in enumerate(self.plus)})
            ends.update({int(m): f"bm{o}" for o, m in enumerate(self.minus)})
        for j in range(self.crossbar.cols):
            old = f"vs{j} s{j} 0 dc 0"
            try:
                lines[lines.index(old)] = f"vs{j} s{j} {ends[j]} dc 0"
            except ValueError:
                raise CircuitError(f"layer_bench: crossbar netlist has no ammeter line {old!r}") from None
        v = repr(self.v_ref)
        lines[0] = f"{lines[0]} + {self.n_out} TIAs r_f={self.r_f!r} v_ref={v}"
        subckt, tia_lines = tia_subcircuit(self.opamp)
        lines += [corner_library(self.corner), *tia_lines,
                  "vdd vdd 0 dc 1.1", f"vref ref 0 dc {v}", f"vvg vg 0 dc {v}"]
        nodesets = []
        for o, (p, m) in enumerate(zip(self.plus, self.minus)):
            if self.coupling == "copy":
                lines.append(f"fp{o} 0 bl{o} vs{p} 1")      # inject I_plus into the bit-line node
            else:
                lines.append(f"em{o} bm{o} 0 bl{o} 0 1")    # minus bit line at the plus one's voltage
            lines += [f"fm{o} bl{o} 0 vs{m} 1",             # and draw I_minus out of it
                      f"xtia{o} bl{o} out{o} ref vdd 0 {subckt} r_f={self.r_f!r} c_f={self.c_f!r}"]
            nodesets.append(f".nodeset v(bl{o})={v} v(out{o})={v}")
            nodesets.append(opamp_nodeset(f"xtia{o}.xop"))
        lines += nodesets + [PRECISION, ".end"]
        return "\n".join(lines)

    # ------------------------------------------------------------------ runs
    def sense(self, V, engine=None) -> np.ndarray:
        """TIA outputs (n, n_out) (V) for row inputs ``V`` (n, rows) (V, cells' voltage)."""
        from ..spice import get_engine

        V, _ = self.crossbar.check_V(np.asarray(V, dtype=float))
        engine = get_engine() if engine is None else engine
        engine.load(self.netlist(), source=f"layer bench {self.crossbar.rows}x{self.crossbar.cols}")
        names = [f"v(out{o})" for o in range(self.n_out)]
        out = np.empty((len(V), self.n_out))
        for b, v in enumerate(V):
            for i, value in enumerate(v):
                engine.alter(f"v{i}", float(self.v_ref + value))
            result = engine.op(names)
            out[b] = [float(np.real(result[name][0])) for name in names]
        return out

    def run(self, V, engine=None) -> BenchResult:
        """Read every input vector of ``V`` (n, rows): TIA outputs, then one ADC transient."""
        from ..spice import get_engine

        engine = get_engine() if engine is None else engine
        t0 = time.perf_counter()
        v_out = self.sense(V, engine)
        t1 = time.perf_counter()
        conv = self.adc.convert(engine, v_out.ravel(), self.adc_point)
        t2 = time.perf_counter()
        raw = np.asarray(conv.codes).reshape(v_out.shape)
        log.info("layer bench: %d vectors, sense %.1f s, ADC %d conversions %.1f s", len(v_out), t1 - t0,
                 raw.size, t2 - t1)
        return BenchResult(v_out, raw, self.signed(raw), t1 - t0, t2 - t1)


def adc_transfer_points(levels, v_ref: float, lsb_v: float, bits: int) -> tuple[np.ndarray, np.ndarray]:
    """Knots ``(u, code)`` of the simulator's ADC contract (``cimspice.sim.peripherals.
    SurrogateAdc``: input the ADC input as a fraction of full scale, u in [-1, 1]; output the
    signed code before rounding) for a flash ADC behind this bench's TIA, from its measured
    transition levels (V, :func:`flash_transitions`).

    The flash reads ``v = v_ref - u * code_max * lsb_v`` (the TIA inverts) and its code ``c``
    steps to ``k`` at ``levels[k-1]``; the signed code is ``2**(N-1) - c``. So at
    ``u_k = (v_ref - levels[k-1]) / (code_max lsb_v)`` the signed code crosses
    ``2**(N-1) - k + 1/2``: the piecewise-linear curve through those knots rounds to the
    measured code everywhere; its ends continue at the ideal slope to u = -1 and 1.
    Fit a linear grid interpolator to them (tests/test_sim_spice_validation.py).
    """
    code_max = 2 ** (bits - 1) - 1
    k = np.arange(1, 2 ** bits)
    u = (v_ref - np.asarray(levels, dtype=float)) / (code_max * lsb_v)
    c = 2 ** (bits - 1) - k + 0.5
    inside = np.abs(u) < 1
    u, c = u[inside][::-1], c[inside][::-1]
    if u.size == 0 or np.any(np.diff(u) <= 0):
        raise CircuitError("layer_bench: transition levels must increase and fall inside the ADC range")
    u_all = np.concatenate([[-1.0], u, [1.0]])
    c_all = np.concatenate([[c[0] - code_max * (u[0] + 1)], c, [c[-1] + code_max * (1 - u[-1])]])
    return u_all, c_all


def flash_transitions(adc: ADC, engine=None, point=None, *, steps: int = 10,
                      bracket: float = 0.5) -> np.ndarray:
    """Transition levels (V) of an ADC (flash or SAR), ``(2**N - 1,)``: level ``k`` is the input at
    which the code reaches ``k``. Bisection on all levels at once, one transient of
    ``2**N - 1`` conversions per step, from brackets of +-``bracket`` LSB around the ideal
    levels; resolution ``2 bracket LSB / 2**steps``. A level that runs into its bracket's
    edge is an error (the ADC is off by more than that there; measured: 4 bits within
    0.25 LSB, 5 bits beyond 0.5 LSB at the top of the range)."""
    from ..spice import get_engine

    engine = get_engine() if engine is None else engine
    p = dict(point or {})
    lo, hi = p.get("v_ref_lo", adc.defaults[0]), p.get("v_ref_hi", adc.defaults[1])
    n = 2 ** adc.adc_bits
    q = (hi - lo) / n
    k = np.arange(1, n)
    a0, b0 = lo + (k - bracket) * q, lo + (k + bracket) * q
    level = adc.bisect_levels(engine, k, a0, b0, p, steps)
    edge = np.minimum(level - a0, b0 - level) < 2 * (b0 - a0) / 2 ** steps
    if np.any(edge):
        raise CircuitError(f"{adc.name}: transition(s) {k[edge].tolist()} more than {bracket:g} LSB from ideal; "
                           "widen the bisection bracket")
    return level
