"""Motion-aware smoothing in the incremental form (window K = 0): the running blend is warped, not K slots.

The unbounded exponential sums of ``streaming.smoothing`` become per-pixel maps that follow the scene::

    S_t(x) = s_t(x) + d_t · v_t(x) · sim_t(x) · S_{t-1}(x + f_t(x))

for ``S`` = Σ w p (C maps), Σ w H (the entropies) and Σ w (the weights), with ``d_t = exp(-Δs/tau)``,
``f_t`` the backward flow to the previous frame, ``v_t`` its validity (in view, consistent) and
``sim_t`` the photometric similarity of the current grey image and the warped previous one. A member
i's weight at x is therefore ``exp(-(s_t - s_i)/tau)`` times the product of the validity and similarity
along the chain of steps from frame i to t. One ``grid_sample`` over ``C + 3`` maps per frame, instead
of ``K·(C + 2)`` for the windowed form: the cheap choice on CPUs.
"""

from __future__ import annotations

import numpy as np
import torch

from streaming.flow import FrameMotion
from streaming.importance import Importance, LastFrame
from streaming.motion_options import MotionEstimator, MotionOptions
from streaming.motion_step import FollowsMotion, MotionStep
from streaming.uncertainty import UncertaintyMaps, entropy, uncertainty_maps


class RunningMotionSmoother(FollowsMotion):
    """Running, motion-compensated weighted sums for one stream, on ``device`` (float32)."""

    capacity = 0

    def __init__(
        self,
        num_classes: int,
        size: tuple[int, int],
        importance: Importance,
        device: torch.device,
        options: MotionOptions | None = None,
        estimator: MotionEstimator | None = None,
    ) -> None:
        self.importance = importance
        self.options = options or MotionOptions()
        self.device = device
        self.size = size
        self.num_classes = num_classes
        self._motion = MotionStep(size, device, self.options, estimator)
        # Σ w p (C), Σ w H, Σ w, and the previous frame's normalised grey: warped together
        self._state = torch.zeros((1, num_classes + 3, *size), device=device, dtype=torch.float32)
        self._count = 0
        self._last = LastFrame()

    def __len__(self) -> int:
        return self._count

    @property
    def nbytes(self) -> int:
        return self._state.numel() * self._state.element_size()

    def reset(self) -> None:
        self._count = 0
        self._motion.reset()
        self._last.clear()

    def push(
        self,
        probs: torch.Tensor,
        timestamp: float,
        frame_index: int,
        member_entropy: torch.Tensor | None = None,
        image: np.ndarray | None = None,
    ) -> UncertaintyMaps:
        if self._last.went_back(timestamp, frame_index):
            self.reset()
        grey, motion = self._motion.advance(image, self._count > 0)
        grey_now = torch.from_numpy(grey.normalised).to(self.device)
        c = self.num_classes
        state = self._state
        if motion is not None:
            self._carry(motion, grey_now, self._last.decay(timestamp, frame_index, self.importance))
        else:  # the first frame, after a reset, or a scene cut: the sums start here
            self._count = 0
            state.zero_()
        member = entropy(probs, dim=0) if member_entropy is None else member_entropy
        state[0, :c].add_(probs.float())
        state[0, c].add_(member.float())
        state[0, c + 1].add_(1.0)
        state[0, c + 2].copy_(grey_now)
        self._count += 1
        self._last.set(timestamp, frame_index)
        inv = state[0, c + 1].reciprocal()
        return uncertainty_maps(state[0, :c] * inv, state[0, c] * inv)

    def _carry(self, motion: FrameMotion, grey_now: torch.Tensor, decay: float) -> None:
        """Warp the running sums into the current frame and weight them by decay, validity, similarity."""
        c = self.num_classes
        step, valid = self._motion.step(motion)
        moved = self._motion.warper.warp(self._state, step)
        factor = valid.mul_(decay)
        similarity = self._motion.similarity(moved[:, c + 2], grey_now)
        if similarity is not None:
            factor.mul_(similarity)
        torch.mul(moved[:, : c + 2], factor.unsqueeze(1), out=self._state[:, : c + 2])

