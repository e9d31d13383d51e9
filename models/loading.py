"""``load_segmenter``: a checkpoint (or the embedded default) to a ready ``Segmenter``."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch

from models.backend_torch import TorchSegmenter
from models.backends import AUTO, BACKENDS, auto_order, check_backend, default_backend
from models.checkpoint import load_checkpoint
from models.devices import resolve_device
from models.foreign import is_foreign, load_foreign
from models.onnx.cache import ExportFailed
from models.onnx.metadata import OnnxModelError
from models.segmenter import Segmenter

log = logging.getLogger(__name__)

DEFAULT_CHECKPOINT = Path(__file__).resolve().parent / "default" / "vqseg_default.pt"

__all__ = ["BACKENDS", "default_checkpoint_path", "load_segmenter"]


def default_checkpoint_path() -> Path:
    """The model vqseg trained itself on its synthetic street scenes and ships in the package."""
    return DEFAULT_CHECKPOINT


def load_segmenter(
    path: str | Path | None = None,
    device: str = "auto",
    backend: str | None = None,
    providers: str | Sequence[str] | None = None,
    threads: int | None = None,
    sidecar: str | Path | None = None,
    describe: Mapping[str, Any] | None = None,
) -> Segmenter:
    """Load a vqseg checkpoint (``.pt``) or an ONNX file (``.onnx``); ``None`` loads the default.

    ``backend``: ``auto`` (default, or ``$VQSEG_BACKEND``) picks the fastest runtime installed for
    the device (``models.backends``); ``torch``, ``onnx`` or ``openvino`` forces one. The onnx and
    openvino backends export a ``.pt`` checkpoint once into a cache. ``providers`` (onnx only, e.g.
    ``"cuda,cpu"``) overrides ONNX Runtime's TensorRT → CUDA → CPU order. ``threads``: CPU threads of
    the runtime (default: torch's current count; for torch it sets that count). The segmenter's
    ``backend_choice`` says what was asked and why this backend runs.

    A model trained elsewhere (a foreign ``.onnx``, TorchScript, ``.pt2``) is described by its sidecar
    (``model.vqseg.yaml`` next to it, or ``sidecar``) and ``describe`` (sidecar keys given as flags);
    it runs on ONNX Runtime (``.onnx``) or torch (docs/models.md), whatever ``backend`` says.
    """
    path = Path(path) if path else default_checkpoint_path()
    if describe or is_foreign(path, sidecar):
        if threads is not None:
            torch.set_num_threads(threads)
        segmenter = load_foreign(path, device, providers, sidecar, describe)
        segmenter.backend_choice = f"{segmenter.backend} (a model trained elsewhere)"  # type: ignore[attr-defined]
        return segmenter
    asked = check_backend(backend or default_backend())
    if asked != AUTO:
        segmenter = _load(asked, path, device, providers, threads)
        segmenter.backend_choice = f"{segmenter.backend} (asked for)"  # type: ignore[attr-defined]
        return segmenter
    torch_device = resolve_device(device)
    order = ["onnx"] if providers is not None else auto_order(path, torch_device)
    failed: list[str] = []
    for index, runtime in enumerate(order):
        try:
            segmenter = _load(runtime, path, device, providers, threads)
        except (ExportFailed, OnnxModelError) as exc:
            if index == len(order) - 1:
                raise
            failed.append(f"{runtime} failed: {exc}")
            log.warning("backend auto: %s cannot run %s, trying %s: %s", runtime, path.name, order[index + 1], exc)
            continue
        why = f"{torch_device.type}, first of {' > '.join(order)} that loads"
        choice = f"{runtime} (auto: {why}{''.join(f'; {f}' for f in failed)})"
        segmenter.backend_choice = choice  # type: ignore[attr-defined]
        log.info("backend %s for %s", choice, path.name)
        return segmenter
    raise ValueError(f"no backend can run {path} on {torch_device}")  # not reached: the last failure is raised


def _load(
    backend: str, path: Path, device: str, providers: str | Sequence[str] | None, threads: int | None
) -> Segmenter:
    if providers is not None and backend != "onnx":
        raise ValueError("execution providers apply to the onnx backend only")
    if backend == "onnx":
        from models.backend_onnx import load_onnx_segmenter

        return load_onnx_segmenter(path, device=device, providers=providers, threads=threads)
    if backend == "openvino":
        if resolve_device(device).type != "cpu":
            raise ValueError("the openvino backend runs on the CPU: use --device cpu (or auto without a GPU)")
        from models.backend_openvino import load_openvino_segmenter

        return load_openvino_segmenter(path, threads=threads)
    if path.suffix == ".onnx":
        raise ValueError("an .onnx file runs on the onnx backend (or openvino), not torch")
    if threads:
        torch.set_num_threads(int(threads))
    model, meta = load_checkpoint(path)
    return TorchSegmenter(model, meta, resolve_device(device))
