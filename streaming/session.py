"""Per-stream sessions: a stream's settings, its smoother and its counters."""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace

import numpy as np
import torch

from streaming.importance import Clock, Importance
from streaming.modes import Mode, StreamConfig
from streaming.motion import MotionSmoother
from streaming.motion_running import RunningMotionSmoother
from streaming.smoothing import Smoother, TemporalSmoother
from streaming.spatial import GaussianBlur
from streaming.uncertainty import UncertaintyMaps, single_maps


@dataclass
class SessionStats:
    frames: int = 0
    dropped: int = 0
    resets: int = 0
    cuts: int = 0  # scene cuts detected by motion-aware smoothing (each also reset the buffer)
    created_at: float = field(default_factory=time.time)
    last_seen: float = field(default_factory=time.monotonic)


class StreamSession:
    """One stream's state: its configuration and the preallocated on-device smoother.

    ``consume`` takes the stream's next prediction (from one forward pass, or the mean of N for bnn)
    and returns the frame's maps. It resets the buffer after a gap longer than ``max_gap`` seconds.
    Not thread-safe on its own: the server's inference thread is the only one that runs a session's frames.
    """

    def __init__(
        self,
        stream_id: str,
        config: StreamConfig,
        num_classes: int,
        size: tuple[int, int],
        device: torch.device,
        dtype: torch.dtype | None = None,
    ) -> None:
        self.stream_id = stream_id
        self.num_classes = num_classes
        self.size = size
        self.device = device
        self.dtype = dtype or (torch.float16 if device.type == "cuda" else torch.float32)
        self.stats = SessionStats()
        self.frame_index = -1
        self.last_timestamp: float | None = None
        self.config = config
        self._smoother = self._build_smoother(config)
        self._blur = self._build_blur(config)
        self._scratch: torch.Tensor | None = None  # the entropy's work space in dnn/bnn, made on first use

    def _build_smoother(self, config: StreamConfig) -> Smoother:
        importance = Importance(config.tau, Clock(config.clock))
        if config.motion and config.window == 0:
            return RunningMotionSmoother(self.num_classes, self.size, importance, self.device)
        if config.motion:
            return MotionSmoother(config.window, self.num_classes, self.size, importance, self.device, self.dtype)
        return TemporalSmoother(config.window, self.num_classes, self.size, importance, self.device, self.dtype)

    def _build_blur(self, config: StreamConfig) -> GaussianBlur | None:
        return GaussianBlur(config.spatial_sigma, self.device) if config.spatial_sigma > 0 else None

    @property
    def needs_image(self) -> bool:
        """Whether ``consume`` must be given the frame image (motion-aware smoothing is on)."""
        return self.config.motion and self.config.mode.smooths

    @property
    def buffer_len(self) -> int:
        return len(self._smoother) if self.config.mode.smooths else (1 if self.stats.frames else 0)

    @property
    def buffer_bytes(self) -> int:
        return self._smoother.nbytes

    def reconfigure(self, **changes: object) -> StreamConfig:
        """Change mode/tau/window/...; a new window size, clock or motion setting reallocates (and resets)
        the buffer; a new spatial sigma keeps it."""
        new = replace(self.config, **changes)  # type: ignore[arg-type]
        if (new.window, new.clock, new.motion) != (self.config.window, self.config.clock, self.config.motion):
            self._smoother = self._build_smoother(new)
        elif new.tau != self.config.tau:
            self._smoother.importance = Importance(new.tau, Clock(new.clock))
        if new.mode != self.config.mode:
            self._smoother.reset()
        if new.spatial_sigma != self.config.spatial_sigma:
            self._blur = self._build_blur(new)
        self.config = new
        return new

    def reset(self) -> None:
        self._smoother.reset()
        self.stats.resets += 1

    def consume(
        self,
        probs: torch.Tensor,
        timestamp: float,
        member_entropy: torch.Tensor | None = None,
        image: np.ndarray | None = None,
    ) -> UncertaintyMaps:
        """This frame's maps from its prediction ``(C, h, w)``, per the stream's mode.

        ``image`` is the frame the prediction came from (RGB uint8, any size); it is needed only when
        ``needs_image`` (motion-aware smoothing), and then ``MissingImageError`` is raised without it.
        """
        if self.last_timestamp is not None and (
            timestamp - self.last_timestamp > self.config.max_gap or timestamp < self.last_timestamp
        ):
            self.reset()
        self.frame_index += 1
        self.stats.frames += 1
        self.stats.last_seen = time.monotonic()
        self.last_timestamp = timestamp
        if self._blur is not None:
            probs, member_entropy = self._blur(probs, member_entropy)
        if self.config.mode.smooths:
            maps = self._smoother.push(probs, timestamp, self.frame_index, member_entropy, image)
            self.stats.cuts += int(self._smoother.last_cut)
            return maps
        if self._scratch is None or self._scratch.shape != probs.shape:
            self._scratch = torch.empty(probs.shape, device=probs.device, dtype=torch.float32)
        return single_maps(probs, member_entropy, self._scratch)

    def idle_seconds(self, now: float | None = None) -> float:
        return (time.monotonic() if now is None else now) - self.stats.last_seen


def buffer_cost(config: StreamConfig, num_classes: int, size: tuple[int, int], dtype: torch.dtype) -> int:
    """Bytes a session with ``config`` allocates for its smoother (``window`` x classes x size, plus
    what motion-aware smoothing keeps), computed on the ``meta`` device without allocating."""
    probe = StreamSession("cost", config, num_classes, size, torch.device("meta"), dtype)
    return probe.buffer_bytes


__all__ = ["Mode", "SessionStats", "StreamConfig", "StreamSession", "buffer_cost"]
