"""Per-pixel uncertainty scores of a predictive distribution (pure, device-side)."""

from __future__ import annotations

import math

import torch
from torch import Tensor


def predictive_entropy(probs: Tensor, dim: int = -3, normalize: bool = False) -> Tensor:
    """Entropy ``H[p] = -Σ_c p_c log p_c`` (nats) over the class dimension.

    Args:
        probs: predictive distribution, e.g. ``(C, H, W)`` or ``(B, C, H, W)`` with ``dim=-3``.
        dim: the class dimension.
        normalize: divide by ``log C`` so the result lies in ``[0, 1]`` (1 = uniform). With ``C == 1``
            the entropy is 0 and stays 0.

    Returns:
        ``probs`` with ``dim`` removed; ``0 log 0`` is taken as 0, and the result is clamped at 0.
    """
    entropy = -torch.special.xlogy(probs, probs).sum(dim=dim)
    entropy = entropy.clamp_min(0.0)
    num_classes = probs.shape[dim]
    if normalize and num_classes > 1:
        entropy = entropy / math.log(num_classes)
    return entropy


def confidence(probs: Tensor, dim: int = -3) -> Tensor:
    """Max class probability over ``dim`` (the confidence of the argmax prediction)."""
    return probs.amax(dim=dim)
