"""The four inference modes, selectable per stream and in every benchmark."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Mode(StrEnum):
    DNN = "dnn"  # dropout off, one pass, no smoothing
    BNN = "bnn"  # MC dropout, N passes per frame (the slow baseline)
    VQDNN = "vqdnn"  # dropout off + temporal smoothing
    VQBNN = "vqbnn"  # dropout on (one pass) + temporal smoothing: the default

    @property
    def mc(self) -> bool:
        """Whether the forward pass samples a dropout mask."""
        return self in (Mode.BNN, Mode.VQBNN)

    @property
    def smooths(self) -> bool:
        """Whether predictions are blended with the stream's ring buffer."""
        return self in (Mode.VQDNN, Mode.VQBNN)


def parse_mode(value: str) -> Mode:
    try:
        return Mode(value.strip().lower())
    except ValueError:
        raise ValueError(f"unknown mode {value!r}; choose one of: {', '.join(m.value for m in Mode)}") from None


@dataclass(frozen=True)
class StreamConfig:
    """Per-stream inference settings.

    ``tau`` is the importance time constant on ``clock`` (seconds or frames); ``window`` is K, the
    number of predictions blended including the current one (0 = unbounded incremental form);
    ``samples`` is N for ``bnn``; ``max_gap`` (seconds) resets the buffer after a pause.

    Beyond the paper (docs/motion.md): ``motion`` aligns the buffered predictions to the current frame
    with optical flow and weights them per pixel by validity and photometric similarity (smoothing
    modes only; needs the frame image with every prediction); ``spatial_sigma``
    (pixels at the network's resolution, 0 = off) blurs each prediction before it is blended.
    ``seed`` (None = unseeded) makes the stream's dropout masks reproducible: frame i's masks follow
    from (seed, i), so the same frames give the same results in the server and in ``vqseg eval``.
    """

    mode: Mode = Mode.VQBNN
    tau: float = 1.25 / 15.0
    clock: str = "seconds"
    window: int = 6
    samples: int = 30
    max_gap: float = 2.0
    motion: bool = False
    spatial_sigma: float = 0.0
    seed: int | None = None

    def __post_init__(self) -> None:
        if not 0 < self.tau <= 3600:
            raise ValueError(f"tau must be in (0, 3600], got {self.tau}")
        if self.clock not in ("seconds", "frames"):
            raise ValueError(f"clock must be 'seconds' or 'frames', got {self.clock!r}")
        if not 0 <= self.window <= 64:
            raise ValueError(f"window K must be in [0, 64] (0 = incremental), got {self.window}")
        if not 1 <= self.samples <= 256:
            raise ValueError(f"samples must be in [1, 256], got {self.samples}")
        if not self.max_gap > 0:
            raise ValueError(f"max_gap must be > 0 seconds, got {self.max_gap}")
        if not isinstance(self.motion, bool):
            raise ValueError(f"motion must be true or false, got {self.motion!r}")
        if not 0.0 <= self.spatial_sigma <= 16.0:
            raise ValueError(f"spatial_sigma must be in [0, 16] pixels (0 = off), got {self.spatial_sigma}")
        if self.seed is not None and (isinstance(self.seed, bool) or not 0 <= self.seed < 2**31):
            raise ValueError(f"seed must be an integer in [0, 2^31) or absent, got {self.seed!r}")
