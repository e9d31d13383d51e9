"""The event bus: one event goes to the stream's WebSockets and to every queued sink, and is counted.

``publish`` runs in the encode pool and never blocks: WebSocket delivery is handed to the event loop
(the stream's watchers and pushing clients, each with its own bounded queue), the other sinks get
the event through their bounded queues (``server.events.sinks``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any

from server.events.metrics import EventMetrics
from server.events.sinks import Event, QueuedSink

log = logging.getLogger(__name__)

RECENT = 256  # events kept for GET /v1/events


class EventBus:
    def __init__(self, metrics: EventMetrics, sinks: Sequence[QueuedSink] = (),
                 on_loop: Callable[[Event], None] | None = None) -> None:
        self.metrics = metrics
        self.sinks = list(sinks)
        self._on_loop = on_loop
        self.loop: asyncio.AbstractEventLoop | None = None
        self._recent: deque[dict[str, Any]] = deque(maxlen=RECENT)
        self._lock = threading.Lock()

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        for sink in self.sinks:
            sink.start()

    def stop(self, timeout: float = 5.0) -> None:
        for sink in self.sinks:
            sink.stop(timeout)

    def publish(self, event: Event) -> None:
        self.metrics.events.labels(str(event.payload["event"])).inc()
        with self._lock:
            self._recent.append(event.payload)
        if self._on_loop is not None and self.loop is not None:
            with contextlib.suppress(RuntimeError):  # the loop is closed: the server is gone
                self.loop.call_soon_threadsafe(self._on_loop, event)
        for sink in self.sinks:
            sink.offer(event)

    def recent(self, stream_id: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        with self._lock:
            events = list(self._recent)
        if stream_id is not None:
            events = [e for e in events if e["stream"] == stream_id]
        return events[-limit:]
