"""Rule values from a frame's maps, on the device where the maps are: one small reduction per rule.

``measure`` returns a ``(R,)`` float32 tensor on the maps' device and does not wait for it; its
values are read on the host later (``Probe.values``), after the worker's one device-to-host copy of
the frame has synchronised anyway, so rules add no extra synchronisation to the inference thread.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np
import torch

from server.events.rules import WatchRule
from streaming import UncertaintyMaps

_MASKS_KEPT = 64


@dataclass(frozen=True)
class CompiledRule:
    """A rule with its class resolved to an index of the model's classes."""

    rule: WatchRule
    class_index: int | None


class RegionMasks:
    """Polygon masks per (polygon, height, width, device), made once and reused (bounded cache)."""

    def __init__(self) -> None:
        self._masks: dict[tuple[object, ...], torch.Tensor] = {}
        self._lock = threading.Lock()

    def get(self, polygon: Sequence[tuple[float, float]], height: int, width: int,
            device: torch.device) -> torch.Tensor:
        key = (tuple(polygon), height, width, str(device))
        with self._lock:
            mask = self._masks.get(key)
        if mask is None:
            mask = torch.from_numpy(polygon_mask(polygon, height, width)).to(device)
            with self._lock:
                if len(self._masks) >= _MASKS_KEPT:
                    self._masks.pop(next(iter(self._masks)))
                self._masks[key] = mask
        return mask


def polygon_mask(polygon: Sequence[tuple[float, float]], height: int, width: int) -> np.ndarray:
    """(height, width) bool: pixels whose centre lies inside ``polygon`` ((x, y) in [0, 1])."""
    points = np.array([[x * width - 0.5, y * height - 0.5] for x, y in polygon], np.float32)
    canvas = np.zeros((height, width), np.uint8)
    cv2.fillPoly(canvas, [np.round(points * 16).astype(np.int32)], 1, lineType=cv2.LINE_8, shift=4)
    return canvas.astype(bool)


def _normalised(maps: UncertaintyMaps, name: str) -> torch.Tensor:
    values = maps.mutual_info if name == "mutual_info" else maps.entropy
    return (values.float() / math.log(maps.num_classes)).clamp_(0.0, 1.0)


def measure(maps: UncertaintyMaps, rules: Sequence[CompiledRule], masks: RegionMasks) -> torch.Tensor:
    """Each rule's value for this frame, stacked: ``(len(rules),)`` float32 on the maps' device."""
    height, width = int(maps.entropy.shape[-2]), int(maps.entropy.shape[-1])
    device = maps.entropy.device
    by_map: dict[str, torch.Tensor] = {}
    values = []
    for compiled in rules:
        rule = compiled.rule
        values_map = by_map.get(rule.map)
        if values_map is None:
            values_map = by_map[rule.map] = _normalised(maps, rule.map)
        region = None if rule.polygon is None else masks.get(rule.polygon, height, width, device)
        if rule.measure == "class_uncertain_share":
            of_class = maps.labels == compiled.class_index
            region = of_class if region is None else region & of_class
        if rule.measure == "roi_mean":
            picked = values_map if region is None else values_map * region
        else:
            uncertain = values_map > rule.level
            picked = (uncertain if region is None else uncertain & region).float()
        count = float(height * width) if region is None else region.sum().float().clamp_min(1.0)
        values.append(picked.sum() / count)
    return torch.stack(values).float() if values else torch.zeros(0, device=device)
