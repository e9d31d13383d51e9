"""Training options of issue 19: dropout kind and placement go into the checkpoint, blur and zoom
augment crops, and a run without them draws exactly the batches it drew before they existed."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from models import load_segmenter, read_checkpoint
from models.sampling import has_cheap_tail
from models.training.dataset import BatchSampler, FrameSet
from tests.training.test_training import _scene, make_camvid
from vqseg.cli import main


def _frames() -> FrameSet:
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (3, 40, 56, 3), dtype=np.uint8)
    labels = rng.integers(0, 3, (3, 40, 56), dtype=np.uint8)
    return FrameSet(images, labels, ("a", "b", "c"), ((0, 0, 0),) * 3)


def test_blur_off_replays_the_old_batches_and_blur_on_changes_only_the_images() -> None:
    frames = _frames()
    plain, off, on = (BatchSampler(frames, 4, (24, 32), seed=5, blur=b) for b in (0.0, 0.0, 1.0))
    plain_images, plain_labels = plain.next()
    off_images, off_labels = off.next()
    assert torch.equal(plain_images, off_images) and torch.equal(plain_labels, off_labels)
    on_images, _ = on.next()
    assert not torch.equal(on_images, plain_images)
    # a blur smooths: neighbouring pixels differ less than in the unblurred crops
    def roughness(x: torch.Tensor) -> float:
        return float((x[:, :, 1:].float() - x[:, :, :-1].float()).abs().mean())

    assert roughness(on_images) < 0.8 * roughness(plain_images)


def test_train_command_writes_dropout_kind_and_placement(tmp_path: Path) -> None:
    data = make_camvid(tmp_path / "camvid")
    out = tmp_path / "tail.pt"
    argv = ["train", "--data", str(data), "--out", str(out), "--width", "4", "--input-size", "48x64",
            "--crop", "32x48", "--steps", "3", "--batch", "2", "--eval-every", "0", "--threads", "1",
            "--dropout", "0.3", "--dropout-kind", "element", "--dropout-placement", "tail",
            "--zoom", "0.7,1.6", "--blur", "0.5"]
    assert main(argv) == 0
    meta, _ = read_checkpoint(out)
    assert meta.arch_options == {"width": 4, "dropout_kind": "element", "dropout_placement": "tail"}
    seg = load_segmenter(out, device="cpu")
    assert has_cheap_tail(seg.model)  # type: ignore[attr-defined]
    samples = seg.predict_samples(seg.prepare([_scene(1)[0]]), 3)  # type: ignore[attr-defined]
    assert samples.shape == (1, 3, 3, 48, 64)
