"""``GET /v1/streams/{id}/overlay.mjpg``: the stream's frames with their labels as MJPEG (docs/events.md)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse

from server.auth import check_key, presented_key
from server.deps import StreamId
from server.overlay import MEDIA_TYPE, parts
from server.runtime import Runtime

router = APIRouter(tags=["streams"])


@router.get(
    "/v1/streams/{stream_id}/overlay.mjpg", summary="The stream annotated, as MJPEG (multipart/x-mixed-replace)",
    response_class=StreamingResponse,
)
async def overlay_mjpg(
    request: Request, stream_id: StreamId,
    heat: Annotated[bool, Query(description="add the uncertainty heat map beside the overlay")] = False,
) -> StreamingResponse:
    runtime: Runtime = request.app.state.runtime
    # the key may come as ?key= too: an <img> or a player cannot set headers
    check_key(runtime.keys, presented_key(request.headers, request.query_params))
    entry = runtime.directory.get(stream_id)  # 503 while loading, 404 unknown_stream
    hub = runtime.overlays
    viewer = hub.add(stream_id, heat)  # 503 over the viewer limits

    def alive() -> bool:
        return not runtime.closing and runtime.directory.find(stream_id) is entry

    async def body():  # type: ignore[no-untyped-def]
        try:
            async for part in parts(viewer, alive):
                yield part
        finally:
            hub.remove(viewer)

    headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    return StreamingResponse(body(), media_type=MEDIA_TYPE, headers=headers)
