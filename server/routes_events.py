"""Watch rules per stream and the events they raised (docs/events.md)."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query
from pydantic import BaseModel, ConfigDict, Field

from server.deps import ExistingStream, KeyOwner, ReadyRuntime
from server.events.control import rules_view, set_stream_rules
from server.events.rules import MAX_RULES
from server.streams import check_owner
from streaming import STREAM_ID_PATTERN

router = APIRouter(tags=["events"])


class RulesBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rules: list[dict[str, Any]] = Field(max_length=MAX_RULES, description="the stream's rules (replaces them all)")


@router.get("/v1/streams/{stream_id}/rules", summary="A stream's watch rules and their state")
async def get_rules(entry: ExistingStream, runtime: ReadyRuntime) -> dict[str, Any]:
    return rules_view(runtime.events, entry.session)


@router.put("/v1/streams/{stream_id}/rules", summary="Replace a stream's watch rules")
async def put_rules(
    body: Annotated[RulesBody, Body()], entry: ExistingStream, runtime: ReadyRuntime, owner: KeyOwner
) -> dict[str, Any]:
    check_owner(entry, owner)
    await asyncio.to_thread(set_stream_rules, runtime.events, entry.session, body.rules)  # resolves webhook hosts
    return rules_view(runtime.events, entry.session)


@router.get("/v1/events", summary="Recent watch-rule events (newest last)")
async def recent_events(
    runtime: ReadyRuntime, _owner: KeyOwner,
    stream: Annotated[str | None, Query(pattern=STREAM_ID_PATTERN.pattern)] = None,
    limit: Annotated[int, Query(ge=1, le=256)] = 100,
) -> dict[str, Any]:
    return {"events": runtime.events.bus.recent(stream, limit)}
