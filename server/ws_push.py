"""One client pushing a stream over ``/v1/streams/{id}/ws`` (protocol in docs/protocol.md).

Three tasks per connection: the receiver reads messages (binary frames go into a one-frame slot —
a newer frame replaces a waiting one, counted as dropped — and control messages are answered); the
processor decodes the slot's frame in the decode pool and submits it to the worker; the sender
writes results in frame order (and every other message: it is the only writer). Results go out as
protocol 1 JSON text or, when the client connected with ``protocol=2``, as binary result frames.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import math
import time
from dataclasses import dataclass
from typing import Any

from starlette.websockets import WebSocket, WebSocketDisconnect

from server import wire_json
from server.errors import PROTOCOL, InvalidParameters, MalformedMessage, ServiceError, describe
from server.events.control import set_stream_rules
from server.jobs import FrameJob, FrameResult, ReplySpec
from server.params import WireOptions, config_changes, config_dict, parse_maps
from server.runtime import Runtime
from server.streams import StreamEntry
from streaming import StreamFrame

MAX_MALFORMED = 5  # malformed control messages in a row before the connection is closed with 4400
OUTBOX = 4  # results and messages waiting for the sender


@dataclass
class _Pending:
    data: bytes
    timestamp: float
    received: float


class PushConnection:
    def __init__(
        self, ws: WebSocket, runtime: Runtime, entry: StreamEntry, maps: tuple[str, ...], changes: dict[str, Any],
        wire: WireOptions | None = None,
    ) -> None:
        self.ws = ws
        self.runtime = runtime
        self.entry = entry
        self.closed = asyncio.Event()
        self._maps = maps
        self._changes = dict(changes)
        self._reset = False
        self._next_timestamp: float | None = None
        self._slot: _Pending | None = None
        self._frame_ready = asyncio.Event()
        self._close_requested = asyncio.Event()
        self._close: tuple[int, str] = (1000, "")
        self._outbox: asyncio.Queue[str | asyncio.Future[FrameResult | None]] = asyncio.Queue(OUTBOX)
        self._malformed = 0
        self.wire = wire or WireOptions()

    def request_close(self, code: int, reason: str) -> None:
        """Close after the frames already submitted are answered (stream deleted, shutdown, 4400)."""
        if not self._close_requested.is_set():
            self._close = (code, reason)
            self._close_requested.set()

    def notify(self, text: str) -> bool:
        """Send ``text`` (an event) after what is queued, without waiting; False when the outbox is full."""
        try:
            self._outbox.put_nowait(text)
            return True
        except asyncio.QueueFull:
            return False

    async def run(self) -> None:
        await self.ws.send_text(self._hello())
        receiver = asyncio.create_task(self._receive())
        processor = asyncio.create_task(self._process())
        sender = asyncio.create_task(self._send())
        closing = asyncio.create_task(self._close_requested.wait())
        try:
            await asyncio.wait({receiver, closing, sender}, return_when=asyncio.FIRST_COMPLETED)
            if self._close_requested.is_set() and not sender.done():
                receiver.cancel()
                processor.cancel()
                with contextlib.suppress(TimeoutError):  # answer what is in flight, then say goodbye
                    await asyncio.wait_for(self._outbox.join(), self.runtime.settings.shutdown_timeout)
                code, reason = self._close
                with contextlib.suppress(Exception):
                    await self.ws.close(code, reason.encode()[:123].decode(errors="ignore"))
        finally:
            for task in (receiver, processor, sender, closing):
                task.cancel()
            await asyncio.gather(receiver, processor, sender, closing, return_exceptions=True)
            self._cancel_outbox()
            self.closed.set()

    # ---- receiver ------------------------------------------------------------------------
    async def _receive(self) -> None:
        while True:
            message = await self.ws.receive()
            if message["type"] == "websocket.disconnect":
                return
            if message.get("bytes") is not None:
                self._on_frame(message["bytes"])
            elif message.get("text") is not None:
                await self._on_text(message["text"])

    def _on_frame(self, data: bytes) -> None:
        timestamp = time.time() if self._next_timestamp is None else self._next_timestamp
        self._next_timestamp = None
        if self._slot is not None:  # the waiting frame is stale: newest frame wins
            self.runtime.worker.count_dropped(self.entry.session)
        self._slot = _Pending(data, timestamp, time.perf_counter())
        self._frame_ready.set()

    async def _on_text(self, text: str) -> None:
        try:
            message = wire_json.loads(text)  # no NaN/Infinity, bounded nesting
            if not isinstance(message, dict) or not isinstance(message.get("type"), str):
                raise MalformedMessage("a control message is a JSON object with a 'type'")
            reply = self._control(message)
            self._malformed = 0
        except (ValueError, MalformedMessage) as exc:
            error = exc if isinstance(exc, MalformedMessage) else MalformedMessage(f"not JSON: {exc}")
            self._malformed += 1
            await self._outbox.put(describe(error).ws_message())
            if self._malformed >= MAX_MALFORMED:
                self.request_close(4400, f"{MAX_MALFORMED} malformed control messages in a row")
            return
        except ServiceError as exc:  # a well-formed message with bad values: say so, go on
            self._malformed = 0
            reply = describe(exc).ws_message()
        if reply is not None:
            await self._outbox.put(reply)

    def _control(self, message: dict[str, Any]) -> str | None:
        kind = message["type"]
        if kind == "config":
            values = {k: v for k, v in message.items() if k not in ("type", "maps")}
            changes = {**self._changes, **config_changes(self.entry.session.config, values)}
            try:
                config = dataclasses.replace(self.entry.session.config, **changes)
            except (TypeError, ValueError) as exc:
                raise InvalidParameters(str(exc)) from None
            if "maps" in message:
                self._maps = parse_maps(message["maps"])
            self._changes = changes
            return _message("config", config=config_dict(config), maps=list(self._maps))
        if kind == "frame":
            ts = message.get("timestamp")
            if isinstance(ts, bool) or not isinstance(ts, int | float) or not math.isfinite(ts):
                raise InvalidParameters("'frame' needs a finite numeric 'timestamp' (seconds)")
            self._next_timestamp = float(ts)
            return None
        if kind == "reset":
            self._reset = True
            return _message("reset")
        if kind == "ping":
            return _message("pong", id=message.get("id"), time=time.time())
        if kind == "rules":  # watch rules (docs/events.md); webhook hosts resolve: kept short by the policy
            rules = set_stream_rules(self.runtime.events, self.entry.session, message.get("rules"))
            return _message("rules", rules=[r.public() for r in rules])
        raise MalformedMessage(f"unknown message type {kind!r}; expected config, frame, reset, rules or ping")

    # ---- processor -----------------------------------------------------------------------
    async def _process(self) -> None:
        while True:
            await self._frame_ready.wait()
            self._frame_ready.clear()
            pending, self._slot = self._slot, None
            if pending is None:
                continue
            try:
                frame = await self.runtime.decode(pending.data)
            except ServiceError as exc:
                self.runtime.metrics.count_error(exc.code)
                await self._outbox.put(describe(exc).ws_message())
                continue
            changes, reset = self._changes, self._reset
            self._changes, self._reset = {}, False
            demand = self.entry.hub.demand
            binary = self.wire.protocol == 2
            reply = ReplySpec(
                self._maps, "binary" if binary else "json", self.wire.size, self.wire.map_dtype,
                also_json=binary and demand != "none", include_frame=demand == "json+frame",
            )
            job = FrameJob(
                StreamFrame(frame.image, pending.timestamp, self.entry.session), reply, pending.received,
                changes=changes, droppable=True, reset=reset, decode_ms=frame.decode_ms,
            )
            try:
                future = self.runtime.submit(job)
            except ServiceError as exc:  # overloaded: this frame is lost, its settings are not
                self._changes, self._reset = {**changes, **self._changes}, reset or self._reset
                self.runtime.metrics.count_error(exc.code)
                await self._outbox.put(describe(exc).ws_message())
                continue
            await self._outbox.put(future)

    # ---- sender --------------------------------------------------------------------------
    async def _send(self) -> None:
        while True:
            item = await self._outbox.get()
            try:
                reply = item if isinstance(item, str) else await self._answer(item)
                if isinstance(reply, bytes):
                    await self.ws.send_bytes(reply)
                elif reply is not None:
                    await self.ws.send_text(reply)
            except (WebSocketDisconnect, RuntimeError):
                return  # the client is gone; run() cleans up
            finally:
                self._outbox.task_done()

    async def _answer(self, future: asyncio.Future[FrameResult | None]) -> str | bytes | None:
        try:
            result = await future
        except ServiceError as exc:
            self.runtime.metrics.count_error(exc.code)
            return describe(exc).ws_message()
        except Exception as exc:
            return describe(exc).ws_message()
        if result is None:
            return None  # dropped for a newer frame
        self.runtime.deliver(result)
        return result.data if result.data is not None else result.text

    def _cancel_outbox(self) -> None:
        while not self._outbox.empty():
            item = self._outbox.get_nowait()
            if not isinstance(item, str):
                item.cancel()

    def _hello(self) -> str:
        try:
            config = dataclasses.replace(self.entry.session.config, **self._changes)
        except (TypeError, ValueError):
            config = self.entry.session.config
        limits = {"max_frame_bytes": self.runtime.limits.max_bytes, "max_frame_pixels": self.runtime.limits.max_pixels}
        limits["max_output_pixels"] = self.runtime.settings.max_output_pixels
        extra: dict[str, Any] = {}
        if self.wire.protocol == 2:
            extra["results"] = {"size": self.wire.size, "map_dtype": self.wire.map_dtype}
        return _message(
            "hello", stream_id=self.entry.stream_id, model=self.runtime.model_info(), config=config_dict(config),
            maps=list(self._maps), limits=limits, protocol=self.wire.protocol, **extra,
        )


def _message(kind: str, **fields: Any) -> str:
    return wire_json.dumps({"type": kind, "protocol": PROTOCOL, **fields})
