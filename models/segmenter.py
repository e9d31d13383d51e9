"""The one small interface that ``streaming`` and ``server`` use to run a network."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np
import torch

from models.meta import ModelMeta


@runtime_checkable
class Segmenter(Protocol):
    """A loaded network on a device.

    ``prepare`` turns RGB uint8 frames (H x W x 3, any sizes) into the network's input batch on the
    device; ``predict`` runs ONE forward pass and returns class probabilities ``(B, C, h, w)`` (float32,
    on ``device``, at ``meta.input_size``), with dropout sampling a fresh mask per call when ``mc``.
    ``temperature`` divides the logits before the softmax (1: the network as trained; the calibrated
    value of a mode is ``meta.temperature(mode)``, which ``streaming`` passes in). ``rate`` is the
    dropout rate of an MC pass (None: the training rate ``meta.dropout``; a mode's calibrated rate is
    ``meta.mc_rate(mode)``). Several samples per frame: ``models.sampling.predict_samples``.
    """

    meta: ModelMeta
    device: torch.device
    backend: str

    def prepare(self, frames: Sequence[np.ndarray]) -> torch.Tensor: ...

    def predict(
        self, batch: torch.Tensor, mc: bool, temperature: float = 1.0, rate: float | None = None
    ) -> torch.Tensor: ...
