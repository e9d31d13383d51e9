"""``create_app(settings)``: the FastAPI application; its lifespan owns the runtime's threads and tasks."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.staticfiles import StaticFiles

from server import (
    routes_events,
    routes_frames,
    routes_health,
    routes_model,
    routes_overlay,
    routes_segment,
    routes_streams,
    routes_subscribe,
    routes_ws,
)
from server.errors import install_error_handlers
from server.origin import OriginGuard
from server.runtime import Runtime, SegmenterLoader
from server.settings import Settings
from vqseg import __version__

STATIC = Path(__file__).resolve().parent / "static"


def create_app(settings: Settings | None = None, load: SegmenterLoader | None = None) -> FastAPI:
    """The app for ``settings``; ``load`` replaces loading ``settings.model`` (tests, embedding)."""
    runtime = Runtime(settings or Settings(), load)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await runtime.start()
        try:
            yield
        finally:
            await runtime.stop()

    app = FastAPI(
        title="vqseg", version=__version__, lifespan=lifespan,
        description="Real-time video semantic segmentation with per-pixel uncertainty. Protocol: docs/protocol.md",
    )
    app.state.runtime = runtime
    install_error_handlers(app, on_error=runtime.metrics.count_error)
    if runtime.settings.cors_origins:
        app.add_middleware(
            CORSMiddleware, allow_origins=runtime.settings.cors_origins, allow_methods=["*"],
            allow_headers=["*"], expose_headers=["Retry-After"],
        )
    app.add_middleware(OriginGuard, allowed=runtime.settings.cors_origins)  # outermost: before CORS
    for module in (routes_health, routes_model, routes_segment, routes_frames, routes_streams, routes_ws,
                   routes_subscribe, routes_events, routes_overlay):
        app.include_router(module.router)
    if STATIC.is_dir():  # the web viewer, when it is there
        app.mount("/", StaticFiles(directory=STATIC, html=True), name="viewer")
    return app
