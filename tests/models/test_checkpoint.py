"""Checkpoints keep weights and metadata; foreign or broken files give clear errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from models import CheckpointError, ModelMeta, load_segmenter, read_checkpoint, save_checkpoint
from models.backend_torch import TorchSegmenter


def test_round_trip_keeps_weights_and_metadata(
    tmp_path: Path, tiny_segmenter: TorchSegmenter, tiny_meta: ModelMeta, rgb_frame: np.ndarray
) -> None:
    path = save_checkpoint(tmp_path / "m.pt", tiny_segmenter.model, tiny_meta)
    meta, _state = read_checkpoint(path)
    assert meta == tiny_meta
    assert meta.class_names == ("a", "b", "c", "d") and meta.palette[1] == (255, 0, 0)
    loaded = load_segmenter(path, device="cpu")
    batch = tiny_segmenter.prepare([rgb_frame])
    torch.testing.assert_close(loaded.predict(batch, mc=False), tiny_segmenter.predict(batch, mc=False))
    assert loaded.meta.input_size == (32, 48)


def test_foreign_and_missing_files_are_rejected(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="not found"):
        read_checkpoint(tmp_path / "absent.pt")
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint at all")
    with pytest.raises(CheckpointError, match="not a readable"):
        read_checkpoint(tmp_path / "junk.pt")
    torch.save({"weights": torch.zeros(1)}, tmp_path / "other.pt")
    with pytest.raises(CheckpointError, match="not a vqseg checkpoint"):
        read_checkpoint(tmp_path / "other.pt")


def test_weights_that_do_not_fit_the_architecture(tmp_path: Path, tiny_segmenter: TorchSegmenter) -> None:
    meta = ModelMeta(
        arch="bayesian_unet",
        class_names=("a", "b", "c", "d"),
        palette=((0, 0, 0),) * 4,
        arch_options={"width": 8},  # the weights are width 4
    )
    save_checkpoint(tmp_path / "bad.pt", tiny_segmenter.model, meta)
    with pytest.raises(CheckpointError, match="do not fit"):
        load_segmenter(tmp_path / "bad.pt", device="cpu")


def test_metadata_is_validated() -> None:
    with pytest.raises(ValueError, match="palette"):
        ModelMeta(arch="x", class_names=("a", "b"), palette=((0, 0, 0),))
    with pytest.raises(ValueError, match="dropout"):
        ModelMeta(arch="x", class_names=("a", "b"), palette=((0, 0, 0),) * 2, dropout=1.0)


def test_unknown_backend_and_missing_cuda() -> None:
    with pytest.raises(ValueError, match="backend"):
        load_segmenter(None, backend="tensorflow")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA"):
            load_segmenter(None, device="cuda")
