"""Bounds on what frames may hold in memory and on the worker's queue before they are decoded.

``ByteBudget`` counts the bytes of every decoded frame alive in the server (REST, WebSocket and
pulled frames): a frame is reserved from its header's declared size *before* it is decoded and
released when its pixel array is freed (a ``weakref.finalize`` on the array), so the budget follows
the memory itself, whichever path drops the last reference. Past the budget a frame is refused with
503 ``overloaded``. ``Admission`` admits a REST frame before its body is read or decoded: refused when
the worker's queue is full, when ``queue_size`` REST frames are already in flight (read, decoded,
queued or running), or when its stream already has ``max_rest_per_stream`` in flight.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import numpy as np

from server.errors import Overloaded


class ByteBudget:
    """At most ``limit`` bytes reserved at once (thread-safe)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0
        self.peak = 0
        self.refused = 0
        self._lock = threading.Lock()

    def reserve(self, nbytes: int, what: str = "frame") -> None:
        with self._lock:
            if self.used + nbytes > self.limit:
                self.refused += 1
                raise Overloaded(
                    f"{what} needs {nbytes} bytes of frame memory and {self.limit - self.used} of "
                    f"{self.limit} are free (max_decoded_bytes); retry later"
                )
            self.used += nbytes
            self.peak = max(self.peak, self.used)

    def release(self, nbytes: int) -> None:
        with self._lock:
            self.used = max(0, self.used - nbytes)

    def hold(self, image: np.ndarray, reserved: int | None = None) -> np.ndarray:
        """Tie a reservation to ``image``: it is released when the array is freed.

        ``reserved`` is what was reserved already for it (default: reserve ``image.nbytes`` now).
        """
        nbytes = int(image.nbytes)
        if reserved is None:
            self.reserve(nbytes)
        elif reserved != nbytes:  # the header promised another size (e.g. an EXIF rotation keeps it)
            self.release(reserved)
            with self._lock:
                self.used += nbytes
                self.peak = max(self.peak, self.used)
        weakref.finalize(image, self.release, nbytes)
        return image


class Admission:
    """REST frames reserved against the worker's queue before they are read and decoded."""

    def __init__(self, queue_size: int, per_stream: int, depth: Callable[[], int]) -> None:
        self.queue_size = queue_size
        self.per_stream = per_stream
        self._depth = depth
        self._admitted = 0
        self._by_stream: dict[str, int] = {}
        self._lock = threading.Lock()

    @property
    def admitted(self) -> int:
        return self._admitted

    @contextmanager
    def admit(self, stream_id: str | None) -> Iterator[None]:
        """Reserve a queue place (and a place of ``stream_id``'s REST frames) for one request."""
        with self._lock:
            if self._admitted >= self.queue_size or self._depth() >= self.queue_size:
                raise Overloaded(f"inference queue full ({self.queue_size} frames waiting or arriving); retry later")
            if stream_id is not None and self._by_stream.get(stream_id, 0) >= self.per_stream:
                raise Overloaded(
                    f"stream {stream_id!r} already has {self.per_stream} frame requests in flight "
                    f"(max_rest_per_stream); send the next one after an answer"
                )
            self._admitted += 1
            if stream_id is not None:
                self._by_stream[stream_id] = self._by_stream.get(stream_id, 0) + 1
        try:
            yield
        finally:
            with self._lock:
                self._admitted -= 1
                if stream_id is not None:
                    left = self._by_stream.get(stream_id, 1) - 1
                    if left:
                        self._by_stream[stream_id] = left
                    else:
                        self._by_stream.pop(stream_id, None)
