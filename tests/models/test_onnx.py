"""ONNX export and the ONNX Runtime backend: parity with torch, live dropout, metadata, loading, CLI.

One tiny network (bayesian_unet width 4, 32x48) is exported once per exporter for the whole module
(dynamo, the default exporter, and torchscript), and once through the onnx backend's checkpoint cache.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch
from torch import nn

from models import CheckpointError, ModelMeta, Segmenter, create_model, load_segmenter, save_checkpoint
from models.backend_onnx import OnnxSegmenter, load_onnx_segmenter
from models.backend_torch import TorchSegmenter
from models.onnx import export_onnx, read_onnx_info
from models.onnx.graph import ProbabilityGraph
from tests.models.mc_checks import (
    assert_drop_rate_and_scaling,
    assert_masks_live,
    assert_mc_distribution_matches,
    export_dropout_layer,
)
from vqseg.cli import main

META = ModelMeta(
    arch="bayesian_unet",
    class_names=("a", "b", "c", "d"),
    palette=((0, 0, 0), (255, 0, 0), (0, 255, 0), (0, 0, 255)),
    input_size=(32, 48),
    dropout=0.5,
    name="tiny",
    arch_options={"width": 4},
)


def _tiny_model() -> nn.Module:
    torch.manual_seed(0)
    model = create_model(META.arch, META.num_classes, META.dropout, **META.arch_options)
    model.train()  # give batch-norm non-trivial running statistics, so eval mode differs from train mode
    with torch.no_grad():
        for _ in range(2):
            model(torch.randn(4, 3, *META.input_size))
    return model.eval()


def _frames(n: int = 3) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    sizes = [(60, 80), (32, 48), (45, 70)]
    return [rng.integers(0, 256, size=(*sizes[i % 3], 3), dtype=np.uint8) for i in range(n)]


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("onnx")


@pytest.fixture(scope="module")
def model() -> nn.Module:
    return _tiny_model()


@pytest.fixture(scope="module")
def checkpoint(workdir: Path, model: nn.Module) -> Path:
    return save_checkpoint(workdir / "tiny.pt", model, META)


@pytest.fixture(scope="module")
def cache_dir(workdir: Path) -> Iterator[Path]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("VQSEG_CACHE_DIR", str(workdir / "cache"))
        yield workdir / "cache"


@pytest.fixture(scope="module")
def dynamo_onnx(workdir: Path, model: nn.Module) -> Path:
    return export_onnx((model, META), workdir / "tiny_dynamo.onnx").path


@pytest.fixture(scope="module")
def cached_onnx(checkpoint: Path, cache_dir: Path) -> Path:
    """Exported by the onnx backend itself from the ``.pt`` checkpoint (the cache's exporter), then cached."""
    segmenter = load_segmenter(checkpoint, device="cpu", backend="onnx")
    assert isinstance(segmenter, OnnxSegmenter)
    assert segmenter.path.parent == cache_dir / "onnx"
    return segmenter.path


@pytest.fixture(scope="module")
def torchscript_onnx(workdir: Path, model: nn.Module) -> Path:
    return export_onnx((model, META), workdir / "tiny_ts.onnx", exporter="torchscript").path


@pytest.fixture(params=["dynamo", "torchscript"])
def onnx_path(request: pytest.FixtureRequest) -> Path:
    return request.getfixturevalue(f"{request.param}_onnx")


@pytest.fixture
def torch_segmenter(model: nn.Module) -> TorchSegmenter:
    return TorchSegmenter(model, META, torch.device("cpu"))


# ---------------------------------------------------------------- parity


def test_deterministic_parity_with_torch(onnx_path: Path, torch_segmenter: TorchSegmenter) -> None:
    segmenter = load_onnx_segmenter(onnx_path, device="cpu")
    batch = segmenter.prepare(_frames(3))
    torch.testing.assert_close(batch, torch_segmenter.prepare(_frames(3)))
    probs = segmenter.predict(batch, mc=False)
    assert probs.shape == (3, 4, 32, 48) and probs.dtype == torch.float32 and probs.is_contiguous()
    assert (probs - torch_segmenter.predict(batch, mc=False)).abs().max().item() < 1e-4
    assert torch.equal(probs, segmenter.predict(batch, mc=False)), "dropout off is deterministic"
    # dynamic batch, height and width: another size straight into the graph
    other = torch.randn(2, 3, 48, 64)
    assert (segmenter.predict(other, mc=False) - torch_segmenter.predict(other, mc=False)).abs().max().item() < 1e-4


def test_mc_passes_differ_per_call_and_per_frame(onnx_path: Path) -> None:
    segmenter = load_onnx_segmenter(onnx_path, device="cpu")
    assert_masks_live(segmenter, _frames(1)[0])


def test_mc_distribution_matches_torch(dynamo_onnx: Path, torch_segmenter: TorchSegmenter) -> None:
    segmenter = load_onnx_segmenter(dynamo_onnx, device="cpu", seed=1)
    assert_mc_distribution_matches(segmenter, torch_segmenter, _frames(1)[0])


@pytest.mark.parametrize(("layer", "channelwise"), [(nn.Dropout2d(0.3), True), (nn.Dropout(0.3), False)])
def test_empirical_drop_rate_and_scaling(workdir: Path, layer: nn.Module, channelwise: bool) -> None:
    """A graph of one dropout layer on all-ones input keeps a 1-p fraction, scaled by 1/(1-p)."""
    path = export_dropout_layer(layer, 0.3, workdir / f"dropout_{type(layer).__name__}.onnx")
    assert_drop_rate_and_scaling(load_onnx_segmenter(path, device="cpu", seed=3), 0.3, channelwise)


# ---------------------------------------------------------------- files, metadata, loading


def test_metadata_round_trip(dynamo_onnx: Path) -> None:
    info = read_onnx_info(dynamo_onnx)
    assert info.meta == META
    assert info.stochastic and info.precision == "fp32" and info.dropout_layers == 6
    model = onnx.load(str(dynamo_onnx))
    props = {p.key: p.value for p in model.metadata_props}
    assert props["classes"] == '["a", "b", "c", "d"]' and props["dropout"] == "0.5"
    assert {"palette", "mean", "std", "input_size", "vqseg.meta"} <= set(props)
    assert [i.name for i in model.graph.input] == ["image", "mc", "rate"] and model.graph.output[0].name == "probs"
    dims = [d.dim_param or d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim]
    assert isinstance(dims[0], str) and dims[1] == 3 and isinstance(dims[2], str) and isinstance(dims[3], str)
    assert sum(n.op_type == "RandomUniformLike" for n in model.graph.node) == 6
    assert not (dynamo_onnx.parent / (dynamo_onnx.name + ".data")).exists(), "small weights stay inline"


def test_public_interface_loads_onnx_files(dynamo_onnx: Path) -> None:
    segmenter = load_segmenter(dynamo_onnx, device="cpu")
    assert isinstance(segmenter, Segmenter)
    assert segmenter.backend == "onnx" and segmenter.device == torch.device("cpu") and segmenter.meta == META
    probs = segmenter.predict(segmenter.prepare(_frames(2)), mc=True)
    assert probs.shape == (2, 4, 32, 48)
    with pytest.raises(ValueError, match="onnx backend"):
        load_segmenter(dynamo_onnx, backend="torch")
    with pytest.raises(ValueError, match="onnx backend only"):
        load_segmenter(None, backend="torch", providers="cpu")


def test_checkpoint_export_is_cached(checkpoint: Path, cached_onnx: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_export(*args: object, **kwargs: object) -> None:
        raise AssertionError("the cached export should have been reused")

    monkeypatch.setattr("models.onnx.cache.export_onnx", no_export)
    segmenter = load_segmenter(checkpoint, device="cpu", backend="onnx")
    assert isinstance(segmenter, OnnxSegmenter) and segmenter.path == cached_onnx


def test_sessions_draw_their_own_masks_unless_seeded(torchscript_onnx: Path) -> None:
    """ONNX Runtime seeds unseeded random ops per process: vqseg reseeds every session from torch's RNG."""
    batch = torch.randn(2, 3, 32, 48)

    def sample(seed: int | None) -> torch.Tensor:
        return load_onnx_segmenter(torchscript_onnx, device="cpu", seed=seed).predict(batch, mc=True)

    assert not torch.equal(sample(None), sample(None))
    assert torch.equal(sample(7), sample(7))
    torch.manual_seed(5)
    first = sample(None)
    torch.manual_seed(5)
    assert torch.equal(first, sample(None)), "torch.manual_seed makes the onnx backend reproducible"


def test_weights_can_live_in_a_side_file(
    workdir: Path, model: nn.Module, torchscript_onnx: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("models.onnx.export.INLINE_LIMIT_BYTES", 0)
    result = export_onnx((model, META), workdir / "side" / "m.onnx", exporter="torchscript")
    assert result.data_path == workdir / "side" / "m.onnx.data" and result.data_path.is_file()
    moved = workdir / "moved"
    moved.mkdir()
    for file in (result.path, result.data_path):  # the model and its side file travel together
        shutil.move(file, moved / file.name)
    segmenter = load_onnx_segmenter(moved / "m.onnx", device="cpu")
    reference = load_onnx_segmenter(torchscript_onnx, device="cpu")
    batch = segmenter.prepare(_frames(1))
    torch.testing.assert_close(segmenter.predict(batch, mc=False), reference.predict(batch, mc=False))


def test_fp16_variant_runs_on_the_cpu(workdir: Path, model: nn.Module, torch_segmenter: TorchSegmenter) -> None:
    result = export_onnx((model, META), workdir / "fp16.onnx", fp16=True, exporter="torchscript")
    segmenter = load_onnx_segmenter(result.path, device="cpu")
    assert segmenter.info.precision == "fp16"
    batch = segmenter.prepare(_frames(2))
    assert (segmenter.predict(batch, mc=False) - torch_segmenter.predict(batch, mc=False)).abs().max().item() < 2e-2
    assert not torch.equal(segmenter.predict(batch, mc=True), segmenter.predict(batch, mc=True))


def test_foreign_and_broken_files_are_refused(workdir: Path) -> None:
    with pytest.raises(CheckpointError, match="not found"):
        load_segmenter(workdir / "absent.onnx")
    junk = workdir / "junk.onnx"
    junk.write_bytes(b"not a protobuf at all")
    with pytest.raises(CheckpointError, match="not a readable ONNX model"):
        load_segmenter(junk)
    x = onnx.helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [1])
    graph = onnx.helper.make_graph([onnx.helper.make_node("Identity", ["x"], ["y"])], "g", [x], [x])
    foreign = workdir / "foreign.onnx"
    onnx.save(onnx.helper.make_model(graph), str(foreign))
    with pytest.raises(CheckpointError, match=r"not a vqseg model and has no sidecar: write foreign\.vqseg\.yaml"):
        load_segmenter(foreign)


def test_export_refuses_what_it_cannot_do(workdir: Path, model: nn.Module) -> None:
    no_dropout = ModelMeta(**{**META.to_dict(), "dropout": 0.0})
    with pytest.raises(ValueError, match="dropout rate 0"):
        export_onnx((model, no_dropout), workdir / "x.onnx")
    with pytest.raises(ValueError, match="no dropout layer"):
        ProbabilityGraph(nn.Conv2d(3, 2, 1), stochastic=True)
    with pytest.raises(ValueError, match="AlphaDropout"):
        ProbabilityGraph(nn.Sequential(nn.AlphaDropout(0.1)), stochastic=True)
    with pytest.raises(ValueError, match="opset"):
        export_onnx((model, META), workdir / "x.onnx", opset=13)


def test_export_graph_leaves_the_model_alone(model: nn.Module, torch_segmenter: TorchSegmenter) -> None:
    graph = ProbabilityGraph(model, stochastic=True)
    assert sum(isinstance(m, nn.Dropout2d) for m in model.modules()) == 6
    batch = torch.randn(2, 3, 32, 48)
    with torch.no_grad():
        torch.testing.assert_close(graph(batch, torch.tensor(False)), torch_segmenter.predict(batch, mc=False))
        assert not torch.equal(graph(batch, torch.tensor(True)), graph(batch, torch.tensor(True)))


# ---------------------------------------------------------------- providers and the command


def test_unusable_providers_are_skipped_quietly(
    torchscript_onnx: Path, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA: the CUDA provider may work")
    with caplog.at_level(logging.INFO, logger="models.backend_onnx"):
        segmenter = load_onnx_segmenter(torchscript_onnx, device="cpu", providers="tensorrt,cuda,cpu")
    assert segmenter.providers == ["CPUExecutionProvider"]
    (record,) = [r for r in caplog.records if r.name == "models.backend_onnx"]
    assert "skipped" in record.getMessage() and "CUDAExecutionProvider (no CUDA device)" in record.getMessage()
    assert "Failed to create CUDAExecutionProvider" not in capfd.readouterr().err
    with pytest.raises(ValueError, match="unknown execution provider"):
        load_onnx_segmenter(torchscript_onnx, device="cpu", providers="tpu")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_io_binding_keeps_probabilities_on_the_gpu(
    torchscript_onnx: Path, torch_segmenter: TorchSegmenter
) -> None:
    segmenter = load_onnx_segmenter(torchscript_onnx, device="cuda", providers="cuda,cpu")
    if segmenter.providers[0] != "CUDAExecutionProvider":
        pytest.skip(f"onnxruntime's CUDA provider does not start here ({segmenter.providers})")
    batch = segmenter.prepare(_frames(2))
    probs = segmenter.predict(batch, mc=False)
    assert probs.device.type == "cuda"
    expected = torch_segmenter.predict(batch.cpu(), mc=False)
    assert (probs.cpu() - expected).abs().max().item() < 1e-3
    assert not torch.equal(segmenter.predict(batch, mc=True), segmenter.predict(batch, mc=True))


def test_export_command_deterministic_variant(
    checkpoint: Path, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = workdir / "cli" / "det.onnx"
    argv = [
        "export",
        "--model",
        str(checkpoint),
        "--out",
        str(out),
        "--deterministic-only",
        "--exporter",
        "torchscript",
    ]
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert "deterministic" in text and "verified (ok)" in text and "CPUExecutionProvider" in text
    info = read_onnx_info(out)
    assert not info.stochastic and info.meta == META
    model = onnx.load(str(out))
    assert [i.name for i in model.graph.input] == ["image"]
    assert not any(n.op_type.startswith("Random") for n in model.graph.node)
    segmenter = load_segmenter(out, device="cpu")
    batch = segmenter.prepare(_frames(1))
    assert torch.equal(segmenter.predict(batch, mc=False), segmenter.predict(batch, mc=False))
    with pytest.raises(ValueError, match="no live dropout"):
        segmenter.predict(batch, mc=True)


def test_export_command_reports_a_missing_checkpoint(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["export", "--model", str(workdir / "absent.pt"), "--out", str(workdir / "a.onnx")]) == 2
    assert "not found" in capsys.readouterr().err
