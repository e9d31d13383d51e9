"""The MC dropout rate survives ONNX export: stochastic graphs take it as the ``rate`` input, the
file's metadata carries the per-mode rates, and the ONNX backend feeds each mode's rate."""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from models import ModelMeta, create_model, save_checkpoint
from models.backend_onnx import load_onnx_segmenter
from models.onnx import export_module, export_onnx, read_onnx_info
from models.onnx.graph import ProbabilityGraph
from models.onnx.metadata import OnnxModelInfo, metadata_props
from streaming import Mode, predict_batch


@pytest.mark.parametrize(("layer", "channelwise"), [(nn.Dropout2d(0.3), True), (nn.Dropout(0.3), False)])
def test_the_rate_input_sets_the_drop_rate_and_scaling(tmp_path: Path, layer: nn.Module, channelwise: bool) -> None:
    graph = ProbabilityGraph(layer, stochastic=True, probabilities=False)
    meta = ModelMeta(arch="dropout", class_names=("r", "g", "b"), palette=((0, 0, 0),) * 3, dropout=0.3)
    info = OnnxModelInfo(meta=meta, stochastic=True, precision="fp32", dropout_layers=1)
    path = tmp_path / "dropout.onnx"
    export_module(graph, path, torch.ones(2, 3, 16, 16), metadata_props(info), exporter="torchscript")
    segmenter = load_onnx_segmenter(path, device="cpu", seed=3)
    ones = torch.ones(400, 3, 16, 16)
    for p in (0.05, 0.3, 0.6):
        out = segmenter.predict(ones, mc=True, rate=p)
        values = out.unique()
        assert len(values) == 2 and values[0] == 0 and math.isclose(values[1].item(), 1 / (1 - p), rel_tol=1e-5)
        kept = (out.flatten(2)[:, :, 0] if channelwise else out.flatten()) > 0
        n = kept.numel()
        share = kept.double().mean().item()
        assert abs(share - (1 - p)) < 5 * math.sqrt(p * (1 - p) / n), f"rate {p}: kept {share:.4f} of {n}"
    assert torch.equal(segmenter.predict(ones, mc=True, rate=0.0), ones)
    default = segmenter.predict(ones, mc=True)  # no rate: the training rate the file was exported with
    assert math.isclose(default.unique()[1].item(), 1 / 0.7, rel_tol=1e-5)


def test_checkpoint_rates_round_trip_into_the_onnx_backend(
    tiny_meta: ModelMeta, tmp_path: Path, rgb_frame: np.ndarray
) -> None:
    options = {"width": 4, "dropout_placement": "head", "dropout_kind": "element"}
    meta = replace(tiny_meta, arch_options=options, mc_rates={"vqbnn": 0.0, "bnn": 0.4}, mc_samples={"vqbnn": 2})
    torch.manual_seed(0)
    model = create_model(meta.arch, meta.num_classes, meta.dropout, **options)
    checkpoint = save_checkpoint(tmp_path / "m.pt", model, meta)
    path = export_onnx(checkpoint, tmp_path / "m.onnx", exporter="torchscript").path
    back = read_onnx_info(path).meta
    assert back.mc_rates == {"vqbnn": 0.0, "bnn": 0.4} and back.samples_per_frame("vqbnn") == 2
    onnx = load_onnx_segmenter(path, device="cpu", seed=1)
    batch = onnx.prepare([rgb_frame])
    dnn = predict_batch(onnx, batch, Mode.DNN).probs
    # vqbnn's rate is 0: its two samples are the deterministic pass; bnn samples at 0.4.
    torch.testing.assert_close(predict_batch(onnx, batch, Mode.VQBNN).probs, dnn, rtol=0, atol=1e-5)
    spread = {p: float(onnx.predict(batch.repeat(16, 1, 1, 1), mc=True, rate=p).std(dim=0).mean()) for p in (0.05, 0.5)}
    assert spread[0.5] > 2 * spread[0.05] > 0
    assert not torch.allclose(predict_batch(onnx, batch, Mode.BNN, samples=4).probs, dnn, atol=1e-4)
