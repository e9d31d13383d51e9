"""Setting a stream's watch rules (REST and WebSocket share this): validate, check webhooks, apply."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from server.errors import InvalidParameters, NotReady
from server.events.rules import WatchRule, parse_rules
from server.events.service import EventService
from server.events.webhooks import WebhookRefused
from streaming import StreamSession


def set_stream_rules(events: EventService, session: StreamSession, data: Any) -> tuple[WatchRule, ...]:
    """Replace the stream's rules with ``data`` (a list of rule objects); 422 on anything invalid,
    including a webhook the egress policy refuses (``VQSEG_WEBHOOK_HOSTS``). Blocking: resolves names."""
    if events.monitor is None:
        raise NotReady("the model is still loading")
    try:
        rules = parse_rules(data)
        for rule in rules:
            for url in rule.webhooks:
                events.policy.check(url)
        events.monitor.set_rules(session, rules)
    except ValidationError as exc:
        raise InvalidParameters(f"invalid rules: {_first_error(exc)}") from None
    except WebhookRefused as exc:
        raise InvalidParameters(f"webhook refused: {exc}") from None
    except ValueError as exc:
        raise InvalidParameters(f"invalid rules: {exc}") from None
    return rules


def rules_view(events: EventService, session: StreamSession) -> dict[str, Any]:
    if events.monitor is None:
        raise NotReady("the model is still loading")
    return {
        "stream_id": session.stream_id,
        "rules": [r.public() for r in events.monitor.rules_of(session)],
        "state": events.monitor.state_of(session),
    }


def _first_error(exc: ValidationError) -> str:
    error = exc.errors()[0]
    where = ".".join(str(p) for p in error.get("loc", ()))
    return f"{where}: {error.get('msg')}" if where else str(error.get("msg"))
