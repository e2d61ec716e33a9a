"""The system simulator against ngspice on one small layer, end to end (docs/validation.md).

A 16-input x 8-output layer on one 16x16 array (differential pairs, continuous conductances,
4-bit DAC inputs, 1 ohm wire segments) is read two ways on the same inputs:

- ngspice (:class:`cimspice.circuits.layer_bench.LayerBench`): the crossbar netlist, eight
  transistor-level TIAs, and the transistor-level 4-bit flash ADC converting every TIA
  output;
- the simulator (:class:`cimspice.sim.backend.AnalogBackend`): its crossbar model (IR drop
  through the linear transfer matrix), the TIA as a surrogate fitted to a ``cimspice sweep``
  of the ``tia`` circuit (``sense.type: surrogate``), and the flash ADC as a surrogate built
  from its transition levels measured in ngspice (``adc.type: surrogate``).

Neither side's numbers are fed to the other: the simulator sees only the spec, the weights,
the inputs and the library; the bench only conductances, voltages and the circuit design.
The ADC range is shared by design: the simulator calibrates its current LSB, and the TIA's
feedback resistor is trimmed so that this LSB is one ADC step (``lsb_v``) at its output.
"""

from __future__ import annotations

import logging

import numpy as np
import pytest

from cimspice.circuits.layer_bench import LayerBench, adc_transfer_points, flash_transitions
from cimspice.cli import main as cli
from cimspice.sim.backend import AnalogBackend
from cimspice.sim.mapping import array_layout, quantise_weights
from cimspice.spice import get_engine
from cimspice.surrogate import Surrogate, load_library, save_library
from cimspice.surrogate.models import GridInterpolator

log = logging.getLogger(__name__)

ROWS, OUTS, BITS = 16, 8, 4
G_ON, G_OFF, V_READ, R_WIRE = 100e-6, 1e-6, 0.1, 1.0
V_REF, LSB_V = 0.7, 0.035          # TIA reference and ADC step at its output (V)
N_VECTORS = 20                      # 160 outputs: the flash costs 0.16-0.34 s of ngspice per conversion here
CODE_MAX = 2 ** (BITS - 1) - 1


def _spec(library=None, r_f=None):
    sense = {"type": "ideal"} if library is None else {
        "type": "surrogate", "surrogate": "tia.v_out", "v_ref": V_REF, "transimpedance": r_f}
    adc = {"type": "ideal"} if library is None else {"type": "surrogate", "surrogate": "adc_flash4.code"}
    return {"name": "validation",
            "array": {"rows": ROWS, "cols": 2 * OUTS, "cell": "linear", "g_on": G_ON, "g_off": G_OFF,
                      "cell_bits": None, "v_read": V_READ},
            "mapping": {"weights": "differential", "slices": 1},
            "inputs": {"encoding": "dac", "bits": 4},
            "adc": {**adc, "bits": BITS, "partial_sum_bits": BITS, "range": "calibrated"},
            "sense": sense,
            "nonidealities": {"ir_drop": True, "r_wire": R_WIRE},
            "library": None if library is None else str(library)}


def adc_surrogate(levels, bits=BITS) -> Surrogate:
    """The flash ADC's measured transfer as the simulator's ADC surrogate (SurrogateAdc contract)."""
    u, code = adc_transfer_points(levels, V_REF, LSB_V, bits)
    s = Surrogate(GridInterpolator("linear"), ["u"], "code", input_units=["1"], output_units=["1"],
                  name=f"adc_flash{bits}.code", description="flash ADC signed code before rounding")
    return s.fit(u[:, None], code)


def layer_data(n_vectors: int, seed: int = 8):
    """The layer's weights W (ROWS, OUTS) uniform in [-1, 1], calibration inputs (256, ROWS)
    and ``n_vectors`` inputs (n_vectors, ROWS), both on the 4-bit DAC grid (0 .. 1)."""
    rng = np.random.default_rng(seed)
    W = rng.uniform(-1, 1, (ROWS, OUTS))
    x_cal = rng.integers(0, 16, (256, ROWS)) / 15
    x_cal[0] = 1.0                                     # input range: full DAC scale
    x = rng.integers(0, 16, (n_vectors, ROWS)) / 15
    return W, x_cal, x


@pytest.fixture(scope="module")
def layer():
    return layer_data(N_VECTORS)


@pytest.mark.slow
def test_simulator_codes_match_ngspice_layer(layer, tmp_path):
    W, x_cal, x = layer
    engine = get_engine()

    # the simulator's ADC range (current per code) for this layer and calibration data
    ideal = AnalogBackend(_spec())
    m0 = ideal.matvec("layer", W)
    m0.calibrate(x_cal)
    lsb = float(m0.tiles[0].lsb[0])
    r_f = LSB_V / lsb                                  # trimmed TIA gain: one LSB = lsb_v at its output

    # characterize the TIA at that gain: cimspice sweep -> cimspice fit -> library
    i_span = 1.3 * (CODE_MAX + 1) * lsb                # beyond the ADC range: clipping is the ADC's
    sweep = tmp_path / "tia.yaml"
    sweep.write_text(f"circuit: tia\ncircuit_args: {{r_f: {r_f!r}}}\ndesign: grid\nparameters:\n"
                     f"  i_in: {{start: {-i_span!r}, stop: {i_span!r}, num: 41}}\n  v_ref: {V_REF}\n"
                     "outputs: [v_out, energy_read]\n")
    lib = tmp_path / "lib.h5"
    assert cli(["sweep", str(sweep), "-o", str(tmp_path / "tia.h5"), "--no-progress"]) == 0
    assert cli(["fit", str(tmp_path / "tia.h5"), "-o", str(lib), "--outputs", "v_out", "energy_read",
                "--models", "grid-cubic"]) == 0

    # the bench, and its ADC's transfer measured in ngspice for the simulator's surrogate
    planes = quantise_weights(W, "differential", None, 1)
    G, plus, minus = array_layout(planes, (0, ROWS), (0, OUTS), G_ON, G_OFF)
    bench = LayerBench(G, plus[:, 0], minus[:, 0], r_wire=R_WIRE, r_f=r_f, v_ref=V_REF, adc_bits=BITS, lsb_v=LSB_V)
    levels = flash_transitions(bench.adc, engine, bench.adc_point, steps=8)
    save_library(lib, adc_surrogate(levels), append=True)
    assert set(load_library(lib)) == {"tia.v_out", "tia.energy_read", "adc_flash4.code"}

    # simulator with the characterized sense and ADC
    sim = AnalogBackend(_spec(lib, r_f))
    m = sim.matvec("layer", W)
    m.calibrate(x_cal)
    assert float(m.tiles[0].lsb[0]) == pytest.approx(lsb, rel=1e-12, abs=0)
    y = m(x)
    # codes back from the digital output: y = code * lsb * w_max / (step * v_read) (one slice, x_max 1)
    codes_sim = y * (G_ON - G_OFF) * V_READ / (lsb * np.max(np.abs(W)))
    np.testing.assert_allclose(codes_sim, np.rint(codes_sim), atol=1e-6)
    codes_sim = np.rint(codes_sim).astype(int)

    result = bench.run(x * V_READ, engine)
    diff = result.codes - codes_sim
    agreement = float(np.mean(diff == 0))
    # the ideal sense and ADC on the same currents, for comparison (what the characterization buys)
    y0 = m0(x)
    codes_ideal = np.rint(y0 * (G_ON - G_OFF) * V_READ / (lsb * np.max(np.abs(W)))).astype(int)
    agreement_ideal = float(np.mean(result.codes == codes_ideal))
    summary = (f"{diff.size} outputs, agreement {agreement:.2%} (ideal sense+ADC {agreement_ideal:.2%}), "
               f"mismatches {dict(zip(*np.unique(diff[diff != 0], return_counts=True)))}, codes used "
               f"{codes_sim.min()}..{codes_sim.max()}, r_f {r_f:.1f} ohm, ngspice sense {result.t_sense:.1f} s, "
               f"ADC {result.t_adc:.1f} s")
    log.info("validation: %s", summary)
    assert np.ptp(codes_sim) >= 8, summary              # the data exercises most of the range
    assert agreement >= 0.99, summary
    # and the comparison can tell: the ideal models miss the flash's and the TIA's errors
    assert agreement_ideal < agreement, summary
    assert np.max(np.abs(diff)) <= 1, summary


def _nodal_pair_currents(G, V, r, plus, minus):
    """Column currents of the resistive crossbar (Crossbar's topology, sense nodes at 0 V),
    by a dense nodal solve written here: rows driven at V through one segment, cells from
    row node (i, j) to column node (i, j), columns reaching the sense node below the last row."""
    R, C = G.shape
    n = 2 * R * C
    row, col = (lambda i, j: i * C + j), (lambda i, j: R * C + i * C + j)
    A, g = np.zeros((n, n)), 1.0 / r
    b_unit = np.zeros((n, R))

    def link(a, c, y):
        A[a, a] += y
        A[c, c] += y
        A[a, c] -= y
        A[c, a] -= y

    for i in range(R):
        A[row(i, 0), row(i, 0)] += g
        b_unit[row(i, 0), i] = g
        for j in range(C):
            link(row(i, j), col(i, j), G[i, j])
            if j + 1 < C:
                link(row(i, j), row(i, j + 1), g)
            if i + 1 < R:
                link(col(i, j), col(i + 1, j), g)
            else:
                A[col(i, j), col(i, j)] += g        # to the sense node at 0 V
    out = []
    for v in V:
        x = np.linalg.solve(A, b_unit @ v)
        I = np.array([x[col(R - 1, j)] * g for j in range(C)])
        out.append(I[plus] - I[minus])
    return np.array(out)


def test_bench_front_end_against_nodal_solve():
    """TIA outputs of the bench = v_ref - r_f (I_plus - I_minus), with the currents from an
    independent nodal solve, to within the TIA's characterized error (offset ~0.1 uA)."""
    rng = np.random.default_rng(2)
    G = rng.uniform(G_OFF, G_ON, (ROWS, 2 * OUTS))
    plus, minus = np.arange(0, 2 * OUTS, 2), np.arange(1, 2 * OUTS, 2)
    G[:, plus[:4]] = G[:, plus[:4]] + 0.5 * (G_ON - G[:, plus[:4]])   # some large pairs
    bench = LayerBench(G, plus, minus, r_wire=R_WIRE, r_f=5e3, v_ref=V_REF)
    V = rng.integers(0, 16, (4, ROWS)) / 15 * 0.25
    D = _nodal_pair_currents(G, V, R_WIRE, plus, minus)
    assert np.abs(D).max() > 40e-6
    sensed = (V_REF - bench.sense(V)) / 5e3
    err = sensed - D
    assert np.max(np.abs(err)) < 0.3e-6                      # 0.3 % of a 100 uA full scale
    assert np.ptp(err) < 0.1e-6                               # offset + 0.06 % gain error, the same on every TIA
    # the ADC references centre zero current on a code and span 2**N steps
    assert bench.v_ref_hi - bench.v_ref_lo == pytest.approx(2 ** BITS * LSB_V)
    assert V_REF - bench.v_ref_lo == pytest.approx((2 ** (BITS - 1) + 0.5) * LSB_V)
    np.testing.assert_array_equal(bench.signed([0, 7, 8, 9, 15]), [7, 1, 0, -1, -7])


def test_adc_transfer_points_round_to_the_measured_codes():
    rng = np.random.default_rng(5)
    n = 2 ** BITS
    lo = V_REF - (n / 2 + 0.5) * LSB_V
    levels = lo + (np.arange(1, n) + rng.uniform(-0.3, 0.3, n - 1)) * LSB_V   # a non-ideal flash
    u_knots, c_knots = adc_transfer_points(levels, V_REF, LSB_V, BITS)
    u = rng.uniform(-1, 1, 20000)
    v = V_REF - u * CODE_MAX * LSB_V
    flash = np.searchsorted(levels, v, side="right")          # code c: levels passed
    expected = np.clip(n // 2 - flash, -CODE_MAX, CODE_MAX)
    got = np.clip(np.rint(np.interp(u, u_knots, c_knots)), -CODE_MAX, CODE_MAX)
    np.testing.assert_array_equal(got, expected)


def test_bench_refuses_bad_input():
    from cimspice.circuits.base import CircuitError

    G = np.full((4, 4), 50e-6)
    for kwargs, match in ((dict(plus_idx=[0, 1], minus_idx=[1, 2]), "distinct"),
                          (dict(plus_idx=[0], minus_idx=[1], v_ref=0.3), "v_ref"),
                          (dict(plus_idx=[0], minus_idx=[1], lsb_v=0.1), "ADC range"),
                          (dict(plus_idx=[0], minus_idx=[1], coupling="mirror"), "coupling")):
        with pytest.raises(CircuitError, match=match) as error:
            LayerBench(G, **kwargs)
        assert "\n" not in str(error.value)
