"""Wall-clock timing of device work: synchronise before reading the clock."""

from __future__ import annotations

import time

import torch


def synchronize(device: torch.device) -> None:
    """Wait until queued work on ``device`` is done (CUDA and MPS run asynchronously; CPU does not)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()


def now(device: torch.device) -> float:
    """``time.perf_counter()`` after ``device`` has finished its queued work."""
    synchronize(device)
    return time.perf_counter()
