"""A preallocated on-device ring buffer of the last K predictions and their timestamps."""

from __future__ import annotations

import torch

from streaming.uncertainty import entropy


class PredictionBuffer:
    """K slots of ``(C, h, w)`` probabilities plus each slot's entropy ``(h, w)``, allocated once.

    Timestamps and frame indices are kept on the host (K numbers): ages are computed there and only
    the K weights travel to the device. Empty slots are marked invalid and get weight 0. The memory is
    allocated here and zeroed by the first ``push``: sessions are made on the server's event loop, and
    touching tensors there starts a second OpenMP thread team beside the inference thread's.
    """

    def __init__(
        self,
        capacity: int,
        num_classes: int,
        size: tuple[int, int],
        device: torch.device,
        dtype: torch.dtype = torch.float32,
    ) -> None:
        if capacity < 1:
            raise ValueError(f"buffer capacity must be >= 1, got {capacity}")
        self.capacity = capacity
        self.device = device
        self.probs = torch.empty((capacity, num_classes, *size), device=device, dtype=dtype)
        self.entropies = torch.empty((capacity, *size), device=device, dtype=dtype)
        self._zeroed = False
        self.timestamps = [0.0] * capacity
        self.frame_indices = [0] * capacity
        self.valid = [False] * capacity
        self._next = 0

    def __len__(self) -> int:
        return sum(self.valid)

    @property
    def nbytes(self) -> int:
        return self.probs.numel() * self.probs.element_size() + self.entropies.numel() * self.entropies.element_size()

    def clear(self) -> None:
        self.valid = [False] * self.capacity
        self._next = 0

    def push(
        self, probs: torch.Tensor, timestamp: float, frame_index: int, member_entropy: torch.Tensor | None = None,
        scratch: torch.Tensor | None = None,
    ) -> None:
        """Store ``probs`` ``(C, h, w)`` over the oldest slot; its entropy is computed here once
        (in ``scratch``, a float32 ``(C, h, w)`` work tensor, when given)."""
        if not self._zeroed:  # empty slots get weight 0, and 0 times uninitialised memory may be NaN
            self.probs.zero_()
            self.entropies.zero_()
            self._zeroed = True
        slot = self._next
        self.probs[slot].copy_(probs)
        self.entropies[slot].copy_(entropy(probs, dim=0, scratch=scratch) if member_entropy is None else member_entropy)
        self.timestamps[slot] = float(timestamp)
        self.frame_indices[slot] = int(frame_index)
        self.valid[slot] = True
        self._next = (slot + 1) % self.capacity

    def ages(self, now: float, now_index: int, use_frames: bool) -> torch.Tensor:
        """Age of every slot on the chosen clock, as a host float64 tensor of length K."""
        if use_frames:
            return torch.tensor([float(now_index - i) for i in self.frame_indices], dtype=torch.float64)
        return torch.tensor([now - t for t in self.timestamps], dtype=torch.float64)

    def valid_mask(self) -> torch.Tensor:
        return torch.tensor(self.valid, dtype=torch.bool)
