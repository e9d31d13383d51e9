"""What every foreign backend shares: the sidecar's preprocessing, the refusal of modes the network
cannot serve (and of MC rates it cannot sample at), and the raw output turned into probabilities at
``meta.input_size``."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from models.capabilities import MC_MODES, Capabilities
from models.checkpoint import CheckpointError
from models.outputs import to_probabilities
from models.preprocess import FramePreprocessor
from models.sidecar import ModelDescription


class ForeignSegmenter:
    """A ``Segmenter`` over a network trained elsewhere; subclasses implement ``run_raw``.

    ``capabilities`` is set by the loader after it ran the network (dropout discovered, not assumed).
    ``meta.dropout`` is the network's own MC rate (its largest dropout rate); ``rate_refusal`` says why
    another cannot be set (None: it can: ``run_raw`` takes it), and the sidecar's ``mc_rates`` are
    checked against it (``check_mc_rates``).
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
        self.rate_refusal: str | None = "not checked yet"

    def check_mc_rates(self) -> None:
        """The sidecar's ``mc_rates`` are rates this model can sample at (raises ``CheckpointError``)."""
        if not self.capabilities.mc:
            return
        for mode in MC_MODES:
            rate = self.meta.mc_rate(mode)
            if self.rate_refusal is not None and rate != self.meta.dropout:
                raise CheckpointError(
                    f"{self.path.name}: the sidecar's mc_rates set {mode} to {rate:g}, but this model samples "
                    f"only at {self.own_rate}: {self.rate_refusal}; remove mc_rates"
                )

    @property
    def own_rate(self) -> str:
        """The network's own MC rate, in words."""
        if self.meta.dropout > 0:
            return f"its own dropout rate ({self.meta.dropout:g})"
        return "the rate baked into the file"

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
            if not 0.0 <= rate < 1.0:
                raise ValueError(f"MC dropout rate must be in [0, 1), got {rate}")
            if self.rate_refusal is not None:
                raise ValueError(
                    f"model {self.meta.name!r} ({self.path.name}) samples only at {self.own_rate}, not "
                    f"{rate:g}: {self.rate_refusal}"
                )
        d = self.description
        raw = self.run_raw(batch, mc, rate if mc else None)
        probs = to_probabilities(raw, d.output, d.layout, self.meta.input_size, temperature)
        return probs.to(self.device)

    def run_raw(self, batch: torch.Tensor, mc: bool, rate: float | None = None) -> torch.Tensor:
        """The network's raw output; MC passes sample at ``rate`` (None: the network's own)."""
        raise NotImplementedError
