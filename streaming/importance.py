"""Temporal importance of buffered predictions: pi_i ∝ exp(-(s_t - s_i) / tau).

Two clocks: ``seconds`` (capture timestamps, robust to dropped frames and varying frame rates) and
``frames`` (frame indices, the paper's form: tau = 1.25 frames gives weights ∝ exp(-0.8 * age)).
"""

from __future__ import annotations

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
