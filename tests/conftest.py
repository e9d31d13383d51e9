"""Shared fixtures: small deterministic models and frames, so unit tests stay fast on 2 CPU cores."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch

from models import ModelMeta, create_model, save_checkpoint
from models.backend_torch import TorchSegmenter
from synthetic import CLASS_NAMES as STREET_CLASSES
from synthetic import PALETTE as STREET_PALETTE

# ``--backend auto`` (the product's default) would export each test's tiny checkpoint to ONNX first: the
# suite lets auto pick torch for checkpoints and ONNX Runtime for .onnx files, unless a test asks for
# another backend. Servers started by tests inherit this; tests/models/test_backend_auto.py tests the
# default order itself.
os.environ["VQSEG_BACKEND"] = "auto"
os.environ["VQSEG_BACKEND_ORDER"] = "torch,onnx"

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


def tiny_street_model(name: str = "tiny-street") -> tuple[torch.nn.Module, ModelMeta]:
    """An untrained width-4 network with the synthetic scenes' 11 classes, input 24x32 (seeded)."""
    torch.manual_seed(0)
    model = create_model("bayesian_unet", len(STREET_CLASSES), 0.5, width=4)
    meta = ModelMeta(
        arch="bayesian_unet",
        class_names=tuple(STREET_CLASSES),
        palette=tuple(tuple(c) for c in STREET_PALETTE),  # type: ignore[misc]
        input_size=(24, 32),
        name=name,
        arch_options={"width": 4},
    )
    return model, meta


@pytest.fixture(scope="session")
def street_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``tiny_street_model`` saved as a vqseg checkpoint, shared by the end-to-end eval tests."""
    model, meta = tiny_street_model("tiny-eval")
    return save_checkpoint(tmp_path_factory.mktemp("model") / "tiny.pt", model, meta)
