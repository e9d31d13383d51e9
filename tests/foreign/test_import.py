"""``vqseg import``: SMP, Hugging Face and torchvision checkpoints (saved by those libraries, random
weights) to self-describing vqseg ONNX files or ``.pt2`` programs, live MC dropout where the net has it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from models import load_segmenter
from models.importing import import_module
from models.onnx import read_onnx_info
from models.sidecar import parse_description
from tests.foreign import made_elsewhere
from tests.foreign.made_elsewhere import SIZE
from vqseg.cli import main

FRAME = np.random.default_rng(0).integers(0, 256, (50, 70, 3), dtype=np.uint8)


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An SMP FPN (its own decoder Dropout2d) and a SegFormer, each saved with ``save_pretrained``;
    torchvision LRASPP weights saved as a state dict."""
    import segmentation_models_pytorch as smp
    from torchvision.models.segmentation import lraspp_mobilenet_v3_large

    folder = tmp_path_factory.mktemp("saved")
    torch.manual_seed(0)
    smp.FPN("tu-mobilenetv3_small_050", encoder_weights=None, classes=11, decoder_pyramid_channels=32,
            decoder_segmentation_channels=32, decoder_dropout=0.2).save_pretrained(str(folder / "fpn"))
    made_elsewhere.segformer(19).model.save_pretrained(str(folder / "segformer"))
    lraspp = lraspp_mobilenet_v3_large(weights=None, weights_backbone=None, num_classes=19)
    torch.save(lraspp.state_dict(), folder / "lraspp.pth")
    return folder


@pytest.mark.parametrize(("argv", "modes", "classes"), [
    (["--from", "smp", "fpn", "--preset", "camvid11"], ["dnn", "bnn", "vqdnn", "vqbnn"], 11),
    (["--from", "hf", "segformer", "--preset", "cityscapes19"], ["dnn", "bnn", "vqdnn", "vqbnn"], 19),
    (["--from", "torchvision", "lraspp.pth", "--arch", "lraspp_mobilenet_v3_large", "--preset", "cityscapes19"],
     ["dnn", "vqdnn"], 19),
])
def test_import_to_a_self_describing_onnx(saved: Path, tmp_path: Path, capsys, argv: list[str],  # type: ignore[no-untyped-def]
                                          modes: list[str], classes: int) -> None:
    argv = [*argv[:2], str(saved / argv[2]), *argv[3:]]
    out = tmp_path / "imported.onnx"
    assert main(["import", *argv, "--input-size", "64x96", "--out", str(out)]) == 0
    assert f"modes: {', '.join(modes)}" in capsys.readouterr().out
    info = read_onnx_info(out)  # vqseg's own metadata: no sidecar needed
    assert info.meta.num_classes == classes and info.meta.input_size == SIZE and info.stochastic == (len(modes) == 4)
    seg = load_segmenter(out, "cpu")
    batch = seg.prepare([FRAME, FRAME])
    assert seg.predict(batch, mc=False).shape == (2, classes, *SIZE)
    if info.stochastic:
        assert not torch.equal(seg.predict(batch, mc=True), seg.predict(batch, mc=True))


def test_import_an_smp_model_object_to_pt2_with_a_sidecar(tmp_path: Path) -> None:
    model = made_elsewhere.smp_unet(11)  # an object in the user's Python session, head dropout added
    description = parse_description({"preset": "camvid11", "input_size": [64, 96], "name": "mine"}, "test")
    out = import_module(model, description, tmp_path / "mine.pt2")
    assert (tmp_path / "mine.vqseg.yaml").is_file()
    seg = load_segmenter(out, "cpu")
    assert seg.meta.name == "mine" and seg.capabilities.mc
    batch = seg.prepare([FRAME])
    with torch.inference_mode():
        expected = torch.softmax(model(batch), dim=1)
    assert torch.allclose(seg.predict(batch, mc=False), expected, atol=1e-5)


def test_import_says_what_is_missing(saved: Path, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["import", "--from", "smp", str(saved / "fpn"), "--out", str(tmp_path / "x.onnx"),
                 "--preset", "camvid11"]) == 2
    assert "the input size is needed" in capsys.readouterr().err
    assert main(["import", "--from", "smp", str(saved / "fpn"), "--out", str(tmp_path / "x.onnx"),
                 "--preset", "cityscapes19", "--input-size", "64x96"]) == 2
    assert "outputs 11 classes per pixel but 19 are named" in capsys.readouterr().err
