"""Webhooks go only where VQSEG_WEBHOOK_HOSTS allows (resolve-check-pin), with retries and back-off."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from server.events.metrics import EventMetrics
from server.events.sinks import Event
from server.events.webhooks import WebhookPolicy, WebhookRefused, WebhookSink
from server.settings import Settings
from tests.server.conftest import ServerFactory
from tests.server.events.conftest import Receiver
from tests.server.events.scenes import foggy_scene, push


def event(n: int = 0) -> Event:
    payload = {"type": "event", "event": "raised", "id": f"e{n}", "stream": "s", "rule": "r"}
    return Event(payload, json.dumps(payload))


def sink(policy: WebhookPolicy, urls: tuple[str, ...], **kwargs: object) -> tuple[WebhookSink, EventMetrics]:
    metrics = EventMetrics(CollectorRegistry())
    return WebhookSink(policy, urls, metrics, timeout=5.0, backoff=(0.05, 0.1), **kwargs), metrics  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("rules", "url"),
    [
        ("", "http://127.0.0.1:9/hook"),  # deny by default
        ("http://*", "http://127.0.0.1:9/hook"),  # a glob covers public addresses only
        ("http://*", "http://169.254.169.254/latest/meta-data"),  # cloud metadata: link-local
        ("https://10.0.0.0/8", "http://10.1.2.3:8080/hook"),  # the network is allowed for https only
        ("https://hooks.example.com", "file:///etc/passwd"),
        ("https://hooks.example.com", "gopher://hooks.example.com/"),
    ],
)
def test_policy_refuses(rules: str, url: str) -> None:
    policy = WebhookPolicy(rules)
    with pytest.raises(WebhookRefused):
        policy.check(url)


def test_policy_rules_are_http_only() -> None:
    with pytest.raises(ValueError, match="webhook host rule"):
        WebhookPolicy("synthetic,file:/tmp")


def test_policy_pins_the_checked_address() -> None:
    policy = WebhookPolicy("https://hooks.example.com", resolver=lambda host, port: ["93.184.216.34"])
    target, host, server_name = policy.check("https://hooks.example.com/in?x=1")
    assert target == "https://93.184.216.34:443/in?x=1"
    assert (host, server_name) == ("hooks.example.com", "hooks.example.com")


def test_settings_refuse_a_webhook_outside_the_policy() -> None:
    with pytest.raises(ValueError, match="webhook policy does not allow"):
        Settings(webhooks="http://127.0.0.1:9/hook", webhook_hosts="http://127.0.0.1:10")


def test_a_rule_webhook_to_a_refused_address_is_refused(start_server: ServerFactory) -> None:
    live = start_server(webhook_hosts="http://127.0.0.1:9")
    video = foggy_scene("", 1)
    with live.client() as client:
        push(client, "cam", video, range(1))
        for url in ("http://127.0.0.1:10/hook", "http://169.254.169.254/", "http://127.0.0.2:9/hook"):
            rules = [{"name": "fog", "threshold": 0.1, "webhooks": [url]}]
            r = client.put("/v1/streams/cam/rules", json={"rules": rules})
            assert r.status_code == 422, (url, r.text)
            assert r.json()["error"]["code"] == "invalid_parameters"
            assert "webhook refused" in r.json()["error"]["message"]
        assert client.get("/v1/streams/cam/rules").json()["rules"] == []
        ok = [{"name": "fog", "threshold": 0.1, "webhooks": ["http://127.0.0.1:9/hook"]}]
        assert client.put("/v1/streams/cam/rules", json={"rules": ok}).status_code == 200


def test_a_name_that_resolves_to_a_refused_address_gets_nothing(webhook_receiver: Receiver) -> None:
    addresses = iter([["93.184.216.34"], ["127.0.0.1"]])  # DNS rebinding: public at set time, loopback later
    policy = WebhookPolicy("http://*.example.com:*", resolver=lambda host, port: next(addresses))
    url = f"http://hooks.example.com:{webhook_receiver.port}/hook"
    policy.check(url)  # allowed when the rule was set
    hooks, _ = sink(policy, (url,), retries=0)
    assert hooks.send(event()) is False
    assert webhook_receiver.attempts == 0


def test_the_post_goes_to_the_pinned_address_with_the_name_as_host(webhook_receiver: Receiver) -> None:
    policy = WebhookPolicy(f"http://hooks.example.com:{webhook_receiver.port}",
                           resolver=lambda host, port: ["127.0.0.1"])
    hooks, _ = sink(policy, (f"http://hooks.example.com:{webhook_receiver.port}/hook",))
    assert hooks.send(event(1)) is True
    assert webhook_receiver.received == [json.loads(event(1).text)]
    assert webhook_receiver.hosts == [f"hooks.example.com:{webhook_receiver.port}"]


def test_failures_are_retried_with_back_off_then_given_up(webhook_receiver: Receiver, tmp_path: Path) -> None:
    policy = WebhookPolicy(f"http://127.0.0.1:{webhook_receiver.port}")
    hooks, _ = sink(policy, (webhook_receiver.url,), retries=2)
    webhook_receiver.status = 503
    started = time.monotonic()
    assert hooks.send(event()) is False
    assert webhook_receiver.attempts == 3  # one try and two retries
    assert time.monotonic() - started >= 0.05 + 0.1  # waited between tries
    webhook_receiver.status = 404  # a client error is not retried
    assert hooks.send(event()) is False
    assert webhook_receiver.attempts == 4
    webhook_receiver.status = 200
    assert hooks.send(event(2)) is True
    assert [e["id"] for e in webhook_receiver.received] == ["e2"]
    hooks.close()
