"""The training curve as a picture (OpenCV only): running loss, and validation accuracy / mIoU / NLL per step."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from models.training.plot_axes import FONT, draw_axes

_W, _H = 560, 380
_LEFT, _RIGHT, _TOP, _BOTTOM = 70, 20, 50, 50
_COLOURS = {  # BGR
    "loss": (180, 119, 31),
    "val_nll": (40, 40, 200),
    "val_acc": (40, 150, 40),
    "val_miou": (160, 60, 160),
}
_LABELS = {"loss": "train loss (running)", "val_nll": "val NLL", "val_acc": "val pixel acc", "val_miou": "val mIoU"}


def _panel(
    history: Sequence[dict[str, float]], keys: Sequence[str], title: str, y_range: tuple[float, float]
) -> np.ndarray:
    img = np.full((_H, _W, 3), 255, np.uint8)
    steps = [h["step"] for h in history]
    axes = draw_axes(img, (_LEFT, _RIGHT, _TOP, _BOTTOM), max(1.0, max(steps) if steps else 1.0), y_range, title,
                     "step", lambda s: f"{int(s)}", lambda v: f"{v:.2f}")
    px, py = axes.px, axes.py
    for row, key in enumerate(keys):
        points = [(px(h["step"]), py(h[key])) for h in history if key in h and np.isfinite(h[key])]
        colour = _COLOURS[key]
        if len(points) > 1:
            cv2.polylines(img, [np.array(points, np.int32)], False, colour, 2, cv2.LINE_AA)
        for p in points:
            cv2.circle(img, p, 3, colour, -1, cv2.LINE_AA)
        if points:
            last = next(h[key] for h in reversed(history) if key in h)
            label = f"{_LABELS[key]}: {last:.3f}"
            cv2.putText(img, label, (axes.x0 + 10, axes.y1 + 20 + 18 * row), FONT, 0.45, colour, 1, cv2.LINE_AA)
    return img


def render_training_curve(history: Sequence[dict[str, float]], title: str) -> np.ndarray:
    """Two panels side by side: losses (NLL scale) and accuracy / mIoU (0..1)."""
    if not history:
        raise ValueError("no training history to draw")
    top = max(max(h.get("loss", 0.0), h.get("val_nll", 0.0)) for h in history)
    losses = _panel(history, ("loss", "val_nll"), f"{title}: losses", (0.0, max(0.5, float(np.ceil(top * 2) / 2))))
    scores = _panel(history, ("val_acc", "val_miou"), f"{title}: validation", (0.0, 1.0))
    return np.concatenate([losses, scores], axis=1)


def write_training_curve(path: str | Path, history: Sequence[dict[str, float]], title: str) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(path), render_training_curve(history, title)):
        raise ValueError(f"cannot write {path}")
    return path
