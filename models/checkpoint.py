"""Checkpoints: weights plus the metadata a server needs (classes, palette, input size, normalisation)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from models.dropout import set_dropout_rate
from models.meta import ModelMeta
from models.registry import create_model

CHECKPOINT_FORMAT = "vqseg-checkpoint"
CHECKPOINT_VERSION = 1


class CheckpointError(ValueError):
    """A file is not a vqseg checkpoint, or does not fit the architecture it names."""


def save_checkpoint(path: str | Path, model: nn.Module, meta: ModelMeta) -> Path:
    """Write ``model``'s weights and ``meta`` to ``path`` (a plain torch file, loadable with weights_only)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    payload = {
        "format": CHECKPOINT_FORMAT,
        "version": CHECKPOINT_VERSION,
        "meta": meta.to_dict(),
        "state_dict": state,
    }
    tmp = path.with_suffix(path.suffix + ".tmp")
    torch.save(payload, tmp)
    tmp.replace(path)
    return path


def read_checkpoint(path: str | Path) -> tuple[ModelMeta, dict[str, Any]]:
    """Read metadata and weights without building the network."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint not found: {path}")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises several types for corrupt or foreign files
        raise CheckpointError(f"{path} is not a readable torch checkpoint: {exc}") from exc
    if not isinstance(payload, dict) or payload.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(f"{path} is not a vqseg checkpoint (no '{CHECKPOINT_FORMAT}' header)")
    if int(payload.get("version", 0)) > CHECKPOINT_VERSION:
        raise CheckpointError(f"{path} has checkpoint version {payload['version']}, newer than this vqseg")
    return ModelMeta.from_dict(payload["meta"]), payload["state_dict"]


def build_model(meta: ModelMeta) -> nn.Module:
    """An untrained network of ``meta``'s architecture, with its dropout rate."""
    model = create_model(meta.arch, meta.num_classes, dropout=meta.dropout, **meta.arch_options)
    set_dropout_rate(model, meta.dropout)
    return model


def load_checkpoint(path: str | Path) -> tuple[nn.Module, ModelMeta]:
    """Build the network a checkpoint names and load its weights (strictly)."""
    meta, state = read_checkpoint(path)
    model = build_model(meta)
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise CheckpointError(f"{path}: weights do not fit architecture {meta.arch!r}: {exc}") from exc
    return model, meta
