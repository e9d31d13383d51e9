"""The per-frame step both motion-aware smoothers share: the frame's grey image, its flow to the
previous frame (or a scene cut), and the per-pixel factors that follow from them.

``MotionStep.advance`` checks that the frame image came with the prediction, computes its grey image
and, when the smoother has history, the backward flow to the previous frame; too few matched pixels
(``matched < cut_threshold``) is a scene cut (``last_cut``; the smoother resets). ``step`` gives the
flow upsampled to the network's resolution and its validity (consistent and in view); ``similarity``
the photometric weight ``exp(-r²/(2σ²))`` of warped grey images against the current one.
"""

from __future__ import annotations

import numpy as np
import torch
from torch.nn import functional as F

from streaming.errors import MissingImageError
from streaming.flow import FlowEstimator, FrameMotion, GreyFrame
from streaming.motion_options import MotionEstimator, MotionOptions
from streaming.warp import Warper, upsample


class MotionStep:
    """Flow, validity, similarity and scene cuts for one stream at ``size`` on ``device``."""

    def __init__(
        self, size: tuple[int, int], device: torch.device, options: MotionOptions,
        estimator: MotionEstimator | None = None,
    ) -> None:
        self.size = size
        self.device = device
        self.options = options
        self.estimator: MotionEstimator = estimator or FlowEstimator(size, options.flow)
        self.warper = Warper(size, device)
        self.previous: GreyFrame | None = None
        self.last_cut = False
        self.cuts = 0

    def reset(self) -> None:
        self.previous = None

    def advance(self, image: np.ndarray | None, has_history: bool) -> tuple[GreyFrame, FrameMotion | None]:
        """This frame's grey image, and its motion to the previous frame (None: no history, or a cut)."""
        if image is None:
            raise MissingImageError("motion-aware smoothing needs the frame image with every prediction")
        grey = self.estimator.grey(image)
        self.last_cut = False
        motion = None
        if self.previous is not None and has_history:
            motion = self.estimator.motion(self.previous, grey)
            if motion.matched < self.options.cut_threshold:
                self.last_cut, motion = True, None
                self.cuts += 1
        self.previous = grey
        return grey, motion

    def step(self, motion: FrameMotion) -> tuple[torch.Tensor, torch.Tensor]:
        """The backward flow ``(1, 2, h, w)`` at the network's resolution and its validity ``(1, h, w)``
        (consistent, and pointing inside the previous frame)."""
        step = upsample(torch.from_numpy(motion.flow).unsqueeze(0).to(self.device), self.size)
        valid = upsample(torch.from_numpy(motion.valid)[None, None].to(self.device), self.size)[:, 0]
        return step, valid.clamp_(0.0, 1.0).mul_(self.warper.in_view(step))

    def similarity(self, warped_grey: torch.Tensor, grey_now: torch.Tensor) -> torch.Tensor | None:
        """``(N, h, w)`` weights from the 3x3 mean absolute grey residual; None when switched off."""
        sigma = self.options.similarity_sigma
        if sigma <= 0:
            return None
        residual = (warped_grey - grey_now).abs_().unsqueeze(1)
        residual = F.avg_pool2d(residual, 3, stride=1, padding=1, count_include_pad=False)[:, 0]
        return torch.exp_(residual.div_(sigma).square_().mul_(-0.5))


class FollowsMotion:
    """What a motion-aware smoother reports from its ``MotionStep`` (``_motion``)."""

    _motion: MotionStep

    @property
    def last_cut(self) -> bool:
        """Whether the last push found a scene cut (and started over)."""
        return self._motion.last_cut

    @property
    def cuts(self) -> int:
        return self._motion.cuts
