"""``GET /v1/model``: what the loaded network is and the stream defaults."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from server.deps import KeyOwner, ReadyRuntime

router = APIRouter(tags=["model"])


@router.get("/v1/model", summary="The loaded model: classes, palette, input size, backend, defaults")
async def model(runtime: ReadyRuntime, _owner: KeyOwner) -> dict[str, Any]:
    return runtime.model_info()
