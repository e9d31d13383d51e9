"""Validated, flattened per-pixel view of one ``update(probs, target)`` call.

Every pixel metric works on the same layout, so the aggregate prepares it once per frame and the
derived per-pixel quantities (confidence, predicted label, probability of the true class, entropy)
are computed at most once and shared.

Ignored pixels are kept in place and masked (``valid``) rather than removed with boolean indexing:
removing them would need the number of kept pixels on the host, i.e. a device synchronisation per
frame. Labels that are neither ``ignore_index`` nor in ``[0, C)`` are masked too and counted in
``n_out_of_range`` (a 0-d device tensor); metrics report them at ``compute()`` time.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import torch
from torch import Tensor

from evaluation.metrics.uncertainty import predictive_entropy

IGNORE_INDEX = 255


@dataclass
class PixelBatch:
    """One or more frames as per-pixel rows.

    Attributes:
        probs: ``(B, C, N)`` float32/float64 predictive distribution, ``N = H * W``.
        target: ``(B, N)`` int64 true labels; masked pixels hold 0 (a safe index, never counted).
        valid: ``(B, N)`` bool, True where the label is in ``[0, C)``.
        n_out_of_range: 0-d int64 count of labels neither ``ignore_index`` nor in ``[0, C)``.
        spatial_shape: ``(H, W)`` of the frames.
    """

    probs: Tensor
    target: Tensor
    valid: Tensor
    n_out_of_range: Tensor
    spatial_shape: tuple[int, int]

    @classmethod
    def from_tensors(cls, probs: Tensor, target: Tensor, ignore_index: int = IGNORE_INDEX) -> PixelBatch:
        """Validate shapes/dtypes and flatten.

        Args:
            probs: ``(C, H, W)`` or ``(B, C, H, W)`` floating predictive distribution (sums to 1 over C).
                float16/bfloat16 inputs are upcast to float32.
            target: ``(H, W)`` or ``(B, H, W)`` integer labels (uint8 or int64 typically);
                ``ignore_index`` pixels are excluded.
            ignore_index: label value to exclude.
        """
        if not torch.is_floating_point(probs):
            raise TypeError(f"probs must be a floating tensor, got {probs.dtype}")
        if torch.is_floating_point(target) or torch.is_complex(target) or target.dtype == torch.bool:
            raise TypeError(f"target must be an integer tensor, got {target.dtype}")
        if probs.dim() not in (3, 4):
            raise ValueError(f"probs must be (C, H, W) or (B, C, H, W), got shape {tuple(probs.shape)}")
        if probs.dim() == 3:
            probs = probs.unsqueeze(0)
        expected = (probs.shape[0], *probs.shape[2:])
        if target.dim() == 2 and probs.shape[0] == 1:
            target = target.unsqueeze(0)
        if tuple(target.shape) != expected:
            raise ValueError(
                f"target shape {tuple(target.shape)} does not match probs shape {tuple(probs.shape)}; "
                f"expected {expected} (or (H, W) for a single frame)"
            )
        if target.device != probs.device:
            raise ValueError(f"probs on {probs.device} but target on {target.device}")
        if probs.dtype in (torch.float16, torch.bfloat16):
            probs = probs.float()
        batch, num_classes, height, width = probs.shape
        flat_probs = probs.reshape(batch, num_classes, height * width)
        labels = target.reshape(batch, height * width).long()
        in_range = (labels >= 0) & (labels < num_classes)
        n_out_of_range = ((labels != ignore_index) & ~in_range).sum()
        return cls(
            probs=flat_probs,
            target=torch.where(in_range, labels, 0),
            valid=in_range,
            n_out_of_range=n_out_of_range,
            spatial_shape=(height, width),
        )

    @property
    def num_classes(self) -> int:
        return self.probs.shape[1]

    @property
    def device(self) -> torch.device:
        return self.probs.device

    @cached_property
    def _max(self) -> tuple[Tensor, Tensor]:
        values, indices = self.probs.max(dim=1)
        return values, indices

    @property
    def confidence(self) -> Tensor:
        """``(B, N)`` max class probability."""
        return self._max[0]

    @property
    def prediction(self) -> Tensor:
        """``(B, N)`` int64 argmax label (first maximum on ties)."""
        return self._max[1]

    @cached_property
    def correct(self) -> Tensor:
        """``(B, N)`` bool, prediction equals target (meaningful only where ``valid``)."""
        return self.prediction == self.target

    @cached_property
    def target_probability(self) -> Tensor:
        """``(B, N)`` probability assigned to the true class (0-index on masked pixels)."""
        return self.probs.gather(1, self.target.unsqueeze(1)).squeeze(1)

    @cached_property
    def normalized_entropy(self) -> Tensor:
        """``(B, N)`` predictive entropy divided by ``log C``, in ``[0, 1]``."""
        return predictive_entropy(self.probs, dim=1, normalize=True)


def check_out_of_range(count: Tensor | None) -> None:
    """Raise if any accumulated label was outside ``[0, C)`` and not ``ignore_index``."""
    if count is not None and (n := int(count.item())) > 0:
        raise ValueError(
            f"{n} target pixels had labels outside [0, num_classes) that are not ignore_index; "
            "they were excluded, but the metric would be misleading"
        )
