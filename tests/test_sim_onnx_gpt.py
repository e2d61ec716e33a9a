"""The shipped GPT written to ONNX (`cimspice.sim.zoo.export.gpt_to_onnx`) and read back by the
importer like any transformer: causal mask (-inf through Where), attention, GELU, residuals.

Oracles: the Python-built GPT (`cimspice.sim.network.GPT`, which shares no code with the
exporter or the importer); onnxruntime's inference of the exported file against the
trainer's (PyTorch's) logits stored in the zoo file.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")
from onnx_models import assert_rel, ort_run  # noqa: E402

from cimspice.cli import main  # noqa: E402
from cimspice.sim.backend import AnalogBackend  # noqa: E402
from cimspice.sim.errors import SimError  # noqa: E402
from cimspice.sim.graph import Graph  # noqa: E402
from cimspice.sim.graph_layers import Mask  # noqa: E402
from cimspice.sim.network import perplexity  # noqa: E402
from cimspice.sim.onnx_import import load_onnx  # noqa: E402
from cimspice.sim.spec import parse_system_spec  # noqa: E402
from cimspice.sim.zoo import load_dataset, load_network, read_network_file  # noqa: E402
from cimspice.sim.zoo.export import gpt_to_onnx  # noqa: E402

IDEAL = {"array": {"rows": 32, "cols": 32, "cell_bits": None}, "inputs": {"encoding": "dac", "bits": None},
         "adc": {"bits": None, "partial_sum_bits": None}}


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    return gpt_to_onnx(tmp_path_factory.mktemp("gpt") / "gpt.onnx")


def test_exported_gpt_on_the_ideal_system_is_the_python_gpt(exported):
    net, gpt = load_onnx(exported), load_network("gpt")
    assert type(net) is Graph and net.metric == gpt.metric == "perplexity"
    assert list(net.matrices()) == list(gpt.matrices())          # same names: same draws on analog systems
    assert sum(isinstance(a, Mask) for a in net.layers) == 2     # one causal mask per block, -inf kept
    x, y = load_dataset("gpt", "test", n=8)
    backend = AnalogBackend(parse_system_spec(IDEAL))
    backend.calibrate(net, load_dataset("gpt", "train", n=4)[0])
    ours, theirs = net.forward(x, backend), gpt.forward(x)
    assert ours.shape == theirs.shape == (8, 64, 96)
    assert_rel(ours, theirs, 1e-6)
    assert perplexity(ours, y) == pytest.approx(perplexity(theirs, y), rel=1e-8)
    assert net.score(x, y) == pytest.approx(gpt.score(x, y), rel=1e-8)


def test_exported_gpt_runs_in_onnxruntime_as_the_trainer(exported):
    """The export itself, checked by an engine that shares no code with cimspice."""
    ref = read_network_file(load_network("gpt").info["path"])[3]
    assert_rel(ort_run(exported, ref["inputs"]), ref["logits"], 1e-5)
    model = onnx.load(str(exported))
    ops = {n.op_type for n in model.graph.node}
    assert {"Where", "Softmax", "LayerNormalization", "Erf", "Split", "Gather"} <= ops


def test_cli_scores_the_exported_gpt_by_perplexity_on_its_text(exported, tmp_path, capsys):
    """The file's metadata say how it is scored and on which held-out data."""
    assert main(["simulate", "ideal", "--network", str(exported), "--samples", "4", "--adc-bits",
                 "-o", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    float_ppl, analog_ppl = (float(v) for v in re.search(r"perplexity\s+float ([\d.]+)\s+analog ([\d.]+)",
                                                         out).groups())
    x, y = load_dataset("gpt", "test", n=4)
    assert float_ppl == analog_ppl == pytest.approx(load_network("gpt").score(x, y), abs=5e-4)


def test_bad_metadata_is_refused(exported, tmp_path):
    for key, value, message in (("cimspice.metric", "bleu", "metadata cimspice.metric is 'bleu'"),
                                ("cimspice.zoo_data", "../x", "metadata cimspice.zoo_data is '../x', not a shipped")):
        model = onnx.load(str(exported))
        onnx.helper.set_model_props(model, {key: value})
        path = tmp_path / "bad.onnx"
        onnx.save(model, str(path))
        with pytest.raises(SimError, match=re.escape(message)):
            load_onnx(path)


def test_only_gpt_files_export(tmp_path):
    with pytest.raises(SimError, match="kind 'sequential', not a GPT"):
        gpt_to_onnx(tmp_path / "m.onnx", "mlp")


@pytest.mark.slow
def test_exported_gpt_on_the_baseline_system_is_the_python_gpt(exported):
    """Every non-ideality on: the same matrix names draw the same devices, so perplexity,
    energy, latency and area agree (the logits differ by the export's float32 scalars only:
    such a difference moves an ADC input across a transition now and then, which moves the
    perplexity by 6.4e-5 relative with the 6-bit SAR's measured transitions). About 15 s."""
    from cimspice.sim.simulate import simulate

    ours, theirs = (simulate("baseline", n, n_samples=8, calibration_samples=16) for n in (str(exported), "gpt"))
    assert ours.metric == "perplexity"
    assert ours.analog_metric == pytest.approx(theirs.analog_metric, rel=2e-4)
    # a moved code changes the next layer's currents, so the TIA's current-dependent energy too
    assert ours.costs.total_energy == pytest.approx(theirs.costs.total_energy, rel=1e-5)
    assert ours.costs.latency == theirs.costs.latency and ours.costs.total_area == theirs.costs.total_area
    assert np.isfinite(ours.analog_metric)
