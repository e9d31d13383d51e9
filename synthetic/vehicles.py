"""Cars as small meshes of coloured polygons: a body box, a sloped cabin, windows, wheels and lights.

Polygons are in the car's frame (x right, y up, z towards its front) and come with the index of the
face they sit on (-1 for the faces themselves), so details are drawn only where their face is visible.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from synthetic.keyed_random import KeyedRandom
from synthetic.sprite_canvas import Color

CAR_COLORS: tuple[Color, ...] = ((235, 235, 232), (25, 25, 28), (170, 172, 175), (110, 112, 115),
                                 (160, 25, 30), (30, 60, 140), (20, 30, 60), (40, 80, 50), (230, 190, 40),
                                 (190, 175, 150), (100, 60, 40), (210, 90, 30))
CAR_WEIGHTS = (0.18, 0.14, 0.14, 0.1, 0.08, 0.08, 0.06, 0.04, 0.04, 0.05, 0.03, 0.02)
GLASS: Color = (35, 45, 55)
TYRE: Color = (22, 22, 24)


@dataclass(frozen=True)
class Part:
    points: np.ndarray  # (N, 3) in the car's frame
    color: Color
    face: int  # -1: a face of the mesh (culled by its own normal); otherwise the face it is drawn on
    normal: np.ndarray  # outward normal (faces only)


@dataclass(frozen=True)
class CarModel:
    length: float
    width: float
    height: float
    parts: tuple[Part, ...]


def _box_faces(x: float, y0: float, y1: float, z_back: float, z_front: float,
               x_top: float | None = None, z_top: tuple[float, float] | None = None) -> list[np.ndarray]:
    """Faces (back, front, left, right, top) of a box, or of a frustum with a narrower top."""
    xt = x if x_top is None else x_top
    zb, zf = (z_back, z_front) if z_top is None else z_top
    b = [(-x, y0, z_back), (x, y0, z_back), (x, y0, z_front), (-x, y0, z_front)]
    t = [(-xt, y1, zb), (xt, y1, zb), (xt, y1, zf), (-xt, y1, zf)]
    faces = [(b[0], b[1], t[1], t[0]), (b[2], b[3], t[3], t[2]), (b[3], b[0], t[0], t[3]),
             (b[1], b[2], t[2], t[1]), (t[0], t[1], t[2], t[3])]
    return [np.array(f, np.float64) for f in faces]


def _normal(face: np.ndarray, center: np.ndarray) -> np.ndarray:
    n = np.cross(face[1] - face[0], face[2] - face[1])
    if np.dot(n, face.mean(axis=0) - center) < 0:
        n = -n
    return n / (np.linalg.norm(n) + 1e-9)


def _shade(color: Color, factor: float) -> Color:
    return (min(255, int(color[0] * factor)), min(255, int(color[1] * factor)), min(255, int(color[2] * factor)))


def _shrink(face: np.ndarray, fx: float, fy: float) -> np.ndarray:
    c = face.mean(axis=0)
    d = face - c
    horizontal = np.abs(d[:, 1]).max() < 1e-6
    scale = np.array([fx, fy, fx]) if not horizontal else np.array([fx, 1.0, fy])
    return c + d * scale


def car_model(keys: tuple[int, ...], road_grey: Color) -> CarModel:
    rnd = KeyedRandom(*keys)
    kind = rnd.weighted(("sedan", "hatch", "suv", "van"), (0.45, 0.25, 0.2, 0.1))
    length = {"sedan": 4.6, "hatch": 4.0, "suv": 4.7, "van": 5.0}[kind] * rnd.uniform(0.92, 1.08)
    width = rnd.uniform(1.7, 1.95)
    height = {"sedan": 1.45, "hatch": 1.5, "suv": 1.75, "van": 2.2}[kind] * rnd.uniform(0.95, 1.05)
    body_h = {"van": 1.1, "suv": 0.95}.get(kind, 0.85)
    colors = (*CAR_COLORS, rnd.jitter_color(road_grey, 12))
    color = rnd.jitter_color(rnd.weighted(colors, (*CAR_WEIGHTS, 0.12)), 10)
    half_l, half_w = length / 2, width / 2
    body = _box_faces(half_w, 0.22, body_h, -half_l, half_l)
    if kind == "van":
        cabin = _box_faces(half_w * 0.97, body_h, height, -half_l + 0.05, half_l - 0.9,
                           half_w * 0.93, (-half_l + 0.1, half_l - 1.3))
    else:
        back = -half_l + (0.9 if kind == "sedan" else 0.35)
        front = half_l - rnd.uniform(1.2, 1.5)
        cabin = _box_faces(half_w * 0.92, body_h, height, back, front, half_w * 0.78,
                           (back + (0.5 if kind == "sedan" else 0.15), front - 0.75))
    parts: list[Part] = []
    shades = (0.85, 0.9, 0.75, 0.75, 1.05)
    center = np.array([0.0, body_h / 2, 0.0])
    for face, shade in zip(body, shades, strict=True):
        parts.append(Part(face, _shade(color, shade), -1, _normal(face, center)))
    r = 0.33
    ang = np.linspace(0, 2 * np.pi, 9)[:-1]
    for side, face_id in ((-1, 2), (1, 3)):
        for wz in (-half_l + 0.85, half_l - 0.85):
            wheel = np.stack([np.full(8, side * (half_w + 0.01)), r + r * np.sin(ang), wz + r * np.cos(ang)], 1)
            hub = np.stack([np.full(8, side * (half_w + 0.02)), r + 0.5 * r * np.sin(ang),
                            wz + 0.5 * r * np.cos(ang)], 1)
            parts.append(Part(wheel, TYRE, face_id, np.zeros(3)))
            parts.append(Part(hub, (150, 150, 150), face_id, np.zeros(3)))
    for face_id, z, lamp in ((0, -half_l - 0.01, (200, 20, 25)), (1, half_l + 0.01, (240, 240, 220))):
        for side in (-1, 1):
            x0 = side * (half_w - 0.05)
            x1 = side * (half_w - 0.35)
            light = np.array([(x0, body_h - 0.25, z), (x1, body_h - 0.25, z), (x1, body_h - 0.08, z),
                              (x0, body_h - 0.08, z)])
            parts.append(Part(light, lamp, face_id, np.zeros(3)))
        plate = np.array([(-0.25, 0.35, z), (0.25, 0.35, z), (0.25, 0.5, z), (-0.25, 0.5, z)])
        parts.append(Part(plate, (225, 225, 215), face_id, np.zeros(3)))
        bumper = np.array([(-half_w, 0.22, z), (half_w, 0.22, z), (half_w, 0.32, z), (-half_w, 0.32, z)])
        parts.append(Part(bumper, (35, 35, 38), face_id, np.zeros(3)))
    cab_center = np.array([0.0, (body_h + height) / 2, 0.0])
    for i, (face, shade) in enumerate(zip(cabin, shades, strict=True)):
        face_id = len(parts)
        parts.append(Part(face, _shade(color, shade), -1, _normal(face, cab_center)))
        if i < 4:
            glass = _shrink(face, 0.86 if i < 2 else 0.93, 0.78) + _normal(face, cab_center) * 0.01
            parts.append(Part(glass, _shade(GLASS, rnd.uniform(0.8, 1.6)), face_id, np.zeros(3)))
    return CarModel(length, width, height, tuple(parts))
