"""``/v1/streams/{stream_id}/subscribe``: any number of watchers receive a stream's results."""

from __future__ import annotations

import asyncio
import contextlib
import time

from fastapi import APIRouter, WebSocket
from starlette.websockets import WebSocketDisconnect

from server import wire_json
from server.auth import check_key, presented_key
from server.errors import PROTOCOL, Overloaded
from server.fanout import End, Subscriber
from server.params import SUBSCRIBE_QUERY, refuse_unknown
from server.routes_ws import refuse
from server.runtime import Runtime

router = APIRouter()


@router.websocket("/v1/streams/{stream_id}/subscribe")
async def subscribe(ws: WebSocket, stream_id: str) -> None:
    runtime: Runtime = ws.app.state.runtime
    await ws.accept()
    try:
        check_key(runtime.keys, presented_key(ws.headers, ws.query_params))
        runtime.require_ready()
        refuse_unknown(ws.query_params.keys(), SUBSCRIBE_QUERY)
        entry = runtime.directory.get(stream_id)
        settings = runtime.settings
        if len(entry.hub) >= settings.max_watchers_per_stream:
            raise Overloaded(f"stream {stream_id!r} has {len(entry.hub)} watchers (max_watchers_per_stream)")
        if runtime.directory.subscriber_count() >= settings.max_watchers:
            raise Overloaded(f"this server has {settings.max_watchers} watchers (max_watchers)")
    except Exception as exc:
        await refuse(ws, runtime, exc)
        return
    want_frame = ws.query_params.get("frame", "").lower() in ("1", "true", "yes")
    sub = entry.hub.subscribe(want_frame)
    try:
        hello = {
            "type": "hello", "protocol": PROTOCOL, "stream_id": stream_id, "kind": entry.kind, "source": entry.source,
            "model": runtime.model_info(), "config": entry.info()["config"], "maps": [],
        }
        await ws.send_text(wire_json.dumps(hello))
        writer = asyncio.create_task(_write(ws, sub))
        reader = asyncio.create_task(_read(ws, sub))
        try:
            await asyncio.wait({writer, reader}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (writer, reader):
                task.cancel()
            await asyncio.gather(writer, reader, return_exceptions=True)
    except (WebSocketDisconnect, RuntimeError):
        pass
    finally:
        entry.hub.unsubscribe(sub)


async def _write(ws: WebSocket, sub: Subscriber) -> None:
    while True:
        item = await sub.get()
        if isinstance(item, End):
            with contextlib.suppress(Exception):
                await ws.send_text(item.message())
                await ws.close(item.code, item.reason[:123])
            return
        await ws.send_text(item)


async def _read(ws: WebSocket, sub: Subscriber) -> None:
    """Watchers only ping; anything else is ignored. Returns when the watcher leaves."""
    while True:
        message = await ws.receive()
        if message["type"] == "websocket.disconnect":
            return
        text = message.get("text")
        if not text:
            continue
        if wire_json.control_too_big(text):  # refused before it is scanned
            with contextlib.suppress(Exception):
                await ws.close(1009, f"control message over {wire_json.MAX_CONTROL_BYTES} bytes")
            return
        with contextlib.suppress(ValueError, AttributeError):
            data = wire_json.loads(text)
            if data.get("type") == "ping":
                pong = {"type": "pong", "protocol": PROTOCOL, "id": wire_json.echo_id(data.get("id")),
                        "time": time.time()}
                sub.offer(wire_json.dumps(pong))
