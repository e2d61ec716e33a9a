"""The catalogue: every block ``cimspice library build`` characterizes, as data.

A :class:`Block` names a registered circuit (``cimspice.circuits.CIRCUITS``) with its
constructor arguments, the ranges its training grid spans, the outputs to fit and how
many off-grid validation points score them. :meth:`Block.sweep_specs` turns it into the
two sweep specs (plain data, as ``cimspice sweep`` reads them): the grid, and a
Latin hypercube over the same ranges with a seed of its own, so its points lie inside
the grid's hull but on none of its nodes.

Grid sizes are chosen for time on a 2-core machine (docs/library.md has the measured
build times): the cell and the sense circuits are cheap (0.05-0.2 s per point), a
PWL unit with its timing bench 3 s, an ADC's ramp test 1.5 s (3-bit flash) to 4 min
(6-bit SAR at 2 samples per code), a wide SAR's weight test 1-4 min (7-10 bits).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from ..circuits import adc_sar_bow, get_circuit
from ..circuits.adc_sar_weights import residue_codes
from ..circuits.base import CircuitError
from ..circuits.nonlinear import FUNCTIONS
from .errors import LibraryError

#: one swept input: (start, stop, grid points, "linear" | "log")
Range = tuple[float, float, int, str]

_NAME = re.compile(r"[a-z][a-z0-9_]*")
#: default seed of the validation sweeps (the grids have no randomness)
VALIDATION_SEED = 11


@dataclass(frozen=True)
class Block:
    """One characterized block of the library.

    Attributes
    ----------
    name : the library's key prefix: surrogates are ``{name}.{output}`` (and ``@{corner}``)
    circuit : registered circuit name; ``circuit_args`` its constructor arguments (sizes)
    ranges : swept input -> (start, stop, grid points, scale), in the input's SI unit;
        inputs not listed stay at the circuit's defaults
    outputs : measurements to fit
    why : one line: why this block, and why these ranges
    quick_ranges : the ranges of a ``--quick`` build (default: ``ranges``)
    quick_args : constructor arguments that replace ``circuit_args`` ones in a ``--quick`` build
    samples, quick_samples : validation (Latin-hypercube) points of a full / quick build
    seed : the validation sweep's seed
    models : candidate families (``cimspice fit --models``); None: all that apply
    output_scales : output -> "linear" | "log" for the fit
    corners : whether the circuit takes a process corner (a passive one does not)
    timeout : s per point (default: the sweep engine's 60 s)
    quick : part of a ``--quick`` build
    heavy : left out of a full build unless named with ``--only`` (hours of ngspice, or a
        resolution no shipped system uses)
    fixed : inputs held at a value other than the circuit's default (e.g. a TIA's ``v_ref``),
        in their SI unit
    integers : swept inputs that take integer values only (a DAC's ``code``): their grid nodes
        are the range's rounded to integers, their validation draws integers off those nodes
        (every integer of the range when the grid holds them all)
    tolerances : output -> the absolute error (the output's SI unit, or LSB) below which a
        surrogate's error does not matter where the output is used: its fit is flagged only
        above both this and 1 %FS, and records it (``abs_tolerance``, docs/surrogate_schema.md).
        Outside the fingerprint: it changes neither the sweeps nor the fit
    """

    name: str
    circuit: str
    ranges: Mapping[str, Range]
    outputs: tuple[str, ...]
    why: str
    circuit_args: Mapping[str, Any] = field(default_factory=dict)
    quick_ranges: Mapping[str, Range] | None = None
    quick_args: Mapping[str, Any] = field(default_factory=dict)
    samples: int = 40
    quick_samples: int = 8
    seed: int = VALIDATION_SEED
    models: tuple[str, ...] | None = None
    output_scales: Mapping[str, str] = field(default_factory=dict)
    corners: bool = True
    timeout: float | None = None
    quick: bool = True
    heavy: bool = False
    fixed: Mapping[str, float] = field(default_factory=dict)
    integers: tuple[str, ...] = ()
    tolerances: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self):
        if not _NAME.fullmatch(self.name):
            raise LibraryError(f"block {self.name!r}: a name is lower-case letters, digits and '_'")
        for kind, ranges in (("ranges", self.ranges), ("quick_ranges", self.quick_ranges or {})):
            for param, r in ranges.items():
                if (len(r) != 4 or r[3] not in ("linear", "log") or isinstance(r[2], bool)
                        or not isinstance(r[2], int) or r[2] < 1):
                    raise LibraryError(f"block {self.name}: {kind}[{param!r}] = {r!r}: expected "
                                       "(start, stop, points, 'linear' | 'log')")
        if not self.outputs:
            raise LibraryError(f"block {self.name}: no outputs")
        for kind, ranges in (("ranges", self.ranges), ("quick_ranges", self.quick_ranges)):
            for param in self.integers if ranges else ():
                _check_integer_axis(self.name, kind, param, ranges)
        for output, value in self.tolerances.items():
            number = isinstance(value, (int, float)) and not isinstance(value, bool)
            if output not in self.outputs or not (number and 0 < value < float("inf")):
                raise LibraryError(f"block {self.name}: tolerances[{output!r}] = {value!r}: expected one of its "
                                   "outputs and a finite number > 0")

    def grid(self, quick: bool = False) -> Mapping[str, Range]:
        """The ranges of a full or a ``--quick`` build."""
        return (self.quick_ranges or self.ranges) if quick else self.ranges

    def args(self, quick: bool = False) -> dict[str, Any]:
        """The circuit's constructor arguments in a full or a ``--quick`` build."""
        return {**self.circuit_args, **self.quick_args} if quick else dict(self.circuit_args)

    def definition(self) -> dict:
        """What the block's fingerprint covers: every field but the ``why`` text and the
        ``tolerances`` (they change neither a sweep nor a fit: a library needs no rebuild)."""
        data = asdict(self)
        del data["why"], data["tolerances"]
        for later in ("fixed", "integers"):  # fields added later stay out of older blocks' fingerprints
            if not data[later]:
                del data[later]
        return data

    def sweep_specs(self, *, quick: bool = False, corners=(), temps=()) -> dict[str, dict]:
        """``{"train": grid spec, "validation": Latin-hypercube spec}`` as plain data.

        ``corners`` (names) run one circuit per process corner (ignored by a block without
        corners); ``temps`` (degC) become the grid's ``temp`` axis, and the validation
        sweep's range from the lowest to the highest (one temperature: held fixed;
        ignored by a circuit without a ``temp`` parameter).
        """
        grid, lhs = dict(self.fixed), dict(self.fixed)
        for name, (start, stop, num, scale) in self.grid(quick).items():
            axis = {"start": start, "stop": stop, "scale": scale}  # explicit: else the circuit's declared one
            grid[name] = {"values": self.nodes(name, quick), "scale": scale} if name in self.integers \
                else {**axis, "num": num}
            lhs[name] = axis
        temps = [float(t) for t in temps] if self.has_temp(quick) else []
        if len(temps) == 1:
            grid["temp"] = lhs["temp"] = temps[0]
        elif temps:
            grid["temp"] = {"values": temps}
            lhs["temp"] = {"start": min(temps), "stop": max(temps)}
        common: dict[str, Any] = {"circuit": self.circuit}
        if self.args(quick):
            common["circuit_args"] = self.args(quick)
        if corners and self.corners:
            common["corners"] = list(corners)
        common["outputs"] = list(self.outputs)
        if self.timeout is not None:
            common["timeout"] = self.timeout
        samples = self.quick_samples if quick else self.samples
        validation = {"design": "lhs", "samples": samples, "seed": self.seed, "parameters": lhs}
        if self.integers:
            validation = {"design": "list", "parameters": self._integer_draws(lhs, samples, quick)}
        return {"train": {**common, "design": "grid", "parameters": grid}, "validation": {**common, **validation}}

    def nodes(self, name: str, quick: bool = False) -> list[int]:
        """The grid nodes of integer input ``name``: its range's, rounded (no repeats)."""
        start, stop, num, _ = self.grid(quick)[name]
        return sorted({int(v) for v in np.rint(np.linspace(start, stop, num))})

    def _integer_draws(self, lhs: Mapping[str, Any], samples: int, quick: bool) -> dict:
        """The validation sweep's parameters as lists: a Latin hypercube over the swept
        inputs (seeded with :attr:`seed`), an integer input's coordinate mapped onto the
        integers of its range that are not grid nodes (all of them when none is left), so
        a surrogate is scored between its integer nodes, where it is used."""
        from scipy.stats import qmc  # scipy.stats costs ~60 MB of imports: only when asked

        swept = [name for name, axis in lhs.items() if isinstance(axis, dict)]
        unit = qmc.LatinHypercube(d=len(swept), seed=self.seed).random(samples)
        params = {name: value for name, value in lhs.items() if name not in swept}
        for u, name in zip(unit.T, swept):
            axis = lhs[name]
            lo, hi, scale = axis["start"], axis["stop"], axis.get("scale", "linear")
            if name in self.integers:
                pool = sorted(set(range(int(lo), int(hi) + 1)) - set(self.nodes(name, quick))) \
                    or list(range(int(lo), int(hi) + 1))
                values = [pool[k] for k in np.minimum((u * len(pool)).astype(int), len(pool) - 1)]
            elif scale == "log":
                values = [float(v) for v in np.exp(np.log(lo) + u * (np.log(hi) - np.log(lo)))]
            else:
                values = [float(v) for v in lo + u * (hi - lo)]
            params[name] = {"values": values, "scale": scale}
        return params

    def has_temp(self, quick: bool = False) -> bool:
        """Whether the circuit declares a ``temp`` parameter."""
        try:
            get_circuit(self.circuit, **self.args(quick)).parameter("temp")
        except CircuitError:
            return False
        return True


def _check_integer_axis(block: str, kind: str, param: str, ranges: Mapping[str, Range]) -> None:
    """An integer input is a swept one, linear, between integers, with no more nodes than integers."""
    where = f"block {block}: integers names {param!r}"
    if param not in ranges:
        raise LibraryError(f"{where}, which is not one of its {kind} ({', '.join(ranges) or 'none'})")
    r = ranges[param]
    start, stop, num, scale = r
    if scale != "linear" or start != int(start) or stop != int(stop) or num > stop - start + 1:
        raise LibraryError(f"{where}: {kind}[{param!r}] = {r!r} must run linearly between integers, "
                           "with at most one node per integer")


# ---------------------------------------------------------------------------- the array
CELL = Block(
    "cell_1t1r", "cell_1t1r",
    ranges={"g": (1e-6, 1e-4, 21, "log"), "v_bl": (0.0, 0.3, 25, "linear"), "v_wl": (0.5, 1.2, 13, "linear")},
    quick_ranges={"g": (1e-6, 1e-4, 9, "log"), "v_bl": (0.0, 0.3, 7, "linear"), "v_wl": (0.5, 1.2, 6, "linear")},
    outputs=("i_cell",), samples=300, quick_samples=40,
    # 6825 points: the GP (800-point subset) and the MLP add minutes and lose to the grid
    # here (docs/surrogates.md), so the demo's families
    models=("grid-linear", "grid-cubic", "poly-4", "poly-6"),
    why="the array's read law: the cell current over the programmed conductance (log), bit-line and "
        "word-line voltages, the source line at 0 V",
)

# ---------------------------------------------------------------------------- sense circuits
TIA = Block(
    "tia", "tia",
    ranges={"i_in": (0.0, 1e-4, 11, "linear"), "vdd": (0.95, 1.3, 5, "linear")},
    quick_ranges={"i_in": (0.0, 1e-4, 5, "linear"), "vdd": (0.95, 1.3, 3, "linear")},
    outputs=("v_out", "energy_read"),
    why="the virtual-ground read of a bit line: output voltage and energy per read over the column current "
        "(0 to the 100 uA full scale) and the supply",
)
TIA_ARRAY = Block(
    "tia_array", "tia",
    # sized for the baseline's arrays: their calibrated column-pair currents reach 95-260 uA
    # (64 rows of 1-100 uS cells at 0.2 V); r_f puts +-300 uA on +-0.45 V around v_ref, the
    # op-amp's class-A sink (w_sink 3x: 600 uA) is twice the full scale as in the 100 uA design
    circuit_args={"r_f": 1500.0, "i_full_scale": 3e-4, "t_read": 1e-8, "w_sink": 6e-5},
    fixed={"v_ref": 0.55},
    # i_in every 25 uA: at 50 uA the op-amp's saturation knee (about -250 uA below 1.05 V) fell
    # between nodes, 6 mV off (cubic) and 14 mV off (linear) at points 40 validation draws missed
    ranges={"i_in": (-3e-4, 3e-4, 25, "linear"), "vdd": (0.95, 1.3, 5, "linear")},
    quick_ranges={"i_in": (-3e-4, 3e-4, 7, "linear"), "vdd": (0.95, 1.3, 3, "linear")},
    # not settling_time: the time to enter a 0.5 LSB band jumps where ringing crosses the band
    # edge (a grid-linear fit missed by 19.6 %FS); measured <= 8.8 ns over 0.95-1.3 V, 5.0 ns at 1.1 V
    outputs=("v_out", "energy_read", "power"), samples=120,
    models=("grid-linear", "grid-cubic"),
    why="the array's read-out: a TIA sized for a 64-row column pair (+-300 uA), its virtual ground 0.55 V "
        "above the op-amp's negative rail; transfer, energy over its 10 ns read, static power, settling",
)
SENSE_AMP = Block(
    "sense_amp", "sense_amp", circuit_args={"measure_offset": False, "relative_input": True},
    # swept at its reference: i_ref (log) and the bit line's relative excess over it,
    # overdrive = i_bl / i_ref - 1 (log; decision 1, i_bl < i_ref is the mirror table). The
    # delay and energy grow with log(1 / overdrive) as the difference shrinks; a binarized
    # network's read sits at 0.003-0.013 (one unit of a partial sum, 0.45 uA, over a 35-140
    # uA column). The evaluation window, and so the energy's, is set by i_ref. Measured
    # (TT, 27 degC): 7 x 9 nodes left 1.6 % (delay) and 0.5 % (energy) at held-out points,
    # these 9 x 11 0.8 % and 0.4 %, about the transient's own step error (delay 1.2 %,
    # energy 0.6 % from a 0.1 ps-step run). Log outputs: at corners the delay falls 14x from
    # 125 to -40 degC (200 uA, 0.9 V), and between the 4 temperatures the linear table
    # missed a 39 ps delay by 24 % (log: 11 %) and the energy by 2.3 % (log: 1.6 %)
    ranges={"i_ref": (5e-6, 2e-4, 9, "log"), "overdrive": (1e-3, 3.0, 11, "log"), "vdd": (0.8, 1.3, 6, "linear")},
    # quick: 4 nodes an axis at least (3 supplies put a fresh point's energy at 2.4x the
    # stated maximum of the 8 validation points; with 4, 30 fresh points stay within 1.5x)
    quick_ranges={"i_ref": (5e-6, 2e-4, 4, "log"), "overdrive": (1e-3, 3.0, 5, "log"),
                  "vdd": (0.8, 1.3, 4, "linear")},
    outputs=("delay", "energy"), samples=80, models=("grid-linear", "grid-cubic"),
    output_scales={"delay": "log", "energy": "log"},
    why="the current-mode sense amplifier's decision at its reference: delay and energy over the reference "
        "current (log), the bit line's relative overdrive above it (log) and the supply",
)
INTEGRATOR = Block(
    "integrator", "integrator",
    ranges={"i_in": (0.0, 1e-4, 9, "linear"), "t_pulse": (0.5e-9, 5e-9, 6, "linear"),
            "vdd": (0.95, 1.3, 4, "linear")},
    quick_ranges={"i_in": (0.0, 1e-4, 5, "linear"), "t_pulse": (0.5e-9, 5e-9, 4, "linear")},
    outputs=("v_out", "energy"),
    why="charge integration of bit-serial read pulses: output voltage and energy over the column current, "
        "the pulse width and the supply",
)
SAMPLE_HOLD = Block(
    "sample_hold", "sample_hold",
    # v_in over the TIA's output range and a little beyond; t_sample stays at its 2 ns: it
    # only has to exceed t_acq (0.06-1.1 ns over corners, -40..125 degC and these ranges),
    # and the hold (100 ns, constructor) sets the leakage share of energy and error
    ranges={"v_in": (0.25, 0.9, 14, "linear"), "vdd": (0.9, 1.3, 5, "linear")},
    quick_ranges={"v_in": (0.25, 0.9, 5, "linear"), "vdd": (0.9, 1.3, 3, "linear")},
    outputs=("energy", "error", "t_acq"),
    why="the column sample-and-hold (transmission gate, dummies, 10 fF): energy per sample from 0 V, held "
        "error after a 100 ns hold and acquisition time to 0.5 LSB of 8 bits, over the input and the supply",
)
STRONGARM = Block(
    "strongarm", "strongarm", circuit_args={"measure_offset": False},
    # positive overdrive only: v_od < 0 is the mirror decision; 10 uV .. 100 mV, where the
    # delay follows the latch's log law and then saturates
    ranges={"v_od": (1e-5, 0.1, 9, "log"), "vdd": (0.8, 1.3, 6, "linear")},
    quick_ranges={"v_od": (1e-5, 0.1, 5, "log"), "vdd": (0.8, 1.3, 3, "linear")},
    outputs=("delay", "energy"),
    why="the ADCs' latch comparator: decision delay and energy over the overdrive (log) and the supply",
)


# ---------------------------------------------------------------------------- ADCs
#: resolutions (bits) a shipped system or study prices: baseline 6 (and 10 for partial
#: sums), `simulate --adc-bits` 3-6 and 8, input-splitting's SAR 3-6 and 10; each
#: architecture up to its own limit (flash and ramp 8 bits). The SAR at every resolution
#: from 2 to 10 (issue 17: "at least 1-10 bits"; 1 bit is the comparator, `strongarm`)
ADC_RESOLUTIONS = (3, 4, 5, 6, 8, 10)
SAR_RESOLUTIONS = tuple(range(2, 11))
#: those a full build characterizes: every SAR up to 6 bits, flash and ramp up to 4; the
#: others are heavy (named with --only): a ramp test takes 4-5 min at 6 bits here and hours
#: beyond 8; the SARs' weight test 1-4 min a point at 7-10 bits (docs/library.md)
FULL_ADC_BITS = {"adc_sar": 6, "adc_flash": 4, "adc_ramp": 4}
ADC_MAX_BITS = {"adc_sar": 10, "adc_flash": 8, "adc_ramp": 8}
#: SARs from this width up are characterized by the weight test
#: (cimspice.circuits.adc_sar_weights: N + 11 conversions and a bisected decision offset,
#: instead of a ramp of 2**(N+1)): their transitions are absolute, offset included, to
#: 0.004 LSB, where a ramp at 2 samples per code resolves half an LSB and its endpoint INL
#: drops the offset (the 3-6-bit SARs convert 0.08-0.1 LSB low: docs/validation.md). 2 bits
#: keep the ramp (8 energy strata need 3 bits).
SAR_WEIGHT_BITS = 3
#: resolutions of a --quick build
QUICK_ADC_BITS = (3,)
#: LSB: an error in the weight test's outputs (bit weights, offsets) that does not matter:
#: the test itself resolves 0.004 LSB. Over the supply the bit weights and the decision
#: offset span 0.0002-0.04 LSB, so a fit within 0.002 LSB of ngspice is up to 25 %FS there
#: (the shipped 3-9-bit SARs, issue 17); the INL and DNL composed from them likewise
SAR_WEIGHT_TOLERANCE = 0.01
#: V: the SARs' reference span (their default 0 .. 0.8 V, moved): the sense circuit's output
#: swing, +-0.4 V around tia_array's v_ref
SAR_SPAN = 0.8


def sar_references(bits: int) -> dict[str, float]:
    """The SAR's references where the array's sense circuit puts its input: the span
    :data:`SAR_SPAN` around ``tia_array``'s ``v_ref`` (0.55 V), shifted down half an LSB so
    that zero column current (the TIA at v_ref) is the middle of a code, not a transition, as
    the simulator's read-out has it (``u = code_max + 1/2``). 4 bits: 0.125 .. 0.925 V.
    The transitions move with the references by a few thousandths of an LSB (charge injection
    and the switches' on-resistance depend on the levels switched), which is what the
    16x8 layer in ngspice resolves (tests/test_layer_library.py)."""
    lo = TIA_ARRAY.fixed["v_ref"] - SAR_SPAN / 2 - SAR_SPAN / 2 ** (bits + 1)
    return {"v_ref_lo": round(lo, 12), "v_ref_hi": round(lo + SAR_SPAN, 12)}
ADC_OUTPUTS = ("energy_per_conversion", "t_conversion", "inl_max", "dnl_max")


def inl_outputs(bits: int) -> tuple[str, ...]:
    """The INL at each of a ``bits``-bit converter's transitions (``inl_1`` ..): its measured
    static transfer, which the simulator applies (``adc.transfer: measured``)."""
    return tuple(f"inl_{k}" for k in range(1, 2 ** bits))


#: ramp-test density: transition levels resolved to half an LSB
ADC_SAMPLES_PER_CODE = 2


def adc_block(circuit: str, bits: int) -> Block:
    """The ``{circuit}_{bits}b`` block: a ramp test (energy and time per conversion,
    INL/DNL) over the supply, and at 3 bits over the clock period too."""
    # the supply stays above the top reference (SAR 0.8 V, flash and ramp 1.0 V)
    vdd = (0.9 if circuit == "adc_sar" else 1.0, 1.3, 4, "linear")
    ranges: dict[str, Range] = {"vdd": vdd}
    if bits == 3:  # 1.5-15 s per test: the clock axis too
        ranges["t_clk"] = (1e-9, 4e-9, 3, "log")
    return Block(
        f"{circuit}_{bits}b", circuit, ranges=ranges, outputs=ADC_OUTPUTS + inl_outputs(bits),
        fixed=sar_references(bits) if circuit == "adc_sar" else {},
        circuit_args={"adc_bits": bits, "samples_per_code": ADC_SAMPLES_PER_CODE},
        quick_ranges={"vdd": vdd}, samples=4 if bits == 3 else 2, quick_samples=2,
        quick_args={"samples_per_code": 1},  # halves the ramp test; INL/DNL to 1 LSB
        # cycles x t_clk: a straight line in log-log, which grid-linear reproduces exactly
        output_scales={"t_conversion": "log"},
        # 4 supply points (x 3 clock periods at 3 bits): interpolation on the grid; a GP or an
        # MLP scored on 2 held-out points can win by chance there and bend between the nodes
        models=("grid-linear", "grid-cubic"),
        timeout=900.0 * 4 ** max(bits - 6, 0),
        quick=bits in QUICK_ADC_BITS, heavy=bits > FULL_ADC_BITS[circuit],
        why=f"{bits}-bit {circuit.removeprefix('adc_')} ADC, ramp test at {ADC_SAMPLES_PER_CODE} samples per "
            "code: energy and time per conversion, INL and DNL over the supply"
            + (" and the clock period" if bits == 3 else ""),
    )


#: V: the highest supply a wide SAR's weight test holds at, where it is below 1.3 V (none now:
#: 9 bits' code check failed at 1.3 V by superposition alone, 0.26 LSB outside the composed
#: transitions; with the bow (cimspice.circuits.adc_sar_bow) it holds with no slack)
SAR_WEIGHT_VDD_MAX: dict[int, float] = {}


def wide_sar_block(bits: int) -> Block:
    """The ``adc_sar_{bits}b`` block of a SAR from :data:`SAR_WEIGHT_BITS` up, at the sense
    circuit's references (:func:`sar_references`): the weight test
    (:mod:`cimspice.circuits.adc_sar_weights`) over the supply, from v_cm + half the range
    (1.1 V), where the top plate stays inside the supply and the test holds, to 1.3 V, on 4
    nodes like the ramp-tested converters (the fit needs more than 3); to
    :data:`SAR_WEIGHT_VDD_MAX` where the test stops holding below 1.3 V."""
    vdd = (1.1, SAR_WEIGHT_VDD_MAX.get(bits, 1.3), 4, "linear")
    weights = ("offset", "decision_offset") + tuple(f"weight_err_{j}" for j in range(1, bits + 1)) \
        + adc_sar_bow.outputs(bits)
    return Block(
        f"adc_sar_{bits}b", "adc_sar", ranges={"vdd": vdd}, fixed=sar_references(bits), outputs=ADC_OUTPUTS + weights,
        tolerances=dict.fromkeys(weights + ("inl_max", "dnl_max"), SAR_WEIGHT_TOLERANCE),
        circuit_args={"adc_bits": bits, "bench": "weights"}, samples=2, quick_samples=2,
        output_scales={"t_conversion": "log"}, models=("grid-linear", "grid-cubic"),
        timeout=900.0 * 2 ** max(bits - 7, 0),
        quick=bits in QUICK_ADC_BITS, heavy=bits > FULL_ADC_BITS["adc_sar"],
        why=f"{bits}-bit SAR ADC, weight test ({bits + 11} conversions, and 8 x 3 to bisect its decision "
            "offset): energy and time per conversion, the bit weights and offsets that compose its absolute "
            "transitions, INL and DNL over the supply"
            + (f"; {len(residue_codes(bits)) - bits - 1} more conversions for the transfer's bow"
               if adc_sar_bow.outputs(bits) else ""),
    )


def _adcs() -> list[Block]:
    blocks = []
    for circuit, top in ADC_MAX_BITS.items():
        for bits in SAR_RESOLUTIONS if circuit == "adc_sar" else ADC_RESOLUTIONS:
            if bits <= top:
                wide = circuit == "adc_sar" and bits >= SAR_WEIGHT_BITS
                blocks.append(wide_sar_block(bits) if wide else adc_block(circuit, bits))
    return blocks


# ---------------------------------------------------------------------------- nonlinear units
#: segments of the PWL unit (its default)
PWL_SEGMENTS = 8

def pwl_blocks(function: str) -> list[Block]:
    """The PWL unit programmed for ``function``: its transfer (DC, dense in x) and its
    timing bench (energy and latency per evaluation, 1-3 s a point, so fewer points).

    The timing depends on the comparators' overdrive, i.e. on the distance of x to the
    nearest segment breakpoint: it alternates between the breakpoints and the segments'
    middles, the nodes of the timing grid (2 * segments + 1 points)."""
    lo, hi = FUNCTIONS[function][1]
    transfer = Block(
        f"pwl_{function}", "pwl_unit", circuit_args={"function": function, "timing": False},
        ranges={"x": (lo, hi, 65, "linear")}, quick_ranges={"x": (lo, hi, 17, "linear")},
        outputs=("y", "i_out"), samples=40, quick_samples=8,
        why=f"the reprogrammable PWL unit's {function} transfer over its input range",
    )
    timing = Block(
        f"pwl_{function}_timing", "pwl_unit", circuit_args={"function": function},
        ranges={"x": (lo, hi, 2 * PWL_SEGMENTS + 1, "linear")}, quick_ranges={"x": (lo, hi, 5, "linear")},
        outputs=("energy", "latency"), samples=8, quick_samples=2, quick=function == "sigmoid",
        why=f"the PWL unit's energy and latency per {function} evaluation over its input range",
    )
    return [transfer, timing]


# ---------------------------------------------------------------------------- pooling
_V_AVG = (0.0, 0.3, 4, "linear")
_V_MAX = (0.5, 1.1, 5, "linear")
AVG_POOL = Block(
    "avg_pool", "avg_pool", corners=False,
    # g linear: the column's current, and so its energy, is linear in the conductance (in
    # log10(g) the energy is an exponential no family fitted to 1 % RMS)
    ranges={**{f"v_{i}": _V_AVG for i in range(4)}, "g": (1e-6, 1e-4, 3, "linear")},
    quick_ranges={f"v_{i}": (0.0, 0.3, 3, "linear") for i in range(4)},
    outputs=("y", "energy"), samples=60, quick_samples=10,
    why="average pooling of 4 inputs on a resistive column (passive: no process corner)",
)
MAX_POOL = Block(
    "max_pool", "max_pool",
    ranges={f"v_{i}": _V_MAX for i in range(4)},
    quick_ranges={f"v_{i}": (0.5, 1.1, 3, "linear") for i in range(4)},
    outputs=("y", "energy"), samples=60, quick_samples=10,
    why="max pooling of 4 inputs by a source-follower winner-take-all",
)

# ---------------------------------------------------------------------------- input drivers
WL_DRIVER = Block(
    "wl_driver", "wl_driver",
    # at the circuit's default row conductance, the baseline row (64 cells, 3.2 mS): the
    # simulator counts the cells' and wires' energy from the currents (sum V I t_read), so the
    # driver's own share (energy_driver) is what a pulse adds; r_out is the source resistance
    # in front of the row. Over g_row as a fifth axis (1 nS..6.4 mS, 4 log points) the
    # driver share fitted to 8 %FS RMS only: a difference of two large energies
    ranges={"v_read": (0.1, 0.3, 5, "linear"), "c_row": (1e-14, 1e-12, 7, "log"),
            "vdd": (1.0, 1.2, 3, "linear")},
    quick_ranges={"v_read": (0.1, 0.3, 3, "linear"), "c_row": (1e-14, 1e-12, 3, "log"),
                  "vdd": (1.0, 1.2, 2, "linear")},
    outputs=("energy_driver", "settling_time", "r_out"), samples=40, quick_samples=8,
    why="the bit-serial word-line driver (tapered chains switching a read rail onto the row): its own "
        "energy per pulse, far-end settling and output resistance over read voltage, row capacitance and "
        "supply, on the baseline row's 3.2 mS of cells",
)
# The multi-level row DACs (dac_{bits}b, integer `code`): cimspice.library.dac_blocks
DRIVERS: tuple[Block, ...] = (WL_DRIVER,)


# ---------------------------------------------------------------------------- associative processor
#: row widths (bits) of the CAM-row blocks: the points of the width law
#: (cimspice.library.width_law), which prices the studies' wider rows (367, 961 bits).
#: 0.3-4 s a point (8-128 bits); a 256-bit point takes ~8 s and is left to the bench.
CAM_WIDTHS = (8, 16, 32, 64, 128)
#: the array the rows sit in, and the columns a compare drives: the ternary study's
CAM_ROWS, CAM_ACTIVE_BITS = 256, 3
CAM_OUTPUTS = ("energy_match", "energy_mismatch", "energy_write_cell", "energy_write_bit_line", "t_search")


def cam_block(word_bits: int) -> Block:
    """The ``cam_row_{word_bits}b`` block: one compare (match, 1-bit mismatch) and one
    write per point, over the supply (nominal 1.1 V a grid node: the width law's point)."""
    return Block(
        f"cam_row_{word_bits}b", "cam_row",
        circuit_args={"word_bits": word_bits, "rows": CAM_ROWS, "active_bits": CAM_ACTIVE_BITS},
        ranges={"vdd": (0.9, 1.2, 7, "linear")}, quick_ranges={"vdd": (0.9, 1.2, 4, "linear")},
        outputs=CAM_OUTPUTS, samples=4, quick_samples=2, quick=word_bits == CAM_WIDTHS[0],
        # smooth 1-D curves on 4-7 nodes: the grid interpolants pass through the measured
        # nodes (the width law reads the nominal-supply node), where an MLP or GP on so few
        # points only adds fit time
        models=("grid-linear", "grid-cubic"),
        why=f"a {word_bits}-bit NOR CAM row of the associative processor in a {CAM_ROWS}-row array, "
            f"{CAM_ACTIVE_BITS} active columns: energy per compare (match, 1-bit mismatch), per write "
            "(cell flip, bit-line swing) and the mismatch's sense delay over the supply",
    )


# Not here: the 1R cell (a crossbar option, not a registered single-cell circuit).


def _catalogue() -> dict[str, Block]:
    from .dac_blocks import DACS  # it builds on Block, defined above

    blocks = [CELL, TIA, TIA_ARRAY, SENSE_AMP, INTEGRATOR, SAMPLE_HOLD, STRONGARM, *_adcs(),
              *(b for f in FUNCTIONS for b in pwl_blocks(f)), AVG_POOL, MAX_POOL, *DRIVERS, *DACS,
              *(cam_block(w) for w in CAM_WIDTHS)]
    return {b.name: b for b in blocks}


#: block name -> Block, in build order
CATALOGUE: Mapping[str, Block] = _catalogue()


def select(catalogue: Mapping[str, Block], only=None, *, quick: bool = False) -> list[Block]:
    """The blocks of a build: ``only`` names blocks or circuits (a circuit name selects
    each of its blocks in the build); without it, every block of a full build (heavy ones
    excepted) or of a ``--quick`` build. An unknown name raises :class:`LibraryError`."""
    default = [b for b in catalogue.values() if not b.heavy and (b.quick or not quick)]
    if not only:
        return default
    chosen: dict[str, Block] = {}
    for name in only:
        if name in catalogue:
            chosen[name] = catalogue[name]
            continue
        matches = [b for b in default if b.circuit == name]
        if not matches:
            raise LibraryError(f"library build: --only {name}: no such block or circuit in the catalogue "
                               f"(blocks: {', '.join(catalogue)})")
        chosen.update((b.name, b) for b in matches)
    return [b for b in catalogue.values() if b.name in chosen]
