"""Procedural textures for the big surfaces: the ground (road, markings, pavement) and the sky.

Textures are built once per world and mapped into frames by homographies (see ``render``). Each comes
as an RGB image plus a label image of the same size (``TRANSPARENT`` where nothing is drawn).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from synthetic.classes import PAVEMENT, ROAD
from synthetic.world import WorldStyle

PERIOD = 192.0  # metres after which the street (ground and facades) repeats
GROUND_PPM = 8.0  # texture pixels per metre
GROUND_MARGIN = 30.0  # metres of ground beyond the facades (seen through gaps between buildings)


@dataclass(frozen=True)
class Texture:
    image: np.ndarray  # H x W x 3 uint8 RGB
    labels: np.ndarray  # H x W uint8
    ppm: float  # pixels per metre
    origin: float  # world coordinate of column 0's left edge (x for the ground)


def smooth_noise(rng: np.random.Generator, h: int, w: int, cell: float, octaves: int = 3) -> np.ndarray:
    """Fractal value noise in roughly [0, 1], float32, feature size ``cell`` pixels."""
    out = np.zeros((h, w), np.float32)
    total = 0.0
    amp = 1.0
    for _ in range(octaves):
        gh, gw = max(2, int(h / cell) + 2), max(2, int(w / cell) + 2)
        grid = rng.random((gh, gw), dtype=np.float32)
        out += amp * cv2.resize(grid, (w, h), interpolation=cv2.INTER_CUBIC)
        total += amp
        amp *= 0.5
        cell = max(cell / 2.0, 1.0)
    return np.clip(out / total, 0.0, 1.0)


def tint(base: tuple[int, int, int], shade: np.ndarray) -> np.ndarray:
    """An RGB float image: ``base`` scaled per pixel by ``shade`` (H x W)."""
    return shade[..., None] * np.array(base, np.float32)[None, None, :]


def ground_texture(style: WorldStyle, rng: np.random.Generator, shadows: list[np.ndarray]) -> Texture:
    """Road with markings between the road edges, curbs and tiled pavement outside, baked shadows."""
    ppm = GROUND_PPM
    x_extent = max(-style.facade_left, style.facade_right) + GROUND_MARGIN
    cols, rows = int(2 * x_extent * ppm), int(PERIOD * ppm)
    x = (np.arange(cols, dtype=np.float32) + 0.5) / ppm - x_extent
    z = (np.arange(rows, dtype=np.float32) + 0.5) / ppm
    road = (x >= style.road_left) & (x <= style.road_right)

    grain = rng.random((rows, cols), dtype=np.float32)
    blotch = smooth_noise(rng, rows, cols, 40.0)
    img = tint(style.pavement, 0.85 + 0.2 * blotch + 0.08 * grain)
    tile = rng.uniform(0.3, 0.7)
    joints = ((x[None, :] % tile) < 0.06) | ((z[:, None] % tile) < 0.06)
    img[joints] *= 0.78
    asphalt = tint(style.asphalt, 0.8 + 0.35 * blotch + 0.18 * grain)
    img[:, road] = asphalt[:, road]
    for edge, side in ((style.road_left, -1), (style.road_right, 1)):
        curb = (x * side >= edge * side) & (x * side <= edge * side + 0.2)
        img[:, curb] = np.array(style.curb, np.float32) * (0.9 + 0.1 * grain[:, curb, None])
    _paint_markings(img, style, x, z, rng)
    img = np.clip(img, 0, 255).astype(np.uint8)

    shade = np.ones((rows, cols), np.float32)
    for poly in shadows:  # polygons in world (x, z); drawn at z and z +- PERIOD so they wrap
        for shift in (-PERIOD, 0.0, PERIOD):
            pts = np.stack([(poly[:, 0] + x_extent) * ppm, (poly[:, 1] + shift) * ppm], axis=1)
            cv2.fillPoly(shade, [np.round(pts).astype(np.int32)], 0.55)
    if shadows:
        img = (img * shade[..., None]).astype(np.uint8)

    labels = np.full((rows, cols), PAVEMENT, np.uint8)
    labels[:, road] = ROAD
    return Texture(img, labels, ppm, -x_extent)


def _paint_markings(img: np.ndarray, style: WorldStyle, x: np.ndarray, z: np.ndarray,
                    rng: np.random.Generator) -> None:
    paint = np.array(style.marking_color, np.float32)
    white = np.array((232, 232, 228), np.float32)
    width = 0.13

    def line(x0: float, dash: float, gap: float, color: np.ndarray) -> None:
        cols = np.abs(x - x0) < width / 2
        rows = (z % (dash + gap)) < dash if gap > 0 else np.ones_like(z, bool)
        img[np.ix_(rows, cols)] = color * 0.93
    if style.center_line == "dashed":
        line(0.0, 3.0, 6.0, paint)
    elif style.center_line == "solid":
        line(0.0, 1.0, 0.0, paint)
    else:
        line(-0.15, 1.0, 0.0, paint)
        line(0.15, 1.0, 0.0, paint)
    lanes = style.lanes_per_direction
    for k in range(1, lanes):
        line(k * style.lane_width, 3.0, 9.0, white)
        line(-k * style.lane_width, 3.0, 9.0, white)
    if style.road_right - lanes * style.lane_width > 1.0:
        line(lanes * style.lane_width, 1.0, 0.0, white)
    if -style.road_left - lanes * style.lane_width > 1.0:
        line(-lanes * style.lane_width, 1.0, 0.0, white)
    for _ in range(rng.integers(1, 3)):  # zebra crossings
        z0 = rng.uniform(10.0, PERIOD - 10.0)
        rows = (z >= z0) & (z <= z0 + 4.0)
        cols = (x > style.road_left + 0.3) & (x < style.road_right - 0.3) & ((x % 1.0) < 0.5)
        img[np.ix_(rows, cols)] = white * 0.95
    patches = np.ones(img.shape[:2], np.float32)
    x_extent = float(-x[0]) + 0.5 / GROUND_PPM
    for _ in range(rng.integers(3, 9)):  # manholes and repair patches
        cx = (rng.uniform(style.road_left + 1, style.road_right - 1) + x_extent) * GROUND_PPM
        cz = rng.uniform(0, PERIOD) * GROUND_PPM
        r = rng.uniform(0.3, 1.5) * GROUND_PPM
        axes = (int(r), int(r * rng.uniform(0.5, 2.5)))
        cv2.ellipse(patches, (int(cx), int(cz)), axes, 0, 0, 360, float(rng.uniform(0.6, 0.88)), -1)
    img *= patches[..., None]


def sky_panorama(style: WorldStyle, rng: np.random.Generator, focal: float, width: int, height: int) -> np.ndarray:
    """A cylindrical sky: 2 * height rows (horizon at row ``height``), 2*pi*focal columns + ``width`` (wrap)."""
    circumference = int(2 * math.pi * focal)
    rows = 2 * height
    t = np.clip((height - np.arange(rows, dtype=np.float32)) / (1.2 * height), 0.0, 1.0)[:, None]
    if style.sky == "overcast":
        g = rng.uniform(165, 215)
        zenith = np.array((g - 12, g - 8, g), np.float32)
        horizon = np.array((g + 15, g + 15, g + 16), np.float32)
    else:
        zenith = np.array((rng.uniform(55, 120), rng.uniform(110, 165), rng.uniform(195, 245)), np.float32)
        horizon = np.array((rng.uniform(185, 225), rng.uniform(205, 230), rng.uniform(228, 250)), np.float32)
    base = horizon[None, None, :] * (1 - t[..., None]) + zenith[None, None, :] * t[..., None]
    sky = np.repeat(base, circumference, axis=1)
    noise = smooth_noise(rng, rows, circumference, 60.0, octaves=4)
    if style.sky == "cloudy":
        cover = np.clip((noise - rng.uniform(0.4, 0.55)) * 4.0, 0.0, 1.0)[..., None]
        cloud = np.array((238, 238, 240), np.float32) * (0.8 + 0.25 * noise[..., None])
        sky = sky * (1 - cover) + cloud * cover
    else:
        sky = sky * (0.94 + 0.1 * noise[..., None])
    sky = np.clip(sky, 0, 255).astype(np.uint8)
    reps = 1 + width // circumference + 1
    return np.concatenate([sky] * reps, axis=1)[:, : circumference + width]
