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
    modes: tuple[Mode, ...] = (Mode.DNN, Mode.VQDNN, Mode.VQBNN, Mode.BNN)
    samples: int = 30
    window: int = 6
    rounds: int = 4
    frames_per_round: int = 5
    warmup: int = 2


def run_model_bench(
    segmenter: Segmenter, frames: Sequence[np.ndarray], fps: float, config: ModelBenchConfig
) -> dict[str, Any]:
    """The ``model`` section: fps per mode, the vqbnn ratios, and the ring buffer of one stream."""
    stream = StreamConfig(samples=config.samples, window=config.window)
    throughput = measure_fps(
        segmenter, frames, config.modes, stream, rounds=config.rounds, frames_per_round=config.frames_per_round,
        warmup=config.warmup, frame_rate=fps,
    )
    h, w = segmenter.meta.input_size
    return {
        **throughput.to_dict(),
        "batch": 1,
        "torch_threads": torch.get_num_threads(),
        "network_size": [h, w],
        "ring_buffer": ring_buffer_size(config.window, segmenter.meta.num_classes, h, w),
    }


def ring_buffer_size(window: int, classes: int, height: int, width: int) -> dict[str, Any]:
    """K·C·h·w values per stream, in bytes at fp32 and fp16 (the buffer lives at network resolution)."""
    values = window * classes * height * width
    return {"window": window, "classes": classes, "height": height, "width": width, "values": values,
            "bytes_fp32": values * 4, "bytes_fp16": values * 2}
