"""``POST /v1/streams/{stream_id}/frames``: one frame of a stream; its ring buffer carries over."""

from __future__ import annotations

import dataclasses
import math
import time
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from server.deps import KeyOwner, ReadyRuntime, StreamId
from server.errors import InvalidParameters
from server.jobs import FrameJob, ReplySpec
from server.params import config_changes, option_parameters, parse_format, parse_maps, query_options
from server.replies import result_response
from server.streams import check_owner
from server.upload import FRAME_BODY_OPENAPI, read_frame
from streaming import StreamFrame

router = APIRouter(tags=["frames"])


@router.post(
    "/v1/streams/{stream_id}/frames",
    summary="Segment the next frame of a stream (created on first use)",
    openapi_extra={**FRAME_BODY_OPENAPI, "parameters": option_parameters()},
    responses={200: {"content": {"application/json": {}, "image/png": {}}, "description": "result (docs/protocol.md)"}},
)
async def post_frame(
    request: Request,
    stream_id: StreamId,
    runtime: ReadyRuntime,
    owner: KeyOwner,
    timestamp: Annotated[float | None, Query(description="capture time in seconds (default: arrival time)")] = None,
    maps: Annotated[str | None, Query(description="extra 16-bit maps, comma separated")] = None,
    format: Annotated[str, Query(description="json, or png: a colour overlay for people")] = "json",
) -> Response:
    received = time.perf_counter()
    arrival = time.time()
    if timestamp is not None and not math.isfinite(timestamp):
        raise InvalidParameters("timestamp must be a finite number of seconds")
    given = query_options(request.query_params, ("timestamp", "maps", "format"))  # per-stream options
    changes = config_changes(runtime.settings.stream_defaults(), given)
    extra, fmt = parse_maps(maps), parse_format(format)
    existing = runtime.directory.find(stream_id)
    if existing is not None:
        check_owner(existing, owner)  # before the body is read: another key's stream is 403 at once
        if changes and runtime.budget is not None:  # max_samples and the buffer budget, before reading
            runtime.budget.check(dataclasses.replace(existing.session.config, **changes), existing.session)
    with runtime.admission.admit(stream_id):  # counted against the queue before the body is read or decoded
        data = await read_frame(request, runtime.limits.max_bytes)
        frame = await runtime.decode(data)
        entry, created = runtime.directory.open(stream_id, "push", owner, changes)
        job = FrameJob(
            StreamFrame(frame.image, arrival if timestamp is None else timestamp, entry.session),
            ReplySpec(maps=extra, fmt=fmt), received, changes={} if created else changes, decode_ms=frame.decode_ms,
        )
        del frame
        async with entry.rest_lock:  # REST frames of one stream run in arrival order, none dropped
            result = await runtime.process(job)
    return result_response(result)
