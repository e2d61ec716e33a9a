"""Typed failures of an ngspice run, each carrying ngspice's own log."""

from __future__ import annotations

from .. import CimspiceError


class SpiceError(CimspiceError):
    """A failure reported by (or around) ngspice.

    Attributes
    ----------
    log : str
        ngspice's output for the failing command, ``stdout``/``stderr`` prefixes kept.
    source : str
        Where the netlist came from (a file path or ``"<string>"``), for messages.
    """

    def __init__(self, message: str, *, log: str = "", source: str = ""):
        self.log = log
        self.source = source
        super().__init__(f"{source}: {message}" if source else message)

    def log_excerpt(self, lines: int = 12) -> str:
        """The last ``lines`` lines of the log: what a sweep file records beside a failure."""
        return "\n".join(self.log.splitlines()[-lines:])


class EngineUnavailableError(SpiceError):
    """libngspice could not be loaded, or a second engine was asked for in one process."""


class NetlistError(SpiceError):
    """The netlist is missing, unreadable, refused, or ngspice could not parse it."""


class ParameterError(SpiceError):
    """An unknown parameter/device name, or a value that is not a finite real number."""


class MissingVectorError(ParameterError):
    """A requested result vector the circuit does not have (e.g. a typo in an output's
    name). It is the same at every point, so a sweep stops on it rather than retrying.

    Attributes
    ----------
    reason : str
        The message without the netlist's name.
    vector : str
        The vector asked for, as written (``"v(outt)"``).
    output : str
        The output that reads it (its name in the sweep spec), ``""`` when not known.
    """

    def __init__(self, message: str, *, vector: str = "", output: str = "", log: str = "", source: str = ""):
        super().__init__(message, log=log, source=source)
        self.reason, self.vector, self.output = message, vector, output

    def __reduce__(self):  # keep the fields across a worker process's pickle
        return _missing_vector, (self.reason, self.vector, self.output, self.log, self.source)


def _missing_vector(reason: str, vector: str, output: str, log: str, source: str) -> MissingVectorError:
    return MissingVectorError(reason, vector=vector, output=output, log=log, source=source)


class ConvergenceError(SpiceError):
    """The analysis did not converge, even after ngspice's gmin and source stepping."""


class SingularMatrixError(ConvergenceError):
    """The circuit matrix is singular (a loop of voltage sources, a floating subnetwork...)."""


class TimestepTooSmallError(ConvergenceError):
    """A transient run aborted with "timestep too small"."""


class SimulationTimeout(SpiceError):
    """The analysis ran past its time limit and was halted."""
