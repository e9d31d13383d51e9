"""What travels between the event loop and the inference worker: a frame job and its result."""

from __future__ import annotations

import itertools
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from streaming import Mode, StreamConfig, StreamSession

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


@dataclass(eq=False)
class FrameJob:
    """One decoded frame waiting for the worker.

    ``session`` is None for the stateless ``/v1/segment`` (then ``config`` gives mode and samples);
    ``changes`` are config changes applied to the session (in order) just before this frame runs;
    ``droppable`` frames are replaced by a newer frame of the same stream while they wait.
    The future resolves to a ``FrameResult``, to None when the frame was dropped, or to an exception.
    """

    image: np.ndarray
    timestamp: float
    received: float  # perf_counter() at arrival
    session: StreamSession | None = None
    config: StreamConfig | None = None
    changes: dict[str, Any] = field(default_factory=dict)
    maps: tuple[str, ...] = ()
    fmt: str = "json"  # json | binary (protocol 2) | png (overlay for people) | none (summary only)
    size: str = "network"  # binary: network | frame (json: always the frame's), within max_output_pixels
    map_dtype: str = "float16"  # binary: float16 | uint8
    also_json: bool = False  # binary: watchers want the protocol-1 JSON of this frame too
    droppable: bool = False
    reset: bool = False
    include_frame: bool = False
    decode_ms: float = 0.0
    future: Future[FrameResult | None] = field(default_factory=Future)
    enqueued: float = 0.0
    key: str = ""

    def __post_init__(self) -> None:
        if not self.key:
            self.key = self.session.stream_id if self.session is not None else f"~{next(_stateless_ids)}"

    def absorb(self, older: FrameJob) -> None:
        """Take over what a dropped older frame of the same stream carried (its config changes, reset)."""
        self.changes = {**older.changes, **self.changes}
        self.reset = self.reset or older.reset
