"""The traffic of the load and soak tests: WebSocket pushers and REST callers, with a shared tally.

A pusher sends pre-encoded JPEG frames at a fixed rate (a camera: it never waits for results, so the
server's newest-frame-wins drops what it cannot serve) with a ``frame`` timestamp before each, and
matches results to frames by that timestamp for the latency. A REST caller posts frames back to back.
Every failure is counted by kind; kinds in ``EXPECTED`` are the documented answers to overload.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

# Documented answers to overload: 503 overloaded / too_many_streams, close 1013 (try again later).
EXPECTED = frozenset({"overloaded", "too_many_streams", "close_1013"})


@dataclass
class Tally:
    sent: int = 0
    served: int = 0
    dropped: int = 0  # frames the server dropped for a newer one (its own count, per stream)
    unanswered: int = 0  # sent, neither answered nor counted as dropped when the stream ended
    latencies_ms: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    streams_opened: int = 0

    def unexpected(self) -> int:
        return sum(n for kind, n in self.errors.items() if kind not in EXPECTED)


@dataclass
class _Stream:
    sent_at: dict[float, float] = field(default_factory=dict)
    served: int = 0
    dropped: int = 0
    sent: int = 0


async def push_ws(
    ws_url: str, stream_id: str, jpegs: Sequence[bytes], fps: float, seconds: float, tally: Tally,
    *, params: str = "", abrupt: bool = False, linger: float = 2.0,
) -> None:
    """Push ``jpegs`` (looped) at ``fps`` for ``seconds``; then wait up to ``linger`` s for the last
    results and close cleanly, or (``abrupt``) drop the TCP connection without a close frame."""
    url = f"{ws_url}/v1/streams/{stream_id}/ws" + (f"?{params}" if params else "")
    state = _Stream()
    try:
        async with connect(url, max_size=None, open_timeout=15, close_timeout=5) as ws:
            hello = json.loads(await asyncio.wait_for(ws.recv(), 15))
            if hello.get("type") != "hello":
                tally.errors["no_hello"] += 1
                return
            tally.streams_opened += 1
            receiver = asyncio.create_task(_receive(ws, state, tally))
            try:
                await _send(ws, state, jpegs, fps, seconds, tally)
                if not abrupt:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(_answered(state), linger)
            finally:
                if abrupt:
                    ws.transport.abort()  # a client that vanishes: no close frame, no FIN handshake
                receiver.cancel()
                await asyncio.gather(receiver, return_exceptions=True)
    except ConnectionClosed as exc:
        _closed(exc, tally)
    except (OSError, TimeoutError) as exc:
        tally.errors[type(exc).__name__] += 1
    finally:
        tally.served += state.served
        tally.dropped += state.dropped
        tally.sent += state.sent
        tally.unanswered += max(0, state.sent - state.served - state.dropped)


async def _send(ws: ClientConnection, state: _Stream, jpegs: Sequence[bytes], fps: float, seconds: float,
                tally: Tally) -> None:
    start = time.monotonic()
    index = 0
    while time.monotonic() - start < seconds:
        timestamp = time.time()
        state.sent_at[timestamp] = time.perf_counter()
        await ws.send(json.dumps({"type": "frame", "timestamp": timestamp}))
        await ws.send(jpegs[index % len(jpegs)])
        state.sent += 1
        index += 1
        await asyncio.sleep(max(0.0, start + index / fps - time.monotonic()))


async def _answered(state: _Stream) -> None:
    while state.served + state.dropped < state.sent:
        await asyncio.sleep(0.02)


async def _receive(ws: ClientConnection, state: _Stream, tally: Tally) -> None:
    try:
        async for text in ws:
            message: dict[str, Any] = json.loads(text)
            kind = message.get("type")
            if kind == "result":
                sent = state.sent_at.pop(message.get("timestamp", -1.0), None)
                if sent is not None:
                    tally.latencies_ms.append((time.perf_counter() - sent) * 1000.0)
                state.served += 1
                state.dropped = int(message.get("dropped", state.dropped))
                for stale in [t for t in state.sent_at if t < message.get("timestamp", 0.0)]:
                    del state.sent_at[stale]  # dropped by the server for a newer frame
            elif kind == "error":
                tally.errors[str(message.get("code"))] += 1
    except ConnectionClosed as exc:
        _closed(exc, tally)


def _closed(exc: ConnectionClosed, tally: Tally) -> None:
    code = exc.rcvd.code if exc.rcvd is not None else None
    if code not in (1000, None):
        tally.errors[f"close_{code}"] += 1


async def call_rest(
    http: httpx.AsyncClient, path: str, jpegs: Sequence[bytes], seconds: float, tally: Tally,
    params: dict[str, str] | None = None,
) -> None:
    """POST frames to ``path`` back to back for ``seconds``; count answers and errors by code."""
    start = time.monotonic()
    index = 0
    while time.monotonic() - start < seconds:
        began = time.perf_counter()
        tally.sent += 1
        try:
            response = await http.post(path, content=jpegs[index % len(jpegs)], params=params,
                                       headers={"Content-Type": "image/jpeg"})
        except httpx.HTTPError as exc:
            tally.errors[type(exc).__name__] += 1
            await asyncio.sleep(0.1)
            continue
        index += 1
        if response.status_code == 200:
            tally.served += 1
            tally.latencies_ms.append((time.perf_counter() - began) * 1000.0)
            continue
        try:
            code = str(response.json()["error"]["code"])
        except (ValueError, KeyError, TypeError):
            code = f"http_{response.status_code}"
        tally.errors[code] += 1
        retry = response.headers.get("retry-after")
        await asyncio.sleep(min(1.0, float(retry)) if retry and retry.isdigit() else 0.05)


async def live_streams(http: httpx.AsyncClient) -> int | None:
    """How many streams the server holds now (None if it does not answer)."""
    try:
        response = await http.get("/v1/streams")
        return len(response.json()["streams"]) if response.status_code == 200 else None
    except (httpx.HTTPError, ValueError, KeyError):
        return None


async def probe_ws(ws_url: str, stream_id: str, tally: Tally) -> None:
    """Open a stream and leave at once: ``streams_opened`` if the server said hello, else the close code."""
    try:
        async with connect(f"{ws_url}/v1/streams/{stream_id}/ws", max_size=None, open_timeout=15) as ws:
            if json.loads(await asyncio.wait_for(ws.recv(), 15)).get("type") == "hello":
                tally.streams_opened += 1
    except ConnectionClosed as exc:
        _closed(exc, tally)
    except (OSError, TimeoutError) as exc:
        tally.errors[type(exc).__name__] += 1
