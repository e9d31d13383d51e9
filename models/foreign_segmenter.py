"""What every foreign backend shares: the sidecar's preprocessing, the refusal of modes the network
cannot serve, and the raw output turned into probabilities at ``meta.input_size``."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from models.capabilities import Capabilities
from models.outputs import to_probabilities
from models.preprocess import FramePreprocessor
from models.sidecar import ModelDescription


class ForeignSegmenter:
    """A ``Segmenter`` over a network trained elsewhere; subclasses implement ``run_raw``.

    ``capabilities`` is set by the loader after it ran the network (dropout discovered, not assumed).
    """

    backend = "foreign"

    def __init__(
        self, description: ModelDescription, input_size: tuple[int, int], device: torch.device, path: Path,
        arch: str, dropout: float, info: dict[str, Any],
    ) -> None:
        self.description = description
        self.device = device
        self.path = path
        self.meta = description.meta(arch, input_size, dropout, info)
        self._prepare = FramePreprocessor(self.meta, device)
        self.capabilities = Capabilities(mc=False, dropout="none", reason="not checked yet")

    @property
    def has_dropout(self) -> bool:
        return self.capabilities.mc

    def prepare(self, frames: Sequence[np.ndarray]) -> torch.Tensor:
        batch = self._prepare(frames)
        return batch.flip(1) if self.description.channels == "BGR" else batch

    @torch.inference_mode()
    def predict(
        self, batch: torch.Tensor, mc: bool, temperature: float = 1.0, rate: float | None = None
    ) -> torch.Tensor:
        refusal = self.capabilities.refusal("bnn" if mc else "dnn")
        if refusal is not None:
            raise ValueError(f"model {self.meta.name!r} ({self.path.name}): {refusal}")
        if mc and rate is not None and rate != self.meta.dropout:
            raise ValueError(
                f"model {self.meta.name!r} ({self.path.name}) was trained elsewhere: it samples at its own "
                f"dropout rate ({self.meta.dropout}), not {rate}"
            )
        d = self.description
        probs = to_probabilities(self.run_raw(batch, mc), d.output, d.layout, self.meta.input_size, temperature)
        return probs.to(self.device)

    def run_raw(self, batch: torch.Tensor, mc: bool) -> torch.Tensor:
        raise NotImplementedError
