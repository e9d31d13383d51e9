"""JSON on the WebSocket wire: strict in both directions.

Python's ``json`` accepts and writes ``NaN``/``Infinity`` (not JSON) and raises ``RecursionError`` on
deeply nested input. ``loads`` refuses both (a ``ValueError``, answered as a malformed message), with
a nesting limit checked before parsing; ``dumps`` never writes a non-finite number (they become null).
"""

from __future__ import annotations

import json
import math
from typing import Any

MAX_DEPTH = 32
MAX_CONTROL_BYTES = 64 * 1024  # a control message (config, ping, ...) is a few hundred bytes
MAX_ID_CHARS = 128  # a ping's ``id`` is echoed in the pong: a number or a short string


def control_too_big(text: str) -> bool:
    """A text message over ``MAX_CONTROL_BYTES`` is refused before it is parsed (close 1009)."""
    return len(text) > MAX_CONTROL_BYTES


def echo_id(value: Any) -> Any:
    """A ping's ``id`` as the pong echoes it; ValueError unless a finite number, a short string or null."""
    if value is None or isinstance(value, bool | int) or (isinstance(value, float) and math.isfinite(value)):
        return value
    if isinstance(value, str) and len(value) <= MAX_ID_CHARS:
        return value
    raise ValueError(f"a ping's 'id' is a number or a string of at most {MAX_ID_CHARS} characters")


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def check_depth(text: str) -> None:
    """ValueError when ``text``'s brackets (outside strings) nest deeper than ``MAX_DEPTH``."""
    depth = deepest = 0
    in_string = escaped = False
    for ch in text:  # bracket depth outside strings, before the recursive parser sees it
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
            if deepest > MAX_DEPTH:
                raise ValueError(f"JSON nested deeper than {MAX_DEPTH} levels")
        elif ch in "]}":
            depth -= 1


def loads(text: str) -> Any:
    check_depth(text)
    try:
        return json.loads(text, parse_constant=_no_constants)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def dumps(value: Any) -> str:
    try:
        return json.dumps(value, allow_nan=False)
    except ValueError:
        return json.dumps(_finite(value), allow_nan=False)
