"""Small tensor factories shared by the metric tests."""

from __future__ import annotations

import torch


def two_class(p0: list[float]) -> torch.Tensor:
    """``(2, 1, W)`` probs with class-0 probability ``p0`` per pixel (a 1-row image)."""
    first = torch.tensor(p0, dtype=torch.float32)
    return torch.stack([first, 1.0 - first]).unsqueeze(1)


def random_probs(generator: torch.Generator, shape: tuple[int, ...], sharpness: float = 3.0) -> torch.Tensor:
    """Random ``(B, C, H, W)`` predictive distributions."""
    return torch.softmax(torch.randn(shape, generator=generator) * sharpness, dim=1)


def random_target(generator: torch.Generator, probs: torch.Tensor, ignore_share: float = 0.1) -> torch.Tensor:
    """Labels mostly equal to the argmax (so accuracy is moderate), some ignored."""
    b, c, h, w = probs.shape
    noise = torch.randint(0, c, (b, h, w), generator=generator)
    keep = torch.rand((b, h, w), generator=generator) < 0.6
    target = torch.where(keep, probs.argmax(dim=1), noise)
    ignored = torch.rand((b, h, w), generator=generator) < ignore_share
    return torch.where(ignored, 255, target)
