"""The catalogue's multi-level row DACs, ``dac_{bits}b`` (:func:`dac_block`): the R-2R
ladder with its op-amp buffer (:class:`cimspice.circuits.dac.RowDAC`) at each resolution,
characterized at every code a system may drive (the simulator prices each code it counts,
cimspice.sim.components). Part of :data:`cimspice.library.blocks.CATALOGUE`.
"""

from __future__ import annotations

import math

from ..circuits.dac import OUTPUT_HEADROOM
from .blocks import TIA_ARRAY, Block, Range

__all__ = ["DACS", "DAC_FULL_SCALE", "DAC_RESOLUTIONS", "FULL_DAC_BITS", "dac_block"]

#: resolutions of the row-DAC blocks ``dac_{bits}b``: the circuit's 2-10 bits (1 bit is the
#: word-line driver's pulse, and its 0.2 V step would need v_read 0.4 V, beyond the bench's
#: range); a full build makes those DAC-input systems use: 8 bits (benchmarks/system.py's and
#: onnx_resnet.py's `baseline` with DAC inputs, the input-splitting tests) and 4 bits (the
#: full-SPICE layer checks, scripts/validate_layer.py); the rest are named with --only
DAC_RESOLUTIONS = tuple(range(2, 11))
FULL_DAC_BITS = (4, 8)
#: most code nodes of a DAC grid: every code up to 6 bits, 64 evenly spaced codes above
DAC_CODE_NODES = 64
#: V: the top code's level above v_ref, the baseline's array.v_read (the simulator's levels
#: run 0 .. v_read over codes 0 .. 2**bits - 1; the circuit's code 2**bits would be v_ref + v_read)
DAC_FULL_SCALE = 0.2
#: V: the row's idle level, the bit lines' virtual ground in the baseline's sense circuit
DAC_V_REF = TIA_ARRAY.fixed["v_ref"]
#: the baseline row's cell conductance (S) from 64 cells at g_off to 64 at g_on (1-100 uS):
#: nodes 0.064, 1.65, 3.23 (64 mid-window cells, the simulator's default row), 4.82, 6.4 mS
DAC_G_ROW: Range = (64e-6, 6.4e-3, 5, "linear")
DAC_VDD_MAX = 1.3  # V
#: s: the window a conversion's energy is integrated over (the circuit's default, the TIA's
#: read window); fixed in the block so its surrogates record it (the simulator holds the
#: level for the settling plus array.t_read, pricing the difference with power_driver)
DAC_T_CONV = 10e-9


def dac_block(bits: int) -> Block:
    """The ``dac_{bits}b`` block: the R-2R row DAC with its op-amp buffer
    (:class:`cimspice.circuits.dac.RowDAC`) converting from the idle row (``v_ref`` 0.55 V)
    to each code, over the code, the row's cell conductance ``g_row`` and the supply. Its
    ``v_read`` puts the top code 0.2 V above ``v_ref``, as the simulator's levels are; one
    conversion is priced over the 10 ns window ``t_conv`` (``energy_driver``: the cells'
    own dissipation is the simulator's array energy), ``power_driver`` prices a longer or
    shorter hold, ``settling_time`` the row's settling.

    How the energy depends on the code: it is 2.8 pJ of op-amp bias plus vdd times the row
    current (smooth in the code) plus the gate inverters of the bits the step sets, ~28 fJ
    per set bit (measured at 8 bits, TT, 3.2 mS): the popcount of the code, not smooth. So
    the code axis holds every code up to 6 bits (exact at each one: 0.03 %FS at 4 bits, from
    g_row and vdd), and :data:`DAC_CODE_NODES` evenly spaced codes above, where a code
    between nodes differs from the interpolation by its popcount: up to 0.11 pJ (0.9 %FS,
    RMS 0.3 %FS at 8 bits), whatever the node spacing (the same at every 3rd and every 17th
    code), while all 256 codes on this grid would take ~10 min. The validation sweep draws
    its codes from the integers between the nodes (:attr:`Block.integers`), so its error is
    the error at the codes a system drives. The 8-bit settling to 0.5 LSB (0.4 mV) jumps
    between codes where the buffer's ringing crosses the band (11 %FS between nodes); the
    simulator reads it at the top code, a node.
    """
    top = 2 ** bits - 1
    v_read = DAC_FULL_SCALE * 2 ** bits / top
    # the buffer's output stays OUTPUT_HEADROOM below vdd (cimspice.circuits.dac); 1.1 V nominal
    vdd_min = max(1.1, math.ceil(100 * (DAC_V_REF + v_read + OUTPUT_HEADROOM)) / 100)
    code = (0, top, min(top + 1, DAC_CODE_NODES), "linear")
    vdd: Range = (vdd_min, DAC_VDD_MAX, 2, "linear")   # 2 nodes: linear in vdd to 0.05 %FS
    return Block(
        f"dac_{bits}b", "dac", circuit_args={"dac_bits": bits},
        fixed={"v_ref": DAC_V_REF, "v_read": v_read, "t_conv": DAC_T_CONV},
        ranges={"code": code, "g_row": DAC_G_ROW, "vdd": vdd},
        quick_ranges={"code": code, "g_row": DAC_G_ROW[:2] + (3, "linear"), "vdd": vdd},
        integers=("code",), outputs=("energy_driver", "power_driver", "settling_time"), samples=40,
        quick_samples=8, models=("grid-linear", "grid-cubic"), quick=bits == 4, heavy=bits not in FULL_DAC_BITS,
        why=f"the {bits}-bit multi-level row driver (R-2R ladder, op-amp buffer): its own energy per conversion "
            f"over 10 ns, static power and far-end settling at each code, over the row's cell conductance and the "
            f"supply, levels {DAC_V_REF:g} V + 0 .. {DAC_FULL_SCALE:g} V",
    )


#: every resolution's block, in build order
DACS: tuple[Block, ...] = tuple(dac_block(bits) for bits in DAC_RESOLUTIONS)
