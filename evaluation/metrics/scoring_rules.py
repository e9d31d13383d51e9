"""Proper scoring rules averaged over pixels: negative log-likelihood and Brier score."""

from __future__ import annotations

import torch

from evaluation.metrics.base import PixelMetric, ratio
from evaluation.metrics.pixels import IGNORE_INDEX, PixelBatch


class _MeanOverPixels(PixelMetric):
    def _allocate(self, device: torch.device, num_classes: int) -> None:
        self._sum = torch.zeros((), dtype=torch.float64, device=device)
        self._count = torch.zeros((), dtype=torch.int64, device=device)

    def compute(self) -> float:
        """Mean over all non-ignored pixels so far; NaN before any such pixel."""
        if self.is_empty:
            return float("nan")
        self._check_labels()
        return ratio(self._sum, self._count)


class NegativeLogLikelihood(_MeanOverPixels):
    """Mean of ``-log p[target]`` over non-ignored pixels, with ``p`` clamped to ``>= eps``.

    ``update(probs, target)``: probs ``(C, H, W)`` / ``(B, C, H, W)``, target ``(H, W)`` / ``(B, H, W)``.
    Example: a uniform 2-class prediction scores ``ln 2``.
    """

    def __init__(self, eps: float = 1e-12, ignore_index: int = IGNORE_INDEX) -> None:
        super().__init__(ignore_index)
        self.eps = eps

    def _accumulate(self, batch: PixelBatch) -> None:
        p = batch.target_probability.double().clamp_min(self.eps)
        self._sum += torch.where(batch.valid, -torch.log(p), 0.0).sum()
        self._count += batch.valid.sum()


class BrierScore(_MeanOverPixels):
    """Mean over non-ignored pixels of ``Σ_c (p_c - 1[c = y])²`` (range ``[0, 2]``).

    Computed as ``Σ_c p_c² - 2 p_y + 1`` so no one-hot tensor is built.
    ``update(probs, target)``: probs ``(C, H, W)`` / ``(B, C, H, W)``, target ``(H, W)`` / ``(B, H, W)``.
    """

    def _accumulate(self, batch: PixelBatch) -> None:
        squared = batch.probs.square().sum(dim=1).double()  # C terms per pixel: float32 is ample
        per_pixel = squared - 2.0 * batch.target_probability.double() + 1.0
        self._sum += torch.where(batch.valid, per_pixel, 0.0).sum()
        self._count += batch.valid.sum()
