"""Order-independent randomness: every random value is a pure function of integer keys.

Random access to frames needs values that do not depend on what was drawn before, so objects draw
their attributes from ``KeyedRandom(world_seed, stream, index)`` rather than from a shared generator.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

import numpy as np

_MASK = (1 << 64) - 1
T = TypeVar("T")


def _splitmix(x: int) -> int:
    x = (x + 0x9E3779B97F4A7C15) & _MASK
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK
    return x ^ (x >> 31)


def hash_int(*keys: int) -> int:
    """A 64-bit hash of a sequence of (possibly negative) integers."""
    h = 0x6A09E667F3BCC908
    for key in keys:
        h = _splitmix(h ^ (int(key) & _MASK))
    return h


def generator(*keys: int) -> np.random.Generator:
    """A numpy generator seeded from the keys (for bulk work such as textures)."""
    return np.random.default_rng(hash_int(*keys))


class KeyedRandom:
    """A cheap stream of random numbers determined only by its keys."""

    __slots__ = ("_base", "_count")

    def __init__(self, *keys: int) -> None:
        self._base = hash_int(*keys)
        self._count = 0

    def random(self) -> float:
        self._count += 1
        return (_splitmix(self._base ^ self._count) >> 11) / float(1 << 53)

    def uniform(self, low: float, high: float) -> float:
        return low + (high - low) * self.random()

    def integer(self, low: int, high: int) -> int:
        """An integer in [low, high]."""
        return low + min(int(self.random() * (high - low + 1)), high - low)

    def choice(self, items: Sequence[T]) -> T:
        return items[self.integer(0, len(items) - 1)]

    def weighted(self, items: Sequence[T], weights: Sequence[float]) -> T:
        x = self.random() * sum(weights)
        for item, weight in zip(items, weights, strict=True):
            x -= weight
            if x < 0:
                return item
        return items[-1]

    def chance(self, p: float) -> bool:
        return self.random() < p

    def jitter_color(self, rgb: Sequence[int], amount: float) -> tuple[int, int, int]:
        """The colour with each channel moved by up to ``amount`` (shared brightness + a little hue)."""
        shift = self.uniform(-amount, amount)
        out = [int(np.clip(c + shift + self.uniform(-amount, amount) * 0.35, 0, 255)) for c in rgb]
        return out[0], out[1], out[2]
