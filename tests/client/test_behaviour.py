"""How the client behaves against a real server: reconnects, API keys, frames the server drops,
newest-frame-wins for live sources, a deleted stream, an unreachable server."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from tests.client.conftest import launch_on
from tests.server.conftest import LiveServer, ServerFactory
from vqseg_client.client import Backoff, StreamClient, StreamClientError
from vqseg_client.local_server import free_port
from vqseg_client.result import FrameResult
from vqseg_client.sources import FrameSource, SourceFrame
from vqseg_client.sync import stream_results

SCENE = "synthetic:street?seed=5&w=96&h=72&fps=15"


def run(coro_factory: Callable[[], object], timeout: float = 60.0) -> object:
    return asyncio.run(asyncio.wait_for(coro_factory(), timeout))  # type: ignore[arg-type]


class FakeCamera(FrameSource):
    """A live source at ``fps`` (a camera that produces frames whether or not anyone reads them)."""

    live = True

    def __init__(self, fps: float = 60.0, frames: int = 400) -> None:
        self.uri, self.fps, self._period, self._left, self._index = "fake:camera", fps, 1.0 / fps, frames, 0
        self._rng = np.random.default_rng(0)

    def read(self) -> SourceFrame | None:
        if self._left <= 0:
            return None
        time.sleep(self._period)
        self._left -= 1
        self._index += 1
        image = self._rng.integers(0, 255, (48, 64, 3), dtype=np.uint8)
        return SourceFrame(image, time.time(), self._index - 1)


def test_reconnects_and_restarts_the_stream_after_a_server_restart(tiny_checkpoint: Path) -> None:
    port = free_port()
    servers = [launch_on(port, tiny_checkpoint)]
    client = StreamClient(servers[0].ws_url, "phoenix", backoff=Backoff(initial=0.2, maximum=1.0, attempts=20))
    restarted = threading.Event()

    def restart() -> None:
        servers[0].stop()  # graceful: in-flight frames answered, WebSockets closed with 1001
        servers.append(launch_on(port, tiny_checkpoint))
        restarted.set()

    async def go() -> list[FrameResult]:
        results: list[FrameResult] = []
        async for result in client.stream(SCENE, max_frames=30):
            results.append(result)
            if len(results) == 6:
                threading.Thread(target=restart, daemon=True).start()
        return results

    try:
        results = run(go)
    finally:
        assert restarted.wait(30)
        servers[-1].stop()
    assert isinstance(results, list)
    trace = [(r.source_index, r.frame_index, r.buffer_len) for r in results], client.stats
    assert client.stats.reconnects == 1, trace
    indices = [r.source_index for r in results]
    assert indices == sorted(indices) and indices[-1] == 29, trace  # the source went on where it was
    restart_at = next((i for i in range(1, len(results)) if results[i].frame_index < results[i - 1].frame_index), None)
    assert restart_at is not None, trace
    assert results[restart_at].frame_index == 0 and results[restart_at].buffer_len == 1, trace  # a new stream
    stats = client.stats  # frames in flight at the restart: answered, refused (shutting down) or lost
    assert stats.results + stats.refused + stats.lost == stats.sent and stats.lost + stats.refused <= 2, trace


def test_api_key(start_server: ServerFactory) -> None:
    live = start_server(api_key="sekrit")
    results = list(stream_results(SCENE, server=live.ws_url, api_key="sekrit", pace=False, max_frames=3))
    assert len(results) == 3
    started = time.monotonic()
    with pytest.raises(StreamClientError) as refused:
        list(stream_results(SCENE, server=live.ws_url, api_key="wrong", max_frames=3))
    assert refused.value.code == 401 and time.monotonic() - started < 10  # no retries for a bad key


def test_frames_the_server_drops_are_matched(start_server: ServerFactory, tiny_loader: Callable[..., object]) -> None:
    live = start_server(load=tiny_loader(delay=0.15))
    client = StreamClient(live.ws_url, "busy", max_in_flight=4)
    results = run(lambda: _collect(client, SCENE, pace=False, max_frames=16))
    assert isinstance(results, list)
    stats = client.stats
    assert stats.dropped > 0 and stats.lost == 0
    assert stats.results + stats.dropped == stats.sent == 16
    for r in results:  # each result went to the frame it belongs to (synthetic timestamps: index / 15)
        assert r.source_index is not None and r.timestamp == pytest.approx(r.source_index / 15.0)
    assert results[-1].source_index == 15  # the newest frame always wins


def test_live_source_sends_the_newest_frame(start_server: ServerFactory, tiny_loader: Callable[..., object]) -> None:
    live = start_server(load=tiny_loader(delay=0.1))
    client = StreamClient(live.ws_url, "camera")
    camera = FakeCamera(fps=60.0)
    results = run(lambda: _collect(client, camera, max_frames=8))
    assert isinstance(results, list) and len(results) >= 6
    stats = client.stats
    assert stats.sent == 8 and stats.skipped > 8  # the camera ran on; only the newest frames were sent
    assert stats.results + stats.dropped == 8 and stats.lost == 0
    gaps = np.diff([r.source_index for r in results])
    assert gaps.max() > 1


def test_deleted_stream_ends_the_client(server: LiveServer) -> None:
    client = StreamClient(server.ws_url, "to-delete")

    async def go() -> list[FrameResult]:
        results: list[FrameResult] = []
        async for result in client.stream(SCENE, max_frames=200):
            results.append(result)
            if len(results) == 3:
                with server.client() as http:
                    assert (await asyncio.to_thread(http.delete, "/v1/streams/to-delete")).status_code == 204
        return results

    results = run(go)
    assert isinstance(results, list) and 3 <= len(results) < 200
    assert client.stats.reconnects == 0


def test_unreachable_server_gives_up() -> None:
    client = StreamClient(f"ws://127.0.0.1:{free_port()}", backoff=Backoff(initial=0.05, attempts=2))
    with pytest.raises(StreamClientError, match="giving up after 2"):
        run(lambda: _collect(client, SCENE, max_frames=2))


async def _collect(client: StreamClient, source: object, **kwargs: object) -> list[FrameResult]:
    return [r async for r in client.stream(source, **kwargs)]  # type: ignore[arg-type]
