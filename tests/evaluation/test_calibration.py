from __future__ import annotations

import math

import pytest
import torch

from evaluation.metrics import ExpectedCalibrationError, confidence_bin
from tests.evaluation import reference
from tests.evaluation.factories import random_probs, random_target, two_class


def test_hand_case_with_values_on_bin_edges() -> None:
    # confidences 0.6 and 0.9 lie exactly on edges: bins are (lo, hi], so they go to (0.5, 0.6], (0.8, 0.9]
    probs = two_class([0.6, 0.55, 0.65, 0.9, 1.0, 0.7])
    target = torch.tensor([[0, 1, 0, 0, 1, 255]])
    metric = ExpectedCalibrationError(n_bins=10)
    metric.update(probs, target)
    # (0.5,0.6]: 2 px, conf .575, acc .5 ; (0.6,0.7]: .65 vs 1 ; (0.8,0.9]: .9 vs 1 ; (0.9,1]: 1 vs 0
    assert metric.compute() == pytest.approx((2 * 0.075 + 0.35 + 0.1 + 1.0) / 5, rel=1e-6)
    bins = metric.reliability()
    assert bins.counts == [0, 0, 0, 0, 0, 2, 1, 0, 1, 1]
    assert bins.accuracy[5] == 0.5
    assert bins.mean_confidence[5] == pytest.approx(0.575)
    assert math.isnan(bins.accuracy[0]) and math.isnan(bins.mean_confidence[7])
    assert bins.edges[0] == 0.0 and bins.edges[-1] == 1.0 and len(bins.edges) == 11


@pytest.mark.parametrize("n_bins", [10, 15])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_every_upper_edge_falls_in_its_own_bin(n_bins: int, dtype: torch.dtype) -> None:
    upper = torch.tensor([i / n_bins for i in range(1, n_bins + 1)], dtype=dtype)
    assert torch.equal(confidence_bin(upper, n_bins), torch.arange(n_bins))
    above = torch.nextafter(upper[:-1], torch.ones_like(upper[:-1]))
    assert torch.equal(confidence_bin(above, n_bins), torch.arange(1, n_bins))


def test_zero_confidence_goes_to_first_bin() -> None:
    assert confidence_bin(torch.tensor([0.0, 0.1, 0.1001, 1.0]), 10).tolist() == [0, 0, 1, 9]


@pytest.mark.parametrize("n_bins", [10, 15])
def test_matches_numpy_reference(n_bins: int) -> None:
    gen = torch.Generator().manual_seed(3)
    probs = random_probs(gen, (2, 5, 6, 7), sharpness=2.0).double()
    target = random_target(gen, probs)
    p, y = reference.valid_pixels(probs.numpy(), target.numpy())
    metric = ExpectedCalibrationError(n_bins)
    metric.update(probs, target)
    assert metric.compute() == pytest.approx(reference.ece(p, y, n_bins), rel=1e-9)
    assert sum(metric.reliability().counts) == len(y)


def test_perfectly_calibrated_bin_has_zero_ece() -> None:
    metric = ExpectedCalibrationError(10)
    metric.update(two_class([0.75] * 4), torch.tensor([[0, 0, 0, 1]]))
    assert metric.compute() == pytest.approx(0.0, abs=1e-7)


def test_empty_is_nan_and_rejects_bad_bins() -> None:
    assert math.isnan(ExpectedCalibrationError().compute())
    with pytest.raises(ValueError, match="n_bins"):
        ExpectedCalibrationError(0)


def test_round_trips_through_dict() -> None:
    metric = ExpectedCalibrationError(10)
    metric.update(two_class([0.75, 0.95]), torch.tensor([[0, 1]]))
    bins = metric.reliability()
    assert type(bins).from_dict(bins.to_dict()) == bins
