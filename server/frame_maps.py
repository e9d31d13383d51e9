"""A frame's maps from the network's resolution to the frame's, on the device, then to the host once.

Probabilities are upsampled bilinearly and the label is their argmax there (upsampling commutes with
averaging probabilities); the uncertainty maps are upsampled bilinearly and quantised to 16 bits on
the device. Labels and maps travel to the host as ONE 16-bit tensor.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch.nn import functional as F

from streaming import UncertaintyMaps

LOW_CONFIDENCE = 0.9


@dataclass
class HostMaps:
    """Host arrays at the frame's size: ``labels`` uint8 (H, W); ``maps`` name -> uint16 (H, W)."""

    labels: np.ndarray
    maps: dict[str, np.ndarray]
    mean_uncertainty: float
    low_confidence: float
    buffer_len: int = 1

    @property
    def uncertainty(self) -> np.ndarray:
        return self.maps["entropy"]


def maps_to_host(maps: UncertaintyMaps, size: tuple[int, int], extra: Sequence[str] = ()) -> HostMaps:
    """``size`` is the frame's (height, width); ``extra`` names more maps besides ``entropy``."""
    names = ["entropy", *[m for m in extra if m != "entropy"]]
    named = maps.named_maps()
    summary = torch.stack([named["entropy"].mean(), (maps.confidence < LOW_CONFIDENCE).float().mean()])
    stack = torch.stack([named[n].float() for n in names])[None]  # (1, M, h, w)
    if tuple(maps.probs.shape[-2:]) != tuple(size):
        probs = F.interpolate(maps.probs[None].float(), size=size, mode="bilinear", align_corners=False)
        # max(dim=1).indices, not argmax: on CPU argmax over a strided class axis is ~30x slower
        labels = probs.max(dim=1).indices[0]
        stack = F.interpolate(stack, size=size, mode="bilinear", align_corners=False)
    else:
        labels = maps.labels
    quantised = (stack[0].clamp(0.0, 1.0) * 65535.0).round().to(torch.int32)
    # 16 bits per value as int16 (x - 32768), which every device supports; on the host x = bits ^ 0x8000
    packed16 = (torch.cat([labels[None].to(torch.int32), quantised]) - 32768).to(torch.int16)
    packed = packed16.cpu().numpy().view(np.uint16) ^ np.uint16(0x8000)  # the one big copy
    mean_uncertainty, low_confidence = summary.cpu().tolist()
    return HostMaps(
        labels=packed[0].astype(np.uint8),
        maps={name: packed[i + 1] for i, name in enumerate(names)},
        mean_uncertainty=float(mean_uncertainty),
        low_confidence=float(low_confidence),
    )
