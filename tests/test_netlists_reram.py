"""The ReRAM model in ``netlists/reram.lib`` (read law, state window, switching by pulse
trains, Monte Carlo of conductance and threshold), run by ``ngspice -b`` in a subprocess
against the oracles of tests/device_oracles.py."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from device_oracles import (
    G_OFF,
    G_ON,
    RERAM_LIB,
    V0,
    V_TH,
    load_wrdata,
    reram_current,
    run_deck,
    switching_constants,
    switching_rate,
    w_of_g,
)

# --------------------------------------------------------------------------- ReRAM


def test_reram_read_law_is_g_v0_sinh(tmp_path):
    gs = np.logspace(math.log10(G_OFF), math.log10(G_ON), 7)
    devices = "\n".join(
        f"Vm{k} a n{k} dc 0\nX{k} n{k} 0 reram g={g:.17g}" for k, g in enumerate(gs)
    )
    meters = " ".join(f"i(vm{k})" for k in range(len(gs)))
    out = tmp_path / "iv.txt"
    run_deck(
        tmp_path,
        f"""* ReRAM read I-V
.options reltol=1e-7
.include {RERAM_LIB}
V1 a 0 dc 0
{devices}
.control
dc v1 -0.3 0.3 0.005
wrdata {out} {meters}
.endc
.end
""",
    )
    data = load_wrdata(out)
    v, currents = data[:, 0], data[:, 1:]
    assert currents.shape == (121, len(gs))
    expected = reram_current(gs[None, :], v[:, None])
    # ngspice reports a B-source's current from its last Newton linearisation: with
    # the default reltol = 1e-3 a 5 mV sweep step leaves ~2e-4 relative error, hence
    # reltol = 1e-7 above. wrdata keeps 9 significant digits (5e-9 relative).
    np.testing.assert_allclose(currents, expected, rtol=1e-6, atol=1e-20)


def test_reram_state_outside_window_is_clipped(tmp_path):
    out = tmp_path / "clip.txt"
    run_deck(
        tmp_path,
        f"""* clipping
.include {RERAM_LIB}
V1 a 0 dc 0.1
Vm1 a n1 dc 0
X1 n1 0 reram g=1m
Vm2 a n2 dc 0
X2 n2 0 reram g=10n
.control
op
wrdata {out} i(vm1) i(vm2)
.endc
.end
""",
    )
    i_hi, i_lo = load_wrdata(out)[0, 1:]
    np.testing.assert_allclose([i_hi, i_lo], reram_current([G_ON, G_OFF], 0.1), rtol=1e-6)


def _pulse_pwl(amplitude: float, n: int, t_pulse: float, v_read: float) -> tuple[str, list]:
    """PWL with n programming pulses, each followed by a read plateau.

    Returns the PWL text and the (start, end) times of the read plateaus, the first
    plateau being a read before any pulse.
    """
    edge, gap, t_read = 0.1e-9, 20e-9, 20e-9
    pts = [(0.0, 0.0)]
    reads = []
    t = 5e-9

    def plateau(level: float, width: float) -> tuple[float, float]:
        nonlocal t
        pts.extend(
            [(t, 0.0), (t + edge, level), (t + edge + width, level), (t + 2 * edge + width, 0.0)]
        )
        span = (t + edge, t + edge + width)
        t += 2 * edge + width + gap
        return span

    reads.append(plateau(v_read, t_read))
    for _ in range(n):
        plateau(amplitude, t_pulse)
        reads.append(plateau(v_read, t_read))
    pts.append((t, 0.0))
    return " ".join(f"{a:.6g} {b:.6g}" for a, b in pts), reads


def _plateau_mean(time: np.ndarray, y: np.ndarray, span: tuple[float, float]) -> float:
    lo, hi = span
    inner = (time > lo + 0.2 * (hi - lo)) & (time < hi - 0.2 * (hi - lo))
    assert inner.sum() >= 2
    return float(np.mean(y[inner]))


@pytest.mark.parametrize("polarity", ["set", "reset"])
def test_reram_pulse_train_moves_state_monotonically(tmp_path, polarity):
    n_pulses, t_pulse, v_prog, v_read = 6, 20e-9, 1.3, 0.1
    amplitude, g_start = (v_prog, G_OFF) if polarity == "set" else (-v_prog, G_ON)
    pwl, reads = _pulse_pwl(amplitude, n_pulses, t_pulse, v_read)
    out = tmp_path / "train.txt"
    run_deck(
        tmp_path,
        f"""* {polarity} pulse train with interleaved reads
.include {RERAM_LIB}
Vp a 0 pwl({pwl})
X1 a 0 reram g={g_start}
.tran 0.2n {reads[-1][1] + 5e-9:.6g}
.control
run
wrdata {out} -i(vp) v(a) v(x1.w)
.endc
.end
""",
    )
    data = load_wrdata(out)
    time, current, v_node, w_node = data.T
    # Conductance read back electrically at each read plateau.
    g_read = np.array(
        [
            _plateau_mean(time, current, span)
            / (V0 * math.sinh(_plateau_mean(time, v_node, span) / V0))
            for span in reads
        ]
    )
    np.testing.assert_allclose(g_read[0], g_start, rtol=1e-6)
    steps = np.diff(g_read)
    if polarity == "set":
        assert np.all(steps > 0), g_read
    else:
        assert np.all(steps < 0), g_read
    assert np.all((w_node >= 0.0) & (w_node <= 1.0))

    # Analytic state after n rectangular pulses with the linear window:
    # SET 1 - w_n = exp(-n D t), RESET w_n = exp(-n D t). The 0.1 ns ramps add at
    # most 1 % of D t per pulse; the integrator's truncation error is ~1e-3.
    d_t = switching_rate(v_prog) * t_pulse
    n = np.arange(n_pulses + 1)
    w_read = w_of_g(g_read)
    measured = -np.log(1.0 - w_read) if polarity == "set" else -np.log(w_read)
    np.testing.assert_allclose(measured[1:], n[1:] * d_t, rtol=0.02)


def test_reram_subthreshold_reads_leave_state_unchanged(tmp_path):
    # +-0.3 V reads and +-0.9 V stress, all below the 1.05 V threshold.
    g0 = 10e-6
    pts, t = ["0 0"], 5e-9
    for level in [0.3, -0.3, 0.9, -0.9] * 5:
        pts += [f"{t:.6g} 0", f"{t + 1e-9:.6g} {level}"]
        pts += [f"{t + 51e-9:.6g} {level}", f"{t + 52e-9:.6g} 0"]
        t += 100e-9
    out = tmp_path / "reads.txt"
    run_deck(
        tmp_path,
        f"""* read disturb
.include {RERAM_LIB}
Vp a 0 pwl({' '.join(pts)})
X1 a 0 reram g={g0}
.tran 1n {t:.6g}
.control
run
wrdata {out} v(x1.w) i(vp) v(a)
.endc
.end
""",
    )
    time, w_node, i_source, v_node = load_wrdata(out).T
    current = -i_source  # a source's current is reported into its + terminal
    w0 = float(w_of_g(g0))
    assert np.max(np.abs(w_node - w0)) / w0 < 1e-6
    reading = np.abs(v_node) > 0.05
    g_apparent = current[reading] / (V0 * np.sinh(v_node[reading] / V0))
    np.testing.assert_allclose(g_apparent, g0, rtol=1e-6)


def test_reram_state_stays_in_window_under_overdrive(tmp_path):
    # 2 V for 1 us is ~1e4 time constants beyond saturation at either bound.
    out = tmp_path / "bounds.txt"
    run_deck(
        tmp_path,
        f"""* overdrive
.include {RERAM_LIB}
Vs a 0 pwl(0 0 10n 0 10.1n 2 1u 2 1.0001u 0 1.1u 0 1.1001u 0.1 1.2u 0.1)
X1 a 0 reram g={G_OFF}
Vr b 0 pwl(0 0 10n 0 10.1n -2 1u -2 1.0001u 0 1.1u 0 1.1001u 0.1 1.2u 0.1)
X2 b 0 reram g={G_ON}
.tran 1n 1.2u
.control
run
wrdata {out} v(x1.w) v(x2.w) i(vs) i(vr)
.endc
.end
""",
    )
    time, w_set, w_reset, i_set, i_reset = load_wrdata(out).T
    tol = 1e-12
    assert np.all((w_set >= -tol) & (w_set <= 1 + tol))
    assert np.all((w_reset >= -tol) & (w_reset <= 1 + tol))
    assert w_set[-1] > 1 - 1e-9 and w_reset[-1] < 1e-9
    # Final reads at 0.1 V see the window's ends.
    np.testing.assert_allclose(
        [-i_set[-1], -i_reset[-1]], reram_current([G_ON, G_OFF], 0.1), rtol=1e-6
    )


# --------------------------------------------------------------------------- Monte Carlo


def _mc_loop(tmp_path: Path, sigma: float, n: int) -> np.ndarray:
    out = tmp_path / f"mc_{sigma}.txt"
    run_deck(
        tmp_path,
        f"""* Monte Carlo of ln g by reset
.include {RERAM_LIB}
V1 a 0 dc 0.1
X1 a 0 reram g=10u
.control
set appendwrite
alterparam reram_sigma_lng={sigma}
let k = 0
while k < {n}
  reset
  op
  let i_dev = -i(v1)
  wrdata {out} i_dev
  let k = k + 1
end
.endc
.end
""",
        name=f"mc_{sigma}.cir",
    )
    return load_wrdata(out)[:, 1]


def test_mc_lognormal_g_spread(tmp_path):
    sigma, n = 0.1, 300
    currents = _mc_loop(tmp_path, sigma, n)
    assert currents.size == n
    log_ratio = np.log(currents / reram_current(10e-6, 0.1))
    # Sample std of n normal draws has relative standard error 1/sqrt(2(n-1)); the
    # mean has standard error sigma/sqrt(n). 4 standard errors: false alarm ~1e-4.
    assert abs(np.std(log_ratio, ddof=1) / sigma - 1) < 4 / math.sqrt(2 * (n - 1))
    assert abs(np.mean(log_ratio)) < 4 * sigma / math.sqrt(n)
    assert np.unique(currents).size > 0.9 * n


def test_mc_off_by_default_gives_identical_devices(tmp_path):
    currents = _mc_loop(tmp_path, 0.0, 20)
    assert currents.size == 20
    assert np.all(currents == currents[0])
    np.testing.assert_allclose(currents[0], reram_current(10e-6, 0.1), rtol=1e-6)


@pytest.mark.parametrize("sigma_v", [0.0, 0.02])
def test_mc_threshold_spread_per_instance(tmp_path, sigma_v):
    # One transient, many instances: each draws its own SET / RESET threshold. A fixed
    # seed makes the draws reproducible within this single parse.
    n = 200 if sigma_v > 0 else 10
    v_prog, t_prog = 1.15, 200e-9
    set_devs = "\n".join(f"Xs{k} a 0 reram g={G_OFF}" for k in range(n))
    reset_devs = "\n".join(f"Xr{k} b 0 reram g={G_ON}" for k in range(n))
    ramp = 0.1e-9
    t_end = 10e-9 + 2 * ramp + t_prog
    pwl = f"0 0 10n 0 {10e-9 + ramp:.6g} {{A}} {10e-9 + ramp + t_prog:.6g} {{A}} {t_end:.6g} 0"
    nodes = " ".join([f"v(xs{k}.w)" for k in range(n)] + [f"v(xr{k}.w)" for k in range(n)])
    out = tmp_path / "vth.txt"
    run_deck(
        tmp_path,
        f"""* threshold spread
.options seed=20240601
.include {RERAM_LIB}
.param reram_sigma_vset={sigma_v} reram_sigma_vreset={sigma_v}
Va a 0 pwl({pwl.replace('{A}', str(v_prog))})
Vb b 0 pwl({pwl.replace('{A}', str(-v_prog))})
{set_devs}
{reset_devs}
.tran 1n {t_end + 5e-9:.6g}
.control
run
wrdata {out} {nodes}
.endc
.end
""",
    )
    final = load_wrdata(out)[-1, 1:]
    w_set, w_reset = final[:n], final[n:]
    if sigma_v == 0.0:
        assert np.all(w_set == w_set[0]) and np.all(w_reset == w_reset[0])
        np.testing.assert_allclose(
            -math.log(1 - w_set[0]), switching_rate(v_prog) * t_prog, rtol=0.02
        )
        return
    # Invert the analytic pulse response for each device's threshold:
    # D t = -ln(1 - w) (SET) or -ln(w) (RESET), D = k (exp((V - v_th)/v_s) - 1).
    k, v_s = switching_constants()
    for d_t in (-np.log(1 - w_set), -np.log(w_reset)):
        v_th = v_prog - v_s * np.log1p(d_t / (t_prog * k))
        spread = np.std(v_th, ddof=1)
        assert abs(spread / sigma_v - 1) < 4 / math.sqrt(2 * (n - 1))
        assert abs(np.mean(v_th) - V_TH) < 4 * sigma_v / math.sqrt(n)


