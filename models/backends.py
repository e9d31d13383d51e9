"""Which inference backend runs a model: ``auto`` (the default) or one named by ``--backend``/``VQSEG_BACKEND``.

The rule for ``auto`` (docs/onnx.md, "Choosing a backend"):

- a CUDA device: ``torch`` for a checkpoint (fp16 autocast, channels_last), ``onnx`` for an ``.onnx``
  file (TensorRT → CUDA providers);
- the CPU: the fastest runtime installed that keeps MC dropout live, in the order measured on this
  project's CPUs: ``openvino``, then ``onnx`` (ONNX Runtime CPU), then ``torch`` (eager);
  ``$VQSEG_BACKEND_ORDER`` (e.g. ``onnx,torch``) replaces that order. A ``.pt`` checkpoint reaches
  the ONNX runtimes through the export cache (``models/onnx/cache.py``); when its export fails, the
  next runtime is tried (at last torch) and the reason is logged. An ``.onnx`` file skips torch.

Every loaded ``Segmenter`` gets ``backend_choice``: one line saying what was asked, what runs and why
(shown by ``/v1/model``, the server's start-up log, ``vqseg demo`` and the bench/eval reports).
"""

from __future__ import annotations

import functools
import importlib.util
import logging
import os
from pathlib import Path

import torch

log = logging.getLogger(__name__)

AUTO = "auto"
RUNTIMES = ("torch", "onnx", "openvino")
BACKENDS = (AUTO, *RUNTIMES)
CPU_ORDER = ("openvino", "onnx", "torch")  # fastest first, measured (docs/onnx.md)


def default_backend() -> str:
    """``$VQSEG_BACKEND`` when set, else ``auto`` (read when called, never at import time)."""
    value = os.environ.get("VQSEG_BACKEND", "").strip().lower()
    return value or AUTO


def cpu_order() -> tuple[str, ...]:
    """``$VQSEG_BACKEND_ORDER`` (comma separated runtimes) or the measured default, fastest first."""
    text = os.environ.get("VQSEG_BACKEND_ORDER", "").strip()
    if not text:
        return CPU_ORDER
    order = tuple(check_backend(name) for name in text.split(",") if name.strip())
    if AUTO in order or not order:
        raise ValueError(f"VQSEG_BACKEND_ORDER lists runtimes ({', '.join(RUNTIMES)}), got {text!r}")
    return order


def check_backend(name: str) -> str:
    name = name.strip().lower()
    if name not in BACKENDS:
        raise ValueError(f"unknown backend {name!r}; choose one of: {', '.join(BACKENDS)}")
    return name


@functools.cache
def runtime_installed(name: str) -> bool:
    """Whether a backend's runtime can be imported here (torch always can)."""
    if name == "torch":
        return True
    module = {"onnx": "onnxruntime", "openvino": "openvino"}[name]
    if importlib.util.find_spec(module) is None:
        return False
    if name == "openvino":
        try:
            import openvino as ov

            return "CPU" in ov.Core().available_devices
        except Exception:  # a broken install must not stop the server: it falls through to the next runtime
            return False
    return True


def auto_order(path: Path, device: torch.device) -> list[str]:
    """The runtimes ``auto`` tries for ``path`` on ``device``, best first."""
    onnx_file = path.suffix.lower() == ".onnx"
    if device.type == "cuda":
        return ["onnx"] if onnx_file else ["torch"]
    order = [r for r in cpu_order() if runtime_installed(r)]
    if onnx_file:
        return [r for r in order if r != "torch"] or ["onnx"]
    return order if "torch" in order else [*order, "torch"]  # a checkpoint always has torch as the last resort
