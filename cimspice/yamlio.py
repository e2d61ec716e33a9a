"""YAML for specs: data only (SafeLoader, no tags), with YAML 1.2's numbers.

PyYAML implements YAML 1.1, where ``1e-6`` (no dot) is a *string*; a designer writing
``i_in: [5e-6, 4e-5]`` means numbers. This loader reads every YAML 1.2 float as a float;
anything else that looks like a number with a unit (``1u``, ``300K``) stays a string, which
the spec validators refuse with a clear message.
"""

from __future__ import annotations

import re

import yaml


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
    """Parse YAML text into plain Python data (dicts, lists, str, int, float, bool, None)."""
    return yaml.load(text, Loader=SpecLoader)  # noqa: S506 - SpecLoader is a SafeLoader
