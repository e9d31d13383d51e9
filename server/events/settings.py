"""Settings of the event machinery (``VQSEG_RULES``, MQTT, webhooks, harvest, overlay viewers).

A base class of the server's one ``Settings`` object, so each is also ``VQSEG_<NAME>`` and a
``vqseg serve`` setting like any other; validated at start-up.
"""

from __future__ import annotations

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings

from server.events.mqtt import parse_mqtt_url
from server.events.rules import WatchRule, rules_from_setting
from server.events.webhooks import WebhookPolicy

MiB = 1024 * 1024


class EventSettings(BaseSettings):
    rules: str = Field("", description="watch rules of every new stream: a JSON list, or @/path/rules.json")
    mqtt_url: str | None = Field(None, description="mqtt://[user:password@]host[:port]: publish events there")
    mqtt_topic: str = Field("vqseg/events", min_length=1, max_length=200,
                            description="events go to <topic>/<stream>/<rule>")
    webhooks: str = Field("", description="URLs every event is POSTed to (comma separated)")
    webhook_hosts: str = Field("", description="where webhooks may go: http(s)://host|ip|net[:port], comma "
                               "separated; empty = nowhere")
    webhook_secret: SecretStr | None = Field(None, description="HMAC-SHA256 key: X-Vqseg-Signature on each POST")
    webhook_timeout: float = Field(5.0, gt=0, le=60, description="seconds per webhook request")
    webhook_retries: int = Field(3, ge=0, le=10, description="retries of a failed webhook POST (back-off 0.5 s, x2)")
    event_queue: int = Field(256, ge=1, le=100_000, description="events waiting per sink (then dropped, counted)")
    harvest_dir: str | None = Field(None, description="save frames above a rule here for labelling; None = off")
    harvest_bytes: int = Field(1024 * MiB, ge=MiB, description="disk budget of the harvest (oldest go first)")
    harvest_interval: float = Field(2.0, ge=0, le=86400, description="seconds between saved frames per stream")
    max_overlay_viewers: int = Field(16, ge=0, le=1024, description="overlay.mjpg viewers, all streams")
    max_overlay_viewers_per_stream: int = Field(4, ge=1, le=1024, description="overlay.mjpg viewers per stream")

    @model_validator(mode="after")
    def _events_valid(self) -> EventSettings:
        self.watch_rules()
        if self.mqtt_url:
            parse_mqtt_url(self.mqtt_url)
        policy = self.webhook_policy()
        for url in self.webhook_urls():
            policy.check(url)  # WebhookRefused (a ValueError) names what is not allowed
        return self

    def watch_rules(self) -> tuple[WatchRule, ...]:
        return rules_from_setting(self.rules)

    def webhook_policy(self) -> WebhookPolicy:
        return WebhookPolicy(self.webhook_hosts)

    def webhook_urls(self) -> tuple[str, ...]:
        return tuple(u.strip() for u in self.webhooks.split(",") if u.strip())
