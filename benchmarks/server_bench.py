"""Served frames per second and end-to-end latency over the WebSocket, for 1, 4, 8 concurrent streams.

A real ``vqseg serve`` runs as a child process on 127.0.0.1. For each level, ``n`` clients each push
the same pre-rendered synthetic video (an endless loop, timestamps rising at the scene's rate) as fast
as the server answers (closed loop: at most ``max_in_flight`` frames unanswered per stream), for
``warmup`` seconds untimed and then ``seconds`` timed. Latency runs from the moment a client takes a
frame (before JPEG encoding) to the moment its result arrives; the clients run in this process,
so on a small machine they share the CPU with the server (and the figures say so).

Each level runs once per result format (``FORMATS``: protocol 2's binary frames at the network's
resolution, protocol 1's JSON with frame-size PNGs, each with and without all maps) and reports the
median of the server's own per-stage timings (``timing_ms`` of every result) beside fps and latency.
The same levels run against ``benchmarks.bare_endpoint`` (the model behind a minimal WebSocket loop,
interleaved level by level, clients doing the same JPEG encoding): served/reference is the price of
everything the service adds.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
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

ALL_MAPS = ("confidence", "mutual_info", "expected_entropy")
STAGE_NAMES = ("decode", "queue", "forward", "blend", "maps", "encode", "total")


@dataclass(frozen=True)
class ResultFormat:
    """How the bench's clients ask for results."""

    name: str
    protocol: int
    maps: tuple[str, ...] = ()
    size: str = "network"
    map_dtype: str = "float16"


FORMATS = {
    "binary": ResultFormat("binary", 2),
    "binary-all": ResultFormat("binary-all", 2, ALL_MAPS),
    "json": ResultFormat("json", 1),
    "json-all": ResultFormat("json-all", 1, ALL_MAPS),
    "binary-frame": ResultFormat("binary-frame", 2, size="frame"),
}


@dataclass(frozen=True)
class ServerBenchConfig:
    concurrency: tuple[int, ...] = (1, 4, 8)
    seconds: float = 15.0
    warmup: float = 3.0
    mode: str = "vqbnn"
    max_in_flight: int = 1
    jpeg_quality: int = 85
    formats: tuple[str, ...] = ("binary", "json")
    # a level's window grows past ``seconds`` until every stream has this many results (a busy machine
    # would otherwise report 0 fps from a short window), up to ``max_seconds``
    min_results: int = 3
    max_seconds: float = 120.0


@dataclass
class _Recorder:
    """(arrival time, latency ms, server's dropped count) per result of one stream."""

    events: list[tuple[float, float, int]] = field(default_factory=list)
    stages: list[tuple[float, dict[str, float]]] = field(default_factory=list)
    error: str | None = None

    def stages_in(self, start: float, end: float) -> list[dict[str, float]]:
        return [t for at, t in self.stages if start <= at < end]

    def window(self, start: float, end: float) -> list[tuple[float, float, int]]:
        return [e for e in self.events if start <= e[0] < end]

    def dropped_in(self, start: float, end: float) -> int:
        before = [e[2] for e in self.events if e[0] < start]
        inside = [e[2] for e in self.window(start, end)]
        return (inside[-1] - (before[-1] if before else 0)) if inside else 0


async def _timed_window(recorders: Sequence[_Recorder], config: ServerBenchConfig, start: float) -> float:
    """Wait out a level's window from ``start``: at least ``seconds``, longer (up to ``max_seconds``)
    until every stream has ``min_results`` results in it or has failed; returns the window's end."""
    await asyncio.sleep(max(0.0, config.seconds - (time.monotonic() - start)))
    limit = start + max(config.seconds, config.max_seconds)
    while time.monotonic() < limit and any(
        r.error is None and len(r.window(start, math.inf)) < config.min_results for r in recorders
    ):
        await asyncio.sleep(0.05)
    return time.monotonic()


async def _consume(client: StreamClient, frames: Sequence[np.ndarray], fps: float, recorder: _Recorder) -> None:
    try:
        async with contextlib.aclosing(client.stream(looped(frames, fps), pace=False, keep_images=False)) as results:
            async for result in results:
                now = time.monotonic()
                recorder.events.append((now, result.latency_ms or math.nan, result.dropped))
                recorder.stages.append((now, result.timing_ms))
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


def stage_medians(timings: Sequence[dict[str, float]]) -> dict[str, float]:
    """The median of each server stage over a level's results, and ``outside_forward`` = total - forward."""
    out = {name: float(np.median([t[name] for t in timings if name in t]))
           for name in STAGE_NAMES if any(name in t for t in timings)}
    if "total" in out and "forward" in out:
        out["outside_forward"] = float(np.median([t["total"] - t["forward"] for t in timings
                                                  if "total" in t and "forward" in t]))
    return out


async def measure_level(
    ws_url: str, http_url: str, streams: int, frames: Sequence[np.ndarray], fps: float, config: ServerBenchConfig,
    fmt: ResultFormat | None = None,
) -> dict[str, Any]:
    """One concurrency level: ``streams`` clients at once; figures over the timed window only."""
    fmt = fmt or FORMATS["binary"]
    recorders = [_Recorder() for _ in range(streams)]
    clients = [
        StreamClient(ws_url, f"bench-{fmt.name}-{streams}-{i}", params={"mode": config.mode}, maps=fmt.maps,
                     max_in_flight=config.max_in_flight, jpeg_quality=config.jpeg_quality,
                     backoff=Backoff(initial=0.2, attempts=3), protocol=fmt.protocol, size=fmt.size,
                     map_dtype=fmt.map_dtype)
        for i in range(streams)
    ]
    tasks = [asyncio.create_task(_consume(c, frames, fps, r)) for c, r in zip(clients, recorders, strict=True)]
    await asyncio.sleep(config.warmup)
    start = time.monotonic()
    info = await asyncio.to_thread(_stream_info, http_url, clients[0].stream_id)
    end = await _timed_window(recorders, config, start)
    for task in tasks:
        task.cancel()
    await asyncio.wait(tasks, timeout=10.0)
    span = end - start
    per_stream = [len(r.window(start, end)) / span for r in recorders]
    latencies = [e[1] for r in recorders for e in r.window(start, end) if not math.isnan(e[1])]
    return {
        "streams": streams,
        "format": fmt.name,
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
        "stages_ms": stage_medians([t for r in recorders for t in r.stages_in(start, end)]),
        "errors": [r.error for r in recorders if r.error],
    }


async def _drained(http_url: str, timeout: float = 30.0) -> None:
    """Wait until the server's inference queue is empty (frames of the last level are not this one's)."""
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient(base_url=http_url, timeout=5.0) as http:
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                text = (await http.get("/metrics")).text
                depth = next((line.split()[-1] for line in text.splitlines() if line.startswith("vqseg_queue_depth")),
                             "0")
                if float(depth) == 0:
                    return
            await asyncio.sleep(0.2)


async def run_server_bench(
    ws_url: str, http_url: str, frames: Sequence[np.ndarray], fps: float, config: ServerBenchConfig,
    report: Callable[[str], None] | None = None, reference_url: str | None = None,
) -> dict[str, Any]:
    """The ``server`` section: one entry per result format and concurrency level. With ``reference_url``
    (a running ``benchmarks.bare_endpoint``) each concurrency level first runs against the reference,
    then every format, so that each served/reference ratio compares neighbours in time (a shared
    machine's load drifts over minutes); the reference's levels go to ``section["reference"]``."""
    levels, reference = [], []
    for streams in config.concurrency:
        if reference_url is not None:
            level = await _reference_level(reference_url, frames, streams, config)
            reference.append(level)
            if report is not None:
                report(f"  reference, {streams} stream(s): {level['fps_total']:.1f} fps total, "
                       f"p50 {level['latency_ms']['p50']:.0f} ms")
        for name in config.formats:
            await _drained(http_url)
            level = await measure_level(ws_url, http_url, streams, frames, fps, config, FORMATS[name])
            levels.append(level)
            if report is not None:
                latency = level["latency_ms"]
                outside = level["stages_ms"].get("outside_forward", math.nan)
                report(f"  {name}, {streams} stream(s): {level['fps_total']:.1f} fps total, "
                       f"p50 {latency['p50']:.0f} ms, p99 {latency['p99']:.0f} ms, dropped {level['dropped']}, "
                       f"server outside the forward pass {outside:.1f} ms")
    order = {name: i for i, name in enumerate(config.formats)}
    levels.sort(key=lambda lv: (order[lv["format"]], lv["streams"]))
    section: dict[str, Any] = {
        "mode": config.mode,
        "frame_size": [int(frames[0].shape[0]), int(frames[0].shape[1])],
        "jpeg_quality": config.jpeg_quality,
        "max_in_flight": config.max_in_flight,
        "formats": {name: vars(FORMATS[name]) for name in config.formats},
        "warmup_seconds": config.warmup,
        "seconds_per_level": config.seconds,
        "min_results_per_stream": config.min_results,
        "pacing": "closed loop: each stream sends as fast as the server answers",
        "latency": "client took the frame (before JPEG encoding) -> its result arrived",
        "levels": levels,
    }
    if reference_url is not None:
        section["reference"] = {
            "what": "benchmarks.bare_endpoint: the model behind a minimal WebSocket loop (JPEG in, raw uint8 "
                    "labels at the network's resolution out; no blend, no uncertainty, no batching)",
            "levels": reference}
    return section


async def _bare_client(url: str, frames: Sequence[np.ndarray], quality: int, recorder: _Recorder) -> None:
    """A minimal closed-loop client of the bare endpoint: encode a frame (in a thread, as the project's
    client does: the same client-side work on both sides), send it, wait for the labels, repeat."""
    from websockets.asyncio.client import connect

    from vqseg_client.exchange import encode_jpeg

    try:
        async with connect(url, max_size=None, compression=None) as ws:
            for index in itertools.count():
                taken = time.monotonic()
                await ws.send(await asyncio.to_thread(encode_jpeg, frames[index % len(frames)], quality))
                await ws.recv()
                now = time.monotonic()
                recorder.events.append((now, (now - taken) * 1000.0, 0))
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        recorder.error = f"{type(exc).__name__}: {exc}"


async def _reference_level(
    url: str, frames: Sequence[np.ndarray], streams: int, config: ServerBenchConfig
) -> dict[str, Any]:
    """One concurrency level against the bare endpoint (minimal closed-loop clients)."""
    recorders = [_Recorder() for _ in range(streams)]
    tasks = [asyncio.create_task(_bare_client(f"{url}/ws", frames, config.jpeg_quality, r)) for r in recorders]
    await asyncio.sleep(config.warmup)
    start = time.monotonic()
    end = await _timed_window(recorders, config, start)
    for task in tasks:
        task.cancel()
    await asyncio.wait(tasks, timeout=10.0)
    per_stream = [len(r.window(start, end)) / (end - start) for r in recorders]
    latencies = [e[1] for r in recorders for e in r.window(start, end)]
    return {"streams": streams, "fps_total": sum(per_stream), "fps_per_stream": sum(per_stream) / streams,
            "latency_ms": {"p50": percentile(latencies, 50), "p99": percentile(latencies, 99)},
            "errors": [r.error for r in recorders if r.error]}
