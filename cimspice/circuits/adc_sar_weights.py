"""The weight test of a wide SAR ADC: energy, time and INL/DNL from N + 11 conversions (and
64 more from 7 bits).

The ramp test (:meth:`~cimspice.circuits.adc_base.ADC.simulate`) converts 2 inputs per code:
512 conversions at 8 bits, 2048 at 10, each 1.5-2.5 s of ngspice here. This test converts
``N + 11`` in one transient and gives the same figures, on these grounds.

**Transitions by superposition.** In a binary-weighted charge-redistribution SAR the top
plate X floats during the conversion, so its charge, set when the top-plate switch opened,
is conserved. When the DAC holds code ``k`` the comparator decides at ``V_X = v_cm + V_os``:
the same top-plate voltage for every k, so the charge on the top plate's nonlinear
parasitics (switch junctions, comparator gate) is the same at every decision and drops
out. The transition of code k is then linear in its bits::

    T_k = c + sum_j b_j(k) * (2**j + e_j)          (LSB)

with ``e_j`` the error of bit j's weight and ``c`` an offset. The critical trial of T_k (the
one that decides its lowest set bit) runs with the DAC at exactly k, so the N + 1
transitions ``T_1, T_2, T_4, .. T_{2**(N-1)}`` and ``T_{2**N - 1}`` fix ``c`` and every
``e_j``, and compose all ``2**N - 1``. That holds while the transfer's only errors are the
DAC's weights; a smooth error of the sampled input (the *bow*, 0.3-0.4 mV here) is not a
weight error, and superposition spreads it over the weights, 0.10 LSB wrong at 8 bits and 0.43-
0.49 at 10. From 7 bits the test therefore also reads 64 more transitions spread over the
range and fits weights and bow together (:mod:`.adc_sar_bow`): 64 + N + 11 conversions.

**Each transition from one conversion.** A conversion of the input ``v = k LSB`` (the ideal
level) reaches the critical trial with the DAC at k; the comparator's differential input
``d = V_X - V_Y`` just before its clock edge is the residue, and ``V_X`` falls by
``alpha`` volts per volt of input (the DAC's share of the top plate's capacitance, ~0.96
here), so ``T_k = k + d / (alpha LSB)``. ``alpha`` comes from one more conversion at
``k + 1/4 LSB`` (the MSB's). The residues are a few mV, where the top plate is linear.

Where it holds: while X stays inside the supply, ``vdd >= v_cm + (v_ref_hi - v_ref_lo)/2``
(the MSB trial of a zero input lifts X by half the range). Below, X forward-biases the
top-plate switch's junctions and leaks: at vdd 0.9 V the 5-bit ramp test (4 samples per code)
puts T_1 .. T_5 0.25-1 LSB low, an error of the input level no set of bit weights fits
(0.64 LSB residual). :func:`check` refuses such points. The residues also cannot see a
comparator that has not decided when its bit is stored: at a 0.6 ns clock the 5-bit ramp
test finds every even transition 1 LSB low (DNL 1) while the residues are exact. So the
codes of the 10 conversions off the transitions (the energy inputs, half an LSB from any
ideal transition, and the alpha input) must be those the composed transitions give, or
the point is refused (:func:`code_slack`) when they sit more than CODE_SLACK = 0.25 LSB
(half the ramp test's resolution) outside those transitions. By superposition alone they sat
up to 0.27 LSB outside at 9-10 bits (the bow, which :mod:`.adc_sar_bow` now fits).

**Energy and time per conversion.** The simulator prices every conversion alike, so the
figure is the mean over the inputs it converts; the ramp test's (the shipped 3-6-bit
blocks) is the mean over a uniform input, and so is this one's, from 8 conversions: one
input in each eighth of the range (the top 3 bits enumerated), the lower bits set by an
orthogonal pattern (0101.., 1010.., 0000.., 1111.. in turn) so that each is 1 in half of
them and each pair of neighbouring bits takes all four values equally often. A
conversion's energy depends on its bits (the reference charge of binary switching,
Ginsburg and Chandrakasan, JSSC 2007, set mostly by the top bits; the switch drivers and
comparator, the larger share here, by each bit kept: odd codes cost 1 % more than even ones
at 5 bits) and on the previous conversion's (the reset). A charge-redistribution model of
the reference energy puts these 8 codes' mean on the all-code mean at 5-10 bits (to 1e-4);
against the per-code energies of a 5-bit ngspice ramp at 1.1 V they are 0.03 % off (the 8
stratum centres, all even codes: 0.9 %). The 8 run as a cycle after a warm-up conversion
at the last one's level, and only their 8 clock periods are integrated: every conversion
pays its own reset from its predecessor, and the charge the v_cm source gives the top plate
at each new sample, C (v_new - v_old), sums to zero around the cycle.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from . import adc_metrics, adc_sar_bow
from .base import CircuitError, Measured, Measurement
from .waveforms import supply_energy

#: energy conversions: one per eighth of the range (module docstring)
ENERGY_STRATA = 8
#: input step (LSB) of the conversion that measures alpha
ALPHA_STEP = 0.25
#: where the residue is read: this fraction of a clock cycle before the comparator's edge
READ_BEFORE_EDGE = 0.03
#: largest distance (LSB) between the transitions the codes show and the composed ones:
#: half the ramp test's resolution at 2 samples per code (code_slack)
CODE_SLACK = 0.25
#: the decision offset's bisection: from +-DECISION_BRACKET LSB around the composed levels,
#: DECISION_STEPS halvings (resolution 2 * 0.5 / 2**8 = 0.004 LSB, a tenth of the 3-6-bit
#: SARs' measured offset), the three levels of :func:`decision_codes` in one transient a step
DECISION_BRACKET, DECISION_STEPS = 0.5, 8
#: largest spread (LSB) of the decision offset over those levels: beyond, the comparator's
#: threshold is not one shift shared by every transition and the composition does not hold
DECISION_SPREAD = 0.1


def measurements(bits: int) -> tuple[Measurement, ...]:
    return (
        Measurement("energy_per_conversion", "J", "supply, reference and clock-buffer energy per conversion, "
                    "mean of 8 balanced inputs"),
        Measurement("t_conversion", "s", "time per conversion (clock cycles x t_clk)"),
        Measurement("inl_max", "LSB", "largest |INL|, endpoint line, of the superposed transitions"),
        Measurement("dnl_max", "LSB", "largest |DNL| of the superposed transitions"),
        Measurement("offset_error", "LSB", "first transition level minus its ideal value (absolute transitions)"),
        Measurement("gain_error", "LSB", "span of the transitions minus the ideal span"),
        Measurement("offset", "LSB", "c: the shift every transition shares (T_k = c + sum_j b_j (2**j + e_j)), "
                    "from the residues"),
        Measurement("decision_offset", "LSB", "where the comparator decides against where its input crosses: "
                    "converted transitions (bisected) minus the residues' composition; absolute transitions "
                    "T_k = offset + decision_offset + sum_j b_j (2**j + e_j)"),
        Measurement("code_slack", "LSB", "how far the codes of the 10 conversions off the transitions put "
                    "them from the composed ones, at least (refused above 0.25)"),
    ) + tuple(Measurement(f"weight_err_{j + 1}", "LSB", f"error of bit {j}'s weight 2**{j} (weight_err_1: the LSB)")
              for j in range(bits)) + tuple(
        Measurement(name, "LSB", f"the transfer's bow (smooth error of the input level, beside the bit weights): "
                    f"its coefficient of the Legendre polynomial of degree {name[5:]} (cimspice.circuits.adc_sar_bow)"
                    if name != "bow_misfit" else "largest misfit of the composed transfer at a measured residue")
        for name in adc_sar_bow.outputs(bits))


def key_codes(bits: int) -> list[int]:
    """The codes whose transitions are measured: the MSB first (alpha is measured next to it),
    the other powers of two, and all ones."""
    return [2 ** (bits - 1), *(2 ** j for j in range(bits - 1)), 2 ** bits - 1]


def energy_codes(bits: int) -> list[int]:
    """The codes of the energy conversions: the top 3 bits enumerated, the lower ones in
    the orthogonal pattern 0101.., 1010.., 0000.., 1111.. (module docstring)."""
    low = max(bits - 3, 0)
    full = (1 << low) - 1
    alt = int("01" * low, 2) & full if low else 0
    patterns = (alt, full ^ alt, 0, full)
    return [(m * 2 ** bits) // ENERGY_STRATA + patterns[m % 4] for m in range(ENERGY_STRATA)]


def residue_codes(bits: int) -> list[int]:
    """The transitions read from residues: :func:`key_codes`, then from
    :data:`~.adc_sar_bow.BOW_BITS` up the scanned ones not among them (:func:`~.adc_sar_bow.scan_codes`)."""
    keys = key_codes(bits)
    scan = adc_sar_bow.scan_codes(bits) if bits >= adc_sar_bow.BOW_BITS else []
    return keys + [k for k in scan if k not in keys]


def input_levels(bits: int) -> list[float]:
    """The test's inputs as fractions of the range (v_ref_hi - v_ref_lo) above v_ref_lo, in
    order: a warm-up at the last energy code, the energy codes (their centres), then each
    transition of :func:`residue_codes` (the MSB's twice, the second ALPHA_STEP higher)."""
    codes = energy_codes(bits)
    energy = [(c + 0.5) / 2 ** bits for c in [codes[-1], *codes]]
    res = residue_codes(bits)
    return energy + [k / 2 ** bits for k in (res[0], res[0] + ALPHA_STEP, *res[1:])]


def expressions(bits: int) -> list[str]:
    """:func:`input_levels` as netlist expressions of v_ref_lo and v_ref_hi."""
    return [f"{{v_ref_lo+{f!r}*(v_ref_hi-v_ref_lo)}}" for f in input_levels(bits)]


def superposed_levels(weight_err, offset: float = 0.0, bow=None) -> np.ndarray:
    """Transition levels (LSB), (2**N - 1,): ``T_k = offset + sum_j b_j(k) (2**j + e_j)``
    for the N weight errors ``e_j`` (LSB, bit 0 first), plus the bow of ``bow``'s
    coefficients (LSB, :func:`.adc_sar_bow.bow_at`) when given."""
    e = np.asarray(weight_err, dtype=np.float64)
    k = np.arange(1, 2 ** e.size)
    bits = (k[:, None] >> np.arange(e.size)) & 1          # (2**N - 1, N)
    levels = offset + bits @ (2.0 ** np.arange(e.size) + e)
    return levels if bow is None else levels + adc_sar_bow.bow_at(bow, e.size)


def solve_weights(levels: Mapping[int, float], bits: int) -> tuple[float, np.ndarray]:
    """``(c, e)`` from the measured transitions ``{k: T_k}`` (LSB) of :func:`key_codes`:
    ``T_{2**j} = c + 2**j + e_j`` and ``T_{2**N - 1} = c + sum_j (2**j + e_j)``."""
    single = np.array([levels[2 ** j] - 2 ** j for j in range(bits)])   # c + e_j
    c = (single.sum() - (levels[2 ** bits - 1] - (2 ** bits - 1))) / (bits - 1)
    return float(c), single - c


def check(adc, p: Mapping[str, float]) -> None:
    """Refuse a point where the top plate would rise above the supply (module docstring)."""
    top = p["v_cm"] + (p["v_ref_hi"] - p["v_ref_lo"]) / 2
    if p["vdd"] < top - 1e-12:
        raise CircuitError(f"{adc.name}: the weight test needs vdd >= v_cm + (v_ref_hi - v_ref_lo)/2 = {top:g} V "
                           f"(got vdd={p['vdd']:g} V): below, the top plate leaks through the switches' junctions "
                           "and only a ramp test (bench: ramp) measures the transfer")


def code_slack(adc, codes: np.ndarray, levels: np.ndarray, p: Mapping[str, float]) -> float:
    """How far (LSB) the codes of the conversions off the transitions (all but the key ones)
    put the transitions from the composed ones ``levels`` (LSB), at least: 0 when each input
    ``u`` lies between the composed transitions of its code m, ``T_m <= u < T_{m+1}``,
    else the largest distance outside. The residues see the comparator's input, the codes
    where it decides; the composition must hold both. Above CODE_SLACK the comparator decides
    against its input, or the composition misses the transfer (module docstring): refused."""
    n = adc.adc_bits
    u = np.array(input_levels(n)) * 2 ** n                 # inputs in LSB above v_ref_lo
    off = np.r_[np.arange(ENERGY_STRATA + 1), ENERGY_STRATA + 2]   # energy inputs and the alpha one
    t = np.r_[-np.inf, levels, np.inf]
    m = codes[off]
    outside = np.maximum(t[m] - u[off], u[off] - t[m + 1])
    slack = max(0.0, float(np.max(outside)))
    if slack > CODE_SLACK:
        i = off[int(np.argmax(outside))]
        raise CircuitError(f"{adc.name}: at {dict(p)} the input {u[i]:g} LSB gave code {codes[i]}, {slack:.2g} LSB "
                           f"outside it by the transitions the bit weights compose (at most {CODE_SLACK}): the "
                           "comparator does not decide as its input says (a clock too fast?); the weight test "
                           "does not hold, use the ramp test (bench: ramp)")
    return slack


def _residues(adc, r, p: Mapping[str, float], first_slot: int) -> np.ndarray:
    """``V_X - V_Y`` (V) just before the critical trial's comparator edge, for each
    conversion at a transition (slots from ``first_slot``, codes as in :func:`input_levels`)."""
    n, t_clk = adc.adc_bits, p["t_clk"]
    res = residue_codes(n)
    codes = [res[0], res[0], *res[1:]]
    out = []
    for s, k in enumerate(codes, start=first_slot):
        bit = (k & -k).bit_length() - 1                   # the lowest set bit: decided last
        t = (s * (n + 1) + n - bit + 0.5 - READ_BEFORE_EDGE) * t_clk
        out.append(np.interp(t, r["time"], r["v(x)"]) - np.interp(t, r["time"], r["v(y)"]))
    return np.array(out)


def simulate(adc, engine, p: Mapping[str, float]) -> Measured:
    """The weight test at the checked point ``p`` (module docstring)."""
    check(adc, p)
    if adc._loaded_text != adc.netlist():
        adc.load(engine)
    adc._apply(engine, p)
    n, t_clk = adc.adc_bits, p["t_clk"]
    fractions = input_levels(n)
    t_conv = adc.cycles_per_conversion() * t_clk
    step = min(t_clk / 20, 100e-12)
    supplies = adc._supplies()
    r = engine.tran(step, len(fractions) * t_conv + t_clk / 2, max_step=step,
                    vectors=["time", "v(x)", "v(y)", *adc._vectors(), *(f"i({s})" for s, _ in supplies)])
    m = ENERGY_STRATA   # conversions 1 .. m (0 is the warm-up)
    energy = sum(supply_energy(r["time"], p[v], -r[f"i({s})"], start=t_conv, stop=(m + 1) * t_conv)
                 for s, v in supplies)
    q = (p["v_ref_hi"] - p["v_ref_lo"]) / 2 ** n
    d = _residues(adc, r, p, m + 1)
    alpha = (d[0] - d[1]) / (ALPHA_STEP * q)
    if not 0.5 < alpha < 1.05:
        raise CircuitError(f"{adc.name}: the top plate moved {alpha:.3g} V per V of input at {dict(p)}: "
                           "not a working charge-redistribution DAC")
    levels = {k: k + r_k / (alpha * q) for k, r_k in zip(residue_codes(n), np.delete(d, 1))}
    bow, extra = None, {}
    if n >= adc_sar_bow.BOW_BITS:
        c, e, bow, misfit = adc_sar_bow.fit(levels, n)
        if misfit > adc_sar_bow.BOW_FIT_MAX:
            raise CircuitError(f"{adc.name}: at {dict(p)} the bit weights and the bow miss a measured transition by "
                               f"{misfit:.3g} LSB (at most {adc_sar_bow.BOW_FIT_MAX}): the transfer is not smooth "
                               "beside its bit weights; use the ramp test (bench: ramp)")
        extra = {**dict(zip(adc_sar_bow.coefficients(), map(float, bow))), "bow_misfit": misfit}
    else:
        c, e = solve_weights(levels, n)
    codes = adc._decode(r, len(fractions), p)
    residues = superposed_levels(e, c, bow)
    code_slack(adc, codes, residues, p)   # a comparator that does not follow its input: refused first
    shift = decision_offset(adc, engine, p, residues)
    composed = superposed_levels(e, c + shift, bow)
    slack = code_slack(adc, codes, composed, p)
    out = dict(energy_per_conversion=energy / m, t_conversion=t_conv, offset=c, decision_offset=shift,
               code_slack=slack, **{f"weight_err_{j + 1}": float(v) for j, v in enumerate(e)}, **extra)
    out.update(_static(composed, n))
    return Measured(out, r.status, r.aids)


def decision_codes(bits: int) -> list[int]:
    """The transitions whose converted levels fix the decision offset: the first, the MSB's
    and the last (each decided at a different trial, with every bit, the top one or none
    set below it)."""
    return [1, 2 ** (bits - 1), 2 ** bits - 1]


def decision_offset(adc, engine, p: Mapping[str, float], composed: np.ndarray) -> float:
    """LSB by which the converted transitions sit from the residues' composition ``composed``
    (LSB above v_ref_lo, (2**N - 1,)): the levels of :func:`decision_codes` bisected through
    whole conversions.

    The residues are read just before the comparator's edge, so they cannot see what moves
    the decision after it: measured at 1.1 V, the 3-6-bit SARs convert 0.08-0.09 LSB below
    the composed levels at every transition (a fixed charge on the top plate, whose
    capacitance, 2**N units, scales like the LSB), which a 16x8 layer against ngspice shows
    as 7 % of its codes one lower (docs/validation.md)."""
    n = adc.adc_bits
    k = np.array(decision_codes(n))
    lo, hi = p["v_ref_lo"], p["v_ref_hi"]
    q = (hi - lo) / 2 ** n
    a0 = lo + (composed[k - 1] - DECISION_BRACKET) * q
    b0 = lo + (composed[k - 1] + DECISION_BRACKET) * q
    level = adc.bisect_levels(engine, k, a0, b0, p, DECISION_STEPS)
    if np.any(np.minimum(level - a0, b0 - level) < (b0 - a0) / 2 ** DECISION_STEPS):
        raise CircuitError(f"{adc.name}: at {dict(p)} a converted transition of {k.tolist()} lies more than "
                           f"{DECISION_BRACKET} LSB from the bit weights' composition: the weight test does not "
                           "hold there, use the ramp test (bench: ramp)")
    shift = (level - lo) / q - composed[k - 1]
    if np.ptp(shift) > DECISION_SPREAD:
        raise CircuitError(f"{adc.name}: at {dict(p)} the converted transitions {k.tolist()} sit "
                           f"{np.round(shift, 3).tolist()} LSB from the composition, not one shared shift (spread "
                           f"> {DECISION_SPREAD} LSB): the weight test does not hold, use the ramp test (bench: ramp)")
    return float(np.mean(shift))


def _static(levels: np.ndarray, bits: int) -> dict[str, float]:
    """inl_max, dnl_max (endpoint), offset_error and gain_error of transition levels in LSB."""
    dnl, inl = adc_metrics.dnl_inl(levels, method="endpoint")
    ideal = np.arange(1, 2 ** bits)
    return dict(inl_max=float(np.max(np.abs(inl))), dnl_max=float(np.max(np.abs(dnl))),
                offset_error=float(levels[0] - 1), gain_error=float((levels[-1] - levels[0]) - (ideal[-1] - ideal[0])))
