"""Shared fixtures: small deterministic models and frames, so unit tests stay fast on 2 CPU cores."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from models import ModelMeta, create_model
from models.backend_torch import TorchSegmenter

CLASSES = ("a", "b", "c", "d")
PALETTE = ((0, 0, 0), (255, 0, 0), (0, 255, 0), (0, 0, 255))


@pytest.fixture(autouse=True)
def _few_threads() -> None:
    torch.set_num_threads(2)


@pytest.fixture
def tiny_meta() -> ModelMeta:
    return ModelMeta(
        arch="bayesian_unet",
        class_names=CLASSES,
        palette=PALETTE,
        input_size=(32, 48),
        dropout=0.5,
        name="tiny",
        arch_options={"width": 4},
    )


@pytest.fixture
def tiny_segmenter(tiny_meta: ModelMeta) -> TorchSegmenter:
    torch.manual_seed(0)
    model = create_model(tiny_meta.arch, tiny_meta.num_classes, tiny_meta.dropout, **tiny_meta.arch_options)
    return TorchSegmenter(model, tiny_meta, torch.device("cpu"))


@pytest.fixture
def rgb_frame() -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, size=(60, 80, 3), dtype=np.uint8)
