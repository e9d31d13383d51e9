"""uvicorn's WebSocket protocol (websockets' sans-I/O implementation) with two fixes for hostile peers.

- **A full send buffer stops reading.** The protocol answers every ping with a pong straight into the
  transport; a client that sends pings and never reads would grow the server's send buffer without
  limit. Here, while the transport's write buffer is above its high-water mark, the socket is not
  read either (so no more pings are parsed), and reading resumes when the buffer drains — and only
  if the application is not holding it paused for its own back-pressure.
- **Invalid UTF-8 in a text frame** closes the connection with 1007 and one log line, not a traceback.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

log = logging.getLogger(__name__)


class _ReadGate:
    """The connection's transport: reading resumes only when neither the app nor a full write buffer
    holds it paused."""

    def __init__(self, transport: asyncio.Transport) -> None:
        self._transport = transport
        self.app_paused = False
        self.write_blocked = False

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)

    def pause_reading(self) -> None:
        self.app_paused = True
        self._update()

    def resume_reading(self) -> None:
        self.app_paused = False
        self._update()

    def block(self, blocked: bool) -> None:
        self.write_blocked = blocked
        self._update()

    def _update(self) -> None:
        if self._transport.is_closing():
            return
        if self.app_paused or self.write_blocked:
            self._transport.pause_reading()
        else:
            self._transport.resume_reading()


class GuardedWebSocketProtocol(WebSocketsSansIOProtocol):
    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)
        self.transport = _ReadGate(transport)  # type: ignore[assignment]

    def pause_writing(self) -> None:
        super().pause_writing()
        if isinstance(self.transport, _ReadGate):
            self.transport.block(True)

    def resume_writing(self) -> None:
        super().resume_writing()
        if isinstance(self.transport, _ReadGate):
            self.transport.block(False)

    def send_receive_event_to_app(self) -> None:
        if self.curr_msg_data_type == "text" and not self.close_sent:
            data = self.frames[0] if len(self.frames) == 1 else b"".join(self.frames)
            try:
                data.decode()
            except UnicodeDecodeError:
                self.frames = []
                log.info("WebSocket %s sent a text message that is not UTF-8: closed with 1007", self.client)
                self.conn.send_close(1007, "text message is not valid UTF-8")
                self.handle_parser_exception()
                return
        super().send_receive_event_to_app()
