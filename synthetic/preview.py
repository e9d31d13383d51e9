"""A preview sheet: frames of a few scenarios and corruptions, each beside its colourised labels."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from synthetic.classes import PALETTE
from synthetic.scene import SceneConfig, StreetSceneVideo

PREVIEW_ROWS: tuple[tuple[str, SceneConfig], ...] = (
    ("drive, seed 0", SceneConfig(seed=0, scenario="drive")),
    ("pan, seed 3", SceneConfig(seed=3, scenario="pan")),
    ("static, seed 4 (park on one side)", SceneConfig(seed=4, scenario="static")),
    ("cuts, seed 9", SceneConfig(seed=9, scenario="cuts", cut_every=25)),
    ("drive, seed 12, fog+noise", SceneConfig(seed=12, corruption="fog+noise", severity=0.6)),
)
PREVIEW_FRAMES: tuple[int, ...] = (0, 24, 48)


def colorize(labels: np.ndarray) -> np.ndarray:
    """Class indices -> RGB image in the CamVid palette (unknown values black)."""
    lut = np.zeros((256, 3), np.uint8)
    lut[: len(PALETTE)] = np.array(PALETTE, np.uint8)
    return lut[labels]


def preview_sheet(scale: float = 0.5) -> np.ndarray:
    rows = []
    for title, config in PREVIEW_ROWS:
        video = StreetSceneVideo(config)
        tiles = []
        for index in PREVIEW_FRAMES:
            frame = video.frame(index)
            pair = np.concatenate([frame.image, colorize(frame.labels)], axis=1)
            pair = cv2.resize(pair, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
            tiles.append(np.pad(pair, ((0, 4), (0, 4), (0, 0)), constant_values=255))
        row = np.concatenate(tiles, axis=1)
        cv2.putText(row, f"{title}: frames {', '.join(map(str, PREVIEW_FRAMES))}", (6, 16),
                    cv2.FONT_HERSHEY_SIMPLEX, 0.45, (255, 255, 255), 1, cv2.LINE_AA)
        rows.append(row)
    return np.concatenate(rows, axis=0)


def write_preview(path: str | Path) -> Path:
    """Write the preview sheet as a PNG and return its path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(path), preview_sheet()[..., ::-1]):
        raise OSError(f"could not write {path}")
    return path
