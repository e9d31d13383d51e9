"""A pinhole camera in the street's world frame, and the projections the renderer needs.

World frame: x to the right of the road's direction, y up, z along the road (metres).
Camera frame (OpenCV): x right, y down, z forward.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np

NEAR = 0.25  # metres: geometry closer than this to the camera plane is clipped


@dataclass(frozen=True)
class Camera:
    width: int
    height: int
    focal: float  # pixels
    x: float
    y: float  # height above the road
    z: float
    yaw: float  # radians, positive turns right
    pitch: float  # radians, positive tilts down

    @cached_property
    def center(self) -> np.ndarray:
        return np.array([self.x, self.y, self.z])

    @cached_property
    def intrinsics(self) -> np.ndarray:
        return np.array(
            [[self.focal, 0.0, self.width / 2.0], [0.0, self.focal, self.height / 2.0], [0.0, 0.0, 1.0]]
        )

    @cached_property
    def rotation(self) -> np.ndarray:
        """World-to-camera rotation: yaw about the world's up axis, flip y, then pitch."""
        cy, sy = math.cos(self.yaw), math.sin(self.yaw)
        cp, sp = math.cos(self.pitch), math.sin(self.pitch)
        yaw = np.array([[cy, 0.0, -sy], [0.0, -1.0, 0.0], [sy, 0.0, cy]])  # includes the y flip
        pitch = np.array([[1.0, 0.0, 0.0], [0.0, cp, -sp], [0.0, sp, cp]])
        return pitch @ yaw

    @property
    def right_axis(self) -> np.ndarray:
        """The camera's right direction in the world, horizontal."""
        return np.array([math.cos(self.yaw), 0.0, -math.sin(self.yaw)])

    def to_camera(self, points: np.ndarray) -> np.ndarray:
        """(N, 3) world points -> (N, 3) camera-frame points."""
        return (points - self.center) @ self.rotation.T

    def project(self, cam_points: np.ndarray) -> np.ndarray:
        """(N, 3) camera-frame points with z > 0 -> (N, 2) pixel coordinates."""
        z = cam_points[:, 2:3]
        return cam_points[:, :2] * (self.focal / z) + np.array([self.width / 2.0, self.height / 2.0])

    def horizon_row(self) -> float:
        return self.height / 2.0 - self.focal * math.tan(self.pitch)

    def plane_homography(self, plane_map: np.ndarray) -> np.ndarray:
        """Homography texture pixel -> image pixel for a texture placed by ``plane_map``.

        ``plane_map`` (3x3) sends a texture pixel (col, row, 1) to the world point it shows.
        """
        shifted = plane_map - np.outer(self.center, np.array([0.0, 0.0, 1.0]))
        return self.intrinsics @ self.rotation @ shifted


def clip_near(cam_points: np.ndarray, near: float = NEAR) -> np.ndarray:
    """Clip a convex (or simple) polygon in camera coordinates to z >= near (Sutherland-Hodgman)."""
    z = cam_points[:, 2]
    if np.all(z >= near):
        return cam_points
    if np.all(z < near):
        return cam_points[:0]
    out: list[np.ndarray] = []
    n = len(cam_points)
    for i in range(n):
        a, b = cam_points[i], cam_points[(i + 1) % n]
        a_in, b_in = a[2] >= near, b[2] >= near
        if a_in:
            out.append(a)
        if a_in != b_in:
            t = (near - a[2]) / (b[2] - a[2])
            out.append(a + t * (b - a))
    return np.array(out)
