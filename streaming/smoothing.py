"""VQ-BNN temporal smoothing: P_t = Σ pi_i p_i / Σ pi_i over a stream's recent predictions.

Probabilities are blended, never logits, at the network's output resolution. Beside the mean the
smoother blends each member's entropy, so the expected entropy (and with it the mutual information)
costs no extra pass over the members.

Two forms:
- windowed (``capacity`` = K >= 1): a ring buffer of the last K predictions, exact weights over the
  window, reads K·C·h·w values per frame;
- incremental (``capacity`` = 0): the unbounded exponential sum kept as a running state,
  M_t = p_t + d·M_{t-1} with d = exp(-(s_t - s_{t-1}) / tau), reading C·h·w values per frame.

Every smoother (this one, and the motion-aware ``MotionSmoother`` and ``RunningMotionSmoother``)
has the interface ``Smoother``: ``push`` a frame's prediction (and its image: only motion-aware ones
look at it) and get its maps, ``reset``, ``len``, ``nbytes``, ``importance`` and ``last_cut``.

Both forms blend in place: the blended distribution and the entropy's work space are allocated once (on
the first push, on the thread that pushes), so a frame allocates nothing of size C·h·w. The maps a
push returns hold the blended distribution in that buffer: it is valid until the next push.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
import torch

from streaming.importance import Clock, Importance, LastFrame
from streaming.ring_buffer import PredictionBuffer
from streaming.uncertainty import UncertaintyMaps, entropy, uncertainty_maps


class Smoother(Protocol):
    """One stream's blend over time (plain, motion-aware windowed, motion-aware incremental)."""

    importance: Importance
    last_cut: bool  # the last push found a scene cut and started over (motion-aware smoothing only)

    def __len__(self) -> int: ...

    @property
    def nbytes(self) -> int: ...

    def reset(self) -> None: ...

    def push(
        self, probs: torch.Tensor, timestamp: float, frame_index: int, member_entropy: torch.Tensor | None = None,
        image: np.ndarray | None = None,
    ) -> UncertaintyMaps: ...


class TemporalSmoother:
    """Blends each new prediction with the stream's buffered ones; all tensors stay on ``device``."""

    def __init__(
        self,
        capacity: int,
        num_classes: int,
        size: tuple[int, int],
        importance: Importance,
        device: torch.device,
        dtype: torch.dtype = torch.float32,
    ) -> None:
        if capacity < 0:
            raise ValueError(f"capacity must be >= 0 (0 = incremental), got {capacity}")
        self.importance = importance
        self.capacity = capacity
        self.device = device
        self._buffer = (
            PredictionBuffer(capacity, num_classes, size, device, dtype) if capacity > 0 else None
        )
        if self._buffer is None:
            self._sum_probs = torch.empty((num_classes, *size), device=device, dtype=torch.float32)
            self._sum_entropy = torch.empty(size, device=device, dtype=torch.float32)
            self._sum_weight = 0.0
            self._count = 0
        self._shape = (num_classes, *size)
        self._dtype = dtype if self._buffer is not None else torch.float32
        self._work: tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None = None
        self._last = LastFrame()
        self.last_cut = False  # no scene-cut detection without motion

    def _workspace(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(blended probabilities, blended entropy, float32 entropy scratch), made on first use."""
        if self._work is None:
            shape = self._shape
            self._work = (torch.empty(shape, device=self.device, dtype=self._dtype),
                          torch.empty(shape[1:], device=self.device, dtype=self._dtype),
                          torch.empty(shape, device=self.device, dtype=torch.float32))
        return self._work

    def __len__(self) -> int:
        """How many predictions the current blend holds (for the incremental form: since the reset)."""
        return len(self._buffer) if self._buffer is not None else self._count

    @property
    def nbytes(self) -> int:
        if self._buffer is not None:
            return self._buffer.nbytes
        return (self._sum_probs.numel() + self._sum_entropy.numel()) * 4

    def reset(self) -> None:
        if self._buffer is not None:
            self._buffer.clear()
        else:
            self._sum_weight = 0.0
            self._count = 0
        self._last.clear()

    def push(
        self,
        probs: torch.Tensor,
        timestamp: float,
        frame_index: int,
        member_entropy: torch.Tensor | None = None,
        image: np.ndarray | None = None,
    ) -> UncertaintyMaps:
        """Add this frame's prediction ``(C, h, w)`` and return the smoothed maps for this frame
        (``image`` is not needed here)."""
        if self._last.went_back(timestamp, frame_index):
            self.reset()  # time went backwards: a different stream history, start over
        if self._buffer is not None:
            maps = self._push_windowed(probs, timestamp, frame_index, member_entropy)
        else:
            maps = self._push_incremental(probs, timestamp, frame_index, member_entropy)
        self._last.set(timestamp, frame_index)
        return maps

    def weights(self, timestamp: float, frame_index: int) -> torch.Tensor:
        """The normalised importance of each ring-buffer slot (host tensor of length K)."""
        assert self._buffer is not None, "the incremental form keeps no per-slot weights"
        ages = self._buffer.ages(timestamp, frame_index, self.importance.clock is Clock.FRAMES)
        return self.importance.weights(ages, self._buffer.valid_mask())

    def _push_windowed(
        self, probs: torch.Tensor, timestamp: float, frame_index: int, member_entropy: torch.Tensor | None
    ) -> UncertaintyMaps:
        buffer = self._buffer
        assert buffer is not None
        blended, expected, scratch = self._workspace()
        buffer.push(probs, timestamp, frame_index, member_entropy, scratch)
        weights = self.weights(timestamp, frame_index).to(self.device, buffer.probs.dtype, non_blocking=True)
        k = buffer.capacity
        torch.mm(weights.view(1, k), buffer.probs.view(k, -1), out=blended.view(1, -1))
        torch.mm(weights.view(1, k), buffer.entropies.view(k, -1), out=expected.view(1, -1))
        return uncertainty_maps(blended.float(), expected.float(), scratch)

    def _push_incremental(
        self, probs: torch.Tensor, timestamp: float, frame_index: int, member_entropy: torch.Tensor | None
    ) -> UncertaintyMaps:
        decay = 0.0 if self._count == 0 or self._last.time is None else self._last.decay(
            timestamp, frame_index, self.importance
        )
        blended, expected, scratch = self._workspace()
        member = entropy(probs, dim=0, scratch=scratch) if member_entropy is None else member_entropy.float()
        if self._count == 0:  # the first frame (or after a reset): the sums start here, not from memory
            self._sum_probs.copy_(probs)
            self._sum_entropy.copy_(member)
        else:
            self._sum_probs.mul_(decay).add_(probs)
            self._sum_entropy.mul_(decay).add_(member)
        self._sum_weight = self._sum_weight * decay + 1.0
        self._count += 1
        inv = 1.0 / self._sum_weight
        torch.mul(self._sum_probs, inv, out=blended)
        torch.mul(self._sum_entropy, inv, out=expected)
        return uncertainty_maps(blended, expected, scratch)
