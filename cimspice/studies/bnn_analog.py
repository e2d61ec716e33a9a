"""The binarized MLP of the input-splitting study read through arrays that are not ideal:
wire resistance (IR drop), the spread of programmed conductances, read noise, and the sense
amplifiers' input offset.

Mapping (as :mod:`.bnn_costs` prices it): a +1 input drives its word line at ``v_read``, a -1
input leaves it at 0 V; a +-1 weight is a column pair (``g_on`` / ``g_off``, and the reverse
for -1), pairs side by side, so an array of ``rows`` x ``rows`` cells holds ``rows / 2``
outputs. A pair's current difference for input bits ``b`` is ``D = v_read (g_on - g_off)
sum_i b_i w_i``, so the partial sum of the +-1 products is ``z = 2 D / (v_read (g_on -
g_off)) - sum_i w_i`` (the second term a per-column constant: the digital side knows the
weights). Here every read computes ``D`` from the programmed cells instead:

- **programming spread**: each cell ``G * exp(sigma N(0, 1))``, drawn once (the simulator's
  ``programming_error: relative``);
- **IR drop**: each array's exact linear transfer matrix with its wires
  (:meth:`cimspice.sim.crossbar.CrossbarSolver.transfer_matrix`, ideal drivers and virtual
  grounds), applied as the fraction ``W / G`` of each cell's current that reaches its sense
  node. It is computed on the nominal conductances and applied to the programmed ones (the
  fraction moves by the product of the spread and the drop, ~0.1 % here);
- **read noise**: each cell's current with relative std ``read_noise_sigma``, independent per
  read (the simulator's ``read_noise_sigma``);
- **sense-amplifier offset**: each amplifier's input-referred current offset, drawn once per
  amplifier (a mismatch, not a noise: the same for every read), from the sigma measured by a
  Monte Carlo of the transistor-level amplifier in ngspice at the column's current
  (:func:`sense_offset_sigma`). The ADCs of the partial-sum design convert the noisy sums
  with their ideal transfer (the library's SARs' measured INL is below 0.3 LSB).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..sim.crossbar import CrossbarSolver
from .bnn import BinaryMLP, Readout, _sign, tiles_of

__all__ = ["NONIDEAL_CASES", "ArrayReads", "Nonidealities", "program", "sense_offset_sigma"]

#: The input-splitting study's cases: no non-ideality, each alone, all together (report order).
NONIDEAL_CASES = ("ideal", "IR drop", "programming spread", "read noise", "sense-amplifier offset", "all of them")


@dataclass(frozen=True)
class Nonidealities:
    """What the arrays do wrong. ``r_wire``: ohm per wire segment, rows and columns (0: no IR
    drop); ``programming_sigma``: lognormal std of each cell's conductance;
    ``read_noise_sigma``: relative std of each cell's read current; ``sa_offset``: A, std of
    each sense amplifier's input-referred current offset."""

    r_wire: float = 0.0
    programming_sigma: float = 0.0
    read_noise_sigma: float = 0.0
    sa_offset: float = 0.0

    @property
    def ideal(self) -> bool:
        return not (self.r_wire or self.programming_sigma or self.read_noise_sigma or self.sa_offset)


class ArrayReads:
    """One layer of a :class:`~.bnn.BinaryMLP` programmed on arrays of ``rows`` rows, cut into
    ``tiles`` row slices (the layer's groups when split); see the module docstring.

    Attributes
    ----------
    offset : (tiles, n_out) each sense amplifier's offset in units of the partial sum
    """

    def __init__(self, layer, tiles: int, rows: int, hw, nonideal: Nonidealities, rng: np.random.Generator,
                 attenuation: list | None = None):
        self.hw, self.nonideal, self.rng = hw, nonideal, rng
        self.unit = hw.partial_sum_unit()    # A per unit of the partial sum
        wb = _sign(layer.w).astype(np.float64)
        self.slices = layer.slices(tiles)
        self.attenuation = attenuation if attenuation is not None else \
            [_attenuation(wb[s], rows, hw, nonideal.r_wire) for s in self.slices]
        self.g_plus, self.g_minus, self.w_sum = [], [], []
        for s in self.slices:
            gp = np.where(wb[s] > 0, hw.g_on, hw.g_off)
            gm = np.where(wb[s] > 0, hw.g_off, hw.g_on)
            if nonideal.programming_sigma > 0:
                gp = gp * np.exp(nonideal.programming_sigma * rng.standard_normal(gp.shape))
                gm = gm * np.exp(nonideal.programming_sigma * rng.standard_normal(gm.shape))
            self.g_plus.append(gp)
            self.g_minus.append(gm)
            self.w_sum.append(wb[s].sum(axis=0))
        self.offset = (rng.standard_normal((tiles, layer.n_out)) * (nonideal.sa_offset / self.unit)
                       if nonideal.sa_offset > 0 else np.zeros((tiles, 1)))

    def sums(self, a) -> np.ndarray:
        """Partial sums (batch, tiles, n_out) of +-1 inputs ``a`` (batch, n_in) as read."""
        v, sigma = self.hw.v_read, self.nonideal.read_noise_sigma
        out = []
        for s, gp, gm, (ap, am), w_sum in zip(self.slices, self.g_plus, self.g_minus, self.attenuation, self.w_sum):
            b = (np.asarray(a)[:, s] > 0).astype(np.float64)
            d = v * (b @ (gp * ap - gm * am))                       # A
            if sigma > 0:
                d += v * sigma * np.sqrt(b @ (gp * gp + gm * gm)) * self.rng.standard_normal(d.shape)
            out.append(d / self.unit - w_sum)
        return np.stack(out, axis=1)


def _attenuation(wb, rows: int, hw, r_wire: float) -> tuple[np.ndarray, np.ndarray]:
    """(plus, minus) fractions (r, n_out) of each cell's current that reach its sense node,
    for the weights ``wb`` (r, n_out) of one row slice on arrays of ``rows`` columns (pairs
    side by side: output j on columns 2j and 2j + 1 of its array)."""
    r, n_out = wb.shape
    if r_wire <= 0:
        return np.ones((r, n_out)), np.ones((r, n_out))
    G = np.empty((r, 2 * n_out))
    G[:, 0::2] = np.where(wb > 0, hw.g_on, hw.g_off)
    G[:, 1::2] = np.where(wb > 0, hw.g_off, hw.g_on)
    frac = np.empty_like(G)
    for c0 in range(0, 2 * n_out, rows):
        block = G[:, c0:c0 + rows]
        solver = CrossbarSolver(r, block.shape[1], r_wire=r_wire)
        frac[:, c0:c0 + rows] = solver.transfer_matrix(block) / block
    return frac[:, 0::2], frac[:, 1::2]


def program(net: BinaryMLP, readout: Readout, hw, nonideal: Nonidealities, seed: int = 0,
            attenuation: list | None = None) -> list[ArrayReads]:
    """Every layer of ``net`` on arrays of ``readout.rows`` rows (its tiles as
    :func:`.bnn.tiles_of`); ``attenuation``: the IR-drop fractions of an earlier call on the
    same weights (``[reads.attenuation for reads in ...]``) to reuse, else computed."""
    rng = np.random.default_rng([seed, 7])
    return [ArrayReads(layer, tiles_of(layer, readout), readout.rows, hw, nonideal, rng,
                       None if attenuation is None else attenuation[i])
            for i, layer in enumerate(net.layers)]


def sense_offset_sigma(i_ref: float, draws: int, seed: int = 1) -> tuple[float, float]:
    """(A, A) std of the current sense amplifier's input-referred offset and its standard
    error, from ``draws`` Monte Carlo draws of its transistors' Pelgrom mismatch in ngspice
    (``CurrentSenseAmplifier``, TT, 27 degC) at ``i_bl = i_ref`` (A): each draw's offset is
    bisected to 0.2 % of ``i_ref``."""
    from ..circuits.sense_amp import CurrentSenseAmplifier
    from ..spice import get_engine

    engine = get_engine()
    amp = CurrentSenseAmplifier(offset_resolution=2e-3)
    amp.load(engine)
    mismatch = amp.draw_mismatch(draws, seed=seed)
    offsets = np.array([amp.simulate(engine, {"i_bl": i_ref, "i_ref": i_ref,
                                              **{k: float(v[j]) for k, v in mismatch.items()}}).values["offset_i"]
                        for j in range(draws)])
    if not np.all(np.isfinite(offsets)):
        raise ValueError(f"sense amplifier offset beyond +-50 % of i_ref={i_ref:g} A in "
                         f"{int(np.sum(~np.isfinite(offsets)))} of {draws} draws")
    sigma = float(offsets.std(ddof=1))
    return sigma, sigma / np.sqrt(2 * (draws - 1))
