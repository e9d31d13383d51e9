"""The soak test's picture: the server's RSS over time, with the fitted line, drawn with OpenCV."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np

W, H = 900, 420
LEFT, RIGHT, TOP, BOTTOM = 80, 30, 50, 60
INK, GRID, LINE, FIT, WARM = (40, 40, 40), (225, 225, 225), (180, 90, 20), (40, 40, 200), (235, 235, 235)
FONT = cv2.FONT_HERSHEY_SIMPLEX


def draw_rss(samples: Sequence[Mapping[str, Any]], fit: Mapping[str, Any], warmup: float, path: Path) -> Path:
    """``samples``: ``{"t": s, "rss_mb": MB}``; writes a PNG to ``path``."""
    image = np.full((H, W, 3), 255, np.uint8)
    t = np.array([s["t"] for s in samples], float) / 60.0
    mb = np.array([s["rss_mb"] for s in samples], float)
    if len(t) < 2:
        cv2.putText(image, "not enough samples", (LEFT, H // 2), FONT, 0.7, INK, 1, cv2.LINE_AA)
        cv2.imwrite(str(path), image)
        return path
    t_max = max(float(t[-1]), 1e-6)
    lo, hi = float(mb.min()), float(mb.max())
    pad = max(5.0, (hi - lo) * 0.2)
    lo, hi = max(0.0, lo - pad), hi + pad

    def xy(minutes: float, value: float) -> tuple[int, int]:
        x = LEFT + (W - LEFT - RIGHT) * minutes / t_max
        y = H - BOTTOM - (H - TOP - BOTTOM) * (value - lo) / (hi - lo)
        return round(x), round(y)

    cv2.rectangle(image, xy(0, hi), xy(min(warmup / 60.0, t_max), lo), WARM, -1)
    for k in range(6):
        value = lo + (hi - lo) * k / 5
        y = xy(0, value)[1]
        cv2.line(image, (LEFT, y), (W - RIGHT, y), GRID, 1)
        cv2.putText(image, f"{value:.0f}", (8, y + 5), FONT, 0.45, INK, 1, cv2.LINE_AA)
        minutes = t_max * k / 5
        x = xy(minutes, lo)[0]
        label = f"{minutes:.{1 if t_max >= 2 else 2}f}"
        cv2.putText(image, label, (x - 12, H - BOTTOM + 20), FONT, 0.45, INK, 1, cv2.LINE_AA)
    cv2.rectangle(image, (LEFT, TOP), (W - RIGHT, H - BOTTOM), INK, 1)
    points = np.array([xy(float(a), float(b)) for a, b in zip(t, mb, strict=True)], np.int32)
    cv2.polylines(image, [points], False, LINE, 2, cv2.LINE_AA)
    if fit.get("mb_per_hour") is not None:
        start = warmup / 60.0
        line = [xy(m, fit["intercept_mb"] + fit["mb_per_hour"] * m / 60.0) for m in (start, t_max)]
        cv2.line(image, line[0], line[1], FIT, 2, cv2.LINE_AA)
    title = "server RSS (MB) over time (min); shaded: warm-up"
    if fit.get("mb_per_hour") is not None:
        per_stream = fit.get("kb_per_stream")
        title += f"; fit {fit['mb_per_hour']:+.2f} MB/h"
        title += f", {per_stream:+.2f} KB/stream" if per_stream is not None else ""
    cv2.putText(image, title, (LEFT, 30), FONT, 0.55, INK, 1, cv2.LINE_AA)
    cv2.putText(image, "minutes", (W // 2 - 30, H - 15), FONT, 0.5, INK, 1, cv2.LINE_AA)
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), image)
    return path
