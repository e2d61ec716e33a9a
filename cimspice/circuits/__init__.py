"""Circuits as Python objects: sized instances with declared parameters and measurements.

``get_circuit(name, **sizes)`` builds any registered circuit by name, which is how sweep
specifications refer to them.
"""

import re

from ..validate import did_you_mean
from .adc_flash import FlashADC
from .adc_ramp import RampADC
from .adc_sar import SarADC
from .base import Circuit, CircuitError, Measured, Measurement, Parameter
from .cam_row import CamRow
from .cell import Cell1T1R
from .comparator import StrongArmComparator
from .crossbar import Crossbar
from .dac import RowDAC
from .diff_pair import DiffPairActivation
from .integrator import Integrator
from .lut_baseline import LutActivation
from .opamp import OpAmp
from .pooling import AveragePool, MaxPool
from .pwl_unit import PwlUnit
from .sample_hold import SampleHold
from .sense_amp import CurrentSenseAmplifier
from .signature import constructor_args
from .tia import TransimpedanceAmplifier
from .wl_driver import WordLineDriver

CIRCUITS: dict[str, type[Circuit]] = {
    Cell1T1R.name: Cell1T1R,
    OpAmp.name: OpAmp,
    TransimpedanceAmplifier.name: TransimpedanceAmplifier,
    CurrentSenseAmplifier.name: CurrentSenseAmplifier,
    Integrator.name: Integrator,
    StrongArmComparator.name: StrongArmComparator,
    FlashADC.name: FlashADC,
    SarADC.name: SarADC,
    RampADC.name: RampADC,
    PwlUnit.name: PwlUnit,
    LutActivation.name: LutActivation,
    DiffPairActivation.name: DiffPairActivation,
    AveragePool.name: AveragePool,
    MaxPool.name: MaxPool,
    WordLineDriver.name: WordLineDriver,
    RowDAC.name: RowDAC,
    SampleHold.name: SampleHold,
    CamRow.name: CamRow,
}


def get_circuit(name: str, **sizes) -> Circuit:
    """An instance of the registered circuit ``name`` built with ``sizes``."""
    try:
        cls = CIRCUITS[name]
    except (KeyError, TypeError):
        hint = did_you_mean(name, CIRCUITS) if isinstance(name, str) else ""
        raise CircuitError(f"unknown circuit {name!r} (known: {', '.join(sorted(CIRCUITS))}){hint}") from None
    try:
        return cls(**sizes)
    except TypeError as error:
        unexpected = re.search(r"unexpected keyword argument '(\w+)'", str(error))
        if unexpected:
            known = [a.name for a in constructor_args(cls)]
            raise CircuitError(f"circuit {name}: unknown argument {unexpected.group(1)!r} (known: {', '.join(known)})"
                               f"{did_you_mean(unexpected.group(1), known)}") from None
        raise CircuitError(f"circuit {name}: {error}") from None


__all__ = ["CIRCUITS", "CamRow", "Cell1T1R", "Circuit", "CircuitError", "Crossbar", "CurrentSenseAmplifier",
           "DiffPairActivation", "Integrator", "FlashADC", "OpAmp", "RampADC", "RowDAC", "SampleHold", "SarADC",
           "StrongArmComparator",
           "TransimpedanceAmplifier", "Measured", "Measurement", "Parameter", "WordLineDriver", "get_circuit"]
