"""Running the app under uvicorn with a graceful shutdown that speaks the protocol.

On SIGTERM/SIGINT uvicorn would close open WebSockets with 1012 straight away. ``GracefulServer``
first stops accepting connections, then lets the runtime answer the frames in flight and close
every WebSocket with 1001 ("going away"), and only then hands over to uvicorn's own shutdown.
"""

from __future__ import annotations

from typing import Any

import uvicorn
from fastapi import FastAPI

from server.runtime import Runtime
from server.settings import Settings

WS_OVERHEAD = 64 * 1024


class GracefulServer(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, runtime: Runtime) -> None:
        super().__init__(config)
        self.runtime = runtime

    async def shutdown(self, sockets: Any = None) -> None:
        for server in self.servers:  # stop accepting new connections first
            server.close()
        await self.runtime.drain()
        await super().shutdown(sockets)


def make_server(app: FastAPI, settings: Settings, **overrides: Any) -> GracefulServer:
    options: dict[str, Any] = {
        "host": settings.host,
        "port": settings.port,
        "log_level": settings.log_level.lower(),
        "ws_max_size": settings.max_frame_bytes + WS_OVERHEAD,
        "ws_per_message_deflate": False,  # zlib over JPEGs, PNGs and raw arrays costs ~9 ms a frame for ~nothing
        "timeout_graceful_shutdown": settings.shutdown_timeout,
        "lifespan": "on",
        "server_header": False,
    }
    options.update(overrides)
    return GracefulServer(uvicorn.Config(app, **options), app.state.runtime)
