"""The bounded set of live stream sessions, with idle eviction."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable

import torch

from streaming.errors import TooManyStreamsError, UnknownStreamError
from streaming.modes import StreamConfig
from streaming.session import StreamSession

STREAM_ID_PATTERN = re.compile(r"^[A-Za-z0-9._-]{1,128}$")


def validate_stream_id(stream_id: str) -> str:
    """Stream ids are 1-128 characters of ``A-Z a-z 0-9 . _ -`` (no path tricks)."""
    if not STREAM_ID_PATTERN.fullmatch(stream_id) or stream_id in {".", ".."}:
        raise ValueError("stream id must match [A-Za-z0-9._-]{1,128} and not be '.' or '..'")
    return stream_id


class SessionRegistry:
    """Creates, finds and evicts sessions; at most ``max_streams`` live at once. Thread-safe."""

    def __init__(
        self,
        num_classes: int,
        size: tuple[int, int],
        device: torch.device,
        max_streams: int = 64,
        idle_timeout: float = 300.0,
        default_config: StreamConfig | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.num_classes = num_classes
        self.size = size
        self.device = device
        self.max_streams = max_streams
        self.idle_timeout = idle_timeout
        self.default_config = default_config or StreamConfig()
        self._clock = clock
        self._sessions: dict[str, StreamSession] = {}
        self._lock = threading.Lock()
        self.evicted = 0

    def __len__(self) -> int:
        with self._lock:
            return len(self._sessions)

    def __contains__(self, stream_id: str) -> bool:
        with self._lock:
            return stream_id in self._sessions

    def ids(self) -> list[str]:
        with self._lock:
            return sorted(self._sessions)

    def get(self, stream_id: str) -> StreamSession:
        with self._lock:
            try:
                return self._sessions[stream_id]
            except KeyError:
                raise UnknownStreamError(stream_id) from None

    def get_or_create(self, stream_id: str, config: StreamConfig | None = None) -> tuple[StreamSession, bool]:
        """The session for ``stream_id``, creating it (with ``config`` or the default) if absent."""
        validate_stream_id(stream_id)
        with self._lock:
            session = self._sessions.get(stream_id)
            if session is not None:
                return session, False
            if len(self._sessions) >= self.max_streams:
                raise TooManyStreamsError(
                    f"stream limit reached ({self.max_streams} live streams); close one or retry later"
                )
            session = StreamSession(
                stream_id, config or self.default_config, self.num_classes, self.size, self.device
            )
            self._sessions[stream_id] = session
            return session, True

    def remove(self, stream_id: str) -> StreamSession:
        with self._lock:
            try:
                return self._sessions.pop(stream_id)
            except KeyError:
                raise UnknownStreamError(stream_id) from None

    def evict_idle(self, now: float | None = None, keep: Callable[[str], bool] | None = None) -> list[str]:
        """Remove sessions idle longer than ``idle_timeout`` (unless ``keep(id)``); return their ids."""
        now = self._clock() if now is None else now
        with self._lock:
            stale = [
                sid
                for sid, s in self._sessions.items()
                if s.idle_seconds(now) > self.idle_timeout and not (keep and keep(sid))
            ]
            for sid in stale:
                del self._sessions[sid]
            self.evicted += len(stale)
            return stale

    def buffer_bytes(self) -> int:
        with self._lock:
            return sum(s.buffer_bytes for s in self._sessions.values())
