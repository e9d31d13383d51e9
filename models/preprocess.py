"""Frames (RGB uint8, any size) to a normalised network batch, resized on the device."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch.nn import functional as F

from models.meta import ModelMeta


class FramePreprocessor:
    """Uploads uint8 frames once, then converts, resizes and normalises on the device."""

    def __init__(self, meta: ModelMeta, device: torch.device, dtype: torch.dtype = torch.float32) -> None:
        self.size = meta.input_size
        self.device = device
        self.dtype = dtype
        self.mean = torch.tensor(meta.mean, device=device, dtype=torch.float32).view(1, 3, 1, 1) * 255.0
        self.std = torch.tensor(meta.std, device=device, dtype=torch.float32).view(1, 3, 1, 1) * 255.0

    def __call__(self, frames: Sequence[np.ndarray]) -> torch.Tensor:
        if len(frames) == 0:
            raise ValueError("no frames to prepare")
        resized = [self._resize(self._upload(frame)) for frame in frames]
        batch = torch.cat(resized, dim=0)
        return ((batch - self.mean) / self.std).to(self.dtype).contiguous()

    def _upload(self, frame: np.ndarray) -> torch.Tensor:
        if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
            raise ValueError(f"expected an RGB uint8 frame H x W x 3, got {frame.dtype} {frame.shape}")
        tensor = torch.from_numpy(np.ascontiguousarray(frame)).to(self.device, non_blocking=True)
        return tensor.permute(2, 0, 1).unsqueeze(0).float()

    def _resize(self, image: torch.Tensor) -> torch.Tensor:
        if tuple(image.shape[-2:]) == self.size:
            return image
        shrinking = image.shape[-2] > self.size[0] or image.shape[-1] > self.size[1]
        return F.interpolate(image, size=self.size, mode="bilinear", align_corners=False, antialias=shrinking)
