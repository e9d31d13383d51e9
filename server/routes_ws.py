"""``/v1/streams/{stream_id}/ws``: a client pushes a stream's frames and gets a result per frame."""

from __future__ import annotations

import contextlib

from fastapi import APIRouter, WebSocket

from server.auth import check_key, presented_key
from server.errors import Overloaded, describe
from server.params import config_changes, parse_maps, parse_wire, query_options
from server.runtime import Runtime
from server.ws_push import PushConnection

router = APIRouter()


async def refuse(ws: WebSocket, runtime: Runtime, exc: BaseException) -> None:
    """Close an accepted socket with the close code and reason ``server.errors`` gives ``exc``."""
    info = describe(exc)
    runtime.metrics.count_error(info.code)
    with contextlib.suppress(Exception):
        await ws.close(info.close_code, info.close_reason())


@router.websocket("/v1/streams/{stream_id}/ws")
async def push_stream(ws: WebSocket, stream_id: str) -> None:
    runtime: Runtime = ws.app.state.runtime
    await ws.accept()  # accept first, so that a refusal can carry a close code and a reason
    try:
        owner = check_key(runtime.keys, presented_key(ws.headers, ws.query_params))
        runtime.require_ready()
        query = ws.query_params
        given = query_options(query, ("maps", "protocol", "size", "map_dtype"))  # per-stream options
        changes = config_changes(runtime.settings.stream_defaults(), given)
        maps = parse_maps(query.get("maps"))
        wire = parse_wire(query)
        directory = runtime.directory
        existing = directory.find(stream_id)
        limit = runtime.settings.max_ws_per_stream
        if existing is not None and len(existing.connections) >= limit:
            raise Overloaded(f"stream {stream_id!r} already has {limit} pushing connections (max_ws_per_stream)")
        entry, created = directory.open(stream_id, "push", owner, changes)
    except Exception as exc:
        await refuse(ws, runtime, exc)
        return
    connection = PushConnection(ws, runtime, entry, maps, {} if created else changes, wire)
    entry.connections.add(connection)
    try:
        await connection.run()
    finally:
        entry.connections.discard(connection)
        if not entry.connections and entry.kind == "push" and directory.find(stream_id) is entry:
            directory.remove(stream_id, "the last client of this stream disconnected")
