"""What a report says about how it was made: model, settings, data, machine, wall time."""

from __future__ import annotations

import hashlib
import platform
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from evaluation.suite import SequenceSpec
from models import Segmenter, default_checkpoint_path
from streaming import Mode, StreamConfig


def file_digest(path: Path, length: int = 12) -> str | None:
    """Leading hex digits of the file's SHA-256 (None when it cannot be read)."""
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()[:length]
    except OSError:
        return None


def describe_model(
    model: Path | None,
    segmenter: Segmenter,
    config: StreamConfig,
    modes: Sequence[Mode | str],
    quick: bool,
    seed: int,
) -> dict[str, Any]:
    """What every report says: the model, backend, machine and stream settings."""
    path = model or default_checkpoint_path()
    h, w = segmenter.meta.input_size
    return {
        "model": "default" if model is None else str(model),
        "model_file": str(path),
        "model_sha256": file_digest(path),
        "model_name": segmenter.meta.name,
        "backend": segmenter.backend,
        "backend_choice": getattr(segmenter, "backend_choice", segmenter.backend),
        "device": str(segmenter.device),
        "device_name": torch.cuda.get_device_name(segmenter.device)
        if segmenter.device.type == "cuda"
        else platform.processor() or platform.machine(),
        "torch_threads": torch.get_num_threads(),
        "network_size": f"{h}x{w}",
        "temperatures": dict(segmenter.meta.temperatures),
        "mc_rates": {m: segmenter.meta.mc_rate(m) for m in ("bnn", "vqbnn")},
        "vqbnn_samples": segmenter.meta.samples_per_frame("vqbnn"),
        "labels_compared_at": "network resolution (ground truth resized with nearest neighbour)",
        "modes": [str(m) for m in modes],
        "tau": config.tau,
        "clock": config.clock,
        "window": config.window,
        "samples": config.samples,
        "max_gap": config.max_gap,
        "motion": config.motion,
        "spatial_sigma": config.spatial_sigma,
        "quick": quick,
        "seed": seed,
    }


def describe_run(
    model: Path | None,
    segmenter: Segmenter,
    config: StreamConfig,
    modes: Sequence[Mode | str],
    specs: Sequence[SequenceSpec],
    quick: bool,
    seed: int,
) -> dict[str, Any]:
    """The ``config`` section of the synthetic suite's report (``wall_seconds`` is added when the run ends)."""
    first = specs[0]
    return {
        **describe_model(model, segmenter, config, modes, quick, seed),
        "sequences": len(specs),
        "frames": first.frames,
        "sequence_names": [s.name for s in specs],
        "seeds": [s.seed for s in specs],
        "render_size": f"{first.size[0]}x{first.size[1]}",
        "fps": first.fps,
        "severity": first.severity,
    }
