"""Tiny labelled folders in the SegNet CamVid layout (``<split>/`` + ``<split>annot/``), written by tests."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np


def street_frame(index: int, h: int = 36, w: int = 48) -> tuple[np.ndarray, np.ndarray]:
    """A frame (RGB) and its index label (0..10, 11 = void): sky over road with a moving car-coloured box."""
    rng = np.random.default_rng(index)
    label = np.full((h, w), 3, np.uint8)  # Road
    label[: h // 3] = 0  # Sky
    label[h // 3 : h // 2] = 1  # Building
    x = (4 + 2 * index) % (w - 10)
    label[h // 2 : h // 2 + 8, x : x + 10] = 8  # Car
    label[-2:, :4] = 11  # void
    colours = rng.integers(0, 256, (12, 3)).astype(np.uint8)
    image = np.clip(colours[label].astype(int) + rng.integers(-20, 20, (h, w, 3)), 0, 255).astype(np.uint8)
    return image, label


def write_segnet(root: Path, stems: Sequence[str], split: str = "val", h: int = 36, w: int = 48) -> Path:
    """Write ``stems`` as frames 0, 1, ... of ``street_frame``; returns ``root``."""
    (root / split).mkdir(parents=True, exist_ok=True)
    (root / f"{split}annot").mkdir(parents=True, exist_ok=True)
    for i, stem in enumerate(stems):
        image, label = street_frame(i, h, w)
        assert cv2.imwrite(str(root / split / f"{stem}.png"), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
        assert cv2.imwrite(str(root / f"{split}annot" / f"{stem}.png"), label)
    return root
