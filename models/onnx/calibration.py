"""Frames for int8 calibration: images from a folder (``--calibration-data``) or the synthetic street scenes."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from synthetic import SceneConfig, StreetSceneVideo

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp")


def folder_frames(folder: str | Path, count: int) -> list[np.ndarray]:
    """Up to ``count`` RGB images spread evenly over the sorted image files of ``folder`` (recursively)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ValueError(f"calibration data {folder} is not a folder")
    files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise ValueError(f"no images ({', '.join(IMAGE_SUFFIXES)}) under {folder}")
    picks = np.linspace(0, len(files) - 1, num=min(count, len(files))).round().astype(int)
    frames = []
    for index in sorted(set(picks.tolist())):
        image = cv2.imread(str(files[index]), cv2.IMREAD_COLOR)
        if image is None:
            raise ValueError(f"cannot read {files[index]}")
        frames.append(cv2.cvtColor(image, cv2.COLOR_BGR2RGB))
    return frames


def synthetic_frames(count: int, width: int = 480, height: int = 360) -> list[np.ndarray]:
    """``count`` frames from several synthetic street scenes (different seeds and scenarios)."""
    frames: list[np.ndarray] = []
    per_scene = max(1, count // 4)
    seed = 0
    while len(frames) < count:
        scenario = ("drive", "pan", "static", "cuts")[seed % 4]
        video = StreetSceneVideo(SceneConfig(seed=100 + seed, width=width, height=height, scenario=scenario))
        frames += [video.frame(i * 7).image for i in range(min(per_scene, count - len(frames)))]
        seed += 1
    return frames
