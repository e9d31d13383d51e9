from __future__ import annotations

import math

import pytest
import torch

from evaluation.metrics import ConfusionMatrix
from tests.evaluation import reference
from tests.evaluation.factories import random_probs, random_target


def one_hot_probs(pred: list[list[int]], num_classes: int) -> torch.Tensor:
    """``(C, H, W)`` probs whose argmax is ``pred``."""
    return torch.nn.functional.one_hot(torch.tensor(pred), num_classes).permute(2, 0, 1).float()


def test_absent_class_and_ignore_pixels() -> None:
    metric = ConfusionMatrix()
    target = torch.tensor([[0, 0, 1], [1, 255, 2]], dtype=torch.uint8)
    metric.update(one_hot_probs([[0, 1, 1], [1, 2, 0]], 4), target)
    expected = torch.tensor([[1, 1, 0, 0], [0, 2, 0, 0], [1, 0, 0, 0], [0, 0, 0, 0]])
    assert torch.equal(metric.compute(), expected)
    iou = metric.per_class_iou()
    assert iou[:3].tolist() == pytest.approx([1 / 3, 2 / 3, 0.0])
    assert math.isnan(iou[3])  # class 3: neither in target nor in prediction -> excluded
    assert metric.mean_iou() == pytest.approx(1 / 3)
    assert metric.pixel_accuracy() == pytest.approx(3 / 5)


def test_class_only_in_prediction_counts_in_miou() -> None:
    metric = ConfusionMatrix()
    metric.update(one_hot_probs([[0, 1]], 3), torch.tensor([[0, 0]]))
    assert metric.per_class_iou().tolist()[:2] == [0.5, 0.0]
    assert metric.mean_iou() == pytest.approx(0.25)


def test_matches_numpy_reference() -> None:
    gen = torch.Generator().manual_seed(2)
    probs = random_probs(gen, (3, 6, 5, 4))
    target = random_target(gen, probs)
    p, y = reference.valid_pixels(probs.double().numpy(), target.numpy())
    metric = ConfusionMatrix()
    metric.update(probs, target)
    assert metric.pixel_accuracy() == pytest.approx(reference.accuracy(p, y))
    assert metric.mean_iou() == pytest.approx(reference.miou(p, y))
    assert int(metric.compute().sum()) == len(y)


def test_empty_is_nan() -> None:
    metric = ConfusionMatrix()
    assert math.isnan(metric.pixel_accuracy())
    assert math.isnan(metric.mean_iou())
