"""One open WebSocket of the streaming client: send frames, match results to them, bound what is in flight.

Results come in frame order, but frames the server dropped (newest frame wins) get no reply. A result
is matched to the frame whose timestamp it carries; every frame sent before that one and still
unanswered was dropped. Where timestamps do not match (another connection on the stream), the
server's ``dropped`` counter says how many to skip.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections import deque
from collections.abc import AsyncGenerator
from dataclasses import dataclass

import cv2
import numpy as np
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from vqseg_client.feed import FrameFeed
from vqseg_client.result import ClientStats, FrameResult, decode_binary, decode_result
from vqseg_client.sources import SourceFrame
from vqseg_client.wire import is_binary_result

log = logging.getLogger(__name__)

_POLL = 0.5  # seconds between checks for finished senders and expired frames
_CLOSE_TIMEOUT = 3.0
_QUEUED = 16  # decoded results waiting for a slow consumer, at most


@dataclass
class Pending:
    """A frame sent and not yet answered."""

    timestamp: float
    sent_at: float  # time.monotonic() when the client took the frame, before encoding
    index: int
    image: np.ndarray | None


def encode_jpeg(image: np.ndarray, quality: int) -> bytes:
    """RGB (or grey) uint8 to JPEG bytes."""
    bgr = cv2.cvtColor(image, cv2.COLOR_RGB2BGR) if image.ndim == 3 else image
    ok, data = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ValueError("cannot encode frame as JPEG")
    return data.tobytes()


def _same_time(a: float, b: float) -> bool:
    """Timestamps travel as JSON floats and come back exactly; allow a microsecond for other servers."""
    return abs(a - b) <= 1e-6


class FrameExchange:
    """Sends ``feed`` over ``ws`` and yields results until the feed ends and every frame is answered.

    Raises ``ConnectionClosed`` when the connection breaks; ``closed_normally`` then says whether the
    server closed it with 1000 (stream deleted: stop, do not reconnect).
    """

    def __init__(
        self,
        ws: ClientConnection,
        feed: FrameFeed,
        stats: ClientStats,
        max_in_flight: int,
        jpeg_quality: int,
        result_timeout: float,
        keep_images: bool,
    ) -> None:
        self.ws = ws
        self.feed = feed
        self.stats = stats
        self.max_in_flight = max_in_flight
        self.jpeg_quality = jpeg_quality
        self.result_timeout = result_timeout
        self.keep_images = keep_images
        self.closed_normally = False
        self.pending: deque[Pending] = deque()
        self._room = asyncio.Condition()
        self._sender: asyncio.Task[None] | None = None
        self._receiver: asyncio.Task[None] | None = None
        self._broken = False  # the connection failed: send nothing more
        self._results: asyncio.Queue[FrameResult | BaseException | None] = asyncio.Queue(_QUEUED)

    async def run(self) -> AsyncGenerator[FrameResult, None]:
        """Results in frame order. A receiver task reads the socket on its own, so a slow consumer
        does not distort the measured latencies (at most ``_QUEUED`` decoded results wait for it)."""
        self._sender = asyncio.create_task(self._send_all(), name="vqseg-client-sender")
        self._receiver = asyncio.create_task(self._receive_all(), name="vqseg-client-receiver")
        while True:
            item = await self._results.get()
            if item is None:
                return
            if isinstance(item, BaseException):
                raise item
            yield item

    async def shutdown(self) -> None:
        """Stop sending and receiving and close the connection (bounded)."""
        for task in (self._sender, self._receiver):
            if task is not None and not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, ConnectionClosed, Exception):
                    await asyncio.wait_for(task, _CLOSE_TIMEOUT)
        if self.pending:
            await self._lose_pending()
        await self._close()

    async def _receive_all(self) -> None:
        assert self._sender is not None
        try:
            while True:
                if self._sender.done():
                    self._sender.result()  # re-raises ConnectionClosed or an encoding error
                    if not self.pending:
                        await self._close()
                        break
                try:
                    text = await asyncio.wait_for(self.ws.recv(), _POLL)
                except TimeoutError:
                    await self._expire()
                    continue
                result = await self._handle(text, time.monotonic())
                if result is not None:
                    await self._results.put(result)
        except ConnectionClosed as exc:
            self.closed_normally = exc.rcvd is not None and exc.rcvd.code == 1000
            await self._lose_pending()
            await self._results.put(exc)
            return
        except Exception as exc:  # handed to the consumer
            await self._results.put(exc)
            return
        await self._results.put(None)

    async def _close(self) -> None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.ws.close(), _CLOSE_TIMEOUT)

    async def _send_all(self) -> None:
        frame: SourceFrame | None = None
        try:
            while True:
                frame = None
                if self.feed.live:  # newest frame wins: wait for room first, then take the freshest frame
                    if not await self._wait_for_room():
                        return
                    frame = await self.feed.next()
                else:  # every frame, at the source's pace, then wait for room
                    frame = await self.feed.next()
                    if frame is not None and not await self._wait_for_room():
                        return
                if frame is None:
                    return
                taken = time.monotonic()
                jpeg = await asyncio.to_thread(encode_jpeg, frame.image, self.jpeg_quality)
                if frame.after_gap:  # the source reconnected: restart the stream's buffer
                    await self.ws.send(json.dumps({"type": "reset"}))
                image = frame.image if self.keep_images else None
                self.pending.append(Pending(frame.timestamp, taken, frame.index, image))
                self.stats.sent += 1  # counted once in flight: if the connection breaks now, it is 'lost'
                frame = None
                await self.ws.send(json.dumps({"type": "frame", "timestamp": self.pending[-1].timestamp}))
                await self.ws.send(jpeg)
        finally:
            if frame is not None and not self.feed.live:
                self.feed.unread(frame)  # taken but never sent: the next connection sends it

    async def _wait_for_room(self) -> bool:
        """Wait until one more frame may be in flight; False once the connection is broken."""
        async with self._room:
            await self._room.wait_for(lambda: self._broken or len(self.pending) < self.max_in_flight)
        return not self._broken

    async def _free(self) -> None:
        async with self._room:
            self._room.notify_all()

    async def _handle(self, text: str | bytes, received: float) -> FrameResult | None:
        if isinstance(text, bytes) and is_binary_result(text):  # protocol 2: a result, raw arrays
            return await self._answered(await asyncio.to_thread(decode_binary, text), received)
        try:
            message = json.loads(text)
        except ValueError:
            log.warning("ignoring a message that is not JSON")
            return None
        kind = message.get("type")
        if kind == "result":
            return await self._answered(await asyncio.to_thread(decode_result, message), received)
        if kind == "error":
            log.warning("server refused a frame: %s: %s", message.get("code"), message.get("message"))
            if self.pending:
                self.pending.popleft()
                self.stats.refused += 1
                await self._free()
        return None  # hello, acks, pongs and unknown messages (protocol: ignore what you do not know)

    async def _answered(self, result: FrameResult, received: float) -> FrameResult:
        self._match(result, received)
        self.stats.record(result)
        await self._free()
        return result

    def _match(self, result: FrameResult, received: float) -> None:
        position = next((i for i, p in enumerate(self.pending) if _same_time(p.timestamp, result.timestamp)), None)
        if position is None:  # not ours by timestamp: skip as many as the server says it dropped
            position = max(0, min(len(self.pending), result.dropped - self.stats.dropped)) if self.pending else None
            if position is not None and position >= len(self.pending):
                position = len(self.pending) - 1
        if position is None:
            return
        for _ in range(position):
            self.pending.popleft()  # dropped by the server (newest frame wins)
        frame = self.pending.popleft()
        result.latency_ms = (received - frame.sent_at) * 1000.0
        result.source_index = frame.index
        result.image = frame.image

    async def _expire(self) -> None:
        now = time.monotonic()
        expired = 0
        while self.pending and now - self.pending[0].sent_at > self.result_timeout:
            self.pending.popleft()
            expired += 1
        if expired:
            self.stats.lost += expired
            log.warning("%d frame(s) unanswered after %.0fs; given up", expired, self.result_timeout)
            await self._free()

    async def _lose_pending(self) -> None:
        self._broken = True
        self.stats.lost += len(self.pending)
        self.pending.clear()
        await self._free()
