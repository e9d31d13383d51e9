"""Training and held-out frame sets drawn from the procedural street scenes.

Seeds are split so evaluation never sees a training scene: training uses seeds from 10_000 up,
evaluation (in ``evaluation``) uses seeds below 1_000. Training uses the scenarios ``drive``,
``pan`` and ``static`` with no corruption or mild noise/blur; the ``cuts`` scenario and the fog,
low-light and JPEG corruptions are kept for evaluation only.
"""

from __future__ import annotations

import numpy as np
from tqdm import tqdm

from models.training.dataset import FrameSet, resize_pair
from synthetic import CLASS_NAMES, PALETTE, SceneConfig, StreetSceneVideo

TRAIN_SEED_BASE = 10_000
TRAIN_SCENARIOS = ("drive", "pan", "static")
TRAIN_CORRUPTIONS = ("none", "none", "noise", "blur")


def synthetic_frame_set(
    sequences: int,
    frames_per_sequence: int,
    stride: int,
    size: tuple[int, int],
    render_size: tuple[int, int] = (360, 480),
    seed_base: int = TRAIN_SEED_BASE,
    progress: bool = True,
) -> FrameSet:
    """Frames ``0, stride, 2·stride, ...`` of ``sequences`` scenes, resized to ``size`` = (h, w)."""
    n = sequences * frames_per_sequence
    images = np.empty((n, *size, 3), np.uint8)
    labels = np.empty((n, *size), np.uint8)
    bar = tqdm(total=n, desc="rendering training scenes", unit="frame", disable=not progress)
    k = 0
    for s in range(sequences):
        config = SceneConfig(
            seed=seed_base + s,
            width=render_size[1],
            height=render_size[0],
            scenario=TRAIN_SCENARIOS[s % len(TRAIN_SCENARIOS)],
            corruption=TRAIN_CORRUPTIONS[(s // len(TRAIN_SCENARIOS)) % len(TRAIN_CORRUPTIONS)],
            severity=0.3,
        )
        video = StreetSceneVideo(config)
        for f in range(frames_per_sequence):
            frame = video.frame(f * stride)
            images[k], labels[k] = resize_pair(frame.image, frame.labels, size)
            k += 1
            bar.update(1)
    bar.close()
    return FrameSet(images, labels, tuple(CLASS_NAMES), tuple(tuple(c) for c in PALETTE))  # type: ignore[misc]
