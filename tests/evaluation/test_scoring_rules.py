from __future__ import annotations

import math

import pytest
import torch

from evaluation.metrics import BrierScore, NegativeLogLikelihood
from tests.evaluation import reference
from tests.evaluation.factories import random_probs, random_target, two_class


def test_nll_of_uniform_two_class_is_ln2() -> None:
    metric = NegativeLogLikelihood()
    metric.update(torch.full((2, 4, 4), 0.5), torch.randint(0, 2, (4, 4)))
    assert metric.compute() == pytest.approx(math.log(2), rel=1e-12)


def test_nll_known_values_ignore_and_clamp() -> None:
    metric = NegativeLogLikelihood()
    probs = two_class([0.8, 0.8, 0.0, 0.3])
    metric.update(probs, torch.tensor([[0, 1, 0, 255]]))
    expected = (-math.log(0.8) - math.log(1 - 0.8) - math.log(1e-12)) / 3
    assert metric.compute() == pytest.approx(expected, rel=1e-6)


def test_brier_hand_case() -> None:
    probs = torch.tensor([0.5, 0.3, 0.2]).reshape(3, 1, 1).expand(3, 1, 3)
    metric = BrierScore()
    metric.update(probs, torch.tensor([[0, 2, 255]]))
    assert metric.compute() == pytest.approx((0.38 + 0.98) / 2, rel=1e-6)


def test_nll_and_brier_match_numpy_reference() -> None:
    gen = torch.Generator().manual_seed(1)
    probs = random_probs(gen, (2, 4, 5, 6))
    target = random_target(gen, probs)
    p, y = reference.valid_pixels(probs.double().numpy(), target.numpy())
    nll, brier = NegativeLogLikelihood(), BrierScore()
    nll.update(probs, target)
    brier.update(probs, target)
    assert nll.compute() == pytest.approx(reference.nll(p, y), rel=1e-6)
    assert brier.compute() == pytest.approx(reference.brier(p, y), rel=1e-6)


def test_empty_and_all_ignored_are_nan() -> None:
    metric = NegativeLogLikelihood()
    assert math.isnan(metric.compute())
    metric.update(torch.full((2, 2, 2), 0.5), torch.full((2, 2), 255, dtype=torch.uint8))
    assert math.isnan(metric.compute())
