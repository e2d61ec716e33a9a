"""The one set of value checks (cimspice.validate): one message style, the caller's error class."""

import numpy as np
import pytest

from cimspice import CimspiceError
from cimspice.characterize.errors import SpecError
from cimspice.characterize.spec import parse_sweep_spec
from cimspice.circuits import CircuitError, Crossbar, TransimpedanceAmplifier
from cimspice.circuits.area import transistor_area
from cimspice.surrogate import PolynomialRidge, SurrogateError
from cimspice.validate import require_in_range, require_int, require_nonnegative, require_number, require_positive


class LayerError(CimspiceError):
    pass


@pytest.mark.parametrize("check, value, message", [
    (lambda v: require_number(v, "x", LayerError, unit="V"), "1u", "x: expected a number in V, got '1u'"),
    (lambda v: require_number(v, "x", LayerError), float("nan"), "x: expected a finite number, got nan"),
    (lambda v: require_number(v, "x", LayerError), True, "x: expected a number, got True"),
    (lambda v: require_positive(v, "r_f", LayerError, unit="ohm"), 0, "r_f: expected a positive number in ohm, got 0"),
    (lambda v: require_positive(v, "r_f", LayerError), float("inf"), "r_f: expected a positive number, got inf"),
    (lambda v: require_nonnegative(v, "c", LayerError, unit="F"), -1e-15, "c: expected a number >= 0 in F, got -1e-15"),
    (lambda v: require_in_range(v, 0.0, 1.3, "v_wl", LayerError, unit="V"), 3.0,
     "v_wl: expected a number in [0, 1.3] V, got 3.0"),
    (lambda v: require_in_range(v, 0.0, 1.3, "v_wl", LayerError), np.float64("nan"),
     "v_wl: expected a number in [0, 1.3], got nan"),
    (lambda v: require_int(v, "bits", LayerError, lo=1, hi=16), 2.0, "bits: expected an integer in [1, 16], got 2.0"),
    (lambda v: require_int(v, "n", LayerError, lo=1), np.int64(0), "n: expected an integer >= 1, got 0"),
    (lambda v: require_int(v, "n", LayerError), False, "n: expected an integer, got False"),
])
def test_a_refusal_is_one_line_in_the_callers_error(check, value, message):
    with pytest.raises(LayerError) as info:
        check(value)
    assert str(info.value) == message


def test_accepted_values_come_back_as_plain_python_numbers():
    for value, check, expected in [(np.float32(0.5), require_number(np.float32(0.5), "x"), 0.5),
                                   (3, require_positive(3, "x"), 3.0),
                                   (np.int64(7), require_int(np.int64(7), "n", lo=1, hi=7), 7)]:
        assert check == expected and type(check) is type(expected), value
    assert require_in_range(1.3, 0.0, 1.3, "v") == 1.3 and require_nonnegative(0, "c") == 0.0


@pytest.mark.parametrize("make, error, message", [
    (lambda: TransimpedanceAmplifier(r_f="5k"), CircuitError, "tia: r_f: expected a positive number in ohm, got '5k'"),
    (lambda: TransimpedanceAmplifier(adc_bits=17), CircuitError,
     "tia: adc_bits: expected an integer in [1, 16], got 17"),
    (lambda: Crossbar(2, 2, r_wire=-1.0), CircuitError, "crossbar: r_row: expected a number >= 0 in ohm, got -1.0"),
    (lambda: Crossbar(2, 0), CircuitError, "crossbar: cols: expected an integer >= 1, got 0"),
    (lambda: transistor_area(0.0, 50e-9), CircuitError, "area: w: expected a positive number in m, got 0.0"),
    (lambda: PolynomialRidge(alpha="0.1"), SurrogateError, "PolynomialRidge: alpha: expected a number >= 0, got '0.1'"),
    (lambda: parse_sweep_spec({"circuit": "cell_1t1r", "parameters": {"v_bl": "0.1 V"}}, source="s.yaml"), SpecError,
     "s.yaml: parameters.v_bl: expected a number in V (e.g. 0.6, 600m, 1.2u, 10meg), got '0.1 V'"),
])
def test_every_layer_refuses_a_bad_number_in_the_same_words(make, error, message):
    with pytest.raises(error) as info:
        make()
    assert str(info.value) == message


@pytest.mark.parametrize("huge", [10**400, 10**5000], ids=["10^400", "10^5000"])
def test_integers_past_float_range_are_refused_in_one_line(huge):
    """Found by the spec fuzzer: math.isfinite raises OverflowError on them, and str() of
    the larger one raises ValueError (Python's digit limit)."""
    for check in (require_number, require_positive, require_nonnegative):
        with pytest.raises(CimspiceError, match=r"^g: expected a .*number.*, got ") as info:
            check(huge, "g")
        assert len(str(info.value)) < 120 and "\n" not in str(info.value)
