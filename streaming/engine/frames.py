"""What the engine takes and gives per frame: the frame, its work in progress, and its outcome."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from streaming.engine.accumulator import McAccumulator
from streaming.modes import StreamConfig
from streaming.session import StreamSession
from streaming.uncertainty import UncertaintyMaps


@dataclass(eq=False)
class StreamFrame:
    """One RGB uint8 frame captured at ``timestamp`` seconds, of ``session``'s stream; a frame without a
    stream (``session`` None: stateless dnn/bnn) carries its own ``config``."""

    image: np.ndarray
    timestamp: float
    session: StreamSession | None = None
    config: StreamConfig | None = None

    @property
    def settings(self) -> StreamConfig:
        """The settings this frame runs with: its stream's, or its own."""
        if self.session is not None:
            return self.session.config
        if self.config is None:
            raise ValueError("a frame without a stream needs its own config")
        return self.config


@dataclass(eq=False)
class FrameWork:
    """A frame inside the engine: its settings (fixed when it started), the MC samples it needs, the
    seed of its dropout masks (None: unseeded) and its samples so far."""

    frame: StreamFrame
    config: StreamConfig
    samples: int
    seed: int | None = None
    accumulator: McAccumulator = field(default_factory=McAccumulator)

    @property
    def left(self) -> int:
        return self.samples - self.accumulator.count


@dataclass
class FrameOutput:
    """A finished frame: its maps on the device (at the network's resolution), its index in the stream
    and how many predictions its blend held."""

    maps: UncertaintyMaps
    frame_index: int
    buffer_len: int


@dataclass
class StepResult:
    """What one engine step did to a frame: ``passes`` forward passes; ``output`` when it is finished,
    ``error`` when it failed (``failed_in``: forward or blend), neither when it has MC samples left
    (run it in a later step)."""

    passes: int = 0
    output: FrameOutput | None = None
    error: Exception | None = None
    failed_in: str = ""
    forward_ms: float = 0.0
    blend_ms: float = 0.0

    @property
    def pending(self) -> bool:
        return self.output is None and self.error is None
