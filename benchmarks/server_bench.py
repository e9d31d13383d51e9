"""Served frames per second and end-to-end latency over the WebSocket, for 1, 4, 8 concurrent streams.

A real ``vqseg serve`` runs as a child process on 127.0.0.1. For each level, ``n`` clients each push
the same pre-rendered synthetic video (an endless loop, timestamps rising at the scene's rate) as fast
as the server answers (closed loop: at most ``max_in_flight`` frames unanswered per stream), for
``warmup`` seconds untimed and then ``seconds`` timed. Latency runs from the moment a client takes a
frame (before JPEG encoding) to the moment its result arrives; the clients run in this process,
so on a small machine they share the CPU with the server (and the figures say so).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
import numpy as np

from benchmarks.scene import looped
from vqseg_client.client import Backoff, StreamClient
from vqseg_client.result import percentile


@dataclass(frozen=True)
class ServerBenchConfig:
    concurrency: tuple[int, ...] = (1, 4, 8)
    seconds: float = 15.0
    warmup: float = 3.0
    mode: str = "vqbnn"
    max_in_flight: int = 1
    jpeg_quality: int = 85


@dataclass
class _Recorder:
    """(arrival time, latency ms, server's dropped count) per result of one stream."""

    events: list[tuple[float, float, int]] = field(default_factory=list)
    error: str | None = None

    def window(self, start: float, end: float) -> list[tuple[float, float, int]]:
        return [e for e in self.events if start <= e[0] < end]

    def dropped_in(self, start: float, end: float) -> int:
        before = [e[2] for e in self.events if e[0] < start]
        inside = [e[2] for e in self.window(start, end)]
        return (inside[-1] - (before[-1] if before else 0)) if inside else 0


async def _consume(client: StreamClient, frames: Sequence[np.ndarray], fps: float, recorder: _Recorder) -> None:
    try:
        async with contextlib.aclosing(client.stream(looped(frames, fps), pace=False, keep_images=False)) as results:
            async for result in results:
                recorder.events.append((time.monotonic(), result.latency_ms or math.nan, result.dropped))
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # reported in the level's figures
        recorder.error = f"{type(exc).__name__}: {exc}"


def _stream_info(http_url: str, stream_id: str) -> dict[str, Any]:
    try:
        with httpx.Client(base_url=http_url, timeout=5.0) as http:
            response = http.get(f"/v1/streams/{stream_id}")
            return dict(response.json()) if response.status_code == 200 else {}
    except httpx.HTTPError:
        return {}


async def measure_level(
    ws_url: str, http_url: str, streams: int, frames: Sequence[np.ndarray], fps: float, config: ServerBenchConfig
) -> dict[str, Any]:
    """One concurrency level: ``streams`` clients at once; figures over the timed window only."""
    recorders = [_Recorder() for _ in range(streams)]
    clients = [
        StreamClient(ws_url, f"bench-{streams}-{i}", params={"mode": config.mode}, max_in_flight=config.max_in_flight,
                     jpeg_quality=config.jpeg_quality, backoff=Backoff(initial=0.2, attempts=3))
        for i in range(streams)
    ]
    tasks = [asyncio.create_task(_consume(c, frames, fps, r)) for c, r in zip(clients, recorders, strict=True)]
    await asyncio.sleep(config.warmup)
    start = time.monotonic()
    info = await asyncio.to_thread(_stream_info, http_url, clients[0].stream_id)
    await asyncio.sleep(max(0.0, config.seconds - (time.monotonic() - start)))
    end = time.monotonic()
    for task in tasks:
        task.cancel()
    await asyncio.wait(tasks, timeout=10.0)
    span = end - start
    per_stream = [len(r.window(start, end)) / span for r in recorders]
    latencies = [e[1] for r in recorders for e in r.window(start, end) if not math.isnan(e[1])]
    return {
        "streams": streams,
        "seconds": round(span, 3),
        "results": sum(len(r.window(start, end)) for r in recorders),
        "fps_total": sum(per_stream),
        "fps_per_stream": sum(per_stream) / streams,
        "fps_per_stream_min": min(per_stream),
        "fps_per_stream_max": max(per_stream),
        "latency_ms": {"p50": percentile(latencies, 50), "p99": percentile(latencies, 99),
                       "mean": float(np.mean(latencies)) if latencies else math.nan},
        "dropped": sum(r.dropped_in(start, end) for r in recorders),
        "buffer_bytes_per_stream": info.get("buffer_bytes"),
        "buffer_len": info.get("buffer_len"),
        "errors": [r.error for r in recorders if r.error],
    }


async def run_server_bench(
    ws_url: str, http_url: str, frames: Sequence[np.ndarray], fps: float, config: ServerBenchConfig,
    report: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """The ``server`` section: one entry per concurrency level, in order."""
    levels = []
    for streams in config.concurrency:
        level = await measure_level(ws_url, http_url, streams, frames, fps, config)
        levels.append(level)
        if report is not None:
            latency = level["latency_ms"]
            report(f"  {streams} stream(s): {level['fps_total']:.1f} fps total, p50 {latency['p50']:.0f} ms, "
                   f"p99 {latency['p99']:.0f} ms, dropped {level['dropped']}")
    return {
        "mode": config.mode,
        "frame_size": [int(frames[0].shape[0]), int(frames[0].shape[1])],
        "jpeg_quality": config.jpeg_quality,
        "max_in_flight": config.max_in_flight,
        "warmup_seconds": config.warmup,
        "seconds_per_level": config.seconds,
        "pacing": "closed loop: each stream sends as fast as the server answers",
        "latency": "client took the frame (before JPEG encoding) -> its result arrived",
        "levels": levels,
    }
