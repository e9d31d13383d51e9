"""Real clips: finding them, sampling runs of consecutive frames, and the real-vs-synthetic AUROC."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from evaluation.domain_shift import real_vs_synthetic
from evaluation.real_clips import find_real_clips, read_clip, run_starts
from evaluation.runner import ModeRun
from streaming import Mode, uncertainty_maps


def write_video(path: Path, frames: int = 30, fps: float = 10.0) -> Path:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (64, 48))
    assert writer.isOpened()
    for i in range(frames):
        image = np.full((48, 64, 3), i * 8, np.uint8)
        cv2.putText(image, str(i), (5, 40), cv2.FONT_HERSHEY_SIMPLEX, 1.0, (255, 255, 255), 2)
        writer.write(image)
    writer.release()
    return path


@pytest.mark.parametrize(
    "total, frames, runs, expected",
    [(795, 40, 2, [(189, 20), (586, 20)]), (10, 40, 2, [(0, 5), (5, 5)]), (100, 30, 1, [(35, 30)]), (0, 4, 2, [])],
)
def test_runs_are_spread_evenly(total: int, frames: int, runs: int, expected: list[tuple[int, int]]) -> None:
    assert run_starts(total, frames, runs) == expected


def test_reads_runs_of_consecutive_frames_with_their_own_timestamps(tmp_path: Path) -> None:
    path = write_video(tmp_path / "clip.avi")
    sequences = read_clip("clip", path, frames=8, runs=2)
    assert [s.name for s in sequences] == ["clip-0", "clip-1"] and all(s.labels is None for s in sequences)
    assert [len(s) for s in sequences] == [4, 4] and sequences[0].images[0].shape == (48, 64, 3)
    stamps = sequences[1].timestamps
    assert np.diff(stamps) == pytest.approx([0.1] * 3) and stamps[0] > sequences[0].timestamps[-1]
    assert sequences[0].tags == {"clip": "clip", "path": str(path)}
    with pytest.raises(ValueError, match="cannot open"):
        read_clip("nope", tmp_path / "missing.avi")


def test_extra_clips_are_found_and_missing_ones_explained(tmp_path: Path) -> None:
    path = write_video(tmp_path / "street.avi", frames=3)
    search = find_real_clips([path, tmp_path / "gone.mp4"], include_defaults=False)
    assert search.found == {"street": path}
    assert "does not exist" in search.missing["gone"]
    defaults = find_real_clips()
    assert set(defaults.found) | set(defaults.missing) == {"vtest", "bikes"}
    assert all("install" in why for why in defaults.missing.values())


def binary_entropy(a: float) -> float:
    """Entropy of (a, 1 - a) divided by ln 2: increasing on [0, 0.5]."""
    return float(-(a * np.log(a) + (1 - a) * np.log(1 - a)) / np.log(2))


def run_with(mode: Mode, minority: list[float], sequence: str) -> ModeRun:
    """A ModeRun whose frames predict (a, 1 - a) everywhere, with certain members (MI = entropy)."""
    run = ModeRun(mode)
    for a in minority:
        probs = torch.tensor([a, 1 - a]).view(2, 1, 1).expand(2, 2, 2).clone()
        run.record(sequence, uncertainty_maps(probs, torch.zeros(2, 2)))
    return run


def test_real_vs_synthetic_auroc_is_exact() -> None:
    real = {"vqbnn": run_with(Mode.VQBNN, [0.45, 0.4, 0.3], "clip-0")}
    synthetic = {"vqbnn": run_with(Mode.VQBNN, [0.05, 0.35, 0.1, 0.15], "s")}
    out = real_vs_synthetic(real, synthetic, {"clip-0": "clip"})["vqbnn"]
    # real frames more uncertain than synthetic ones: 0.45 and 0.4 beat all 4, 0.3 beats 3 of 4
    assert out["auroc_entropy"] == pytest.approx(11 / 12)
    assert out["auroc_mutual_info"] == pytest.approx(11 / 12)
    assert out["real"]["frames"] == 3 and out["synthetic"]["frames"] == 4
    assert out["real"]["mean_entropy"] == pytest.approx(np.mean([binary_entropy(a) for a in (0.45, 0.4, 0.3)]))
    assert out["clips"] == {"clip": pytest.approx(out["real"])}
    assert real_vs_synthetic(real, {}, {}) == {}
