"""Temporal flicker: how often the predicted label changes where the true label does not.

``flicker = #{pixels with pred_t != pred_{t-1} and target_t == target_{t-1}}
           / #{pixels with target_t == target_{t-1}}``, over consecutive frame pairs of the same
sequence, excluding pixels ignored in either frame. Call ``reset_sequence()`` at a sequence boundary
so no pair spans two sequences. ``nan`` when no stable pixel has been seen.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from evaluation.metrics.pixels import IGNORE_INDEX


class Flicker:
    """Streaming flicker rate; the frames of one ``update`` are consecutive frames of one sequence."""

    def __init__(self, ignore_index: int = IGNORE_INDEX) -> None:
        self.ignore_index = ignore_index
        self._counts: Tensor | None = None  # [stable pixels, stable pixels whose prediction changed]
        self._previous: tuple[Tensor, Tensor, Tensor] | None = None  # (pred, target, valid), (N,)
        self._shape: tuple[int, ...] | None = None

    def update(self, prediction: Tensor, target: Tensor) -> None:
        """Add frames in time order.

        Args:
            prediction: ``(H, W)`` or ``(T, H, W)`` integer predicted labels (argmax of the probs).
            target: same shape, integer true labels; ``ignore_index`` pixels are excluded.
        """
        if prediction.shape != target.shape or prediction.dim() not in (2, 3):
            raise ValueError(
                f"prediction {tuple(prediction.shape)} and target {tuple(target.shape)} must both be "
                "(H, W) or (T, H, W)"
            )
        frames = prediction.reshape(-1, *prediction.shape[-2:])
        labels = target.reshape(frames.shape).long()
        self.update_flat(
            frames.flatten(1).long(),
            labels.flatten(1),
            labels.flatten(1) != self.ignore_index,
            tuple(frames.shape[-2:]),
        )

    def update_flat(self, prediction: Tensor, target: Tensor, valid: Tensor, shape: tuple[int, ...]) -> None:
        """Low-level form: ``(T, N)`` int64 prediction and target, ``(T, N)`` bool valid mask.

        ``shape`` is the frames' spatial shape; it must stay the same within a sequence.
        """
        if self._previous is not None and shape != self._shape:
            raise ValueError(
                f"frame shape changed from {self._shape} to {shape} within a sequence; "
                "call reset_sequence() between sequences"
            )
        if self._counts is None:
            self._counts = torch.zeros(2, dtype=torch.int64, device=prediction.device)
        self._shape = shape
        if self._previous is not None:
            prev_pred, prev_target, prev_valid = self._previous
            prediction = torch.cat([prev_pred[None], prediction])
            target = torch.cat([prev_target[None], target])
            valid = torch.cat([prev_valid[None], valid])
        # Copies: the caller may reuse its buffers, and a view would pin the whole batch.
        self._previous = (prediction[-1].clone(), target[-1].clone(), valid[-1].clone())
        if prediction.shape[0] < 2:
            return
        stable = valid[1:] & valid[:-1] & (target[1:] == target[:-1])
        changed = stable & (prediction[1:] != prediction[:-1])
        self._counts += torch.stack([stable.sum(), changed.sum()])

    def reset_sequence(self) -> None:
        """Start a new sequence: the next frame is not compared with the last one."""
        self._previous = None
        self._shape = None

    def compute(self) -> float:
        if self._counts is None:
            return math.nan
        stable, changed = (int(v) for v in self._counts.cpu())
        return changed / stable if stable else math.nan

    def reset(self) -> None:
        self.reset_sequence()
        self._counts = None
