"""Reading ngspice 39's console output: success, success with help, or which failure.

ngspice reports everything through one character stream with ``stdout``/``stderr``
prefixes, and writes informational lines ("Note: ...", "Trying gmin = ...") on stderr.
A line on stderr therefore says nothing by itself; what matters is whether the analysis
aborted, and if it did, why.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .errors import (
    ConvergenceError,
    NetlistError,
    ParameterError,
    SingularMatrixError,
    SpiceError,
    TimestepTooSmallError,
)

# Markers of a run that ended without a result (matched on lower-cased lines).
_ABORTED = ("simulation(s) aborted", "dc solution failed", "simulation interrupted")
_NOT_PARSED = ("circuit not parsed", "error on line", "could not find a valid modelname",
               "unknown subckt", "no circuit loaded")
_UNKNOWN_NAME = ("parameter '", "no such device or model name", "no such parameter",
                 "not found", "bad syntax")
# ngspice's fall-backs when plain Newton iteration fails, in the order it tries them.
_AIDS = (
    ("starting dynamic gmin stepping", "gmin stepping"),
    ("starting true gmin stepping", "gmin stepping"),
    ("starting source stepping", "source stepping"),
    ("transient op started", "transient op"),
)
_SINGULAR_NODE = re.compile(r"singular matrix:\s*check node\s+(\S+)", re.IGNORECASE)
# Every marker the full reading looks for (lower case; "error" and "warning:" anywhere, where
# it looks for them at a line's start): console output with none of them is a plain success,
# told by substring tests (a regex alternation took 20 us a command; most commands print
# nothing, an op three lines of its own).
_MARKERS = (*_ABORTED, *_NOT_PARSED, *(m for m, _ in _AIDS), "error", "warning:")


@dataclass(frozen=True)
class Outcome:
    """What one ngspice command's output says happened.

    ``status`` is ``"ok"`` (plain Newton converged), ``"aided"`` (converged only after the
    listed ``aids``) or ``"failed"``; ``error`` is the exception to raise when failed.
    """

    status: str
    aids: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    error: SpiceError | None = field(default=None, compare=False)


_OK = Outcome("ok")


def _content(line: str) -> str:
    return line.partition(" ")[2] if line.startswith(("stdout ", "stderr ")) else line


def classify(lines: list[str], *, analysis: str = "", source: str = "") -> Outcome:
    """Classify the console lines ngspice printed while running one command.

    Parameters
    ----------
    lines : list of str
        Raw lines from the shared library's output callback (``"stderr ..."``, ``"stdout ..."``).
    analysis : str
        The command's verb (``"op"``, ``"tran"``...), used to word the errors.
    source : str
        Netlist origin, for error messages.
    """
    # the "stderr " prefix itself contains "error": dropped before the test
    low = "\n".join(lines).lower().replace("stderr ", "")
    if not any(m in low for m in _MARKERS):
        return _OK  # what the reading below concludes when no marker is there, without it
    text = [_content(line).strip() for line in lines]
    low = [t.lower() for t in text]
    log = "\n".join(lines)

    aids: list[str] = []
    for marker, aid in _AIDS:
        if any(marker in t for t in low) and aid not in aids:
            aids.append(aid)
    warnings = tuple(t for t in text if t.lower().startswith("warning:")
                     and "gmin" not in t.lower() and "source stepping" not in t.lower())

    def failed(error: SpiceError) -> Outcome:
        return Outcome("failed", tuple(aids), warnings, error)

    errors = [t for t in text if t.lower().startswith("error")]
    if any(m in t for t in low for m in _NOT_PARSED):
        k = next(i for i, t in enumerate(low) if any(m in t for m in _NOT_PARSED))
        detail = " ".join(t for t in text[k:k + 3] if t).rstrip(":")
        return failed(NetlistError(f"ngspice could not parse the circuit: {detail}", log=log, source=source))

    aborted = any(m in t for t in low for m in _ABORTED)
    if not aborted and errors:
        # A command-level error (unknown parameter, device, vector) rather than a failed run.
        message = " ".join(t for t in text if t.lower().startswith(("error", "command"))).strip()
        if any(m in message.lower() for m in _UNKNOWN_NAME):
            return failed(ParameterError(message, log=log, source=source))
        return failed(SpiceError(message, log=log, source=source))
    if not aborted:
        return Outcome("aided" if aids else "ok", tuple(aids), warnings)

    singular = _SINGULAR_NODE.findall(log)
    too_small = any("timestep too small" in t for t in low)
    what = analysis or "analysis"
    if "interrupted" in " ".join(low):
        return failed(SpiceError(f"{what} interrupted", log=log, source=source))
    if too_small and what == "tran":
        where = next((t for t in text if "timestep too small" in t.lower()), "")
        return failed(TimestepTooSmallError(f"tran aborted: {where}", log=log, source=source))
    if singular:
        nodes = ", ".join(dict.fromkeys(singular))
        return failed(SingularMatrixError(f"{what}: singular matrix at node(s) {nodes}", log=log, source=source))
    tried = f" after {', '.join(aids)}" if aids else ""
    return failed(ConvergenceError(f"{what} did not converge{tried}", log=log, source=source))
