"""A surrogate's validation error in its output's unit beside %FS, and the absolute
tolerances that keep a tiny span's large %FS from warning (issue 17).

Oracles: the errors recomputed here from the sweep files (ngspice's values) and the
surrogates' predictions, read back from the printed text by a parser of its own; the full
scale as the span of the sweep's values, read with h5py.
"""

from __future__ import annotations

import re

import h5py
import numpy as np
import pytest
from small_sweeps import divider_grid
from surrogate_data import shown_errors

from cimspice.surrogate import SurrogateError, fit_surrogates, inspect_library, load_library, save_library

MODELS = ["grid-linear", "grid-cubic"]


@pytest.fixture(scope="module")
def divider(tmp_path_factory):
    """A 1k/r2 divider, r2 over four decades fitted on a linear axis: its v_out (V) fits to
    several %FS (tests/test_log_axes.py), an error of tens of mV."""
    return divider_grid(tmp_path_factory.mktemp("divider"), np.logspace(1, 5, 17), [0.0, 1.0])


def _fit(divider, **kwargs):
    fitted = fit_surrogates(divider, outputs="v_out", models=MODELS, input_scales={"r2": "linear"}, **kwargs)
    return fitted["divider.v_out"]


def _rms_volts(divider, s) -> float:
    """The held-out RMS error in V: the stored %FS of the full scale, the span of the sweep's
    v_out read here."""
    with h5py.File(divider, "r") as f:
        full_scale = float(np.ptp(f["outputs/v_out"][...]))
    return s.validation["rms_pct"][0] / 100 * full_scale


def _tolerance_shown(text: str, verdict: str) -> float:
    """The tolerance (V) in ``"<verdict> tolerance 12.3 mV"``."""
    match = re.search(rf"{verdict} tolerance (-?[0-9.]+(?:e-?[0-9]+)?) ([munp]?)V\b", text)
    assert match, text
    return float(match.group(1)) * {"": 1, "m": 1e-3, "u": 1e-6, "n": 1e-9, "p": 1e-12}[match.group(2)]


def test_fit_warning_gives_the_error_in_volts_and_is_kept_within_a_tolerance(divider, tmp_path):
    plain = _fit(divider)
    rms = _rms_volts(divider, plain)
    assert plain.validation["rms_pct"][0] > 1 and 1e-3 < rms < 0.5, rms  # the case in point: above 1 %FS
    [(shown, pct)] = shown_errors(plain.validation["warning"], "held-out RMS error", "V")
    assert shown == pytest.approx(rms, rel=6e-3) and pct == pytest.approx(plain.validation["rms_pct"][0], rel=6e-3)

    within = _fit(divider, abs_tolerance={"v_out": 10 * rms})
    assert "warning" not in within.validation and within.provenance["abs_tolerance"] == 10 * rms
    above = _fit(divider, abs_tolerance={"v_out": rms / 10})
    assert "above 1 %FS and the output's tolerance" in above.validation["warning"]
    assert _tolerance_shown(above.validation["warning"], "output's") == pytest.approx(rms / 10, rel=6e-3)
    # the same scores either way: a tolerance changes no fit
    assert within.validation["rms_pct"] == above.validation["rms_pct"] == plain.validation["rms_pct"]

    save_library(tmp_path / "lib.h5", within)
    text = inspect_library(tmp_path / "lib.h5")
    assert "WARNING" not in text
    assert _tolerance_shown(text, "within") == pytest.approx(10 * rms, rel=6e-3)
    [(shown, _)] = shown_errors(text, "validation RMS", "V")
    assert shown == pytest.approx(rms, rel=6e-3)
    save_library(tmp_path / "above.h5", above)
    text = inspect_library(tmp_path / "above.h5")
    assert "WARNING: held-out RMS error" in text
    assert _tolerance_shown(text, "above") == pytest.approx(rms / 10, rel=6e-3)


def test_tolerances_are_checked_where_they_come_in(divider, tmp_path):
    with pytest.raises(SurrogateError, match=r"abs_tolerance for 'v_ot', not an output of the sweep"):
        _fit(divider, abs_tolerance={"v_ot": 1e-3})
    for bad in (0.0, -1e-3, float("nan"), "1m"):
        with pytest.raises(SurrogateError, match=r"abs_tolerance\['v_out'\] must be a finite number > 0"):
            _fit(divider, abs_tolerance={"v_out": bad})
    path = save_library(tmp_path / "lib.h5", _fit(divider, abs_tolerance={"v_out": 1e-3}))
    with h5py.File(path, "r+") as f:
        f["surrogates/divider.v_out/provenance"].attrs["abs_tolerance"] = np.inf
    with pytest.raises(SurrogateError, match=r"lib\.h5: /surrogates/divider\.v_out/provenance/abs_tolerance: inf is "
                                             r"not a finite number > 0"):
        load_library(path)
