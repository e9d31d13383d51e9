"""The slow or hostile client at the connection level: uvicorn's HTTP protocol with limits.

``GuardedHttpProtocol`` is uvicorn's httptools protocol plus:

- a cap on open connections (HTTP and WebSocket together): past ``max_connections`` a new
  connection gets ``503`` and is closed before anything is parsed;
- a header timeout: the request line and headers must arrive within ``header_timeout`` seconds of
  the connection (or of the first byte of the next keep-alive request), else ``408`` and close —
  a silent or slowloris socket is not held open;
- ``max_header_bytes`` for the request line and headers (``431``);
- a body timeout: the whole body must arrive within ``body_timeout`` seconds of the headers (``408``
  if no response has started; the request sees a disconnect);
- a lingering close: when a response ends a connection whose request body was not read (a 413
  before the upload finished, sent with ``Connection: close``), the server shuts down its sending
  side and reads and discards what still comes for up to ``LINGER_SECONDS`` in all and while data
  keeps arriving at least every ``LINGER_IDLE`` seconds (nginx's ``lingering_time`` and
  ``lingering_timeout``), so the client reads the answer instead of a TCP reset, however large its
  upload. The bound is time, not bytes: discarding costs no memory.

The idle keep-alive timeout is uvicorn's own ``timeout_keep_alive``.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

LINGER_SECONDS = 30.0
LINGER_IDLE = 5.0


def _raw_response(status: int, reason: str, message: str) -> bytes:
    body = json.dumps({"error": {"code": reason, "message": message}}).encode()
    return (
        f"HTTP/1.1 {status} {reason.replace('_', ' ')}\r\ncontent-type: application/json\r\n"
        f"content-length: {len(body)}\r\nconnection: close\r\n\r\n"
    ).encode() + body


class _LingeringTransport:
    """The connection's transport; ``close`` lingers while the request body is still coming."""

    def __init__(self, transport: asyncio.Transport, protocol: GuardedHttpProtocol) -> None:
        self._transport = transport
        self._protocol = protocol
        self.lingering = False

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)

    def is_closing(self) -> bool:
        return self.lingering or self._transport.is_closing()

    def close(self) -> None:
        cycle = self._protocol.cycle
        unread = cycle is not None and cycle.more_body and not self._protocol.upgraded
        if self.lingering or not unread or self._transport.is_closing() or not self._transport.can_write_eof():
            self._transport.close()
            return
        self.lingering = True
        self._protocol.start_linger()


class GuardedHttpProtocol(HttpToolsProtocol):
    """uvicorn's HTTP protocol with the limits in ``config.guard`` (a ``ConnectionLimits``)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        limits = getattr(self.config, "guard", None)
        self.max_connections: int | None = getattr(limits, "max_connections", None)
        self.header_timeout: float = getattr(limits, "header_timeout", 10.0)
        self.body_timeout: float = getattr(limits, "body_timeout", 60.0)
        self.max_header_bytes: int = getattr(limits, "max_header_bytes", 64 * 1024)
        self.upgraded = False
        self._headers_done = False
        self._header_bytes = 0
        self._timer: asyncio.TimerHandle | None = None
        self._linger_until = 0.0
        self._real: asyncio.Transport | None = None
        self._refused = False

    # ---- connection ------------------------------------------------------------------------
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        self._real = transport
        if self.max_connections is not None and len(self.connections) >= self.max_connections:
            self.transport = transport
            transport.write(_raw_response(503, "too_many_connections", "connection limit reached; retry later"))
            transport.close()
            return
        super().connection_made(transport)
        self.transport = _LingeringTransport(transport, self)  # type: ignore[assignment]
        self._arm(self.header_timeout, self._header_timed_out)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if isinstance(self.transport, _LingeringTransport) and self.transport.lingering:
            self._arm_linger()  # discarded; the client gets LINGER_IDLE more seconds, within LINGER_SECONDS
            return
        if self._refused:
            return
        super().data_received(data)
        too_big = self._header_bytes > self.max_header_bytes
        if too_big and not (self._refused or self._headers_done or self.upgraded):
            self._refuse(431, "headers_too_large", f"request headers exceed {self.max_header_bytes} bytes")

    def handle_websocket_upgrade(self) -> None:
        self.upgraded = True
        self._disarm()
        if self._real is not None:
            self.transport = self._real  # the WebSocket protocol gets the plain transport
        super().handle_websocket_upgrade()

    # ---- parser callbacks --------------------------------------------------------------------
    def on_message_begin(self) -> None:
        super().on_message_begin()
        if not self._headers_done:
            return
        self._headers_done = False
        self._header_bytes = 0
        self._arm(self.header_timeout, self._header_timed_out)

    def on_url(self, url: bytes) -> None:
        self._header_bytes += len(url)
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._header_bytes += len(name) + len(value) + 4
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._headers_done = True
        self._disarm()
        if self._header_bytes > self.max_header_bytes:
            self._refuse(431, "headers_too_large", f"request headers exceed {self.max_header_bytes} bytes")
            return
        super().on_headers_complete()
        if not self.upgraded and self.cycle is not None and self.cycle.more_body:
            self._arm(self.body_timeout, self._body_timed_out)

    def on_body(self, body: bytes) -> None:
        if not self._refused:
            super().on_body(body)

    def on_message_complete(self) -> None:
        if self._refused:
            return
        super().on_message_complete()
        if not self.upgraded:
            self._disarm()

    # ---- timers ------------------------------------------------------------------------------
    def _arm(self, delay: float, callback: Any) -> None:
        self._disarm()
        self._timer = self.loop.call_later(delay, callback)

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _header_timed_out(self) -> None:
        self._timer = None
        if not self._headers_done and not self.upgraded:
            self._refuse(408, "request_timeout", f"request headers not received within {self.header_timeout:g}s")

    def _body_timed_out(self) -> None:
        self._timer = None
        cycle = self.cycle
        if cycle is None or not cycle.more_body or self.upgraded:
            return
        if not cycle.response_started:
            message = f"request body not received within {self.body_timeout:g}s"
            self._write(_raw_response(408, "request_timeout", message))
        cycle.disconnected = True
        cycle.message_event.set()
        self._close_now()

    def _refuse(self, status: int, code: str, message: str) -> None:
        self._refused = True
        if self.cycle is not None and not self.cycle.response_complete:
            self.cycle.disconnected = True
            self.cycle.message_event.set()
        self._write(_raw_response(status, code, message))
        self._close_now()

    def _write(self, data: bytes) -> None:
        if self._real is not None and not self._real.is_closing():
            self._real.write(data)

    def _close_now(self) -> None:
        self._disarm()
        if self._real is not None:
            self._real.close()

    # ---- lingering close ---------------------------------------------------------------------
    def start_linger(self) -> None:
        assert self._real is not None
        self._disarm()
        self._real.write_eof()  # the response is out; the client sees FIN after it
        if self.flow is not None:
            self.flow.resume_reading()  # uvicorn paused reading when the unread body filled its buffer
        self._real.resume_reading()
        self._linger_until = self.loop.time() + LINGER_SECONDS
        self._arm_linger()

    def _arm_linger(self) -> None:
        left = self._linger_until - self.loop.time()
        if left <= 0:
            self._close_now()
            return
        self._arm(min(LINGER_IDLE, left), self._close_now)
