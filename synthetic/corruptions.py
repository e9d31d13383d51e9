"""Image corruptions (labels are never touched): noise, motion blur, fog, low light, JPEG."""

from __future__ import annotations

import math

import cv2
import numpy as np

from synthetic.keyed_random import KeyedRandom, generator

CORRUPTIONS: tuple[str, ...] = ("noise", "blur", "fog", "lowlight", "jpeg")
_ORDER = ("fog", "lowlight", "blur", "noise", "jpeg")  # scene, light, optics, sensor, codec


def parse_corruptions(spec: str) -> tuple[str, ...]:
    """``"none"`` -> (); ``"fog+noise"`` -> ("fog", "noise"). Raises ValueError naming the choices."""
    spec = spec.strip().lower().replace(" ", "+")
    if spec in ("", "none"):
        return ()
    names = [part for part in spec.split("+") if part]
    bad = [n for n in names if n not in CORRUPTIONS]
    if bad:
        raise ValueError(f"unknown corruption {bad[0]!r}; allowed: none, or any of {', '.join(CORRUPTIONS)} "
                         "joined by '+'")
    return tuple(n for n in _ORDER if n in names)


def parse_frame_ranges(spec: str) -> tuple[tuple[int, int | None], ...]:
    """``""`` -> () (every frame); ``"30-89,150-"`` -> ((30, 89), (150, None)): inclusive frame ranges,
    an open end runs forever. Raises ValueError on anything else."""
    ranges: list[tuple[int, int | None]] = []
    for part in filter(None, (p.strip() for p in spec.split(","))):
        first, dash, last = part.partition("-")
        try:
            start = int(first)
            end = (int(last) if last.strip() else None) if dash else start
        except ValueError:
            raise ValueError(f"frame range {part!r}: expected N, N-M or N-") from None
        if start < 0 or (end is not None and end < start):
            raise ValueError(f"frame range {part!r}: expected 0 <= N <= M")
        ranges.append((start, end))
    return tuple(ranges)


def in_ranges(index: int, ranges: tuple[tuple[int, int | None], ...]) -> bool:
    """Whether frame ``index`` lies in ``ranges`` (no ranges: every frame does)."""
    return not ranges or any(start <= index and (end is None or index <= end) for start, end in ranges)


def apply_corruptions(image: np.ndarray, names: tuple[str, ...], severity: float, keys: tuple[int, ...],
                      inv_depth: np.ndarray | None) -> np.ndarray:
    s = float(np.clip(severity, 0.0, 1.0))
    for name in names:
        if name == "fog":
            image = _fog(image, s, inv_depth)
        elif name == "lowlight":
            image = _lowlight(image, s, keys)
        elif name == "blur":
            image = _motion_blur(image, s, keys)
        elif name == "noise":
            image = _noise(image, 4.0 + 22.0 * s, keys)
        elif name == "jpeg":
            quality = round(70 - 62 * s)
            ok, data = cv2.imencode(".jpg", image[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, quality])
            if ok:
                image = np.ascontiguousarray(cv2.imdecode(data, cv2.IMREAD_COLOR)[..., ::-1])
    return image


def _fog(image: np.ndarray, s: float, inv_depth: np.ndarray | None) -> np.ndarray:
    visibility = 160.0 * (1.0 - s) + 12.0 * s  # metres
    if inv_depth is None:
        amount = np.full(image.shape[:2], 0.6 * s, np.float32)
    else:
        depth = 1.0 / np.maximum(inv_depth, 1e-4)
        amount = 1.0 - np.exp(-depth / visibility)
    amount = (0.15 * s + (1.0 - 0.15 * s) * amount)[..., None]
    fog = np.array((200.0, 203.0, 208.0), np.float32)
    return (image * (1.0 - amount) + fog * amount).astype(np.uint8)


def _lowlight(image: np.ndarray, s: float, keys: tuple[int, ...]) -> np.ndarray:
    gain = 0.6 * (1.0 - s) + 0.12 * s
    x = np.arange(256, dtype=np.float32) / 255.0
    tint = np.array([0.92, 0.97, 1.08], np.float32)
    lut = np.clip((x[:, None] ** 1.25) * gain * tint[None, :] * 255.0, 0, 255).astype(np.uint8)
    dark = cv2.LUT(image, lut.reshape(256, 1, 3))
    return _noise(dark, 2.0 + 8.0 * s, (*keys, 0x10))


def _motion_blur(image: np.ndarray, s: float, keys: tuple[int, ...]) -> np.ndarray:
    rnd = KeyedRandom(*keys, 0xB1)
    length = 3 + round(14 * s)
    angle = rnd.uniform(-0.35, 0.35) + (math.pi / 2 if rnd.chance(0.15) else 0.0)
    kernel = np.zeros((length, length), np.float32)
    c = (length - 1) / 2.0
    dx, dy = math.cos(angle) * c, math.sin(angle) * c
    cv2.line(kernel, (round(c - dx), round(c - dy)), (round(c + dx), round(c + dy)), 1.0, 1)
    kernel /= kernel.sum()
    return cv2.filter2D(image, -1, kernel, borderType=cv2.BORDER_REFLECT)


def _noise(image: np.ndarray, sigma: float, keys: tuple[int, ...]) -> np.ndarray:
    noise = generator(*keys, 0x77).standard_normal(image.shape, dtype=np.float32) * sigma
    return np.clip(image + noise, 0, 255).astype(np.uint8)
