from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from evaluation.metrics import HistogramAUROC, auroc
from tests.evaluation import reference


@pytest.mark.parametrize(
    ("pos", "neg", "expected"),
    [
        ([2.0, 3.0], [0.0, 1.0], 1.0),
        ([0.0, 1.0], [2.0, 3.0], 0.0),
        ([0.5, 0.5, 0.5], [0.5, 0.5], 0.5),
        ([1.0, 3.0], [2.0], 0.5),
        ([1.0, 2.0], [2.0, 0.0], 0.625),
    ],
)
def test_exact_known_values(pos: list[float], neg: list[float], expected: float) -> None:
    assert auroc(pos, neg) == pytest.approx(expected)


def test_exact_matches_pairwise_with_ties_and_accepts_tensors() -> None:
    rng = np.random.default_rng(5)
    pos, neg = rng.integers(0, 6, 300).astype(float), rng.integers(0, 5, 200).astype(float)
    assert auroc(pos, neg) == pytest.approx(reference.auroc_pairs(pos, neg), rel=1e-12)
    assert auroc(torch.from_numpy(pos), torch.from_numpy(neg)) == pytest.approx(auroc(pos, neg))


def test_exact_empty_is_nan_and_nan_scores_rejected() -> None:
    assert math.isnan(auroc([], [1.0]))
    with pytest.raises(ValueError, match="NaN"):
        auroc([math.nan], [1.0])


def test_histogram_within_documented_bound_on_random_data() -> None:
    gen = torch.Generator().manual_seed(6)
    # skewed continuous scores plus a pile of exact zeros in both sets (ties count 1/2 in both methods)
    pos = torch.cat([torch.rand(20_000, generator=gen) ** 0.7, torch.zeros(500)])
    neg = torch.cat([torch.rand(30_000, generator=gen) ** 1.3, torch.zeros(2_000)])
    metric = HistogramAUROC(n_bins=4096, max_score=1.0)
    scores = torch.cat([pos, neg])
    metric.update(scores, torch.arange(scores.numel()) < pos.numel())
    exact = auroc(pos, neg)
    assert abs(metric.compute() - exact) <= metric.max_error()
    assert metric.max_error() < 1e-3  # ~ 1 / n_bins for smooth densities


def test_histogram_equals_exact_when_scores_sit_in_distinct_bins() -> None:
    pos, neg = torch.tensor([0.05, 0.35, 0.35, 0.95]), torch.tensor([0.35, 0.15, 0.05])
    metric = HistogramAUROC(n_bins=10, max_score=1.0)
    metric.update(torch.cat([pos, neg]), torch.tensor([True] * 4 + [False] * 3))
    assert metric.compute() == pytest.approx(auroc(pos, neg))


def test_histogram_skips_invalid_and_nan_and_clamps_range() -> None:
    metric = HistogramAUROC(n_bins=8, max_score=2.0)
    scores = torch.tensor([5.0, -1.0, math.nan, 0.1, 1.9])
    positive = torch.tensor([True, False, True, True, False])
    valid = torch.tensor([True, True, True, True, False])
    metric.update(scores, positive, valid)
    pos_hist, neg_hist = metric.histograms()
    assert pos_hist.tolist() == [1, 0, 0, 0, 0, 0, 0, 1]  # 0.1 -> bin 0, 5.0 clamped to the last bin
    assert neg_hist.tolist() == [1, 0, 0, 0, 0, 0, 0, 0]  # -1 clamped to bin 0; 1.9 not valid
    assert metric.compute() == pytest.approx(0.75)  # one win, one tie in bin 0


def test_histogram_empty_is_nan_and_shape_checked() -> None:
    metric = HistogramAUROC()
    assert math.isnan(metric.compute()) and math.isnan(metric.max_error())
    with pytest.raises(ValueError, match="same shape"):
        metric.update(torch.zeros(3), torch.zeros(2, dtype=torch.bool))
