"""Running the app under uvicorn with a graceful shutdown that speaks the protocol.

On SIGTERM/SIGINT uvicorn would close open WebSockets with 1012 straight away. ``GracefulServer``
first stops accepting connections, then lets the runtime answer the frames in flight and close
every WebSocket with 1001 ("going away"), and only then hands over to uvicorn's own shutdown.
"""

from __future__ import annotations

import ipaddress
import logging
from dataclasses import dataclass
from typing import Any

import uvicorn
from fastapi import FastAPI

from server import log_redact
from server.connections import GuardedHttpProtocol
from server.runtime import Runtime
from server.settings import Settings
from server.ws_protocol import GuardedWebSocketProtocol

log = logging.getLogger(__name__)

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


@dataclass(frozen=True)
class ConnectionLimits:
    """What ``server.connections.GuardedHttpProtocol`` enforces (read from ``config.guard``)."""

    max_connections: int
    header_timeout: float
    body_timeout: float
    max_header_bytes: int


def make_server(app: FastAPI, settings: Settings, **overrides: Any) -> GracefulServer:
    options: dict[str, Any] = {
        "http": GuardedHttpProtocol,
        "ws": GuardedWebSocketProtocol,  # a full send buffer stops reading (pong floods)
        "timeout_keep_alive": settings.keepalive_timeout,
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
    config = uvicorn.Config(app, **options)
    config.guard = ConnectionLimits(  # type: ignore[attr-defined]
        settings.max_connections, settings.header_timeout, settings.body_timeout, settings.max_header_bytes
    )
    log_redact.install()  # after uvicorn configured its loggers
    warn_if_exposed(settings, str(options["host"]))
    return GracefulServer(config, app.state.runtime)


def is_loopback(host: str) -> bool:
    if host in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def warn_if_exposed(settings: Settings, host: str) -> bool:
    """Log a warning when the server listens beyond loopback with no API key; True if it did."""
    if is_loopback(host) or settings.api_keys():
        return False
    log.warning(
        "listening on %s with no API key (VQSEG_API_KEY): anyone who reaches this port can push frames, "
        "read every stream and make the server pull sources (VQSEG_PULL_SOURCES=%r)", host, settings.pull_sources,
    )
    return True
