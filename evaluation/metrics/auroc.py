"""Area under the ROC curve: an exact rank-based function and a streaming histogram version.

The convention throughout: *positives* should score higher. For misclassification detection the
positives are the wrongly classified pixels and the score is an uncertainty (e.g. normalised
predictive entropy); AUROC is then P(score of an error > score of a correct pixel), ties counting 1/2.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
import torch
from torch import Tensor


def _as_float_array(values: npt.ArrayLike | Tensor) -> npt.NDArray[np.float64]:
    if isinstance(values, Tensor):
        values = values.detach().cpu().double().numpy()
    array = np.asarray(values, dtype=np.float64).ravel()
    if np.isnan(array).any():
        raise ValueError("scores must not contain NaN")
    return array


def auroc(scores_pos: npt.ArrayLike | Tensor, scores_neg: npt.ArrayLike | Tensor) -> float:
    """Exact AUROC = P(s_pos > s_neg) + 0.5 P(s_pos = s_neg), via mid-ranks (Mann-Whitney U).

    Args:
        scores_pos: scores of the positive class, any shape (flattened); array, list or tensor.
        scores_neg: scores of the negative class.

    Returns:
        AUROC in ``[0, 1]`` (1 = every positive above every negative, 0 = reversed, 0.5 = all tied);
        ``nan`` when either set is empty. ``O((P + N) log(P + N))`` time, host memory; meant for
        small and medium arrays (frame-level scores, tests), not for full-resolution pixel streams.
    """
    pos = _as_float_array(scores_pos)
    neg = _as_float_array(scores_neg)
    n_pos, n_neg = pos.size, neg.size
    if n_pos == 0 or n_neg == 0:
        return math.nan
    _, inverse, counts = np.unique(np.concatenate([pos, neg]), return_inverse=True, return_counts=True)
    rank_start = np.cumsum(counts) - counts  # 0-based rank of the first of each tie group
    mid_rank = rank_start + (counts + 1) / 2.0  # 1-based mid-rank
    rank_sum = float(mid_rank[inverse[:n_pos]].sum())
    return (rank_sum - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg)


class HistogramAUROC:
    """Streaming AUROC from fine score histograms of positives and negatives, kept on the device.

    Scores are binned into ``n_bins`` equal bins over ``[0, max_score]`` (values outside are clamped
    into the end bins, NaN scores are skipped). The ROC through the bin thresholds is integrated with
    the trapezoid rule, which is the same as counting a (positive, negative) pair sharing a bin as 1/2.

    Resolution error: pairs in different bins are ordered exactly, so
    ``|histogram AUROC - exact AUROC| <= 0.5 * Σ_i pos_i neg_i / (P N)``, half the share of pairs
    that share a bin; ``max_error()`` returns this bound for the data seen. For scores with bounded
    densities it shrinks like ``1 / n_bins``; a score mass piled on one value (e.g. entropy exactly
    0) is a tie in the exact AUROC as well and adds no error.
    """

    def __init__(self, n_bins: int = 4096, max_score: float = 1.0) -> None:
        if n_bins < 1 or not max_score > 0:
            raise ValueError(f"need n_bins >= 1 and max_score > 0, got {n_bins}, {max_score}")
        self.n_bins = n_bins
        self.max_score = max_score
        self._hist: Tensor | None = None

    def update(self, scores: Tensor, positive: Tensor, valid: Tensor | None = None) -> None:
        """Accumulate scores.

        Args:
            scores: float tensor, any shape, e.g. ``(B, H, W)`` normalised entropy.
            positive: bool tensor, same shape (True = positive, e.g. misclassified pixel).
            valid: optional bool tensor, same shape; False entries are skipped (ignored pixels).
        """
        if scores.shape != positive.shape or (valid is not None and valid.shape != scores.shape):
            raise ValueError(
                f"scores {tuple(scores.shape)}, positive {tuple(positive.shape)} and valid "
                f"{None if valid is None else tuple(valid.shape)} must have the same shape"
            )
        if self._hist is None:
            self._hist = torch.zeros(2 * (self.n_bins + 1), dtype=torch.int64, device=scores.device)
        keep = ~scores.isnan() if valid is None else valid & ~scores.isnan()
        scaled = scores.to(torch.promote_types(scores.dtype, torch.float32)) * (self.n_bins / self.max_score)
        index = scaled.nan_to_num(0.0).clamp(0, self.n_bins - 1).long()
        index = index + positive.long() * (self.n_bins + 1)
        index = torch.where(keep, index, self.n_bins).reshape(-1)  # slot n_bins: skipped entries
        self._hist.index_add_(0, index, torch.ones_like(index))

    def histograms(self) -> tuple[Tensor, Tensor]:
        """``(positives, negatives)`` int64 histograms of shape ``(n_bins,)`` on the CPU."""
        if self._hist is None:
            empty = torch.zeros(self.n_bins, dtype=torch.int64)
            return empty, empty.clone()
        hist = self._hist.cpu().reshape(2, self.n_bins + 1)
        return hist[1, : self.n_bins], hist[0, : self.n_bins]

    def compute(self) -> float:
        """AUROC; ``nan`` when there are no positives or no negatives."""
        pos, neg = (h.double() for h in self.histograms())
        n_pos, n_neg = float(pos.sum()), float(neg.sum())
        if n_pos == 0 or n_neg == 0:
            return math.nan
        neg_below = torch.cumsum(neg, 0) - neg
        wins = float((pos * (neg_below + 0.5 * neg)).sum())
        return wins / (n_pos * n_neg)

    def max_error(self) -> float:
        """Upper bound on ``|compute() - exact AUROC|`` for the data seen (``nan`` when undefined)."""
        pos, neg = (h.double() for h in self.histograms())
        n_pos, n_neg = float(pos.sum()), float(neg.sum())
        if n_pos == 0 or n_neg == 0:
            return math.nan
        return 0.5 * float((pos * neg).sum()) / (n_pos * n_neg)

    def reset(self) -> None:
        self._hist = None
