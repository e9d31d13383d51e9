"""The four inference modes, selectable per stream and in every benchmark."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from streaming.options import StreamOption, option, options_of, validate_options


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
    """Per-stream inference settings: each field is one per-stream option (``streaming.options``),
    declared here once with its default, range and help; parsing, flags, settings and docs derive
    from these entries.

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

    mode: Mode = option(Mode.VQBNN, "inference mode (docs/method.md)", choices=[m.value for m in Mode])
    tau: float = option(1.25 / 15.0, "importance time constant, on `clock`", low=0, low_open=True, high=3600)
    clock: str = option("seconds", "what `tau` counts: `frames` = the paper's frame-index weights",
                        choices=("seconds", "frames"))
    window: int = option(6, "K, predictions blended incl. the current one (0 = unbounded incremental form)",
                         low=0, high=64)
    samples: int = option(30, "N, forward passes per frame in `bnn`", low=1, high=256)
    max_gap: float = option(2.0, "seconds without frames after which the buffer restarts", low=0, low_open=True)
    motion: bool = option(False, "motion-aware smoothing: buffered predictions aligned by optical flow "
                          "(docs/motion.md)")
    spatial_sigma: float = option(0.0, "Gaussian blur (pixels at network resolution) of each prediction "
                                  "before the blend (0 = off)", low=0, high=16)
    seed: int | None = option(None, "seeds the stream's dropout masks (frame i's from seed and i; torch "
                              "backend): the same frames give what `vqseg eval` gives with that seed",
                              low=0, high=2**31 - 1)

    def __post_init__(self) -> None:
        validate_options(self)


def stream_options() -> tuple[StreamOption, ...]:
    """The per-stream options, in declaration order."""
    return options_of(StreamConfig)
