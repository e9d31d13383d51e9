"""The published label layouts: SegNet CamVid (index labels, 11 = void) and original CamVid colours (32 -> 11)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from models.training.camvid_classes import CAMVID32, camvid11_names
from models.training.folders import load_folder
from models.training.layouts import find_labelled_files


def _write(path: Path, array: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = cv2.cvtColor(array, cv2.COLOR_RGB2BGR) if array.ndim == 3 else array
    assert cv2.imwrite(str(path), data)


def make_segnet(root: Path, names: list[str], h: int = 24, w: int = 32) -> dict[str, np.ndarray]:
    """A SegNet-layout folder: train/ + trainannot/ of the same names; every class and void appear."""
    labels = {}
    for i, name in enumerate(names):
        rng = np.random.default_rng(i)
        label = rng.integers(0, 12, (h, w)).astype(np.uint8)  # 0..10 classes, 11 = void
        _write(root / "train" / name, rng.integers(0, 256, (h, w, 3), dtype=np.uint8))
        _write(root / "trainannot" / name, label)
        labels[name] = label
    return labels


def test_segnet_layout_reads_index_labels_and_void_becomes_ignore(tmp_path: Path) -> None:
    labels = make_segnet(tmp_path, ["0016E5_07961.png", "0016E5_07959.png"])
    (tmp_path / "train" / "unlabelled.png").write_bytes((tmp_path / "train" / "0016E5_07959.png").read_bytes())
    folder = find_labelled_files(tmp_path, "train")
    assert folder.layout == "segnet-camvid"
    assert [f.stem for f in folder.files] == ["0016E5_07959", "0016E5_07961"]  # sorted, unlabelled skipped
    frames = load_folder(tmp_path, "train", (24, 32))
    assert frames.class_names == camvid11_names()
    expected = labels["0016E5_07959.png"].copy()
    expected[expected == 11] = 255
    np.testing.assert_array_equal(frames.labels[0], expected)


def test_original_camvid_colours_merge_into_the_11_classes(tmp_path: Path) -> None:
    colours = np.array([c for _, c, _ in CAMVID32], np.uint8)
    index = np.arange(len(CAMVID32), dtype=np.uint8).reshape(4, 8)
    _write(tmp_path / "train" / "seq_000.png", np.zeros((4, 8, 3), np.uint8))
    _write(tmp_path / "train_labels" / "seq_000_L.png", colours[index])
    frames = load_folder(tmp_path, "train", (4, 8))  # no class list: the CamVid 32 colours are assumed
    names = camvid11_names()
    got = frames.labels[0].ravel()
    for k, (name, _, target) in enumerate(CAMVID32):
        assert got[k] == (255 if target is None else names.index(target)), name
    assert got[[n for n, _, _ in CAMVID32].index("LaneMkgsDriv")] == names.index("Road")


def test_a_camvid32_class_list_is_merged_too(tmp_path: Path) -> None:
    lines = ["name,r,g,b"] + [f"{name},{r},{g},{b}" for name, (r, g, b), _ in CAMVID32]
    (tmp_path / "class_dict.csv").write_text("\n".join(lines) + "\n")
    _write(tmp_path / "train" / "a.png", np.zeros((2, 2, 3), np.uint8))
    _write(tmp_path / "train_labels" / "a_L.png", np.full((2, 2, 3), (64, 192, 0), np.uint8))  # Wall
    frames = load_folder(tmp_path, "train", (2, 2))
    assert frames.class_names == camvid11_names()
    assert set(frames.labels.ravel()) == {camvid11_names().index("Building")}


def test_segnet_folder_without_matching_labels_is_a_clear_error(tmp_path: Path) -> None:
    _write(tmp_path / "train" / "a.png", np.zeros((2, 2, 3), np.uint8))
    (tmp_path / "trainannot").mkdir()
    with pytest.raises(ValueError, match="index labels of the same name"):
        find_labelled_files(tmp_path, "train")
