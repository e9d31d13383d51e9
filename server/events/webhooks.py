"""Webhooks: events POSTed as JSON, with retries and back-off, only to hosts the egress policy allows.

``VQSEG_WEBHOOK_HOSTS`` lists where webhooks may go, in the pull policy's grammar restricted to
``http://`` and ``https://`` rules (``https://hooks.example.com``, ``http://10.0.0.5:8080``,
``https://*.example.com``); empty (the default) allows none. Every POST goes through the same
resolve-check-pin as pulled sources (``SourcePolicy``): the host is resolved, every address checked
(loopback, private and link-local only when a rule names them), and the request is sent to the
checked address with the original ``Host`` (and TLS server name), so DNS cannot swap the target
between the check and the connection. Redirects are not followed. With ``VQSEG_WEBHOOK_SECRET`` each
request carries ``X-Vqseg-Signature: sha256=<HMAC of the body>``.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import threading
from urllib.parse import urlsplit

import httpx

from server.events.metrics import EventMetrics
from server.events.sinks import Event, QueuedSink
from server.source_policy import Resolver, SourcePolicy, SourceRefused, redact, system_resolver

log = logging.getLogger(__name__)

WEBHOOK_SCHEMES = ("http", "https")


class WebhookRefused(ValueError):
    """A webhook URL the egress policy does not allow."""


class WebhookPolicy:
    """Which webhook URLs may be called; ``check(url)`` -> (URL to connect to, Host header, TLS name)."""

    def __init__(self, rules: str, resolver: Resolver = system_resolver) -> None:
        for raw in filter(None, (r.strip() for r in rules.split(","))):
            scheme = raw.partition("://")[0].lower()
            if scheme not in WEBHOOK_SCHEMES or "://" not in raw:
                raise ValueError(f"webhook host rule {raw!r}: expected http://HOST[:PORT] or https://HOST[:PORT]")
        self.text = rules
        self._policy = SourcePolicy(rules, resolver)

    def check(self, url: str) -> tuple[str, str, str]:
        parts = urlsplit(url.strip())
        if parts.scheme not in WEBHOOK_SCHEMES:
            raise WebhookRefused(f"a webhook is an http:// or https:// URL, not {redact(url)!r}")
        try:
            checked = self._policy.check(url.strip())
        except SourceRefused as exc:
            raise WebhookRefused(str(exc).replace("pull policy", "webhook policy")
                                 .replace("VQSEG_PULL_SOURCES", "VQSEG_WEBHOOK_HOSTS")
                                 .replace(" sources", " webhooks")) from None
        host = parts.hostname or ""
        netloc_host = f"[{host}]" if ":" in host else host
        return checked.target, netloc_host + (f":{parts.port}" if parts.port else ""), host


class WebhookSink(QueuedSink):
    name = "webhook"

    def __init__(
        self, policy: WebhookPolicy, urls: tuple[str, ...], metrics: EventMetrics, queue_size: int = 256,
        timeout: float = 5.0, retries: int = 3, backoff: tuple[float, float] = (0.5, 8.0), secret: str | None = None,
    ) -> None:
        super().__init__(metrics, queue_size)
        self.policy = policy
        self.urls = urls
        self.retries = retries
        self.backoff = backoff
        self._secret = secret.encode() if secret else None
        self._client = httpx.Client(timeout=timeout, follow_redirects=False, trust_env=False)
        self._waiting = threading.Event()  # set by stop(): back-off waits end at once

    def stop(self, timeout: float = 5.0) -> None:
        self._waiting.set()
        super().stop(timeout)

    def send(self, event: Event) -> bool:
        delivered = True
        for url in dict.fromkeys((*self.urls, *event.webhooks)):
            delivered = self._post(url, event) and delivered
        return delivered

    def _post(self, url: str, event: Event) -> bool:
        body = event.text.encode()
        headers = {"Content-Type": "application/json", "User-Agent": "vqseg-events"}
        if self._secret is not None:
            headers["X-Vqseg-Signature"] = "sha256=" + hmac.new(self._secret, body, hashlib.sha256).hexdigest()
        delay = self.backoff[0]
        for attempt in range(self.retries + 1):
            if attempt:
                if self._waiting.wait(delay):
                    return False
                delay = min(delay * 2, self.backoff[1])
            try:  # checked again on every try: the name may resolve elsewhere by now
                target, host, server_name = self.policy.check(url)
            except WebhookRefused as exc:
                log.warning("webhook %s refused: %s", redact(url), exc)
                return False
            extensions = {"sni_hostname": server_name} if target.startswith("https:") else {}
            try:
                response = self._client.post(target, content=body, headers={**headers, "Host": host},
                                             extensions=extensions)
            except httpx.HTTPError as exc:
                log.info("webhook %s: %s (try %d)", redact(url), type(exc).__name__, attempt + 1)
                continue
            if response.status_code < 300:
                return True
            if response.status_code < 500 and response.status_code != 429:
                log.warning("webhook %s answered %d; not retried", redact(url), response.status_code)
                return False
        return False

    def close(self) -> None:
        self._client.close()
