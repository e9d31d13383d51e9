"""The raw network's frames per second per mode, in this process, batch 1 (the served figures'
reference): prepare + forward pass(es) + blend + uncertainty maps, as ``vqseg eval`` times them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from evaluation.throughput import measure_fps
from models import Segmenter
from streaming import Mode, StreamConfig


@dataclass(frozen=True)
class ModelBenchConfig:
    """``rounds`` x ``frames_per_round`` frames per mode; ``bnn`` (N passes a frame) is timed in a
    second interleaved run against ``vqbnn`` with ``bnn_rounds`` x 1 frame, so that it does not take
    N times longer than the rest (each ratio comes from modes timed side by side)."""

    modes: tuple[Mode, ...] = (Mode.DNN, Mode.VQDNN, Mode.VQBNN, Mode.BNN)
    samples: int = 30
    window: int = 6
    rounds: int = 4
    frames_per_round: int = 5
    warmup: int = 2
    bnn_rounds: int = 3


def run_model_bench(
    segmenter: Segmenter, frames: Sequence[np.ndarray], fps: float, config: ModelBenchConfig
) -> dict[str, Any]:
    """The ``model`` section: fps per mode, the vqbnn ratios, and the ring buffer of one stream."""
    stream = StreamConfig(samples=config.samples, window=config.window)
    cheap = tuple(m for m in config.modes if m is not Mode.BNN)
    result: dict[str, Any] = {"fps": {}, "ratios": {}, "frames": {}, "seconds": {}}
    if cheap:
        main = measure_fps(segmenter, frames, cheap, stream, rounds=config.rounds,
                           frames_per_round=config.frames_per_round, warmup=config.warmup, frame_rate=fps)
        _merge(result, main.to_dict())
    if Mode.BNN in config.modes:
        pair = (Mode.VQBNN, Mode.BNN)
        slow = measure_fps(segmenter, frames, pair, stream, rounds=config.bnn_rounds, frames_per_round=1,
                           warmup=1, frame_rate=fps)
        timed = slow.to_dict()
        result["fps"]["bnn"] = timed["fps"]["bnn"]
        result["frames"]["bnn"], result["seconds"]["bnn"] = timed["frames"]["bnn"], timed["seconds"]["bnn"]
        result["ratios"]["vqbnn_over_bnn_fps"] = timed["ratios"].get("vqbnn_over_bnn_fps")
    h, w = segmenter.meta.input_size
    return {
        **result,
        "samples": config.samples,
        "device": str(segmenter.device),
        "batch": 1,
        "torch_threads": torch.get_num_threads(),
        "network_size": [h, w],
        "ring_buffer": ring_buffer_size(config.window, segmenter.meta.num_classes, h, w),
    }


def _merge(result: dict[str, Any], timed: dict[str, Any]) -> None:
    for key in ("fps", "ratios", "frames", "seconds"):
        result[key].update(timed[key])


def ring_buffer_size(window: int, classes: int, height: int, width: int) -> dict[str, Any]:
    """What one stream holds at network resolution: K predictions (C·h·w) and K entropy maps (h·w),
    in bytes at fp32 and fp16."""
    values = window * (classes + 1) * height * width
    return {"window": window, "classes": classes, "height": height, "width": width, "values": values,
            "bytes_fp32": values * 4, "bytes_fp16": values * 2}
