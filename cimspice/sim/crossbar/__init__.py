"""SPICE-exact DC solver for resistive crossbars with wire resistance, and its cell models.

NumPy/SciPy only. The public surface is re-exported here; the modules are

- :mod:`.solver`: :class:`CrossbarSolver` (Newton over the nodal equations, method choice,
  caching) and its result :class:`CrossbarSolution`;
- :mod:`.cells`, :mod:`.array_cell`: cell models (the :class:`Cell` protocol, analytic cells,
  surrogate-backed cells);
- :mod:`.factors`: the separable read-current form the analog tiles use (one shared
  factorisation per surrogate cell model);
- :mod:`.network`, :mod:`.line_algebra`, :mod:`.transfer`: the solver's nodal equations,
  line-chain and Krylov solves, and the condensed transfer matrix (private);
- :mod:`.errors`: :class:`SolverError` and :class:`SolverConvergenceError`.

Dependencies run one way: errors <- line_algebra <- network, transfer <- solver, and
errors <- cells <- solver, cells and transfer <- factors; no cell model imports the solver.
"""

from .array_cell import SurrogateArrayCell
from .cells import Cell, LinearCell, SinhCell, SurrogateCell, cell_read
from .errors import SolverConvergenceError, SolverError
from .factors import FACTOR_ERROR_SHARE, cell_factors, cell_reads
from .solver import AUTO_DIRECT_MAX_CELLS, CONDENSE_MAX_CELLS, CrossbarSolution, CrossbarSolver

__all__ = ["AUTO_DIRECT_MAX_CELLS", "CONDENSE_MAX_CELLS", "FACTOR_ERROR_SHARE", "Cell", "CrossbarSolution",
           "CrossbarSolver", "LinearCell", "SinhCell", "SolverConvergenceError", "SolverError", "SurrogateArrayCell",
           "SurrogateCell", "cell_factors", "cell_read", "cell_reads"]
