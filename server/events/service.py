"""What a running server owns for events: the sinks, the bus, the watch-rule tap and the harvest.

Built with the runtime; the rule tap and the harvest need the model's classes, so they are made when
the model is ready (``on_model_ready``). ``deliver`` runs on the event loop and hands an event to the
stream's watchers (``subscribe``) and pushing WebSocket clients.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from prometheus_client import CollectorRegistry

from server.events.bus import EventBus
from server.events.harvest import Harvester
from server.events.metrics import EventMetrics
from server.events.monitor import EventMonitor
from server.events.mqtt import MqttSink
from server.events.settings import EventSettings
from server.events.sinks import Event, QueuedSink
from server.events.webhooks import WebhookSink

log = logging.getLogger(__name__)

FindEntry = Callable[[str], Any]  # stream id -> its StreamEntry or None


class EventService:
    def __init__(self, settings: EventSettings, registry: CollectorRegistry, find_entry: FindEntry) -> None:
        self.settings = settings
        self.metrics = EventMetrics(registry)
        self.policy = settings.webhook_policy()
        self._find = find_entry
        sinks: list[QueuedSink] = []
        if settings.mqtt_url:
            sinks.append(MqttSink(settings.mqtt_url, settings.mqtt_topic, self.metrics, settings.event_queue))
        secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else None
        sinks.append(WebhookSink(self.policy, settings.webhook_urls(), self.metrics, settings.event_queue,
                                 settings.webhook_timeout, settings.webhook_retries, secret=secret))
        self.bus = EventBus(self.metrics, sinks, on_loop=self.deliver)
        self.monitor: EventMonitor | None = None
        self.harvester: Harvester | None = None

    def on_model_ready(self, class_names: tuple[str, ...], palette: Any) -> EventMonitor:
        """Build the rule tap (and the harvest) for the model's classes; called by the worker thread."""
        settings = self.settings
        if settings.harvest_dir:
            self.harvester = Harvester(settings.harvest_dir, settings.harvest_bytes, settings.harvest_interval,
                                       self.metrics, class_names, palette)
            self.harvester.start()
        self.monitor = EventMonitor(settings.watch_rules(), class_names, self.bus, self.harvester)
        return self.monitor

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        self.bus.start(loop)

    def stop(self, timeout: float = 5.0) -> None:
        self.bus.stop(timeout)
        if self.harvester is not None:
            self.harvester.stop(timeout)

    def deliver(self, event: Event) -> None:
        """On the event loop: the event to the stream's watchers and pushing clients (bounded queues)."""
        entry = self._find(event.stream)
        if entry is None:
            return
        entry.hub.publish_text(event.text)
        for conn in list(entry.connections):
            notify = getattr(conn, "notify", None)
            if notify is not None and not notify(event.text):
                self.metrics.dropped.labels("websocket").inc()
        self.metrics.sent.labels("websocket").inc()
