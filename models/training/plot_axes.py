"""Axes for the small line plots vqseg draws with OpenCV (training curves, the MC-rate ablation):
a white canvas, a framed plot area, six gridlines with value labels, six x ticks, a title and an x label."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np

FONT = cv2.FONT_HERSHEY_SIMPLEX
_GRID, _TEXT, _FRAME, _TITLE = (228, 228, 228), (60, 60, 60), (120, 120, 120), (20, 20, 20)


@dataclass(frozen=True)
class Axes:
    """Pixel positions of data values inside the plot area (values outside ``y_range`` are clipped)."""

    x0: int
    x1: int
    y0: int  # bottom
    y1: int  # top
    x_max: float
    lo: float
    hi: float

    def px(self, x: float) -> int:
        return round(self.x0 + (self.x1 - self.x0) * x / max(1e-9, self.x_max))

    def py(self, value: float) -> int:
        clipped = min(max(value, self.lo), self.hi)
        return round(self.y0 + (self.y1 - self.y0) * (clipped - self.lo) / max(1e-9, self.hi - self.lo))


def draw_axes(
    img: np.ndarray, margins: tuple[int, int, int, int], x_max: float, y_range: tuple[float, float], title: str,
    x_label: str, x_text: Callable[[float], str], y_text: Callable[[float], str],
) -> Axes:
    """Draw the frame, grid, ticks, title and x label on ``img``; ``margins`` = (left, right, top, bottom)."""
    height, width = img.shape[:2]
    left, right, top, bottom = margins
    axes = Axes(left, width - right, height - bottom, top, x_max, *y_range)
    for k in range(6):
        v = axes.lo + (axes.hi - axes.lo) * k / 5
        cv2.line(img, (axes.x0, axes.py(v)), (axes.x1, axes.py(v)), _GRID, 1)
        cv2.putText(img, y_text(v), (8, axes.py(v) + 4), FONT, 0.4, _TEXT, 1, cv2.LINE_AA)
    for k in range(6):
        x = x_max * k / 5
        cv2.putText(img, x_text(x), (axes.px(x) - 12, axes.y0 + 18), FONT, 0.4, _TEXT, 1, cv2.LINE_AA)
    cv2.rectangle(img, (axes.x0, axes.y1), (axes.x1, axes.y0), _FRAME, 1)
    cv2.putText(img, title, (axes.x0, 30), FONT, 0.6, _TITLE, 1, cv2.LINE_AA)
    (label_width, _), _ = cv2.getTextSize(x_label, FONT, 0.45, 1)
    cv2.putText(img, x_label, (axes.x1 - label_width, height - 12), FONT, 0.45, _TEXT, 1, cv2.LINE_AA)
    return axes
