"""Dense optical flow between consecutive frames, on the host, on small grey images (OpenCV DIS).

Each frame is turned once into a grey image at the network's output resolution (``GreyFrame``), so
flow vectors are in the same pixels as the probability maps. ``FlowEstimator.motion(previous,
current)`` returns the *backward* flow (for each pixel of the current frame, where it was in the
previous one), a validity mask (inside the previous view; optionally forward-backward consistent)
and a global match score that tells a scene cut from a camera move.

Cost (measured on one core, 180x240 network resolution): grey conversion + resize of a 360x480 frame
~0.1-0.2 ms; two DIS ``ultrafast`` flows (backward + forward for the consistency check) and the
checks ~1.5-3 ms on a busy core. Flow is computed at most ``max_width`` pixels wide, so large networks do not pay more.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

_PRESETS = {
    "ultrafast": cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST,
    "fast": cv2.DISOPTICAL_FLOW_PRESET_FAST,
    "medium": cv2.DISOPTICAL_FLOW_PRESET_MEDIUM,
}


@dataclass(frozen=True)
class FlowOptions:
    """How flow is estimated and checked.

    Forward-backward consistency (Sundaram et al. 2010): a pixel is inconsistent (occluded or badly
    matched) when ``|f_b + f_f(x + f_b)|² > alpha (|f_b|² + |f_f|²) + beta`` (px² at flow resolution).
    The check always feeds the cut detector: a pixel counts as *matched* when it is in view,
    consistent and its photometric residual (normalised grey, 3x3 mean) is below ``match_residual``;
    at a cut almost nothing matches. ``mask_occlusions`` also zeroes the blending weight of
    inconsistent pixels; it is off by default because on held-out validation video it cost NLL on
    every scenario (textureless road and sky fail the check while their labels agree anyway), and the
    photometric similarity weight already discounts truly occluded pixels (docs/motion.md).
    """

    max_width: int = 256
    preset: str = "ultrafast"
    mask_occlusions: bool = False
    consistency_alpha: float = 0.01
    consistency_beta: float = 4.0
    match_residual: float = 0.5

    def __post_init__(self) -> None:
        if self.preset not in _PRESETS:
            raise ValueError(f"unknown DIS preset {self.preset!r}; choose one of: {', '.join(_PRESETS)}")
        if self.max_width < 8:
            raise ValueError(f"max_width must be >= 8, got {self.max_width}")


@dataclass(frozen=True)
class GreyFrame:
    """One frame as the motion code needs it.

    ``normalised`` ``(h, w)`` float32 at the network resolution, zero mean and unit contrast (so a
    global brightness change is not a mismatch); ``small`` uint8 at the flow resolution.
    """

    normalised: np.ndarray
    small: np.ndarray


@dataclass(frozen=True)
class FrameMotion:
    """Backward motion from the current frame to the previous one, at the flow resolution.

    ``flow`` ``(2, hs, ws)`` float32 in *network* pixels (x, y); ``valid`` ``(hs, ws)`` float32 in {0, 1}
    (in view, and consistent when occlusions are masked); ``matched`` the fraction of pixels that are in
    view, consistent and photometrically alike (≈ 0 at a cut).
    """

    flow: np.ndarray
    valid: np.ndarray
    matched: float


class FlowEstimator:
    """Grey frames and backward flow for one stream (the DIS instance keeps no state between calls)."""

    def __init__(self, size: tuple[int, int], options: FlowOptions | None = None) -> None:
        self.options = options or FlowOptions()
        self.size = size
        h, w = size
        self.scale = min(1.0, self.options.max_width / w)  # flow pixels per network pixel
        self.small_size = (max(2, round(h * self.scale)), max(2, round(w * self.scale)))
        self._dis = cv2.DISOpticalFlow.create(_PRESETS[self.options.preset])
        hs, ws = self.small_size
        xs, ys = np.meshgrid(np.arange(ws, dtype=np.float32), np.arange(hs, dtype=np.float32))
        self._xs, self._ys = xs, ys

    def grey(self, image: np.ndarray) -> GreyFrame:
        """``image``: RGB uint8 ``(H, W, 3)`` of any size (or grey ``(H, W)``)."""
        if image.dtype != np.uint8 or image.ndim not in (2, 3):
            raise ValueError(f"expected an RGB uint8 frame H x W x 3, got {image.dtype} {image.shape}")
        grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY) if image.ndim == 3 else image
        h, w = self.size
        if grey.shape != (h, w):
            shrinking = grey.shape[0] > h or grey.shape[1] > w
            grey = cv2.resize(grey, (w, h), interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR)
        mean, std = cv2.meanStdDev(grey)
        normalised = (grey.astype(np.float32) - np.float32(mean[0, 0])) * np.float32(1.0 / (std[0, 0] + 1.0))
        hs, ws = self.small_size
        small = grey if (hs, ws) == (h, w) else cv2.resize(grey, (ws, hs), interpolation=cv2.INTER_AREA)
        return GreyFrame(normalised=normalised, small=np.ascontiguousarray(small))

    def motion(self, previous: GreyFrame, current: GreyFrame) -> FrameMotion:
        """Backward flow current → previous, its validity, and the global match score."""
        opts = self.options
        backward = self._calc(current.small, previous.small)  # (hs, ws, 2)
        map_x = self._xs + backward[..., 0]
        map_y = self._ys + backward[..., 1]
        hs, ws = self.small_size
        in_view = (map_x >= 0) & (map_x <= ws - 1) & (map_y >= 0) & (map_y <= hs - 1)
        forward = self._calc(previous.small, current.small)
        forward_at = cv2.remap(forward, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        error = cv2.magnitude(*cv2.split(backward + forward_at)) ** 2
        lengths = cv2.magnitude(*cv2.split(backward)) ** 2 + cv2.magnitude(*cv2.split(forward_at)) ** 2
        consistent = in_view & (error <= opts.consistency_alpha * lengths + opts.consistency_beta)
        matched = self._matched_fraction(previous, current, map_x, map_y, consistent)
        valid = consistent if opts.mask_occlusions else in_view
        flow = np.ascontiguousarray(backward.transpose(2, 0, 1)) / np.float32(self.scale)
        return FrameMotion(flow=flow, valid=valid.astype(np.float32), matched=matched)

    def _calc(self, first: np.ndarray, second: np.ndarray) -> np.ndarray:
        """Flow from ``first`` to ``second``. The output must be None: a given array (even zeros) is
        taken as an initial flow by DIS and changes the result."""
        return np.asarray(self._dis.calc(first, second, None))  # type: ignore[call-overload]

    def _matched_fraction(
        self, previous: GreyFrame, current: GreyFrame, map_x: np.ndarray, map_y: np.ndarray, valid: np.ndarray
    ) -> float:
        hs, ws = self.small_size
        prev, cur = previous.normalised, current.normalised
        if prev.shape != (hs, ws):
            prev = cv2.resize(prev, (ws, hs), interpolation=cv2.INTER_AREA)
            cur = cv2.resize(cur, (ws, hs), interpolation=cv2.INTER_AREA)
        warped = cv2.remap(prev, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        residual = cv2.blur(np.abs(cur - warped), (3, 3))
        return float(np.count_nonzero(valid & (residual < self.options.match_residual))) / valid.size
