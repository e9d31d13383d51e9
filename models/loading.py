"""``load_segmenter``: a checkpoint (or the embedded default) to a ready ``Segmenter``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from models.backend_torch import TorchSegmenter
from models.checkpoint import load_checkpoint
from models.devices import resolve_device
from models.foreign import is_foreign, load_foreign
from models.segmenter import Segmenter

DEFAULT_CHECKPOINT = Path(__file__).resolve().parent / "default" / "vqseg_default.pt"

BACKENDS = ("torch", "onnx")


def default_checkpoint_path() -> Path:
    """The model vqseg trained itself on its synthetic street scenes and ships in the package."""
    return DEFAULT_CHECKPOINT


def load_segmenter(
    path: str | Path | None = None,
    device: str = "auto",
    backend: str | None = None,
    providers: str | Sequence[str] | None = None,
    sidecar: str | Path | None = None,
    describe: Mapping[str, Any] | None = None,
) -> Segmenter:
    """Load a vqseg checkpoint (``.pt``) or an ONNX file (``.onnx``); ``None`` loads the default.

    ``backend`` defaults to ``onnx`` for ``.onnx`` files and ``torch`` otherwise; the onnx backend
    exports a ``.pt`` checkpoint once into a cache. ``providers`` (onnx only, e.g. ``"cuda,cpu"``)
    overrides ONNX Runtime's TensorRT → CUDA → CPU order.

    A model trained elsewhere (a foreign ``.onnx``, TorchScript, ``.pt2``) is described by its sidecar
    (``model.vqseg.yaml`` next to it, or ``sidecar``) and ``describe`` (sidecar keys given as flags).
    """
    path = Path(path) if path else default_checkpoint_path()
    if describe or is_foreign(path, sidecar):
        return load_foreign(path, device, providers, sidecar, describe)
    if backend is None:
        backend = "onnx" if path.suffix == ".onnx" else "torch"
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; choose one of: {', '.join(BACKENDS)}")
    if backend == "onnx":
        from models.backend_onnx import load_onnx_segmenter

        return load_onnx_segmenter(path, device=device, providers=providers)
    if providers is not None:
        raise ValueError("execution providers apply to the onnx backend only")
    if path.suffix == ".onnx":
        raise ValueError("an .onnx file runs on the onnx backend, not torch")
    torch_device = resolve_device(device)
    model, meta = load_checkpoint(path)
    return TorchSegmenter(model, meta, torch_device)
