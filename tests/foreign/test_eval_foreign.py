"""``vqseg eval --data`` and ``vqseg calibrate`` on models made elsewhere, on a tiny labelled CamVid
folder the test writes; a Cityscapes-19 model is scored on CamVid-11 through a declared label map."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
import yaml

from evaluation.label_map import CITYSCAPES19_TO_CAMVID11, map_labels, mapping_matrix
from models import load_segmenter
from models.presets import class_set
from models.training.layouts import find_labelled_files, read_rgb
from tests.evaluation.data_folders import write_segnet
from tests.foreign.conftest import copy_model
from vqseg.cli import main

VIDEO = [f"0016E5_{7959 + 2 * i:05d}" for i in range(4)]
CAMVID = class_set("camvid11")
CITYSCAPES = class_set("cityscapes19")


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_segnet(tmp_path_factory.mktemp("camvid"), [*VIDEO, "0001TP_008550"])


def run_eval(data: Path, model: Path, out: Path, *extra: str) -> tuple[int, dict]:
    argv = ["eval", "--data", str(data), "--model", str(model), "--samples", "2", "--fps-rounds", "1",
            "--fps-frames", "1", "--out", str(out), "--no-progress", "--threads", "1", "--device", "cpu", *extra]
    code = main(argv)
    return code, (json.loads((out / "eval.json").read_text()) if code == 0 else {})


def test_label_map_table_and_its_errors() -> None:
    matrix = mapping_matrix(CITYSCAPES19_TO_CAMVID11, CITYSCAPES.class_names, CAMVID.class_names)
    assert matrix.shape == (11, 19) and matrix.sum() == 19 and (matrix.sum(0) == 1).all()
    assert matrix[CAMVID.class_names.index("Car"), [13, 14, 15, 16]].tolist() == [1, 1, 1, 1]
    with pytest.raises(ValueError, match="does not say where these model classes go"):
        mapping_matrix({"road": "Road"}, CITYSCAPES.class_names, CAMVID.class_names)
    with pytest.raises(ValueError, match="the labels do not have: Lawn"):
        mapping_matrix({**CITYSCAPES19_TO_CAMVID11, "terrain": "Lawn"}, CITYSCAPES.class_names, CAMVID.class_names)


def test_cityscapes_model_scored_on_camvid_through_the_map(elsewhere, data: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    model = elsewhere("segformer_onnx")
    table = tmp_path / "map.yaml"  # a declared table, as a user writes it (the built-in one, dropping train)
    table.write_text(yaml.safe_dump({**CITYSCAPES19_TO_CAMVID11, "train": None}))
    code, report = run_eval(data, model, tmp_path / "eval", "--label-map", str(table))
    assert code == 0
    assert list(report["modes"]) == ["dnn", "bnn", "vqdnn", "vqbnn"] and report["config"]["label_map"] == str(table)
    assert list(report["per_class_iou"]["dnn"]) == list(CAMVID.class_names)
    # brute force: the model's probabilities summed into CamVid's classes, upsampled to the labels
    segmenter = load_segmenter(model, "cpu")
    folder = find_labelled_files(data, "val")
    matrix = torch.from_numpy(mapping_matrix(yaml.safe_load(table.read_text()), CITYSCAPES.class_names,
                                             CAMVID.class_names))
    nll, pixels = 0.0, 0
    for file in (f for f in folder.files if f.stem in VIDEO):
        label = folder.codec.decode(file.label)
        probs = segmenter.predict(segmenter.prepare([read_rgb(file.image)]), mc=False)
        mapped = torch.einsum("dm,bmhw->bdhw", matrix, probs)
        mapped = mapped / mapped.sum(1, keepdim=True)
        up = F.interpolate(mapped, size=label.shape, mode="bilinear", align_corners=False)[0].numpy()
        valid = label != 255
        picked = np.take_along_axis(up, label[None].astype(np.int64).clip(0, 10), 0)[0][valid]
        nll -= float(np.log(np.maximum(picked, 1e-12)).sum())
        pixels += int(valid.sum())
    assert report["modes"]["dnn"]["nll"] == pytest.approx(nll / pixels, rel=1e-4)


def test_model_without_dropout_evaluates_dnn_and_vqdnn(elsewhere, data: Path, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    model = elsewhere("lraspp_onnx")
    code, report = run_eval(data, model, tmp_path / "eval", "--label-map", "cityscapes19-camvid11")
    assert code == 0 and list(report["modes"]) == ["dnn", "vqdnn"]
    code, _ = run_eval(data, model, tmp_path / "bnn", "--label-map", "cityscapes19-camvid11", "--modes", "bnn")
    assert code == 2 and "mode 'bnn' needs MC dropout" in capsys.readouterr().err
    code, _ = run_eval(data, model, tmp_path / "nomap")
    assert code == 2 and "declare where the model's go with --label-map" in capsys.readouterr().err


@pytest.mark.parametrize(("kind", "label_map", "modes"), [
    ("smp_pt2", None, ["dnn", "bnn", "vqdnn", "vqbnn"]),
    ("smp_torchscript", "cityscapes19-camvid11", ["dnn", "bnn", "vqdnn", "vqbnn"]),
    ("lraspp_onnx", "cityscapes19-camvid11", ["dnn", "vqdnn"]),
])
def test_calibrate_writes_temperatures_to_the_sidecar_and_eval_applies_them(  # type: ignore[no-untyped-def]
    elsewhere, data: Path, tmp_path: Path, kind: str, label_map: str | None, modes: list[str]
) -> None:
    source = elsewhere(kind)
    sidecar_text = source.with_name(source.name.rsplit(".", 1)[0] + ".vqseg.yaml").read_text()
    model = copy_model(source, tmp_path / "model", sidecar_text)
    mapping = ["--label-map", label_map] if label_map else []
    argv = ["calibrate", "--data", str(data), "--model", str(model), "--samples", "2", "--pixels", "256",
            "--no-progress", "--threads", "1", "--json", str(tmp_path / "c.json"), "--markdown", str(tmp_path / "c.md"),
            *mapping]
    assert main(argv) == 0
    sidecar = yaml.safe_load(model.with_name(model.name.rsplit(".", 1)[0] + ".vqseg.yaml").read_text())
    assert sorted(sidecar["temperatures"]) == sorted(modes)
    assert all(0 < t <= 100 for t in sidecar["temperatures"].values())
    assert set(sidecar) >= set(yaml.safe_load(sidecar_text))  # the user's keys are kept
    assert load_segmenter(model, "cpu").meta.temperatures == pytest.approx(sidecar["temperatures"])
    # the MC rate is fitted where it can be set (a .pt2 program), not for TorchScript (p is a constant)
    assert sorted(sidecar.get("mc_rates", {})) == (["bnn", "vqbnn"] if kind == "smp_pt2" else [])
    code, report = run_eval(data, model, tmp_path / "eval", "--modes", "dnn", *mapping)
    assert code == 0 and report["config"]["calibrated"]
    assert report["config"]["temperatures"]["dnn"] == pytest.approx(sidecar["temperatures"]["dnn"])


def test_mapped_segmenter_is_a_distribution(elsewhere) -> None:  # type: ignore[no-untyped-def]
    segmenter = load_segmenter(elsewhere("segformer_onnx"), "cpu")
    mapped = map_labels(segmenter, "cityscapes19-camvid11", CAMVID.class_names, CAMVID.palette)
    assert mapped.meta.class_names == CAMVID.class_names and mapped.capabilities.mc
    frame = np.random.default_rng(0).integers(0, 256, (40, 60, 3), dtype=np.uint8)
    probs = mapped.predict(mapped.prepare([frame]), mc=True)
    assert probs.shape == (1, 11, 64, 96) and torch.allclose(probs.sum(1), torch.ones(1, 64, 96), atol=1e-5)


def test_calibrate_an_imported_model_into_a_copy_of_its_onnx(data: Path, tmp_path: Path) -> None:
    from models.importing import import_module
    from models.onnx import read_onnx_info
    from models.sidecar import parse_description
    from tests.foreign import made_elsewhere

    description = parse_description({"preset": "cityscapes19", "input_size": "64x96"}, "test")
    imported = import_module(made_elsewhere.segformer(19), description, tmp_path / "segformer.onnx")
    out = tmp_path / "calibrated.onnx"
    argv = ["calibrate", "--data", str(data), "--model", str(imported), "--out", str(out), "--samples", "2",
            "--pixels", "256", "--no-progress", "--threads", "1", "--modes", "dnn,vqbnn",
            "--label-map", "cityscapes19-camvid11", "--json", str(tmp_path / "c.json"),
            "--markdown", str(tmp_path / "c.md")]
    assert main(argv) == 0
    assert sorted(read_onnx_info(out).meta.temperatures) == ["dnn", "vqbnn"]
    assert read_onnx_info(imported).meta.temperatures == {}  # the original is left alone
