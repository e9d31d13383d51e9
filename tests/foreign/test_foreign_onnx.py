"""ONNX files exported by other tools, loaded with their sidecar: outputs, errors, dropout discovered."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from onnx import TensorProto, helper
from torch.nn import functional as F

from models import CheckpointError, load_segmenter
from tests.foreign.conftest import copy_model
from tests.foreign.made_elsewhere import SIZE

FRAMES = [np.random.default_rng(i).integers(0, 256, (50, 70, 3), dtype=np.uint8) for i in range(3)]


def test_lraspp_from_plain_torch_onnx_export(elsewhere) -> None:  # type: ignore[no-untyped-def]
    seg = load_segmenter(elsewhere("lraspp_onnx"), "cpu")
    assert seg.meta.input_size == SIZE  # read from the fixed-size graph: the sidecar has the preset alone
    assert seg.meta.num_classes == 19 and seg.meta.class_names[0] == "road"
    probs = seg.predict(seg.prepare(FRAMES), mc=False)  # 3 frames through a graph fixed at batch 1
    assert probs.shape == (3, 19, *SIZE)
    assert torch.allclose(probs.sum(1), torch.ones(3, *SIZE), atol=1e-5)
    assert torch.equal(probs, seg.predict(seg.prepare(FRAMES), mc=False))
    assert not seg.capabilities.mc and seg.capabilities.modes == ["dnn", "vqdnn"]
    with pytest.raises(ValueError, match="needs MC dropout, and this model has none"):
        seg.predict(seg.prepare(FRAMES[:1]), mc=True)


def test_segformer_coarse_logits_upsampled_as_probabilities(elsewhere) -> None:  # type: ignore[no-untyped-def]
    path = elsewhere("segformer_onnx")
    seg = load_segmenter(path, "cpu")
    batch = seg.prepare(FRAMES[:2])
    probs = seg.predict(batch, mc=False)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])  # removes the Dropout node
    (logits,) = session.run(["logits"], {"pixel_values": batch.numpy()})
    assert logits.shape == (2, 19, SIZE[0] // 4, SIZE[1] // 4)
    expected = F.interpolate(torch.softmax(torch.from_numpy(logits), 1), size=SIZE, mode="bilinear",
                             align_corners=False)
    assert torch.allclose(probs, expected, atol=1e-5)
    calibrated = seg.predict(batch, mc=False, temperature=2.0)
    expected_t = F.interpolate(torch.softmax(torch.from_numpy(logits) / 2.0, 1), size=SIZE, mode="bilinear",
                               align_corners=False)
    assert torch.allclose(calibrated, expected_t, atol=1e-5)


def test_onnx_dropout_nodes_made_live(elsewhere) -> None:  # type: ignore[no-untyped-def]
    seg = load_segmenter(elsewhere("segformer_onnx"), "cpu")
    assert seg.capabilities.mc and seg.capabilities.deterministic
    assert "1 Dropout node(s) made live, p=0.2" in seg.capabilities.dropout
    assert seg.meta.dropout == pytest.approx(0.2)
    batch = seg.prepare(FRAMES[:2])
    first, second = seg.predict(batch, mc=True), seg.predict(batch, mc=True)
    assert not torch.equal(first, second)
    assert not torch.equal(first[0], first[1])  # and per frame of a batch
    assert torch.equal(seg.predict(batch, mc=False), seg.predict(batch, mc=False))


def test_random_mask_graph_samples_every_pass(tmp_path: Path) -> None:
    """A graph with a RandomUniformLike mask (what dynamo writes for a dropout exported in training
    mode) has MC and no deterministic pass; both are found by running it."""
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["b", 3, 32, 32])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["b", 3, 32, 32])
    nodes = [
        helper.make_node("RandomUniformLike", ["x"], ["u"]),
        helper.make_node("Constant", [], ["p"], value=helper.make_tensor("p", TensorProto.FLOAT, [], [0.5])),
        helper.make_node("Less", ["u", "p"], ["drop"]),
        helper.make_node("Not", ["drop"], ["keep"]),
        helper.make_node("Cast", ["keep"], ["keepf"], to=TensorProto.FLOAT),
        helper.make_node("Mul", ["x", "keepf"], ["y"]),
    ]
    model = helper.make_model(helper.make_graph(nodes, "masked", [x], [y]), opset_imports=[helper.make_opsetid("", 17)],
                             ir_version=8)
    path = tmp_path / "masked.onnx"
    onnx.save(model, path)
    (tmp_path / "masked.vqseg.yaml").write_text("classes: [r, g, b]\n")
    seg = load_segmenter(path, "cpu")
    assert seg.capabilities.modes == ["bnn", "vqbnn"]
    batch = seg.prepare(FRAMES[:1])
    assert not torch.equal(seg.predict(batch, mc=True), seg.predict(batch, mc=True))
    with pytest.raises(ValueError, match="needs a deterministic pass"):
        seg.predict(batch, mc=False)


@pytest.mark.parametrize(("sidecar", "message"), [
    ("preset: camvid11\n", "the model outputs 19 classes per pixel but the description names 11"),
    ("preset: cityscapes19\ninput_size: 128x128\n", "fixed at 64x96 but the sidecar's input_size is 128x128"),
    ("preset: cityscapes19\ninput_name: image\n", "no input named 'image'"),
    ("preset: cityscapes19\nlayout: NHWC\n", "outputs 96 classes per pixel"),
    (None, "has no sidecar: write lraspp.vqseg.yaml"),
])
def test_files_and_sidecars_that_do_not_fit(elsewhere, tmp_path: Path, sidecar: str | None, message: str) -> None:  # type: ignore[no-untyped-def]
    path = copy_model(elsewhere("lraspp_onnx"), tmp_path, sidecar)
    with pytest.raises(CheckpointError, match=message):
        load_segmenter(path, "cpu", describe=None if sidecar is not None else {})


def test_dynamic_graph_needs_an_input_size(elsewhere, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = copy_model(elsewhere("segformer_onnx"), tmp_path, "preset: cityscapes19\n")
    with pytest.raises(CheckpointError, match="dynamic; set input_size"):
        load_segmenter(path, "cpu")
    seg = load_segmenter(path, "cpu", describe={"input_size": "32x48"})  # a flag instead of the sidecar key
    assert seg.predict(seg.prepare(FRAMES[:1]), mc=False).shape == (1, 19, 32, 48)
