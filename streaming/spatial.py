"""Spatial smoothing: a small Gaussian blur of a prediction before it is blended over time.

A blur averages each pixel's distribution with its neighbours', like an ensemble of slightly shifted
predictions ("blurs behave like ensembles"). Read that way, the member entropy is blurred with the
same kernel (the expected entropy of the spatial ensemble), so the entropy decomposition stays
consistent and MI ≥ 0. Separable depthwise convolution on the device, reflect padding; a kernel of
radius ceil(3σ) built once.
"""

from __future__ import annotations

import math

import torch
from torch.nn import functional as F

from streaming.uncertainty import entropy

MAX_SIGMA = 16.0


def gaussian_kernel(sigma: float, device: torch.device | None = None) -> torch.Tensor:
    """Normalised 1-D Gaussian weights of length ``2·ceil(3σ) + 1`` (float32)."""
    if not 0 < sigma <= MAX_SIGMA:
        raise ValueError(f"sigma must be in (0, {MAX_SIGMA}], got {sigma}")
    radius = max(1, math.ceil(3.0 * sigma))
    x = torch.arange(-radius, radius + 1, dtype=torch.float64)
    kernel = torch.exp(-0.5 * (x / sigma) ** 2)
    return (kernel / kernel.sum()).to(device=device, dtype=torch.float32)


class GaussianBlur:
    """Blurs ``(C, h, w)`` probabilities and ``(h, w)`` member entropy with one Gaussian, on ``device``."""

    def __init__(self, sigma: float, device: torch.device) -> None:
        self.sigma = sigma
        self._kernel = gaussian_kernel(sigma, device)
        self.radius = (self._kernel.numel() - 1) // 2
        self._weights: dict[int, tuple[torch.Tensor, torch.Tensor]] = {}

    def _depthwise(self, channels: int) -> tuple[torch.Tensor, torch.Tensor]:
        """The row and column kernels repeated per channel (a grouped convolution is far faster on CPUs
        than one single-channel convolution over a batch of maps)."""
        if channels not in self._weights:
            k = self._kernel
            self._weights[channels] = (
                k.view(1, 1, 1, -1).repeat(channels, 1, 1, 1),
                k.view(1, 1, -1, 1).repeat(channels, 1, 1, 1),
            )
        return self._weights[channels]

    def blur(self, maps: torch.Tensor) -> torch.Tensor:
        """``(N, h, w)`` maps, each blurred on its own; float32 out. Sides not longer than the radius are
        padded by replication instead of reflection."""
        n = maps.shape[0]
        r = self.radius
        x = maps.float().unsqueeze(0)  # (1, N, h, w)
        mode = "reflect" if min(x.shape[-2:]) > r else "replicate"
        horizontal, vertical = self._depthwise(n)
        x = F.conv2d(F.pad(x, (r, r, r, r), mode=mode), horizontal, groups=n)
        x = F.conv2d(x, vertical, groups=n)
        return x.squeeze(0)

    def __call__(
        self, probs: torch.Tensor, member_entropy: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Blurred ``(probs, member_entropy)``; the entropy is computed from ``probs`` when not given."""
        member = entropy(probs, dim=0) if member_entropy is None else member_entropy
        stacked = torch.cat([probs.float(), member.float().unsqueeze(0)], dim=0)
        out = self.blur(stacked)
        return out[:-1], out[-1]
