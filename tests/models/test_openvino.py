"""The OpenVINO backend: parity with torch (fp32), live dropout masks, seeds, threads, loading.

One tiny network (bayesian_unet width 4, 32x48, dropout 0.5) is exported once with the torchscript
exporter and compiled by OpenVINO in each test (about a second each).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn

from models import Segmenter, load_segmenter, save_checkpoint
from models.backend_openvino import OpenVinoSegmenter, load_openvino_segmenter
from models.backend_torch import TorchSegmenter
from models.onnx import export_onnx
from tests.models.mc_checks import (
    assert_drop_rate_and_scaling,
    assert_masks_live,
    assert_mc_distribution_matches,
    export_dropout_layer,
)
from tests.models.test_onnx import META, _frames, _tiny_model


@pytest.fixture(scope="module")
def model() -> nn.Module:
    return _tiny_model()


@pytest.fixture(scope="module")
def onnx_file(tmp_path_factory: pytest.TempPathFactory, model: nn.Module) -> Path:
    return export_onnx((model, META), tmp_path_factory.mktemp("ov") / "tiny.onnx", exporter="torchscript").path


@pytest.fixture
def torch_segmenter(model: nn.Module) -> TorchSegmenter:
    return TorchSegmenter(model, META, torch.device("cpu"))


def test_outputs_match_torch_on_the_same_frames(onnx_file: Path, torch_segmenter: TorchSegmenter) -> None:
    segmenter = load_openvino_segmenter(onnx_file, threads=1)
    assert isinstance(segmenter, Segmenter) and segmenter.backend == "openvino" and segmenter.meta == META
    batch = segmenter.prepare(_frames(3))
    torch.testing.assert_close(batch, torch_segmenter.prepare(_frames(3)))
    probs = segmenter.predict(batch, mc=False)
    assert probs.shape == (3, 4, 32, 48) and probs.dtype == torch.float32
    assert (probs - torch_segmenter.predict(batch, mc=False)).abs().max().item() < 1e-4
    other = torch.randn(2, 3, 48, 64)  # another size straight into the graph
    assert (segmenter.predict(other, mc=False) - torch_segmenter.predict(other, mc=False)).abs().max().item() < 1e-4
    calibrated = segmenter.predict(batch, mc=False, temperature=2.0)
    expected = torch_segmenter.predict(batch, mc=False, temperature=2.0)
    assert (calibrated - expected).abs().max().item() < 1e-4


def test_masks_are_live_with_mc_and_absent_without(onnx_file: Path) -> None:
    segmenter = load_openvino_segmenter(onnx_file, threads=1)
    assert_masks_live(segmenter, _frames(1)[0])


def test_mc_distribution_matches_torch(onnx_file: Path, torch_segmenter: TorchSegmenter) -> None:
    segmenter = load_openvino_segmenter(onnx_file, threads=1, seed=1)
    assert_mc_distribution_matches(segmenter, torch_segmenter, _frames(1)[0])


@pytest.mark.parametrize(("layer", "channelwise"), [(nn.Dropout2d(0.3), True), (nn.Dropout(0.3), False)])
def test_drop_rate_and_scaling(tmp_path: Path, layer: nn.Module, channelwise: bool) -> None:
    """A graph of one dropout layer on all-ones input keeps a 1-p share, scaled by 1/(1-p)."""
    path = export_dropout_layer(layer, 0.3, tmp_path / "dropout.onnx")
    assert_drop_rate_and_scaling(load_openvino_segmenter(path, threads=1, seed=3), 0.3, channelwise)


def test_loads_draw_their_own_masks_unless_seeded(onnx_file: Path) -> None:
    batch = torch.randn(2, 3, 32, 48)

    def sample(seed: int | None) -> torch.Tensor:
        return load_openvino_segmenter(onnx_file, threads=1, seed=seed).predict(batch, mc=True)

    assert not torch.equal(sample(None), sample(None))
    assert torch.equal(sample(7), sample(7))
    torch.manual_seed(5)
    first = sample(None)
    torch.manual_seed(5)
    assert torch.equal(first, sample(None)), "torch.manual_seed makes the openvino backend reproducible"


def test_thread_count_comes_from_the_caller(onnx_file: Path) -> None:
    one = load_openvino_segmenter(onnx_file, threads=1)
    assert one.threads == 1 and int(one.compiled.get_property("INFERENCE_NUM_THREADS")) == 1
    torch.set_num_threads(2)
    default = load_openvino_segmenter(onnx_file)
    assert default.threads == 2 and int(default.compiled.get_property("INFERENCE_NUM_THREADS")) == 2


def test_load_segmenter_runs_checkpoints_and_onnx_files_on_openvino(
    onnx_file: Path, model: nn.Module, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VQSEG_CACHE_DIR", str(tmp_path / "cache"))
    direct = load_segmenter(onnx_file, device="cpu", backend="openvino", threads=1)
    assert isinstance(direct, OpenVinoSegmenter) and direct.backend_choice == "openvino (asked for)"
    checkpoint = save_checkpoint(tmp_path / "tiny.pt", model, META)
    cached = load_segmenter(checkpoint, device="cpu", backend="openvino")
    assert isinstance(cached, OpenVinoSegmenter) and cached.path.parent == tmp_path / "cache" / "onnx"
    batch = cached.prepare(_frames(2))
    assert torch.equal(cached.predict(batch, mc=False), direct.predict(batch, mc=False))
    with pytest.raises(ValueError, match="onnx backend only"):
        load_segmenter(onnx_file, backend="openvino", providers="cpu")
