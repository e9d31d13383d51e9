"""Choosing the device a model runs on."""

from __future__ import annotations

import torch


def resolve_device(name: str = "auto") -> torch.device:
    """``auto`` picks CUDA when it is available, else the CPU; ``cuda`` without CUDA is an error."""
    name = name.strip().lower()
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError("device 'cuda' was asked for but CUDA is not available on this machine")
    if device.type not in {"cpu", "cuda"}:
        raise ValueError(f"unsupported device {name!r}; use auto, cpu or cuda[:N]")
    return device
