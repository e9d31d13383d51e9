"""The held-out evaluation set: synthetic street videos the default model never saw in training.

Training (``models.training.synthetic_data``) renders seeds from 10 000 up with the scenarios
``drive``/``pan``/``static`` and no corruption, noise or blur; its validation uses seeds from 500 up.
The held-out set uses seeds 1..99, adds the ``cuts`` scenario (never trained on) and the fog,
low-light and JPEG corruptions (never trained on) beside noise and blur, and keeps clean sequences
so the clean/corrupted split can be read off ``per_sequence``.

Every mode sees exactly the same frames: a sequence is rendered once, then replayed per mode.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np
import torch

from synthetic import SceneConfig, StreetSceneVideo

HELD_OUT_SEEDS = range(1, 100)
# (scenario, corruption), cycled; seeds count up from the suite's first seed.
HELD_OUT_SPECS: tuple[tuple[str, str], ...] = (
    ("drive", "none"),
    ("cuts", "fog"),
    ("pan", "none"),
    ("drive", "lowlight"),
    ("static", "jpeg"),
    ("cuts", "noise+blur"),
)
# ``--suite motion`` (motion-aware smoothing, docs/motion.md): camera motion (pan, forward drive), scene
# cuts, and a static camera where aligning must cost nothing; two corrupted motion sequences.
MOTION_SPECS: tuple[tuple[str, str], ...] = (
    ("pan", "none"),
    ("drive", "none"),
    ("cuts", "none"),
    ("static", "none"),
    ("pan", "noise+blur"),
    ("drive", "lowlight"),
)
SUITES: dict[str, tuple[tuple[str, str], ...]] = {"default": HELD_OUT_SPECS, "motion": MOTION_SPECS}
DEFAULT_SEQUENCES = 6
DEFAULT_FRAMES = 40
QUICK_SEQUENCES = 2
QUICK_FRAMES = 8
RENDER_SIZE = (360, 480)  # (height, width) of the rendered video
FPS = 15.0
SEVERITY = 0.5


@dataclass(frozen=True)
class SequenceSpec:
    """One held-out video: which scene, how it is corrupted, how many frames at which size."""

    seed: int
    scenario: str
    corruption: str
    frames: int
    size: tuple[int, int] = RENDER_SIZE
    fps: float = FPS
    severity: float = SEVERITY

    @property
    def name(self) -> str:
        return f"{self.scenario}-{self.corruption}-s{self.seed}"

    @property
    def cut_every(self) -> int:
        """``cuts`` videos change shot once, in the middle of the sequence."""
        return max(1, self.frames // 2)

    def scene_config(self) -> SceneConfig:
        return SceneConfig(
            seed=self.seed,
            width=self.size[1],
            height=self.size[0],
            fps=self.fps,
            scenario=self.scenario,
            corruption=self.corruption,
            severity=self.severity,
            num_frames=self.frames,
            cut_every=self.cut_every,
        )


@dataclass
class EvalSequence:
    """Frames of one video in time order; ``labels`` (uint8, ignore 255) is None for unlabelled clips."""

    name: str
    images: list[np.ndarray]
    timestamps: list[float]
    labels: list[np.ndarray] | None = None
    tags: dict[str, str] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.images)

    def labels_at(self, size: tuple[int, int], device: torch.device) -> list[torch.Tensor] | None:
        """Ground truth resized with nearest neighbour to the network's (h, w), on ``device``."""
        if self.labels is None:
            return None
        h, w = size
        out = []
        for label in self.labels:
            if label.shape != (h, w):
                label = cv2.resize(label, (w, h), interpolation=cv2.INTER_NEAREST)
            out.append(torch.from_numpy(np.ascontiguousarray(label)).to(device))
        return out


def held_out_specs(
    sequences: int = DEFAULT_SEQUENCES,
    frames: int = DEFAULT_FRAMES,
    first_seed: int = 1,
    size: tuple[int, int] = RENDER_SIZE,
    fps: float = FPS,
    kinds: Sequence[tuple[str, str]] = HELD_OUT_SPECS,
) -> list[SequenceSpec]:
    """``sequences`` held-out videos of ``frames`` frames, seeds ``first_seed, first_seed + 1, ...``;
    ``kinds`` gives the (scenario, corruption) of each, cycled (``SUITES``)."""
    if sequences < 1 or frames < 1:
        raise ValueError(f"need at least one sequence and one frame, got {sequences} x {frames}")
    seeds = [first_seed + i for i in range(sequences)]
    if seeds[0] not in HELD_OUT_SEEDS or seeds[-1] not in HELD_OUT_SEEDS:
        raise ValueError(
            f"held-out seeds must lie in {HELD_OUT_SEEDS.start}..{HELD_OUT_SEEDS.stop - 1} "
            f"(training uses 10000+, validation 500+); got {seeds[0]}..{seeds[-1]}"
        )
    return [
        SequenceSpec(seed, *kinds[i % len(kinds)], frames=frames, size=size, fps=fps)
        for i, seed in enumerate(seeds)
    ]


def render_sequence(spec: SequenceSpec) -> EvalSequence:
    """Render every frame of ``spec`` (image, exact labels, timestamp = index / fps seconds)."""
    video = StreetSceneVideo(spec.scene_config())
    frames = [video.frame(i) for i in range(spec.frames)]
    return EvalSequence(
        name=spec.name,
        images=[f.image for f in frames],
        timestamps=[f.timestamp for f in frames],
        labels=[f.labels for f in frames],
        tags={"scenario": spec.scenario, "corruption": spec.corruption, "seed": str(spec.seed)},
    )


def render_suite(specs: Sequence[SequenceSpec]) -> list[EvalSequence]:
    return [render_sequence(spec) for spec in specs]
