"""Training on labelled folders in the CamVid and Cityscapes layouts, and on synthetic scenes."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from models import load_segmenter, read_checkpoint
from models.training.folders import colour_labels_to_indices, load_folder
from vqseg.cli import main

CAMVID_CLASSES = [("Sky", (128, 128, 128)), ("Road", (128, 64, 128)), ("Car", (64, 0, 128))]


def _write_rgb(path: Path, rgb: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))


def _scene(seed: int, h: int = 48, w: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """An image with sky on top, road below and a car box; labels as class indices 0/1/2."""
    rng = np.random.default_rng(seed)
    labels = np.zeros((h, w), np.uint8)
    labels[h // 2 :] = 1
    x = int(rng.integers(0, w - 16))
    labels[h // 2 - 4 : h // 2 + 8, x : x + 16] = 2
    colours = np.array([(150, 190, 240), (90, 90, 90), (200, 30, 30)], np.uint8)
    image = colours[labels] + rng.integers(0, 20, (h, w, 3), dtype=np.uint8)
    return image, labels


def make_camvid(root: Path, n: int = 4) -> Path:
    (root / "class_dict.csv").parent.mkdir(parents=True, exist_ok=True)
    lines = ["name,r,g,b"] + [f"{name},{r},{g},{b}" for name, (r, g, b) in CAMVID_CLASSES]
    (root / "class_dict.csv").write_text("\n".join(lines) + "\n")
    palette = np.array([c for _, c in CAMVID_CLASSES], np.uint8)
    for split in ("train", "val"):
        for i in range(n):
            image, labels = _scene(i + (100 if split == "val" else 0))
            colour = palette[labels]
            colour[0, 0] = (1, 2, 3)  # a colour not in the class list: must become ignore (255)
            _write_rgb(root / split / f"f{i:03d}.png", image)
            _write_rgb(root / f"{split}_labels" / f"f{i:03d}_L.png", colour)
    return root


def make_cityscapes(root: Path, n: int = 3) -> Path:
    for i in range(n):
        image, labels = _scene(i)
        ids = np.array([23, 7, 26], np.uint8)[labels]  # sky, road, car label ids
        ids[0, :4] = 0  # 'unlabeled' -> ignore
        _write_rgb(root / "leftImg8bit" / "train" / "town" / f"town_{i:06d}_leftImg8bit.png", image)
        path = root / "gtFine" / "train" / "town" / f"town_{i:06d}_gtFine_labelIds.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        assert cv2.imwrite(str(path), ids)
    return root


def test_camvid_colour_labels_map_to_indices_and_unknown_colours_to_ignore(tmp_path: Path) -> None:
    frames = load_folder(make_camvid(tmp_path / "camvid"), "train", (48, 64))
    assert frames.class_names == ("Sky", "Road", "Car")
    assert len(frames) == 4
    assert frames.labels[0, 0, 0] == 255
    _, expected = _scene(0)
    np.testing.assert_array_equal(frames.labels[0][1:], expected[1:])


def test_cityscapes_label_ids_map_to_train_ids(tmp_path: Path) -> None:
    frames = load_folder(make_cityscapes(tmp_path / "cs"), "train", (48, 64))
    assert len(frames.class_names) == 19 and frames.class_names[0] == "road"
    road, sky, car = 0, frames.class_names.index("sky"), frames.class_names.index("car")
    assert frames.labels[0, 0, 0] == 255
    assert frames.labels[0, 47, 0] == road and frames.labels[0, 5, 30] in (sky, car)
    assert set(np.unique(frames.labels[0])) <= {road, sky, car, 255}


def test_colour_lookup_is_exact() -> None:
    rgb = np.array([[[128, 64, 128], [128, 64, 129]]], np.uint8)
    out = colour_labels_to_indices(rgb, ((0, 0, 0), (128, 64, 128)))
    assert out.tolist() == [[1, 255]]


def test_missing_or_empty_folders_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no such data folder"):
        load_folder(tmp_path / "absent", "train", (48, 64))
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no images with"):
        load_folder(tmp_path / "empty", "train", (48, 64))


def test_train_command_on_a_camvid_folder_writes_a_loadable_checkpoint(tmp_path: Path) -> None:
    data = make_camvid(tmp_path / "camvid")
    out = tmp_path / "model.pt"
    code = main(
        ["train", "--data", str(data), "--out", str(out), "--width", "4", "--input-size", "48x64",
         "--crop", "32x48", "--steps", "6", "--batch", "2", "--eval-every", "3", "--threads", "1"]
    )
    assert code == 0
    meta, _ = read_checkpoint(out)
    assert meta.class_names == ("Sky", "Road", "Car") and meta.input_size == (48, 64)
    assert meta.training["data"] == str(data) and len(meta.training["history"]) == 2
    curve = cv2.imread(str(tmp_path / "model.curve.png"))
    assert curve is not None and curve.shape[1] > curve.shape[0]  # the curve picture, two panels
    seg = load_segmenter(out, device="cpu")
    probs = seg.predict(seg.prepare([_scene(1)[0]]), mc=True)
    assert probs.shape == (1, 3, 48, 64)


def test_fine_tuning_from_a_checkpoint_with_other_classes(tmp_path: Path) -> None:
    base = tmp_path / "base.pt"
    common = ["--width", "4", "--input-size", "48x64", "--crop", "32x48", "--steps", "2", "--batch", "2",
              "--threads", "1", "--eval-every", "0"]
    assert main(["train", "--data", str(make_cityscapes(tmp_path / "cs")), "--out", str(base), *common]) == 0
    tuned = tmp_path / "tuned.pt"
    data = make_camvid(tmp_path / "camvid")
    assert main(["train", "--data", str(data), "--init", str(base), "--out", str(tuned), *common]) == 0
    assert read_checkpoint(tuned)[0].num_classes == 3


def test_synthetic_training_renders_held_apart_seeds(tmp_path: Path) -> None:
    out = tmp_path / "syn.pt"
    code = main(
        ["train", "--out", str(out), "--width", "4", "--input-size", "48x64", "--crop", "32x48",
         "--sequences", "2", "--frames-per-sequence", "2", "--steps", "2", "--batch", "2", "--threads", "1"]
    )
    assert code == 0
    meta, _ = read_checkpoint(out)
    assert meta.num_classes == 11 and meta.training["frames"] == 4


def test_train_command_stops_on_its_time_budget_and_resumes_to_the_end(tmp_path: Path) -> None:
    data = make_camvid(tmp_path / "camvid")
    out = tmp_path / "model.pt"
    args = ["train", "--data", str(data), "--out", str(out), "--width", "4", "--input-size", "48x64",
            "--crop", "32x48", "--steps", "4", "--batch", "2", "--eval-every", "0", "--threads", "1",
            "--class-weights", "sqrt", "--checkpoint-every", "2", "--resume"]
    assert main([*args, "--time-budget", "0"]) == 0
    meta, _ = read_checkpoint(out)  # an intermediate checkpoint is written and says so
    assert meta.training["finished"] is False and meta.training["steps_done"] == 1
    assert "--time-budget" not in meta.training["command"]
    assert (tmp_path / "model.pt.resume").is_file()
    assert main(args) == 0
    meta, _ = read_checkpoint(out)
    assert meta.training["finished"] is True and meta.training["steps_done"] == 4
    assert not (tmp_path / "model.pt.resume").exists()
