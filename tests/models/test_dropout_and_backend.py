"""Dropout control: dnn is deterministic, MC dropout samples per call, batch-norm is never touched."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from models import ModelMeta, available_architectures, create_model
from models.backend_torch import TorchSegmenter
from models.dropout import check_mc_dropout, dropout_modules, set_mc_dropout


def test_dnn_is_deterministic_and_mc_is_stochastic(tiny_segmenter: TorchSegmenter, rgb_frame: np.ndarray) -> None:
    batch = tiny_segmenter.prepare([rgb_frame])
    a = tiny_segmenter.predict(batch, mc=False)
    b = tiny_segmenter.predict(batch, mc=False)
    assert torch.equal(a, b)
    c = tiny_segmenter.predict(batch, mc=True)
    d = tiny_segmenter.predict(batch, mc=True)
    assert not torch.equal(c, d)
    assert not torch.equal(a, c)
    assert torch.equal(a, tiny_segmenter.predict(batch, mc=False)), "turning MC off again restores the DNN"


def test_probabilities_shape_and_simplex(tiny_segmenter: TorchSegmenter, rgb_frame: np.ndarray) -> None:
    frames = [rgb_frame, rgb_frame[:40, :50].copy()]
    probs = tiny_segmenter.predict(tiny_segmenter.prepare(frames), mc=True)
    assert probs.shape == (2, 4, 32, 48)
    assert probs.dtype == torch.float32
    torch.testing.assert_close(probs.sum(dim=1), torch.ones(2, 32, 48))


def test_inference_never_changes_batchnorm_statistics(
    tiny_segmenter: TorchSegmenter, rgb_frame: np.ndarray
) -> None:
    bn = [m for m in tiny_segmenter.model.modules() if isinstance(m, nn.BatchNorm2d)]
    before = [(m.running_mean.clone(), m.running_var.clone()) for m in bn]
    batch = tiny_segmenter.prepare([rgb_frame])
    for mc in (True, False, True):
        tiny_segmenter.predict(batch, mc=mc)
    for m, (mean, var) in zip(bn, before, strict=True):
        assert not m.training
        assert torch.equal(m.running_mean, mean) and torch.equal(m.running_var, var)


def test_set_mc_dropout_switches_only_dropout_layers() -> None:
    model = create_model("bayesian_unet", 3, 0.5, width=4)
    set_mc_dropout(model, active=True)
    for m in model.modules():
        expected = m in dropout_modules(model)
        assert m.training == expected or isinstance(m, nn.Sequential | type(model))


def test_models_without_dropout_are_refused_for_mc() -> None:
    with pytest.raises(ValueError, match="no dropout layer"):
        check_mc_dropout(nn.Sequential(nn.Conv2d(3, 2, 1)))
    with pytest.raises(ValueError, match="p=0"):
        check_mc_dropout(nn.Sequential(nn.Conv2d(3, 2, 1), nn.Dropout(0.0)))


def test_unknown_architecture_lists_the_choices() -> None:
    with pytest.raises(ValueError, match="bayesian_unet"):
        create_model("resnet9000", 3)


@pytest.mark.parametrize("arch", ["lraspp_mobilenet_v3", "deeplabv3_mobilenet_v3"])
def test_torchvision_networks_get_injected_dropout(arch: str) -> None:
    torch.manual_seed(0)
    model = create_model(arch, 5, dropout=0.3)
    model.train()  # calibrate the untrained batch-norm statistics, else activations vanish in eval mode
    with torch.no_grad():
        for _ in range(3):
            model(torch.randn(2, 3, 64, 64))
    assert any(isinstance(m, nn.Dropout2d) and m.p == 0.3 for m in model.modules())
    meta = ModelMeta(arch=arch, class_names=tuple("abcde"), palette=((0, 0, 0),) * 5, input_size=(64, 64))
    seg = TorchSegmenter(model, meta, torch.device("cpu"))
    batch = seg.prepare([np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)])
    a, b = seg.predict(batch, mc=True), seg.predict(batch, mc=True)
    assert a.shape == (1, 5, 64, 64)
    assert not torch.equal(a, b)


def test_every_registered_architecture_is_listed() -> None:
    assert set(available_architectures()) >= {"bayesian_unet", "lraspp_mobilenet_v3", "deeplabv3_mobilenet_v3"}
