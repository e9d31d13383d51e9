"""Pictures of streaming results for people: frame | label overlay | uncertainty heat map, plus a legend.

Used by ``vqseg stream --show/--out`` and ``vqseg demo``. Maps that came at the network's resolution
(protocol 2) are upsampled here, for display only: labels nearest, heat maps bilinearly.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from vqseg_client.drawing import caption, heatmap, legend, overlay, side_by_side
from vqseg_client.result import FrameResult


class ResultPainter:
    """Turns ``FrameResult`` s into RGB panels with the model's class names and palette (from ``hello``)."""

    def __init__(self, model: dict[str, Any], max_height: int = 360) -> None:
        self.classes: Sequence[str] = list(model.get("classes") or [])
        self.palette: Sequence[Sequence[int]] = [tuple(c) for c in model.get("palette") or []]
        if not self.palette:  # a server that sent no palette: spread colours over the hue circle
            count = int(model.get("num_classes") or 256)
            hues = np.linspace(0, 179, count, endpoint=False).astype(np.uint8)
            hsv = np.stack([hues, np.full(count, 200, np.uint8), np.full(count, 230, np.uint8)], -1)[None]
            self.palette = [tuple(int(v) for v in c) for c in cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)[0]]
        if len(self.classes) != len(self.palette):
            self.classes = [str(i) for i in range(len(self.palette))]
        self.max_height = max_height

    def panel(self, result: FrameResult, text: str = "") -> np.ndarray:
        """``frame | overlay | heat map | legend`` (RGB uint8); the frame is black if it was not kept."""
        if result.image is not None:
            height, width = result.image.shape[:2]
        else:
            height, width = (result.height, result.width) if result.width else result.labels.shape[:2]
        scale = min(1.0, self.max_height / height)
        width, height = max(1, round(width * scale)), max(1, round(height * scale))
        image = result.image if result.image is not None else np.zeros((height, width, 3), np.uint8)
        if image.shape[:2] != (height, width):
            image = cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)
        labels = result.labels_at(width, height)
        uncertainty = result.map_at(result.uncertainty, width, height)
        mean = float(result.summary.get("mean_uncertainty", float(np.mean(result.uncertainty))))
        panels = [image, overlay(image, labels, self.palette), heatmap(uncertainty)]
        captions = [
            f"frame {result.source_index if result.source_index is not None else result.frame_index}",
            f"labels ({result.mode})",
            f"entropy (mean {mean:.3f})",
        ]
        joined = side_by_side(panels, captions)
        joined = np.concatenate([joined, legend(self.classes, self.palette, joined.shape[0])], axis=1)
        return _footer(joined, text) if text else joined


def _footer(image: np.ndarray, text: str) -> np.ndarray:
    bar = np.full((22, image.shape[1], 3), 32, np.uint8)
    cv2.putText(bar, text, (6, 15), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (255, 255, 255), 1, cv2.LINE_AA)
    return np.concatenate([image, bar], axis=0)


def status_line(stats_fps: float, latency_ms: float | None, dropped: int, frame_index: int) -> str:
    """The live caption: served fps, this frame's latency, frames dropped by the server."""
    fps = "-" if stats_fps != stats_fps else f"{stats_fps:.1f}"  # NaN before two results
    latency = "-" if latency_ms is None else f"{latency_ms:.0f} ms"
    return f"#{frame_index}  {fps} fps  latency {latency}  dropped {dropped}"


class VideoWriter:
    """An MP4 (``mp4v``) of RGB panels; the size is fixed by the first panel (later ones are resized)."""

    def __init__(self, path: str | Path, fps: float) -> None:
        self.path = Path(path)
        self.fps = fps if fps and fps > 0 else 15.0
        self._writer: cv2.VideoWriter | None = None
        self._size: tuple[int, int] | None = None
        self.frames = 0

    def write(self, rgb: np.ndarray) -> None:
        if self._writer is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._size = (rgb.shape[1] - rgb.shape[1] % 2, rgb.shape[0] - rgb.shape[0] % 2)
            self._writer = cv2.VideoWriter(str(self.path), cv2.VideoWriter.fourcc(*"mp4v"), self.fps, self._size)
            if not self._writer.isOpened():
                raise OSError(f"cannot write video {self.path}")
        assert self._size is not None
        if (rgb.shape[1], rgb.shape[0]) != self._size:
            rgb = cv2.resize(rgb, self._size, interpolation=cv2.INTER_AREA)
        self._writer.write(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
        self.frames += 1

    def close(self) -> None:
        if self._writer is not None:
            self._writer.release()
            self._writer = None


def save_png(path: str | Path, rgb: np.ndarray) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)):
        raise OSError(f"cannot write {path}")


__all__ = ["ResultPainter", "VideoWriter", "caption", "save_png", "status_line"]
