"""What travels between the event loop and the inference worker: a frame job and its result.

A job is the engine's input (``StreamFrame``), how the client wants its answer (``ReplySpec``), the
stream control that travels with the frame (config changes, reset, newest-frame-wins) and the
worker's bookkeeping (future, arrival times, scheduling lane).
"""

from __future__ import annotations

import itertools
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from streaming import Mode, StreamFrame

_stateless_ids = itertools.count()


@dataclass(eq=False)
class FrameResult:
    """A processed frame: JSON ``text`` (or ``png`` for ``format=png``) plus what metrics need."""

    stream_id: str | None
    mode: Mode
    frame_index: int
    mean_uncertainty: float
    low_confidence: float
    timing_ms: dict[str, float]
    text: str | None = None
    png: bytes | None = None
    data: bytes | None = None  # the protocol-2 binary result frame
    frame_b64: str | None = None  # the frame as JPEG, for subscribers that asked for it


@dataclass(frozen=True)
class ReplySpec:
    """The shape of a frame's answer: ``maps`` besides entropy; ``fmt`` json | binary (protocol 2) |
    png (overlay for people) | none (summary only); for binary the maps' ``size`` (network | frame,
    within max_output_pixels) and ``map_dtype`` (float16 | uint8), and ``also_json`` when watchers
    want protocol 1's JSON of the frame too; ``include_frame``: watchers want the frame as JPEG."""

    maps: tuple[str, ...] = ()
    fmt: str = "json"
    size: str = "network"
    map_dtype: str = "float16"
    also_json: bool = False
    include_frame: bool = False


@dataclass(eq=False)
class FrameJob:
    """One decoded frame waiting for the worker.

    ``changes`` are config changes applied to the frame's stream (in order) just before it runs, and
    ``reset`` empties the stream's buffer first; ``droppable`` frames are replaced by a newer frame of
    the same stream while they wait. The future resolves to a ``FrameResult``, to None when the frame
    was dropped, or to an exception.
    """

    frame: StreamFrame
    reply: ReplySpec
    received: float  # perf_counter() at arrival
    changes: dict[str, Any] = field(default_factory=dict)
    droppable: bool = False
    reset: bool = False
    decode_ms: float = 0.0
    key: str = ""
    future: Future[FrameResult | None] = field(default_factory=Future)
    enqueued: float = 0.0

    def __post_init__(self) -> None:
        if not self.key:
            session = self.frame.session
            self.key = session.stream_id if session is not None else f"~{next(_stateless_ids)}"

    def absorb(self, older: FrameJob) -> None:
        """Take over what a dropped older frame of the same stream carried (its config changes, reset)."""
        self.changes = {**older.changes, **self.changes}
        self.reset = self.reset or older.reset
