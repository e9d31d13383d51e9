"""The server's view of its streams: each session plus who feeds it (push clients or a pulled source),
its watchers, and its latest uncertainty summary. Lives on the event loop.

Sessions themselves (ring buffers on the device) live in ``streaming.SessionRegistry``; this directory
creates and removes them together with the rest, so the two never disagree.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from server.errors import Forbidden, InvalidParameters, KeyStreamLimit, StreamExists
from server.fanout import End, Fanout
from server.jobs import FrameResult
from server.metrics import StreamGauge
from server.params import config_dict
from server.source_policy import redact
from streaming import SessionRegistry, StreamConfig, StreamSession, UnknownStreamError

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


class StreamDirectory:
    def __init__(
        self,
        registry: SessionRegistry,
        subscriber_queue: int = 8,
        max_per_key: int = 0,
        on_subscriber_drop: Callable[[int], None] | None = None,
        check_config: Callable[[StreamConfig], None] | None = None,
    ) -> None:
        self.registry = registry
        self.subscriber_queue = subscriber_queue
        self.max_per_key = max_per_key
        self._on_drop = on_subscriber_drop
        self._check_config = check_config
        self._entries: dict[str, StreamEntry] = {}

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
        ``max_streams`` and ``KeyStreamLimit`` (429) at ``max_streams_per_key``.
        """
        entry = self._entries.get(stream_id)
        if entry is not None:
            if exclusive:
                raise StreamExists(f"stream {stream_id!r} already exists")
            check_owner(entry, owner)
            return entry, False
        if self.max_per_key and owner is not None:
            owned = sum(1 for e in self._entries.values() if e.owner == owner)
            if owned >= self.max_per_key:
                raise KeyStreamLimit(f"this API key already has {owned} streams (max_streams_per_key)")
        config = dataclasses.replace(self.registry.default_config, **changes) if changes else None
        if self._check_config is not None:  # max_samples and the buffer budget
            self._check_config(config or self.registry.default_config)
        try:
            session, _ = self.registry.get_or_create(stream_id, config)
        except ValueError as exc:  # an invalid stream id
            raise InvalidParameters(str(exc)) from None
        entry = StreamEntry(stream_id, session, kind, owner, Fanout(self.subscriber_queue, self._on_drop))
        self._entries[stream_id] = entry
        return entry, True

    def remove(self, stream_id: str, reason: str = "stream deleted") -> StreamEntry:
        """Forget the stream: free its session, stop its source, end its watchers and close its sockets."""
        entry = self.get(stream_id)
        self._forget(entry, reason)
        with contextlib.suppress(UnknownStreamError):
            self.registry.remove(stream_id)
        return entry

    def _forget(self, entry: StreamEntry, reason: str) -> None:
        self._entries.pop(entry.stream_id, None)
        if entry.ingest is not None:
            entry.ingest.stop()
        entry.hub.close(End(reason))
        for conn in list(entry.connections):
            conn.request_close(1000, reason)

    def evict_idle(self) -> list[str]:
        """Remove push streams idle past the timeout that no open WebSocket feeds, and finished pulls."""

        def keep(stream_id: str) -> bool:
            entry = self._entries.get(stream_id)
            if entry is None:
                return False
            return bool(entry.connections) or (entry.ingest is not None and entry.ingest.running)

        evicted = self.registry.evict_idle(keep=keep)
        for stream_id in evicted:
            entry = self._entries.get(stream_id)
            if entry is not None:
                self._forget(entry, "idle timeout")
        if evicted:
            log.info("evicted %d idle stream(s): %s", len(evicted), ", ".join(evicted))
        return evicted

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

    def ingests(self) -> list[Ingest]:
        return [e.ingest for e in self._entries.values() if e.ingest is not None]

    def close_all(self, code: int, reason: str) -> None:
        for entry in self._entries.values():
            if entry.ingest is not None:
                entry.ingest.stop()
            for conn in list(entry.connections):
                conn.request_close(code, reason)
            entry.hub.close(End(reason, code))

