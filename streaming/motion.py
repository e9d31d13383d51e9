"""Motion-aware VQ-BNN smoothing: buffered predictions warped into the current frame and weighted per pixel.

Plain VQ-BNN blends the prediction of pixel x at time t with the predictions of the *same pixel index*
in earlier frames; when the camera or an object moves, those belong to another place in the scene.
Here each new frame brings a backward flow to the previous frame (``streaming.flow``, on the host);
every buffered slot keeps a composed flow from the current frame to its own frame
(``streaming.warp``), so each member is resampled once, from its original coordinates, however old
it is. The blend becomes per pixel::

    w_i(x) = pi_i · valid_i(x) · sim_i(x)
    P_t(x) = Σ_i w_i(x) p̃_i(x) / Σ_i w_i(x),   E_t(x) = Σ_i w_i(x) H̃_i(x) / Σ_i w_i(x)

with ``pi_i`` the temporal importance, ``p̃_i``/``H̃_i`` the warped member and its warped entropy,
``valid_i`` 0 where the pixel left the view in any step since slot i (and, with
``FlowOptions.mask_occlusions``, where it failed a forward-backward check), and
``sim_i = exp(-r²/(2σ²))`` from ``r``, the 3x3 mean of |grey_t - warped grey_i| (grey images
normalised to zero mean and unit contrast). The current frame always has ``w = pi_t > 0``. The same
weights blend the entropies, and bilinear resampling only mixes, so MI = H[P] - E ≥ 0 still holds.
When too few pixels of the new frame match the previous one (``matched < cut_threshold``) the scene
has cut: the buffer resets by itself.
"""

from __future__ import annotations

import numpy as np
import torch

from streaming.flow import FrameMotion, GreyFrame
from streaming.importance import Clock, Importance, LastFrame
from streaming.motion_options import MotionEstimator, MotionOptions
from streaming.motion_step import FollowsMotion, MotionStep
from streaming.uncertainty import UncertaintyMaps, entropy, uncertainty_maps


class MotionSmoother(FollowsMotion):
    """A K-slot buffer whose members are aligned to the current frame before blending; on ``device``.

    Holds per slot ``(C + 2, h, w)`` values (probabilities, entropy, normalised grey) in ``dtype``,
    plus a float32 flow ``(2, h, w)`` and validity ``(h, w)``.
    """

    def __init__(
        self,
        capacity: int,
        num_classes: int,
        size: tuple[int, int],
        importance: Importance,
        device: torch.device,
        dtype: torch.dtype = torch.float32,
        options: MotionOptions | None = None,
        estimator: MotionEstimator | None = None,
    ) -> None:
        if capacity < 1:
            raise ValueError(f"motion-aware smoothing needs a window K >= 1, got {capacity}")
        self.capacity = capacity
        self.importance = importance
        self.options = options or MotionOptions()
        self.device = device
        self.size = size
        self.num_classes = num_classes
        self._motion = MotionStep(size, device, self.options, estimator)
        self._slots = torch.zeros((capacity, num_classes + 2, *size), device=device, dtype=dtype)
        self._flows = torch.zeros((capacity, 2, *size), device=device, dtype=torch.float32)
        self._validity = torch.zeros((capacity, *size), device=device, dtype=torch.float32)
        self._sums = torch.zeros((num_classes + 1, *size), device=device, dtype=torch.float32)
        self._timestamps = [0.0] * capacity
        self._indices = [0] * capacity
        self._valid = [False] * capacity
        self._next = 0
        self._last = LastFrame()

    def __len__(self) -> int:
        return sum(self._valid)

    @property
    def nbytes(self) -> int:
        return sum(t.numel() * t.element_size() for t in (self._slots, self._flows, self._validity, self._sums))

    def reset(self) -> None:
        self._valid = [False] * self.capacity
        self._next = 0
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
        """Align the buffer to ``image``'s frame, add ``probs`` ``(C, h, w)``, return the blended maps."""
        if self._last.went_back(timestamp, frame_index):
            self.reset()
        grey, motion = self._motion.advance(image, len(self) > 0)
        if self._motion.last_cut:
            self._valid = [False] * self.capacity
            self._next = 0
        elif motion is not None:
            self._follow(motion)
        self._last.set(timestamp, frame_index)
        slot = self._store(probs, member_entropy, grey, timestamp, frame_index)
        return self._blend(slot, timestamp, frame_index)

    def weights(self, timestamp: float, frame_index: int) -> torch.Tensor:
        """The temporal part ``pi`` of every slot's weight (host tensor of length K, sums to 1)."""
        if self.importance.clock is Clock.FRAMES:
            ages = [float(frame_index - i) for i in self._indices]
        else:
            ages = [timestamp - t for t in self._timestamps]
        return self.importance.weights(torch.tensor(ages, dtype=torch.float64), torch.tensor(self._valid))

    def _follow(self, motion: FrameMotion) -> None:
        """Compose every slot's flow with this frame's step to the previous frame."""
        step, valid = self._motion.step(motion)
        self._motion.warper.compose(step, self._flows, self._validity)
        self._validity.mul_(valid)

    def _store(
        self,
        probs: torch.Tensor,
        member_entropy: torch.Tensor | None,
        grey: GreyFrame,
        timestamp: float,
        frame_index: int,
    ) -> int:
        c = self.num_classes
        slot = self._next
        self._slots[slot, :c].copy_(probs)
        self._slots[slot, c].copy_(entropy(probs, dim=0) if member_entropy is None else member_entropy)
        self._slots[slot, c + 1].copy_(torch.from_numpy(grey.normalised))
        self._flows[slot].zero_()
        self._validity[slot].fill_(1.0)
        self._timestamps[slot] = float(timestamp)
        self._indices[slot] = int(frame_index)
        self._valid[slot] = True
        self._next = (slot + 1) % self.capacity
        return slot

    def _blend(self, slot: int, timestamp: float, frame_index: int) -> UncertaintyMaps:
        c = self.num_classes
        current = self._slots[slot]
        if len(self) == 1:
            return uncertainty_maps(current[:c].float(), current[c].float())
        pi_host = self.weights(timestamp, frame_index)
        pi = pi_host.to(self.device, torch.float32)
        warped = self._motion.warper.warp(self._slots, self._flows)  # (K, C + 2, h, w), float32
        warped[slot].copy_(current)  # the current frame is used exactly as predicted
        weights = self._validity * pi.view(-1, 1, 1)
        similarity = self._motion.similarity(warped[:, c + 1], current[c + 1].float())
        if similarity is not None:
            weights.mul_(similarity)
        weights[slot].fill_(float(pi_host[slot]))
        self._sums.zero_()
        for k in range(self.capacity):
            if self._valid[k]:
                self._sums.addcmul_(warped[k, : c + 1], weights[k])
        total = weights.sum(dim=0)
        blended = self._sums / total
        return uncertainty_maps(blended[:c], blended[c])
