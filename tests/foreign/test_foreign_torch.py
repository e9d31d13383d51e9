"""torch files made elsewhere: torch.export programs, TorchScript (scripted, traced), pickled modules."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from models import CheckpointError, load_segmenter
from tests.foreign import made_elsewhere
from tests.foreign.conftest import copy_model
from tests.foreign.made_elsewhere import SIZE

FRAMES = [np.random.default_rng(i).integers(0, 256, (50, 70, 3), dtype=np.uint8) for i in range(2)]


def test_torch_export_program_dropout_switched_to_sampling(elsewhere) -> None:  # type: ignore[no-untyped-def]
    seg = load_segmenter(elsewhere("smp_pt2"), "cpu")
    assert seg.meta.num_classes == 11 and seg.meta.arch == "torch-export"
    assert seg.capabilities.modes == ["dnn", "bnn", "vqdnn", "vqbnn"]
    assert "1 dropout layer(s) switched to sampling, p=0.3" in seg.capabilities.dropout
    batch = seg.prepare(FRAMES)
    deterministic = seg.predict(batch, mc=False)
    with torch.inference_mode():  # the deterministic pass is the eval-mode network
        expected = torch.softmax(made_elsewhere.smp_unet(11)(batch), dim=1)
    assert torch.allclose(deterministic, expected, atol=1e-5)
    assert torch.equal(deterministic, seg.predict(batch, mc=False))
    assert not torch.equal(seg.predict(batch, mc=True), seg.predict(batch, mc=True))


def test_scripted_module_dropout_switched_to_sampling(elsewhere) -> None:  # type: ignore[no-untyped-def]
    seg = load_segmenter(elsewhere("smp_torchscript"), "cpu")
    assert seg.meta.arch == "torchscript" and seg.capabilities.mc
    batch = seg.prepare(FRAMES)
    assert not torch.equal(seg.predict(batch, mc=True), seg.predict(batch, mc=True))
    deterministic = seg.predict(batch, mc=False)  # dropout back off after the MC passes
    assert torch.equal(deterministic, seg.predict(batch, mc=False))
    with torch.inference_mode():
        expected = torch.softmax(made_elsewhere.smp_unet(19)(batch), dim=1)
    assert torch.allclose(deterministic, expected, atol=1e-5)


def test_traced_module_has_frozen_dropout(elsewhere) -> None:  # type: ignore[no-untyped-def]
    seg = load_segmenter(elsewhere("smp_traced"), "cpu")
    assert not seg.capabilities.mc and seg.capabilities.modes == ["dnn", "vqdnn"]
    assert "frozen" in seg.capabilities.dropout and "traced in eval mode" in seg.capabilities.reason


def test_pickled_module_needs_the_format_key(tmp_path: Path) -> None:
    model = made_elsewhere.smp_unet(11, head_dropout=0.0)
    path = tmp_path / "whole.pth"
    torch.save(model, path)
    (tmp_path / "whole.vqseg.yaml").write_text("preset: camvid11\ninput_size: 64x96\n")
    with pytest.raises(CheckpointError, match="format: torch-module"):
        load_segmenter(path, "cpu")
    (tmp_path / "whole.vqseg.yaml").write_text("preset: camvid11\ninput_size: 64x96\nformat: torch-module\n")
    seg = load_segmenter(path, "cpu")
    assert seg.predict(seg.prepare(FRAMES), mc=False).shape == (2, 11, *SIZE)
    assert not seg.capabilities.mc and seg.capabilities.reason == "no dropout module in the network"


def test_torch_file_errors(elsewhere, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    no_size = copy_model(elsewhere("smp_pt2"), tmp_path / "a", "preset: camvid11\n")
    with pytest.raises(CheckpointError, match="set input_size"):
        load_segmenter(no_size, "cpu")
    wrong = copy_model(elsewhere("smp_pt2"), tmp_path / "b", "preset: cityscapes19\ninput_size: 64x96\n")
    with pytest.raises(CheckpointError, match="outputs 11 classes per pixel but the description names 19"):
        load_segmenter(wrong, "cpu")
