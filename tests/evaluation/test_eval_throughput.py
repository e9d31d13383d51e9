"""measure_fps: every mode timed on the same number of frames, in rotating rounds; ratios."""

from __future__ import annotations

import math

import numpy as np
import pytest

from evaluation.throughput import Throughput, measure_fps
from models.backend_torch import TorchSegmenter
from streaming import Mode, StreamConfig


def test_all_modes_timed_alike_with_ratios(tiny_segmenter: TorchSegmenter, rgb_frame: np.ndarray) -> None:
    result = measure_fps(
        tiny_segmenter, [rgb_frame], list(Mode), StreamConfig(samples=2), rounds=2, frames_per_round=2, warmup=1
    )
    assert result.rounds == 2 and result.samples == 2 and result.device == "cpu"
    assert result.frames == {"dnn": 4, "bnn": 4, "vqdnn": 4, "vqbnn": 4}
    assert all(s > 0 for s in result.seconds.values()) and all(f > 0 for f in result.fps.values())
    ratios = result.ratios
    assert set(ratios) == {"vqbnn_over_dnn_fps", "vqbnn_over_bnn_fps", "vqbnn_over_vqdnn_fps"}
    assert ratios["vqbnn_over_bnn_fps"] == pytest.approx(result.fps["vqbnn"] / result.fps["bnn"])
    assert result.to_dict()["ratios"] == ratios


def test_ratios_need_both_modes() -> None:
    only = Throughput(seconds={"dnn": 1.0}, frames={"dnn": 10})
    assert only.fps == {"dnn": 10.0} and only.ratios == {}
    assert math.isnan(Throughput(seconds={"dnn": 0.0}, frames={"dnn": 0}).fps["dnn"])


@pytest.mark.parametrize(
    "frames, modes, rounds",
    [([], [Mode.DNN], 1), ([np.zeros((8, 8, 3), np.uint8)], [], 1), ([np.zeros((8, 8, 3), np.uint8)], [Mode.DNN], 0)],
)
def test_bad_arguments_are_refused(tiny_segmenter: TorchSegmenter, frames: list, modes: list, rounds: int) -> None:
    with pytest.raises(ValueError):
        measure_fps(tiny_segmenter, frames, modes, rounds=rounds)
