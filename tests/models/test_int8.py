"""int8 (static PTQ, QDQ): the file says int8, the dropout masks stay float and live on ONNX Runtime and
OpenVINO, the outputs stay close to fp32, and ``vqseg export --int8`` end to end."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import onnx
import pytest
import torch
from torch import nn

from models import save_checkpoint
from models.backend_onnx import load_onnx_segmenter
from models.backend_openvino import load_openvino_segmenter
from models.onnx import export_onnx, read_onnx_info
from models.onnx.calibration import folder_frames, synthetic_frames
from models.onnx.quantize import KEY_QUANTIZATION, mask_nodes, quantize_int8
from tests.models.test_onnx import META, _frames, _tiny_model
from vqseg.cli import main


@pytest.fixture(scope="module")
def model() -> nn.Module:
    return _tiny_model()


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory, model: nn.Module) -> tuple[Path, Path]:
    """(fp32, int8) exports of the tiny network, int8 calibrated on synthetic street frames."""
    folder = tmp_path_factory.mktemp("int8")
    fp32 = export_onnx((model, META), folder / "tiny.onnx", exporter="torchscript").path
    int8 = quantize_int8(fp32, folder / "tiny_int8.onnx", synthetic_frames(8, 96, 64)).path
    return fp32, int8


def test_the_file_says_int8_and_keeps_the_masks_in_float(files: tuple[Path, Path]) -> None:
    fp32, int8 = files
    info = read_onnx_info(int8)
    assert info.precision == "int8" and info.stochastic and info.meta == META
    graph = onnx.load(str(int8)).graph
    props = {p.key: p.value for p in onnx.load(str(int8)).metadata_props}
    assert "MinMax" in props[KEY_QUANTIZATION]
    ops = [n.op_type for n in graph.node]
    assert ops.count("QuantizeLinear") > 10 and ops.count("RandomUniformLike") == 6
    masks = set(mask_nodes(onnx.load(str(int8))))
    assert len(masks) == len(mask_nodes(onnx.load(str(fp32)))) > 6
    producer = {out: node for node in graph.node for out in node.output}
    for node in graph.node:
        if node.name in masks:
            fed = [producer[i].op_type for i in node.input if i in producer]
            # a mask node reads no quantized tensor through its mask input, and no mask output is quantized
            assert node.op_type not in {"QuantizeLinear", "DequantizeLinear"}
            if node.op_type == "Where":
                assert "DequantizeLinear" not in fed, "the mask itself must not be quantized"
    users = {i: n for n in graph.node for i in n.input}
    for name in (o for n in graph.node if n.name in masks and n.op_type != "Mul" for o in n.output):
        assert name not in users or users[name].op_type != "QuantizeLinear"


@pytest.mark.parametrize("runtime", ["onnx", "openvino"])
def test_int8_masks_are_live_and_outputs_stay_close(files: tuple[Path, Path], runtime: str) -> None:
    fp32, int8 = files
    load = (lambda p: load_onnx_segmenter(p, device="cpu")) if runtime == "onnx" else load_openvino_segmenter
    quantized, reference = load(int8), load(fp32)
    batch = quantized.prepare(_frames(2))
    first, second = quantized.predict(batch, mc=True), quantized.predict(batch, mc=True)
    assert not torch.equal(first, second), "MC passes differ on int8"
    off = quantized.predict(batch, mc=False)
    assert torch.equal(off, quantized.predict(batch, mc=False)), "identical passes without mc"
    assert (off - reference.predict(batch, mc=False)).abs().mean().item() < 0.05
    # the MC mean over many passes stays near fp32's (kept values scaled by exactly 1/(1-p), not clipped)
    many = batch[:1].expand(64, -1, -1, -1).contiguous()
    gap = (quantized.predict(many, mc=True).mean(0) - reference.predict(many, mc=True).mean(0)).abs().mean()
    assert gap.item() < 0.05


def test_export_int8_command(model: nn.Module, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    checkpoint = save_checkpoint(tmp_path / "tiny.pt", model, META)
    images = tmp_path / "frames"
    images.mkdir()
    for i, frame in enumerate(synthetic_frames(6, 96, 64)):
        cv2.imwrite(str(images / f"f{i}.png"), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    assert len(folder_frames(images, 4)) == 4
    out = tmp_path / "tiny_int8.onnx"
    code = main(["export", "--model", str(checkpoint), "--out", str(out), "--int8", "--calibration-data", str(images),
                 "--calibration-frames", "6", "--exporter", "torchscript"])
    printed = capsys.readouterr().out
    assert code == 0, printed
    assert "int8 (QDQ)" in printed and "calibrated on 6 images" in printed and "MC passes differ" in printed
    assert read_onnx_info(out).precision == "int8"
    assert not list(tmp_path.glob(".*.onnx")), "the temporary fp32 export is removed"
    assert main(["export", "--model", str(checkpoint), "--int8", "--calibration-data", str(tmp_path / "none"),
                 "--out", str(tmp_path / "x.onnx")]) == 2
    assert main(["export", "--model", str(checkpoint), "--int8", "--fp16", "--out", str(tmp_path / "x.onnx")]) == 2


def test_calibration_frames() -> None:
    frames = synthetic_frames(5, 96, 64)
    assert len(frames) == 5 and all(f.shape == (64, 96, 3) and f.dtype == np.uint8 for f in frames)
