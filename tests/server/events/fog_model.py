"""A small network whose confidence follows local image contrast, so fog (which washes contrast out)
raises its predictive entropy by a wide, deterministic margin: the event tests' model.

Each class owns a band of grey levels; the logits are the closeness of a pixel's local mean to each
band, scaled by the local contrast (standard deviation in a 5x5 window). Clear frames (textured)
give peaked probabilities; foggy frames (flat) give nearly uniform ones.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from models import ModelMeta
from models.backend_torch import TorchSegmenter
from synthetic import CLASS_NAMES, PALETTE

INPUT_SIZE = (48, 64)


class ContrastNet(nn.Module):
    def __init__(self, classes: int, gain: float = 40.0) -> None:
        super().__init__()
        self.register_buffer("centres", torch.linspace(-1.5, 1.5, classes).view(1, classes, 1, 1))
        self.gain = gain

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        grey = x.mean(dim=1, keepdim=True)
        mean = F.avg_pool2d(grey, 5, stride=1, padding=2, count_include_pad=False)
        square = F.avg_pool2d(grey * grey, 5, stride=1, padding=2, count_include_pad=False)
        contrast = (square - mean * mean).clamp_min(0.0).sqrt()
        return -self.gain * contrast * (mean - self.centres) ** 2


def fog_segmenter() -> TorchSegmenter:
    meta = ModelMeta(
        arch="contrast", class_names=tuple(CLASS_NAMES), palette=tuple(tuple(c) for c in PALETTE),  # type: ignore[misc]
        input_size=INPUT_SIZE, dropout=0.0, name="contrast",
    )
    return TorchSegmenter(ContrastNet(len(CLASS_NAMES)), meta, torch.device("cpu"))
