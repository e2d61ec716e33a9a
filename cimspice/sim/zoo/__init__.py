"""Trained reference networks shipped with cimspice, and the held-out data that scores them.

::

    from cimspice.sim.zoo import load_network, load_dataset
    net = load_network("cnn")                 # NumPy network object
    x, y = load_dataset("cnn", "test")        # held-out digits, shaped for the CNN
    net.score(x, y)                           # float accuracy, the reference

Every network is an HDF5 file next to this module (schema ``cimspice.network``, arrays and
plain attributes only, see docs/system.md), written by ``scripts/train_zoo.py``, which
reproduces it from a fixed seed. The data are real and ship with installed packages:
scikit-learn's 8x8 digits, and for the GPT, docstrings of the Python standard library
(the held-out text itself is stored in the file, so the score does not depend on the
Python version installed).

:func:`~cimspice.sim.zoo.export.gpt_to_onnx` writes the GPT as an ONNX transformer, which
:func:`~cimspice.sim.onnx_import.load_onnx` reads back like any other (docs/onnx.md).
"""

from .export import gpt_to_onnx
from .store import (
                    NETWORK_SCHEMA,
                    NETWORK_SCHEMA_VERSION,
                    ZOO_DIR,
                    list_networks,
                    load_dataset,
                    load_network,
                    read_network_file,
                    save_network,
)

__all__ = ["NETWORK_SCHEMA", "NETWORK_SCHEMA_VERSION", "ZOO_DIR", "gpt_to_onnx", "list_networks", "load_dataset",
           "load_network", "read_network_file", "save_network"]
