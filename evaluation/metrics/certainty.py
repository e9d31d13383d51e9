"""Acc-90 / Unc-90: how accurate the certain pixels are, and how many errors are flagged uncertain.

Following Mukhoti & Gal ("Evaluating Bayesian Deep Learning Methods for Semantic Segmentation", 2018)
as used by Park, Lee & Kim (VQ-BNN, AAAI 2021): a pixel is *certain* when its confidence (max class
probability) is ``>= threshold`` (0.9 for Acc-90 / Unc-90) and *accurate* when the argmax equals the
label.

- ``accurate_given_certain`` = P(accurate | certain)   (Acc-90)
- ``uncertain_given_inaccurate`` = P(uncertain | inaccurate)   (Unc-90)

NaN-safe: when the conditioning set is empty (no certain pixel, resp. no inaccurate pixel) the
corresponding rate is ``nan`` rather than 0 or 1, since neither value would be evidence of anything.
"""

from __future__ import annotations

from typing import NamedTuple

import torch

from evaluation.metrics.base import PixelMetric, ratio
from evaluation.metrics.pixels import IGNORE_INDEX, PixelBatch


class CertaintyRatesResult(NamedTuple):
    accurate_given_certain: float
    uncertain_given_inaccurate: float


class CertaintyRates(PixelMetric):
    """Streaming P(accurate | certain) and P(uncertain | inaccurate).

    ``update(probs, target)``: probs ``(C, H, W)`` / ``(B, C, H, W)``, target ``(H, W)`` / ``(B, H, W)``.
    """

    def __init__(self, threshold: float = 0.9, ignore_index: int = IGNORE_INDEX) -> None:
        super().__init__(ignore_index)
        self.threshold = threshold

    def _allocate(self, device: torch.device, num_classes: int) -> None:
        # [certain, certain & accurate, inaccurate, inaccurate & uncertain]
        self._counts = torch.zeros(4, dtype=torch.int64, device=device)

    def _accumulate(self, batch: PixelBatch) -> None:
        certain = batch.confidence >= self.threshold
        accurate = batch.correct
        valid = batch.valid
        inaccurate = valid & ~accurate
        self._counts += torch.stack(
            [
                (valid & certain).sum(),
                (valid & certain & accurate).sum(),
                inaccurate.sum(),
                (inaccurate & ~certain).sum(),
            ]
        )

    def compute(self) -> CertaintyRatesResult:
        if self.is_empty:
            return CertaintyRatesResult(float("nan"), float("nan"))
        self._check_labels()
        counts = self._counts.cpu()
        return CertaintyRatesResult(ratio(counts[1], counts[0]), ratio(counts[3], counts[2]))
