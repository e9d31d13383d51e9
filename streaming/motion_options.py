"""Settings of motion-aware smoothing, and what it needs from a flow estimator."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from streaming.flow import FlowOptions, FrameMotion, GreyFrame


@dataclass(frozen=True)
class MotionOptions:
    """``similarity_sigma`` in normalised grey units (0 = no similarity weight); ``cut_threshold`` is the
    matched fraction of pixels below which the buffer resets (0 = never)."""

    flow: FlowOptions = field(default_factory=FlowOptions)
    similarity_sigma: float = 0.4
    cut_threshold: float = 0.3

    def __post_init__(self) -> None:
        if self.similarity_sigma < 0:
            raise ValueError(f"similarity_sigma must be >= 0, got {self.similarity_sigma}")
        if not 0 <= self.cut_threshold < 1:
            raise ValueError(f"cut_threshold must be in [0, 1), got {self.cut_threshold}")


class MotionEstimator(Protocol):
    """What the smoother needs from a flow estimator (``FlowEstimator``; tests pass exact fakes)."""

    def grey(self, image: np.ndarray) -> GreyFrame: ...

    def motion(self, previous: GreyFrame, current: GreyFrame) -> FrameMotion: ...
