"""cimspice.surrogate: sweep files -> fitted, validated models -> HDF5 surrogate library.

Typical use::

    from cimspice.surrogate import fit_surrogates, save_library, load_library

    surrogates = fit_surrogates("cell.h5", outputs=["I_cell"], output_scales={"I_cell": "linear"})
    save_library("library.h5", surrogates, append=True)
    lib = load_library("library.h5")
    I = lib["cell_1t1r.I_cell"].predict({"R": r, "V_WL": vwl, "V_BL": vbl})  # (n,) A

Model families (:mod:`.models`): :class:`GridInterpolator` (linear / cubic on a full
grid), :class:`PolynomialRidge`, :class:`GaussianProcess`, :class:`MLP`. Fitting uses
scikit-learn; evaluation (``predict``) and loading need only NumPy and h5py, and nothing
in a library file is ever unpickled or executed. :class:`LazyLibrary` reads a library file
table by table, each when first looked up (what the simulator uses). The file format is documented in
docs/surrogate_schema.md. A sweep file's points come out as an ``xarray.Dataset``
(:func:`open_sweep_dataset`, the ``xarray`` extra) or a CSV table (:func:`export_csv`).
"""

from .core import OUT_OF_DOMAIN_POLICIES, SCALES, Surrogate
from .errors import SurrogateDomainError, SurrogateDomainWarning, SurrogateError
from .export import export_csv, open_sweep_dataset
from .fit import DEFAULT_MODELS, FIT_VERSION, fit_surrogates, holdout_split, make_model, score_pct
from .lazy import LazyLibrary, LibraryView
from .library import (
    LIBRARY_SCHEMA,
    LIBRARY_SCHEMA_VERSION,
    fit_library,
    format_surrogates,
    inspect_library,
    load_blocks,
    load_library,
    save_library,
    select_corner,
    surrogate_corner,
)
from .models import MLP, MODEL_KINDS, GaussianProcess, GridInterpolator, PolynomialRidge, SurrogateModel
from .report import write_report
from .sweep import SweepData, file_sha256, read_sweep

__all__ = [
    "select_corner",
    "surrogate_corner",
    "DEFAULT_MODELS",
    "FIT_VERSION",
    "LIBRARY_SCHEMA",
    "LIBRARY_SCHEMA_VERSION",
    "MLP",
    "MODEL_KINDS",
    "OUT_OF_DOMAIN_POLICIES",
    "SCALES",
    "GaussianProcess",
    "LazyLibrary",
    "LibraryView",
    "GridInterpolator",
    "PolynomialRidge",
    "Surrogate",
    "SurrogateDomainError",
    "SurrogateDomainWarning",
    "SurrogateError",
    "SurrogateModel",
    "SweepData",
    "export_csv",
    "file_sha256",
    "fit_library",
    "fit_surrogates",
    "format_surrogates",
    "holdout_split",
    "inspect_library",
    "load_blocks",
    "load_library",
    "make_model",
    "open_sweep_dataset",
    "read_sweep",
    "save_library",
    "score_pct",
    "write_report",
]
