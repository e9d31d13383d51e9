"""ONNX Runtime execution providers: TensorRT → CUDA → CPU, keeping only those that can work here.

A provider can be compiled into the onnxruntime wheel and still fail at session creation (no GPU, no
driver, no TensorRT libraries); ONNX Runtime then prints an error and falls back. Providers that
cannot work are dropped before a session is made, so the fallback is quiet and said once in the log.
"""

from __future__ import annotations

import ctypes
import functools
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import onnxruntime as ort
import torch

TENSORRT = "TensorrtExecutionProvider"
CUDA = "CUDAExecutionProvider"
CPU = "CPUExecutionProvider"
GPU_PROVIDERS = (TENSORRT, CUDA)

ALIASES = {"tensorrt": TENSORRT, "trt": TENSORRT, "cuda": CUDA, "cpu": CPU}

ProviderSpec = tuple[str, dict[str, Any]]


def parse_providers(text: str | Sequence[str]) -> list[str]:
    """``"tensorrt,cuda,cpu"`` or a list of names/aliases to ONNX Runtime provider names."""
    items = text.split(",") if isinstance(text, str) else list(text)
    names = []
    for item in (i.strip() for i in items):
        if not item:
            continue
        name = ALIASES.get(item.lower(), item)
        if not name.endswith("ExecutionProvider"):
            raise ValueError(f"unknown execution provider {item!r}; use tensorrt, cuda, cpu or an ONNX Runtime name")
        names.append(name)
    if not names:
        raise ValueError("no execution provider given")
    return names


def default_provider_names(device: torch.device) -> list[str]:
    """TensorRT → CUDA → CPU for a CUDA device, the CPU alone otherwise."""
    return [TENSORRT, CUDA, CPU] if device.type == "cuda" else [CPU]


def provider_options(
    name: str, device: torch.device, input_size: tuple[int, int], max_batch: int, cache_dir: Path | None
) -> dict[str, Any]:
    """Options per provider: the CUDA device, and for TensorRT fp16, an engine cache and shape profiles.

    The profiles cover batches 1..``max_batch`` at the network's input size (frames are resized to it),
    so TensorRT builds one engine instead of one per batch size.
    """
    index = device.index if device.index is not None else 0
    if name == CUDA:
        return {"device_id": index}
    if name == TENSORRT:
        h, w = input_size
        options: dict[str, Any] = {
            "device_id": index,
            "trt_fp16_enable": True,
            "trt_profile_min_shapes": f"image:1x3x{h}x{w}",
            "trt_profile_opt_shapes": f"image:{max(1, max_batch // 2)}x3x{h}x{w}",
            "trt_profile_max_shapes": f"image:{max_batch}x3x{h}x{w}",
        }
        if cache_dir is not None:
            options["trt_engine_cache_enable"] = True
            options["trt_engine_cache_path"] = str(cache_dir)
        return options
    return {}


def usable_providers(names: Sequence[str]) -> tuple[list[str], dict[str, str]]:
    """Split ``names`` into those that can work on this machine and the others with the reason.

    The CPU provider is always kept (appended if missing) as the last resort.
    """
    available = set(ort.get_available_providers())
    usable: list[str] = []
    skipped: dict[str, str] = {}
    for name in names:
        reason = _unusable_reason(name, available)
        if reason:
            skipped[name] = reason
        elif name not in usable:
            usable.append(name)
    if CPU not in usable:
        usable.append(CPU)
    return usable, skipped


def _unusable_reason(name: str, available: set[str]) -> str | None:
    if name not in available:
        return "not in this onnxruntime build"
    if name in GPU_PROVIDERS and not torch.cuda.is_available():
        return "no CUDA device"
    if name == TENSORRT and not _tensorrt_libraries():
        return "TensorRT libraries (libnvinfer) not found"
    return None


@functools.cache
def _tensorrt_libraries() -> bool:
    for library in ("libnvinfer.so.10", "libnvinfer.so", "nvinfer_10.dll", "nvinfer.dll"):
        try:
            ctypes.CDLL(library)
        except OSError:
            continue
        return True
    return False
