"""An in-memory labelled frame set at training resolution, and its random batches."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import torch


@dataclass
class FrameSet:
    """``images`` (N, h, w, 3) RGB uint8 and ``labels`` (N, h, w) uint8 (255 = ignore), one resolution."""

    images: np.ndarray
    labels: np.ndarray
    class_names: tuple[str, ...]
    palette: tuple[tuple[int, int, int], ...]

    def __post_init__(self) -> None:
        if self.images.shape[:3] != self.labels.shape[:3]:
            raise ValueError(f"images {self.images.shape} and labels {self.labels.shape} do not match")
        if len(self.images) == 0:
            raise ValueError("no labelled frames found")

    def __len__(self) -> int:
        return len(self.images)

    def class_frequencies(self) -> np.ndarray:
        counts = np.bincount(self.labels.ravel(), minlength=256)[: len(self.class_names)].astype(np.float64)
        return counts / max(1.0, counts.sum())


def resize_pair(image: np.ndarray, labels: np.ndarray, size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Resize an RGB frame (area) and its labels (nearest) to ``size`` = (h, w)."""
    h, w = size
    if image.shape[:2] == (h, w):
        return image, labels
    return (
        cv2.resize(image, (w, h), interpolation=cv2.INTER_AREA),
        cv2.resize(labels, (w, h), interpolation=cv2.INTER_NEAREST),
    )


class BatchSampler:
    """Random augmented batches as tensors: flips, scale-crops, colour jitter, sensor noise."""

    def __init__(self, frames: FrameSet, batch_size: int, crop: tuple[int, int], seed: int) -> None:
        self.frames = frames
        self.batch_size = batch_size
        self.crop = crop
        self.rng = np.random.default_rng(seed)

    def next(self) -> tuple[torch.Tensor, torch.Tensor]:
        """``(B, h, w, 3)`` uint8 images and ``(B, h, w)`` long labels at the crop size."""
        idx = self.rng.integers(0, len(self.frames), size=self.batch_size)
        images, labels = zip(*(self._augment(int(i)) for i in idx), strict=True)
        return torch.from_numpy(np.stack(images)), torch.from_numpy(np.stack(labels)).long()

    def _augment(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        image, labels = self.frames.images[i], self.frames.labels[i]
        h, w = image.shape[:2]
        ch, cw = self.crop
        scale = self.rng.uniform(max(ch / h, cw / w), 1.0)
        sh, sw = max(ch, round(h * scale)), max(cw, round(w * scale))
        y = int(self.rng.integers(0, h - sh + 1))
        x = int(self.rng.integers(0, w - sw + 1))
        image, labels = resize_pair(image[y : y + sh, x : x + sw], labels[y : y + sh, x : x + sw], self.crop)
        if self.rng.random() < 0.5:
            image, labels = image[:, ::-1], labels[:, ::-1]
        pixels = image.astype(np.float32)
        gain = self.rng.uniform(0.7, 1.3) * self.rng.uniform(0.9, 1.1, size=3)
        pixels = (pixels - 128.0) * self.rng.uniform(0.75, 1.25) + 128.0 + self.rng.uniform(-20, 20)
        pixels = pixels * gain
        if self.rng.random() < 0.5:
            pixels += self.rng.normal(0.0, self.rng.uniform(1.0, 8.0), size=pixels.shape)
        return np.clip(pixels, 0, 255).astype(np.uint8), np.ascontiguousarray(labels)
