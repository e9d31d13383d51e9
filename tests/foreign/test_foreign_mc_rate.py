"""The MC dropout rate of models made elsewhere: set per call where the file lets it (ONNX Dropout nodes,
``torch.export`` programs, whole modules), checked by brute force; refused with the reason where it
cannot be (TorchScript, random-mask graphs); fitted by ``vqseg calibrate`` into the sidecar and applied
by ``eval`` and ``serve``."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch
import yaml
from onnx import TensorProto, helper
from torch.nn import functional as F

from models import CheckpointError, load_segmenter
from tests.evaluation.data_folders import write_segnet
from tests.foreign import made_elsewhere
from tests.foreign.conftest import copy_model
from tests.server.conftest import decode_png, launch, make_frame
from vqseg.cli import main

FRAMES = [np.random.default_rng(i).integers(0, 256, (50, 70, 3), dtype=np.uint8) for i in range(8)]
VIDEO = [f"0016E5_{7959 + 2 * i:05d}" for i in range(4)]


def sidecar_of(model: Path) -> Path:
    return model.with_name(model.name.rsplit(".", 1)[0] + ".vqseg.yaml")


def assert_drop_share(kept: torch.Tensor, rate: float) -> None:
    """``kept`` (booleans, one per independent mask draw) keeps 1 - ``rate`` of them, within 5 sigma."""
    n = kept.numel()
    share = kept.double().mean().item()
    sigma = math.sqrt(max(rate * (1 - rate), 1e-12) / n)
    assert abs(share - (1 - rate)) < 5 * sigma + 1e-9, f"rate {rate}: kept {share:.4f} of {n}"


def test_onnx_rate_input_sets_the_drop_rate_of_a_real_dropout_node(elsewhere, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The SMP U-Net's head Dropout node (p=0.3, from torch.onnx.export) read as the served output:
    each rate drops its share of the features and scales the rest by 1 / (1 - rate)."""
    source = elsewhere("smp_onnx")
    dropout = next(n for n in onnx.load(str(source)).graph.node if n.op_type == "Dropout")
    model = onnx.load(str(source))
    tap = helper.make_tensor_value_info(dropout.output[0], TensorProto.FLOAT, ["batch", 4, *made_elsewhere.SIZE])
    model.graph.output.append(tap)
    folder = tmp_path / "tap"
    folder.mkdir()
    path = folder / "tap.onnx"
    onnx.save(model, str(path))
    made_elsewhere.write_sidecar(path, f"classes: [f0, f1, f2, f3]\noutput_name: {dropout.output[0]}\n")
    seg = load_segmenter(path, "cpu")  # its output: the 4 decoder features after the head's dropout
    assert seg.rate_refusal is None and seg.meta.dropout == pytest.approx(0.3)
    assert seg.capabilities.as_dict()["mc_rate_settable"]
    batch = seg.prepare(FRAMES)
    features = seg.run_raw(batch, mc=False)
    live = features != 0  # after a ReLU: a zero feature says nothing about its mask
    assert live.double().mean() > 0.3
    torch.manual_seed(0)
    for rate in (0.05, 0.3, 0.6, None):
        p = 0.3 if rate is None else rate  # None: the file's own rate
        out = seg.run_raw(batch, mc=True, rate=rate)
        kept = out[live] != 0
        assert_drop_share(kept, p)
        torch.testing.assert_close(out[live][kept], features[live][kept] / (1 - p), rtol=1e-5, atol=1e-6)
    assert torch.equal(seg.run_raw(batch, mc=True, rate=0.0), features)


def test_onnx_dropout_nodes_of_different_ratios_keep_their_proportion(tmp_path: Path) -> None:
    """Two Dropout nodes (0.2 and 0.4): the rate goes to the larger, the smaller gets rate / 2."""
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["b", 3, 32, 32])
    outputs = [helper.make_tensor_value_info(n, TensorProto.FLOAT, ["b", 3, 32, 32]) for n in ("y", "a", "c")]
    ratio = lambda name, value: helper.make_node(  # noqa: E731
        "Constant", [], [name], value=helper.make_tensor(name, TensorProto.FLOAT, [], [value]))
    nodes = [
        ratio("r1", 0.2), ratio("r2", 0.4),
        helper.make_node("Dropout", ["x", "r1"], ["a"]),
        helper.make_node("Dropout", ["x", "r2"], ["c"]),
        helper.make_node("Add", ["a", "c"], ["y"]),
    ]
    opset = [helper.make_opsetid("", 17)]
    model = helper.make_model(helper.make_graph(nodes, "two", [x], outputs), opset_imports=opset, ir_version=8)
    onnx.save(model, tmp_path / "two.onnx")
    (tmp_path / "two.vqseg.yaml").write_text("classes: [r, g, b]\noutput_name: y\n")
    seg = load_segmenter(tmp_path / "two.onnx", "cpu")
    assert seg.meta.dropout == pytest.approx(0.4) and seg.rate_refusal is None
    ones = torch.ones(64, 3, 32, 32)
    for rate in (0.1, 0.6):
        feeds = {"x": ones.numpy(), "vqseg_mc": np.array(True), "vqseg_rate": np.array(rate, np.float32)}
        a, c = seg.session.run(["a", "c"], feeds)
        assert_drop_share(torch.from_numpy(a) != 0, rate / 2)
        assert_drop_share(torch.from_numpy(c) != 0, rate)
    assert torch.equal(seg.run_raw(ones, mc=True, rate=0.0), 2 * ones)


def head_masks(seg, batch: torch.Tensor, rate: float | None, repeats: int) -> torch.Tensor:  # type: ignore[no-untyped-def]
    """The SMP U-Net's head ``Dropout2d`` masks, one per (repeat, frame, channel), recovered from the
    logits of one MC pass over ``batch`` repeated: they are ``sum_c m_c conv_c(f_c) + bias`` with the
    features ``f`` of the eval-mode network (the same weights, rebuilt here) and ``m_c`` 0 or 1 / (1 - rate)."""
    reference = made_elsewhere.smp_unet(11)
    seen: dict[str, torch.Tensor] = {}
    hook = reference.segmentation_head[0].register_forward_hook(lambda _m, i, _o: seen.setdefault("f", i[0]))
    with torch.inference_mode():
        reference(batch)
    hook.remove()
    conv = reference.segmentation_head[1]
    f = seen["f"].double()
    weight = conv.weight.detach().double()
    parts = torch.stack([F.conv2d(f[:, c : c + 1], weight[:, c : c + 1], padding=conv.padding)
                         for c in range(f.shape[1])], dim=1)  # (B, 4, classes, H, W)
    solve = torch.linalg.pinv(parts.flatten(2).transpose(1, 2))  # (B, 4, classes*H*W)
    with torch.inference_mode():
        raw = seg.run_raw(batch.repeat(repeats, 1, 1, 1), mc=True, rate=rate).double()
    raw = (raw - conv.bias.detach().double()[None, :, None, None]).flatten(1).view(repeats, len(batch), -1)
    return torch.einsum("bkn,rbn->rbk", solve, raw).flatten()


@pytest.mark.parametrize("kind", ["smp_pt2", "smp_module"])
def test_torch_rate_sets_the_drop_rate(elsewhere, kind: str) -> None:  # type: ignore[no-untyped-def]
    seg = load_segmenter(elsewhere(kind), "cpu")
    assert seg.rate_refusal is None and seg.capabilities.as_dict()["mc_rate_settable"]
    batch = seg.prepare(FRAMES[:2])
    deterministic = seg.predict(batch, mc=False)
    assert torch.equal(seg.predict(batch, mc=True, rate=0.0), deterministic)
    for rate in (0.1, 0.6, None):
        p = 0.3 if rate is None else rate
        torch.manual_seed(1)
        masks = head_masks(seg, batch, rate, repeats=32)  # 256 channel draws
        kept = masks.abs() > 0.5
        assert_drop_share(kept, p)
        torch.testing.assert_close(masks[kept], torch.full_like(masks[kept], 1 / (1 - p)), rtol=0, atol=1e-3)
        assert masks[~kept].abs().max() < 1e-3
    assert torch.equal(seg.predict(batch, mc=False), deterministic)  # p and the layers' modes restored


def test_models_whose_rate_is_fixed_refuse_another_with_the_reason(elsewhere, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    scripted = load_segmenter(elsewhere("smp_torchscript"), "cpu")
    assert scripted.capabilities.mc and not scripted.capabilities.as_dict()["mc_rate_settable"]
    assert scripted.capabilities.rate_fixed.startswith("TorchScript compiles a Dropout's p")
    batch = scripted.prepare(FRAMES[:1])
    scripted.predict(batch, mc=True, rate=0.3)  # its own rate is fine
    with pytest.raises(ValueError, match=r"samples only at its own dropout rate \(0.3\), not 0.1: TorchScript "
                       "compiles a Dropout's p into its code as a constant"):
        scripted.predict(batch, mc=True, rate=0.1)
    random = load_segmenter(elsewhere("smp_onnx_random"), "cpu")
    assert random.capabilities.modes == ["bnn", "vqbnn"] and "random op" in random.capabilities.rate_fixed
    with pytest.raises(ValueError, match="samples only at the rate baked into the file, not 0.1: its masks are "
                       r"drawn by 1 random op\(s\)"):
        random.predict(random.prepare(FRAMES[:1]), mc=True, rate=0.1)
    text = "preset: cityscapes19\ninput_size: 64x96\nmc_rates: {bnn: 0.1}\n"
    with pytest.raises(CheckpointError, match=r"mc_rates set bnn to 0.1, but this model samples only at its own "
                       r"dropout rate \(0.3\): TorchScript"):
        load_segmenter(copy_model(elsewhere("smp_torchscript"), tmp_path / "s", text), "cpu")
    text = "preset: camvid11\nmc_rates: {vqbnn: 0.2}\n"
    with pytest.raises(CheckpointError, match=r"mc_rates set vqbnn to 0\.2, but this model samples only at the "
                       r"rate baked into the file"):
        load_segmenter(copy_model(elsewhere("smp_onnx_random"), tmp_path / "r", text), "cpu")


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_segnet(tmp_path_factory.mktemp("camvid"), [*VIDEO, "0001TP_008550"])


def served(model: Path, mode: str) -> tuple[np.ndarray, dict]:
    live = launch(model)
    try:
        with live.client() as client:
            params = {"maps": "confidence", "mode": mode, "samples": 4}
            r = client.post("/v1/segment", content=make_frame(3, size=(64, 96), fmt=".png"),
                            headers={"Content-Type": "image/png"}, params=params)
            info = client.get("/v1/model").json()
    finally:
        live.stop()
    assert r.status_code == 200, r.text
    return decode_png(r.json()["maps"]["confidence"]).astype(np.float64) / 65535.0, info


def test_calibrate_fits_the_rate_into_the_sidecar_and_eval_and_serve_apply_it(  # type: ignore[no-untyped-def]
    elsewhere, data: Path, tmp_path: Path
) -> None:
    model = copy_model(elsewhere("smp_onnx"), tmp_path / "model", "preset: camvid11\n")
    argv = ["calibrate", "--data", str(data), "--model", str(model), "--samples", "2", "--pixels", "256",
            "--rates", "0.05,0.6", "--no-progress", "--threads", "1", "--json", str(tmp_path / "c.json"),
            "--markdown", str(tmp_path / "c.md")]
    assert main(argv) == 0
    sidecar = yaml.safe_load(sidecar_of(model).read_text())
    assert sidecar["preset"] == "camvid11" and sorted(sidecar["temperatures"]) == ["bnn", "dnn", "vqbnn", "vqdnn"]
    assert sorted(sidecar["mc_rates"]) == ["bnn", "vqbnn"]
    assert all(r in (0.05, 0.3, 0.6) for r in sidecar["mc_rates"].values())
    report = json.loads((tmp_path / "c.json").read_text())
    assert report["config"]["rates"] == [0.05, 0.6]
    assert sorted(row["rate"] for row in report["modes"]["bnn"]["by_rate"]) == pytest.approx([0.05, 0.3, 0.6])
    assert load_segmenter(model, "cpu").meta.mc_rates == pytest.approx(sidecar["mc_rates"])
    argv = ["eval", "--data", str(data), "--model", str(model), "--samples", "2", "--fps-rounds", "1",
            "--fps-frames", "1", "--out", str(tmp_path / "eval"), "--no-progress", "--threads", "1",
            "--device", "cpu", "--modes", "bnn"]
    assert main(argv) == 0
    evaluated = json.loads((tmp_path / "eval" / "eval.json").read_text())["config"]
    assert evaluated["mc_rates"] == pytest.approx(sidecar["mc_rates"])
    # served: the sidecar's rates reach /v1/model and the MC passes (bnn at rate 0 is the deterministic pass)
    sidecar_of(model).write_text(yaml.safe_dump({**sidecar, "mc_rates": {"bnn": 0.0, "vqbnn": 0.6}}))
    deterministic, info = served(model, "dnn")
    assert info["mc_rates"] == {"bnn": 0.0, "vqbnn": 0.6} and info["capabilities"]["mc_rate_settable"]
    at_zero, _ = served(model, "bnn")
    np.testing.assert_allclose(at_zero, deterministic, atol=1.0 / 65535.0)
    sidecar_of(model).write_text(yaml.safe_dump({**sidecar, "mc_rates": {"bnn": 0.6}}))
    sampled, _ = served(model, "bnn")
    assert float(np.abs(sampled - deterministic).max()) > 10.0 / 65535.0


def test_calibrate_a_model_with_a_fixed_rate_fits_temperatures_only(  # type: ignore[no-untyped-def]
    elsewhere, data: Path, tmp_path: Path, capsys
) -> None:
    model = copy_model(elsewhere("smp_onnx_random"), tmp_path / "model", "preset: camvid11\n")
    argv = ["calibrate", "--data", str(data), "--model", str(model), "--samples", "2", "--pixels", "256",
            "--no-progress", "--threads", "1", "--json", str(tmp_path / "c.json"), "--markdown", str(tmp_path / "c.md")]
    assert main(argv) == 0
    assert "the MC rate is not searched: smp_random.onnx samples only at the rate baked into the file" in (
        capsys.readouterr().err)
    sidecar = yaml.safe_load(sidecar_of(model).read_text())
    assert sorted(sidecar["temperatures"]) == ["bnn", "vqbnn"] and "mc_rates" not in sidecar
    assert load_segmenter(model, "cpu").meta.temperatures == pytest.approx(sidecar["temperatures"])
