"""Checkpoints exported on demand for the onnx backend, cached by content.

The onnx and openvino backends (``--backend auto`` picks one on a CPU) run a ``.pt`` checkpoint (the
embedded default included) by exporting it once into ``$VQSEG_CACHE_DIR/onnx`` (default
``$XDG_CACHE_HOME/vqseg`` or ``~/.cache/vqseg``), keyed by the checkpoint's bytes, the torch version,
the export format and recipe, and reuse the file afterwards. The cache exports with torch's legacy
``torchscript`` exporter (about a second for the default model; the same graph) and falls back to
``dynamo`` when that one fails. Files are written to a temporary name and renamed (atomic).
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from pathlib import Path

import torch

from models.checkpoint import CheckpointError, load_checkpoint
from models.onnx.export import DEFAULT_OPSET, Exporter, export_onnx
from models.onnx.metadata import VERSION

log = logging.getLogger(__name__)

# The exporters the cache tries, in order; part of the cache key (a change of recipe re-exports).
CACHE_EXPORTERS: tuple[Exporter, ...] = ("torchscript", "dynamo")


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
    """The ONNX export of ``checkpoint`` (live dropout when it has any), exported now unless cached."""
    checkpoint = Path(checkpoint)
    if not checkpoint.is_file():
        raise CheckpointError(f"checkpoint not found: {checkpoint}")
    digest = hashlib.sha256()
    with checkpoint.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    recipe = ",".join(CACHE_EXPORTERS)
    digest.update(f"torch {torch.__version__} vqseg-onnx {VERSION} opset {DEFAULT_OPSET} {recipe}".encode())
    target = _writable(cache_root() / "onnx") / f"{checkpoint.stem}-{digest.hexdigest()[:16]}.onnx"
    if target.is_file():
        log.info("using %s (cached ONNX export of %s)", target, checkpoint)
        return target
    log.info("exporting %s to %s (once; later loads use the cache)", checkpoint, target)
    model, meta = load_checkpoint(checkpoint)
    errors = []
    for exporter in CACHE_EXPORTERS:
        try:
            # a network without dropout gets the deterministic graph (dnn / vqdnn only, as on torch)
            result = export_onnx((model, meta), target, stochastic=meta.dropout > 0, exporter=exporter)
        except Exception as exc:  # the exporters raise many types; the next one may still work
            errors.append(f"{exporter}: {type(exc).__name__}: {exc}")
            log.warning("export of %s with the %s exporter failed: %s", checkpoint.name, exporter, exc)
            continue
        log.info("exported %s with the %s exporter in %.1f s", checkpoint.name, exporter, result.seconds)
        return target
    raise ExportFailed(f"cannot export {checkpoint} to ONNX ({'; '.join(errors)})")


INT8_RECIPE = "int8-qdq-minmax-synthetic32-v1"


def int8_for_checkpoint(checkpoint: str | Path) -> Path:
    """The int8 file of ``checkpoint`` (or of an fp32 ``.onnx`` file), calibrated on 32 synthetic street
    frames, quantized now unless cached (``vqseg export --int8 --calibration-data`` for your own frames)."""
    from models.onnx.calibration import synthetic_frames
    from models.onnx.quantize import quantize_int8

    checkpoint = Path(checkpoint)
    fp32 = checkpoint if checkpoint.suffix.lower() == ".onnx" else onnx_for_checkpoint(checkpoint)
    digest = hashlib.sha256(fp32.read_bytes() + INT8_RECIPE.encode()).hexdigest()[:16]
    target = _writable(cache_root() / "onnx") / f"{checkpoint.stem}-{digest}-int8.onnx"
    if target.is_file():
        return target
    log.info("quantizing %s to int8 into %s (once)", fp32.name, target)
    quantize_int8(fp32, target, synthetic_frames(32))
    return target


class ExportFailed(RuntimeError):
    """No exporter could turn the checkpoint into an ONNX file (``--backend auto`` then uses torch)."""


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
