"""evaluate_modes: same frames for every mode, fresh streams per sequence, exact scores, timing."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from evaluation.metrics import METRIC_KEYS, SegmentationMetrics
from evaluation.runner import evaluate_modes, snapshot_index
from evaluation.suite import EvalSequence
from models.backend_torch import TorchSegmenter
from streaming import Mode, StreamConfig


def sequence(name: str, seed: int, frames: int = 4, labelled: bool = True) -> EvalSequence:
    rng = np.random.default_rng(seed)
    images = [rng.integers(0, 256, (40, 60, 3), dtype=np.uint8) for _ in range(frames)]
    labels = [rng.integers(0, 4, (40, 60)).astype(np.uint8) for _ in range(frames)] if labelled else None
    if labels:
        labels[0][:5] = 255
    return EvalSequence(name, images, [i / 15 for i in range(frames)], labels)


def test_every_mode_sees_every_frame_and_is_timed(tiny_segmenter: TorchSegmenter) -> None:
    seqs = [sequence("a", 0), sequence("b", 1, frames=2)]
    runs = evaluate_modes(tiny_segmenter, seqs, list(Mode), StreamConfig(samples=2), progress=False)
    assert list(runs) == ["dnn", "bnn", "vqdnn", "vqbnn"]
    for run in runs.values():
        assert run.frames == run.labelled_frames == 6 and run.seconds > 0 and run.fps > 0
        assert list(run.per_sequence) == ["a", "b"] and list(run.snapshots) == ["a", "b"]
        assert run.frame_sequence == ["a"] * 4 + ["b"] * 2
        summary = run.summary()
        assert set(METRIC_KEYS) <= set(summary) and 0 <= summary["acc"] <= 1 and summary["nll"] > 0
        assert 0 <= summary["mean_entropy"] <= 1 and summary["mean_mutual_info"] >= 0
    assert runs["dnn"].frame_mutual_info.max() == 0.0  # one deterministic pass: no disagreement
    assert runs["bnn"].frame_mutual_info.min() > 0.0
    shot = runs["vqbnn"].snapshots["a"]
    assert shot.labels.shape == shot.entropy.shape == shot.mutual_info.shape == (32, 48)
    assert shot.truth is not None and snapshot_index(4) == 3


def test_dnn_scores_equal_a_direct_computation(tiny_segmenter: TorchSegmenter) -> None:
    seqs = [sequence("a", 0, frames=3), sequence("b", 1, frames=2)]
    runs = evaluate_modes(tiny_segmenter, seqs, [Mode.DNN], StreamConfig(), progress=False)
    expected = SegmentationMetrics()
    for seq in seqs:
        labels = seq.labels_at((32, 48), torch.device("cpu"))
        assert labels is not None
        for image, label in zip(seq.images, labels, strict=True):
            expected.update(tiny_segmenter.predict(tiny_segmenter.prepare([image]), mc=False)[0], label)
        expected.update_sequence_boundary()
    got, want = runs["dnn"].metrics.compute(), expected.compute()
    for key in METRIC_KEYS:
        assert got[key] == pytest.approx(want[key], rel=1e-6, nan_ok=True), key


def test_window_of_one_reduces_vqdnn_to_dnn(tiny_segmenter: TorchSegmenter) -> None:
    runs = evaluate_modes(
        tiny_segmenter, [sequence("a", 2)], [Mode.DNN, Mode.VQDNN], StreamConfig(window=1), progress=False
    )
    dnn, vqdnn = runs["dnn"].metrics.compute(), runs["vqdnn"].metrics.compute()
    assert dnn == pytest.approx(vqdnn, rel=1e-6, nan_ok=True)


def test_each_sequence_starts_a_fresh_stream(tiny_segmenter: TorchSegmenter) -> None:
    config = StreamConfig(max_gap=100.0)  # no gap-based reset: only the runner's fresh pipelines reset
    both = evaluate_modes(tiny_segmenter, [sequence("a", 3), sequence("b", 4)], [Mode.VQDNN], config, progress=False)
    alone = evaluate_modes(tiny_segmenter, [sequence("b", 4)], [Mode.VQDNN], config, progress=False)
    assert both["vqdnn"].per_sequence["b"].compute() == pytest.approx(
        alone["vqdnn"].per_sequence["b"].compute(), rel=1e-6, nan_ok=True
    )


def test_unlabelled_sequences_are_run_but_not_scored(tiny_segmenter: TorchSegmenter) -> None:
    runs = evaluate_modes(
        tiny_segmenter, [sequence("real", 5, labelled=False)], [Mode.VQBNN], StreamConfig(), progress=False
    )
    run = runs["vqbnn"]
    assert run.frames == 4 and run.labelled_frames == 0 and run.per_sequence == {}
    summary = run.summary()
    assert "nll" not in summary and run.frame_entropy.shape == (4,) and not math.isnan(summary["mean_entropy"])
    with pytest.raises(ValueError, match="no modes"):
        evaluate_modes(tiny_segmenter, [], [], StreamConfig(), progress=False)
