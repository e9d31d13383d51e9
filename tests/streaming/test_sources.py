"""Frame sources on files the tests create (RTSP is tested with the server, against a real RTSP server)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from streaming import SourceError
from streaming.sources import open_source


def write_video(path: Path, frames: int = 12, size: tuple[int, int] = (64, 48), fps: float = 10.0) -> Path:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, size)
    assert writer.isOpened()
    for i in range(frames):
        bgr = np.zeros((size[1], size[0], 3), np.uint8)
        bgr[:, :, 2] = 250  # red in BGR
        cv2.putText(bgr, str(i), (5, 30), cv2.FONT_HERSHEY_SIMPLEX, 0.8, (255, 255, 255), 2)
        writer.write(bgr)
    writer.release()
    return path


def test_video_file_yields_every_frame_in_rgb_with_timestamps(tmp_path: Path) -> None:
    path = write_video(tmp_path / "clip.avi")
    with open_source(str(path)) as source:
        assert not source.live and source.fps == pytest.approx(10.0)
        frames = list(source)
    assert len(frames) == 12
    assert [f.index for f in frames] == list(range(12))
    first = frames[0].image
    assert first.shape == (48, 64, 3) and first.dtype == np.uint8
    assert first[40, 60, 0] > 200 and first[40, 60, 2] < 60, "frames come out RGB"
    stamps = [f.timestamp for f in frames]
    assert stamps == sorted(stamps) and stamps[-1] - stamps[0] == pytest.approx(1.1, abs=0.05)


def test_file_prefix_and_missing_files(tmp_path: Path) -> None:
    path = write_video(tmp_path / "clip.avi", frames=3)
    with open_source(f"file:{path}") as source:
        assert len(list(source)) == 3
    with pytest.raises(SourceError, match="no such video file"):
        open_source(str(tmp_path / "nope.mp4"))


def test_corrupt_file_is_a_source_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"\x00" * 1000)
    with pytest.raises(SourceError, match="cannot open"):
        open_source(str(bad))


def test_absent_webcam_is_a_source_error() -> None:
    with pytest.raises(SourceError):
        open_source("webcam:57")
    with pytest.raises(SourceError, match="webcam index"):
        open_source("webcam:front")
