"""Checkpoints exported on demand for the onnx backend, cached by content.

``vqseg serve --backend onnx`` with a ``.pt`` checkpoint (the embedded default included) exports it
once into ``$VQSEG_CACHE_DIR/onnx`` (default ``$XDG_CACHE_HOME/vqseg`` or ``~/.cache/vqseg``), keyed
by the checkpoint's bytes, the torch version and the export format, and reuses the file afterwards.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from pathlib import Path

import torch

from models.checkpoint import CheckpointError
from models.onnx.export import DEFAULT_OPSET, export_onnx
from models.onnx.metadata import VERSION

log = logging.getLogger(__name__)


def cache_root() -> Path:
    """vqseg's cache folder, read from the environment when called (never at import time)."""
    explicit = os.environ.get("VQSEG_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "vqseg"


def tensorrt_cache_dir() -> Path:
    """Where TensorRT keeps the engines it builds (minutes of work on a first load)."""
    return _writable(cache_root() / "tensorrt")


def onnx_for_checkpoint(checkpoint: str | Path) -> Path:
    """The stochastic ONNX export of ``checkpoint``, exported now unless the cache has it."""
    checkpoint = Path(checkpoint)
    if not checkpoint.is_file():
        raise CheckpointError(f"checkpoint not found: {checkpoint}")
    digest = hashlib.sha256()
    with checkpoint.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    digest.update(f"torch {torch.__version__} vqseg-onnx {VERSION} opset {DEFAULT_OPSET}".encode())
    target = _writable(cache_root() / "onnx") / f"{checkpoint.stem}-{digest.hexdigest()[:16]}.onnx"
    if target.is_file():
        log.info("onnx backend: using %s (cached export of %s)", target, checkpoint)
        return target
    log.info("onnx backend: exporting %s to %s (once; later loads use the cache)", checkpoint, target)
    export_onnx(checkpoint, target)
    return target


def _writable(folder: Path) -> Path:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / f".probe-{os.getpid()}"
        probe.touch()
        probe.unlink()
        return folder
    except OSError:
        fallback = Path(tempfile.gettempdir()) / "vqseg-cache" / folder.name
        fallback.mkdir(parents=True, exist_ok=True)
        log.warning("cache folder %s is not writable; using %s", folder, fallback)
        return fallback
