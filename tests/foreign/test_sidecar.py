"""Sidecars and class-set presets: what a user writes next to a model trained elsewhere."""

from __future__ import annotations

from pathlib import Path

import pytest

from models.meta import IMAGENET_MEAN
from models.presets import PRESETS, class_set, generated_palette
from models.sidecar import SidecarError, describe_model, parse_description, sidecar_path, write_sidecar


@pytest.mark.parametrize(("name", "count", "first", "colour"), [
    ("camvid11", 11, "Sky", (128, 128, 128)),
    ("cityscapes19", 19, "road", (128, 64, 128)),
    ("ade20k150", 150, "wall", (120, 120, 120)),
])
def test_presets(name: str, count: int, first: str, colour: tuple[int, int, int]) -> None:
    preset = class_set(name)
    assert len(preset.class_names) == len(set(preset.class_names)) == len(preset.palette) == count
    assert (preset.class_names[0], preset.palette[0]) == (first, colour)


def test_unknown_preset_lists_the_choices() -> None:
    with pytest.raises(ValueError, match="camvid11, cityscapes19, ade20k150"):
        class_set("coco")
    assert class_set("Cityscapes-19") is PRESETS["cityscapes19"]


def test_two_lines_next_to_the_model(tmp_path: Path) -> None:
    model = tmp_path / "net.onnx"
    model.write_bytes(b"")
    (tmp_path / "net.vqseg.yaml").write_text("preset: cityscapes19\ninput_size: 512x1024\n")
    assert sidecar_path(model) == tmp_path / "net.vqseg.yaml"
    described = describe_model(model)
    assert described.class_names[:2] == ("road", "sidewalk") and described.input_size == (512, 1024)
    assert described.output == "logits" and described.layout == "NCHW" and described.mean == IMAGENET_MEAN
    assert described.name == "net"


def test_json_sidecar_and_flags_win(tmp_path: Path) -> None:
    model = tmp_path / "m.pt2"
    write_sidecar(tmp_path / "m.vqseg.json", {"classes": ["bg", "fg"], "output": "probabilities"})
    described = describe_model(model, overrides={"input_size": "32x48"})
    assert described.class_names == ("bg", "fg") and described.output == "probabilities"
    assert described.input_size == (32, 48) and len(described.palette) == 2  # colours made up


def test_no_sidecar_says_what_to_write(tmp_path: Path) -> None:
    with pytest.raises(SidecarError, match=r"write net\.vqseg\.yaml next to it"):
        describe_model(tmp_path / "net.onnx")


@pytest.mark.parametrize(("data", "message"), [
    ({"preset": "camvid11", "colour": 1}, "unknown keys"),
    ({"input_size": "32x48"}, "name the classes"),
    ({"classes": ["a", "b"], "palette": [[0, 0, 0]]}, "palette has 1 colours for 2 classes"),
    ({"preset": "camvid11", "output": "scores"}, "output must be one of logits, probabilities"),
    ({"preset": "camvid11", "input_size": "8x8"}, "at least 16x16"),
    ({"preset": "camvid11", "mean": [0.5, 0.5]}, "three numbers"),
])
def test_inconsistent_sidecars_name_the_problem(data: dict[str, object], message: str) -> None:
    with pytest.raises(SidecarError, match=message):
        parse_description(data, "s.yaml")


def test_mmsegmentation_normalisation_and_bgr() -> None:
    described = parse_description(
        {"preset": "camvid11", "mean": [103.53, 116.28, 123.675], "std": [57.375, 57.12, 58.395], "channels": "BGR"},
        "s.yaml",
    )
    assert described.mean == pytest.approx((123.675 / 255, 116.28 / 255, 103.53 / 255))  # stored as RGB
    assert described.std == pytest.approx((58.395 / 255, 57.12 / 255, 57.375 / 255))


def test_generated_palette_is_distinct() -> None:
    colours = generated_palette(40)
    assert len(set(colours)) == 40
