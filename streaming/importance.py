"""Temporal importance of buffered predictions: pi_i ∝ exp(-(s_t - s_i) / tau).

Two clocks: ``seconds`` (capture timestamps, robust to dropped frames and varying frame rates) and
``frames`` (frame indices, the paper's form: tau = 1.25 frames gives weights ∝ exp(-0.8 * age)).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

import torch


class Clock(StrEnum):
    SECONDS = "seconds"
    FRAMES = "frames"


@dataclass(frozen=True)
class Importance:
    """Exponential decay with time constant ``tau`` measured on ``clock``."""

    tau: float
    clock: Clock = Clock.SECONDS

    def __post_init__(self) -> None:
        if not self.tau > 0:
            raise ValueError(f"tau must be > 0, got {self.tau}")

    def weights(self, ages: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
        """Normalised weights for buffer slots of the given ``ages`` (>= 0, on this clock).

        ``valid`` masks empty slots. The newest slot has age 0 and the largest weight; the weights of
        the valid slots sum to one (computed relative to the newest, so they never underflow to 0/0).
        """
        logits = torch.where(valid, -ages / self.tau, torch.full_like(ages, float("-inf")))
        return torch.softmax(logits, dim=0)


@dataclass
class LastFrame:
    """The capture time and index of the newest frame a smoother took (None before the first)."""

    time: float | None = None
    index: int | None = None

    def clear(self) -> None:
        self.time = None
        self.index = None

    def went_back(self, timestamp: float, frame_index: int) -> bool:
        """True when a frame is older than the last one: a different stream history, start over."""
        return self.time is not None and (timestamp < self.time or frame_index <= (self.index or 0))

    def set(self, timestamp: float, frame_index: int) -> None:
        self.time = timestamp
        self.index = frame_index

    def decay(self, timestamp: float, frame_index: int, importance: Importance) -> float:
        """``exp(-step / tau)`` from the last frame to this one on ``importance``'s clock."""
        assert self.time is not None and self.index is not None, "no previous frame"
        step = float(frame_index - self.index) if importance.clock is Clock.FRAMES else timestamp - self.time
        return math.exp(-step / importance.tau)
