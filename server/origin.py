"""Browsers on other sites: WebSocket handshakes and state-changing requests need an allowed Origin.

A browser sends ``Origin`` with every WebSocket handshake and every cross-site POST/DELETE, and a
``multipart/form-data`` POST is a CORS "simple" request that needs no preflight, so without this
check any web page could push frames or reconfigure a stream on a server without a key. Requests
without ``Origin`` (cameras, scripts, ``curl``) are not affected; an ``Origin`` passes when it is
the server's own (its scheme and host equal the request's ``Host`` and that host is one the server
answers to: ``server.hosts``, so a rebound name never counts as "own"), when it is in
``VQSEG_CORS_ORIGINS``, or when that list holds ``*``. Anything else: 403 ``forbidden`` for HTTP, and
the handshake refused with 403 for WebSockets (before it is accepted).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from server.hosts import HostNames, split_host

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

Scope = dict[str, Any]


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return bytes(value).decode("latin-1")
    return None


def origin_allowed(scope: Scope, allowed: Sequence[str], hosts: HostNames | None = None) -> bool:
    origin = _header(scope, b"origin")
    if origin is None:
        return True
    origin = origin.strip().rstrip("/").lower()
    if "*" in allowed or origin in (a.rstrip("/").lower() for a in allowed):
        return True
    host = (_header(scope, b"host") or "").strip().lower()
    if not host or origin == "null":
        return False
    if not (hosts or HostNames()).allows(split_host(host)):
        return False
    return origin in (f"http://{host}", f"https://{host}")


class OriginGuard:
    """ASGI middleware: refuse WebSockets and unsafe HTTP methods from a foreign ``Origin``."""

    def __init__(self, app: Any, allowed: Sequence[str], hosts: HostNames | None = None) -> None:
        self.app = app
        self.allowed = list(allowed)
        self.hosts = hosts or HostNames()

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        kind = scope.get("type")
        allowed = origin_allowed(scope, self.allowed, self.hosts)
        if kind == "websocket" and not allowed:
            await send({"type": "websocket.close", "code": 1008, "reason": "origin not allowed"})
            return
        if kind == "http" and scope.get("method") not in SAFE_METHODS and not allowed:
            body = json.dumps({"error": {"code": "forbidden", "message": "requests from this Origin are not "
                                         "allowed (VQSEG_CORS_ORIGINS)"}}).encode()
            headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
            await send({"type": "http.response.start", "status": 403, "headers": headers})
            await send({"type": "http.response.body", "body": body})
            return
        await self.app(scope, receive, send)
