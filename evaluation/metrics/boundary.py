"""Boundary accuracy: pixel accuracy within ``radius`` pixels of a true label boundary.

Mis-aligned temporal blends go wrong first where labels change, so this is the metric where motion
compensation shows (or not). A pixel lies on a boundary when one of its 4-neighbours carries another
label (both labels valid, i.e. not ``ignore_index``); the band is every valid pixel within Chebyshev
distance ``radius`` of a boundary pixel (a square dilation, ``max_pool2d`` on the device).
``boundary_acc = #{band pixels predicted right} / #{band pixels}``; ``nan`` before any band pixel.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor
from torch.nn import functional as F

from evaluation.metrics.pixels import IGNORE_INDEX


def boundary_band(target: Tensor, radius: int, ignore_index: int = IGNORE_INDEX) -> Tensor:
    """``(B, H, W)`` bool: valid pixels within ``radius`` of a label boundary of ``target`` ``(B, H, W)``."""
    labels = target.long()
    valid = labels != ignore_index
    edge = torch.zeros_like(valid)
    horizontal = (labels[:, :, 1:] != labels[:, :, :-1]) & valid[:, :, 1:] & valid[:, :, :-1]
    vertical = (labels[:, 1:, :] != labels[:, :-1, :]) & valid[:, 1:, :] & valid[:, :-1, :]
    edge[:, :, 1:] |= horizontal
    edge[:, :, :-1] |= horizontal
    edge[:, 1:, :] |= vertical
    edge[:, :-1, :] |= vertical
    if radius > 0:
        size = 2 * radius + 1
        edge = F.max_pool2d(edge.unsqueeze(1).float(), size, stride=1, padding=radius).squeeze(1) > 0
    return edge & valid


class BoundaryAccuracy:
    """Streaming boundary accuracy over frames; state (two counts) stays on the device."""

    def __init__(self, radius: int = 3, ignore_index: int = IGNORE_INDEX) -> None:
        if radius < 0:
            raise ValueError(f"radius must be >= 0, got {radius}")
        self.radius = radius
        self.ignore_index = ignore_index
        self._counts: Tensor | None = None  # [band pixels, band pixels predicted right]

    def update(self, prediction: Tensor, target: Tensor) -> None:
        """``prediction`` and ``target``: ``(H, W)`` or ``(B, H, W)`` integer labels (argmax of the probs)."""
        if prediction.shape != target.shape or prediction.dim() not in (2, 3):
            raise ValueError(
                f"prediction {tuple(prediction.shape)} and target {tuple(target.shape)} must both be "
                "(H, W) or (B, H, W)"
            )
        pred = prediction.reshape(-1, *prediction.shape[-2:]).long()
        labels = target.reshape(pred.shape).long()
        band = boundary_band(labels, self.radius, self.ignore_index)
        if self._counts is None:
            self._counts = torch.zeros(2, dtype=torch.int64, device=pred.device)
        self._counts += torch.stack([band.sum(), (band & (pred == labels)).sum()])

    def compute(self) -> float:
        if self._counts is None:
            return math.nan
        total, right = (int(v) for v in self._counts.cpu())
        return right / total if total else math.nan

    def reset(self) -> None:
        self._counts = None
