"""Per-mode temperatures: checkpoint metadata (old files load without), the torch and ONNX backends apply
them to the logits, and ``streaming.predict_batch`` passes the mode's temperature."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from models import ModelMeta, create_model, load_checkpoint, load_segmenter, read_checkpoint, save_checkpoint
from models.backend_onnx import load_onnx_segmenter
from models.backend_torch import TorchSegmenter
from models.onnx.export import export_onnx
from models.onnx.metadata import read_onnx_info
from streaming import Mode, predict_batch

TEMPERATURES = {"dnn": 2.0, "vqdnn": 0.7, "bnn": 1.3}


def test_temperatures_round_trip_through_a_checkpoint(tiny_meta: ModelMeta, tmp_path: Path) -> None:
    model = create_model(tiny_meta.arch, tiny_meta.num_classes, tiny_meta.dropout, **tiny_meta.arch_options)
    path = save_checkpoint(tmp_path / "t.pt", model, replace(tiny_meta, temperatures=TEMPERATURES))
    meta, _ = read_checkpoint(path)
    assert meta.temperatures == TEMPERATURES
    assert meta.temperature("vqdnn") == 0.7 and meta.temperature("vqbnn") == 1.0


def test_checkpoints_without_temperatures_still_load(tiny_meta: ModelMeta, tmp_path: Path) -> None:
    model = create_model(tiny_meta.arch, tiny_meta.num_classes, tiny_meta.dropout, **tiny_meta.arch_options)
    path = save_checkpoint(tmp_path / "old.pt", model, tiny_meta)
    payload = torch.load(path, weights_only=True)
    del payload["meta"]["temperatures"]  # as written before temperatures existed
    torch.save(payload, path)
    _, meta = load_checkpoint(path)
    assert meta.temperatures == {} and meta.temperature("dnn") == 1.0


@pytest.mark.parametrize("bad", [0.0, -1.0, float("nan"), 1000.0])
def test_invalid_temperatures_are_refused(tiny_meta: ModelMeta, bad: float) -> None:
    with pytest.raises(ValueError, match="temperature"):
        replace(tiny_meta, temperatures={"dnn": bad})


def test_torch_backend_divides_the_logits(tiny_segmenter: TorchSegmenter, rgb_frame: np.ndarray) -> None:
    batch = tiny_segmenter.prepare([rgb_frame])
    with torch.inference_mode():
        logits = tiny_segmenter.model(batch).float()
    for t in (0.5, 1.0, 3.0):
        expected = torch.softmax(logits / t, dim=1)
        torch.testing.assert_close(tiny_segmenter.predict(batch, mc=False, temperature=t), expected)


def test_predict_batch_uses_the_modes_temperature(tiny_segmenter: TorchSegmenter, rgb_frame: np.ndarray) -> None:
    tiny_segmenter.meta = replace(tiny_segmenter.meta, temperatures=TEMPERATURES)
    batch = tiny_segmenter.prepare([rgb_frame])
    for mode in (Mode.DNN, Mode.VQDNN):
        expected = tiny_segmenter.predict(batch, mc=False, temperature=TEMPERATURES[mode.value])
        torch.testing.assert_close(predict_batch(tiny_segmenter, batch, mode).probs, expected)
    torch.manual_seed(5)
    got = predict_batch(tiny_segmenter, batch, Mode.BNN, samples=3, sample_chunk=3).probs
    torch.manual_seed(5)
    passes = tiny_segmenter.predict(batch.repeat(3, 1, 1, 1), mc=True, temperature=TEMPERATURES["bnn"])
    torch.testing.assert_close(got, passes.mean(dim=0, keepdim=True))
    raw = predict_batch(tiny_segmenter, batch, Mode.DNN, temperature=1.0).probs
    assert not torch.allclose(raw, predict_batch(tiny_segmenter, batch, Mode.DNN).probs)


def test_onnx_export_carries_and_applies_the_temperatures(
    tiny_meta: ModelMeta, tmp_path: Path, rgb_frame: np.ndarray
) -> None:
    torch.manual_seed(0)
    model = create_model(tiny_meta.arch, tiny_meta.num_classes, tiny_meta.dropout, **tiny_meta.arch_options)
    meta = replace(tiny_meta, temperatures=TEMPERATURES)
    checkpoint = save_checkpoint(tmp_path / "t.pt", model, meta)
    path = export_onnx(checkpoint, tmp_path / "t.onnx", exporter="torchscript").path
    assert read_onnx_info(path).meta.temperatures == TEMPERATURES
    onnx = load_onnx_segmenter(path, device="cpu")
    torch_backend = load_segmenter(checkpoint, "cpu")
    batch = onnx.prepare([rgb_frame])
    for mode in (Mode.DNN, Mode.VQDNN):  # deterministic passes: torch and ONNX Runtime must agree
        expected = predict_batch(torch_backend, batch, mode).probs
        torch.testing.assert_close(predict_batch(onnx, batch, mode).probs, expected, rtol=0, atol=1e-4)
    assert not torch.allclose(predict_batch(onnx, batch, Mode.DNN).probs, onnx.predict(batch, mc=False), atol=1e-3)
