"""Global lighting that drifts over time, a slight optical blur, and mild sensor noise."""

from __future__ import annotations

import math

import cv2
import numpy as np

from synthetic.keyed_random import KeyedRandom, generator
from synthetic.world import WorldStyle

NOISE_SIGMA = 2.2  # grey levels of always-on sensor noise
_PAD = 32


def lighting_lut(style: WorldStyle, t: float) -> np.ndarray:
    """A per-channel look-up table: brightness and colour temperature drifting smoothly with time."""
    rnd = KeyedRandom(style.seed, 0x119)
    p1, p2, p3 = rnd.uniform(0, 6.3), rnd.uniform(0, 6.3), rnd.uniform(0, 6.3)
    w1, w2, w3 = rnd.uniform(0.05, 0.15), rnd.uniform(0.3, 0.7), rnd.uniform(0.03, 0.1)
    gain = style.brightness * (1.0 + 0.12 * math.sin(w1 * t + p1) + 0.04 * math.sin(w2 * t + p2))
    temp = style.temperature + 0.5 * math.sin(w3 * t + p3)
    channel_gain = gain * np.array([1.0 + 0.07 * temp, 1.0 + 0.01 * temp, 1.0 - 0.07 * temp])
    contrast = 1.0 + 0.15 * rnd.uniform(-1.0, 1.0)
    x = np.arange(256, dtype=np.float32) / 255.0
    curve = np.clip(0.5 + (x - 0.5) * contrast, 0.0, 1.0)
    lut = np.clip(curve[:, None] * channel_gain[None, :] * 255.0, 0, 255).astype(np.uint8)
    return lut.reshape(256, 1, 3)


def apply_lighting(image: np.ndarray, style: WorldStyle, t: float) -> np.ndarray:
    image = cv2.GaussianBlur(image, (3, 3), 0.6)
    return cv2.LUT(image, lighting_lut(style, t))


class SensorNoise:
    """A fixed noise field per world; each frame adds a different, keyed window of it."""

    def __init__(self, seed: int, width: int, height: int) -> None:
        rng = generator(seed, 0x5E)
        field = rng.normal(0.0, NOISE_SIGMA, (height + _PAD, width + _PAD, 3))
        self._field = np.round(field).astype(np.int16)
        self._seed = seed
        self._size = (height, width)

    def apply(self, image: np.ndarray, index: int) -> np.ndarray:
        rnd = KeyedRandom(self._seed, index, 0x5F)
        dy, dx = rnd.integer(0, _PAD - 1), rnd.integer(0, _PAD - 1)
        h, w = self._size
        noisy = image.astype(np.int16) + self._field[dy : dy + h, dx : dx + w]
        return np.clip(noisy, 0, 255).astype(np.uint8)
