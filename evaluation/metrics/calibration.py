"""Expected calibration error with equal-width confidence bins, and reliability-diagram data.

Bins are ``(lo, hi]`` over ``(0, 1]``: bin ``i`` holds confidences in ``(i / n, (i + 1) / n]``; a
confidence of exactly 0 goes into the first bin. Edges are the correctly rounded ``i / n`` in the
confidence dtype, so a float32 confidence equal to the float32 literal ``0.3`` lands in
``(0.2, 0.3]``. ``ECE = Σ_b (n_b / N) |acc_b - conf_b|`` as a fraction (not percent).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import Tensor

from evaluation.metrics.base import PixelMetric
from evaluation.metrics.pixels import IGNORE_INDEX, PixelBatch


@dataclass(frozen=True)
class ReliabilityBins:
    """Host-side reliability-diagram data for ``n`` bins.

    Attributes:
        edges: ``n + 1`` bin edges ``0, 1/n, ..., 1``.
        counts: pixels per bin.
        mean_confidence: mean confidence per bin (NaN for empty bins).
        accuracy: accuracy per bin (NaN for empty bins).
        ece: expected calibration error (fraction), NaN with no pixels.
    """

    edges: list[float]
    counts: list[int]
    mean_confidence: list[float]
    accuracy: list[float]
    ece: float

    @property
    def n_bins(self) -> int:
        return len(self.counts)

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (JSON-friendly apart from NaN, which ``json`` writes as ``NaN``)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ReliabilityBins:
        return cls(**data)


def confidence_bin(confidence: Tensor, n_bins: int) -> Tensor:
    """Bin index in ``[0, n_bins)`` of each confidence for bins ``(lo, hi]`` (0 goes to bin 0)."""
    steps = torch.arange(1, n_bins + 1, dtype=torch.float64, device=confidence.device)
    upper = (steps / n_bins).to(confidence.dtype)  # correctly rounded i / n in the confidence dtype
    index = torch.bucketize(confidence, upper, right=False)
    return index.clamp_(0, n_bins - 1)


class ExpectedCalibrationError(PixelMetric):
    """Streaming ECE over pixels (confidence = max class probability, accuracy of the argmax).

    ``update(probs, target)``: probs ``(C, H, W)`` / ``(B, C, H, W)``, target ``(H, W)`` / ``(B, H, W)``.
    ``compute()`` returns the ECE; ``reliability()`` the per-bin data.
    """

    def __init__(self, n_bins: int = 10, ignore_index: int = IGNORE_INDEX) -> None:
        if n_bins < 1:
            raise ValueError(f"n_bins must be >= 1, got {n_bins}")
        super().__init__(ignore_index)
        self.n_bins = n_bins

    def _allocate(self, device: torch.device, num_classes: int) -> None:
        # Last slot of each row collects masked pixels.
        self._counts = torch.zeros(self.n_bins + 1, dtype=torch.int64, device=device)
        self._correct = torch.zeros(self.n_bins + 1, dtype=torch.int64, device=device)
        self._confidence_sum = torch.zeros(self.n_bins + 1, dtype=torch.float64, device=device)

    def _accumulate(self, batch: PixelBatch) -> None:
        index = confidence_bin(batch.confidence, self.n_bins)
        index = torch.where(batch.valid, index, self.n_bins).reshape(-1)
        self._counts.index_add_(0, index, torch.ones_like(index))
        self._correct.index_add_(0, index, batch.correct.reshape(-1).long())
        self._confidence_sum.index_add_(0, index, batch.confidence.reshape(-1).double())

    def compute(self) -> float:
        return self.reliability().ece

    def reliability(self) -> ReliabilityBins:
        edges = [i / self.n_bins for i in range(self.n_bins + 1)]
        if self.is_empty:
            nan = [math.nan] * self.n_bins
            return ReliabilityBins(edges, [0] * self.n_bins, nan, list(nan), math.nan)
        self._check_labels()
        counts = self._counts[: self.n_bins].cpu()
        correct = self._correct[: self.n_bins].cpu().double()
        conf_sum = self._confidence_sum[: self.n_bins].cpu()
        total = int(counts.sum())
        nonempty = counts > 0
        denom = counts.double().clamp_min(1.0)
        accuracy = torch.where(nonempty, correct / denom, torch.nan)
        mean_conf = torch.where(nonempty, conf_sum / denom, torch.nan)
        gaps = torch.where(nonempty, (correct - conf_sum).abs(), 0.0)
        ece = float(gaps.sum()) / total if total else math.nan
        return ReliabilityBins(edges, counts.tolist(), mean_conf.tolist(), accuracy.tolist(), ece)
