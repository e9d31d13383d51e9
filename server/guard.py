"""The checks every request passes before any route sees it (an ASGI middleware, outermost).

In order:

1. ``Host``: exactly one, naming the server (``server.hosts``), else 400 ``bad_host``.
2. The API key, for ``/v1/...`` and ``/metrics`` (``?key=`` too for WebSockets and ``.mjpg`` restreams,
   which browsers open without headers), **before** a body is read or a WebSocket accepted:
   an HTTP request gets 401 at once; a WebSocket handshake is answered with HTTP 401 (nothing is
   accepted, so the client cannot make the server buffer anything for it).
3. Bodies of everything but frame uploads (JSON for ``POST /v1/streams``, any other method or route)
   are read here, at most ``MAX_BODY`` bytes (413 ``body_too_large``, from ``Content-Length`` before
   reading); a JSON body nested deeper than ``wire_json.MAX_DEPTH`` is 422 ``invalid_parameters``.
4. Every HTTP response gets ``SECURITY_HEADERS`` (a CSP for the viewer, no sniffing, no framing, no
   referrer).
5. A request still running when the shutdown timeout cancels it is answered 503 ``not_ready`` (JSON)
   instead of uvicorn's plain-text 500 and a traceback (a WebSocket cut so just ends).
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Sequence
from typing import Any
from urllib.parse import parse_qsl

from server import wire_json
from server.auth import check_key, presented_key
from server.errors import ServiceError, describe
from server.hosts import HostNames, split_host

MAX_BODY = 64 * 1024
OPEN_PATHS = frozenset({"/healthz", "/readyz"})
FRAME_PATHS = re.compile(r"^/v1/(segment|streams/[^/]+/frames)/?$")
QUERY_KEY_PATHS = re.compile(r"\.mjpg$")  # what a browser's <img> reads: it cannot send a header
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "media-src 'self' blob: mediastream:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
]

Scope = dict[str, Any]


def _error_body(status: int, code: str, message: str) -> tuple[bytes, list[tuple[bytes, bytes]]]:
    body = json.dumps({"error": {"code": code, "message": message}}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
               *SECURITY_HEADERS]
    return body, headers


async def _answer(scope: Scope, send: Any, status: int, code: str, message: str, close: bool = False) -> None:
    """An error answer before the app ran: an HTTP response, or an HTTP answer to a WebSocket handshake."""
    body, headers = _error_body(status, code, message)
    if close:
        headers.append((b"connection", b"close"))
    if scope["type"] == "http":
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
    elif "websocket.http.response" in scope.get("extensions", {}):
        await send({"type": "websocket.http.response.start", "status": status, "headers": headers})
        await send({"type": "websocket.http.response.body", "body": body})
    else:  # a server without the extension answers a close before accept with 403
        await send({"type": "websocket.close", "code": 1008, "reason": message[:120]})


def _headers(scope: Scope, name: bytes) -> list[str]:
    return [bytes(v).decode("latin-1") for k, v in scope.get("headers", ()) if k == name]


def _query(scope: Scope) -> dict[str, str]:
    raw = bytes(scope.get("query_string", b"")).decode("latin-1")
    return dict(parse_qsl(raw, keep_blank_values=True))


class RequestGuard:
    """ASGI middleware for the checks in this module's docstring."""

    def __init__(self, app: Any, keys: Sequence[str], hosts: HostNames, max_body: int = MAX_BODY) -> None:
        self.app = app
        self.keys = list(keys)
        self.hosts = hosts
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        kind = scope.get("type")
        if kind not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        path = str(scope.get("path", ""))
        hosts = _headers(scope, b"host")
        if len(hosts) != 1:
            await _answer(scope, send, 400, "bad_host", "a request needs exactly one Host header", close=True)
            return
        if path not in OPEN_PATHS and not self.hosts.allows(split_host(hosts[0])):
            await _answer(scope, send, 400, "bad_host", "this server does not answer to that Host name "
                          "(VQSEG_ALLOWED_HOSTS)", close=True)
            return
        if self.keys and (path.startswith("/v1/") or path == "/metrics"):
            headers = {k.decode("latin-1").lower(): bytes(v).decode("latin-1") for k, v in scope["headers"]}
            try:
                query = _query(scope) if kind == "websocket" or QUERY_KEY_PATHS.search(path) else None
                check_key(self.keys, presented_key(headers, query))
            except ServiceError as exc:
                info = describe(exc)
                await _answer(scope, send, info.status, info.code, info.message, close=kind == "http")
                return
        if kind == "websocket":
            try:
                await self.app(scope, receive, send)
            except asyncio.CancelledError:  # the shutdown timeout cut it: the socket goes with the server
                return
            return
        if scope.get("method") not in ("GET", "HEAD", "OPTIONS") and not FRAME_PATHS.match(path):
            body = await self._read_body(scope, receive, send)
            if body is None:
                return
            receive = _replay(body, receive)
        await self._run(scope, receive, send)

    async def _read_body(self, scope: Scope, receive: Any, send: Any) -> bytes | None:
        """The whole (small) body, or None when it was refused (413 / 422 already sent)."""
        declared = _headers(scope, b"content-length")
        if declared and declared[0].strip().isdigit() and int(declared[0]) > self.max_body:
            await _answer(scope, send, 413, "body_too_large", f"request body is {declared[0]} bytes; "
                          f"the limit is {self.max_body}", close=True)
            return None
        chunks: list[bytes] = []
        total = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return None  # the client went away
            chunk = message.get("body", b"")
            total += len(chunk)
            if total > self.max_body:
                await _answer(scope, send, 413, "body_too_large", f"request body exceeds {self.max_body} bytes",
                              close=True)
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        content_type = ",".join(_headers(scope, b"content-type")).lower()
        if "json" in content_type:
            try:
                wire_json.check_depth(body.decode("utf-8", errors="replace"))
            except ValueError as exc:
                await _answer(scope, send, 422, "invalid_parameters", str(exc))
                return None
        return body

    async def _run(self, scope: Scope, receive: Any, send: Any) -> None:
        started = False

        async def secured(message: dict[str, Any]) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                message = {**message, "headers": [*message.get("headers", ()), *SECURITY_HEADERS]}
            await send(message)

        try:
            await self.app(scope, receive, secured)
        except asyncio.CancelledError:  # the shutdown timeout cancelled the request
            if started:
                raise
            await _answer(scope, send, 503, "not_ready", "the server shut down before this request was answered",
                          close=True)


def _replay(body: bytes, receive: Any) -> Any:
    sent = False

    async def replay() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay
