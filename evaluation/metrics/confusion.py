"""Confusion matrix and the metrics read from it: pixel accuracy, per-class IoU, mIoU."""

from __future__ import annotations

import torch
from torch import Tensor

from evaluation.metrics.base import PixelMetric
from evaluation.metrics.pixels import PixelBatch


def pixel_accuracy(matrix: Tensor) -> float:
    """Share of counted pixels whose prediction is right; NaN for an empty matrix."""
    total = int(matrix.sum().item())
    return float(matrix.diagonal().sum().item()) / total if total else float("nan")


def per_class_iou(matrix: Tensor) -> Tensor:
    """``(C,)`` float64 ``TP / (TP + FP + FN)``; NaN for classes absent from target and prediction."""
    m = matrix.double()
    true_positive = m.diagonal()
    union = m.sum(dim=0) + m.sum(dim=1) - true_positive
    return torch.where(union > 0, true_positive / union.clamp_min(1.0), torch.nan)


def mean_iou(matrix: Tensor) -> float:
    """Mean IoU over classes present in the target or the prediction (others excluded); NaN if none."""
    iou = per_class_iou(matrix)
    present = ~iou.isnan()
    return float(iou[present].mean().item()) if bool(present.any()) else float("nan")


class ConfusionMatrix(PixelMetric):
    """``(C, C)`` int64 counts, rows = true class, columns = predicted (argmax) class.

    ``update(probs, target)``: probs ``(C, H, W)`` / ``(B, C, H, W)``, target ``(H, W)`` / ``(B, H, W)``;
    ignored pixels are not counted. ``compute()`` returns the matrix on the CPU.
    """

    def _allocate(self, device: torch.device, num_classes: int) -> None:
        # One extra cell collects masked pixels so no boolean indexing (and no sync) is needed.
        self._counts = torch.zeros(num_classes * num_classes + 1, dtype=torch.int64, device=device)

    def _accumulate(self, batch: PixelBatch) -> None:
        num_classes = batch.num_classes
        dump = num_classes * num_classes
        cell = torch.where(batch.valid, batch.target * num_classes + batch.prediction, dump).reshape(-1)
        self._counts.index_add_(0, cell, torch.ones_like(cell))

    def compute(self) -> Tensor:
        if self.is_empty:
            return torch.zeros(0, 0, dtype=torch.int64)
        self._check_labels()
        assert self._num_classes is not None
        c = self._num_classes
        return self._counts[: c * c].reshape(c, c).cpu()

    def pixel_accuracy(self) -> float:
        return pixel_accuracy(self.compute())

    def per_class_iou(self) -> Tensor:
        return per_class_iou(self.compute())

    def mean_iou(self) -> float:
        return mean_iou(self.compute())
