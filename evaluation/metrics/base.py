"""Common shape of the streaming pixel metrics: ``update(probs, target)`` / ``compute()`` / ``reset()``.

State lives on the device of the first update (allocated lazily), so accumulating over millions of
pixels never copies per-frame data to the host; ``compute()`` is the only place values are read back.
Sums are kept in float64 and counts in int64 (CUDA and CPU; float64 is unavailable on MPS).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

import torch
from torch import Tensor

from evaluation.metrics.pixels import IGNORE_INDEX, PixelBatch, check_out_of_range


class PixelMetric(ABC):
    """Base class. Subclasses implement ``_allocate``, ``update_batch`` and ``compute``."""

    def __init__(self, ignore_index: int = IGNORE_INDEX) -> None:
        self.ignore_index = ignore_index
        self._device: torch.device | None = None
        self._num_classes: int | None = None
        self._out_of_range: Tensor | None = None

    def update(self, probs: Tensor, target: Tensor) -> None:
        """Accumulate one frame or a batch of frames.

        Args:
            probs: ``(C, H, W)`` or ``(B, C, H, W)`` predictive distribution (already averaged over
                samples/frames).
            target: ``(H, W)`` or ``(B, H, W)`` integer labels; ``ignore_index`` pixels are excluded.
        """
        batch = PixelBatch.from_tensors(probs, target, self.ignore_index)
        self.update_batch(batch)
        assert self._out_of_range is not None
        self._out_of_range += batch.n_out_of_range

    def update_batch(self, batch: PixelBatch) -> None:
        """Accumulate an already prepared batch (the aggregate shares one batch among metrics)."""
        self._ensure_state(batch)
        self._accumulate(batch)

    @abstractmethod
    def compute(self) -> Any:
        """Read the accumulated result back (float or small host structure)."""

    def reset(self) -> None:
        """Forget everything accumulated; the next update may use another device."""
        self._device = None
        self._num_classes = None
        self._out_of_range = None

    @property
    def is_empty(self) -> bool:
        return self._device is None

    @abstractmethod
    def _allocate(self, device: torch.device, num_classes: int) -> None:
        """Create zeroed state tensors on ``device``."""

    @abstractmethod
    def _accumulate(self, batch: PixelBatch) -> None:
        """Add ``batch`` to the state (device-side only)."""

    def _ensure_state(self, batch: PixelBatch) -> None:
        if self._device is None:
            self._device = batch.device
            self._num_classes = batch.num_classes
            self._out_of_range = torch.zeros((), dtype=torch.int64, device=batch.device)
            self._allocate(batch.device, batch.num_classes)
            return
        if batch.device != self._device:
            raise ValueError(f"{type(self).__name__} accumulates on {self._device}, got {batch.device}")
        if batch.num_classes != self._num_classes:
            name = type(self).__name__
            raise ValueError(f"{name} started with {self._num_classes} classes, got {batch.num_classes}")

    def _check_labels(self) -> None:
        check_out_of_range(self._out_of_range)


def ratio(numerator: Tensor, denominator: Tensor) -> float:
    """``numerator / denominator`` as a Python float, NaN when the denominator is 0."""
    den = float(denominator.item())
    return float(numerator.item()) / den if den > 0 else float("nan")
