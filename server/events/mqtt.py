"""The MQTT sink: each event is published (QoS 1) to ``<topic>/<stream>/<rule>`` on one broker.

``VQSEG_MQTT_URL`` is ``mqtt://[user:password@]host[:port]`` (port 1883 by default). The client
connects in the background and reconnects by itself; an event waits up to ``timeout`` seconds for a
connection and for the broker's acknowledgement, in this sink's own thread (never inference's).
"""

from __future__ import annotations

import logging
import threading
import uuid
from urllib.parse import unquote, urlsplit

import paho.mqtt.client as mqtt

from server.events.metrics import EventMetrics
from server.events.sinks import Event, QueuedSink

log = logging.getLogger(__name__)


def parse_mqtt_url(url: str) -> tuple[str, int, str | None, str | None]:
    """(host, port, user, password) of ``mqtt://[user:password@]host[:port]``; ValueError otherwise."""
    parts = urlsplit(url.strip())
    if parts.scheme != "mqtt" or not parts.hostname:
        raise ValueError(f"MQTT URL must be mqtt://[user:password@]host[:port], got {parts.scheme}://...")
    user = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password else None
    return parts.hostname, parts.port or 1883, user, password


def topic_part(text: str) -> str:
    """A stream id or rule name as one topic level (their characters never include + # or /)."""
    return text.replace("/", "_").replace("+", "_").replace("#", "_")


class MqttSink(QueuedSink):
    name = "mqtt"

    def __init__(self, url: str, topic: str, metrics: EventMetrics, queue_size: int = 256,
                 timeout: float = 5.0) -> None:
        super().__init__(metrics, queue_size)
        self.host, self.port, user, password = parse_mqtt_url(url)
        self.topic = topic.rstrip("/")
        self.timeout = timeout
        self._connected = threading.Event()
        self._client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"vqseg-{uuid.uuid4().hex[:12]}")
        if user is not None:
            self._client.username_pw_set(user, password)
        self._client.max_queued_messages_set(queue_size)
        self._client.reconnect_delay_set(0.5, 10)
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect

    def start(self) -> None:
        self._client.connect_async(self.host, self.port, keepalive=30)
        self._client.loop_start()
        super().start()

    def _on_connect(self, client: mqtt.Client, userdata: object, flags: object, reason: object,
                    properties: object) -> None:
        if not getattr(reason, "is_failure", False):
            self._connected.set()
            log.info("MQTT: connected to %s:%d", self.host, self.port)

    def _on_disconnect(self, client: mqtt.Client, userdata: object, flags: object, reason: object,
                       properties: object) -> None:
        self._connected.clear()

    def send(self, event: Event) -> bool:
        if not self._connected.wait(self.timeout):
            log.warning("MQTT: no connection to %s:%d; event lost", self.host, self.port)
            return False
        topic = f"{self.topic}/{topic_part(event.stream)}/{topic_part(event.rule)}"
        info = self._client.publish(topic, event.text, qos=1)
        if info.rc != mqtt.MQTT_ERR_SUCCESS:
            return False
        info.wait_for_publish(self.timeout)
        return info.is_published()

    def close(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()
