"""Backward warping and flow composition on the device (``grid_sample``, bilinear).

Flows are ``(N, 2, h, w)`` in pixels (x, y) of a fixed ``(h, w)`` grid: ``flow[:, :, y, x]`` is where
the content now at ``(x, y)`` sits in the other frame. ``warp(values, flow)`` samples ``values`` there,
so a map of the other frame comes into the current frame's coordinates. Composition chains steps:
if ``step`` maps frame t to t-1 and ``flows`` map t-1 to older frames, ``step + warp(flows, step)``
maps t to them, with one resampling of each probability map however old it is.
"""

from __future__ import annotations

import torch
from torch.nn import functional as F


class Warper:
    """Warps tensors on one ``(h, w)`` grid; the base pixel grid is allocated once."""

    def __init__(self, size: tuple[int, int], device: torch.device) -> None:
        h, w = size
        self.size = size
        ys, xs = torch.meshgrid(
            torch.arange(h, dtype=torch.float32, device=device),
            torch.arange(w, dtype=torch.float32, device=device),
            indexing="ij",
        )
        self._base = torch.stack([xs, ys]).unsqueeze(0)  # (1, 2, h, w)
        # pixel -> normalised [-1, 1] with align_corners=True (a 1-pixel side maps to 0)
        self._scale = torch.tensor([2.0 / max(w - 1, 1), 2.0 / max(h - 1, 1)], device=device).view(1, 2, 1, 1)
        self._limits = torch.tensor([w - 1, h - 1], dtype=torch.float32, device=device).view(1, 2, 1, 1)

    def positions(self, flow: torch.Tensor) -> torch.Tensor:
        """Absolute sampling positions ``(N, 2, h, w)`` in pixels."""
        return self._base + flow

    def grid(self, flow: torch.Tensor) -> torch.Tensor:
        """``grid_sample``'s ``(N, h, w, 2)`` normalised grid for ``flow`` ``(N, 2, h, w)``."""
        return (self.positions(flow) * self._scale - 1.0).permute(0, 2, 3, 1)

    def warp(self, values: torch.Tensor, flow: torch.Tensor) -> torch.Tensor:
        """Sample ``values`` ``(N, C, h, w)`` at ``flow`` ``(N, 2, h, w)`` (or ``(1, 2, h, w)``, shared).

        Bilinear, border padding (out-of-view pixels must be masked by the caller: see ``in_view``).
        Computed in float32 whatever the storage dtype, returned as float32.
        """
        grid = self.grid(flow.float())
        if grid.shape[0] != values.shape[0]:
            grid = grid.expand(values.shape[0], -1, -1, -1)
        return F.grid_sample(values.float(), grid, mode="bilinear", padding_mode="border", align_corners=True)

    def in_view(self, flow: torch.Tensor) -> torch.Tensor:
        """``(N, h, w)`` float mask: 1 where the sampling position lies inside the other frame."""
        pos = self.positions(flow.float())
        inside = (pos >= 0) & (pos <= self._limits)
        return inside.all(dim=1).float()

    def compose(self, step: torch.Tensor, flows: torch.Tensor, validity: torch.Tensor) -> None:
        """In place: ``flows`` ``(K, 2, h, w)`` (t-1 → slot) and ``validity`` ``(K, h, w)`` become
        t → slot, given ``step`` ``(1, 2, h, w)`` (t → t-1) and its own validity folded in by the caller.

        One ``grid_sample`` over the K slots' flows and validity together.
        """
        stacked = torch.cat([flows, validity.unsqueeze(1)], dim=1)  # (K, 3, h, w)
        moved = self.warp(stacked, step)
        flows.copy_(moved[:, :2] + step)
        validity.copy_(moved[:, 2].clamp_(0.0, 1.0))


def upsample(values: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Bilinear resize of ``(N, C, hs, ws)`` to ``size`` (identity when already that size)."""
    if tuple(values.shape[-2:]) == tuple(size):
        return values
    return F.interpolate(values, size=size, mode="bilinear", align_corners=False)
