"""Check an exported file the way the server will use it: ONNX Runtime against the torch network."""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from models.backend_onnx import load_onnx_segmenter
from models.meta import ModelMeta

TOLERANCE = {"fp32": 1e-4, "fp16": 2e-2}


@dataclass(frozen=True)
class Verification:
    """One frame through ONNX Runtime: providers used, dnn difference to torch, MC passes differing, timings."""

    providers: list[str]
    dnn_max_abs_diff: float
    tolerance: float
    mc_passes_differ: bool | None
    dnn_ms: float
    mc_ms: float | None

    @property
    def ok(self) -> bool:
        return self.dnn_max_abs_diff <= self.tolerance and self.mc_passes_differ is not False


def verify_export(path: str | Path, model: nn.Module, meta: ModelMeta, device: str = "cpu") -> Verification:
    """Load ``path`` in ONNX Runtime, run one frame with dropout off (compared to ``model`` in eval mode)
    and, for the stochastic graph, twice with dropout on."""
    segmenter = load_onnx_segmenter(path, device=device)
    h, w = meta.input_size
    frame = np.random.default_rng(0).integers(0, 256, size=(h, w, 3), dtype=np.uint8)
    batch = segmenter.prepare([frame])
    started = time.perf_counter()
    probs = segmenter.predict(batch, mc=False)
    dnn_ms = (time.perf_counter() - started) * 1000
    reference = copy.deepcopy(model).to(batch.device).eval()
    with torch.inference_mode():
        expected = torch.softmax(reference(batch).float(), dim=1)
    diff = float((probs - expected).abs().max())
    differ: bool | None = None
    mc_ms: float | None = None
    if segmenter.has_dropout:
        started = time.perf_counter()
        first = segmenter.predict(batch, mc=True)
        mc_ms = (time.perf_counter() - started) * 1000
        differ = not torch.equal(first, segmenter.predict(batch, mc=True))
    tolerance = TOLERANCE[segmenter.info.precision]
    return Verification(segmenter.providers, diff, tolerance, differ, dnn_ms, mc_ms)
