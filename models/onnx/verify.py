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


@dataclass(frozen=True)
class Int8Check:
    """An int8 file against the torch network on real frames: label agreement with dropout off, the
    mean |Δp|, and whether MC passes still differ (the masks survived quantization)."""

    providers: list[str]
    label_agreement: float
    mean_abs_diff: float
    mc_passes_differ: bool | None
    dnn_ms: float

    @property
    def ok(self) -> bool:
        return self.mc_passes_differ is not False and self.label_agreement >= 0.9


def verify_int8(path: str | Path, model: nn.Module, meta: ModelMeta, frames: list[np.ndarray]) -> Int8Check:
    """Run ``frames`` (a few calibration frames) through the int8 file in ONNX Runtime and through torch."""
    segmenter = load_onnx_segmenter(path, device="cpu")
    batch = segmenter.prepare(frames)
    started = time.perf_counter()
    probs = segmenter.predict(batch, mc=False)
    dnn_ms = (time.perf_counter() - started) * 1000 / len(frames)
    reference = copy.deepcopy(model).cpu().eval()
    with torch.inference_mode():
        expected = torch.softmax(reference(batch).float(), dim=1)
    agreement = float((probs.argmax(dim=1) == expected.argmax(dim=1)).float().mean())
    differ = None
    if segmenter.has_dropout:
        # every frame, not one: int8's output step can round one flat frame's small MC changes away
        differ = not torch.equal(segmenter.predict(batch, mc=True), segmenter.predict(batch, mc=True))
    diff = float((probs - expected).abs().mean())
    return Int8Check(segmenter.providers, agreement, diff, differ, dnn_ms)
