"""PyTorch backend: one forward pass per call on CPU or CUDA, probabilities stay on the device."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch
from torch import nn

from models.dropout import check_mc_dropout, dropout_modules, set_mc_dropout
from models.meta import ModelMeta
from models.preprocess import FramePreprocessor
from models.sampling import sampled_logits


class TorchSegmenter:
    """Owns a network on a device; ``predict`` never switches the whole model's mode.

    The model is put in eval mode once; ``predict(mc=True)`` flips only the dropout layers to train
    mode, so batch-norm always uses its running statistics and is never updated. On CUDA the forward
    pass runs under fp16 autocast with channels_last; the softmax is taken in float32.

    ``rate`` is the dropout rate of the MC passes (default: the checkpoint's training rate,
    ``meta.dropout``; a mode's calibrated rate is ``meta.mc_rate(mode)``). ``predict_samples`` draws
    several samples per frame and runs a cheap-tail network's trunk only once (``models.sampling``).
    """

    backend = "torch"
    backend_choice = "torch"  # load_segmenter says what was asked and why this backend runs

    def __init__(
        self,
        model: nn.Module,
        meta: ModelMeta,
        device: torch.device,
        fp16: bool | None = None,
    ) -> None:
        self.meta = meta
        self.device = device
        self.fp16 = (device.type == "cuda") if fp16 is None else fp16
        self.has_dropout = bool(dropout_modules(model)) and meta.dropout > 0
        if self.has_dropout:
            check_mc_dropout(model)
        self.model = model.to(device)
        if device.type == "cuda":
            self.model = self.model.to(memory_format=torch.channels_last)
        self._dropout_layers = dropout_modules(self.model)
        set_mc_dropout(self.model, active=False)
        self._mc_active = False
        self._rate = meta.dropout
        self._prepare = FramePreprocessor(meta, device)

    def prepare(self, frames: Sequence[np.ndarray]) -> torch.Tensor:
        return self._prepare(frames)

    @torch.inference_mode()
    def predict(
        self, batch: torch.Tensor, mc: bool, temperature: float = 1.0, rate: float | None = None
    ) -> torch.Tensor:
        self._check(mc, rate)
        logits = self._forward(batch, lambda x: self.model(x))
        return self._softmax(logits, temperature)

    @torch.inference_mode()
    def predict_samples(
        self, batch: torch.Tensor, samples: int, temperature: float = 1.0, rate: float | None = None
    ) -> torch.Tensor:
        """``(B, M, C, h, w)``: ``samples`` MC-dropout passes per frame, each with its own masks."""
        self._check(True, rate)
        logits = self._forward(batch, lambda x: sampled_logits(self.model, x, samples))
        probs = self._softmax(logits, temperature)
        return probs.view(batch.shape[0], samples, *probs.shape[1:])

    def _check(self, mc: bool, rate: float | None) -> None:
        if mc and not self.has_dropout:
            raise ValueError(f"model {self.meta.name!r} has no dropout: MC sampling is not possible")
        self._set_mc(mc)
        if mc:
            self._set_rate(self.meta.dropout if rate is None else float(rate))

    def _forward(self, batch: torch.Tensor, run: Callable[[torch.Tensor], torch.Tensor]) -> torch.Tensor:
        if self.device.type == "cuda":
            batch = batch.contiguous(memory_format=torch.channels_last)
        with torch.autocast(device_type=self.device.type, dtype=torch.float16, enabled=self.fp16):
            logits = run(batch)
        return logits.float()

    @staticmethod
    def _softmax(logits: torch.Tensor, temperature: float) -> torch.Tensor:
        if temperature != 1.0:
            logits = logits / temperature
        return torch.softmax(logits, dim=1)

    def _set_rate(self, rate: float) -> None:
        if rate == self._rate:
            return
        if not 0.0 <= rate < 1.0:
            raise ValueError(f"MC dropout rate must be in [0, 1), got {rate}")
        for layer in self._dropout_layers:
            layer.p = rate  # type: ignore[assignment]
        self._rate = rate

    def _set_mc(self, active: bool) -> None:
        if active == self._mc_active:
            return
        for layer in self._dropout_layers:
            layer.train(active)
        self._mc_active = active
