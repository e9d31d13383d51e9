"""Checks every backend with exported graphs must pass: MC samples distributed like torch's, and a lone
dropout layer that drops a 1-p share with kept values exactly 1/(1-p)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
from torch import nn

from models import ModelMeta, Segmenter
from models.onnx import export_module
from models.onnx.graph import ProbabilityGraph
from models.onnx.metadata import OnnxModelInfo, metadata_props


def assert_mc_distribution_matches(
    ours: Segmenter, torch_segmenter: Segmenter, frame: np.ndarray, n: int = 200
) -> None:
    """Mean (and spread) of ``n`` MC samples per pixel agree with torch's within a 5-sigma bound."""
    batch = ours.prepare([frame]).expand(n, -1, -1, -1).contiguous()
    torch.manual_seed(1)
    mine = ours.predict(batch, mc=True).double()
    theirs = torch_segmenter.predict(batch, mc=True).double()
    bound = 5 * torch.sqrt((mine.var(dim=0) + theirs.var(dim=0)) / n) + 1e-7
    gap = (mine.mean(dim=0) - theirs.mean(dim=0)).abs()
    assert theirs.std(dim=0).mean() > 1e-4, "the test network must react to dropout"
    assert (gap <= bound).all(), f"worst gap {(gap / bound).max().item():.2f} bounds"
    ratio = (mine.std(dim=0).mean() / theirs.std(dim=0).mean()).item()
    assert 0.8 < ratio < 1.25, f"MC spread differs: {ours.backend}/torch std ratio {ratio:.3f}"


def assert_masks_live(segmenter: Segmenter, frame: np.ndarray) -> None:
    """Two frames, several calls: a fresh mask per call and per frame with ``mc``, identical passes without."""
    batch = segmenter.prepare([frame] * 2)
    first, second = segmenter.predict(batch, mc=True), segmenter.predict(batch, mc=True)
    assert not torch.equal(first, second), "a fresh mask per call"
    # a fresh mask per frame of a batch (ONNX Runtime's generator gives a few seeds one call whose two
    # frames match, so three calls are looked at)
    third = segmenter.predict(batch, mc=True)
    assert any(not torch.equal(p[0], p[1]) for p in (first, second, third)), "a fresh mask per frame of a batch"
    torch.testing.assert_close(first.sum(dim=1), torch.ones_like(first[:, 0]))
    off = segmenter.predict(batch, mc=False)
    assert torch.equal(off, segmenter.predict(batch, mc=False)), "identical passes without mc"
    assert not torch.equal(first, off)


def export_dropout_layer(layer: nn.Module, p: float, path: Path) -> Path:
    """A graph of one dropout layer (no softmax) as a vqseg ONNX file."""
    graph = ProbabilityGraph(layer, stochastic=True, probabilities=False)
    meta = ModelMeta(arch="dropout", class_names=("r", "g", "b"), palette=((0, 0, 0),) * 3, dropout=p)
    info = OnnxModelInfo(meta=meta, stochastic=True, precision="fp32", dropout_layers=1)
    export_module(graph, path, torch.ones(2, 3, 16, 16), metadata_props(info), exporter="torchscript")
    return path


def assert_drop_rate_and_scaling(segmenter: Segmenter, p: float, channelwise: bool) -> None:
    """All-ones input through a lone dropout layer: a 1-p share kept (5-sigma binomial bound), scaled 1/(1-p)."""
    ones = torch.ones(500, 3, 16, 16)
    out = segmenter.predict(ones, mc=True)
    assert torch.equal(segmenter.predict(ones, mc=False), ones)
    values = out.unique()
    assert len(values) == 2 and values[0] == 0 and math.isclose(values[1].item(), 1 / (1 - p), rel_tol=1e-6)
    if channelwise:
        planes = out.flatten(2)
        assert torch.equal(planes.amin(dim=2), planes.amax(dim=2)), "whole channels are dropped"
        kept = planes[:, :, 0] > 0
    else:
        kept = out > 0
    n = kept.numel()
    rate = kept.double().mean().item()
    assert abs(rate - (1 - p)) < 5 * math.sqrt(p * (1 - p) / n), f"kept {rate:.4f} of {n}, expected {1 - p}"
    assert not torch.equal(out, segmenter.predict(ones, mc=True))
