"""A small RGB + label canvas in metres, so image and label are painted with the same shapes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from synthetic.classes import TRANSPARENT

Color = tuple[int, int, int]


@dataclass(frozen=True)
class Sprite:
    image: np.ndarray  # h x w x 3 uint8 RGB
    labels: np.ndarray  # h x w uint8, TRANSPARENT where empty
    width_m: float
    height_m: float


class SpriteCanvas:
    """Coordinates are metres: x from the left edge, y up from the bottom edge."""

    def __init__(self, width_m: float, height_m: float, ppm: float) -> None:
        self.ppm = ppm
        self.width_m, self.height_m = width_m, height_m
        w, h = max(2, round(width_m * ppm)), max(2, round(height_m * ppm))
        self.image = np.zeros((h, w, 3), np.uint8)
        self.labels = np.full((h, w), TRANSPARENT, np.uint8)

    def _pt(self, x: float, y: float) -> tuple[int, int]:
        return round(x * self.ppm), round((self.height_m - y) * self.ppm)

    def poly(self, points: Sequence[tuple[float, float]], color: Color, label: int) -> None:
        pts = np.array([self._pt(x, y) for x, y in points], np.int32)
        cv2.fillPoly(self.image, [pts], color)
        cv2.fillPoly(self.labels, [pts], label)

    def rect(self, x0: float, y0: float, x1: float, y1: float, color: Color, label: int) -> None:
        self.poly([(x0, y0), (x1, y0), (x1, y1), (x0, y1)], color, label)

    def line(self, a: tuple[float, float], b: tuple[float, float], thick_m: float, color: Color,
             label: int) -> None:
        t = max(1, round(thick_m * self.ppm))
        cv2.line(self.image, self._pt(*a), self._pt(*b), color, t)
        cv2.line(self.labels, self._pt(*a), self._pt(*b), label, t)

    def ellipse(self, cx: float, cy: float, rx: float, ry: float, color: Color, label: int,
                thick_m: float = 0.0) -> None:
        t = -1 if thick_m <= 0 else max(1, round(thick_m * self.ppm))
        axes = (max(1, round(rx * self.ppm)), max(1, round(ry * self.ppm)))
        cv2.ellipse(self.image, self._pt(cx, cy), axes, 0, 0, 360, color, t)
        cv2.ellipse(self.labels, self._pt(cx, cy), axes, 0, 0, 360, label, t)

    def texture(self, shade: np.ndarray) -> None:
        """Multiply the image by a per-pixel shade (h x w float)."""
        self.image[:] = np.clip(self.image * shade[..., None], 0, 255).astype(np.uint8)

    def sprite(self, flip: bool = False) -> Sprite:
        image, labels = self.image, self.labels
        if flip:
            image, labels = image[:, ::-1].copy(), labels[:, ::-1].copy()
        opaque = labels != TRANSPARENT
        if opaque.any():  # transparent pixels take the mean colour so resampling leaves no dark halo
            image = image.copy()
            image[~opaque] = image[opaque].mean(axis=0).astype(np.uint8)
        return Sprite(image, labels, self.width_m, self.height_m)
