"""YAML for specs: data only (SafeLoader, no tags), with YAML 1.2's numbers.

PyYAML implements YAML 1.1, where ``1e-6`` (no dot) is a *string*; a designer writing
``i_in: [5e-6, 4e-5]`` means numbers. This loader reads every YAML 1.2 float as a float;
anything else that looks like a number with a unit (``1u``, ``600mV``) stays a string, which
the spec validators read as ngspice would (:func:`cimspice.validate.spice_number`) or refuse
with a clear message.
"""

from __future__ import annotations

import re
import sys

import yaml

from .validate import did_you_mean


class SpecLoader(yaml.SafeLoader):
    """SafeLoader that also resolves YAML 1.2 floats such as ``1e-6`` and ``-2E+3``."""


SpecLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"""^(?:[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+
                   |[-+]?\.[0-9_]+(?:[eE][-+]?[0-9]+)?
                   |[-+]?[0-9][0-9_]*\.[0-9_]*(?:[eE][-+]?[0-9]+)?
                   |[-+]?\.(?:inf|Inf|INF)
                   |\.(?:nan|NaN|NAN))$""", re.X),
    list("-+0123456789."),
)


def load_yaml(text: str):
    """Parse YAML text into plain Python data (dicts, lists, str, int, float, bool, None,
    dates). Every way the text can be unreadable raises ``yaml.YAMLError``."""
    try:
        return yaml.load(text, Loader=SpecLoader)  # noqa: S506 - SpecLoader is a SafeLoader
    except RecursionError:
        raise yaml.YAMLError("nested too deeply") from None
    except (ValueError, OverflowError) as error:
        # PyYAML's constructors raise these for scalars that match a tag's pattern but not
        # its conversion: '._' (float), '2001-02-30' (date), an int of over 4300 digits.
        raise yaml.YAMLError(f"unreadable value: {_first_line(error)}") from None


def yaml_problem(error: yaml.YAMLError) -> str:
    """What is wrong, on one line (PyYAML's own text adds lines of context and position)."""
    return _first_line(getattr(error, "problem", None) or error)


def _first_line(error) -> str:
    lines = [ln.strip() for ln in str(error).splitlines() if ln.strip()]
    return lines[0] if lines else type(error).__name__


def finite(value) -> bool:
    """A YAML number (int or float, not bool) that a float holds: false for NaN, infinities
    and ints past float's range (on which ``math.isfinite`` and ``float`` raise)."""
    return (isinstance(value, (int, float)) and not isinstance(value, bool)
            and -sys.float_info.max <= value <= sys.float_info.max)


def key_names(keys) -> str:
    """YAML keys (any string, number, null) for a one-line message: sorted, joined with
    commas, each as written or quoted when it holds a line break or other unprintable
    character."""
    return ", ".join(sorted(str(k) if str(k).isprintable() else repr(str(k)) for k in keys))


def unknown_keys(keys, known) -> str:
    """Misspelt YAML keys for a one-line "unknown ..." message: :func:`key_names` of them,
    then the close matches among the ``known`` keys (``"ouputs; did you mean 'outputs'?"``)."""
    keys = list(keys)
    return key_names(keys) + did_you_mean(map(str, keys), known)
