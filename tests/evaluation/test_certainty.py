from __future__ import annotations

import math

import pytest
import torch

from evaluation.metrics import CertaintyRates
from tests.evaluation import reference
from tests.evaluation.factories import random_probs, random_target, two_class


def test_small_case_with_threshold_on_edge() -> None:
    metric = CertaintyRates(0.9)
    # conf .95 right, .95 wrong, .9 right (certain: >= 0.9), .6 wrong, .7 right, ignored
    metric.update(two_class([0.95, 0.95, 0.9, 0.6, 0.7, 0.99]), torch.tensor([[0, 1, 0, 1, 0, 255]]))
    acc90, unc90 = metric.compute()
    assert acc90 == pytest.approx(2 / 3)  # certain: 3 pixels, 2 accurate
    assert unc90 == pytest.approx(1 / 2)  # inaccurate: 2 pixels, 1 uncertain


def test_empty_conditioning_sets_give_nan() -> None:
    metric = CertaintyRates(0.9)
    metric.update(two_class([0.6, 0.7]), torch.tensor([[0, 0]]))  # nothing certain, nothing wrong
    result = metric.compute()
    assert math.isnan(result.accurate_given_certain)
    assert math.isnan(result.uncertain_given_inaccurate)
    assert all(math.isnan(v) for v in CertaintyRates().compute())


def test_matches_numpy_reference() -> None:
    gen = torch.Generator().manual_seed(4)
    probs = random_probs(gen, (2, 3, 8, 8), sharpness=4.0)
    target = random_target(gen, probs)
    p, y = reference.valid_pixels(probs.double().numpy(), target.numpy())
    metric = CertaintyRates(0.9)
    metric.update(probs, target)
    assert tuple(metric.compute()) == pytest.approx(reference.certainty_rates(p, y, 0.9))
