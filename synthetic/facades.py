"""Building facades along one side of the street: one long texture of varied buildings.

Each building gets a colour, a material (plaster, brick, concrete panels, glass), a grid of windows,
a ground floor with doors or shop windows, and a cornice. Pixels above the roofs and in the gaps
between buildings are TRANSPARENT, so the sky and what lies behind show through.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from synthetic.classes import BUILDING, TRANSPARENT
from synthetic.textures import PERIOD, Texture, smooth_noise
from synthetic.world import WorldStyle

FACADE_PPM = 12.0
MAX_HEIGHT = 34.0  # metres above the ground covered by the texture
BELOW = 2.0  # metres of transparent rows below the ground, so wrapped samples stay transparent


@dataclass(frozen=True)
class Building:
    z0: float
    z1: float
    height: float


def facade_texture(style: WorldStyle, rng: np.random.Generator, side: int) -> tuple[Texture, list[Building]]:
    """The facade texture of one side (-1 left, 1 right); empty where that side is a park."""
    ppm = FACADE_PPM
    rows, cols = int(MAX_HEIGHT * ppm), int(PERIOD * ppm)
    img = np.zeros((rows, cols, 3), np.float32)
    labels = np.full((rows, cols), TRANSPARENT, np.uint8)
    grain = rng.random((rows, cols), dtype=np.float32)
    blotch = smooth_noise(rng, rows, cols, 30.0)
    buildings: list[Building] = []
    z = 0.0
    tall_bias = rng.uniform(0.0, 1.0)
    while z < PERIOD - 4.0 and side not in style.open_sides:
        if buildings and rng.random() < 0.12:
            z += rng.uniform(1.5, 6.0)  # a gap
            continue
        width = min(rng.uniform(6.0, 26.0), PERIOD - z)
        height = rng.uniform(5.0, 12.0 + 20.0 * tall_bias)
        c0, c1 = int(z * ppm), int((z + width) * ppm)
        r0 = rows - int(height * ppm)
        block = img[r0:, c0:c1]
        _paint_building(block, style, rng, grain[r0:, c0:c1], blotch[r0:, c0:c1], ppm)
        labels[r0:, c0:c1] = BUILDING
        buildings.append(Building(z, z + width, height))
        z += width
    pad = int(BELOW * ppm)
    img = np.concatenate([img, np.zeros((pad, cols, 3), np.float32)])
    labels = np.concatenate([labels, np.full((pad, cols), TRANSPARENT, np.uint8)])
    return Texture(np.clip(img, 0, 255).astype(np.uint8), labels, ppm, 0.0), buildings


def _paint_building(block: np.ndarray, style: WorldStyle, rng: np.random.Generator,
                    grain: np.ndarray, blotch: np.ndarray, ppm: float) -> None:
    rows, cols = block.shape[:2]
    y = (rows - np.arange(rows, dtype=np.float32) - 0.5)[:, None] / ppm  # metres above ground
    x = (np.arange(cols, dtype=np.float32) + 0.5)[None, :] / ppm  # metres from the building's edge
    base = np.array(style.facade_colors[rng.integers(len(style.facade_colors))], np.float32)
    base = np.clip(base + rng.uniform(-18, 18, 3).astype(np.float32), 0, 255)
    material = rng.choice(["plaster", "brick", "panel", "glass"], p=[0.4, 0.25, 0.2, 0.15])
    shade = 0.85 + 0.2 * blotch + 0.1 * grain
    if material == "brick":
        course = 0.3
        row_i = np.floor(y / course)
        mortar = ((y % course) < 0.07) | (((x + 0.4 * (row_i % 2)) % 0.8) < 0.07)
        shade = shade * np.where(mortar, 1.25, 1.0)
    elif material == "panel":
        seam = ((y % 1.5) < 0.08) | ((x % 2.5) < 0.08)
        shade = shade * np.where(seam, 0.75, 1.0)
    elif material == "glass":
        base = np.array(rng.choice([(70, 95, 110), (60, 80, 85), (95, 110, 120), (50, 60, 75)]), np.float32)
        shade = 0.8 + 0.5 * blotch + 0.05 * grain + 0.25 * (y / max(float(y.max()), 1.0))
        mullion = ((y % 1.8) < 0.12) | ((x % 1.5) < 0.1)
        shade = shade * np.where(mullion, 1.6, 1.0)
    shade = shade * (0.9 + 0.1 * np.clip(y / 3.0, 0, 1))  # grime near the ground
    block[:] = shade[..., None] * base
    ground_floor = rng.uniform(3.2, 4.5)
    if material != "glass":
        _paint_windows(block, rng, x, y, ground_floor, ppm)
    _paint_ground_floor(block, rng, x, y, ground_floor, ppm, base)
    cornice = y > (rows / ppm - rng.uniform(0.3, 0.8))
    block[np.broadcast_to(cornice, block.shape[:2])] *= rng.uniform(0.65, 1.2)


def _paint_windows(block: np.ndarray, rng: np.random.Generator, x: np.ndarray, y: np.ndarray,
                   ground_floor: float, ppm: float) -> None:
    floor_h = rng.uniform(2.8, 3.8)
    spacing = rng.uniform(2.0, 3.6)
    win_w = rng.uniform(0.8, min(1.7, spacing - 0.5))
    win_h = rng.uniform(1.2, min(2.1, floor_h - 0.8))
    sill = rng.uniform(0.7, floor_h - win_h - 0.1)
    width = x.max() + 0.5 / ppm
    margin = (width % spacing) / 2.0 + (spacing - win_w) / 2.0
    top = y.max() - 0.9
    ya = y - ground_floor
    in_col = ((x - margin) % spacing < win_w) & (x >= margin - 0.01) & (x <= width - margin + 0.01)
    in_row = (ya >= 0) & ((ya % floor_h) >= sill) & ((ya % floor_h) < sill + win_h) & (y < top)
    window = in_col & in_row
    if not window.any():
        return
    ix = np.floor((x - margin) / spacing).astype(np.int64)
    iy = np.floor(ya / floor_h).astype(np.int64)
    table = rng.random(4096).astype(np.float32)
    ids = (ix * 131 + iy * 17) % 4096
    brightness = np.broadcast_to(table[ids], window.shape)
    glass_tone = np.array(rng.choice([(45, 55, 70), (70, 85, 100), (35, 40, 45), (90, 110, 125)]), np.float32)
    frame_tone = np.array(rng.choice([(225, 225, 220), (60, 55, 50), (150, 150, 150)]), np.float32)
    reflect = 1.0 - 0.5 * ((ya % floor_h) - sill) / win_h  # brighter near the top of each pane
    glass = glass_tone * (0.6 + 0.9 * brightness[..., None]) * np.broadcast_to(reflect, window.shape)[..., None]
    lit = brightness > 0.93
    glass[lit] = np.array((235, 205, 140), np.float32) * (0.8 + 0.2 * brightness[lit, None])
    border = 1.5 / ppm
    inner = (((x - margin) % spacing) > border) & (((x - margin) % spacing) < win_w - border)
    inner = inner & ((ya % floor_h) > sill + border) & ((ya % floor_h) < sill + win_h - border)
    frame = window & ~inner
    block[window & inner] = glass[window & inner]
    block[frame] = frame_tone


def _paint_ground_floor(block: np.ndarray, rng: np.random.Generator, x: np.ndarray, y: np.ndarray,
                        ground_floor: float, ppm: float, base: np.ndarray) -> None:
    width = float(x.max())
    if rng.random() < 0.5 and width > 5.0:  # shop front: awning band and a big window
        awning = (y > ground_floor - 0.7) & (y < ground_floor - 0.1) & (x > 0.4) & (x < width - 0.4)
        colour = np.array(rng.choice([(170, 40, 40), (30, 90, 60), (40, 60, 140), (200, 160, 40),
                                      (90, 90, 90)]), np.float32)
        block[np.broadcast_to(awning, block.shape[:2])] = colour * rng.uniform(0.8, 1.1)
        shop = (y > 0.4) & (y < ground_floor - 0.9) & (x > 0.8) & (x < width - 0.8)
        glass = np.array((50, 60, 68), np.float32) * (0.8 + 0.5 * (y / ground_floor))[..., None]
        mask = np.broadcast_to(shop, block.shape[:2])
        block[mask] = np.broadcast_to(glass, block.shape)[mask]
    for _ in range(rng.integers(1, 3)):  # doors
        d0 = rng.uniform(0.5, max(width - 1.8, 0.6))
        door = (y < rng.uniform(2.1, 2.6)) & (x > d0) & (x < d0 + rng.uniform(1.0, 1.6))
        colour = np.array(rng.choice([(80, 50, 30), (40, 40, 45), (120, 90, 60), (150, 40, 30)]), np.float32)
        block[np.broadcast_to(door, block.shape[:2])] = colour
    plinth = y < 0.4
    block[np.broadcast_to(plinth, block.shape[:2])] = base * 0.6
