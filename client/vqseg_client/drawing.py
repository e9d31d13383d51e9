"""Pictures for people: colour label overlays, uncertainty heat maps and side-by-side panels (RGB uint8)."""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np


def colorize_labels(labels: np.ndarray, palette: Sequence[Sequence[int]]) -> np.ndarray:
    """``(H, W)`` class indices to an RGB image with the model's palette (unknown indices black)."""
    lut = np.zeros((256, 3), np.uint8)
    lut[: len(palette)] = np.asarray(palette, np.uint8)
    return lut[labels.astype(np.uint8)]


def overlay(image: np.ndarray, labels: np.ndarray, palette: Sequence[Sequence[int]], alpha: float = 0.5) -> np.ndarray:
    """Blend the colourised label map over the RGB frame (labels resized to the frame if needed)."""
    if labels.shape[:2] != image.shape[:2]:
        labels = cv2.resize(labels.astype(np.uint8), (image.shape[1], image.shape[0]), interpolation=cv2.INTER_NEAREST)
    colour = colorize_labels(labels, palette)
    return cv2.addWeighted(image, 1.0 - alpha, colour, alpha, 0.0)


def heatmap(values: np.ndarray, size: tuple[int, int] | None = None) -> np.ndarray:
    """A map in [0, 1] (e.g. normalised entropy) to an RGB 'inferno' heat map, optionally resized (w, h)."""
    scaled = np.clip(values.astype(np.float32), 0.0, 1.0)
    if size is not None and scaled.shape[::-1] != size:
        scaled = cv2.resize(scaled, size, interpolation=cv2.INTER_LINEAR)
    bgr = cv2.applyColorMap((scaled * 255).astype(np.uint8), cv2.COLORMAP_INFERNO)
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def caption(image: np.ndarray, text: str) -> np.ndarray:
    """Write ``text`` in the top-left corner of a copy of ``image``."""
    out = image.copy()
    cv2.putText(out, text, (6, 18), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 3, cv2.LINE_AA)
    cv2.putText(out, text, (6, 18), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (255, 255, 255), 1, cv2.LINE_AA)
    return out


def side_by_side(panels: Sequence[np.ndarray], captions: Sequence[str] | None = None) -> np.ndarray:
    """Panels of one height joined left to right, each with an optional caption."""
    if captions is not None:
        panels = [caption(p, c) for p, c in zip(panels, captions, strict=True)]
    return np.concatenate(list(panels), axis=1)


def legend(class_names: Sequence[str], palette: Sequence[Sequence[int]], height: int, width: int = 150) -> np.ndarray:
    """A column listing class names beside their colours, ``height`` pixels tall."""
    out = np.full((height, width, 3), 255, np.uint8)
    row = max(12, min(22, height // max(1, len(class_names))))
    for i, (name, colour) in enumerate(zip(class_names, palette, strict=True)):
        y = 4 + i * row
        if y + row > height:
            break
        cv2.rectangle(out, (4, y), (4 + row - 4, y + row - 4), tuple(int(c) for c in colour), -1)
        cv2.putText(out, name, (row + 6, y + row - 7), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 0, 0), 1, cv2.LINE_AA)
    return out
