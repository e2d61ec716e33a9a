"""Device models and the 1T1R bench in ``netlists/``, simulated with ``ngspice -b``.

Every deck runs in a subprocess (no cimspice import). The oracles are written here
from the published equations and constants cited in the netlists' headers; they share
no code or text with the netlists. ngspice 39 prints informational lines ("Note:",
"Using SPARSE", gmin stepping) which are not failures.
"""

from __future__ import annotations

import math
import re
import subprocess
from pathlib import Path

import numpy as np
import pytest

NETLISTS = Path(__file__).resolve().parents[1] / "netlists"
RERAM_LIB = NETLISTS / "reram.lib"
PTM45_LIB = NETLISTS / "ptm45.lib"
CELL_BENCH = NETLISTS / "cell_1t1r.cir"

# ReRAM constants, restated from the sources (see reram.lib / docs/devices.md).
G_ON = 100e-6  # S, low-resistance state (10 kOhm)
G_OFF = 1e-6  # S, high-resistance state (1 MOhm)
V0 = 0.25  # V, Stanford-PKU V0
# Stanford-PKU HfOx switching parameters (Verilog-A v1.0.0 defaults).
NU0 = 10.0  # m/s
EA = 0.6  # eV
A0 = 0.25e-9  # m
TOX = 12e-9  # m
GAMMA0 = 16.0
F_MIN = 1.4e9  # V/m
GAP0 = 0.25e-9  # m (the model's g0)
KB_Q = 8.617333e-5  # V/K
V_TH = F_MIN * TOX / GAMMA0  # V, SET and RESET threshold: 1.05 V
T_ROOM = 27.0  # degC, ngspice default temperature
VDD = 1.1  # V, FreePDK45 nominal supply

# FreePDK45 VTG card values per corner (the source files, not ptm45.lib).
VTH0_N = {"tt": 0.4106, "ff": 0.3856, "ss": 0.4356}  # V
VTH0_P = {"tt": -0.3842, "ff": -0.3592, "ss": -0.4092}  # V
NFACTOR_N, NFACTOR_P = 2.1, 2.22
U0_N, U0_P = 0.045, 0.02  # m^2/Vs

_FATAL = re.compile(
    r"error|singular matrix|timestep too small|simulation interrupted|"
    r"no convergence|iteration limit|analysis failed|can't find|not found",
    re.IGNORECASE,
)


def run_deck(tmp_path: Path, text: str, name: str = "deck.cir", timeout: float = 60.0) -> str:
    """Run ``text`` with ``ngspice -b`` in ``tmp_path``; fail on an error, return stdout.

    ngspice 39 exits with status 1 after a deck whose analyses all live in .control
    (it notes "no simulations run"), and with 0 after some failed analyses, so the
    status only screens out crashes; errors are found in the output.
    """
    deck = tmp_path / name
    deck.write_text(text)
    proc = subprocess.run(
        ["ngspice", "-b", str(deck)],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=tmp_path,
    )
    out = proc.stdout + proc.stderr
    bad = [line for line in out.splitlines() if _FATAL.search(line)]
    assert proc.returncode in (0, 1) and not bad, f"ngspice failed ({proc.returncode}):\n{out}"
    return proc.stdout


def load_wrdata(path: Path) -> np.ndarray:
    """Columns of a wrdata file: scale, vec1, scale, vec2, ... -> (scale, vec1, vec2, ...)."""
    data = np.atleast_2d(np.loadtxt(path))
    return np.column_stack([data[:, 0], data[:, 1::2]])


def reram_current(g: np.ndarray | float, v: np.ndarray | float) -> np.ndarray:
    """Read law of the ReRAM (A): I = g v0 sinh(V/v0)."""
    return np.asarray(g) * V0 * np.sinh(np.asarray(v) / V0)


def switching_constants(temp_c: float = T_ROOM) -> tuple[float, float]:
    """(k, v_s): rate prefactor (1/s) and overdrive slope (V) of the state equation.

    Stanford-PKU gap velocity nu0 exp(-Ea/kT) sinh(gamma0 a0 V/(tox kT/q)); above
    threshold sinh is its exponential half, and w spans the gap range g0 ln(g_on/g_off).
    Writing exp(V/v_s) = exp(V_TH/v_s) exp((V - V_TH)/v_s) gives k below.
    """
    kt = KB_Q * (temp_c + 273.15)
    v_s = TOX * kt / (GAMMA0 * A0)
    barrier = EA - GAMMA0 * A0 * V_TH / TOX
    k = NU0 / (2 * GAP0 * math.log(G_ON / G_OFF)) * math.exp(-barrier / kt)
    return k, v_s


def switching_rate(v_drive: float, temp_c: float = T_ROOM, v_th: float = V_TH) -> float:
    """|dw/dt| per unit window factor (1/s) at drive |V| above threshold v_th."""
    k, v_s = switching_constants(temp_c)
    return k * (math.exp((v_drive - v_th) / v_s) - 1.0)


def w_of_g(g: np.ndarray | float) -> np.ndarray:
    return np.log(np.asarray(g) / G_OFF) / math.log(G_ON / G_OFF)


def cell_deck(corner: str = "tt", control: str = "") -> str:
    """The shipped 1T1R bench with absolute model paths, a chosen corner, own .control."""
    text = CELL_BENCH.read_text()
    text = re.sub(r"(?ms)^\.control.*?^\.endc\s*$", "", text)
    text = re.sub(r"(?m)^\.end\s*$", "", text)
    text = re.sub(r"(?m)^\.lib ptm45\.lib tt\s*$", f".lib {PTM45_LIB} {corner}", text)
    text = re.sub(r"(?m)^\.include reram\.lib\s*$", f".include {RERAM_LIB}", text)
    assert str(PTM45_LIB) in text and str(RERAM_LIB) in text, "bench layout changed"
    return f"{text}\n.control\n{control}\n.endc\n.end\n"


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


# --------------------------------------------------------------------------- transistors


def _extrapolated_vth(vgs: np.ndarray, ids: np.ndarray, vds: float) -> float:
    """Linear-extrapolation threshold at the gm maximum, corrected by Vds/2."""
    gm = np.gradient(ids, vgs)
    k = int(np.argmax(gm))
    return float(vgs[k] - ids[k] / gm[k] - vds / 2)


def _idvg(tmp_path: Path, corner: str) -> dict:
    vds = 0.05
    out = tmp_path / f"idvg_{corner}.txt"
    run_deck(
        tmp_path,
        f"""* Id-Vgs, {corner}
.lib {PTM45_LIB} {corner}
Vgn gn 0 dc 0
Vdnl dnl 0 dc {vds}
Mnl dnl gn 0 0 nmos_vtg w=1u l=1u
Vdns dns 0 dc {vds}
Mns dns gn 0 0 nmos_vtg w=1u l=50n
Vgp gp 0 dc 0
Vdpl dpl 0 dc {-vds}
Mpl dpl gp 0 0 pmos_vtg w=1u l=1u
Vdps dps 0 dc {-vds}
Mps dps gp 0 0 pmos_vtg w=1u l=50n
.control
dc vgn 0 {VDD} 0.01
wrdata {out}n i(vdnl) i(vdns)
dc vgp 0 {-VDD} -0.01
wrdata {out}p i(vdpl) i(vdps)
.endc
.end
""",
        name=f"idvg_{corner}.cir",
    )
    n = load_wrdata(Path(f"{out}n"))
    p = load_wrdata(Path(f"{out}p"))
    res = {}
    for kind, data in (("n", n), ("p", p)):
        vgs, i_long, i_short = np.abs(data[:, 0]), np.abs(data[:, 1]), np.abs(data[:, 2])
        res[kind] = {
            "vgs": vgs,
            "i_long": i_long,
            "i_short": i_short,
            "vth_long": _extrapolated_vth(vgs, i_long, vds),
            "vth_short": _extrapolated_vth(vgs, i_short, vds),
        }
    return res


def test_mosfet_id_vgs_and_threshold_per_corner(tmp_path):
    vt = KB_Q * (T_ROOM + 273.15)
    vth = {}
    for corner in ("tt", "ff", "ss"):
        res = _idvg(tmp_path, corner)
        for kind, vth0, nfactor in (("n", VTH0_N, NFACTOR_N), ("p", VTH0_P, NFACTOR_P)):
            r = res[kind]
            assert np.all(np.diff(r["i_long"]) > 0) and np.all(np.diff(r["i_short"]) > 0)
            # A long device's extrapolated threshold is BSIM4's vth0 up to the
            # moderate-inversion width, about nfactor * kT/q (54-57 mV here).
            err = r["vth_long"] - abs(vth0[corner])
            assert abs(err) < nfactor * vt, (corner, kind, r["vth_long"])
            # Short-channel roll-off: a 50 nm device turns on earlier.
            assert r["vth_short"] < r["vth_long"]
            vth[(corner, kind)] = r["vth_long"]
    for kind, vth0 in (("n", VTH0_N), ("p", VTH0_P)):
        assert vth[("ff", kind)] < vth[("tt", kind)] < vth[("ss", kind)]
        # The corners shift vth0 by 25 mV each; the extracted shift must follow. The
        # corners' other changes (toxe, u0, lint, ndep) move it by a few mV more
        # (measured 24-27 mV), inside the 10 mV allowed.
        for corner in ("ff", "ss"):
            shift = vth[(corner, kind)] - vth[("tt", kind)]
            assert abs(shift - (abs(vth0[corner]) - abs(vth0["tt"]))) < 0.01


@pytest.mark.parametrize("corner", ["tt", "ff", "ss"])
def test_inverter_switches_near_half_vdd(tmp_path, corner):
    # Wp/Wn = 2, the nearest conventional ratio to the cards' mobility ratio
    # u0n/u0p = 2.25, balances pull-up and pull-down to first order.
    wn = 90e-9
    ratio = 2
    assert abs(ratio - U0_N / U0_P) < 0.5
    out = tmp_path / "vtc.txt"
    run_deck(
        tmp_path,
        f"""* inverter VTC {corner}
.lib {PTM45_LIB} {corner}
Vdd vdd 0 dc {VDD}
Vin in 0 dc 0
Mn out in 0 0 nmos_vtg w={wn} l=50n
Mp out in vdd vdd pmos_vtg w={ratio * wn} l=50n
.control
dc vin 0 {VDD} 0.001
wrdata {out} v(out)
.endc
.end
""",
    )
    vin, vout = load_wrdata(out).T
    assert vout[0] > 0.99 * VDD and vout[-1] < 0.01 * VDD
    assert np.all(np.diff(vout) <= 1e-9)
    k = int(np.argmin(np.abs(vout - vin)))
    vm = vin[k]
    gain = np.gradient(vout, vin)[k]
    assert gain < -1  # regenerative: a valid logic stage
    # Balanced sizing puts VM at VDD/2, where the two noise margins are equal; 10 % of
    # VDD covers rounding Wp/Wn to 2 and the devices' different velocity saturation
    # (vsat 123 vs 62 km/s), which the mobility ratio ignores. Measured: 0.57 V.
    assert abs(vm - VDD / 2) < 0.1 * VDD, vm


# --------------------------------------------------------------------------- 1T1R cell


def test_cell_bench_runs_as_shipped(tmp_path):
    # Run from elsewhere: the bench's model paths resolve against its own directory.
    proc = subprocess.run(
        ["ngspice", "-b", str(CELL_BENCH)], capture_output=True, text=True, timeout=60, cwd=tmp_path
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode in (0, 1) and not _FATAL.search(out), out
    match = re.search(r"^i_cell\s*=\s*(\S+)", proc.stdout, re.MULTILINE)
    assert match, proc.stdout
    i_cell = float(match.group(1))
    # Defaults g = 10 uS, vbl = 0.2 V, vwl = VDD: positive, and within 2 % below the
    # ReRAM alone (transistor ~0.6 kOhm against the ReRAM's ~75 kOhm differential
    # resistance 1/(g cosh(vbl/v0)): a ~0.8 % loss).
    i_alone = float(reram_current(10e-6, 0.2))
    assert 0.98 * i_alone < i_cell < i_alone


def _nmos_id_vds(tmp_path: Path, vgs: float, corner: str = "tt") -> tuple[np.ndarray, np.ndarray]:
    out = tmp_path / "nmos_idvd.txt"
    run_deck(
        tmp_path,
        f"""* access NMOS alone
.lib {PTM45_LIB} {corner}
Vd d 0 dc 0
Vg g 0 dc {vgs}
Mn d g 0 0 nmos_vtg w=450n l=50n
.control
dc vd 0 0.3 0.001
wrdata {out} -i(vd)
.endc
.end
""",
        name="nmos_idvd.cir",
    )
    vds, ids = load_wrdata(out).T
    return vds, ids


def _series_oracle(g: float, vbl: float, vds: np.ndarray, ids: np.ndarray) -> float:
    """Current of ReRAM in series with a tabulated NMOS (A), by bisection on V(mid)."""
    lo, hi = 0.0, min(vbl, vds[-1])
    for _ in range(80):
        mid = 0.5 * (lo + hi)
        if reram_current(g, vbl - mid) > np.interp(mid, vds, ids):
            lo = mid
        else:
            hi = mid
    return float(np.interp(0.5 * (lo + hi), vds, ids))


def test_cell_current_bounded_by_reram_and_rising_with_vwl(tmp_path):
    vbl = 0.2
    gs = [G_OFF, 10e-6, G_ON]
    control = "\n".join(
        f"alterparam g={g}\nalterparam vbl={vbl}\nreset\ndc vwl 0 1.2 0.02\n"
        f"wrdata {tmp_path / f'vwl_{k}.txt'} -i(vbl)"
        for k, g in enumerate(gs)
    )
    run_deck(tmp_path, cell_deck("tt", control))
    vds, ids = _nmos_id_vds(tmp_path, 1.2)
    # Transistor small-signal resistance Vds/Id at 1 mV, from the NMOS alone (~0.6 kOhm).
    r_ds = vds[1] / ids[1]
    for k, g in enumerate(gs):
        vwl, i_cell = load_wrdata(tmp_path / f"vwl_{k}.txt").T
        i_alone = float(reram_current(g, vbl))
        assert np.all(i_cell < i_alone)
        assert np.all(np.diff(i_cell) > 0)
        # At vwl = VDD + 0.1 V: nodal solution of the ReRAM law in series with the
        # transistor's own Id(Vds), simulated separately (interpolation error < 1e-3).
        np.testing.assert_allclose(i_cell[-1], _series_oracle(g, vbl, vds, ids), rtol=2e-3)
        # Approach to the ReRAM-only current: R_ds in series with the ReRAM's
        # differential conductance g cosh(vbl/v0) costs a fraction of about
        # g cosh(vbl/v0) R_ds; 5 % headroom for the transistor's mild nonlinearity.
        loss_bound = g * math.cosh(vbl / V0) * r_ds
        ratio = i_cell[-1] / i_alone
        assert 1 - ratio < 1.05 * loss_bound, (g, ratio, loss_bound)
        assert ratio > 0.9  # even at g_on the ReRAM sets the read current


@pytest.mark.parametrize("corner", ["tt", "ff", "ss"])
def test_cell_converges_over_operating_range(tmp_path, corner):
    temps, gs = (-40, 27, 125), (G_OFF, G_ON)
    lines = []
    for t in temps:
        for k, g in enumerate(gs):
            lines += [
                f"alterparam temp={t}",
                f"alterparam g={g}",
                "reset",
                "op",
                f"wrdata {tmp_path / f'op_{t}_{k}.txt'} -i(vbl)",
                "dc vbl 0 1 0.1 vwl 0 1.2 0.1",
                f"wrdata {tmp_path / f'dc_{t}_{k}.txt'} -i(vbl)",
            ]
    stdout = run_deck(tmp_path, cell_deck(corner, "\n".join(lines)))
    for t in temps:
        assert f"TEMP = {t:.6f}" in stdout
        for k, g in enumerate(gs):
            i_op = load_wrdata(tmp_path / f"op_{t}_{k}.txt")[0, 1]
            assert 0 < i_op < float(reram_current(g, 0.2))
            data = load_wrdata(tmp_path / f"dc_{t}_{k}.txt")
            vbl, i_cell = data[:, 0], data[:, 1]
            assert i_cell.size == 11 * 13 and np.all(np.isfinite(i_cell))
            # Gate and junction leakage may push a few pA the other way near vbl = 0.
            assert np.all(i_cell <= reram_current(g, vbl) + 1e-9)
