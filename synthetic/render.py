"""Painting primitives: textured planes, billboards, polygon meshes and ground shadows.

Every primitive paints the image and the label map with the same mask (labels never interpolated),
and, when the canvas keeps one, an inverse-depth map for depth-aware corruptions such as fog.
"""

from __future__ import annotations

import cv2
import numpy as np

from synthetic.camera import NEAR, Camera, clip_near
from synthetic.classes import CAR, PAVEMENT, ROAD, SKY, TRANSPARENT
from synthetic.sprite_canvas import Sprite
from synthetic.textures import Texture
from synthetic.vehicles import CarModel

SHIFT = 3  # fixed-point bits for sub-pixel polygon vertices
_ONE = float(1 << SHIFT)


class Canvas:
    def __init__(self, width: int, height: int, with_depth: bool) -> None:
        self.image = np.zeros((height, width, 3), np.uint8)
        self.labels = np.full((height, width), SKY, np.uint8)
        self.inv_depth = np.zeros((height, width), np.float32) if with_depth else None

    def roi(self, pts: np.ndarray) -> tuple[int, int, int, int] | None:
        h, w = self.labels.shape
        x0, y0 = np.floor(pts.min(axis=0)).astype(int)
        x1, y1 = np.ceil(pts.max(axis=0)).astype(int) + 1
        x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
        if x1 - x0 < 1 or y1 - y0 < 1:
            return None
        return int(x0), int(y0), int(x1), int(y1)

    def composite(self, x0: int, y0: int, image: np.ndarray, labels: np.ndarray, mask: np.ndarray,
                  inv_depth: float | np.ndarray | None = None) -> None:
        h, w = labels.shape
        np.copyto(self.image[y0 : y0 + h, x0 : x0 + w], image, where=mask[..., None])
        np.copyto(self.labels[y0 : y0 + h, x0 : x0 + w], labels, where=mask)
        if self.inv_depth is not None and inv_depth is not None:
            region = self.inv_depth[y0 : y0 + h, x0 : x0 + w]
            np.copyto(region, inv_depth, where=mask)


def draw_sky(canvas: Canvas, cam: Camera, panorama: np.ndarray, circumference: int) -> None:
    h, w = canvas.labels.shape
    col = round(cam.yaw * cam.focal) % circumference
    row = int(np.clip(round(h - cam.horizon_row()), 0, panorama.shape[0] - h))
    canvas.image[:] = panorama[row : row + h, col : col + w]


def draw_plane(canvas: Canvas, cam: Camera, texture: Texture | Sprite, plane_map: np.ndarray,
               quad: np.ndarray, wrap: bool) -> None:
    """Map a texture onto the world polygon ``quad`` (N x 3) with the texture->world ``plane_map``."""
    cam_pts = clip_near(cam.to_camera(quad))
    if len(cam_pts) < 3:
        return
    pts = cam.project(cam_pts)
    box = canvas.roi(pts)
    if box is None:
        return
    x0, y0, x1, y1 = box
    shift = np.array([[1.0, 0.0, -x0], [0.0, 1.0, -y0], [0.0, 0.0, 1.0]])
    matrix = shift @ cam.plane_homography(plane_map)
    size = (x1 - x0, y1 - y0)
    border = cv2.BORDER_WRAP if wrap else cv2.BORDER_CONSTANT
    image = cv2.warpPerspective(texture.image, matrix, size, flags=cv2.INTER_LINEAR, borderMode=border)
    labels = cv2.warpPerspective(texture.labels, matrix, size, flags=cv2.INTER_NEAREST, borderMode=border,
                                 borderValue=TRANSPARENT)
    region = np.zeros((size[1], size[0]), np.uint8)
    poly = np.round((pts - np.array([x0, y0])) * _ONE).astype(np.int32)
    cv2.fillPoly(region, [poly], 1, shift=SHIFT)
    mask = (region > 0) & (labels != TRANSPARENT)
    depth = None
    if canvas.inv_depth is not None:
        depth = _plane_inverse_depth(cam, quad, x0, y0, size)
    canvas.composite(x0, y0, image, labels, mask, depth)


def _plane_inverse_depth(cam: Camera, quad: np.ndarray, x0: int, y0: int, size: tuple[int, int]) -> np.ndarray:
    normal = np.cross(quad[1] - quad[0], quad[2] - quad[1])
    normal /= np.linalg.norm(normal)
    n_cam = cam.rotation @ normal
    d_cam = float(normal @ quad[0] - normal @ cam.center)
    if abs(d_cam) < 1e-9:
        return np.zeros((size[1], size[0]), np.float32)
    a, b, c = (n_cam @ np.linalg.inv(cam.intrinsics)) / d_cam
    u = np.arange(x0, x0 + size[0], dtype=np.float32)[None, :]
    v = np.arange(y0, y0 + size[1], dtype=np.float32)[:, None]
    return np.maximum(a * u + b * v + c, 0.0).astype(np.float32)


def draw_billboard(canvas: Canvas, cam: Camera, sprite: Sprite, x: float, z: float) -> None:
    """A sprite standing upright at (x, 0, z), facing the camera."""
    cam_pts = cam.to_camera(np.array([[x, 0.0, z], [x, sprite.height_m, z]]))
    depth = float(cam_pts[0, 2])
    if depth < 0.5:
        return
    uv = cam.project(cam_pts)
    h_px = float(uv[0, 1] - uv[1, 1])
    if h_px < 1.5:
        return
    sh, sw = sprite.labels.shape
    scale = h_px / sh
    left, top = float(uv[0, 0]) - sw * scale / 2.0, float(uv[1, 1])
    box = canvas.roi(np.array([[left, top], [left + sw * scale, top + h_px]]))
    if box is None:
        return
    x0, y0, x1, y1 = box
    if scale < 1.0:
        w_px, hh = max(1, round(sw * scale)), max(1, round(h_px))
        image = cv2.resize(sprite.image, (w_px, hh), interpolation=cv2.INTER_AREA)
        labels = cv2.resize(sprite.labels, (w_px, hh), interpolation=cv2.INTER_NEAREST)
        ox, oy = round(left), round(top)
        x0, y0 = max(ox, 0), max(oy, 0)
        x1, y1 = min(ox + w_px, canvas.labels.shape[1]), min(oy + hh, canvas.labels.shape[0])
        if x1 <= x0 or y1 <= y0:
            return
        image = image[y0 - oy : y1 - oy, x0 - ox : x1 - ox]
        labels = labels[y0 - oy : y1 - oy, x0 - ox : x1 - ox]
    else:
        matrix = np.array([[scale, 0.0, left - x0], [0.0, scale, top - y0]])
        size = (x1 - x0, y1 - y0)
        image = cv2.warpAffine(sprite.image, matrix, size, flags=cv2.INTER_LINEAR,
                               borderMode=cv2.BORDER_REPLICATE)
        labels = cv2.warpAffine(sprite.labels, matrix, size, flags=cv2.INTER_NEAREST,
                                borderMode=cv2.BORDER_CONSTANT, borderValue=TRANSPARENT)
    canvas.composite(x0, y0, image, labels, labels != TRANSPARENT, 1.0 / depth)


def draw_car(canvas: Canvas, cam: Camera, model: CarModel, x: float, z: float, heading: int) -> None:
    points = np.concatenate([p.points for p in model.parts])
    world = points * np.array([heading, 1.0, heading]) + np.array([x, 0.0, z])
    cam_all = cam.to_camera(world)
    center_depth = float(cam.to_camera(np.array([[x, model.height / 2, z]]))[0, 2])
    detailed = center_depth > 0 and cam.focal * model.height / center_depth > 10.0
    visible: set[int] = set()
    in_front = bool(np.all(cam_all[:, 2] >= NEAR))
    projected = cam.project(cam_all) if in_front else None
    start = 0
    eye = cam.center
    for i, part in enumerate(model.parts):
        n = len(part.points)
        first = start
        start += n
        if part.face < 0:
            normal = part.normal * np.array([heading, 1.0, heading])
            if float(normal @ (eye - world[first])) <= 0.0:
                continue
            visible.add(i)
        elif part.face not in visible or not detailed:
            continue
        if projected is not None:
            uv = projected[first:start]
        else:
            clipped = clip_near(cam_all[first:start])
            if len(clipped) < 3:
                continue
            uv = cam.project(clipped)
        poly = np.round(uv * _ONE).astype(np.int32)
        cv2.fillPoly(canvas.image, [poly], part.color, shift=SHIFT)
        cv2.fillPoly(canvas.labels, [poly], CAR, shift=SHIFT)
        if canvas.inv_depth is not None:
            cv2.fillPoly(canvas.inv_depth, [poly], 1.0 / max(center_depth, 0.5), shift=SHIFT)


def darken_ground(canvas: Canvas, cam: Camera, polygon_xz: np.ndarray, factor: float) -> None:
    """Darken the road/pavement pixels inside a polygon lying on the ground (an image-only shadow)."""
    quad = np.stack([polygon_xz[:, 0], np.full(len(polygon_xz), 0.01), polygon_xz[:, 1]], axis=1)
    cam_pts = clip_near(cam.to_camera(quad))
    if len(cam_pts) < 3:
        return
    pts = cam.project(cam_pts)
    box = canvas.roi(pts)
    if box is None:
        return
    x0, y0, x1, y1 = box
    region = np.zeros((y1 - y0, x1 - x0), np.uint8)
    cv2.fillPoly(region, [np.round((pts - np.array([x0, y0])) * _ONE).astype(np.int32)], 1, shift=SHIFT)
    labels = canvas.labels[y0:y1, x0:x1]
    mask = (region > 0) & ((labels == ROAD) | (labels == PAVEMENT))
    image = canvas.image[y0:y1, x0:x1]
    image[mask] = (image[mask] * factor).astype(np.uint8)
