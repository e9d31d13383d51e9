"""Streams as a resource: list, inspect, delete; and ``POST /v1/streams`` for server-pulled sources."""

from __future__ import annotations

import asyncio
import secrets
from typing import Annotated, Any

from fastapi import APIRouter, Body, Response
from pydantic import BaseModel, ConfigDict, Field, create_model

from server.deps import ExistingStream, KeyOwner, ReadyRuntime
from server.fanout import End
from server.ingest import SourceIngest
from server.params import config_changes
from server.runtime import Runtime
from server.streams import StreamEntry, check_owner
from streaming import STREAM_ID_PATTERN, stream_options
from synthetic import parse_synthetic_uri
from vqseg_client.sources import FrameSource, SourceError, open_source

router = APIRouter(tags=["streams"])


class _PullSource(BaseModel):
    """A source the server reads itself; stream settings are optional."""

    model_config = ConfigDict(extra="forbid")

    source: str = Field(
        min_length=1, max_length=4096,
        description="rtsp://..., synthetic:street?..., a file, webcam:0 — each only if VQSEG_PULL_SOURCES allows it",
    )
    stream_id: str | None = Field(None, pattern=STREAM_ID_PATTERN.pattern, description="default: generated")
    loop: bool = Field(False, description="restart files and finite scenes at their end")


# the per-stream options (streaming.stream_options), each optional: JSON as it comes, checked by config_changes
PullRequest = create_model(
    "PullRequest", __base__=_PullSource,
    **{o.name: (Any, Field(None, description=f"{o.help} ({o.range_text})")) for o in stream_options()},
)


@router.get("/v1/streams", summary="All live streams")
async def list_streams(runtime: ReadyRuntime, _owner: KeyOwner) -> dict[str, list[dict[str, Any]]]:
    return {"streams": [e.info() for e in runtime.directory.entries()]}


@router.get("/v1/streams/{stream_id}", summary="One stream")
async def get_stream(entry: ExistingStream, _owner: KeyOwner) -> dict[str, Any]:
    return entry.info()


@router.delete("/v1/streams/{stream_id}", status_code=204, summary="Remove a stream (stops a pulled source)")
async def delete_stream(entry: ExistingStream, runtime: ReadyRuntime, owner: KeyOwner) -> Response:
    check_owner(entry, owner)  # another key's stream: 403
    runtime.directory.remove(entry.stream_id)
    return Response(status_code=204)


@router.post("/v1/streams", status_code=201, summary="Make the server ingest a source (camera, RTSP, file)")
async def pull_stream(
    request: Annotated[PullRequest, Body()], runtime: ReadyRuntime, owner: KeyOwner
) -> dict[str, Any]:
    given = request.model_dump(exclude={"source", "stream_id", "loop"})
    changes = config_changes(runtime.settings.stream_defaults(), given)
    stream_id = request.stream_id or f"pull-{secrets.token_hex(4)}"
    directory = runtime.directory
    if directory.find(stream_id) is not None:
        directory.open(stream_id, "pull", owner, exclusive=True)  # raises 409
    runtime.reserve_pull()  # threads of deleted streams still ending count too
    # The policy resolves host names (blocking): SourceRefused -> 422 bad_source, nothing opened.
    checked = await asyncio.to_thread(runtime.policy.check, request.source)
    if checked.kind == "synthetic":
        _check_scene_size(checked.target, runtime.settings.max_frame_pixels)
    source: FrameSource | None = None
    if not checked.network:
        timeout = runtime.settings.pull_timeout
        source = await asyncio.to_thread(open_source, checked.target, None, timeout)  # SourceError -> 422
    try:
        entry, _ = directory.open(stream_id, "pull", owner, changes, exclusive=True)
    except BaseException:
        if source is not None:
            source.close()
        raise
    entry.source = checked.display
    entry.ingest = _start_ingest(runtime, entry, checked.target, source, request.loop)
    return entry.info()


def _check_scene_size(uri: str, max_pixels: int) -> None:
    try:
        config = parse_synthetic_uri(uri)
    except ValueError as exc:
        raise SourceError(str(exc)) from None
    if config.width * config.height > max_pixels:
        raise SourceError(f"scene frames of {config.width}x{config.height} exceed max_frame_pixels ({max_pixels})")


def _start_ingest(
    runtime: Runtime, entry: StreamEntry, target: str, source: FrameSource | None, repeat: bool
) -> SourceIngest:
    loop = asyncio.get_running_loop()

    def on_end(reason: str) -> None:
        entry.hub.close(End(reason))

    settings = runtime.settings
    ingest = SourceIngest(
        target, entry.session, runtime.worker.submit, loop, runtime.deliver, on_end,
        lambda: entry.hub.demand, source=source, repeat=repeat, open_timeout=settings.pull_timeout,
        max_pixels=settings.max_frame_pixels, hold=runtime.frame_memory.hold,
    )
    ingest.display = entry.source or ingest.display
    ingest.start()
    runtime.pulls.append(ingest)
    return ingest

