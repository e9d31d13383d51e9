"""The stream client: push a video to ``vqseg serve``'s ``/v1/streams/{id}/ws`` and get results back.

Usage (asyncio)::

    async with StreamClient("ws://127.0.0.1:8000", "cam-1", params={"mode": "vqbnn"}) as client:
        async for result in client.stream("synthetic:street?seed=7", max_frames=60):
            print(result.frame_index, result.latency_ms, result.uncertainty.mean())

``vqseg_client.stream_results`` wraps the same for plain (non-async) code. Each frame is a
``{"type": "frame", "timestamp": ...}`` control message followed by the JPEG (docs/protocol.md);
results come back as protocol-2 binary messages (raw arrays at the network's resolution) unless
``protocol=1`` asks for the JSON/PNG form. At most ``max_in_flight`` frames wait for their results;
see ``vqseg_client.feed`` for pacing. If the connection drops (server restart, network), the client
reconnects with exponential backoff, resets the stream's buffer and carries on from the source's next
frame.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from collections.abc import AsyncGenerator, Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

from vqseg_client.exchange import FrameExchange
from vqseg_client.feed import FrameFeed
from vqseg_client.result import PROTOCOL, PROTOCOLS, ClientStats, FrameResult
from vqseg_client.sources import FrameSource, SourceFrame, open_source

SIZES = ("network", "frame")
MAP_DTYPES = ("float16", "uint8")

log = logging.getLogger(__name__)

FATAL_CLOSE_CODES = {1003, 1007, 1008, 1009, 4400, 4404, 4422}  # retrying cannot help
FATAL_HTTP_STATUSES = {400, 401, 403, 404, 422}


class StreamClientError(RuntimeError):
    """The server refused the stream for good (bad key, bad parameters, ...) or retries ran out."""

    def __init__(self, message: str, code: int | str | None = None) -> None:
        super().__init__(message)
        self.code = code


class _Retry(Exception):
    """The connection broke in a way a reconnect may fix."""


@dataclass(frozen=True)
class Backoff:
    """Reconnect delays: ``initial`` seconds doubling up to ``maximum``; ``attempts`` failures in a
    row before giving up (0 = never give up)."""

    initial: float = 0.5
    maximum: float = 8.0
    attempts: int = 6

    def delay(self, attempt: int) -> float:
        return min(self.maximum, self.initial * 2 ** max(0, attempt - 1))


class StreamClient:
    """One stream pushed over one WebSocket (re-opened after a drop).

    Args:
        server: ``ws://host:port`` (``http://`` works too), without a path.
        stream_id: the stream's id; default a fresh ``client-<random>``.
        api_key: sent as the ``X-API-Key`` header.
        params: stream parameters as WebSocket query parameters (``mode``, ``tau``, ``window``,
            ``clock``, ``samples``, ``max_gap``).
        maps: extra maps to receive (``confidence``, ``mutual_info``, ``expected_entropy``, ``entropy``).
        jpeg_quality: 1..100 for the frames sent.
        max_in_flight: frames sent and not yet answered, at most (default 1). The server keeps at
            most one frame of a stream waiting and replaces it with a newer one (newest frame wins),
            so with more than one in flight some frames are dropped unanswered; with one, every
            frame sent is answered and a live source's next frame is its newest.
        backoff: reconnect policy.
        open_timeout: seconds to open the connection and receive ``hello``.
        result_timeout: seconds after which an unanswered frame is given up (its slot freed).
        protocol: 2 (binary results, default) or 1 (JSON with base64 PNGs, always at the frame's size).
        size: protocol 2: ``network`` (maps at the network's output resolution, default; upsample for
            display with ``FrameResult.labels_at``) or ``frame`` (the server upsamples, within its budget).
        map_dtype: protocol 2: ``float16`` (default) or ``uint8`` (value / 255) for the uncertainty maps.
    """

    def __init__(
        self,
        server: str = "ws://127.0.0.1:8000",
        stream_id: str | None = None,
        *,
        api_key: str | None = None,
        params: Mapping[str, Any] | None = None,
        maps: Iterable[str] = (),
        jpeg_quality: int = 85,
        max_in_flight: int = 1,
        backoff: Backoff | None = None,
        open_timeout: float = 10.0,
        result_timeout: float = 30.0,
        protocol: int = PROTOCOL,
        size: str = "network",
        map_dtype: str = "float16",
    ) -> None:
        if not 1 <= jpeg_quality <= 100:
            raise ValueError(f"jpeg_quality must be in 1..100, got {jpeg_quality}")
        if max_in_flight < 1:
            raise ValueError(f"max_in_flight must be >= 1, got {max_in_flight}")
        if protocol not in PROTOCOLS:
            raise ValueError(f"protocol must be one of {PROTOCOLS}, got {protocol}")
        if size not in SIZES or map_dtype not in MAP_DTYPES:
            raise ValueError(f"size must be one of {SIZES} and map_dtype one of {MAP_DTYPES}")
        self.protocol, self.size, self.map_dtype = protocol, size, map_dtype
        self.server = server.rstrip("/").replace("http://", "ws://", 1).replace("https://", "wss://", 1)
        self.stream_id = stream_id or f"client-{uuid.uuid4().hex[:12]}"
        self.api_key = api_key
        self.params = {k: v for k, v in (params or {}).items() if v is not None}
        self.maps = tuple(maps)
        self.jpeg_quality = jpeg_quality
        self.max_in_flight = max_in_flight
        self.backoff = backoff or Backoff()
        self.open_timeout = open_timeout
        self.result_timeout = result_timeout
        self.stats = ClientStats()
        self.hello: dict[str, Any] | None = None
        self.source_fps: float | None = None  # of the source being streamed (None: unknown)
        self.source_live = False

    @property
    def url(self) -> str:
        query = {k: str(v) for k, v in self.params.items()}
        if self.maps:
            query["maps"] = ",".join(self.maps)
        if self.protocol != 1:
            query.update(protocol=str(self.protocol), size=self.size, map_dtype=self.map_dtype)
        tail = f"?{urlencode(query)}" if query else ""
        return f"{self.server}/v1/streams/{quote(self.stream_id, safe='')}/ws{tail}"

    @property
    def model(self) -> dict[str, Any]:
        """The server's model info (classes, palette, ...) from ``hello``; empty before connecting."""
        return dict((self.hello or {}).get("model") or {})

    async def __aenter__(self) -> StreamClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None

    async def stream(
        self,
        source: FrameSource | str | Iterable[SourceFrame],
        *,
        pace: bool | None = None,
        max_frames: int | None = None,
        keep_images: bool = True,
    ) -> AsyncGenerator[FrameResult, None]:
        """Send ``source`` (a ``FrameSource``, a URI for ``open_source`` or ``SourceFrame`` s) and yield
        each result as it arrives. Ends when the source ends and every frame is answered, or when
        the server ends the stream (close 1000). ``keep_images`` attaches each sent frame to its result.
        """
        owned = isinstance(source, str)
        frames: FrameSource | Iterable[SourceFrame]
        frames = await asyncio.to_thread(open_source, source) if isinstance(source, str) else source
        feed = FrameFeed(frames, pace=pace, max_frames=max_frames)
        self.source_fps, self.source_live = feed.fps, feed.live
        self.stats = ClientStats()
        failures = 0
        connected_before = False
        try:
            while True:
                try:
                    ws = await self._open()
                except _Retry as exc:
                    failures += 1
                    await self._wait_retry(failures, exc)
                    continue
                failures = 0
                session = FrameExchange(ws, feed, self.stats, self.max_in_flight, self.jpeg_quality,
                                        self.result_timeout, keep_images)
                try:
                    if connected_before:  # a reconnect: restart the stream's buffer
                        self.stats.reconnects += 1
                        await ws.send(json.dumps({"type": "reset"}))
                    connected_before = True
                    async with contextlib.aclosing(session.run()) as results:
                        async for result in results:
                            yield result
                    return
                except ConnectionClosed as exc:
                    self._classify_close(exc)
                    if session.closed_normally:
                        return
                    failures += 1
                    await self._wait_retry(failures, _Retry(f"connection lost ({_close_text(exc)})"))
                finally:
                    await session.shutdown()
        finally:
            self.stats.skipped = feed.skipped
            self.stats.finished = time.monotonic()
            await asyncio.to_thread(_close, feed, frames if owned else None)

    async def _open(self) -> ClientConnection:
        headers = {"X-API-Key": self.api_key} if self.api_key else None
        try:
            ws = await connect(self.url, additional_headers=headers, max_size=None, compression=None,
                               open_timeout=self.open_timeout, ping_interval=20, ping_timeout=20)
        except InvalidStatus as exc:
            status = exc.response.status_code
            if status in FATAL_HTTP_STATUSES:
                raise StreamClientError(f"server refused the WebSocket: HTTP {status}", status) from exc
            raise _Retry(f"HTTP {status}") from exc
        except (OSError, TimeoutError, InvalidHandshake) as exc:
            raise _Retry(f"cannot connect to {self.server}: {exc}") from exc
        try:
            hello = json.loads(await asyncio.wait_for(ws.recv(), self.open_timeout))
        except ConnectionClosed as exc:
            self._classify_close(exc)
            raise _Retry(f"closed before hello ({_close_text(exc)})") from exc
        except (TimeoutError, ValueError) as exc:
            await ws.close()
            raise _Retry(f"no hello from the server: {exc}") from exc
        if hello.get("type") != "hello":
            await ws.close()
            raise StreamClientError(f"expected a hello message, got {str(hello)[:120]}")
        if hello.get("protocol") not in PROTOCOLS:  # an older server answers 1 to a request for 2: fine
            await ws.close()
            raise StreamClientError(f"server speaks protocol {hello.get('protocol')}; this client speaks {PROTOCOLS}")
        self.hello = hello
        log.info("stream %s connected to %s", self.stream_id, self.server)
        return ws

    def _classify_close(self, exc: ConnectionClosed) -> None:
        code = exc.rcvd.code if exc.rcvd is not None else None
        if code in FATAL_CLOSE_CODES:
            raise StreamClientError(f"server closed the stream: {_close_text(exc)}", code) from exc

    async def _wait_retry(self, failures: int, exc: Exception) -> None:
        if self.backoff.attempts and failures > self.backoff.attempts:
            raise StreamClientError(f"giving up after {failures - 1} reconnect attempts: {exc}") from exc
        delay = self.backoff.delay(failures)
        log.warning("stream %s: %s; reconnecting in %.1fs", self.stream_id, exc, delay)
        await asyncio.sleep(delay)


def _close_text(exc: ConnectionClosed) -> str:
    if exc.rcvd is None:
        return "no close frame"
    return f"{exc.rcvd.code} {exc.rcvd.reason}".strip()


def _close(feed: FrameFeed, source: object) -> None:
    """Stop the feed, then release a source this client opened (unless its reader is stuck in a read)."""
    close = getattr(source, "close", None)
    if feed.close() and callable(close):
        close()


__all__ = ["Backoff", "FrameResult", "StreamClient", "StreamClientError"]
