"""Frames per second of the inference modes, measured side by side in one run.

``measure_fps`` streams the same frames through one ``StreamPipeline`` per mode. It works in rounds:
in each round every mode processes ``frames_per_round`` frames back to back (prepare + forward
pass(es) + blend + uncertainty maps, device synchronised before and after), and the order of the
modes rotates from round to round. Machine noise (other processes, clock changes, a busy GPU) thus
hits all modes alike, and the ratios vqbnn/dnn and vqbnn/bnn are meaningful even where the absolute
numbers are not (shared CPUs). Untimed warm-up frames run first for each mode.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from evaluation.timing import synchronize
from models import Segmenter
from streaming import Mode, StreamConfig, StreamPipeline, apply_variant


@dataclass
class Throughput:
    """Seconds and frames per mode; ``fps`` and ``ratios`` derived from them."""

    seconds: dict[str, float] = field(default_factory=dict)
    frames: dict[str, int] = field(default_factory=dict)
    rounds: int = 0
    device: str = "cpu"
    samples: int = 30

    @property
    def fps(self) -> dict[str, float]:
        return {m: (self.frames[m] / s if s > 0 else math.nan) for m, s in self.seconds.items()}

    @property
    def ratios(self) -> dict[str, float]:
        """``vqbnn_over_dnn_fps`` and ``vqbnn_over_bnn_fps`` (those whose modes were measured)."""
        fps = self.fps
        out: dict[str, float] = {}
        for other in ("dnn", "bnn", "vqdnn"):
            if "vqbnn" in fps and other in fps and fps[other] > 0:
                out[f"vqbnn_over_{other}_fps"] = fps["vqbnn"] / fps[other]
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "fps": self.fps,
            "ratios": self.ratios,
            "frames": dict(self.frames),
            "seconds": dict(self.seconds),
            "rounds": self.rounds,
            "device": self.device,
            "samples": self.samples,
        }


def measure_fps(
    segmenter: Segmenter,
    frames: Sequence[np.ndarray],
    modes: Sequence[Mode | str],
    config: StreamConfig | None = None,
    rounds: int = 4,
    frames_per_round: int = 5,
    warmup: int = 2,
    frame_rate: float = 15.0,
) -> Throughput:
    """Time ``rounds * frames_per_round`` frames per mode, interleaving the modes round by round.

    Args:
        segmenter: the loaded network.
        frames: RGB uint8 frames, cycled in order (any size: ``prepare`` resizes them, as in serving).
        modes: the modes to compare: ``Mode``s or variant names (``vqbnn_motion``, ...).
        config: tau/window/samples/... for every mode (each applies its variant); default ``StreamConfig()``.
        rounds: number of rounds; the mode order rotates each round.
        frames_per_round: frames each mode processes back to back per round.
        warmup: untimed frames per mode before the first round.
        frame_rate: timestamps are ``index / frame_rate`` seconds, as from a camera at that rate.

    Returns:
        A ``Throughput`` with fps per mode and the vqbnn ratios.
    """
    if not frames:
        raise ValueError("need at least one frame to time")
    if not modes or rounds < 1 or frames_per_round < 1 or warmup < 0:
        raise ValueError("need modes, rounds >= 1, frames_per_round >= 1 and warmup >= 0")
    base = config or StreamConfig()
    device = segmenter.device
    names = [str(m) for m in modes]
    pipelines = {n: StreamPipeline(segmenter, apply_variant(base, n), stream_id=f"bench-{n}") for n in names}
    cursor = dict.fromkeys(names, 0)
    result = Throughput(
        seconds=dict.fromkeys(names, 0.0),
        frames=dict.fromkeys(names, 0),
        device=str(device),
        samples=base.samples,
    )

    def run(mode: str, count: int) -> None:
        pipeline = pipelines[mode]
        for _ in range(count):
            k = cursor[mode]
            pipeline.process(frames[k % len(frames)], k / frame_rate)
            cursor[mode] = k + 1

    for mode in names:
        run(mode, warmup)
    for r in range(rounds):
        shift = r % len(names)
        for mode in (*names[shift:], *names[:shift]):
            synchronize(device)
            start = time.perf_counter()
            run(mode, frames_per_round)
            synchronize(device)
            result.seconds[mode] += time.perf_counter() - start
            result.frames[mode] += frames_per_round
        result.rounds += 1
    return result
