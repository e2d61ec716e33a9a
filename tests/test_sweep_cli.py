"""`cimspice sweep` on bad input: one clear line, a non-zero exit, and existing data untouched."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys

import pytest

DIVIDER = "divider\n.param r2=1k vin=1\nV1 a 0 dc {vin}\nR1 a b 1k\nR2 b 0 {r2}\n.end\n"
GOOD = """netlist: div.cir
parameters:
  r2: {values: [1000.0, 3000.0]}
  vin: {start: 0.0, stop: 2.0, num: 3}
outputs:
  v_out: {vector: "v(b)", unit: "V"}
"""


def cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "cimspice.cli", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, timeout=300)


def sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """A finished sweep file of GOOD (made once)."""
    folder = tmp_path_factory.mktemp("finished")
    (folder / "div.cir").write_text(DIVIDER)
    (folder / "good.yaml").write_text(GOOD)
    run = cli("sweep", folder / "good.yaml", "-o", folder / "out.h5", "--no-progress")
    assert run.returncode == 0, run.stderr
    assert "out.h5: 6 ok, 0 converged with aids, 0 failed, 0 pending of 6 points" in run.stdout
    return folder / "out.h5"


@pytest.fixture
def bench(tmp_path, finished):
    (tmp_path / "div.cir").write_text(DIVIDER)
    (tmp_path / "good.yaml").write_text(GOOD)
    shutil.copy(finished, tmp_path / "out.h5")
    return tmp_path


CASES = {
    "malformed YAML": ("spec.yaml", GOOD.replace("r2: {values", "r2: {values: [1"),
                       "spec.yaml: malformed YAML at line"),
    "unknown circuit": ("spec.yaml", "circuit: cell_9t9r\nparameters:\n  v_bl: {values: [0.1]}\n",
                        "spec.yaml: circuit: unknown circuit 'cell_9t9r' (known: "),
    "out of bounds": ("spec.yaml", "circuit: cell_1t1r\nparameters:\n  v_bl: {values: [0.1, 7.0]}\n",
                      "spec.yaml: parameter v_bl: 7 V outside the circuit's bounds [0, 1] V"),
    "wrong units": ("spec.yaml", "circuit: cell_1t1r\ntemperatures: [27 C]\nparameters:\n  v_bl: 0.1\n",
                    "spec.yaml: temperatures: expected a number in degC (e.g. 0.6, 600m, 1.2u, 10meg), "
                    "got '27 C'"),
    "shell in netlist": ("div.cir", DIVIDER.replace(".end", "shell rm -rf $HOME\n.end"),
                         "div.cir: line 6: 'shell' is an ngspice command"),
    "other spec": ("spec.yaml", GOOD.replace("3000.0", "4000.0"), "out.h5: written by a different sweep spec"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_one_line_nonzero_exit_data_intact(bench, case):
    name, text, message = CASES[case]
    spec = bench / "spec.yaml"
    if name == "spec.yaml":
        spec.write_text(text)
    else:
        (bench / name).write_text(text)
        spec.write_text(GOOD)
    before = {p.name: sha(p) for p in bench.iterdir()}
    run = cli("sweep", spec, "-o", bench / "out.h5", "--resume", "--no-progress")
    assert run.returncode == 1
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in run.stderr, run.stderr
    assert lines[0].startswith("cimspice: ") and message in lines[0], lines[0]
    assert {p.name: sha(p) for p in bench.iterdir()} == before  # nothing written, nothing left behind


def test_existing_output_needs_resume_or_force(bench):
    digest = sha(bench / "out.h5")
    run = cli("sweep", bench / "good.yaml", "-o", bench / "out.h5")
    assert run.returncode == 1 and run.stderr.strip() == (
        f"cimspice: {bench / 'out.h5'}: exists; use --resume to continue it or --force to replace it")
    run = cli("sweep", bench / "good.yaml", "-o", bench / "out.h5", "--resume", "--force")
    assert run.returncode == 1 and "exclude each other" in run.stderr
    run = cli("sweep", bench / "good.yaml", "-o", bench / "out.h5", "--resume")  # finished: nothing to do
    assert run.returncode == 0 and "this run: 0 points" in run.stdout
    assert sha(bench / "out.h5") == digest
    (bench / "other.yaml").write_text(GOOD.replace("3000.0", "4000.0"))
    run = cli("sweep", bench / "other.yaml", "-o", bench / "out.h5", "--force", "--no-progress")
    assert run.returncode == 0 and sha(bench / "out.h5") != digest


def test_unwritable_output(bench):
    # Permissions do not stop root, so use a place nobody may create files in.
    target = "/sys/cimspice-test.h5" if os.geteuid() == 0 else None
    if target is None:
        locked = bench / "locked"
        locked.mkdir()
        locked.chmod(0o555)
        target = locked / "out.h5"
    run = cli("sweep", bench / "good.yaml", "-o", target)
    lines = run.stderr.strip().splitlines()
    assert run.returncode == 1 and len(lines) == 1, run.stderr
    assert f"{target}: cannot write in " in lines[0] and ("Permission denied" in lines[0] or "Read-only" in lines[0])
    run = cli("sweep", bench / "good.yaml", "-o", bench / "missing" / "out.h5")
    assert run.returncode == 1 and "folder" in run.stderr and "does not exist" in run.stderr
