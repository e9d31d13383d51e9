"""Fan-out of a stream's results to its watchers: one small queue each; slow watchers lose the oldest.

Lives on the event loop (not thread-safe): ``publish`` never blocks and never waits for a watcher.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass, field

from server.encode import with_frame
from server.errors import PROTOCOL
from server.jobs import FrameResult


@dataclass(frozen=True)
class End:
    """The stream is over: the watcher gets an ``end`` message and a close with ``code``."""

    reason: str
    code: int = 1000

    def message(self) -> str:
        return json.dumps({"type": "end", "protocol": PROTOCOL, "reason": self.reason})


@dataclass(eq=False)
class Subscriber:
    want_frame: bool
    queue: asyncio.Queue[str | End] = field(default_factory=lambda: asyncio.Queue(8))
    dropped: int = 0

    def offer(self, item: str | End) -> bool:
        """Put without waiting; when full, the oldest item makes room. True if something was dropped."""
        lost = False
        while True:
            try:
                self.queue.put_nowait(item)
                return lost
            except asyncio.QueueFull:
                try:
                    self.queue.get_nowait()
                    self.dropped += 1
                    lost = True
                except asyncio.QueueEmpty:
                    pass


class Fanout:
    def __init__(self, queue_size: int = 8, on_drop: Callable[[int], None] | None = None) -> None:
        self.queue_size = queue_size
        self._subscribers: set[Subscriber] = set()
        self._on_drop = on_drop
        self.ended: End | None = None
        self.demand = "none"  # what the watchers need: none | json | json+frame (read from other threads)

    def __len__(self) -> int:
        return len(self._subscribers)

    @property
    def wants_frame(self) -> bool:
        return any(s.want_frame for s in self._subscribers)

    def subscribe(self, want_frame: bool = False) -> Subscriber:
        sub = Subscriber(want_frame, asyncio.Queue(self.queue_size))
        if self.ended is not None:
            sub.offer(self.ended)
        else:
            self._subscribers.add(sub)
            self._update_demand()
        return sub

    def unsubscribe(self, sub: Subscriber) -> None:
        self._subscribers.discard(sub)
        self._update_demand()

    def _update_demand(self) -> None:
        if not self._subscribers:
            self.demand = "none"
        else:
            self.demand = "json+frame" if self.wants_frame else "json"

    def publish(self, result: FrameResult) -> None:
        if result.text is None or not self._subscribers:
            return
        framed = with_frame(result.text, result.frame_b64) if result.frame_b64 else result.text
        for sub in list(self._subscribers):
            if sub.offer(framed if sub.want_frame else result.text) and self._on_drop is not None:
                self._on_drop(1)

    def publish_text(self, text: str) -> None:
        """A message for every watcher (e.g. a watch-rule event); slow watchers lose their oldest."""
        for sub in list(self._subscribers):
            if sub.offer(text) and self._on_drop is not None:
                self._on_drop(1)

    def close(self, end: End) -> None:
        """Tell every watcher the stream ended; later subscribers get the same ``end`` at once."""
        self.ended = end
        for sub in list(self._subscribers):
            sub.offer(end)
        self._subscribers.clear()
        self._update_demand()
