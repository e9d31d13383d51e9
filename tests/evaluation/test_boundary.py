"""Boundary accuracy against counts worked out by hand."""

from __future__ import annotations

import math

import pytest
import torch

from evaluation.metrics.boundary import BoundaryAccuracy, boundary_band

# 4 x 6, one vertical boundary between columns 2 and 3; (3, 5) is ignored.
TARGET = torch.tensor(
    [
        [0, 0, 0, 1, 1, 1],
        [0, 0, 0, 1, 1, 1],
        [0, 0, 0, 1, 1, 1],
        [0, 0, 0, 1, 1, 255],
    ]
)
# wrong at (0, 2), (1, 3), (2, 0) (far from the boundary) and (3, 4)
PRED = torch.tensor(
    [
        [0, 0, 1, 1, 1, 1],
        [0, 0, 0, 0, 1, 1],
        [1, 0, 0, 1, 1, 1],
        [0, 0, 0, 1, 0, 1],
    ]
)


def test_band_of_radius_zero_is_the_two_columns_at_the_edge() -> None:
    band = boundary_band(TARGET[None], 0)[0]
    expected = torch.zeros(4, 6, dtype=torch.bool)
    expected[:, 2:4] = True
    assert band.equal(expected)


def test_radius_one_widens_the_band_and_skips_ignored_pixels() -> None:
    band = boundary_band(TARGET[None], 1)[0]
    expected = torch.zeros(4, 6, dtype=torch.bool)
    expected[:, 1:5] = True
    assert band.equal(expected)
    band2 = boundary_band(TARGET[None], 2)[0]
    assert int(band2.sum()) == 23  # every valid pixel: columns 0..5 minus the ignored (3, 5)


def test_accuracy_counts_by_hand() -> None:
    metric = BoundaryAccuracy(radius=0)
    metric.update(PRED, TARGET)
    assert metric.compute() == pytest.approx(6 / 8)  # band: 8 pixels, wrong (0, 2) and (1, 3)
    wide = BoundaryAccuracy(radius=1)
    wide.update(PRED, TARGET)
    assert wide.compute() == pytest.approx(13 / 16)  # band: 16 pixels, wrong (0, 2), (1, 3), (3, 4)


def test_frames_accumulate_and_empty_is_nan() -> None:
    metric = BoundaryAccuracy(radius=0)
    assert math.isnan(metric.compute())
    uniform = torch.zeros(4, 6, dtype=torch.long)
    metric.update(uniform, uniform)  # no boundary: nothing counted
    assert math.isnan(metric.compute())
    metric.update(torch.stack([PRED, TARGET]), torch.stack([TARGET, TARGET]))
    assert metric.compute() == pytest.approx(14 / 16)


def test_shapes_must_match() -> None:
    with pytest.raises(ValueError):
        BoundaryAccuracy().update(PRED, TARGET[:2])
