"""What the flash, SAR and ramp ADCs share: parameters, measurements, the ramp test,
conversions of arbitrary input batches, energy accounting and the area estimate.

A conversion run is one ngspice transient: the input is a staircase (an ideal sample and
hold in front of the ADC: one level per conversion), codes are decoded from the waveforms,
and the energy per conversion is everything the supplies and references deliver over the
run, divided by the number of conversions.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from ..validate import require_int, require_nonnegative
from . import adc_metrics
from .base import TEMP, Circuit, CircuitError, Measured, Measurement, Parameter, supply
from .comparator import A_VT, CHGTOL_OPTION, T_EDGE, model_lines, strongarm_design
from .devices import VDD, check_corner
from .waveforms import supply_energy

# Largest transient step (s): the charge tolerance (comparator.CHGTOL_OPTION) refines the
# steps through every decision; this only bounds them through the quiet phases.
MAX_STEP = 100e-12

ADC_MEASUREMENTS = (
    Measurement("energy_per_conversion", "J", "supply, reference and clock-buffer energy per conversion"),
    Measurement("t_conversion", "s", "time per conversion (clock cycles x t_clk)"),
    Measurement("inl_max", "LSB", "largest |INL|, endpoint line, from the ramp test"),
    Measurement("dnl_max", "LSB", "largest |DNL| from the ramp test"),
    Measurement("offset_error", "LSB", "first transition level minus its ideal value"),
    Measurement("gain_error", "LSB", "span of the transitions minus the ideal span"),
    Measurement("missing_codes", "1", "codes never produced by the ramp test"),
    Measurement("code_error_max", "LSB", "largest |code - ideal quantiser code| over the ramp test"),
)


@dataclass(frozen=True)
class Conversion:
    """Codes of one conversion run and what it cost.

    ``v_in`` (n,) V, ``codes`` (n,) int; ``energy`` (J) over the whole run;
    ``energy_per_conversion`` (J) and ``t_conversion`` (s); ``energy_by_source`` the run's
    energy (J) per counted source (``vdd``: comparators, clock buffer, switch drivers).
    """

    v_in: np.ndarray
    codes: np.ndarray
    energy: float
    energy_per_conversion: float
    t_conversion: float
    status: str = "ok"
    aids: tuple[str, ...] = ()
    energy_by_source: dict = field(default_factory=dict)


def staircase(values: Sequence[str], t_step: str, *, per_line: int = 8) -> str:
    """A PWL source body holding ``values[k]`` (numbers or ``{expressions}``) from
    ``k * t_step`` to ``(k+1) * t_step``, stepping in T_EDGE at each boundary; ``t_step`` is
    a parameter expression such as ``"t_conv"``. Continuation lines keep lines short."""
    points = []
    for k, v in enumerate(values):
        start = "0" if k == 0 else f"{{{k}*{t_step}+{T_EDGE!r}}}"
        points += [f"{start} {v}", f"{{{k + 1}*{t_step}}} {v}"]
    lines = [" ".join(points[i:i + per_line]) for i in range(0, len(points), per_line)]
    return "pwl(" + "\n+ ".join(lines) + ")"


def number(v: float) -> str:
    return repr(float(v))


class ADC(Circuit):
    """Base class. Subclasses set ``name``, ``defaults`` (v_ref_lo, v_ref_hi) and implement
    :meth:`cycles_per_conversion`, :meth:`_body`, :meth:`_vectors`, :meth:`_decode`,
    :meth:`_supplies` and :meth:`area`.

    Parameters
    ----------
    adc_bits : int
        Resolution (bits).
    corner : {"tt", "ff", "ss"}
    samples_per_code : int
        Ramp-test density: the ramp test converts ``samples_per_code * 2**adc_bits``
        equally spaced inputs, so transition levels are resolved to LSB / samples_per_code.
    comparator : mapping, optional
        :class:`StrongArmDesign` fields for the comparators (e.g. ``{"preamp": True}``).
    mismatch_seed : int, optional
        Draw every comparator's ``dvth_*`` once from Pelgrom's law with this seed (one
        fabricated instance); ``None`` (default) is perfect matching.
    a_vt : float
        Pelgrom coefficient (V*m) of those draws.
    """

    defaults: tuple[float, float] = (0.4, 1.0)
    max_bits = 10

    def __init__(self, adc_bits: int = 4, *, corner: str = "tt", samples_per_code: int = 4,
                 comparator: Mapping | None = None, mismatch_seed: int | None = None, a_vt: float = A_VT):
        # one bit is a comparator: use StrongArmComparator
        self.adc_bits = require_int(adc_bits, f"{self.name}: adc_bits", CircuitError, lo=2, hi=self.max_bits)
        self.corner = check_corner(corner, self.name)
        self.samples_per_code = require_int(samples_per_code, f"{self.name}: samples_per_code", CircuitError,
                                            lo=1, hi=64)
        if mismatch_seed is not None:
            mismatch_seed = require_int(mismatch_seed, f"{self.name}: mismatch_seed", CircuitError, lo=0)
        self.mismatch_seed = mismatch_seed
        self.a_vt = require_nonnegative(a_vt, f"{self.name}: a_vt", CircuitError, unit="V*m")
        self.design = strongarm_design(comparator or {}, f"{self.name}: comparator")
        lo, hi = self.defaults
        self.parameters = (
            supply((0.8, 1.3), "supply of comparators, logic drivers and clock"),
            Parameter("v_ref_lo", "V", lo, (0.0, 1.2), "bottom of the input range (reference low)"),
            Parameter("v_ref_hi", "V", hi, (0.1, 1.3), "top of the input range (reference high)"),
            Parameter("t_clk", "s", 2e-9, (0.5e-9, 100e-9), "comparator clock period", scale="log"),
            TEMP,
        ) + self._extra_parameters()
        # and the INL at every transition: the measured static transfer the simulator applies
        self.measurements = ADC_MEASUREMENTS + tuple(
            Measurement(f"inl_{k}", "LSB", f"INL at transition {k} (endpoint line) from the ramp test")
            for k in range(1, 2 ** self.adc_bits))
        self._applied: dict[str, float] = {}
        self._loaded_text = ""

    # -------------------------------------------------------------- subclass hooks
    def _extra_parameters(self) -> tuple[Parameter, ...]:
        return ()

    def cycles_per_conversion(self) -> int:
        raise NotImplementedError

    def conversions_per_run(self, n_inputs: int) -> int:
        """Clocked conversion slots the run needs for ``n_inputs`` inputs."""
        return n_inputs

    def _body(self, inputs: Sequence[str]) -> list[str]:
        """Netlist lines after the models and parameters, for the input values given as
        numbers or ``{expressions}`` (one per conversion, in order)."""
        raise NotImplementedError

    def _vectors(self) -> list[str]:
        raise NotImplementedError

    def _decode(self, result, n_inputs: int, p: Mapping[str, float]) -> np.ndarray:
        raise NotImplementedError

    def _supplies(self) -> list[tuple[str, str]]:
        """(source, its voltage) of every source whose energy counts: the voltage is a
        parameter name (an ideal DC source) or a vector such as ``"v(ramp)"``."""
        return [("vdd", "vdd"), ("vref_hi", "v_ref_hi"), ("vref_lo", "v_ref_lo")]

    def area(self) -> float:
        raise NotImplementedError

    # -------------------------------------------------------------- netlist
    @property
    def n_codes(self) -> int:
        return 2 ** self.adc_bits

    def comparator_offsets(self, n_comparators: int) -> list[dict[str, float]]:
        """Per-comparator ``dvth_*`` values (V): zeros, or one Pelgrom draw per device."""
        sigmas = self.design.mismatch_sigmas(self.a_vt)
        if self.mismatch_seed is None:
            return [{} for _ in range(n_comparators)]
        rng = np.random.default_rng(self.mismatch_seed)
        return [{k: float(rng.normal(0.0, s)) for k, s in sigmas.items()} for _ in range(n_comparators)]

    def ramp_expressions(self) -> list[str]:
        """Ramp-test inputs as expressions of v_ref_lo/v_ref_hi: cell centres of
        ``samples_per_code * 2**adc_bits`` equal steps across the range."""
        n = self.samples_per_code * self.n_codes
        return [f"{{v_ref_lo+{k + 0.5!r}*(v_ref_hi-v_ref_lo)/{n}}}" for k in range(n)]

    def ramp_inputs(self, v_ref_lo: float, v_ref_hi: float) -> np.ndarray:
        n = self.samples_per_code * self.n_codes
        return v_ref_lo + (np.arange(n) + 0.5) * (v_ref_hi - v_ref_lo) / n

    def _text(self, inputs: Sequence[str]) -> str:
        lo, hi = self.defaults
        extra = " ".join(f"{p.name}={p.default!r}" for p in self._extra_parameters())
        return "\n".join([
            f"{self.name} adc_bits={self.adc_bits} corner={self.corner}",
            *model_lines(self.corner),
            f".param vdd={VDD!r} v_ref_lo={lo!r} v_ref_hi={hi!r} t_clk=2e-09 {extra}".rstrip(),
            f".param t_conv={{{self.cycles_per_conversion()}*t_clk}}",
            "vdd vdd 0 dc {vdd}",
            *self._body(inputs),
            CHGTOL_OPTION,
            ".end",
        ])

    def netlist(self) -> str:
        return self._text(self.ramp_expressions())

    def __getstate__(self):
        return {**super().__getstate__(), "_loaded_text": ""}

    def load_text(self, engine, text: str, **options) -> None:
        super().load_text(engine, text, **options)
        self._loaded_text = text  # simulate reloads the ramp test after a convert

    def loaded_state(self) -> dict:
        return {p.name: p.default for p in self.parameters if p.name != "temp"}  # the netlist's .param

    # -------------------------------------------------------------- simulation
    def _point(self, point: Mapping[str, float]) -> dict[str, float]:
        p = self.point(point)
        if p["v_ref_hi"] - p["v_ref_lo"] < 0.05:
            raise CircuitError(f"{self.name}: v_ref_hi={p['v_ref_hi']:g} V must exceed v_ref_lo={p['v_ref_lo']:g} V "
                               "by at least 50 mV")
        if p["v_ref_hi"] > p["vdd"]:
            raise CircuitError(f"{self.name}: v_ref_hi={p['v_ref_hi']:g} V above vdd={p['vdd']:g} V")
        self._check_point(p)
        return p

    def _check_point(self, p: Mapping[str, float]) -> None:
        pass

    def _apply(self, engine, p: Mapping[str, float]) -> None:
        changed = {k: v for k, v in p.items() if k != "temp" and v != self._applied.get(k)}
        if changed:
            engine.set_params(**changed)
            self._applied.update(changed)
        self.apply_temperature(engine, p["temp"])

    def _run(self, engine, p: Mapping[str, float], v_in: np.ndarray) -> Conversion:
        self._apply(engine, p)
        t_clk = p["t_clk"]
        slots = self.conversions_per_run(len(v_in))
        t_conv = self.cycles_per_conversion() * t_clk
        # half a cycle more: the last decision's reset (recharge) belongs to its conversion
        stop = slots * t_conv + t_clk / 2
        step = min(t_clk / 20, MAX_STEP)
        supplies = self._supplies()
        names = [f"i({s})" for s, _ in supplies] + [v for _, v in supplies if v.startswith("v(")]
        r = engine.tran(step, stop, max_step=step, vectors=["time", *self._vectors(), *dict.fromkeys(names)])
        t = r["time"]
        by_source = {s: supply_energy(t, r[v] if v.startswith("v(") else p[v], -r[f"i({s})"]) for s, v in supplies}
        energy = float(sum(by_source.values()))
        codes = self._decode(r, len(v_in), p)
        return Conversion(np.asarray(v_in, dtype=np.float64), codes, energy, energy / len(v_in), float(t_conv),
                          r.status, r.aids, by_source)

    def convert(self, engine, v_in, point: Mapping[str, float] | None = None) -> Conversion:
        """Convert the inputs ``v_in`` (n,) V in one transient at ``point`` (defaults for
        missing parameters). Loads a netlist with these inputs written in; the next
        :meth:`simulate` reloads the ramp-test netlist by itself."""
        p = self._point(point or {})
        v = np.atleast_1d(np.asarray(v_in, dtype=np.float64))
        if v.ndim != 1 or v.size == 0 or not np.all(np.isfinite(v)):
            raise CircuitError(f"{self.name}: v_in must be a non-empty 1-D array of finite voltages")
        if v.min() < -0.3 or v.max() > p["vdd"] + 0.3:
            raise CircuitError(f"{self.name}: v_in outside [-0.3, vdd + 0.3] V: junctions would conduct")
        self.load_text(engine, self._text([number(x) for x in v]))
        return self._run(engine, p, v)

    def bisect_levels(self, engine, codes, lo, hi, point: Mapping[str, float], steps: int) -> np.ndarray:
        """Input levels (V) at which the code reaches each of ``codes`` (n,), bisected through
        whole conversions from the brackets ``lo`` .. ``hi`` (n,) V: ``steps`` halvings, one
        transient of n conversions each. A level whose bracket did not hold it ends at an edge;
        the caller checks."""
        codes = np.asarray(codes)
        a, b = np.array(lo, dtype=float), np.array(hi, dtype=float)
        for _ in range(int(steps)):
            mid = 0.5 * (a + b)
            above = np.asarray(self.convert(engine, mid, point).codes) >= codes
            b, a = np.where(above, mid, b), np.where(above, a, mid)
        return 0.5 * (a + b)

    def simulate(self, engine, point: Mapping[str, float]) -> Measured:
        """Ramp test at ``point``: transfer curve, INL/DNL, energy and conversion time."""
        p = self._point(point)
        if self._loaded_text != self.netlist():
            self.load(engine)
        v = self.ramp_inputs(p["v_ref_lo"], p["v_ref_hi"])
        conv = self._run(engine, p, v)
        return Measured(self.ramp_metrics(conv, p), conv.status, conv.aids)

    def ramp_metrics(self, conv: Conversion, p: Mapping[str, float]) -> dict[str, float]:
        """The declared measurements from a ramp-test conversion."""
        n = self.adc_bits
        lo, hi = p["v_ref_lo"], p["v_ref_hi"]
        q = adc_metrics.lsb(n, lo, hi)
        levels = adc_metrics.transition_levels(conv.v_in, conv.codes, n)
        ideal = adc_metrics.ideal_levels(n, lo, hi)
        out = dict(energy_per_conversion=conv.energy_per_conversion, t_conversion=conv.t_conversion,
                   missing_codes=float(self.n_codes - np.unique(conv.codes).size),
                   code_error_max=float(np.max(np.abs(conv.codes - adc_metrics.ideal_quantiser(conv.v_in, n, lo, hi)))),
                   offset_error=float((levels[0] - ideal[0]) / q),
                   gain_error=float(((levels[-1] - levels[0]) - (ideal[-1] - ideal[0])) / q))
        try:
            dnl, inl = adc_metrics.dnl_inl(levels, method="endpoint")
            out.update(inl_max=float(np.max(np.abs(inl))), dnl_max=float(np.max(np.abs(dnl))))
        except CircuitError:  # transitions do not increase (a stuck ADC): no LSB to refer to
            inl = np.full(self.n_codes - 1, np.nan)
            out.update(inl_max=float("nan"), dnl_max=float("nan"))
        out.update({f"inl_{k}": float(v) for k, v in enumerate(inl, start=1)})
        return out

    # -------------------------------------------------------------- helpers for subclasses
    @staticmethod
    def sample_times(t0: float, period: float, count: int, offset: float) -> np.ndarray:
        return t0 + period * np.arange(count) + offset

    @staticmethod
    def high(result, vector: str, times: np.ndarray, vdd: float) -> np.ndarray:
        """Whether ``vector`` is above vdd/2 at each time: (len(times),) bool."""
        return np.interp(times, result["time"], result[vector]) > vdd / 2
