"""``--backend auto``: the rule (docs/onnx.md), the export cache that makes it free for checkpoints, the
fallback to torch when an export fails, and what ``/v1/model``, the start-up log and ``vqseg demo`` say.

The suite's conftest sets ``VQSEG_BACKEND_ORDER=torch,onnx`` for every other test; these tests remove it
to see the product's default order.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
import torch

from models import load_segmenter, save_checkpoint
from models.backend_onnx import OnnxSegmenter
from models.backend_openvino import OpenVinoSegmenter
from models.backend_torch import TorchSegmenter
from models.backends import auto_order, cpu_order, default_backend
from models.onnx.cache import ExportFailed
from server.settings import Settings
from tests.conftest import tiny_street_model
from tests.server.conftest import launch, make_frame
from vqseg.cli import main


@pytest.fixture
def product_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The environment of a fresh install: no backend settings, an empty cache (returned)."""
    monkeypatch.delenv("VQSEG_BACKEND", raising=False)
    monkeypatch.delenv("VQSEG_BACKEND_ORDER", raising=False)
    monkeypatch.setenv("VQSEG_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.fixture
def checkpoint(tmp_path: Path) -> Path:
    model, meta = tiny_street_model("tiny-auto")
    return save_checkpoint(tmp_path / "tiny.pt", model, meta)


def test_the_rule(product_defaults: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cpu, cuda = torch.device("cpu"), torch.device("cuda")
    assert default_backend() == "auto" and Settings().backend == "auto"
    assert cpu_order() == ("openvino", "onnx", "torch")
    assert auto_order(Path("m.pt"), cpu) == ["openvino", "onnx", "torch"]
    assert auto_order(Path("m.onnx"), cpu) == ["openvino", "onnx"]
    assert auto_order(Path("m.pt"), cuda) == ["torch"] and auto_order(Path("m.onnx"), cuda) == ["onnx"]
    monkeypatch.setenv("VQSEG_BACKEND_ORDER", "onnx")
    assert auto_order(Path("m.pt"), cpu) == ["onnx", "torch"], "a checkpoint keeps torch as the last resort"
    monkeypatch.setenv("VQSEG_BACKEND_ORDER", "torch")
    assert auto_order(Path("m.onnx"), cpu) == ["onnx"], "an .onnx file never goes to torch"
    monkeypatch.setenv("VQSEG_BACKEND_ORDER", "auto,torch")
    with pytest.raises(ValueError, match="VQSEG_BACKEND_ORDER"):
        cpu_order()
    monkeypatch.setenv("VQSEG_BACKEND", "openvino")
    assert default_backend() == "openvino" and Settings().backend == "openvino"


def test_auto_exports_a_checkpoint_once_and_runs_openvino(
    product_defaults: Path, checkpoint: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO):
        first = load_segmenter(checkpoint, device="cpu")
    assert isinstance(first, OpenVinoSegmenter) and first.path.parent == product_defaults / "onnx"
    assert first.backend_choice.startswith("openvino (auto: cpu, first of openvino > onnx > torch")
    assert "exported tiny.pt with the torchscript exporter" in caplog.text
    assert f"backend {first.backend_choice} for tiny.pt" in caplog.text

    def no_export(*args: object, **kwargs: object) -> None:
        raise AssertionError("the cached export should have been reused")

    monkeypatch.setattr("models.onnx.cache.export_onnx", no_export)
    again = load_segmenter(checkpoint, device="cpu")
    assert isinstance(again, OpenVinoSegmenter) and again.path == first.path
    monkeypatch.setenv("VQSEG_BACKEND_ORDER", "onnx,torch")
    ort = load_segmenter(checkpoint, device="cpu")
    assert isinstance(ort, OnnxSegmenter) and ort.path == first.path
    assert ort.backend_choice.startswith("onnx (auto: cpu, first of onnx > torch")
    frame = ort.prepare([torch.zeros(24, 32, 3, dtype=torch.uint8).numpy()])
    assert (ort.predict(frame, mc=False) - again.predict(frame, mc=False)).abs().max().item() < 1e-4


def test_a_failed_export_falls_back_to_torch_with_the_reason(
    product_defaults: Path, checkpoint: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("exporter exploded")

    monkeypatch.setattr("models.onnx.cache.export_onnx", broken)
    with caplog.at_level(logging.WARNING):
        segmenter = load_segmenter(checkpoint, device="cpu")
    assert isinstance(segmenter, TorchSegmenter)
    assert segmenter.backend_choice.startswith("torch (auto: cpu, first of openvino > onnx > torch that loads;")
    assert "openvino failed: cannot export" in segmenter.backend_choice and "exporter exploded" in caplog.text
    with pytest.raises(ExportFailed, match="exporter exploded"):
        load_segmenter(checkpoint, device="cpu", backend="onnx")  # asked for by name: an error, no fallback


def test_server_reports_the_backend_it_chose(
    product_defaults: Path, checkpoint: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="server.worker"):
        live = launch(checkpoint, threads=1)  # VQSEG_THREADS: the runtime's CPU threads
    try:
        segmenter = live.runtime.segmenter
        assert isinstance(segmenter, OpenVinoSegmenter) and segmenter.threads == 1
        assert int(segmenter.compiled.get_property("INFERENCE_NUM_THREADS")) == 1
        with live.client() as client:
            model = client.get("/v1/model").json()
            segmented = client.post("/v1/segment", content=make_frame(1), headers={"Content-Type": "image/jpeg"})
    finally:
        live.stop()
    assert model["backend"] == "openvino" and model["backend_choice"].startswith("openvino (auto: cpu")
    assert segmented.status_code == 200, segmented.text
    assert f"inference worker ready: tiny-auto on cpu, backend {model['backend_choice']}" in caplog.text


def test_demo_uses_the_fast_backend_and_says_so(
    product_defaults: Path, checkpoint: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "demo"
    code = main(["demo", "--model", str(checkpoint), "--frames", "4", "--stills", "1", "--out", str(out),
                 "--source", "synthetic:street?seed=2&w=160&h=120&fps=30"])
    assert code == 0
    printed = capsys.readouterr().out
    assert "backend openvino (auto: cpu, first of openvino > onnx > torch" in printed
    summary = json.loads((out / "summary.json").read_text())
    assert summary["backend"].startswith("openvino (auto") and summary["frames"] == 4

