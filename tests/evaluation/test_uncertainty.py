from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from evaluation.metrics import confidence, predictive_entropy
from tests.evaluation import reference
from tests.evaluation.factories import random_probs


@pytest.mark.parametrize("num_classes", [2, 3, 11])
def test_uniform_has_entropy_log_c_and_normalized_one(num_classes: int) -> None:
    probs = torch.full((num_classes, 2, 3), 1.0 / num_classes)
    assert torch.allclose(predictive_entropy(probs), torch.full((2, 3), math.log(num_classes)))
    assert torch.allclose(predictive_entropy(probs, normalize=True), torch.ones(2, 3))


def test_one_hot_has_zero_entropy() -> None:
    probs = torch.nn.functional.one_hot(torch.tensor([[0, 2], [1, 1]]), 3).permute(2, 0, 1).float()
    assert torch.equal(predictive_entropy(probs), torch.zeros(2, 2))


def test_matches_numpy_on_any_class_dim() -> None:
    probs = random_probs(torch.Generator().manual_seed(0), (2, 5, 3, 4))
    rows = probs.permute(0, 2, 3, 1).reshape(-1, 5).double().numpy()
    expected = reference.entropy(rows).reshape(2, 3, 4)
    np.testing.assert_allclose(predictive_entropy(probs).numpy(), expected, rtol=1e-5)
    np.testing.assert_allclose(predictive_entropy(probs.movedim(1, -1), dim=-1).numpy(), expected, rtol=1e-5)


def test_single_class_normalized_stays_zero() -> None:
    assert torch.equal(predictive_entropy(torch.ones(1, 2, 2), normalize=True), torch.zeros(2, 2))


def test_confidence_is_max_probability() -> None:
    probs = torch.tensor([[[0.2]], [[0.7]], [[0.1]]])
    assert torch.equal(confidence(probs), torch.tensor([[0.7]]))
