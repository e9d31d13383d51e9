"""Where events go, off the inference path: each sink has a bounded queue and its own thread.

``offer`` never blocks: a full queue (a slow or dead sink) drops the event and counts it
(``vqseg_event_sink_dropped_total{sink}``), so no sink can slow inference or another sink.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
from dataclasses import dataclass, field

from server.events.metrics import EventMetrics

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Event:
    """One event: ``payload`` is what every sink sends (``text`` its JSON); ``webhooks`` are the rule's own."""

    payload: dict[str, object]
    text: str
    webhooks: tuple[str, ...] = field(default=())

    @property
    def stream(self) -> str:
        return str(self.payload["stream"])

    @property
    def rule(self) -> str:
        return str(self.payload["rule"])


class QueuedSink:
    """A sink with a bounded queue drained by one thread; subclasses implement ``send``."""

    name = "sink"

    def __init__(self, metrics: EventMetrics, queue_size: int = 256) -> None:
        self.metrics = metrics
        self._queue: queue.Queue[Event | None] = queue.Queue(queue_size)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._main, name=f"vqseg-sink-{self.name}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def offer(self, event: Event) -> bool:
        """Queue ``event`` without waiting; False (and counted) when the queue is full."""
        try:
            self._queue.put_nowait(event)
            return True
        except queue.Full:
            self.metrics.dropped.labels(self.name).inc()
            return False

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        with contextlib.suppress(queue.Full):
            self._queue.put_nowait(None)
        if self._thread.is_alive():
            self._thread.join(timeout)
        self.close()

    def _main(self) -> None:
        while not self._stop.is_set():
            event = self._queue.get()
            if event is None:
                break
            try:
                if self.send(event):
                    self.metrics.sent.labels(self.name).inc()
                else:
                    self.metrics.failed.labels(self.name).inc()
            except Exception:
                log.exception("event sink %s failed", self.name)
                self.metrics.failed.labels(self.name).inc()

    def send(self, event: Event) -> bool:  # pragma: no cover - every sink overrides it
        raise NotImplementedError

    def close(self) -> None:
        """Release what the sink holds (after its thread ended)."""
