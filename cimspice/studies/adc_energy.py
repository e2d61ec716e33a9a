"""Energy per conversion of the transistor-level ADCs against resolution, from ngspice.

The studies price conversions with these measured figures instead of a scaling law: a few
random inputs per resolution through :class:`cimspice.circuits.SarADC` (or the flash and
ramp converters) at the nominal corner, their codes checked against an ideal quantiser.
A SAR's switching energy depends on the input, hence the mean over several inputs.
"""

from __future__ import annotations

import logging
import time

import numpy as np
from tqdm.auto import tqdm

from ..circuits import FlashADC, RampADC, SarADC
from ..circuits import adc_metrics as am
from ..spice import get_engine

__all__ = ["conversion_energy", "conversions", "measure_adc_energy"]

log = logging.getLogger(__name__)
ARCHITECTURES = {"sar": SarADC, "flash": FlashADC, "ramp": RampADC}


def measure_adc_energy(bits_list, architecture: str = "sar", n_inputs: int = 6, seed: int = 0,
                       progress: bool | None = None) -> dict[int, dict]:
    """``{bits: {"energy": J per conversion, "t_conversion": s, "area": m^2,
    "code_error_max": LSB, "seconds": s}}`` for each resolution in ``bits_list``."""
    cls = ARCHITECTURES[architecture]
    engine = get_engine()
    rng = np.random.default_rng(seed)
    out = {}
    bar = tqdm(list(bits_list), desc=f"{architecture} ADC in ngspice", unit="resolution",
               disable=None if progress is None else not progress)
    for bits in bar:
        bar.set_postfix(bits=bits)
        adc = cls(int(bits))
        p = {k.name: k.default for k in adc.parameters}
        lo, hi = p["v_ref_lo"], p["v_ref_hi"]
        v = rng.uniform(lo, hi, n_inputs)
        t0 = time.perf_counter()
        conv = adc.convert(engine, v)
        err = np.abs(conv.codes - am.ideal_quantiser(v, int(bits), lo, hi))
        out[int(bits)] = {"energy": float(conv.energy_per_conversion), "t_conversion": float(conv.t_conversion),
                          "area": float(adc.area()), "code_error_max": float(err.max()),
                          "seconds": time.perf_counter() - t0, "n_inputs": int(n_inputs)}
        log.info("%s %d-bit: %.3g J per conversion, codes within %d LSB", architecture, bits,
                 conv.energy_per_conversion, err.max())
    return out


def conversions(result) -> dict[int, float]:
    """Conversions per inference of a :class:`cimspice.sim.simulate.SimulationResult`, by ADC
    resolution (bits)."""
    return {int(e.split(":")[1]): c for e, c in result.costs.events.items() if e.startswith("adc:")}


def conversion_energy(result, table) -> float:
    """J per inference of ``result``'s conversions priced with ``table`` ({bits: {"energy":
    J per conversion}}, as :func:`measure_adc_energy` returns)."""
    return sum(count * table[bits]["energy"] for bits, count in conversions(result).items())
