from __future__ import annotations

import math

import pytest
import torch

from evaluation.metrics import Flicker
from tests.evaluation import reference

TARGET = torch.tensor([[[0, 1], [2, 255]], [[0, 1], [0, 2]], [[0, 1], [0, 2]]])
PRED = torch.tensor([[[0, 1], [1, 0]], [[1, 1], [1, 2]], [[0, 0], [0, 2]]])
# pair 1->2: stable (0,0),(0,1) [(1,0) label changes, (1,1) ignored]; changed (0,0)  -> 1 / 2
# pair 2->3: all 4 stable; changed (0,0),(0,1),(1,0)                                   -> 3 / 4


def test_three_frames_one_at_a_time() -> None:
    metric = Flicker()
    for pred, target in zip(PRED, TARGET, strict=True):
        metric.update(pred, target)
    assert metric.compute() == pytest.approx(4 / 6)
    assert metric.compute() == pytest.approx(reference.flicker(PRED.numpy(), TARGET.numpy()))


@pytest.mark.parametrize("split", [3, 1, 2])
def test_batched_frames_are_consecutive(split: int) -> None:
    metric = Flicker()
    metric.update(PRED[:split], TARGET[:split])
    if split < 3:
        metric.update(PRED[split:], TARGET[split:])
    assert metric.compute() == pytest.approx(4 / 6)


def test_sequence_boundary_breaks_the_pair() -> None:
    metric = Flicker()
    metric.update(PRED[:2], TARGET[:2])
    metric.reset_sequence()
    metric.update(PRED[2], TARGET[2])
    assert metric.compute() == pytest.approx(1 / 2)


def test_caller_may_reuse_its_buffers() -> None:
    metric = Flicker()
    pred, target = PRED[0].clone(), TARGET[0].clone()
    metric.update(pred, target)
    pred.copy_(PRED[1])
    target.copy_(TARGET[1])
    metric.update(pred, target)
    assert metric.compute() == pytest.approx(1 / 2)


def test_single_frame_is_nan_and_shape_change_needs_reset() -> None:
    metric = Flicker()
    metric.update(PRED[0], TARGET[0])
    assert math.isnan(metric.compute())
    with pytest.raises(ValueError, match="reset_sequence"):
        metric.update(torch.zeros(3, 3, dtype=torch.long), torch.zeros(3, 3, dtype=torch.long))
    metric.reset_sequence()
    metric.update(torch.zeros(3, 3, dtype=torch.long), torch.zeros(3, 3, dtype=torch.long))
