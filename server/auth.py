"""API keys: ``X-API-Key`` header (or ``Authorization: Bearer``; WebSockets also ``?key=``).

Keys are compared with ``hmac.compare_digest`` against every configured key, and never logged.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping, Sequence

from server.errors import Unauthorized


def presented_key(headers: Mapping[str, str], query: Mapping[str, str] | None = None) -> str | None:
    key = headers.get("x-api-key")
    if key is None:
        auth = headers.get("authorization", "")
        if auth[:7].lower() == "bearer ":
            key = auth[7:].strip()
    if key is None and query is not None:
        key = query.get("key")
    return key


def check_key(keys: Sequence[str], presented: str | None) -> int | None:
    """Which configured key was presented (its index), None when no key is configured; else 401."""
    if not keys:
        return None
    if presented is None:
        raise Unauthorized("this server needs an API key: send the X-API-Key header")
    given = presented.encode()
    match: int | None = None
    for index, key in enumerate(keys):
        if hmac.compare_digest(given, key.encode()) and match is None:
            match = index
    if match is None:
        raise Unauthorized("wrong API key")
    return match
