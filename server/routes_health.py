"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter, Response

from server.deps import KeyOwner, RuntimeDep
from server.metrics import CONTENT_TYPE

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="The process is alive")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", summary="The model is loaded and warmed up", responses={503: {"description": "not ready"}})
async def readyz(runtime: RuntimeDep) -> dict[str, str]:
    runtime.require_ready()  # 503 not_ready (with the load error, if any)
    return {"status": "ready"}


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
async def metrics(runtime: RuntimeDep, _owner: KeyOwner) -> Response:
    return Response(runtime.metrics.render(), media_type=CONTENT_TYPE)
