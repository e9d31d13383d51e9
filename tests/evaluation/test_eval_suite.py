"""The held-out set never overlaps training, and ground truth is resized with nearest neighbour."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from evaluation.suite import HELD_OUT_SEEDS, EvalSequence, held_out_specs, render_sequence
from models.training.synthetic_data import TRAIN_CORRUPTIONS, TRAIN_SCENARIOS, TRAIN_SEED_BASE


def test_default_suite_is_held_out_from_training() -> None:
    specs = held_out_specs()
    assert len(specs) == 6 and all(s.frames == 40 and s.size == (360, 480) and s.fps == 15.0 for s in specs)
    assert all(s.seed in HELD_OUT_SEEDS and s.seed < TRAIN_SEED_BASE for s in specs)
    assert {s.scenario for s in specs} - set(TRAIN_SCENARIOS) == {"cuts"}
    unseen = {c for s in specs for c in s.corruption.split("+")} - set(TRAIN_CORRUPTIONS)
    assert {"fog", "lowlight", "jpeg"} <= unseen
    assert any(s.corruption == "none" for s in specs) and len({s.name for s in specs}) == 6


@pytest.mark.parametrize("sequences, first_seed", [(2, 0), (1, 100), (10, 95), (0, 1)])
def test_seeds_outside_the_held_out_range_are_refused(sequences: int, first_seed: int) -> None:
    with pytest.raises(ValueError):
        held_out_specs(sequences, 4, first_seed)


def test_rendered_sequence_has_timestamps_and_cuts_change_shot_midway() -> None:
    spec = held_out_specs(2, 4, size=(48, 64))[1]
    assert spec.scenario == "cuts" and spec.cut_every == 2
    sequence = render_sequence(spec)
    assert len(sequence) == 4 and sequence.timestamps == pytest.approx([0, 1 / 15, 2 / 15, 3 / 15])
    assert sequence.images[0].shape == (48, 64, 3) and sequence.labels is not None
    assert sequence.labels[0].shape == (48, 64) and sequence.labels[0].dtype == np.uint8


def test_labels_are_resized_with_nearest_neighbour_keeping_ignore() -> None:
    label = np.zeros((60, 80), np.uint8)
    label[:, 40:] = 3
    label[:10] = 255
    sequence = EvalSequence("x", [np.zeros((60, 80, 3), np.uint8)], [0.0], [label])
    (small,) = sequence.labels_at((15, 20), torch.device("cpu"))  # type: ignore[misc]
    assert small.shape == (15, 20) and set(small.unique().tolist()) == {0, 3, 255}
    assert (small[5:, :10] == 0).all() and (small[5:, 10:] == 3).all()
    assert EvalSequence("y", [], [], None).labels_at((15, 20), torch.device("cpu")) is None
