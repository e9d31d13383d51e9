"""Stream ids: what a stream may be called (the server's stream registry checks new ids with it)."""

from __future__ import annotations

import re

STREAM_ID_PATTERN = re.compile(r"^[A-Za-z0-9._-]{1,128}$")


def validate_stream_id(stream_id: str) -> str:
    """Stream ids are 1-128 characters of ``A-Z a-z 0-9 . _ -`` (no path tricks)."""
    if not STREAM_ID_PATTERN.fullmatch(stream_id) or stream_id in {".", ".."}:
        raise ValueError("stream id must match [A-Za-z0-9._-]{1,128} and not be '.' or '..'")
    return stream_id
