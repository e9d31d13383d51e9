from __future__ import annotations

import math
from pathlib import Path

import cv2
import pytest
import torch

from evaluation.metrics import ExpectedCalibrationError, ReliabilityBins
from evaluation.plots import write_reliability_diagram
from tests.evaluation.factories import random_probs, random_target


def bins_for(seed: int) -> ReliabilityBins:
    gen = torch.Generator().manual_seed(seed)
    probs = random_probs(gen, (2, 4, 16, 16))
    metric = ExpectedCalibrationError(10)
    metric.update(probs, random_target(gen, probs))
    return metric.reliability()


def test_writes_one_panel_per_mode(tmp_path: Path) -> None:
    path = write_reliability_diagram(tmp_path / "sub" / "rel.png", {"dnn": bins_for(0), "vqbnn": bins_for(1)}, "test")
    image = cv2.imread(str(path))
    assert image is not None
    one = cv2.imread(str(write_reliability_diagram(tmp_path / "one.png", {"dnn": bins_for(0)}, "t")))
    assert image.shape[1] == 2 * one.shape[1] and image.shape[0] == one.shape[0]
    assert (image < 128).any()  # something was drawn


def test_empty_bins_render_and_empty_mapping_fails(tmp_path: Path) -> None:
    empty = ExpectedCalibrationError(10).reliability()
    assert math.isnan(empty.ece)
    write_reliability_diagram(tmp_path / "empty.png", {"none": empty}, "empty")
    with pytest.raises(ValueError, match="at least one"):
        write_reliability_diagram(tmp_path / "x.png", {}, "x")
