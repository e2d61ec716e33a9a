"""Running a study the way a user does, for the study tests: ``cimspice study NAME --quick``
in a fresh process."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path


def run_quick_study(name: str, out: Path, timeout: float = 900) -> str:
    """Run study ``name`` into ``out``; check that it exited 0 and that every figure its
    report links is a real PNG (over 10 kB); return the report's text."""
    run = subprocess.run([sys.executable, "-m", "cimspice.cli", "study", name, "--quick", "-o", str(out),
                          "--no-progress"], capture_output=True, text=True, timeout=timeout)
    assert run.returncode == 0, run.stderr
    text = (out / "report.md").read_text()
    pngs = re.findall(r"\]\(([^)]+\.png)\)", text)
    assert pngs and all((out / png).stat().st_size > 10_000 for png in pngs)
    return text
