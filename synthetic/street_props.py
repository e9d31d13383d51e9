"""Sprites of static street objects: trees, bushes, lamp posts, signs, traffic lights, fences."""

from __future__ import annotations

import cv2
import numpy as np

from synthetic.classes import FENCE, POLE, SIGN, TRANSPARENT, TREE
from synthetic.keyed_random import KeyedRandom, generator
from synthetic.sprite_canvas import Sprite, SpriteCanvas
from synthetic.textures import smooth_noise

GREENS = ((60, 110, 40), (85, 125, 50), (45, 85, 45), (100, 130, 60), (70, 100, 30), (40, 70, 35))
AUTUMN = ((190, 120, 40), (170, 70, 30), (200, 165, 60), (140, 90, 40))
POLE_COLORS = ((90, 95, 95), (60, 70, 60), (150, 150, 145), (45, 45, 50))


def tree(keys: tuple[int, ...], autumn: float, bush: bool = False) -> Sprite:
    rnd = KeyedRandom(*keys)
    rng = generator(*keys)
    if bush:
        width, height = rnd.uniform(1.4, 4.0), rnd.uniform(0.7, 1.7)
        canopy_h, trunk_h = height, 0.0
    else:
        height = rnd.uniform(4.0, 10.0)
        width = min(rnd.uniform(2.5, 6.5), 0.85 * height)
        canopy_h = rnd.uniform(0.5, 0.75) * height
        trunk_h = height - canopy_h
    c = SpriteCanvas(width, height, 24.0)
    color = rnd.jitter_color(rnd.choice(AUTUMN) if rnd.chance(autumn) else rnd.choice(GREENS), 12)
    if trunk_h > 0:
        tw = rnd.uniform(0.18, 0.4)
        c.rect(width / 2 - tw / 2, 0, width / 2 + tw / 2, trunk_h + 0.5, rnd.jitter_color((90, 70, 50), 15), TREE)
    h, w = c.labels.shape
    mask = np.zeros((h, w), np.uint8)
    conifer = not bush and rnd.chance(0.2)
    if conifer:
        top = c._pt(width / 2, height)
        base_l, base_r = c._pt(0.05 * width, trunk_h), c._pt(0.95 * width, trunk_h)
        cv2.fillPoly(mask, [np.array([top, base_l, base_r], np.int32)], 1)
    else:
        for _ in range(rnd.integer(6, 12)):
            rx = rnd.uniform(0.2, 0.38) * width
            ry = rnd.uniform(0.2, 0.4) * canopy_h
            cx = rnd.uniform(rx, width - rx)
            cy = trunk_h + rnd.uniform(ry, canopy_h - ry)
            cv2.ellipse(mask, c._pt(cx, cy), (max(1, round(rx * c.ppm)), max(1, round(ry * c.ppm))),
                        0, 0, 360, 1, -1)
    leaves = smooth_noise(rng, h, w, 4.5, octaves=2)
    mask = (mask > 0) & (leaves > 0.25)
    rows = np.linspace(1.1, 0.7, h, dtype=np.float32)[:, None]  # lit from above
    shade = (0.55 + 0.8 * leaves) * rows
    canopy = np.clip(np.array(color, np.float32) * shade[..., None], 0, 255).astype(np.uint8)
    c.image[mask] = canopy[mask]
    c.labels[mask] = TREE
    return c.sprite()


def lamp(keys: tuple[int, ...], arm_right: bool) -> Sprite:
    rnd = KeyedRandom(*keys)
    height, arm = rnd.uniform(5.5, 9.0), rnd.uniform(0.8, 2.0)
    width = arm + 0.5
    c = SpriteCanvas(width, height, 24.0)
    color = rnd.choice(POLE_COLORS)
    px = 0.25
    c.rect(px - 0.08, 0, px + 0.08, height - 0.1, color, POLE)
    c.rect(px - 0.12, 0, px + 0.12, 1.0, color, POLE)
    c.line((px, height - 0.25), (px + arm, height - 0.1), 0.08, color, POLE)
    c.ellipse(px + arm, height - 0.2, 0.25, 0.1, (210, 210, 190), POLE)
    return c.sprite(flip=not arm_right)


def sign(keys: tuple[int, ...]) -> Sprite:
    rnd = KeyedRandom(*keys)
    pole_h = rnd.uniform(2.2, 3.2)
    kind = rnd.choice(("round", "blue", "triangle", "rect", "stop", "diamond"))
    size = rnd.uniform(0.55, 0.9)
    width = size * (1.8 if kind == "rect" else 1.0) + 0.1
    c = SpriteCanvas(width, pole_h + size, 32.0)
    cx = width / 2
    c.rect(cx - 0.04, 0, cx + 0.04, pole_h + size / 2, rnd.choice(POLE_COLORS), POLE)
    cy, r = pole_h + size / 2, size / 2
    white, red = (235, 235, 230), (200, 30, 35)
    if kind == "round":
        c.ellipse(cx, cy, r, r, red, SIGN)
        c.ellipse(cx, cy, 0.75 * r, 0.75 * r, white, SIGN)
        c.rect(cx - 0.3 * r, cy - 0.25 * r, cx + 0.3 * r, cy + 0.25 * r, (20, 20, 20), SIGN)
    elif kind == "blue":
        c.ellipse(cx, cy, r, r, (30, 80, 170), SIGN)
        c.line((cx, cy - 0.5 * r), (cx, cy + 0.5 * r), 0.05, white, SIGN)
    elif kind == "triangle":
        c.poly([(cx - r, cy - 0.8 * r), (cx + r, cy - 0.8 * r), (cx, cy + r)], red, SIGN)
        c.poly([(cx - 0.65 * r, cy - 0.6 * r), (cx + 0.65 * r, cy - 0.6 * r), (cx, cy + 0.55 * r)], white, SIGN)
    elif kind == "rect":
        color = rnd.choice(((30, 80, 170), (20, 120, 60), (235, 235, 230)))
        c.rect(0.05, cy - r, width - 0.05, cy + r, color, SIGN)
        c.rect(0.12, cy - 0.1 * r, width - 0.12, cy + 0.1 * r, (20, 20, 20) if color[1] > 200 else white, SIGN)
    elif kind == "stop":
        angles = np.pi / 8 + np.arange(8) * np.pi / 4
        c.poly([(cx + r * np.cos(a), cy + r * np.sin(a)) for a in angles], red, SIGN)
        c.rect(cx - 0.6 * r, cy - 0.15 * r, cx + 0.6 * r, cy + 0.15 * r, white, SIGN)
    else:
        c.poly([(cx - r, cy), (cx, cy + r), (cx + r, cy), (cx, cy - r)], (230, 190, 40), SIGN)
        c.poly([(cx - 0.8 * r, cy), (cx, cy + 0.8 * r), (cx + 0.8 * r, cy), (cx, cy - 0.8 * r)],
               (250, 210, 50), SIGN)
    return c.sprite()


def traffic_light(keys: tuple[int, ...], state: int) -> Sprite:
    rnd = KeyedRandom(*keys)
    pole_h = rnd.uniform(2.6, 3.6)
    c = SpriteCanvas(0.5, pole_h + 1.0, 32.0)
    c.rect(0.21, 0, 0.29, pole_h + 0.2, rnd.choice(POLE_COLORS), POLE)
    c.rect(0.07, pole_h, 0.43, pole_h + 1.0, (30, 32, 30), SIGN)
    lit = ((240, 40, 30), (245, 170, 30), (60, 230, 90))
    for i in range(3):
        color = lit[i] if i == state else (55, 50, 45)
        c.ellipse(0.25, pole_h + 0.83 - 0.32 * i, 0.11, 0.11, color, SIGN)
    return c.sprite()


def fence(keys: tuple[int, ...], length: float) -> Sprite:
    rnd = KeyedRandom(*keys)
    kind = rnd.choice(("railing", "railing", "wood", "mesh", "barrier"))
    height = rnd.uniform(0.9, 1.6) if kind != "barrier" else rnd.uniform(0.7, 1.0)
    c = SpriteCanvas(length, height, 20.0)
    color = rnd.jitter_color(rnd.choice(((40, 70, 50), (30, 30, 35), (140, 140, 140), (225, 225, 220),
                                         (130, 95, 60))), 10)
    h, w = c.labels.shape
    x = np.arange(w)[None, :]
    y = np.arange(h)[:, None]
    if kind == "wood":
        mask = (x % 5) != 0
    elif kind == "barrier":
        mask = np.ones((h, w), bool)
        color = rnd.jitter_color((175, 175, 170), 15)
    elif kind == "mesh":
        mask = ((x % 4) == 0) | ((y % 4) == 0)
    else:
        mask = ((x % 3) == 0) | (y < 2) | (y >= h - 3) | ((x % 40) < 2)
    mask = np.broadcast_to(mask, (h, w))
    shade = 0.85 + 0.15 * generator(*keys).random((h, w), dtype=np.float32)
    c.image[mask] = np.clip(np.array(color, np.float32) * shade[mask][:, None], 0, 255).astype(np.uint8)
    c.labels[mask] = FENCE
    c.labels[~mask] = TRANSPARENT
    return c.sprite()
