"""Sprites of pedestrians and bicyclists, seen from the front/back or the side, in walking poses."""

from __future__ import annotations

import math

from synthetic.classes import BICYCLIST, PEDESTRIAN
from synthetic.keyed_random import KeyedRandom
from synthetic.sprite_canvas import Color, Sprite, SpriteCanvas

SKIN = ((235, 200, 170), (200, 150, 110), (150, 100, 70), (100, 65, 45), (225, 180, 140))
HAIR = ((30, 25, 20), (90, 60, 30), (200, 170, 110), (120, 120, 120), (60, 40, 25))
CLOTHES = ((30, 30, 35), (200, 30, 40), (40, 60, 140), (230, 230, 225), (120, 120, 120), (70, 110, 60),
           (240, 200, 40), (150, 90, 50), (90, 40, 110), (20, 140, 160), (230, 120, 150), (60, 50, 45))
PANTS = ((40, 45, 70), (30, 30, 30), (110, 100, 80), (80, 80, 85), (60, 80, 140), (150, 140, 120))
PPM = 40.0


class _Look:
    def __init__(self, keys: tuple[int, ...]) -> None:
        rnd = KeyedRandom(*keys)
        self.height = rnd.uniform(1.55, 1.95)
        self.skin: Color = rnd.choice(SKIN)
        self.hair: Color = rnd.choice(HAIR)
        self.shirt: Color = rnd.jitter_color(rnd.choice(CLOTHES), 20)
        self.pants: Color = rnd.jitter_color(rnd.choice(PANTS), 15)
        self.shoes: Color = rnd.choice(((20, 20, 20), (230, 230, 230), (90, 60, 40)))
        self.bag = rnd.chance(0.3)
        self.bag_color: Color = rnd.choice(CLOTHES)
        self.bike: Color = rnd.jitter_color(rnd.choice(CLOTHES), 10)
        self.helmet = rnd.chance(0.6)


def pedestrian(keys: tuple[int, ...], view: str, phase: float, flip: bool) -> Sprite:
    """``view``: "front", "back" or "side"; ``phase`` in radians of the gait cycle."""
    look = _Look(keys)
    h = look.height
    side = view == "side"
    c = SpriteCanvas(0.75 if side else 0.6, h, PPM)
    cx = c.width_m / 2
    hip, shoulder = 0.52 * h, 0.81 * h
    swing = math.sin(phase)
    if side:
        stride = 0.28 * swing
        for sign, shade in ((1, 0.8), (-1, 1.0)):
            foot = (cx + sign * stride, 0.05)
            color = tuple(int(v * shade) for v in look.pants)
            c.line((cx, hip), foot, 0.13, color, PEDESTRIAN)  # type: ignore[arg-type]
            c.line(foot, (foot[0] + 0.1, 0.03), 0.07, look.shoes, PEDESTRIAN)
        c.poly([(cx - 0.12, hip - 0.05), (cx + 0.12, hip - 0.05), (cx + 0.1, shoulder), (cx - 0.11, shoulder)],
               look.shirt, PEDESTRIAN)
        c.line((cx, shoulder - 0.05), (cx - 0.2 * swing, hip - 0.05), 0.08, look.shirt, PEDESTRIAN)
        if look.bag:
            c.rect(cx - 0.2, hip + 0.05, cx - 0.08, hip + 0.35, look.bag_color, PEDESTRIAN)
    else:
        lift = 0.04 * swing
        for sign in (-1, 1):
            x0 = cx + sign * 0.09
            y0 = max(0.0, sign * lift)
            c.rect(x0 - 0.065, y0 + 0.05, x0 + 0.065, hip, look.pants, PEDESTRIAN)
            c.rect(x0 - 0.07, y0, x0 + 0.07, y0 + 0.07, look.shoes, PEDESTRIAN)
            arm = 0.05 * sign * swing
            c.rect(cx + sign * 0.2 - 0.04, hip - 0.05 + arm, cx + sign * 0.2 + 0.04, shoulder - 0.02, look.shirt,
                   PEDESTRIAN)
            c.ellipse(cx + sign * 0.2, hip - 0.06 + arm, 0.04, 0.05, look.skin, PEDESTRIAN)
        c.poly([(cx - 0.16, hip - 0.04), (cx + 0.16, hip - 0.04), (cx + 0.19, shoulder), (cx - 0.19, shoulder)],
               look.shirt, PEDESTRIAN)
        if look.bag and view == "back":
            c.rect(cx - 0.12, hip + 0.1, cx + 0.12, shoulder - 0.05, look.bag_color, PEDESTRIAN)
    c.rect(cx - 0.04, shoulder - 0.02, cx + 0.04, shoulder + 0.05, look.skin, PEDESTRIAN)
    head_y = h - 0.12
    c.ellipse(cx, head_y, 0.1, 0.12, look.hair if view == "back" else look.skin, PEDESTRIAN)
    c.ellipse(cx, head_y + 0.06, 0.1, 0.06, look.hair, PEDESTRIAN)
    return c.sprite(flip=flip)


def cyclist(keys: tuple[int, ...], view: str, phase: float, flip: bool) -> Sprite:
    """``view``: "rear" or "side"; ``phase`` is the crank angle. Rider and bicycle are one class."""
    look = _Look(keys)
    r = 0.34
    top = 1.45 + 0.2 * (look.height - 1.55)
    if view == "side":
        c = SpriteCanvas(1.8, top + 0.12, PPM)
        rear, front = (0.4, r + 0.02), (1.4, r + 0.02)
        for wheel in (rear, front):
            c.ellipse(*wheel, r, r, (25, 25, 25), BICYCLIST, thick_m=0.05)
        crank = (0.85, 0.32)
        saddle, bar = (0.7, 0.95), (1.3, 1.05)
        for a, b in ((rear, crank), (crank, saddle), (saddle, rear), (crank, (1.25, 0.95)),
                     ((1.25, 0.95), front), ((1.25, 0.95), bar), (saddle, (1.25, 0.95))):
            c.line(a, b, 0.045, look.bike, BICYCLIST)
        shoulder = (1.05, top - 0.28)
        for angle, shade in ((phase + math.pi, 0.8), (phase, 1.0)):
            pedal = (crank[0] + 0.17 * math.cos(angle), crank[1] + 0.17 * math.sin(angle))
            knee = (0.95 + 0.05 * math.cos(angle), 0.72 + 0.1 * math.sin(angle))
            color: Color = tuple(int(v * shade) for v in look.pants)  # type: ignore[assignment]
            c.line((saddle[0], saddle[1] + 0.05), knee, 0.13, color, BICYCLIST)
            c.line(knee, pedal, 0.11, color, BICYCLIST)
        c.line((saddle[0], saddle[1] + 0.08), shoulder, 0.22, look.shirt, BICYCLIST)
        c.line(shoulder, bar, 0.08, look.shirt, BICYCLIST)
        head = (shoulder[0] + 0.12, top - 0.1)
    else:
        c = SpriteCanvas(0.62, top + 0.12, PPM)
        cx = 0.31
        c.rect(cx - 0.03, 0.0, cx + 0.03, 2 * r, (25, 25, 25), BICYCLIST)
        c.rect(cx - 0.3, 1.0, cx + 0.3, 1.04, (40, 40, 40), BICYCLIST)
        c.rect(cx - 0.05, 0.6, cx + 0.05, 0.9, look.bike, BICYCLIST)
        for sign in (-1, 1):
            lift = 0.12 * math.sin(phase + (sign + 1) * math.pi / 2)
            c.rect(cx + sign * 0.1 - 0.06, 0.25 + lift, cx + sign * 0.1 + 0.06, 0.9, look.pants, BICYCLIST)
            c.line((cx + sign * 0.14, top - 0.3), (cx + sign * 0.28, 1.03), 0.07, look.shirt, BICYCLIST)
        c.poly([(cx - 0.16, 0.88), (cx + 0.16, 0.88), (cx + 0.18, top - 0.25), (cx - 0.18, top - 0.25)],
               look.shirt, BICYCLIST)
        head = (cx, top - 0.1)
    c.ellipse(head[0], head[1], 0.1, 0.12, look.skin if view == "side" else look.hair, BICYCLIST)
    if look.helmet:
        c.ellipse(head[0], head[1] + 0.05, 0.12, 0.08, look.bike, BICYCLIST)
    return c.sprite(flip=flip)
