"""Sense circuits and ADCs between a crossbar's columns and the digital side.

Both are interfaces with an ideal implementation now; the SPICE-characterized surrogates
(measured gain, offset, INL) plug in behind the same calls:

- :class:`SenseModel` ``sense(i)``: differential column current (A) -> the quantity the
  ADC converts (same units as its full scale; the ideal sense passes the current through).
- :class:`AdcModel` ``convert(x, lsb)``: -> signed integer codes (as floats) in
  ``[-code_max, code_max]``; ``lsb`` is the input step of one code, broadcast against ``x``
  (one value per column: every array has its own range).

The characterized sense circuit plugs in as :class:`SurrogateSense` (``sense.type:
surrogate``, library key ``sense.surrogate``). Contract with its surrogate: **one input, the
differential column current flowing into the sense circuit (A); one output, the voltage it
hands to the ADC (V)**: the transfer of a TIA (``cimspice sweep`` of circuit ``tia`` over
``i_in``, output ``v_out``, then ``cimspice fit``). ``sense(i)`` returns that voltage referred
back to a current through the design's nominal reference and gain,
``(sense.v_ref - v_out(i)) / sense.transimpedance``, so the ADC's range and LSB stay in
amperes and every departure of the circuit from ``v_ref - i * transimpedance`` (offset,
gain error, compression) reaches the ADC. Currents outside the surrogate's characterized
range are clipped onto it (the output the circuit gives at the edge of its sweep):
characterize beyond the ADC's range. Optionally ``sense.energy`` names a surrogate of the
energy per read (J) with the same input (e.g. ``tia.energy_read``): :meth:`SurrogateSense.energy`.

:func:`adc_from_spec` / :func:`sense_from_spec` build them from a system spec.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np

from .errors import SimError

__all__ = ["AdcModel", "IdealAdc", "IdealSense", "MeasuredAdc", "SenseModel", "SurrogateAdc", "SurrogateSense",
           "adc_from_spec", "sense_from_spec", "superposed_errors", "superposed_inl"]


@runtime_checkable
class SenseModel(Protocol):
    def sense(self, i: np.ndarray) -> np.ndarray: ...


@runtime_checkable
class AdcModel(Protocol):
    bits: int | None

    @property
    def code_max(self) -> float: ...

    def convert(self, x: np.ndarray, lsb) -> np.ndarray: ...


class IdealSense:
    """A virtual-ground sense amplifier that hands the column-pair current to the ADC unchanged."""

    def sense(self, i):
        return i

    def __repr__(self):
        return "IdealSense()"


class IdealAdc:
    """Uniform mid-tread quantiser with ``bits`` of resolution on a symmetric range:
    codes ``round(x / lsb)`` clipped to ``+-(2**(bits-1) - 1)``. ``bits=None`` is an
    infinitely fine converter (codes are ``x / lsb`` unrounded)."""

    def __init__(self, bits: int | None):
        if bits is not None and (int(bits) != bits or bits < 2):
            raise SimError(f"adc.bits: expected an integer >= 2 or null, got {bits!r}")
        self.bits = None if bits is None else int(bits)

    @property
    def code_max(self) -> float:
        return np.inf if self.bits is None else float(2 ** (self.bits - 1) - 1)

    def convert(self, x, lsb):
        if self.bits is None:
            return x / lsb
        c = self.code_max
        y = x / lsb                      # one new array, then in place: millions per inference
        np.rint(y, out=y)
        return np.clip(y, -c, c, out=y)

    def __repr__(self):
        return f"IdealAdc(bits={self.bits})"


class SurrogateAdc(IdealAdc):
    """An ADC whose transfer comes from a fitted surrogate (measured offset and INL).

    Contract with the surrogate: one input, the ADC input as a fraction of full scale
    (``x / (lsb * code_max)``, in [-1, 1]), one output, the code (signed, before rounding).
    Outputs are rounded and clipped like the ideal converter's.
    """

    def __init__(self, bits: int, surrogate):
        super().__init__(bits)
        if len(getattr(surrogate, "inputs", ())) != 1:
            raise SimError(f"adc.surrogate {getattr(surrogate, 'name', surrogate)!r}: needs exactly one input "
                           f"(ADC input as a fraction of full scale), has {getattr(surrogate, 'inputs', None)}")
        self.surrogate = surrogate

    def convert(self, x, lsb):
        c = self.code_max
        u = np.clip(np.asarray(x / (lsb * c), float), -1.0, 1.0)
        codes = np.asarray(self.surrogate.predict(u.reshape(-1, 1), out_of_domain="clip"), float)
        return np.clip(np.rint(codes.reshape(u.shape)), -c, c)


class MeasuredAdc(IdealAdc):
    """An ADC with its measured static transfer: the error at each of its ``2**bits - 1``
    transitions (LSB): absolute (offset and gain kept) for a weight-tested SAR
    (:func:`superposed_errors`), the endpoint INL for a ramp-tested converter.

    The ideal converter's signed code ``round(x / lsb)`` is, on the physical converter's
    unsigned scale ``u = x / lsb + code_max + 1/2``, the number of transitions at or below
    ``u``, ideally at ``k = 1 .. 2**bits - 1``; here they sit at ``k + inl_k``. Codes then
    come back to the signed range ``[-code_max, code_max]`` (the top unsigned code clips,
    as in :class:`IdealAdc`). With every INL zero this is the ideal quantiser.
    """

    def __init__(self, bits: int, inl):
        super().__init__(bits)
        inl = np.asarray(inl, dtype=float)
        if inl.shape != (2 ** self.bits - 1,) or not np.all(np.isfinite(inl)):
            raise SimError(f"adc: a {bits}-bit transfer needs {2 ** self.bits - 1} finite INL values, got "
                           f"shape {inl.shape}")
        self.transitions = np.arange(1, 2 ** self.bits) + inl
        if np.any(np.diff(self.transitions) <= 0):
            raise SimError(f"adc: the measured {bits}-bit transitions do not increase (missing codes larger than "
                           "one LSB); the converter cannot be modelled by its transitions")
        self.inl = inl
        # |INL| < 1/2 LSB: of the transitions only k = rint(u) can fall on either side of u, so
        # one lookup replaces a binary search (3x faster; exact: the same count)
        self._near = np.concatenate([[-np.inf], self.transitions, [np.inf]]) if np.max(np.abs(inl)) < 0.5 else None

    def convert(self, x, lsb):
        c = self.code_max
        u = np.asarray(x / lsb, dtype=float) + (c + 0.5)
        if self._near is None:
            codes = np.searchsorted(self.transitions, u, side="right").astype(u.dtype) - c
        else:
            codes = np.rint(u)
            np.clip(codes, 0.0, len(self._near) - 1.0, out=codes)
            codes += self._near.take(codes.astype(np.intp)) <= u     # transitions <= u: rint(u) - 1 + that
            codes -= c + 1.0
        return np.clip(codes, -c, c, out=codes)

    @classmethod
    def from_weights(cls, weight_err, offset: float | None = None) -> MeasuredAdc:
        """A binary-weighted SAR's transfer from its ``N`` bit-weight errors (LSB, bit 0
        first; a library's ``weight_err_1`` .. ``weight_err_N``): absolute with its ``offset``
        (LSB, :func:`superposed_errors`), else the endpoint INL (:func:`superposed_inl`)."""
        e = np.asarray(weight_err, dtype=float)
        return cls(e.size, superposed_inl(e) if offset is None else superposed_errors(e, offset))

    def __repr__(self):
        return f"MeasuredAdc(bits={self.bits}, max |INL| {np.max(np.abs(self.inl)):.2f} LSB)"


def superposed_inl(weight_err) -> np.ndarray:
    """Endpoint INL (LSB), (2**N - 1,), of a binary-weighted SAR whose bit j weighs
    ``2**j + e_j`` LSB (``weight_err`` (N,), bit 0 first).

    Its DAC holds code k at the critical trial of transition k, so the transition sits at
    the sum of the weights of k's set bits (plus an offset every transition shares, which the
    endpoint line removes): :func:`_superposed_levels`. INL is ``T_k`` against the line
    through ``T_1`` and ``T_{2**N - 1}``, in that line's LSB, as for a ramp-tested block.
    """
    t = _superposed_levels(weight_err)
    step = (t[-1] - t[0]) / (t.size - 1)
    if not step > 0:
        raise SimError(f"adc: bit-weight errors {np.asarray(weight_err).tolist()} leave no positive span between "
                       "the end transitions")
    return (t - (t[0] + step * np.arange(t.size))) / step


def superposed_errors(weight_err, offset: float, bow=None) -> np.ndarray:
    """Absolute transition errors (LSB), (2**N - 1,): ``T_k - k`` with ``T_k = offset +
    sum_j b_j(k) (2**j + e_j) + g(k / 2**N)``, offset and gain error kept (a weight-tested
    SAR's ``offset + decision_offset``: where it really converts, which the endpoint INL of
    :func:`superposed_inl` does not say). ``bow``: the SAR's smooth input error ``g`` (LSB)
    as its coefficients a_2 .. a_D, ``g(u) = sum_p a_p (P_p(2u - 1) - L_p(u))`` with P_p the
    Legendre polynomial and L_p the line through its ends, u = k / 2**N
    (cimspice.circuits.adc_sar_bow); none below 7 bits."""
    if not np.isfinite(offset):
        raise SimError(f"adc: the SAR's offset must be finite, got {offset!r}")
    t = _superposed_levels(weight_err) + float(offset)
    if bow is not None:
        a = np.asarray(bow, dtype=float)
        if a.ndim != 1 or a.size < 1 or not np.all(np.isfinite(a)):
            raise SimError(f"adc: the SAR's bow coefficients must be finite, got {a.tolist()}")
        t = t + _bow(np.arange(1, t.size + 1) / (t.size + 1), a)
    return t - np.arange(1, t.size + 1)


def _bow(u: np.ndarray, a: np.ndarray) -> np.ndarray:
    """``sum_p a_p (P_p(2u - 1) - L_p(u))`` for p = 2 .. len(a) + 1 (LSB)."""
    from numpy.polynomial import legendre

    degree = a.size + 1
    p = legendre.legvander(2 * u - 1, degree)[:, 2:]
    ends = legendre.legvander(np.array([-1.0, 1.0]), degree)[:, 2:]
    return (p - (np.outer(1 - u, ends[0]) + np.outer(u, ends[1]))) @ a


def _superposed_levels(weight_err) -> np.ndarray:
    """``sum_j b_j(k) (2**j + e_j)`` (LSB) for k = 1 .. 2**N - 1, built code by code
    (``T_k = T_{k - 2**j} + w_j`` with j the top bit of k)."""
    e = np.asarray(weight_err, dtype=float)
    if e.ndim != 1 or e.size < 2 or not np.all(np.isfinite(e)):
        raise SimError(f"adc: bit-weight errors must be >= 2 finite values (one per bit), got {e.tolist()}")
    levels = np.zeros(1)                        # T_0 = 0: no bit set
    for w in 2.0 ** np.arange(e.size) + e:      # bit j's weight: the codes with bit j set add it
        levels = np.concatenate([levels, levels + w])
    return levels[1:]


def adc_from_spec(adc_spec, bits: int | None, library: dict | None) -> AdcModel:
    """The ADC of ``adc_spec`` (a :class:`cimspice.sim.spec.AdcSpec`) at ``bits`` resolution."""
    if adc_spec.type == "ideal":
        return IdealAdc(bits)
    surrogate = (library or {}).get(adc_spec.surrogate)
    if surrogate is None:  # spec validation reports this first; kept for direct callers
        raise SimError(f"adc.surrogate: {adc_spec.surrogate!r} is not in the surrogate library")
    return SurrogateAdc(bits, surrogate)


class SurrogateSense:
    """A sense circuit whose transfer comes from a fitted surrogate (module docstring).

    Parameters
    ----------
    surrogate : one input, the column current (A); one output, the voltage to the ADC (V)
    v_ref : float
        Output (V) at zero current of the nominal design (a TIA's reference voltage).
    transimpedance : float
        Nominal gain (ohm): output volts per ampere of column current, magnitude (the TIA
        inverts: ``v_out = v_ref - i * transimpedance``).
    energy : optional surrogate of the energy per read (J), same input
    """

    def __init__(self, surrogate, v_ref: float, transimpedance: float, energy=None):
        for role, s, unit in (("sense.surrogate", surrogate, "V"), ("sense.energy", energy, "J")):
            if s is None:
                continue
            name = getattr(s, "name", s)
            inputs = list(getattr(s, "inputs", ()))
            outputs = list(getattr(s, "outputs", ()))
            if len(inputs) != 1 or len(outputs) != 1:
                raise SimError(f"{role} {name!r}: needs exactly one input (the column current, A) and one output "
                               f"({unit}); has inputs {inputs} and outputs {outputs}")
            units = (list(getattr(s, "input_units", [""]))[0], list(getattr(s, "output_units", [""]))[0])
            if units[0] not in ("", "A") or units[1] not in ("", unit):
                raise SimError(f"{role} {name!r}: expected units A -> {unit}, "
                               f"has {units[0] or '?'} -> {units[1] or '?'}")
        if not (np.isfinite(transimpedance) and transimpedance > 0):
            raise SimError(f"sense.transimpedance: must be > 0 ohm, got {transimpedance!r}")
        self.surrogate, self.energy_surrogate = surrogate, energy
        self.v_ref, self.transimpedance = float(v_ref), float(transimpedance)
        self._tables = {}

    # A 1-D transfer is evaluated on every conversion (millions per inference): tabulate it
    # once on a dense uniform grid and interpolate linearly by index arithmetic (several
    # times faster than a grid-cubic predict or np.interp's search), if the table reproduces
    # the surrogate to 1e-7 of its span halfway between the nodes; a curved table (tia_array's
    # energy at 25 nodes: 1.4e-7 at 4,097 points) gets 4 and then 16 times the points.
    _TABLE_POINTS, _TABLE_TOLERANCE = (4097, 16385, 65537), 1e-7

    def _table(self, surrogate):
        key = id(surrogate)
        if key not in self._tables:
            self._tables[key] = self._tabulate(surrogate)
        return self._tables[key]

    def _tabulate(self, surrogate):
        """``(lo, 1/step, y0, dy, n)`` of the first of :attr:`_TABLE_POINTS` that meets the
        tolerance, or None (a surrogate of more than one input, or too curved)."""
        domain = list((getattr(surrogate, "domain", None) or {}).values())
        lo, hi = (float(v) for v in domain[0]) if len(domain) == 1 else (np.nan, np.nan)
        if not (np.isfinite(lo) and np.isfinite(hi) and hi > lo):
            return None
        for n in self._TABLE_POINTS:
            x = np.linspace(lo, hi, 2 * n - 1)
            y = np.asarray(surrogate.predict(x[:, None], out_of_domain="clip"), np.float64).ravel()
            nodes, mids = y[::2], y[1::2]
            span = np.ptp(y) or 1.0
            if np.max(np.abs(0.5 * (nodes[1:] + nodes[:-1]) - mids)) <= self._TABLE_TOLERANCE * span:
                return lo, (n - 1) / (hi - lo), nodes[:-1].copy(), np.diff(nodes), n
        return None

    @staticmethod
    def _interp(i, table):
        lo, inv_h, y0, dy, n = table
        t = (i.astype(np.float64) - lo) * inv_h
        np.clip(t, 0.0, n - 1.0, out=t)           # outside the domain: the edge values (the clip)
        k = np.minimum(t.astype(np.intp), n - 2)
        t -= k
        return y0[k] + t * dy[k]

    def _eval(self, surrogate, i):
        i = np.asarray(i)
        table = self._table(surrogate)
        if table is not None:
            return self._interp(i, table)
        y = surrogate.predict(i.reshape(-1, 1).astype(np.float64, copy=False), out_of_domain="clip")
        return np.asarray(y, np.float64).reshape(i.shape)

    def sense(self, i):
        """Column currents (A), any shape -> current-referred ADC input (A), same shape and dtype."""
        i = np.asarray(i)
        x = (self.v_ref - self._eval(self.surrogate, i)) / self.transimpedance
        return x.astype(i.dtype, copy=False) if i.dtype.kind == "f" else x

    def energy(self, i) -> float:
        """Energy (J) of the reads of currents ``i`` (A), summed; 0 without an energy surrogate."""
        if self.energy_surrogate is None or np.size(i) == 0:
            return 0.0
        return float(np.sum(self._eval(self.energy_surrogate, i)))

    def __repr__(self):
        return (f"SurrogateSense({getattr(self.surrogate, 'name', self.surrogate)!r}, v_ref={self.v_ref:g}, "
                f"transimpedance={self.transimpedance:g})")


def sense_from_spec(sense_spec, library: dict | None = None) -> SenseModel:
    """The sense model of ``sense_spec`` (a :class:`cimspice.sim.spec.SenseSpec`)."""
    if sense_spec.type == "ideal":
        return IdealSense()
    library = library or {}
    for role, key in (("sense.surrogate", sense_spec.surrogate), ("sense.energy", sense_spec.energy)):
        if key is not None and key not in library:  # the backend reports this first; kept for direct callers
            raise SimError(f"{role}: {key!r} is not in the surrogate library (it has: "
                           f"{', '.join(sorted(library)) or 'none'})")
    energy = library[sense_spec.energy] if sense_spec.energy is not None else None
    return SurrogateSense(library[sense_spec.surrogate], sense_spec.v_ref, sense_spec.transimpedance, energy)
