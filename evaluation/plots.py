"""Reliability diagrams drawn with OpenCV (no plotting dependency).

One panel per inference mode: accuracy per confidence bin as bars, the gap to the bin's mean
confidence shaded red, the diagonal of perfect calibration dashed, and the share of pixels per bin
as a small histogram under the axes. Each panel's title carries the mode's ECE.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from evaluation.metrics.calibration import ReliabilityBins

Image = npt.NDArray[np.uint8]
Color = tuple[int, int, int]

_FONT = cv2.FONT_HERSHEY_SIMPLEX
_BLACK: Color = (30, 30, 30)
_GRID: Color = (225, 225, 225)
_BAR: Color = (180, 119, 31)  # BGR of a matplotlib-like blue
_GAP: Color = (60, 60, 220)
_DIAGONAL: Color = (110, 110, 110)
_SHARE: Color = (150, 150, 150)

_PANEL_W, _PANEL_H = 560, 640
_LEFT, _TOP, _SIDE = 90, 60, 400  # axes origin offset and square axes size
_STRIP_TOP, _STRIP_H = _TOP + _SIDE + 62, 50  # pixel-share histogram under the axes
_HEADER = 72


def _text(
    img: Image,
    text: str,
    org: tuple[int, int],
    scale: float = 0.55,
    thick: int = 1,
    color: Color = _BLACK,
    align: str = "left",
) -> None:
    (w, h), _ = cv2.getTextSize(text, _FONT, scale, thick)
    x = org[0] - w // 2 if align == "center" else org[0] - w if align == "right" else org[0]
    cv2.putText(img, text, (x, org[1] + h // 2), _FONT, scale, color, thick, cv2.LINE_AA)


def _vertical_text(img: Image, text: str, center: tuple[int, int], scale: float = 0.6) -> None:
    (w, h), base = cv2.getTextSize(text, _FONT, scale, 1)
    patch = np.full((h + base + 4, w + 4, 3), 255, np.uint8)
    cv2.putText(patch, text, (2, h + 2), _FONT, scale, _BLACK, 1, cv2.LINE_AA)
    patch = cv2.rotate(patch, cv2.ROTATE_90_COUNTERCLOCKWISE)
    y0, x0 = center[1] - patch.shape[0] // 2, center[0] - patch.shape[1] // 2
    img[y0 : y0 + patch.shape[0], x0 : x0 + patch.shape[1]] = np.minimum(
        img[y0 : y0 + patch.shape[0], x0 : x0 + patch.shape[1]], patch
    )


def _dashed_line(img: Image, p0: tuple[int, int], p1: tuple[int, int], color: Color, dash: int = 9) -> None:
    length = math.hypot(p1[0] - p0[0], p1[1] - p0[1])
    steps = max(1, int(length // dash))
    for i in range(0, steps, 2):
        a, b = i / steps, min(1.0, (i + 1) / steps)
        q0 = (round(p0[0] + a * (p1[0] - p0[0])), round(p0[1] + a * (p1[1] - p0[1])))
        q1 = (round(p0[0] + b * (p1[0] - p0[0])), round(p0[1] + b * (p1[1] - p0[1])))
        cv2.line(img, q0, q1, color, 2, cv2.LINE_AA)


def _hatch(img: Image, top_left: tuple[int, int], bottom_right: tuple[int, int], color: Color) -> None:
    """Diagonal hatching with an outline: readable over both the bars and the white background."""
    (x0, y0), (x1, y1) = top_left, bottom_right
    if y1 - y0 < 1:
        return
    ys, xs = np.mgrid[y0 : y1 + 1, x0 : x1 + 1]
    region = img[y0 : y1 + 1, x0 : x1 + 1]
    region[(xs + ys) % 7 < 2] = color
    cv2.rectangle(img, top_left, bottom_right, color, 1)


def _legend(img: Image, x: int, y: int) -> None:
    items = [("accuracy per bin", _BAR), ("gap to mean confidence", _GAP), ("perfect calibration", _DIAGONAL)]
    for label, color in items:
        if color == _GAP:
            _hatch(img, (x, y - 7), (x + 22, y + 7), color)
        elif color == _DIAGONAL:
            _dashed_line(img, (x, y), (x + 22, y), color, dash=6)
        else:
            cv2.rectangle(img, (x, y - 7), (x + 22, y + 7), color, cv2.FILLED)
        _text(img, label, (x + 30, y), 0.5)
        x += 30 + cv2.getTextSize(label, _FONT, 0.5, 1)[0][0] + 30


def _panel(mode: str, bins: ReliabilityBins) -> Image:
    img = np.full((_PANEL_H, _PANEL_W, 3), 255, np.uint8)
    x0, y0, side = _LEFT, _TOP, _SIDE

    def px(v: float) -> int:
        return x0 + round(v * side)

    def py(v: float) -> int:
        return y0 + side - round(v * side)

    ece = "n/a" if math.isnan(bins.ece) else f"{bins.ece:.4f}"
    _text(img, f"{mode}   ECE = {ece}", (x0 + side // 2, 28), 0.7, 2, align="center")
    for k in range(6):
        v = k / 5
        cv2.line(img, (px(v), py(0)), (px(v), py(1)), _GRID, 1)
        cv2.line(img, (px(0), py(v)), (px(1), py(v)), _GRID, 1)
        _text(img, f"{v:.1f}", (px(v), py(0) + 16), 0.45, align="center")
        _text(img, f"{v:.1f}", (px(0) - 8, py(v)), 0.45, align="right")

    for lo, hi, count, acc, conf in zip(
        bins.edges[:-1], bins.edges[1:], bins.counts, bins.accuracy, bins.mean_confidence, strict=True
    ):
        if count == 0:
            continue
        left, right = px(lo) + 1, px(hi) - 1
        cv2.rectangle(img, (left, py(acc)), (right, py(0)), _BAR, cv2.FILLED)
        cv2.rectangle(img, (left, py(acc)), (right, py(0)), _BLACK, 1)
        _hatch(img, (left, py(max(acc, conf))), (right, py(min(acc, conf))), _GAP)
    _dashed_line(img, (px(0), py(0)), (px(1), py(1)), _DIAGONAL)
    cv2.rectangle(img, (px(0), py(1)), (px(1), py(0)), _BLACK, 1)
    _text(img, "confidence", (x0 + side // 2, py(0) + 40), 0.6, align="center")
    _vertical_text(img, "accuracy", (24, y0 + side // 2))

    total = sum(bins.counts)
    strip_bottom = _STRIP_TOP + _STRIP_H
    cv2.line(img, (px(0), strip_bottom), (px(1), strip_bottom), _BLACK, 1)
    for lo, hi, count in zip(bins.edges[:-1], bins.edges[1:], bins.counts, strict=True):
        if count and total:
            top = strip_bottom - max(1, round(count / total * _STRIP_H))
            cv2.rectangle(img, (px(lo) + 1, top), (px(hi) - 1, strip_bottom), _SHARE, cv2.FILLED)
    _vertical_text(img, "pixels", (24, _STRIP_TOP + _STRIP_H // 2), 0.45)
    _text(img, f"share of {total:,} pixels per bin", (x0 + side // 2, strip_bottom + 18), 0.45, align="center")
    return img


def render_reliability_diagram(bins_by_mode: Mapping[str, ReliabilityBins], title: str) -> Image:
    """BGR image with one panel per mode, left to right in mapping order."""
    if not bins_by_mode:
        raise ValueError("need reliability bins for at least one mode")
    panels = [_panel(mode, bins) for mode, bins in bins_by_mode.items()]
    body = np.concatenate(panels, axis=1)
    header = np.full((_HEADER, body.shape[1], 3), 255, np.uint8)
    _text(header, title, (body.shape[1] // 2, 20), 0.8, 2, align="center")
    _legend(header, _LEFT, _HEADER - 12)
    return np.concatenate([header, body], axis=0)


def write_reliability_diagram(
    path: str | Path, bins_by_mode: Mapping[str, ReliabilityBins], title: str = "Reliability diagram"
) -> Path:
    """Draw the reliability diagram of each mode (e.g. ``{"dnn": ..., "vqbnn": ...}``) into a PNG.

    Args:
        path: output file (``.png``); parent folders are created.
        bins_by_mode: ``ReliabilityBins`` per mode, e.g. ``SegmentationMetrics.reliability_bins()``.
        title: figure title above the panels.

    Returns:
        The path written.
    """
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    image = render_reliability_diagram(bins_by_mode, title)
    if not cv2.imwrite(str(out), image):
        raise OSError(f"could not write {out}")
    return out
