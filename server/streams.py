"""The one registry of live streams: each stream's session (its ring buffer on the device), who feeds
it (push clients or a pulled source), its watchers and its latest uncertainty summary. At most
``max_streams`` live at once; push streams idle longer than ``idle_timeout`` are evicted. Lives on
the event loop (``buffer_bytes`` may be read from the worker thread).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import torch

from server.errors import Forbidden, InvalidParameters, KeyStreamLimit, StreamExists
from server.fanout import End, Fanout
from server.jobs import FrameResult
from server.metrics import StreamGauge
from server.params import config_dict
from server.source_policy import redact
from streaming import StreamConfig, StreamSession, TooManyStreamsError, UnknownStreamError, validate_stream_id

log = logging.getLogger(__name__)

Kind = Literal["push", "pull"]


class Closable(Protocol):
    def request_close(self, code: int, reason: str) -> None: ...


class Ingest(Protocol):
    state: str
    error: str | None

    def stop(self) -> None: ...

    def join(self, timeout: float) -> bool: ...

    @property
    def running(self) -> bool: ...


@dataclass(eq=False)
class StreamEntry:
    stream_id: str
    session: StreamSession
    kind: Kind
    owner: int | None
    hub: Fanout
    source: str | None = None
    ingest: Ingest | None = None
    connections: set[Closable] = field(default_factory=set)
    rest_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    mean_uncertainty: float | None = None
    low_confidence: float | None = None

    @property
    def state(self) -> str:
        return self.ingest.state if self.ingest is not None else "active"

    def info(self) -> dict[str, Any]:
        s = self.session
        out: dict[str, Any] = {
            "stream_id": self.stream_id,
            "kind": self.kind,
            "source": redact(self.source) if self.source is not None else None,
            "state": self.state,
            "config": config_dict(s.config),
            "frames": s.stats.frames,
            "dropped": s.stats.dropped,
            "resets": s.stats.resets,
            "buffer_len": s.buffer_len,
            "buffer_bytes": s.buffer_bytes,
            "idle_seconds": round(s.idle_seconds(), 3),
            "created_at": s.stats.created_at,
            "connections": len(self.connections),
            "subscribers": len(self.hub),
            "summary": None
            if self.mean_uncertainty is None
            else {"mean_uncertainty": self.mean_uncertainty, "low_confidence": self.low_confidence},
        }
        if self.ingest is not None and self.ingest.error:
            out["error"] = self.ingest.error
        return out


def check_owner(entry: StreamEntry, owner: int | None) -> None:
    """403 when ``owner`` (the presented key's index) is not the key that created the stream.

    With no key or a single key configured every caller is the same owner, so this never refuses.
    """
    if entry.owner is not None and owner is not None and entry.owner != owner:
        raise Forbidden(f"stream {entry.stream_id!r} belongs to another API key")


@dataclass(frozen=True)
class SessionShape:
    """What a new stream's session is made with: the model's classes and output size, its device."""

    num_classes: int
    size: tuple[int, int]
    device: torch.device


class StreamDirectory:
    def __init__(
        self,
        shape: SessionShape,
        default_config: StreamConfig,
        max_streams: int = 64,
        idle_timeout: float = 300.0,
        subscriber_queue: int = 8,
        max_per_key: int = 0,
        on_subscriber_drop: Callable[[int], None] | None = None,
        check_config: Callable[[StreamConfig], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.shape = shape
        self.default_config = default_config
        self.max_streams = max_streams
        self.idle_timeout = idle_timeout
        self.subscriber_queue = subscriber_queue
        self.max_per_key = max_per_key
        self._on_drop = on_subscriber_drop
        self._check_config = check_config
        self._clock = clock
        self._entries: dict[str, StreamEntry] = {}
        self.evicted = 0

    def __len__(self) -> int:
        return len(self._entries)

    def entries(self) -> list[StreamEntry]:
        return [self._entries[k] for k in sorted(self._entries)]

    def get(self, stream_id: str) -> StreamEntry:
        try:
            return self._entries[stream_id]
        except KeyError:
            raise UnknownStreamError(stream_id) from None

    def find(self, stream_id: str) -> StreamEntry | None:
        return self._entries.get(stream_id)

    def open(
        self,
        stream_id: str,
        kind: Kind,
        owner: int | None,
        changes: dict[str, Any] | None = None,
        exclusive: bool = False,
    ) -> tuple[StreamEntry, bool]:
        """The stream's entry, created with the default config plus ``changes`` if it is new.

        ``exclusive``: an existing stream is an error (409). Raises ``TooManyStreamsError`` (503) at
        ``max_streams``, ``KeyStreamLimit`` (429) at ``max_streams_per_key`` and 422 for a bad id.
        """
        entry = self._entries.get(stream_id)
        if entry is not None:
            if exclusive:
                raise StreamExists(f"stream {stream_id!r} already exists")
            check_owner(entry, owner)
            return entry, False
        try:
            validate_stream_id(stream_id)
        except ValueError as exc:
            raise InvalidParameters(str(exc)) from None
        if len(self._entries) >= self.max_streams:
            raise TooManyStreamsError(
                f"stream limit reached ({self.max_streams} live streams); close one or retry later"
            )
        if self.max_per_key and owner is not None:
            owned = sum(1 for e in self._entries.values() if e.owner == owner)
            if owned >= self.max_per_key:
                raise KeyStreamLimit(f"this API key already has {owned} streams (max_streams_per_key)")
        config = dataclasses.replace(self.default_config, **changes) if changes else self.default_config
        if self._check_config is not None:  # max_samples and the buffer budget
            self._check_config(config)
        shape = self.shape
        session = StreamSession(stream_id, config, shape.num_classes, shape.size, shape.device)
        entry = StreamEntry(stream_id, session, kind, owner, Fanout(self.subscriber_queue, self._on_drop))
        self._entries[stream_id] = entry
        return entry, True

    def remove(self, stream_id: str, reason: str = "stream deleted") -> StreamEntry:
        """Forget the stream: free its session, stop its source, end its watchers and close its sockets."""
        entry = self.get(stream_id)
        self._forget(entry, reason)
        return entry

    def _forget(self, entry: StreamEntry, reason: str) -> None:
        self._entries.pop(entry.stream_id, None)
        if entry.ingest is not None:
            entry.ingest.stop()
        entry.hub.close(End(reason))
        for conn in list(entry.connections):
            conn.request_close(1000, reason)

    def evict_idle(self, now: float | None = None) -> list[str]:
        """Remove push streams idle past the timeout that no open WebSocket feeds, and finished pulls."""
        now = self._clock() if now is None else now
        evicted = [
            e.stream_id for e in list(self._entries.values())
            if e.session.idle_seconds(now) > self.idle_timeout
            and not (e.connections or (e.ingest is not None and e.ingest.running))
        ]
        for stream_id in evicted:
            self._forget(self._entries[stream_id], "idle timeout")
        self.evicted += len(evicted)
        if evicted:
            log.info("evicted %d idle stream(s): %s", len(evicted), ", ".join(evicted))
        return evicted

    def buffer_bytes(self) -> int:
        """All streams' ring buffers (a snapshot: the worker thread reads it for the memory budget)."""
        return sum(e.session.buffer_bytes for e in list(self._entries.values()))

    def deliver(self, result: FrameResult) -> None:
        """A processed frame of a stream: remember its summary and send it to the watchers."""
        if result.stream_id is None:
            return
        entry = self._entries.get(result.stream_id)
        if entry is None:
            return
        entry.mean_uncertainty = result.mean_uncertainty
        entry.low_confidence = result.low_confidence
        entry.hub.publish(result)

    def gauges(self) -> list[StreamGauge]:
        return [
            StreamGauge(e.stream_id, e.session.stats.frames, e.mean_uncertainty, e.low_confidence)
            for e in self._entries.values()
        ]

    def subscriber_count(self) -> int:
        return sum(len(e.hub) for e in self._entries.values())

    def close_all(self, code: int, reason: str) -> None:
        for entry in self._entries.values():
            if entry.ingest is not None:
                entry.ingest.stop()
            for conn in list(entry.connections):
                conn.request_close(code, reason)
            entry.hub.close(End(reason, code))

