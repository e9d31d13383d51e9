"""The public video: ``StreetSceneVideo(SceneConfig(...)).frame(i)`` -> image and exact labels."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from synthetic.corruptions import apply_corruptions, in_ranges, parse_corruptions, parse_frame_ranges
from synthetic.keyed_random import KeyedRandom, hash_int
from synthetic.lighting import SensorNoise, apply_lighting
from synthetic.motion import CameraPlan, make_plan
from synthetic.street import Street
from synthetic.world import SCENARIOS

SHOT_SCENARIOS: tuple[str, ...] = ("drive", "pan", "static")
_WORLDS_KEPT = 4  # built streets shared by all videos in the process (about 25 MB each at 480x360)


@dataclass(frozen=True)
class SceneConfig:
    seed: int = 0
    width: int = 480
    height: int = 360
    fps: float = 15.0
    scenario: str = "drive"  # drive, pan, static, cuts
    corruption: str = "none"  # "none" or e.g. "fog+noise" (noise, blur, fog, lowlight, jpeg)
    severity: float = 0.5  # 0..1
    num_frames: int | None = None  # None: endless
    cut_every: int = 60
    corrupt_frames: str = ""  # "" = every frame; else frame ranges "30-89,150-" that get the corruption

    def __post_init__(self) -> None:
        if not isinstance(self.seed, int) or self.seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {self.seed!r}")
        if not (16 <= self.width <= 8192 and 16 <= self.height <= 8192):
            raise ValueError(f"width and height must be in 16..8192, got {self.width}x{self.height}")
        if not self.fps > 0:
            raise ValueError(f"fps must be positive, got {self.fps!r}")
        if self.scenario not in SCENARIOS:
            raise ValueError(f"unknown scenario {self.scenario!r}; allowed: {', '.join(SCENARIOS)}")
        parse_corruptions(self.corruption)
        if not 0.0 <= self.severity <= 1.0:
            raise ValueError(f"severity must be in [0, 1], got {self.severity!r}")
        if self.num_frames is not None and self.num_frames < 0:
            raise ValueError(f"num_frames must be >= 0 or None, got {self.num_frames!r}")
        if self.cut_every < 1:
            raise ValueError(f"cut_every must be >= 1, got {self.cut_every!r}")
        parse_frame_ranges(self.corrupt_frames)


@dataclass(frozen=True)
class SyntheticFrame:
    index: int
    timestamp: float  # index / fps, seconds
    image: np.ndarray  # H x W x 3 uint8 RGB
    labels: np.ndarray  # H x W uint8 class indices (see synthetic.classes)


@dataclass(frozen=True)
class _Shot:
    world_seed: int
    plan_key: int
    scenario: str
    time: float  # seconds into the shot's own clock


class StreetSceneVideo:
    """A deterministic, random-access procedural street video with per-pixel labels."""

    def __init__(self, config: SceneConfig) -> None:
        self.config = config
        self._corruptions = parse_corruptions(config.corruption)
        self._corrupt_ranges = parse_frame_ranges(config.corrupt_frames)
        self._plans: dict[tuple[int, int, str], CameraPlan] = {}

    def __len__(self) -> int:
        if self.config.num_frames is None:
            raise TypeError("an endless StreetSceneVideo (num_frames=None) has no length")
        return self.config.num_frames

    def __iter__(self) -> Iterator[SyntheticFrame]:
        index = 0
        while self.config.num_frames is None or index < self.config.num_frames:
            yield self.frame(index)
            index += 1

    def shot_of(self, index: int) -> int:
        """Which shot (continuous camera take) a frame belongs to; changes only in "cuts" videos."""
        return index // self.config.cut_every if self.config.scenario == "cuts" else 0

    def frame(self, index: int) -> SyntheticFrame:
        if index < 0 or (self.config.num_frames is not None and index >= self.config.num_frames):
            raise IndexError(f"frame {index} out of range")
        cfg = self.config
        shot = self._shot(index)
        street, noise = self._street(shot.world_seed)
        plan_key = (shot.world_seed, shot.plan_key, shot.scenario)
        plan = self._plans.get(plan_key)
        if plan is None:
            plan = self._plans[plan_key] = make_plan(street.style, shot.scenario, shot.plan_key)
        corrupt = bool(self._corruptions) and in_ranges(index, self._corrupt_ranges)
        canvas, _ = street.render(plan, shot.time, with_depth=corrupt and "fog" in self._corruptions)
        image = apply_lighting(canvas.image, street.style, shot.time)
        image = noise.apply(image, index)
        if corrupt:
            keys = (cfg.seed, index, 0xC0)
            image = apply_corruptions(image, self._corruptions, cfg.severity, keys, canvas.inv_depth)
        return SyntheticFrame(index, index / cfg.fps, image, canvas.labels)

    def _shot(self, index: int) -> _Shot:
        cfg = self.config
        if cfg.scenario != "cuts":
            return _Shot(cfg.seed, 0, cfg.scenario, index / cfg.fps)
        shot = index // cfg.cut_every
        rnd = KeyedRandom(cfg.seed, shot, 0xC7)
        start = rnd.uniform(0.0, 30.0)
        local = (index - shot * cfg.cut_every) / cfg.fps
        world_seed = hash_int(cfg.seed, shot, 0xC8) & 0x7FFFFFFF
        return _Shot(world_seed, shot, rnd.choice(SHOT_SCENARIOS), start + local)

    def _street(self, world_seed: int) -> tuple[Street, SensorNoise]:
        return _built_street(world_seed, self.config.width, self.config.height)


@lru_cache(maxsize=_WORLDS_KEPT)
def _built_street(world_seed: int, width: int, height: int) -> tuple[Street, SensorNoise]:
    """Streets are deterministic and read-only once built, so videos of the same world share them."""
    return Street(world_seed, width, height), SensorNoise(world_seed, width, height)
