"""Fan-out of a stream's results to its watchers: one small queue each; slow watchers lose the oldest.

Lives on the event loop (not thread-safe): ``publish`` never blocks and never waits for a watcher.
What the queues hold counts against one ``QueuedBytes`` budget for all watchers (``max_watcher_bytes``):
a watcher that does not read loses its oldest results to make room, and a result that does not fit
even then is dropped for it, so watchers that never read cannot hold more than the budget together.
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


@dataclass
class QueuedBytes:
    """Bytes of results waiting in watchers' queues, all streams together."""

    limit: int = 256 * 1024 * 1024
    used: int = 0


def _size(item: str | End) -> int:
    return len(item) if isinstance(item, str) else 0


@dataclass(eq=False)
class Subscriber:
    want_frame: bool
    queue: asyncio.Queue[str | End] = field(default_factory=lambda: asyncio.Queue(8))
    dropped: int = 0
    budget: QueuedBytes = field(default_factory=QueuedBytes)

    def offer(self, item: str | End) -> bool:
        """Put without waiting; when full (or over the byte budget) the oldest items make room, and an
        item that still does not fit is dropped. True if something was dropped."""
        size, lost = _size(item), False
        while not self.queue.empty() and (self.queue.full() or self.budget.used + size > self.budget.limit):
            self._release(self.queue.get_nowait())
            self.dropped += 1
            lost = True
        if size and self.budget.used + size > self.budget.limit:
            self.dropped += 1
            return True
        self.queue.put_nowait(item)
        self.budget.used += size
        return lost

    async def get(self) -> str | End:
        item = await self.queue.get()
        self._release(item)
        return item

    def drain(self) -> None:
        """The watcher left: what it had queued no longer counts."""
        while not self.queue.empty():
            self._release(self.queue.get_nowait())

    def _release(self, item: str | End) -> None:
        self.budget.used = max(0, self.budget.used - _size(item))


class Fanout:
    def __init__(
        self, queue_size: int = 8, on_drop: Callable[[int], None] | None = None, budget: QueuedBytes | None = None
    ) -> None:
        self.queue_size = queue_size
        self.budget = budget or QueuedBytes()
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
        sub = Subscriber(want_frame, asyncio.Queue(self.queue_size), budget=self.budget)
        if self.ended is not None:
            sub.offer(self.ended)
        else:
            self._subscribers.add(sub)
            self._update_demand()
        return sub

    def unsubscribe(self, sub: Subscriber) -> None:
        self._subscribers.discard(sub)
        sub.drain()
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
