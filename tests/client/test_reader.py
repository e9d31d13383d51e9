"""The one frame reader (vqseg_client.sources) on files the tests create: frames, stop(), credentials
never shown (RTSP is tested with the server and the client, against a real RTSP server)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from vqseg_client.redact import redact
from vqseg_client.sources import Reconnect, SourceError, open_source


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


def test_stop_ends_reading_from_another_thread(tmp_path: Path) -> None:
    path = write_video(tmp_path / "clip.avi", frames=5)
    with open_source(str(path)) as source:
        assert source.read() is not None
        source.stop()  # what the server does when a pulled stream is deleted
        assert source.read() is None


@pytest.mark.parametrize(
    ("uri", "shown"),
    [
        ("rtsp://admin:s3cret@cam/x?a=b@c", "rtsp://admin:***@cam/x?a=b@c"),
        ("rtsp://token@cam/x", "rtsp://***@cam/x"),
        ("rtsp://cam/x", "rtsp://cam/x"),
        ("https://cam/live?token=abc&quality=hi", "https://cam/live?token=***&quality=hi"),
        ("http://u:p@cam/s?api_key=zz#f", "http://u:***@cam/s?api_key=***#f"),
        ("rtsp://cam/s?user=a&Password=b", "rtsp://cam/s?user=a&Password=***"),
        ("https://cam/a?monkey=1", "https://cam/a?monkey=1"),
    ],
)
def test_redact_hides_credentials(uri: str, shown: str) -> None:
    assert redact(uri) == shown
    assert "\n" not in redact("synthetic:a\nforged")


def test_an_unreachable_camera_is_refused_without_its_credentials(caplog: pytest.LogCaptureFixture) -> None:
    uri = "rtsp://admin:hunter2@127.0.0.1:1/cam?token=abc123"
    with pytest.raises(SourceError) as refused:
        open_source(uri, Reconnect(initial=0.01, attempts=1), open_timeout=2.0)
    assert "127.0.0.1:1" in str(refused.value)
    text = str(refused.value) + caplog.text
    assert "hunter2" not in text and "abc123" not in text
