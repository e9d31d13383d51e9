"""The client streams real sources through a real server: a video file written with OpenCV, and a
real GStreamer RTSP server on loopback (an H.264 clip, and a live test pattern)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.client.conftest import CLIP_FPS, CLIP_FRAMES, CLIP_SIZE
from tests.server.conftest import LiveServer
from vqseg_client.client import StreamClient
from vqseg_client.result import FrameResult
from vqseg_client.sources import open_source
from vqseg_client.sync import stream_results


def collect(client: StreamClient, source: object, **kwargs: object) -> list[FrameResult]:
    async def go() -> list[FrameResult]:
        return [r async for r in client.stream(source, **kwargs)]  # type: ignore[arg-type]

    return asyncio.run(asyncio.wait_for(go(), 60))


NETWORK = (48, 32)  # the tiny model's output (width, height): protocol 2's maps come at this size


def check_maps(result: FrameResult, size: tuple[int, int], classes: int = 4, protocol: int = 2) -> None:
    assert (result.width, result.height) == size  # the frame's size
    width, height = NETWORK if protocol == 2 else size
    assert result.labels.shape == (height, width) and result.labels.dtype == np.uint8
    assert result.labels_at(*size).shape == (size[1], size[0])
    assert int(result.labels.max()) < classes
    assert result.uncertainty.shape == (height, width) and result.uncertainty.dtype == np.float32
    assert 0.0 <= float(result.uncertainty.min()) <= float(result.uncertainty.max()) <= 1.0
    assert result.latency_ms is not None and result.latency_ms > 0


@pytest.mark.parametrize("protocol", [2, 1])
def test_video_file_every_frame_in_order_at_the_file_rate(server: LiveServer, video_file: Path, protocol: int) -> None:
    client = StreamClient(server.ws_url, f"file-{protocol}", maps=["confidence", "mutual_info"],
                          params={"mode": "vqbnn"}, protocol=protocol)
    started = time.monotonic()
    results = collect(client, str(video_file))
    elapsed = time.monotonic() - started
    assert [r.source_index for r in results] == list(range(CLIP_FRAMES))
    assert [r.frame_index for r in results] == list(range(CLIP_FRAMES))
    assert elapsed >= (CLIP_FRAMES - 1) / CLIP_FPS * 0.9  # paced at the file's 10 fps, not faster
    capture = cv2.VideoCapture(str(video_file))
    stamps = []
    while capture.grab():
        stamps.append(capture.get(cv2.CAP_PROP_POS_MSEC) / 1000.0)
    capture.release()
    assert [r.timestamp for r in results] == pytest.approx(stamps, abs=1e-6)  # the file's own clock
    for r in results:
        check_maps(r, CLIP_SIZE, protocol=protocol)
        assert set(r.maps) == {"confidence", "mutual_info"} and r.image is not None
        assert r.image.shape == (CLIP_SIZE[1], CLIP_SIZE[0], 3)
    assert [r.buffer_len for r in results[:7]] == [1, 2, 3, 4, 5, 6, 6]
    assert client.model["num_classes"] == 4
    stats = client.stats.to_dict()
    assert stats["frames_sent"] == stats["results"] == CLIP_FRAMES
    assert stats["dropped"] == stats["lost"] == stats["refused"] == stats["skipped"] == 0
    assert stats["latency_ms"]["p50"] > 0 and stats["latency_ms"]["p99"] >= stats["latency_ms"]["p50"]


def test_sync_client_unpaced(server: LiveServer, video_file: Path) -> None:
    client = StreamClient(server.ws_url, "file-sync")
    results = list(stream_results(str(video_file), client=client, pace=False, max_frames=8))
    assert [r.source_index for r in results] == list(range(8))
    assert client.stats.results == 8 and client.stats.fps > 0


def test_rtsp_clip(server: LiveServer, rtsp_server: Callable[..., str], h264_clip: Path) -> None:
    url = rtsp_server(h264_clip)
    client = StreamClient(server.ws_url, "rtsp-clip")
    results = collect(client, url, max_frames=12)
    assert len(results) >= 6  # live: the client sends the newest frame whenever it has room
    for r in results:
        check_maps(r, CLIP_SIZE)
    assert [r.frame_index for r in results] == list(range(len(results)))
    stats = client.stats
    assert client.source_live and stats.lost == 0 and stats.refused == 0
    assert stats.results + stats.dropped == stats.sent  # the server may drop a waiting frame for a newer one
    assert stats.sent + stats.skipped >= 12


def test_rtsp_live_pattern(server: LiveServer, rtsp_server: Callable[..., str]) -> None:
    url = rtsp_server()
    with open_source(url) as probe:
        assert probe.live
    results = list(stream_results(url, server=server.ws_url, stream_id="rtsp-live", max_frames=6))
    assert len(results) >= 3
    check_maps(results[-1], (320, 240))
