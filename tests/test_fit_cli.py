"""`cimspice fit` as a designer sees it: a progress bar naming the family being fitted, a
report with a parity plot and an error histogram per surrogate, a plain-words reason when no
point can be held out, and Monte Carlo sweeps fitted with their draws as inputs."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import struct
import subprocess
import sys
import termios

import numpy as np
import pytest
from small_sweeps import DIVIDER, divider_grid, read_law, reram_montecarlo, sweep
from surrogate_data import shown_errors

from cimspice.surrogate import SurrogateError, holdout_split, load_library

PNG = b"\x89PNG\r\n\x1a\n"


def cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "cimspice.cli", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, timeout=300)


def cli_on_a_terminal(*args) -> tuple[int, str]:
    """Run the CLI with stderr on a pseudo-terminal (120 columns), as in a designer's shell;
    its exit status and what it drew there."""
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 120, 0, 0))
    run = subprocess.Popen([sys.executable, "-m", "cimspice.cli", *map(str, args)], stdout=subprocess.DEVNULL,
                           stderr=follower)
    os.close(follower)
    drawn = b""
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # the follower side closed: the process ended
            break
        if not chunk:
            break
        drawn += chunk
    os.close(leader)
    return run.wait(timeout=300), drawn.decode(errors="replace")


@pytest.fixture(scope="module")
def divider(tmp_path_factory):
    """A 9 x 3 grid of a divider (outputs v_out, i_in: two surrogates)."""
    return divider_grid(tmp_path_factory.mktemp("divider"), np.linspace(1e3, 5e3, 9), [0.0, 1.0, 2.0])


def test_fit_draws_a_bar_naming_each_family_on_a_terminal(divider, tmp_path):
    status, drawn = cli_on_a_terminal("fit", divider, "-o", tmp_path / "lib.h5", "--models", "grid-cubic", "poly-4")
    assert status == 0, drawn
    # 2 outputs x (2 candidates + the refit of the chosen one)
    assert re.search(r"fit: 100%\|.*\| 6/6 ", drawn), drawn
    for label in ("divider.v_out: grid-cubic", "divider.i_in: poly-4", "refit"):
        assert label in drawn, drawn
    status, drawn = cli_on_a_terminal("fit", divider, "-o", tmp_path / "lib2.h5", "--models", "grid-cubic",
                                      "--no-progress")
    assert status == 0 and "fit:" not in drawn, drawn


def test_fit_report_plots_each_surrogate_on_its_held_out_points(divider, tmp_path):
    run = cli("fit", divider, "-o", tmp_path / "lib.h5", "--models", "grid-cubic", "poly-4",
              "--report", tmp_path / "report")
    assert run.returncode == 0 and run.stderr == "", run.stderr  # no bar: stderr is not a terminal
    assert f"wrote {tmp_path / 'report' / 'report.md'}" in run.stdout
    text = (tmp_path / "report" / "report.md").read_text()
    for name in ("divider.v_out", "divider.i_in"):
        s = load_library(tmp_path / "lib.h5")[name]
        output = name.split(".")[1]
        for plot in (f"{name}__{output}_parity.png", f"{name}__{output}_error_hist.png"):
            assert (tmp_path / "report" / plot).read_bytes()[:8] == PNG
            assert f"]({plot})" in text
        # the plotted points are the ones that scored the chosen family: the same errors, in
        # the output's unit (the stored %FS of the stored full scale) and in %FS
        n, rms, fs = s.validation["n_points"], s.validation["rms_pct"][0], s.validation["full_scale"][0]
        [(absolute, pct)] = shown_errors(text, rf"`{output}` on the {n} held-out points that scored it: RMS",
                                         s.output_units[0])
        assert pct == pytest.approx(rms, rel=6e-3, abs=1e-12)  # printed to 3 digits
        assert absolute == pytest.approx(rms / 100 * fs, rel=6e-3)


def test_fit_report_on_an_off_grid_validation_sweep(divider, tmp_path):
    ranges = {"r2": {"start": 1.2e3, "stop": 4.8e3}, "vin": {"start": 0.1, "stop": 1.9}}  # inside the grid
    lhs = sweep(tmp_path, "lhs", {"design": "lhs", "samples": 6, "seed": 1, "parameters": ranges,
                                  "outputs": {"v_out": {"vector": "v(b)", "unit": "V"}}}, DIVIDER)
    run = cli("fit", divider, "--validation", lhs, "--outputs", "v_out", "--models", "grid-cubic", "-o",
              tmp_path / "lib.h5", "--report", tmp_path / "report")
    assert run.returncode == 0, run.stderr
    text = (tmp_path / "report" / "report.md").read_text()
    assert "Evaluation data: `" in text and "lhs.h5" in text
    assert "| divider.v_out | v_out [V] | grid-cubic |" in text and "| 6 | 0 |" in text  # 6 points, none outside
    assert (tmp_path / "report" / "divider.v_out__v_out_parity.png").read_bytes()[:8] == PNG


def test_two_value_axes_are_explained_in_plain_words(tmp_path):
    path = divider_grid(tmp_path, [1e3, 3e3], [0.5, 1.0], name="two")
    run = cli("fit", path, "-o", tmp_path / "lib.h5")
    assert run.returncode == 1 and len(run.stderr.splitlines()) == 1, run.stderr
    line = run.stderr.strip()
    assert line.startswith(f"cimspice: {path}: i_in: no point can be held out to score the candidates"), line
    assert "grid axes r2 (2 values), vin (2 values) have fewer than 3 values" in line
    assert "sweep one with num >= 3" in line and "--validation" in line and "interior" not in line
    assert not (tmp_path / "lib.h5").exists()


def test_a_lone_two_value_axis_is_named():
    X = np.array([[1.0], [2.0], [1.0], [2.0]])
    with pytest.raises(SurrogateError, match="grid axis v_wl has 2 values, so every point lies at an end"):
        holdout_split(X, "auto", grid=[np.array([1.0, 2.0])], names=["v_wl"])


def test_montecarlo_holds_out_whole_devices_inside_the_draws_range():
    """3 conditions x 20 samples with 2 drawn parameters: held out are whole samples (each
    at all 3 conditions), never one holding a smallest or largest draw."""
    rng = np.random.default_rng(0)
    draws = rng.normal(size=(20, 2))
    groups = np.tile(np.arange(20), 3)
    X = np.column_stack([np.repeat([0.1, 0.2, 0.3], 20), draws[groups]])
    train, validate, text = holdout_split(X, "auto", groups=groups, names=["v", "d1", "d2"])
    held = np.unique(groups[validate])
    assert held.size == 4 and "on 16 of 20 device instances" in text
    for s in held:
        assert validate[groups == s].all()  # every condition of a held-out device
    edge = {int(np.argmin(draws[:, j])) for j in range(2)} | {int(np.argmax(draws[:, j])) for j in range(2)}
    assert not edge & set(held.tolist())
    assert np.all(X[validate].min(0) >= X[train].min(0)) and np.all(X[validate].max(0) <= X[train].max(0))
    with pytest.raises(SurrogateError, match="Monte Carlo sweep of 2 samples: no sample can be held out.*more samples"):
        holdout_split(X[groups < 2], "auto", groups=groups[groups < 2])


def test_montecarlo_sweep_fits_new_devices_with_its_draws_as_inputs(tmp_path):
    """The draws of d_lng are inputs: the surrogate predicts devices it never saw (fresh draws)
    against the ReRAM's read law, an oracle that shares no code with the fit."""
    path = reram_montecarlo(tmp_path)
    run = cli("fit", path, "-o", tmp_path / "lib.h5", "--models", "poly-4", "gp")
    assert run.returncode == 0, run.stderr
    s = load_library(tmp_path / "lib.h5")["mc.i"]
    assert s.inputs == ["d_lng", "v"]
    assert s.validation["method"].startswith("held-out Monte Carlo samples: candidates fitted on 10 of 12 device")
    fresh = np.random.default_rng(5).uniform(s.domain_min[0], s.domain_max[0], 50)
    for v in (0.1, 0.3):
        law = -read_law(fresh, v)  # i(V1) flows into the source's + terminal
        pred = s.predict({"d_lng": fresh, "v": np.full(50, v)})
        assert np.max(np.abs(pred - law)) < 1e-3 * np.ptp(law)
