"""``POST /v1/segment``: one image, no state (dnn or bnn)."""

from __future__ import annotations

import dataclasses
import time
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from server.deps import KeyOwner, ReadyRuntime
from server.errors import InvalidParameters
from server.jobs import FrameJob, ReplySpec
from server.params import STATELESS_MODES, config_changes, parse_format, parse_maps
from server.replies import result_response
from server.upload import FRAME_BODY_OPENAPI, read_frame
from streaming import Mode, StreamFrame

router = APIRouter(tags=["frames"])


@router.post(
    "/v1/segment",
    summary="Segment one image (stateless)",
    openapi_extra=FRAME_BODY_OPENAPI,
    responses={200: {"content": {"application/json": {}, "image/png": {}}, "description": "result (docs/protocol.md)"}},
)
async def segment(
    request: Request,
    runtime: ReadyRuntime,
    _owner: KeyOwner,
    mode: Annotated[str, Query(description="dnn (one pass) or bnn (N MC-dropout passes)")] = "dnn",
    samples: Annotated[int | None, Query(description="N for bnn (default 30)")] = None,
    maps: Annotated[str | None, Query(description="extra 16-bit maps, comma separated")] = None,
    format: Annotated[str, Query(description="json, or png: a colour overlay for people")] = "json",
) -> Response:
    received = time.perf_counter()
    defaults = runtime.settings.stream_defaults()
    changes = config_changes(defaults, {"mode": mode, "samples": samples})
    config = dataclasses.replace(defaults, **changes)
    if config.mode not in STATELESS_MODES:
        raise InvalidParameters(
            f"mode {config.mode.value!r} needs a stream's history: use /v1/streams/{{id}}/frames, "
            f"or mode dnn or bnn here"
        )
    extra, fmt = parse_maps(maps), parse_format(format)
    if runtime.budget is not None:
        runtime.budget.check(config, None)  # max_samples
    with runtime.admission.admit(None):  # counted against the queue before the body is read or decoded
        data = await read_frame(request, runtime.limits.max_bytes)
        frame = await runtime.decode(data)
        client = request.client.host if request.client is not None else "?"
        job = FrameJob(  # one scheduling lane per client address: many requests do not buy a bigger share
            StreamFrame(frame.image, time.time(), config=config), ReplySpec(maps=extra, fmt=fmt), received,
            decode_ms=frame.decode_ms, key=f"~segment:{client}",
        )
        del frame
        result = await runtime.process(job)
    return result_response(result)


__all__ = ["Mode", "router"]
