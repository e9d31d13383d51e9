"""``vqseg calibrate`` fits the MC dropout rate: on a toy network whose labels are drawn from its own MC
predictive at a known rate, the rate search (a temperature fitted per rate) recovers that rate."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from evaluation.calibration.search import search
from evaluation.suite import EvalSequence
from models import ModelMeta, create_model, predict_samples
from models.backend_torch import TorchSegmenter
from streaming import Mode, StreamConfig

TRUE_RATE = 0.3


def toy_segmenter(tiny_meta: ModelMeta) -> TorchSegmenter:
    options = {"width": 4, "dropout_placement": "head", "dropout_kind": "element"}
    meta = replace(tiny_meta, arch_options=options, dropout=0.5)
    torch.manual_seed(0)
    model = create_model(meta.arch, meta.num_classes, meta.dropout, **options)
    with torch.no_grad():
        model.head.weight.mul_(240.0)  # confident logits (max p ~0.7) that dropout visibly changes
    return TorchSegmenter(model, meta, torch.device("cpu"))


def labelled_by_the_model(segmenter: TorchSegmenter, frames: int, rate: float) -> EvalSequence:
    """Frames of noise whose labels are drawn per pixel from the model's MC predictive at ``rate``."""
    rng = np.random.default_rng(0)
    h, w = segmenter.meta.input_size
    images, labels = [], []
    generator = torch.Generator().manual_seed(1)
    for _ in range(frames):
        image = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        probs = predict_samples(segmenter, segmenter.prepare([image]), 256, rate=rate)[0].mean(dim=0)  # (C, h, w)
        drawn = torch.multinomial(probs.flatten(1).T, 1, generator=generator)[:, 0].view(h, w)
        images.append(image)
        labels.append(drawn.numpy().astype(np.uint8))
    return EvalSequence("toy", images, [i / 15 for i in range(frames)], labels)


@pytest.mark.parametrize("mode", [Mode.BNN, Mode.VQBNN])
def test_the_rate_search_recovers_a_known_rate(tiny_meta: ModelMeta, mode: Mode) -> None:
    torch.manual_seed(3)
    segmenter = toy_segmenter(tiny_meta)
    sequence = labelled_by_the_model(segmenter, frames=12, rate=TRUE_RATE)
    config = StreamConfig(samples=48, window=1)  # vqbnn with K = 1: the frame's own samples
    rates = (0.05, 0.15, 0.3, 0.45, 0.6)
    fits = search(segmenter, [(sequence, False)], [mode], config, rates, pixels=10_000, per_frame=48, progress=False)
    fit = fits[mode.value]
    nll = {r: n for r, (_, n) in fit.by_rate.items()}
    assert set(nll) == {*rates, 0.5}  # the grid plus the training rate
    assert fit.rate == TRUE_RATE, nll
    assert nll[0.05] > nll[TRUE_RATE] and nll[0.6] > nll[TRUE_RATE]
    assert fit.after["nll"] <= fit.before["nll"]
