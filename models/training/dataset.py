"""An in-memory labelled frame set at training resolution, and its random batches."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

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


def mix_frame_sets(main: FrameSet, extra: FrameSet, extra_share: float) -> tuple[FrameSet, np.ndarray]:
    """One set holding both, and per-frame sampling probabilities giving ``extra`` that share of draws."""
    if main.class_names != extra.class_names:
        raise ValueError(f"cannot mix class lists {main.class_names} and {extra.class_names}")
    if main.images.shape[1:] != extra.images.shape[1:]:
        raise ValueError(f"cannot mix frames of {main.images.shape[1:]} and {extra.images.shape[1:]}")
    if not 0.0 <= extra_share < 1.0:
        raise ValueError(f"the extra share must be in [0, 1), got {extra_share}")
    both = FrameSet(
        np.concatenate([main.images, extra.images]),
        np.concatenate([main.labels, extra.labels]),
        main.class_names,
        main.palette,
    )
    weights = np.concatenate(
        [np.full(len(main), (1.0 - extra_share) / len(main)), np.full(len(extra), extra_share / len(extra))]
    )
    return both, weights / weights.sum()


def class_weights(frequencies: np.ndarray, scheme: str, clip: tuple[float, float] = (0.2, 10.0)) -> np.ndarray | None:
    """Loss weight per class: ``none``; ``median`` (SegNet's median-frequency balancing); ``sqrt`` of it.

    Weights are normalised so that the average weight of a labelled pixel is 1 (the loss keeps its scale).
    Classes absent from the data get weight 0 in the normalisation and the largest weight in the clip.
    """
    if scheme == "none":
        return None
    present = frequencies > 0
    if not present.any():
        raise ValueError("no labelled pixels to weight classes by")
    median = float(np.median(frequencies[present]))
    raw = np.full(len(frequencies), clip[1])
    raw[present] = median / frequencies[present]
    if scheme == "sqrt":
        raw = np.sqrt(raw)
    elif scheme != "median":
        raise ValueError(f"class weighting must be none, median or sqrt, got {scheme!r}")
    raw = np.clip(raw, *clip)
    return raw / float((raw * frequencies).sum() / frequencies.sum())


def resize_pair(image: np.ndarray, labels: np.ndarray, size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Resize an RGB frame (area when shrinking, else bilinear) and its labels (nearest) to ``size`` = (h, w)."""
    h, w = size
    if image.shape[:2] == (h, w):
        return image, labels
    shrinking = image.shape[0] >= h and image.shape[1] >= w
    return (
        cv2.resize(image, (w, h), interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR),
        cv2.resize(labels, (w, h), interpolation=cv2.INTER_NEAREST),
    )


class BatchSampler:
    """Random augmented batches as tensors: flips, crops at the inference scale, colour jitter, noise, blur.

    A crop is a ``crop``-sized window of the frame (stored at the network's input size), zoomed by a
    log-uniform factor in ``zoom`` (1 = the inference scale), so objects keep the size they have when
    the model serves. ``blur`` is the share of crops blurred by a Gaussian of sigma 0.5-1.5 px (defocus,
    motion, compression; 0 draws no random number for it, so older runs replay exactly). ``weights``
    are per-frame sampling probabilities (default: uniform).
    """

    def __init__(
        self,
        frames: FrameSet,
        batch_size: int,
        crop: tuple[int, int],
        seed: int,
        weights: np.ndarray | None = None,
        zoom: tuple[float, float] = (0.9, 1.4),
        blur: float = 0.0,
    ) -> None:
        if not 0.0 <= blur <= 1.0:
            raise ValueError(f"the blurred share must be in [0, 1], got {blur}")
        self.frames = frames
        self.batch_size = batch_size
        self.crop = crop
        self.weights = weights
        self.zoom = zoom
        self.blur = blur
        self.rng = np.random.default_rng(seed)

    def state(self) -> dict[str, Any]:
        return self.rng.bit_generator.state

    def restore(self, state: dict[str, Any]) -> None:
        self.rng.bit_generator.state = state

    def next(self) -> tuple[torch.Tensor, torch.Tensor]:
        """``(B, h, w, 3)`` uint8 images and ``(B, h, w)`` long labels at the crop size."""
        idx = self.rng.choice(len(self.frames), size=self.batch_size, p=self.weights)
        images, labels = zip(*(self._augment(int(i)) for i in idx), strict=True)
        return torch.from_numpy(np.stack(images)), torch.from_numpy(np.stack(labels)).long()

    def _augment(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        image, labels = self.frames.images[i], self.frames.labels[i]
        h, w = image.shape[:2]
        ch, cw = self.crop
        low = max(self.zoom[0], ch / h, cw / w)
        zoom = float(np.exp(self.rng.uniform(np.log(low), np.log(max(low, self.zoom[1])))))
        sh, sw = min(h, max(1, round(ch / zoom))), min(w, max(1, round(cw / zoom)))
        y = int(self.rng.integers(0, h - sh + 1))
        x = int(self.rng.integers(0, w - sw + 1))
        image, labels = resize_pair(image[y : y + sh, x : x + sw], labels[y : y + sh, x : x + sw], self.crop)
        if self.rng.random() < 0.5:
            image, labels = image[:, ::-1], labels[:, ::-1]
        pixels = image.astype(np.float32)
        gain = self.rng.uniform(0.7, 1.3) * self.rng.uniform(0.9, 1.1, size=3)
        pixels = (pixels - 128.0) * self.rng.uniform(0.75, 1.25) + 128.0 + self.rng.uniform(-20, 20)
        pixels = pixels * gain
        if self.blur > 0 and self.rng.random() < self.blur:
            pixels = cv2.GaussianBlur(pixels, (0, 0), float(self.rng.uniform(0.5, 1.5)))
        if self.rng.random() < 0.5:
            pixels += self.rng.normal(0.0, self.rng.uniform(1.0, 8.0), size=pixels.shape)
        return np.clip(pixels, 0, 255).astype(np.uint8), np.ascontiguousarray(labels)
